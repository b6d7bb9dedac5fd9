/**
 * Time-phased ATP: today's net ATP plus what arrives by each day, from inbound transfers (ETA derived
 * from ship time and lane transit while the event has no ETA) and expected receipts.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Position } from "../../domain/ids.ts";
import { positionKey } from "../../domain/ids.ts";
import {
  decodeKvKeyPart,
  encodeKvKeyPart,
  parseRegionalAtpKey,
  regionalAtpKey,
} from "../../projections/atp-keys.ts";
import { applyToRegionalAtp, type RegionalAtpEntry } from "../../projections/regional-atp.projection.ts";
import { atpOnDate, type TimePhasedConfig, timePhasedAtp } from "../../projections/time-phased-atp.ts";
import { at } from "../domain/position-spec.ts";
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
            const known = Object.values(entry.inbound).filter((t) => t.shippedAt);
            const dueToday = known.filter(
              (t) => Date.parse(t.shippedAt!) + 2 * 86_400_000 < Date.parse("2024-05-02"),
            );
            if (dueToday.length === 0) expect(tp.days[0]!.atp).toBe(entry.atp.atp);
            const arriving = known.reduce((s, t) => s + t.inTransit, 0);
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
