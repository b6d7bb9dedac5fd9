/**
 * Availability as the API serves it: the global projector's figures per location, region and in
 * total, with each region's freshness, and what may be promised now.
 *
 * `promisable` is what a reservation may take: a fresh region's ATP, or for a stale region the
 * constrained ATP `floor(atp × (1 − haircut))` (DEGRADED-MODE.md), less the quantity held by degraded
 * reservations not yet confirmed by the region.
 *
 * The cache holds the serialized figures of a SKU per region filter and per set of stale regions
 * (the haircut depends on it). It is invalidated when the read model changes a SKU (the projector's
 * `onChange`, driven by its consumer of the mirrored events) or a degraded hold of the SKU changes;
 * there is no timer. Freshness (`asOf`, `stale`) is computed per request and appended, so a cached
 * body never carries an old freshness.
 */
import { LRUCache } from "lru-cache";
import {
  type AtpTotals,
  addAtp,
  type LocationAtp,
  type RegionFreshness,
  ZERO_ATP_TOTALS,
} from "../../projections/global-atp.projection.ts";
import { atpOnDate, type TimePhasedPosition, timePhasedAtp } from "../../projections/time-phased-atp.ts";
import type { GlobalAvailability } from "../projectors/global-projector.ts";

/** What the API needs of the global read model (the hub's `GlobalProjector` is one). */
export interface AvailabilitySource {
  getGlobalAvailability(sku: string, opts?: { regions?: readonly string[] }): GlobalAvailability | undefined;
  freshness(now?: number): RegionFreshness[];
  onChange(listener: (sku: string) => void): () => void;
}

/** Regional read-model entries with inbound transfers, for time-phased ATP (`date=`). */
export type TimePhasedReader = (
  region: string,
  location: string,
  sku: string,
) => Promise<TimePhasedPosition | undefined>;

export interface HoldLedger {
  /** Quantity held by degraded reservations not yet confirmed at this position. */
  heldAt(region: string, location: string, sku: string): number;
  onChange(listener: (sku: string) => void): () => void;
}

/** What may be promised now, on top of the read model's figures. */
interface Promisable {
  /** ATP, or constrained ATP when the region is stale, less degraded holds. */
  readonly promisable: number;
  /** Held by degraded reservations the region has not confirmed yet. */
  readonly heldDegraded: number;
  /** Time-phased ATP on the day asked for (only with `date=`). */
  readonly atpOnDate?: number;
}

/** A location as the API answers: the global read model's location (the domain's breakdown) and more. */
export interface LocationFigures extends LocationAtp, Promisable {
  readonly stale: boolean;
}

export interface Totals extends AtpTotals, Promisable {}

export interface RegionFigures extends Totals {
  readonly region: string;
  readonly stale: boolean;
}

export interface SkuFigures {
  readonly sku: string;
  /**
   * Whether the SKU is known: in the product catalogue when one is configured, else seen in an
   * event of some region (false: the zeros mean "never heard of", not "sold out").
   */
  readonly known: boolean;
  readonly total: Totals;
  readonly regions: readonly RegionFigures[];
  readonly locations: readonly LocationFigures[];
}

/** A region's freshness as availability answers carry it (a part of the projector's report). */
export type FreshnessView = Pick<
  RegionFreshness,
  "region" | "stale" | "link" | "asOf" | "stalenessMs" | "reasons"
>;

/** `floor(atp × (1 − haircut))` in integer arithmetic (haircut in basis points, no float in the result). */
export const constrainedAtp = (atp: number, haircut: number): number => {
  const keepBp = 10_000 - Math.round(haircut * 10_000);
  return Math.max(0, Math.floor((atp * keepBp) / 10_000));
};

const NO_TOTALS: Totals = { ...ZERO_ATP_TOTALS, promisable: 0, heldDegraded: 0 };

const addTo = (t: Totals, l: LocationFigures): Totals => {
  const atpOnDate = l.atpOnDate === undefined ? t.atpOnDate : (t.atpOnDate ?? 0) + l.atpOnDate;
  return {
    ...addAtp(t, l),
    promisable: t.promisable + l.promisable,
    heldDegraded: t.heldDegraded + l.heldDegraded,
    ...(atpOnDate !== undefined ? { atpOnDate } : {}),
  };
};

export interface AvailabilityOptions {
  readonly haircut: number;
  readonly cacheEntries: number;
  /** All configured regions (the region filter is checked against them). */
  readonly regions: readonly string[];
  /** The product catalogue; absent: a SKU is known once an event of it was seen. */
  readonly knownSku?: (sku: string) => boolean;
}

export class AvailabilityService {
  private readonly cache: LRUCache<string, { staleKey: string; body: string }>;
  /** Cache keys per SKU, to invalidate every filter of a SKU at once. */
  private readonly keysBySku = new Map<string, Set<string>>();
  private readonly unsubscribe: Array<() => void> = [];
  readonly stats = { hits: 0, misses: 0, invalidations: 0 };

  constructor(
    private readonly source: AvailabilitySource,
    private readonly holds: HoldLedger,
    private readonly opts: AvailabilityOptions,
  ) {
    this.cache = new LRUCache({
      max: opts.cacheEntries,
      dispose: (_v, key) => {
        const sku = key.slice(0, key.indexOf("\u0000"));
        this.keysBySku.get(sku)?.delete(key);
      },
    });
    this.unsubscribe.push(source.onChange((sku) => this.invalidate(sku)));
    this.unsubscribe.push(holds.onChange((sku) => this.invalidate(sku)));
  }

  close(): void {
    for (const u of this.unsubscribe.splice(0)) u();
  }

  invalidate(sku: string): void {
    const keys = this.keysBySku.get(sku);
    if (!keys) return;
    this.keysBySku.delete(sku);
    this.stats.invalidations++;
    for (const k of keys) this.cache.delete(k);
  }

  freshness(regions: readonly string[] | undefined): FreshnessView[] {
    const all = this.source.freshness();
    const out: FreshnessView[] = [];
    for (const f of all) {
      if (regions && !regions.includes(f.region)) continue;
      out.push({
        region: f.region,
        stale: f.stale,
        link: f.link,
        ...(f.asOf !== undefined ? { asOf: f.asOf } : {}),
        ...(f.stalenessMs !== undefined ? { stalenessMs: f.stalenessMs } : {}),
        reasons: f.reasons,
      });
    }
    return out;
  }

  /**
   * Whether the SKU is known: in the catalogue when one is configured (a SKU outside it is unknown
   * even if events of it were seen: the catalogue decides), else seen in some region.
   */
  known(sku: string): boolean {
    return this.opts.knownSku
      ? this.opts.knownSku(sku)
      : this.source.getGlobalAvailability(sku) !== undefined;
  }

  /** Whether a product catalogue is configured (an unknown SKU is then a 404, not zeros). */
  get hasCatalogue(): boolean {
    return this.opts.knownSku !== undefined;
  }

  /** The figures of one SKU with each stale region's haircut and degraded holds applied. */
  figures(sku: string, regions: readonly string[] | undefined, stale: ReadonlySet<string>): SkuFigures {
    const g = this.source.getGlobalAvailability(sku, regions ? { regions } : {});
    const locations: LocationFigures[] = [];
    for (const l of Object.values(g?.locations ?? {}))
      locations.push(this.location(sku, l, stale.has(l.region)));
    locations.sort((a, b) => (a.region + a.location < b.region + b.location ? -1 : 1));
    const known = this.opts.knownSku ? this.opts.knownSku(sku) : g !== undefined;
    return this.summarize(sku, known, locations, stale);
  }

  private location(sku: string, l: LocationAtp, stale: boolean): LocationFigures {
    const heldDegraded = this.holds.heldAt(l.region, l.location, sku);
    const base = stale ? constrainedAtp(l.atp, this.opts.haircut) : l.atp;
    return { ...l, promisable: Math.max(0, base - heldDegraded), heldDegraded, stale };
  }

  private summarize(
    sku: string,
    known: boolean,
    locations: readonly LocationFigures[],
    stale: ReadonlySet<string>,
  ): SkuFigures {
    let total = NO_TOTALS;
    const byRegion = new Map<string, Totals>();
    for (const l of locations) {
      total = addTo(total, l);
      byRegion.set(l.region, addTo(byRegion.get(l.region) ?? NO_TOTALS, l));
    }
    return {
      sku,
      known,
      total,
      regions: [...byRegion].map(([region, t]) => ({ region, stale: stale.has(region), ...t })),
      locations,
    };
  }

  /**
   * The JSON body of `GET /v1/availability/:sku` (without time-phasing): cached figures plus the
   * freshness of now. `regions` undefined means all.
   */
  body(sku: string, regions: readonly string[] | undefined): string {
    const fresh = this.freshness(regions);
    let staleKey = "";
    const stale = new Set<string>();
    for (const f of fresh)
      if (f.stale) {
        stale.add(f.region);
        staleKey += `${f.region},`;
      }
    const key = `${sku}\u0000${regions ? regions.join(",") : "*"}`;
    let entry = this.cache.get(key);
    if (!entry || entry.staleKey !== staleKey) {
      this.stats.misses++;
      const f = this.figures(sku, regions, stale);
      // The figures without their closing brace: freshness is appended per request.
      const json = JSON.stringify(f);
      entry = { staleKey, body: json.slice(0, -1) };
      this.cache.set(key, entry);
      const keys = this.keysBySku.get(sku) ?? new Set<string>();
      this.keysBySku.set(sku, keys);
      keys.add(key);
    } else this.stats.hits++;
    return `${entry.body},${freshnessJson(fresh)}}`;
  }

  /** Freshness and figures of the SKU, with each location's regional entry for time-phased ATP. */
  private async withEntries(sku: string, regions: readonly string[] | undefined, read: TimePhasedReader) {
    const fresh = this.freshness(regions);
    const stale = new Set(fresh.filter((f) => f.stale).map((f) => f.region));
    const f = this.figures(sku, regions, stale);
    return { fresh, stale, f, phased: await timePhasedPositions(sku, f.locations, read) };
  }

  /** Figures with time-phased ATP on `date` (regional entries read per location; not cached). */
  async onDate(
    sku: string,
    regions: readonly string[] | undefined,
    date: string,
    read: TimePhasedReader,
    now: number,
  ): Promise<string> {
    const { fresh, stale, f, phased } = await this.withEntries(sku, regions, read);
    const locations = f.locations.map((l, i) => ({
      ...l,
      atpOnDate: atpOnDate(timePhasedAtp([phased[i]!], [], now), date) ?? 0,
    }));
    const summary = this.summarize(sku, f.known, locations, stale);
    return `${JSON.stringify({ ...summary, date }).slice(0, -1)},${freshnessJson(fresh)}}`;
  }

  /**
   * ATP by day over the horizon, in total and per location: what arrives when (transfers at their
   * ETA, open purchase order lines at their date) on top of today's figure.
   */
  async timeline(
    sku: string,
    regions: readonly string[] | undefined,
    read: TimePhasedReader,
    now: number,
  ): Promise<string> {
    const { fresh, f, phased } = await this.withEntries(sku, regions, read);
    const body = {
      sku,
      known: f.known,
      ...timePhasedAtp(phased, [], now),
      locations: f.locations.map((l, i) => {
        const tp = timePhasedAtp([phased[i]!], [], now);
        return { region: l.region, location: l.location, stale: l.stale, ...tp };
      }),
    };
    return `${JSON.stringify(body).slice(0, -1)},${freshnessJson(fresh)}}`;
  }
}

/**
 * The regional entries of the locations, for time-phased ATP. An unreachable region counts with
 * what is promisable now and nothing incoming (its inbound transfers and open POs are not known).
 */
const timePhasedPositions = (
  sku: string,
  locations: readonly LocationFigures[],
  read: TimePhasedReader,
): Promise<TimePhasedPosition[]> =>
  Promise.all(
    locations.map(async (l) => {
      let entry: TimePhasedPosition | undefined;
      try {
        entry = await read(l.region, l.location, sku);
      } catch {
        entry = undefined;
      }
      return (
        entry ?? {
          position: { region: l.region, location: l.location, sku },
          atp: { net: l.promisable, sellable: l.sellable },
          inbound: [],
        }
      );
    }),
  );

const freshnessJson = (fresh: readonly FreshnessView[]): string => {
  let stale = false;
  let asOf: string | undefined;
  let never = false;
  for (const f of fresh) {
    if (f.stale) stale = true;
    if (f.asOf === undefined) never = true;
    else if (asOf === undefined || f.asOf < asOf) asOf = f.asOf;
  }
  const head = `"stale":${stale}${!never && asOf ? `,"asOf":"${asOf}"` : ""}`;
  return `${head},"freshness":${JSON.stringify(fresh)}`;
};
