import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  eventStateFor,
  type ReconEvent,
  type ReconEventState,
  reconcilePosition,
} from "../../projections/reconciliation.ts";

const POSITION = { region: "eu", location: "DC1", sku: "S1" };

/** Events of a position with random effects and states, in revision order. */
const eventsArb = fc
  .array(
    fc.record({
      effect: fc.integer({ min: -50, max: 50 }).filter((n) => n !== 0),
      state: fc.constantFrom<ReconEventState>("own", "acked", "inFlight", "missing"),
    }),
    { maxLength: 25 },
  )
  .map((xs) =>
    xs.map(
      (x, i): ReconEvent => ({
        key: `eu:position-DC1~S1:${i}`,
        eventId: `e${i}`,
        type: "StockAdjusted",
        revision: i,
        effect: x.effect,
        state: x.state,
        businessTime: "2025-01-01T00:00:00Z",
      }),
    ),
  );

const sum = (es: readonly ReconEvent[]) => es.reduce((s, e) => s + e.effect, 0);

/**
 * The world the classification must explain: the target holds what it acknowledged or owns, a
 * prefix of the in-flight events it applied without our ledger knowing, and an outside change.
 */
const scenarioArb = eventsArb.chain((events) => {
  const inFlight = events.filter((e) => e.state === "inFlight");
  return fc.record({
    events: fc.constant(events),
    appliedPrefix: fc.integer({ min: 0, max: inFlight.length }),
    outside: fc.oneof(fc.constant(0), fc.integer({ min: -100, max: 100 })),
  });
});

const run = (s: { events: ReconEvent[]; appliedPrefix: number; outside: number }) => {
  const held = s.events.filter((e) => e.state === "acked" || e.state === "own");
  const inFlight = s.events.filter((e) => e.state === "inFlight");
  const actual = sum(held) + sum(inFlight.slice(0, s.appliedPrefix)) + s.outside;
  return {
    actual,
    inFlight,
    rec: reconcilePosition({ target: "sap", position: POSITION, actual, canonical: 0, events: s.events }),
  };
};

const qty = (rec: ReturnType<typeof reconcilePosition>, c: string) =>
  rec.findings.filter((f) => f.class === c).reduce((s, f) => s + f.quantity, 0);

describe("reconciliation classification (property)", () => {
  it("the findings account for the whole difference: actual = expected − in flight − missing + unexplained", () => {
    fc.assert(
      fc.property(scenarioArb, (s) => {
        const { actual, rec } = run(s);
        expect(actual).toBe(
          rec.expectedAll - qty(rec, "inFlight") - qty(rec, "missingPosting") + qty(rec, "unexplained"),
        );
      }),
    );
  });

  it("without a change outside the sync nothing is unexplained, and in flight is what the target still lacks", () => {
    fc.assert(
      fc.property(scenarioArb, (s) => {
        const { rec, inFlight } = run({ ...s, outside: 0 });
        expect(rec.findings.filter((f) => f.class === "unexplained")).toEqual([]);
        expect(qty(rec, "inFlight")).toBe(sum(inFlight.slice(s.appliedPrefix)));
        expect(qty(rec, "missingPosting")).toBe(sum(s.events.filter((e) => e.state === "missing")));
      }),
    );
  });

  it("with nothing in flight, an outside change is unexplained with exactly its quantity and an adjustment of it", () => {
    fc.assert(
      fc.property(
        eventsArb.map((es) => es.filter((e) => e.state !== "inFlight")),
        fc.integer({ min: -100, max: 100 }).filter((n) => n !== 0),
        (events, outside) => {
          const { rec } = run({ events, appliedPrefix: 0, outside });
          const unexplained = rec.findings.filter((f) => f.class === "unexplained");
          expect(unexplained).toHaveLength(1);
          expect(unexplained[0]?.quantity).toBe(outside);
          expect(unexplained[0]?.proposal).toMatchObject({ kind: "adjustStock", quantity: outside });
          expect(unexplained[0]?.events).toEqual([]);
        },
      ),
    );
  });

  it("a target that holds everything it should has no findings", () => {
    fc.assert(
      fc.property(eventsArb, (events) => {
        const settled = events.map((e) =>
          e.state === "inFlight" || e.state === "missing" ? { ...e, state: "acked" as const } : e,
        );
        expect(run({ events: settled, appliedPrefix: 0, outside: 0 }).rec.findings).toEqual([]);
      }),
    );
  });

  it("names the events that account for in-flight and missing differences", () => {
    const events: ReconEvent[] = [
      {
        key: "k0",
        eventId: "e0",
        type: "GoodsReceived",
        revision: 0,
        effect: 10,
        state: "acked",
        businessTime: "t",
      },
      {
        key: "k1",
        eventId: "e1",
        type: "ShipmentPosted",
        revision: 1,
        effect: -3,
        state: "missing",
        businessTime: "t",
      },
      {
        key: "k2",
        eventId: "e2",
        type: "GoodsReceived",
        revision: 2,
        effect: 4,
        state: "inFlight",
        businessTime: "t",
      },
    ];
    const rec = reconcilePosition({ target: "sap", position: POSITION, actual: 10, canonical: 11, events });
    expect(rec.findings.map((f) => [f.class, f.quantity, f.events.map((e) => e.key)])).toEqual([
      ["inFlight", 4, ["k2"]],
      ["missingPosting", -3, ["k1"]],
    ]);
    expect(rec.findings[1]?.proposal).toMatchObject({ kind: "replayPostings", eventKeys: ["k1"] });
  });
});

describe("event state for a target", () => {
  const base = {
    ownedByTarget: false,
    routed: true,
    effect: 5,
    recordedTime: "2025-01-01T10:00:00Z",
    snapshotTime: "2025-01-01T10:10:00Z",
    graceMs: 5 * 60_000,
  };
  it.each([
    [{ posting: { status: "acked" as const, ackedAt: "2025-01-01T10:01:00Z" } }, "acked"],
    [{ posting: { status: "acked" as const, ackedAt: "2025-01-01T10:11:00Z" } }, "inFlight"],
    [{ posting: { status: "failed" as const } }, "inFlight"],
    [{ posting: { status: "dead" as const } }, "missing"],
    [{ posting: undefined }, "missing"],
    [{ posting: undefined, recordedTime: "2025-01-01T10:08:00Z" }, "inFlight"],
    [{ posting: undefined, ownedByTarget: true }, "own"],
    [{ posting: undefined, routed: false }, undefined],
    [{ posting: undefined, effect: 0 }, undefined],
  ])("%o -> %s", (patch, expected) => {
    expect(eventStateFor({ ...base, ...patch })).toBe(expected);
  });
});
