/**
 * Trends of the supply-chain control tower (issue 12), pure: per region and per time bucket (a minute
 * by default), how many events were applied, how many within the sync-latency objective, how many
 * oversold (an `AnomalyRaised` of a fact that took a balance below zero or below its reservations),
 * and the worst staleness sampled.
 *
 * Latency is the `applied` stage of infra/sync-metrics.ts, read from the event itself: recorded time
 * (committed by the regional node) − business time (when the source says it happened); a business
 * time in the future counts as 0. Buckets are by recorded time, so a replay of the stream after a
 * restart rebuilds the same trends.
 */
/** Anomalies that mean more was promised or taken than there was. */
export const OVERSELL_CODES: ReadonlySet<string> = new Set(["negativeBalance", "reservationsUncovered"]);

/** What a trend reads of a canonical event. */
export interface TrendEvent {
  readonly type: string;
  readonly businessTime: string;
  readonly recordedTime: string;
  readonly quantity: number;
  readonly anomaly?: { readonly code: string };
}

export interface TrendCounts {
  readonly events: number;
  /** Events applied within the objective's latency bound. */
  readonly withinSlo: number;
  /** Largest applied latency seen (ms). */
  readonly maxLatencyMs: number;
  readonly oversells: number;
  /** Units by which they oversold. */
  readonly oversoldUnits: number;
  /** Worst staleness of the region's global figures sampled in the bucket (ms). */
  readonly maxStalenessMs?: number;
  /** Whether any sample found the region stale. */
  readonly stale?: boolean;
}

export interface TrendBook {
  readonly bucketMs: number;
  readonly sloMs: number;
  /** region -> bucket start (ms) -> counts. */
  readonly regions: Map<string, Map<number, TrendCounts>>;
}

export const ZERO_COUNTS: TrendCounts = {
  events: 0,
  withinSlo: 0,
  maxLatencyMs: 0,
  oversells: 0,
  oversoldUnits: 0,
};

export const newTrendBook = (o: { bucketMs: number; sloMs: number }): TrendBook => ({
  bucketMs: o.bucketMs,
  sloMs: o.sloMs,
  regions: new Map(),
});

const bucketOf = (book: TrendBook, at: number) => at - (at % book.bucketMs);

const update = (book: TrendBook, region: string, at: number, f: (c: TrendCounts) => TrendCounts) => {
  let buckets = book.regions.get(region);
  if (!buckets) {
    buckets = new Map();
    book.regions.set(region, buckets);
  }
  const b = bucketOf(book, at);
  buckets.set(b, f(buckets.get(b) ?? ZERO_COUNTS));
};

/** Counts one applied event of `region` (ignores one whose times cannot be read). */
export const noteTrendEvent = (book: TrendBook, region: string, e: TrendEvent): void => {
  const recorded = Date.parse(e.recordedTime);
  const business = Date.parse(e.businessTime);
  if (Number.isNaN(recorded) || Number.isNaN(business)) return;
  const latency = Math.max(0, recorded - business);
  const oversold =
    e.type === "AnomalyRaised" && e.anomaly !== undefined && OVERSELL_CODES.has(e.anomaly.code);
  update(book, region, recorded, (c) => ({
    ...c,
    events: c.events + 1,
    withinSlo: c.withinSlo + (latency <= book.sloMs ? 1 : 0),
    maxLatencyMs: Math.max(c.maxLatencyMs, latency),
    oversells: c.oversells + (oversold ? 1 : 0),
    oversoldUnits: c.oversoldUnits + (oversold ? Math.abs(e.quantity) : 0),
  }));
};

/** Notes one freshness sample of `region` at `at`. */
export const noteTrendFreshness = (
  book: TrendBook,
  region: string,
  at: number,
  f: { readonly stale: boolean; readonly stalenessMs?: number },
): void =>
  update(book, region, at, (c) => ({
    ...c,
    stale: (c.stale ?? false) || f.stale,
    ...(f.stalenessMs !== undefined
      ? { maxStalenessMs: Math.max(c.maxStalenessMs ?? 0, f.stalenessMs) }
      : c.maxStalenessMs !== undefined
        ? { maxStalenessMs: c.maxStalenessMs }
        : {}),
  }));

/** Drops buckets that start before `before`. */
export const pruneTrends = (book: TrendBook, before: number): void => {
  for (const buckets of book.regions.values())
    for (const at of buckets.keys()) if (at < before) buckets.delete(at);
};

export interface TrendPoint extends TrendCounts {
  /** Bucket start (ISO). */
  readonly at: string;
  /** withinSlo / events (undefined without events). */
  readonly share?: number;
}

export interface RegionTrend {
  readonly region: string;
  /** One point per bucket from `from` to `to`, empty buckets as zeros. */
  readonly points: readonly TrendPoint[];
  /** Over the whole window. */
  readonly events: number;
  readonly withinSlo: number;
  readonly share?: number;
  /** The share met the objective (true without events: nothing was late). */
  readonly met: boolean;
  readonly oversells: number;
  readonly oversoldUnits: number;
}

/** The trend of every region in `[from, to]`, against `objective` (share 0..1). */
export const trendsOf = (
  book: TrendBook,
  regions: readonly string[],
  window: { from: number; to: number },
  objective: number,
): RegionTrend[] =>
  regions.map((region) => {
    const buckets = book.regions.get(region);
    const points: TrendPoint[] = [];
    for (let at = bucketOf(book, window.from); at <= window.to; at += book.bucketMs) {
      const c = buckets?.get(at) ?? ZERO_COUNTS;
      points.push({
        at: new Date(at).toISOString(),
        ...c,
        ...(c.events > 0 ? { share: c.withinSlo / c.events } : {}),
      });
    }
    const events = points.reduce((s, p) => s + p.events, 0);
    const withinSlo = points.reduce((s, p) => s + p.withinSlo, 0);
    const share = events > 0 ? withinSlo / events : undefined;
    return {
      region,
      points,
      events,
      withinSlo,
      ...(share !== undefined ? { share } : {}),
      met: share === undefined || share >= objective,
      oversells: points.reduce((s, p) => s + p.oversells, 0),
      oversoldUnits: points.reduce((s, p) => s + p.oversoldUnits, 0),
    };
  });
