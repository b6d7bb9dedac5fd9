/**
 * Time-phased ATP: today's net ATP plus what arrives by each day, from inbound transfers (at their
 * ETA, or derived from ship time and lane transit) and expected receipts (open purchase order lines).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Position } from "../../domain/ids.ts";
import { positionKey } from "../../domain/ids.ts";
import { initialPositionState } from "../../domain/position.decider.ts";
import {
  decodeKvKeyPart,
  encodeKvKeyPart,
  parseRegionalAtpKey,
  regionalAtpKey,
} from "../../projections/atp-keys.ts";
import { applyToRegionalAtp, type RegionalAtpEntry } from "../../projections/regional-atp.projection.ts";
import { atpOnDate, type TimePhasedConfig, timePhasedAtp } from "../../projections/time-phased-atp.ts";
import { at, expectReceipt, inboundTransfer, POS, receive, step } from "../domain/position-spec.ts";
import { decideAll, FEW_POSITIONS, positionedCommandArb } from "./event-streams.ts";

const P: Position = { region: "eu", location: "DC1", sku: "S1" };
const NOW = "2024-05-01T10:00:00Z";
const cfg: TimePhasedConfig = { horizonDays: 7, transitDays: () => 2 };

const position = (
  net: number,
  inbound: Array<{ to: string; inTransit: number; shippedAt?: string; eta?: string }>,
) => ({
  position: P,
  atp: { net, sellable: true },
  inbound: inbound.map((t) => ({ transferOrder: t.to, shipped: t.inTransit, received: 0, ...t })),
});

describe("time-phased ATP", () => {
  it("adds an inbound transfer on its derived arrival day and an expected receipt on its date", () => {
    const tp = timePhasedAtp(
      [position(5, [{ to: "TO-1", inTransit: 4, shippedAt: "2024-05-01T06:00:00Z" }])],
      [{ position: P, quantity: 10, expectedAt: "2024-05-05T12:00:00Z", document: "PO-9" }],
      NOW,
      cfg,
    );
    expect(tp.from).toBe("2024-05-01");
    expect(tp.days).toHaveLength(8);
    expect(tp.days.map((d) => d.atp)).toEqual([5, 5, 9, 9, 19, 19, 19, 19]);
    expect(tp.days[2]).toEqual({ date: "2024-05-03", incoming: 4, atp: 9 });
    expect(tp.derivedEtas).toBe(1);
    expect(atpOnDate(tp, "2024-05-04T23:00:00Z")).toBe(9);
    expect(atpOnDate(tp, "2024-06-01")).toBeUndefined();
  });

  it("lets arrivals cover a negative net first, counts overdue ones today and reports what is beyond", () => {
    const tp = timePhasedAtp(
      [
        position(-3, [
          { to: "late", inTransit: 2, eta: "2024-04-20T00:00:00Z" },
          { to: "far", inTransit: 7, eta: "2024-06-20T00:00:00Z" },
          { to: "soon", inTransit: 5, eta: "2024-05-02T00:00:00Z" },
        ]),
      ],
      [],
      NOW,
      cfg,
    );
    expect(tp.days.map((d) => d.atp)).toEqual([0, 4, 4, 4, 4, 4, 4, 4]);
    expect(tp).toMatchObject({ overdue: 2, beyondHorizon: 7, derivedEtas: 0 });
  });

  it("promises nothing for a position that is not sellable, and counts receipts at positions without an entry", () => {
    const held = { ...position(9, [{ to: "x", inTransit: 3, eta: NOW }]), atp: { net: 9, sellable: false } };
    const other = { ...P, location: "DC2" };
    const tp = timePhasedAtp(
      [held],
      [{ position: other, quantity: 6, expectedAt: "2024-05-02T01:00:00Z" }],
      NOW,
      cfg,
    );
    expect(tp.days.map((d) => d.atp)).toEqual([0, 6, 6, 6, 6, 6, 6, 6]);
  });

  it("from domain events: a transfer's ETA and a PO's open quantity land on their days, nothing derived", () => {
    const day = (d: number) => at(d * 24 * 60);
    let state = initialPositionState(POS);
    let entry: RegionalAtpEntry | undefined;
    const run = (...commands: Parameters<typeof step>[1][]) => {
      for (const c of commands) {
        const r = step(state, c);
        expect(r.outcome.kind).toBe("accepted");
        state = r.state;
        for (const e of r.stored) {
          const applied = applyToRegionalAtp(entry, e);
          if (applied.kind !== "applied") throw new Error(applied.kind);
          entry = applied.entry;
        }
      }
    };
    run(
      receive(5),
      expectReceipt(20, "PO-1", day(3)),
      expectReceipt(6, "PO-2", day(5)),
      // 8 of PO-1 arrive early: 12 are still expected on day 3.
      receive(8, { documents: { po: "PO-1" } }),
      inboundTransfer(4, "TO-1", { eta: day(1) }),
      // PO-2 is cancelled.
      expectReceipt(0, "PO-2", day(5)),
    );
    expect(entry!.expectedReceipts).toEqual({ "PO-1": { po: "PO-1", quantity: 12, expectedAt: day(3) } });
    expect(entry!.inbound["TO-1"]?.eta).toBe(day(1));
    const tp = timePhasedAtp([entry!], [], at(0), cfg);
    expect(tp.days.map((d) => d.incoming)).toEqual([0, 4, 0, 12, 0, 0, 0, 0]);
    expect(tp.days.map((d) => d.atp)).toEqual([13, 17, 17, 29, 29, 29, 29, 29]);
    expect(tp.derivedEtas).toBe(0);
    // The rest of PO-1 arrives: nothing is expected any more.
    run(receive(12, { documents: { po: "PO-1" } }));
    expect(entry!.expectedReceipts).toBeUndefined();
  });

  it("from real read-model entries: never decreases over the horizon, starts at today's ATP, ends at net + all in transit", () => {
    fc.assert(
      fc.property(
        fc.array(positionedCommandArb(FEW_POSITIONS), { minLength: 10, maxLength: 60, size: "max" }),
        (commands) => {
          const { events } = decideAll(commands, FEW_POSITIONS);
          const entries = new Map<string, RegionalAtpEntry>();
          for (const e of events) {
            const r = applyToRegionalAtp(entries.get(positionKey(e.position)), e);
            if (r.kind === "applied") entries.set(positionKey(e.position), r.entry);
          }
          // Events are at business times up to at(100); with 2-day transit everything lands within 7 days.
          const now = at(100);
          for (const entry of entries.values()) {
            const tp = timePhasedAtp([entry], [], now, cfg);
            for (let d = 1; d < tp.days.length; d++)
              expect(tp.days[d]!.atp).toBeGreaterThanOrEqual(tp.days[d - 1]!.atp);
            // Arrivals: transfers at their ETA or ship time + 2 days, open PO lines at their date.
            const arrivals = [
              ...Object.values(entry.inbound)
                .filter((t) => t.eta || t.shippedAt)
                .map((t) => ({
                  quantity: t.inTransit,
                  atMs: t.eta ? Date.parse(t.eta) : Date.parse(t.shippedAt!) + 2 * 86_400_000,
                })),
              ...Object.values(entry.expectedReceipts ?? {}).map((r) => ({
                quantity: r.quantity,
                atMs: Date.parse(r.expectedAt),
              })),
            ].filter((a) => a.quantity > 0);
            const dueToday = arrivals.filter((a) => a.atMs < Date.parse("2024-05-02"));
            if (dueToday.length === 0) expect(tp.days[0]!.atp).toBe(entry.atp.atp);
            const arriving = arrivals.reduce((s, a) => s + a.quantity, 0);
            expect(tp.days[tp.days.length - 1]!.atp).toBe(
              entry.atp.sellable ? Math.max(0, entry.atp.net + arriving) : 0,
            );
          }
        },
      ),
      { numRuns: 30 },
    );
  });
});

describe("ATP KV keys", () => {
  it("round-trip any id and only use characters NATS KV accepts", () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, unit: "grapheme-ascii" }),
        fc.string({ minLength: 1, unit: "grapheme" }),
        (loc, sku) => {
          const key = regionalAtpKey(loc, sku);
          expect(key).toMatch(/^[-/=.\w]+$/);
          expect(key.startsWith(".") || key.endsWith(".")).toBe(false);
          expect(parseRegionalAtpKey(key)).toEqual({ location: loc, sku });
          expect(decodeKvKeyPart(encodeKvKeyPart(sku))).toBe(sku);
        },
      ),
    );
    expect(regionalAtpKey("DC 1.A*", "SKU>1 ü")).toBe("DC=201=2EA=2A.SKU=3E1=20=C3=BC");
    expect(parseRegionalAtpKey("a.b.c")).toBeUndefined();
  });
});
