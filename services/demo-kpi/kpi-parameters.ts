/**
 * What `stockline demo kpi` simulates with: the distributor (from the configuration), the demand and
 * supply of the event stream, the integration of today (world A) and stockline's measured latencies
 * (world B). Every figure that is not drawn from the seed is a parameter here, and the report prints
 * them all with where each one comes from.
 */
import type { OwnershipPolicy } from "../../domain/ownership-policy.ts";
import type { RoutingConfig } from "../../domain/routing-rules.ts";

/** Milliseconds. */
export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

/** One region of the distributor as the simulation sees it (from the configuration). */
export interface KpiRegion {
  readonly region: string;
  readonly locations: readonly string[];
  /** The WMS that owns physical moves there (`source.system` of its facts). */
  readonly wms: string;
  /** The ERP that keeps the books of these locations. */
  readonly erp: string;
  /** How that ERP's posting target answers (the configuration's simulator for it). */
  readonly posting: PostingBehaviour;
}

export interface PostingBehaviour {
  /** The posting target (routing) that books into the region's ERP. */
  readonly target: string;
  readonly latencyMs: number;
  /** Share of requests answered with a server error (not applied, retried). */
  readonly errorRate: number;
  /** Share of requests applied whose answer is lost (retried after the timeout; the retry is a duplicate). */
  readonly lostResponseRate: number;
}

export interface KpiWorld {
  readonly distributor: string;
  readonly regions: readonly KpiRegion[];
  /** The web shop's system id (a `channel` system): it places reservations in world B. */
  readonly shop: string;
  /** The configuration's ownership policy: world B's commands are decided under it. */
  readonly policy: OwnershipPolicy;
  /** The configuration's routing: which stored events world B posts to which ERP. */
  readonly routing: RoutingConfig;
}

/** The physical world: demand, supply and the warehouse's routine. */
export interface StreamParameters {
  readonly days: number;
  readonly seed: number;
  /** Midnight UTC of the first simulated day. */
  readonly start: string;
  readonly skus: number;
  /** Every n-th SKU is scarce: its replenishment covers less than its demand. */
  readonly scarceEvery: number;
  /** Web orders per day per region (customers of a region are served from its DCs). */
  readonly ordersPerDayPerRegion: number;
  /** Units per order line, drawn uniformly from this list. */
  readonly orderQuantities: readonly number[];
  /** Days of expected demand each SKU-location starts with (normal, scarce). */
  readonly openingCoverDays: { readonly normal: number; readonly scarce: number };
  /** A purchase receipt per SKU-location every this many days ... */
  readonly replenishEveryDays: number;
  /** ... covering this share of the demand of those days (normal, scarce). */
  readonly replenishCoverage: { readonly normal: number; readonly scarce: number };
  readonly transfersPerDay: number;
  /** Share of transfers that cross regions (the rest stay within one). */
  readonly interRegionTransferShare: number;
  readonly transitHours: { readonly intraRegion: number; readonly interRegion: number };
  /** Returned units per day per region, as a share of the region's orders. */
  readonly returnShare: number;
  readonly countsPerLocationPerDay: number;
  /** Chance that a count finds damaged units (1–3 written off). */
  readonly countDamageChance: number;
  /** The WMS picks the accepted orders in waves, this many hours apart. */
  readonly pickWaveHours: number;
}

/** World A, today's integration, as the issue describes it. */
export interface TodayParameters {
  /** The one ERP the WMS posts picks to; picks at other ERPs' locations are never posted there. */
  readonly picksPostedTo: string;
  readonly pickPostingMinutes: number;
  readonly receiptPostingMinutes: number;
  readonly countPostingMinutes: number;
  /** Returns are booked by customer service against the RMA this much later. */
  readonly returnPostingHours: number;
  /** Transfers (both legs) are posted by the overnight run at this hour. */
  readonly transferPostingHour: number;
  /** The shop's figure is a copy of the ERP balance, refreshed every this many minutes. */
  readonly shopCopyMinutes: number;
  /** A person books corrections of the previous day's unexplained drift lines at this hour. */
  readonly correctionHour: number;
}

/** A figure and where it came from. */
export interface Sourced {
  readonly value: number;
  readonly source: string;
}

/** World B, through stockline. */
export interface StocklineParameters {
  /** From a WMS fact or a shop request to the committed decision at the position. */
  readonly commitLatencyMs: Sourced;
  /** From a fact to every reader of global availability (the shop reads it there). */
  readonly globalAtpLatencyMs: Sourced;
  /** Posting worker: first retry after this, doubling (posting-worker.ts). */
  readonly postingBackoffMs: number;
  /** Connector request timeout, what a lost response costs (sap-connector.ts, d365-connector.ts). */
  readonly postingTimeoutMs: number;
}

export interface KpiParameters {
  readonly stream: StreamParameters;
  readonly today: TodayParameters;
  readonly stockline: StocklineParameters;
}

export const DEFAULT_STREAM: StreamParameters = {
  days: 7,
  seed: 1,
  start: "2026-01-05T00:00:00.000Z",
  skus: 12,
  scarceEvery: 3,
  ordersPerDayPerRegion: 300,
  orderQuantities: [1, 1, 1, 1, 2, 2, 3, 4, 6],
  openingCoverDays: { normal: 3, scarce: 1 },
  replenishEveryDays: 2,
  replenishCoverage: { normal: 1.1, scarce: 0.7 },
  transfersPerDay: 4,
  interRegionTransferShare: 0.3,
  transitHours: { intraRegion: 18, interRegion: 60 },
  returnShare: 0.03,
  countsPerLocationPerDay: 4,
  countDamageChance: 0.25,
  pickWaveHours: 2,
};

export const defaultToday = (picksPostedTo: string): TodayParameters => ({
  picksPostedTo,
  pickPostingMinutes: 15,
  receiptPostingMinutes: 30,
  countPostingMinutes: 30,
  returnPostingHours: 24,
  transferPostingHour: 2,
  shopCopyMinutes: 15,
  correctionHour: 9,
});

/** When no bench result is there: the bench's own targets (bench/run.ts), not measurements. */
export const DEFAULT_STOCKLINE: StocklineParameters = {
  commitLatencyMs: {
    value: 50,
    source: "bench target regional_atp_p99_ms < 50 (bench/run.ts; no bench result found)",
  },
  globalAtpLatencyMs: {
    value: 250,
    source: "bench target global_atp_p99_ms < 250 (bench/run.ts; no bench result found)",
  },
  postingBackoffMs: 200,
  postingTimeoutMs: 10_000,
};
