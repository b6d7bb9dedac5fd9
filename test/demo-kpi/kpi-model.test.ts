/**
 * Specifications of `stockline demo kpi`'s model, on hand-built streams: where today's integration
 * goes wrong and why, and that the same events through stockline's position machine do not.
 */
import { describe, expect, it } from "vitest";
import { at, runStockline, runToday, SKU, streamOf, waves } from "./kpi-fixtures.ts";

const order = (id: string, region: string, quantity: number, t: number) =>
  ({ kind: "order", id, region, sku: SKU, quantity, t }) as const;

describe("today's integration", () => {
  // DC-B (us, D365) holds 5. An order takes all 5; the 02:30 wave picks them; the pick is posted to
  // SAP only, so D365 still says 5 and the shop's 02:45 copy says 5 again. The 03:00 order is taken
  // against that stale copy while the shelf is empty.
  const stream = streamOf({ "DC-B": 5 }, [
    order("SO-1", "us", 5, at(0, 60)),
    order("SO-2", "us", 3, at(0, 180)),
    ...waves(1),
  ]);

  it("oversells exactly the order its stale copy said yes to while the shelf was empty", () => {
    const a = runToday(stream, 1);
    expect(a.accepted).toBe(2);
    expect(a.oversoldOrders).toEqual(["SO-2"]);
    expect(a.oversoldUnits).toBe(3);
    // The wave after it finds nothing to pick: the customer is told.
    expect(a.shortAtPick).toBe(1);
  });

  it("shows the pick that was never posted as unexplained drift in the ERP that did not receive it", () => {
    const a = runToday(stream, 1);
    const day1 = Object.fromEntries(a.daily.map((d) => [d.erp, d]));
    expect(day1.D365).toMatchObject({ driftUnits: 5, unexplainedUnits: 5, reconciliationItems: 1 });
    expect(day1.SAP).toMatchObject({ driftUnits: 0, unexplainedUnits: 0, reconciliationItems: 0 });
  });

  it("books a pick at a DC of the ERP the WMS posts to within minutes: no drift at the day's end", () => {
    const a = runToday(streamOf({ "DC-A1": 5 }, [order("SO-1", "eu", 2, at(0, 60)), ...waves(1)]), 1);
    expect(a.daily.every((d) => d.driftUnits === 0)).toBe(true);
    // Posted 15 minutes after the 02:30 pick; the shop's next copy is at 03:00.
    expect(a.agreement.byKind.pick).toMatchObject({ count: 1, medianMs: 30 * 60_000 });
  });

  it("carries a transfer as drift until the overnight run posts each leg", () => {
    // DC-A1 ships 4 to DC-A2 at 10:00 on day 1; it arrives 18 h later (04:00 day 2).
    const s = streamOf({ "DC-A1": 10 }, [
      {
        kind: "transferShip",
        id: "TO-1",
        sku: SKU,
        from: "DC-A1",
        to: "DC-A2",
        planned: 4,
        arriveAt: at(1, 240),
        t: at(0, 600),
      },
      { kind: "transferArrive", id: "TO-1", t: at(1, 240) },
    ]);
    const a = runToday(s, 3);
    const sap = a.daily.filter((d) => d.erp === "SAP");
    // Day 1: SAP still has the 4 at DC-A1; day 2: posted at 02:00, but the arrival at DC-A2 waits
    // for the next night; day 3: both legs posted. The transfer order explains it: nothing unexplained.
    expect(sap.map((d) => d.driftUnits)).toEqual([4, 4, 0]);
    expect(sap.map((d) => d.unexplainedUnits)).toEqual([0, 0, 0]);
  });

  it("refuses an order while a receipt is on the shelf but not yet in the ERP's copy", () => {
    const s = streamOf({ "DC-B": 0 }, [
      { kind: "receipt", id: "PO-1", location: "DC-B", sku: SKU, quantity: 10, t: at(0, 600) },
      order("SO-1", "us", 2, at(0, 605)),
    ]);
    expect(runToday(s, 1).refusedWithStockOrders).toEqual(["SO-1"]);
    expect(runStockline(s, 1).figures.refusedWithStockOrders).toEqual([]);
  });
});

describe("through stockline", () => {
  it("takes the first order, refuses the one the shelf cannot hold, and agrees with the shelves", () => {
    const s = streamOf({ "DC-B": 5 }, [
      order("SO-1", "us", 5, at(0, 60)),
      order("SO-2", "us", 3, at(0, 180)),
      ...waves(1),
    ]);
    const { figures: b, world } = runStockline(s, 1);
    expect(b.accepted).toBe(1);
    expect(b.oversold).toBe(0);
    expect(b.refusedWithStock).toBe(0);
    expect(b.shortAtPick).toBe(0);
    expect(world.unexpected).toEqual([]);
    expect(world.ledger()).toEqual(b.finalStock);
    expect(b.daily.every((d) => d.driftUnits === 0 && d.reconciliationItems === 0)).toBe(true);
  });

  it("records a transfer in both ERPs as it happens, and agrees after the stated latency", () => {
    const s = streamOf({ "DC-A1": 10 }, [
      {
        kind: "transferShip",
        id: "TO-1",
        sku: SKU,
        from: "DC-A1",
        to: "DC-B",
        planned: 4,
        arriveAt: at(1, 240),
        t: at(0, 600),
      },
      { kind: "transferArrive", id: "TO-1", t: at(1, 240) },
    ]);
    const { figures: b, world } = runStockline(s, 2);
    expect(world.unexpected).toEqual([]);
    expect(b.daily.map((d) => d.driftUnits)).toEqual([0, 0, 0, 0]);
    expect(world.ledger()).toMatchObject({ "DC-A1|SKU-1": 6, "DC-B|SKU-1": 4 });
    // The shop's global ATP (250 ms) is slower than commit + posting (50 + 3 ms).
    expect(b.agreement.maxMs).toBe(250);
  });

  it("records a count that finds damage as a fact and posts it", () => {
    const s = streamOf({ "DC-A1": 10 }, [
      { kind: "count", id: "CC-1", location: "DC-A1", sku: SKU, damaged: 3, t: at(0, 365) },
    ]);
    const { figures: b, world } = runStockline(s, 1);
    expect(world.ledger()["DC-A1|SKU-1"]).toBe(7);
    expect(world.anomalies).toBe(1);
    expect(b.daily.every((d) => d.driftUnits === 0)).toBe(true);
  });
});
