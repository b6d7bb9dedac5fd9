/**
 * Global ATP: per SKU, the sum over regions and locations of what the regional read models say, no
 * matter how often or in which order the mirrors deliver; freshness says when a region's figures are
 * out of date and why.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { CanonicalEvent } from "../../domain/canonical-event.ts";
import { positionKey } from "../../domain/ids.ts";
import {
  applyToGlobalAtp,
  freshnessOf,
  type GlobalSkuAtp,
  initialRegionFreshness,
  noteRegionEvent,
  observeRegion,
  viewOfSku,
} from "../../projections/global-atp.projection.ts";
import { applyToRegionalAtp, type RegionalAtpEntry } from "../../projections/regional-atp.projection.ts";
import { ALL_POSITIONS, decideAll, domainAtp, positionedCommandArb } from "./event-streams.ts";

const RUNS = { numRuns: 30 };
const commandsArb = fc.array(positionedCommandArb(ALL_POSITIONS), {
  minLength: 20,
  maxLength: 120,
  size: "max",
});

const foldGlobal = (events: readonly CanonicalEvent[]) => {
  const skus = new Map<string, GlobalSkuAtp>();
  let skipped = 0;
  for (const e of events) {
    const r = applyToGlobalAtp(skus.get(e.position.sku), e);
    if (r.kind === "applied") {
      skus.set(e.position.sku, r.sku);
      skipped += r.skipped;
    }
  }
  return { skus, skipped };
};

const foldRegional = (events: readonly CanonicalEvent[]) => {
  const entries = new Map<string, RegionalAtpEntry>();
  for (const e of events) {
    const r = applyToRegionalAtp(entries.get(positionKey(e.position)), e);
    if (r.kind === "applied") entries.set(positionKey(e.position), r.entry);
  }
  return entries;
};

describe("global ATP projection", () => {
  it("global = sum of the regional read models = the domain's ATP, per SKU, per region and in total", () => {
    fc.assert(
      fc.property(commandsArb, (commands) => {
        const run = decideAll(commands);
        const { skus, skipped } = foldGlobal(run.events);
        expect(skipped).toBe(0);
        const regional = foldRegional(run.events);
        const domain = domainAtp(run);
        const skuNames = new Set(run.events.map((e) => e.position.sku));
        expect(new Set(skus.keys())).toEqual(skuNames);
        for (const sku of skuNames) {
          const view = viewOfSku(skus.get(sku)!);
          const entries = [...regional.values()].filter((x) => x.position.sku === sku);
          const domainOf = [...domain.values()].filter(
            (x) => x.position.sku === sku && x.state.revision >= 0,
          );
          const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
          expect(view.total.atp).toBe(sum(entries.map((x) => x.atp.atp)));
          expect(view.total.atp).toBe(sum(domainOf.map((x) => x.atp.atp)));
          expect(view.total.reserved).toBe(sum(domainOf.map((x) => x.atp.reserved)));
          expect(view.total.available).toBe(sum(domainOf.map((x) => x.atp.available)));
          expect(view.total.locations).toBe(domainOf.length);
          for (const region of new Set(entries.map((x) => x.position.region))) {
            expect(view.byRegion[region]?.atp).toBe(
              sum(entries.filter((x) => x.position.region === region).map((x) => x.atp.atp)),
            );
            expect(viewOfSku(skus.get(sku)!, new Set([region])).total).toEqual(view.byRegion[region]);
          }
          expect(sum(Object.values(view.byRegion).map((r) => r.atp))).toBe(view.total.atp);
        }
      }),
      RUNS,
    );
  });

  it("any order of delivery, with any duplicates, gives the same global state", () => {
    fc.assert(
      fc.property(
        commandsArb
          .map((c) => decideAll(c).events)
          .chain((events) =>
            fc.tuple(
              fc.constant(events),
              fc.shuffledSubarray(events, { minLength: events.length, maxLength: events.length }),
              fc.array(fc.constantFrom(...events), { maxLength: 40 }),
            ),
          ),
        ([events, shuffled, dupes]) => {
          const inOrder = foldGlobal(events).skus;
          const scrambled = foldGlobal([...shuffled, ...dupes, ...shuffled.slice(0, 5)]).skus;
          expect(scrambled).toEqual(inOrder);
        },
      ),
      RUNS,
    );
  });

  it("counts skipped revisions but still shows the latest balance", () => {
    const { events } = decideAll(
      fc.sample(positionedCommandArb([ALL_POSITIONS[0]!]), { numRuns: 60, seed: 7 }),
      [ALL_POSITIONS[0]!],
    );
    expect(events.length).toBeGreaterThan(5);
    const last = events[events.length - 1]!;
    const { skus, skipped } = foldGlobal([events[0]!, last]);
    expect(skipped).toBe(last.revision - 1);
    expect(viewOfSku(skus.get(last.position.sku)!).total.atp).toBe(last.balancesAfter.atp);
  });
});

describe("region freshness", () => {
  const T = Date.parse("2024-05-01T10:00:00Z");
  const ev = { recordedTime: new Date(T - 50).toISOString(), businessTime: "2024-05-01T09:00:00Z" };
  const healthy = (at: number, mirrorLastSeq: number, mirrorLag = 0) => ({
    at,
    link: "up" as const,
    mirrorLag,
    mirrorLastSeq,
    mirrorActiveAgoMs: 100,
    consumerPending: 0,
  });

  it("is stale until the region was first seen in sync", () => {
    const f = freshnessOf(initialRegionFreshness("eu"), T, 5_000);
    expect(f.stale).toBe(true);
    expect(f.reasons.join(" ")).toMatch(/never in sync/);
  });

  it("is in sync as of a healthy probe once everything the origin had then is applied", () => {
    let s = noteRegionEvent(initialRegionFreshness("eu"), ev, T, 10);
    s = observeRegion(s, healthy(T, 10, 5)); // origin is at 15
    expect(s.syncedAt).toBeUndefined();
    s = noteRegionEvent(s, ev, T + 10, 14);
    expect(s.syncedAt).toBeUndefined();
    s = noteRegionEvent(s, ev, T + 20, 15);
    expect(s.syncedAt).toBe(T);
    expect(freshnessOf(s, T + 1_000, 5_000)).toMatchObject({ stale: false, link: "up", stalenessMs: 1_000 });
  });

  it("goes stale while the link is down or the mirror is silent, and recovers after catching up", () => {
    let s = observeRegion(noteRegionEvent(initialRegionFreshness("eu"), ev, T, 10), healthy(T, 10));
    expect(s.syncedAt).toBe(T);
    s = observeRegion(s, { at: T + 2_000, link: "down", mirrorLastSeq: 10, mirrorActiveAgoMs: 2_000 });
    s = observeRegion(s, { at: T + 4_000, link: "down", mirrorLastSeq: 10, mirrorActiveAgoMs: 4_000 });
    const during = freshnessOf(s, T + 4_500, 5_000);
    expect(during).toMatchObject({ stale: false, link: "down", asOf: new Date(T).toISOString() });
    const later = freshnessOf(s, T + 6_000, 5_000);
    expect(later.stale).toBe(true);
    expect(later.linkSince).toBe(new Date(T + 2_000).toISOString());
    expect(later.reasons.join(" ")).toMatch(/link down since/);
    expect(later.lastEventRecordedTime).toBe(ev.recordedTime);

    // Link back, but the mirror has not resumed (silent, lag still 0): not trusted.
    s = observeRegion(s, { ...healthy(T + 7_000, 10), mirrorActiveAgoMs: 7_000 });
    expect(freshnessOf(s, T + 7_000, 5_000).stale).toBe(true);
    expect(freshnessOf(s, T + 7_000, 5_000).reasons.join(" ")).toMatch(/silent/);
    // The mirror resumed and holds 300 more: in sync only once they are applied.
    s = observeRegion(s, healthy(T + 8_000, 310));
    expect(freshnessOf(s, T + 8_000, 5_000).stale).toBe(true);
    s = noteRegionEvent(s, ev, T + 8_500, 310);
    expect(freshnessOf(s, T + 8_500, 5_000)).toMatchObject({ stale: false, stalenessMs: 500, reasons: [] });
  });
});
