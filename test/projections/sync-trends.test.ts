/**
 * The control tower's trends, pure (projections/sync-trends.ts): buckets by recorded time, latency
 * from business time, oversells only from the anomalies that mean it, freshness samples, pruning.
 */
import { describe, expect, it } from "vitest";
import {
  newTrendBook,
  noteTrendEvent,
  noteTrendFreshness,
  pruneTrends,
  trendsOf,
} from "../../projections/sync-trends.ts";

const T0 = Date.parse("2026-05-01T10:00:00.000Z");
const iso = (ms: number) => new Date(T0 + ms).toISOString();
const event = (recordedMs: number, latencyMs: number, extra: Record<string, unknown> = {}) => ({
  type: "GoodsReceived",
  quantity: 5,
  recordedTime: iso(recordedMs),
  businessTime: iso(recordedMs - latencyMs),
  ...extra,
});

describe("sync trends", () => {
  it("counts events per minute and region, within the objective or not; a future business time is 0 s late", () => {
    const book = newTrendBook({ bucketMs: 60_000, sloMs: 5_000 });
    noteTrendEvent(book, "eu", event(1_000, 200));
    noteTrendEvent(book, "eu", event(2_000, 5_000));
    noteTrendEvent(book, "eu", event(3_000, 5_001));
    noteTrendEvent(book, "eu", event(61_000, -30_000));
    noteTrendEvent(book, "us", event(1_000, 600_000));
    const [eu, us] = trendsOf(book, ["eu", "us"], { from: T0, to: T0 + 119_999 }, 0.9);
    expect(eu!.points.map((p) => [p.events, p.withinSlo, p.maxLatencyMs])).toEqual([
      [3, 2, 5_001],
      [1, 1, 0],
    ]);
    expect(eu).toMatchObject({ events: 4, withinSlo: 3, share: 0.75, met: false });
    expect(us).toMatchObject({ events: 1, withinSlo: 0, met: false });
    expect(us!.points[1]).toMatchObject({ events: 0, withinSlo: 0 });
    expect(us!.points[1]!.share).toBeUndefined();
  });

  it("counts as oversells only anomalies of a balance below zero or below its reservations", () => {
    const book = newTrendBook({ bucketMs: 60_000, sloMs: 5_000 });
    const anomaly = (code: string, quantity: number) =>
      event(1_000, 0, { type: "AnomalyRaised", quantity, anomaly: { code } });
    noteTrendEvent(book, "eu", anomaly("negativeBalance", 2));
    noteTrendEvent(book, "eu", anomaly("reservationsUncovered", 3));
    noteTrendEvent(book, "eu", anomaly("countVariance", 9));
    noteTrendEvent(book, "eu", event(1_000, 0, { quantity: 7 }));
    const [eu] = trendsOf(book, ["eu"], { from: T0, to: T0 + 59_999 }, 0.9);
    expect(eu).toMatchObject({ oversells: 2, oversoldUnits: 5, events: 4, met: true });
  });

  it("keeps the worst staleness of a minute and whether it was stale; prunes old minutes; a region without events meets the objective", () => {
    const book = newTrendBook({ bucketMs: 60_000, sloMs: 5_000 });
    noteTrendFreshness(book, "eu", T0 + 1_000, { stale: false, stalenessMs: 300 });
    noteTrendFreshness(book, "eu", T0 + 2_000, { stale: true, stalenessMs: 20_000 });
    noteTrendFreshness(book, "eu", T0 + 3_000, { stale: false });
    noteTrendFreshness(book, "eu", T0 + 61_000, { stale: false, stalenessMs: 100 });
    let [eu] = trendsOf(book, ["eu"], { from: T0, to: T0 + 119_999 }, 0.99);
    expect(eu!.points.map((p) => [p.maxStalenessMs, p.stale])).toEqual([
      [20_000, true],
      [100, false],
    ]);
    expect(eu).toMatchObject({ events: 0, met: true });
    pruneTrends(book, T0 + 60_000);
    [eu] = trendsOf(book, ["eu"], { from: T0, to: T0 + 119_999 }, 0.99);
    expect(eu!.points[0]!.maxStalenessMs).toBeUndefined();
    expect(eu!.points[1]!.maxStalenessMs).toBe(100);
  });
});
