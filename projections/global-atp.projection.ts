/**
 * Global ATP per SKU, folded from the hub's mirrors of every region's event stream, and how fresh
 * each region's figures are.
 *
 * Per position the global view keeps only the figures of the latest event by revision: every
 * canonical event carries the position's absolute `balancesAfter`, so "highest revision wins" is
 * exact, commutative and idempotent. A skipped revision cannot make a global figure wrong (the next
 * event carries the full balance); it is counted (`skipped`) so the runner can report it. Reservations
 * by id and inbound transfers by order live in the regional read model, which needs every event.
 *
 * Freshness: a region's figures are known complete as of `syncedAt`. At each healthy probe (link up,
 * mirror heard from its origin lately) the runner notes the origin's position (`last_seq + lag`);
 * once the projector has applied that far, the region is in sync as of that probe. A region is stale
 * when `now − syncedAt` exceeds the threshold (or it was never in sync). Measured on nats-server
 * 2.9: while a leaf link is down `mirror.lag` stays 0 and only `mirror.active` grows, and a mirror
 * resumes up to ~10 s after its origin went away, so `active` is the signal, not `lag`.
 *
 * A current mirror says nothing about what the region committed and has not published yet: each
 * node reports its store head and what its relay has acknowledged (`RegionRelayReport`). While the
 * relay is behind, the region's figures are complete only as of the first event it has not published
 * (`completeAsOf`), whatever the mirror says: a region whose relay is behind longer than the threshold
 * is stale.
 */
import type { CanonicalEvent } from "../domain/canonical-event.ts";
import { type AtpBreakdown, atpBreakdown, atpOfBalances } from "../domain/position-context.ts";

/** One location's ATP: the position's breakdown (domain) with where it is and as of when. */
export interface LocationAtp extends AtpBreakdown {
  readonly region: string;
  readonly location: string;
  /** On hand over every status, picked included. */
  readonly onHand: number;
  readonly inboundInTransit: number;
  readonly lastRevision: number;
  readonly businessTime: string;
  readonly recordedTime: string;
}

/** Sums of locations' figures (per region, per SKU). */
export interface AtpTotals {
  readonly atp: number;
  readonly available: number;
  readonly reserved: number;
  readonly safetyStock: number;
  readonly onHand: number;
  readonly inboundInTransit: number;
  readonly locations: number;
}

/** One SKU everywhere. `locations` is keyed by `locationKey(region, location)`. */
export interface GlobalSkuAtp {
  readonly sku: string;
  readonly locations: Readonly<Record<string, LocationAtp>>;
}

export interface GlobalSkuView extends GlobalSkuAtp {
  readonly byRegion: Readonly<Record<string, AtpTotals>>;
  readonly total: AtpTotals;
}

export type GlobalApplyResult =
  | { readonly kind: "applied"; readonly sku: GlobalSkuAtp; readonly skipped: number }
  | { readonly kind: "duplicate" };

/** Key of a location inside a SKU's entry; `/` is not a region character, so it splits unambiguously. */
export const locationKey = (region: string, location: string): string => `${region}/${location}`;

/** Applies one event to its SKU's entry (`undefined`: first event of the SKU). Pure. */
export const applyToGlobalAtp = (current: GlobalSkuAtp | undefined, e: CanonicalEvent): GlobalApplyResult => {
  const sku = current ?? { sku: e.position.sku, locations: {} };
  if (sku.sku !== e.position.sku) {
    throw new Error(`event ${e.eventId} of SKU ${e.position.sku} applied to SKU ${sku.sku}`);
  }
  const key = locationKey(e.position.region, e.position.location);
  const prev = sku.locations[key];
  if (prev && e.revision <= prev.lastRevision) return { kind: "duplicate" };
  const b = e.balancesAfter;
  const loc: LocationAtp = {
    region: e.position.region,
    location: e.position.location,
    ...atpOfBalances(b),
    onHand:
      b.onHand.available + b.onHand.inspection + b.onHand.blocked + b.onHand.consigned + b.onHand.picked,
    inboundInTransit: b.inboundInTransit,
    lastRevision: e.revision,
    businessTime: e.businessTime,
    recordedTime: e.recordedTime,
  };
  const skipped = e.revision - (prev ? prev.lastRevision : -1) - 1;
  return { kind: "applied", sku: { sku: sku.sku, locations: { ...sku.locations, [key]: loc } }, skipped };
};

/**
 * A location stored by an older version (without `sellable`, or with figures computed elsewhere),
 * with its breakdown computed again from its inputs.
 */
export const normalizedLocationAtp = (l: LocationAtp): LocationAtp => ({ ...l, ...atpBreakdown(l) });

export const ZERO_ATP_TOTALS: AtpTotals = {
  atp: 0,
  available: 0,
  reserved: 0,
  safetyStock: 0,
  onHand: 0,
  inboundInTransit: 0,
  locations: 0,
};

/** Adds one location's figures to totals. */
export const addAtp = (
  t: AtpTotals,
  l: Pick<LocationAtp, "atp" | "available" | "reserved" | "safetyStock" | "onHand" | "inboundInTransit">,
): AtpTotals => ({
  atp: t.atp + l.atp,
  available: t.available + l.available,
  reserved: t.reserved + l.reserved,
  safetyStock: t.safetyStock + l.safetyStock,
  onHand: t.onHand + l.onHand,
  inboundInTransit: t.inboundInTransit + l.inboundInTransit,
  locations: t.locations + 1,
});

/** Totals per region and overall; optionally only some regions. */
export const viewOfSku = (sku: GlobalSkuAtp, regions?: ReadonlySet<string>): GlobalSkuView => {
  const byRegion: Record<string, AtpTotals> = {};
  const locations: Record<string, LocationAtp> = {};
  let total = ZERO_ATP_TOTALS;
  for (const [k, l] of Object.entries(sku.locations)) {
    if (regions && !regions.has(l.region)) continue;
    locations[k] = l;
    byRegion[l.region] = addAtp(byRegion[l.region] ?? ZERO_ATP_TOTALS, l);
    total = addAtp(total, l);
  }
  return { sku: sku.sku, locations, byRegion, total };
};

// --- freshness ------------------------------------------------------------------------------------------

export type RegionLinkState = "up" | "down" | "unknown";

/** What the runner observed about a region at one moment (a probe of the link and the mirror). */
export interface RegionObservation {
  readonly at: number;
  readonly link: RegionLinkState;
  /** Messages the hub mirror is behind its origin (stream info `mirror.lag`). */
  readonly mirrorLag?: number;
  /** Milliseconds since the mirror last heard from its origin (stream info `mirror.active`). */
  readonly mirrorActiveAgoMs?: number;
  /** Last sequence stored in the hub mirror. */
  readonly mirrorLastSeq?: number;
  /** Mirror messages the global projector has not acknowledged yet. */
  readonly consumerPending?: number;
  /** The region's node's own report (absent when the region runs no node that reports). */
  readonly relay?: RegionRelayReport;
}

/** What a region's node says about its store and its relay (see services/regional-node/node-status.ts). */
export interface RegionRelayReport {
  /** When the node made the report (ms). */
  readonly at: number;
  /** Highest global position committed to the region's event store. */
  readonly storeHead: number;
  /** Every event up to here is published to the region's event stream. */
  readonly relayAcked: number;
  /** Everything committed before this time (ms) is published (`at` when the relay is caught up). */
  readonly completeAsOf: number;
}

/** Everything the origin had at `at` is in the mirror up to stream sequence `target`. */
interface SyncMarker {
  readonly at: number;
  readonly target: number;
}

export interface RegionFreshnessState {
  readonly region: string;
  readonly events: number;
  readonly lastRecordedTime?: string;
  readonly lastBusinessTime?: string;
  /** Wall time (ms) the last event of the region was applied here. */
  readonly lastAppliedAt?: number;
  /** Highest mirror stream sequence the projector has applied. */
  readonly appliedSeq: number;
  readonly link: RegionLinkState;
  /** Since when (ms) the link has been in its current state. */
  readonly linkSince?: number;
  readonly mirrorLag?: number;
  readonly mirrorActiveAgoMs?: number;
  readonly consumerPending?: number;
  readonly observedAt?: number;
  readonly relay?: RegionRelayReport;
  /** Healthy observations whose target the projector has not reached yet (oldest first). */
  readonly markers: readonly SyncMarker[];
  /** Latest time (ms) as of which everything the region had is applied here. */
  readonly syncedAt?: number;
}

export interface RegionFreshness {
  readonly region: string;
  readonly link: RegionLinkState;
  readonly linkSince?: string;
  readonly lastEventRecordedTime?: string;
  readonly lastEventBusinessTime?: string;
  /** now − recorded time of the last event seen from the region. */
  readonly lastEventAgeMs?: number;
  readonly mirrorLag?: number;
  readonly mirrorActiveAgoMs?: number;
  readonly consumerPending?: number;
  /** Committed in the region's store and not yet published by its relay (from the node's report). */
  readonly relayLagEvents?: number;
  /** How long the relay has been behind the store head (0 when caught up). */
  readonly relayLagMs?: number;
  /** The region's figures are known complete as of this time. */
  readonly asOf?: string;
  readonly stalenessMs?: number;
  readonly stale: boolean;
  /** Why it is stale, for an operator (empty when fresh). */
  readonly reasons: readonly string[];
  readonly eventsApplied: number;
}

/** A mirror that has not heard from its origin for longer than this is not trusted to be current. */
export const DEFAULT_MIRROR_ACTIVE_WITHIN_MS = 5_000;
const MAX_MARKERS = 64;

export const initialRegionFreshness = (region: string): RegionFreshnessState => ({
  region,
  events: 0,
  appliedSeq: 0,
  link: "unknown",
  markers: [],
});

const resolveMarkers = (s: RegionFreshnessState): RegionFreshnessState => {
  let syncedAt = s.syncedAt;
  let i = 0;
  // Markers are in time order and targets never decrease, so the reached ones are a prefix.
  while (i < s.markers.length && s.markers[i]!.target <= s.appliedSeq) {
    syncedAt = Math.max(syncedAt ?? 0, s.markers[i]!.at);
    i++;
  }
  return i === 0 ? s : { ...s, markers: s.markers.slice(i), ...(syncedAt !== undefined ? { syncedAt } : {}) };
};

/**
 * Records that an event of the region, at mirror sequence `seq`, was applied (or found a duplicate)
 * at wall time `appliedAt` (ms).
 */
export const noteRegionEvent = (
  s: RegionFreshnessState,
  e: Pick<CanonicalEvent, "recordedTime" | "businessTime">,
  appliedAt: number,
  seq = 0,
): RegionFreshnessState =>
  resolveMarkers({
    ...s,
    events: s.events + 1,
    // Recorded times of one region's log are in commit order; keep the latest anyway.
    lastRecordedTime:
      s.lastRecordedTime && Date.parse(s.lastRecordedTime) > Date.parse(e.recordedTime)
        ? s.lastRecordedTime
        : e.recordedTime,
    lastBusinessTime:
      s.lastBusinessTime && Date.parse(s.lastBusinessTime) > Date.parse(e.businessTime)
        ? s.lastBusinessTime
        : e.businessTime,
    lastAppliedAt: appliedAt,
    appliedSeq: Math.max(s.appliedSeq, seq),
  });

/** Records that mirror sequence `seq` was handled without an event to apply (e.g. an undecodable message). */
export const noteRegionSeq = (s: RegionFreshnessState, seq: number): RegionFreshnessState =>
  resolveMarkers({ ...s, appliedSeq: Math.max(s.appliedSeq, seq) });

/**
 * Folds an observation. When it is healthy (link up, the mirror heard from its origin within
 * `mirrorActiveWithinMs`), everything the origin had then is at most `mirrorLastSeq + mirrorLag`:
 * once the projector has applied that far, the region is in sync as of the observation.
 */
export const observeRegion = (
  s: RegionFreshnessState,
  o: RegionObservation,
  mirrorActiveWithinMs = DEFAULT_MIRROR_ACTIVE_WITHIN_MS,
): RegionFreshnessState => {
  const healthy =
    o.link === "up" &&
    o.mirrorLastSeq !== undefined &&
    o.mirrorActiveAgoMs !== undefined &&
    o.mirrorActiveAgoMs <= mirrorActiveWithinMs;
  const markers = healthy
    ? [...s.markers, { at: o.at, target: o.mirrorLastSeq! + (o.mirrorLag ?? 0) }].slice(-MAX_MARKERS)
    : s.markers;
  return resolveMarkers({
    ...s,
    link: o.link,
    linkSince: o.link === s.link && s.linkSince !== undefined ? s.linkSince : o.at,
    ...(o.mirrorLag !== undefined ? { mirrorLag: o.mirrorLag } : {}),
    ...(o.mirrorActiveAgoMs !== undefined ? { mirrorActiveAgoMs: o.mirrorActiveAgoMs } : {}),
    ...(o.consumerPending !== undefined ? { consumerPending: o.consumerPending } : {}),
    ...(o.relay !== undefined ? { relay: o.relay } : {}),
    observedAt: o.at,
    markers,
  });
};

const iso = (ms: number | undefined): string | undefined =>
  ms === undefined ? undefined : new Date(ms).toISOString();

/** The freshness report of a region at `now` (ms), stale beyond `thresholdMs` out of sync. */
export const freshnessOf = (s: RegionFreshnessState, now: number, thresholdMs: number): RegionFreshness => {
  const reasons: string[] = [];
  if (s.link !== "up")
    reasons.push(`link ${s.link}${s.linkSince !== undefined ? ` since ${iso(s.linkSince)}` : ""}`);
  if (s.mirrorLag !== undefined && s.mirrorLag > 0) reasons.push(`hub mirror ${s.mirrorLag} messages behind`);
  if (s.mirrorActiveAgoMs !== undefined && s.mirrorActiveAgoMs > DEFAULT_MIRROR_ACTIVE_WITHIN_MS)
    reasons.push(`hub mirror silent for ${s.mirrorActiveAgoMs} ms`);
  if (s.consumerPending !== undefined && s.consumerPending > 0)
    reasons.push(`${s.consumerPending} mirrored events not yet applied`);
  // The mirror may be current while the relay has not published what the store committed.
  const relayLagEvents = s.relay ? Math.max(0, s.relay.storeHead - s.relay.relayAcked) : undefined;
  const relayBehind = relayLagEvents !== undefined && relayLagEvents > 0;
  const relayLagMs = s.relay ? (relayBehind ? Math.max(0, now - s.relay.completeAsOf) : 0) : undefined;
  if (relayBehind)
    reasons.push(
      `relay ${relayLagEvents} events behind the store head for ${Math.round((relayLagMs ?? 0) / 1000)} s`,
    );
  const syncedAt =
    s.syncedAt !== undefined && relayBehind ? Math.min(s.syncedAt, s.relay!.completeAsOf) : s.syncedAt;
  const stalenessMs = syncedAt === undefined ? undefined : Math.max(0, now - syncedAt);
  const stale = stalenessMs === undefined || stalenessMs > thresholdMs;
  if (s.syncedAt === undefined) reasons.push("never in sync with the hub yet");
  const lastEventAgeMs = s.lastRecordedTime === undefined ? undefined : now - Date.parse(s.lastRecordedTime);
  return {
    region: s.region,
    link: s.link,
    ...(s.linkSince !== undefined ? { linkSince: iso(s.linkSince) } : {}),
    ...(s.lastRecordedTime !== undefined ? { lastEventRecordedTime: s.lastRecordedTime } : {}),
    ...(s.lastBusinessTime !== undefined ? { lastEventBusinessTime: s.lastBusinessTime } : {}),
    ...(lastEventAgeMs !== undefined ? { lastEventAgeMs } : {}),
    ...(s.mirrorLag !== undefined ? { mirrorLag: s.mirrorLag } : {}),
    ...(s.mirrorActiveAgoMs !== undefined ? { mirrorActiveAgoMs: s.mirrorActiveAgoMs } : {}),
    ...(s.consumerPending !== undefined ? { consumerPending: s.consumerPending } : {}),
    ...(relayLagEvents !== undefined ? { relayLagEvents, relayLagMs } : {}),
    ...(syncedAt !== undefined ? { asOf: iso(syncedAt) } : {}),
    ...(stalenessMs !== undefined ? { stalenessMs } : {}),
    stale,
    reasons: stale ? reasons : [],
    eventsApplied: s.events,
  };
};
