import { describe, expect, it } from "vitest";
import { createActor } from "xstate";
import type { CanonicalEvent } from "../../domain/canonical-event.ts";
import type { OwnershipPolicy } from "../../domain/ownership-policy.ts";
import {
  atpOf,
  DEFAULT_DECISION_CONFIG,
  decide,
  defaultEnv,
  inboundTransferCommandFor,
  nextReservationExpiry,
  type Outcome,
  rehydrate,
} from "../../domain/position.decider.ts";
import { positionMachine } from "../../domain/position.machine.ts";
import { idempotencyRecordOf } from "../../domain/position-context.ts";
import { reservationsById } from "../../domain/reservation-book.ts";
import {
  adjust,
  at,
  changeStatus,
  consume,
  count,
  expectReceipt,
  expire,
  given,
  givenWith,
  inboundTransfer,
  lifecycle,
  NOW,
  POS,
  pick,
  produce,
  receive,
  receiveReturn,
  receiveTransfer,
  release,
  reserve,
  reversePick,
  safetyStock,
  ship,
  shipTransfer,
  step,
} from "./position-spec.ts";

describe("facts: every movement command records its event and moves the right buckets", () => {
  it("receiveGoods puts stock into available, or into the status it names", () => {
    const r = given().when(receive(10, { documents: { po: "PO-1" }, lot: "L1" }));
    r.then({
      type: "GoodsReceived",
      quantity: 10,
      status: "available",
      original: { value: 10, uom: "EA" },
      documents: { po: "PO-1" },
      lot: "L1",
    });
    expect(r.state.buckets.available.current).toBe(10);
    const q = given().when(receive(4, { status: "inspection" }));
    q.then({ type: "GoodsReceived", status: "inspection" });
    expect(q.state.buckets.inspection.current).toBe(4);
    expect(atpOf(q.state).atp).toBe(0);
  });

  it("confirmPick moves available to picked; reversePick moves it back; postShipment removes picked", () => {
    const picked = given(receive(10)).when(pick(3, { documents: { order: "SO-1" } }));
    picked.then({ type: "PickConfirmed", quantity: 3 });
    expect(picked.state.buckets.available.current).toBe(7);
    expect(picked.state.buckets.picked.current).toBe(3);
    given(receive(10), pick(3))
      .when(reversePick(2))
      .then({ type: "PickReversed", quantity: 2, balancesAfter: { onHand: { available: 9, picked: 1 } } });
    given(receive(10), pick(3))
      .when(ship(3, { documents: { order: "SO-1" } }))
      .then({ type: "ShipmentPosted", quantity: 3, balancesAfter: { onHand: { available: 7, picked: 0 } } });
  });

  it("a transfer leaves the origin, is in transit at the destination, and lands there", () => {
    const shipped = given(receive(10)).when(shipTransfer(4, "TO-1"));
    shipped.then({
      type: "TransferShipped",
      quantity: 4,
      destination: { region: POS.region, location: "DC2" },
      documents: { transferOrder: "TO-1" },
      balancesAfter: { onHand: { available: 6 } },
    });
    given()
      .when(inboundTransfer(4, "TO-1"))
      .then({ type: "TransferInboundRecorded", quantity: 4, balancesAfter: { inboundInTransit: 4 } });
    given(inboundTransfer(4, "TO-1"))
      .when(receiveTransfer(3, "TO-1"))
      .then({ type: "TransferReceived", balancesAfter: { inboundInTransit: 1, onHand: { available: 3 } } });
    // The receipt may overtake the announcement (they come from different streams).
    const early = given(receiveTransfer(4, "TO-1")).when(inboundTransfer(4, "TO-1"));
    early.then({ type: "TransferInboundRecorded", balancesAfter: { inboundInTransit: 0 } });
    expect(early.state.inbound).toEqual({});
  });

  it("inboundTransferCommandFor derives the destination's command from the origin's event, deterministically", () => {
    const shipped = given(receive(10)).when(shipTransfer(4, "TO-9")).stored[0] as Extract<
      CanonicalEvent,
      { type: "TransferShipped" }
    >;
    const cmd = inboundTransferCommandFor(shipped);
    expect(cmd).toEqual(inboundTransferCommandFor(shipped));
    expect(cmd.position).toEqual({ region: POS.region, location: "DC2", sku: POS.sku });
    expect(cmd.origin).toEqual({ region: POS.region, location: POS.location });
    expect(cmd.causationId).toBe(shipped.eventId);
    const dest = givenWith({ position: cmd.position })().when(cmd);
    dest.then({ type: "TransferInboundRecorded", quantity: 4, documents: { transferOrder: "TO-9" } });
  });

  it("a shipment's ETA travels with the transfer to the destination's inbound announcement", () => {
    const eta = at(3 * 24 * 60);
    const shipped = given(receive(10)).when(shipTransfer(4, "TO-E", { eta }));
    shipped.then({ type: "TransferShipped", eta });
    const cmd = inboundTransferCommandFor(
      shipped.stored[0] as Extract<CanonicalEvent, { type: "TransferShipped" }>,
    );
    expect(cmd.eta).toBe(eta);
    givenWith({ position: cmd.position })().when(cmd).then({ type: "TransferInboundRecorded", eta });
    // Without one, neither event carries the field.
    const plain = given(receive(10)).when(shipTransfer(4, "TO-F")).stored[0]!;
    expect("eta" in plain).toBe(false);
  });

  it("expectReceipt records a purchase order's open quantity and date, and moves no stock", () => {
    const expected = given(receive(5)).when(expectReceipt(20, "PO-1", at(2 * 24 * 60)));
    expected.then({
      type: "ReceiptExpected",
      quantity: 20,
      expectedAt: at(2 * 24 * 60),
      documents: { po: "PO-1" },
      balancesAfter: { onHand: { available: 5 }, inboundInTransit: 0, atp: 5 },
    });
    // Cancelled with 0; recorded on hold too (a fact from purchasing).
    given(expectReceipt(20, "PO-1", at(60)))
      .when(expectReceipt(0, "PO-1", at(60)))
      .then({
        type: "ReceiptExpected",
        quantity: 0,
      });
    given(lifecycle("hold"))
      .when(expectReceipt(3, "PO-2", at(60)))
      .then({ type: "ReceiptExpected" });
  });

  it("receiveReturn goes into inspection or available", () => {
    given()
      .when(receiveReturn(2, "inspection", { documents: { rma: "RMA-1" } }))
      .then({
        type: "ReturnReceived",
        status: "inspection",
        balancesAfter: { onHand: { inspection: 2, available: 0 } },
      });
    given()
      .when(receiveReturn(2, "available"))
      .then({ type: "ReturnReceived", status: "available", balancesAfter: { onHand: { available: 2 } } });
  });

  it("recordCount records the delta against the balance as of its business time", () => {
    given(receive(10, { businessTime: at(0) }))
      .when(count(8, { businessTime: at(5) }))
      .then(
        { type: "CountRecorded", counted: 8, balanceAsOf: 10, quantity: -2 },
        { type: "AnomalyRaised", anomaly: { code: "countVariance" }, quantity: -2 },
      );
  });

  it("adjustStock applies a signed delta with its reason code", () => {
    given(receive(10))
      .when(adjust(-3, "DAMAGED"))
      .then({
        type: "StockAdjusted",
        quantity: -3,
        reasonCode: "DAMAGED",
        balancesAfter: { onHand: { available: 7 } },
      });
    given()
      .when(adjust(5, "FOUND", { status: "consigned" }))
      .then({ type: "StockAdjusted", status: "consigned" });
  });

  it("changeStatus moves between statuses", () => {
    given(receive(10))
      .when(changeStatus(4, "available", "blocked"))
      .then({
        type: "StatusChanged",
        fromStatus: "available",
        toStatus: "blocked",
        balancesAfter: { onHand: { available: 6, blocked: 4 } },
      });
  });

  it("production consumes from available and outputs into a status", () => {
    given(receive(10))
      .when(consume(4))
      .then({
        type: "ProductionConsumed",
        documents: { productionOrder: "MO-1" },
        balancesAfter: { onHand: { available: 6 } },
      });
    given()
      .when(produce(5, { status: "inspection" }))
      .then({ type: "ProductionOutput", status: "inspection", balancesAfter: { onHand: { inspection: 5 } } });
  });

  it("unit conversion: cases and pallets become base units, the original is kept", () => {
    const env = defaultEnv(NOW, {
      config: {
        ...DEFAULT_DECISION_CONFIG,
        units: {
          skus: {
            [POS.sku]: {
              baseUom: "EA",
              conversions: [
                { uom: "CS", quantity: 12, of: "EA" },
                { uom: "PAL", quantity: 40, of: "CS" },
              ],
            },
          },
        },
      },
    });
    given()
      .when(receive(0, { quantity: { value: 2, uom: "PAL" } }), env)
      .then({ type: "GoodsReceived", quantity: 960, original: { value: 2, uom: "PAL" } });
  });
});

describe("requests: reservations, safety stock, lifecycle", () => {
  it("placeReservation holds ATP with channel and expiry (explicit, ttl or default)", () => {
    const r = given(receive(10)).when(reserve("r1", 4, { ttlSeconds: 60, documents: { order: "SO-1" } }));
    r.then({
      type: "ReservationPlaced",
      reservationId: "r1",
      channel: "web",
      quantity: 4,
      expiresAt: new Date(Date.parse(at(0)) + 60_000).toISOString(),
      balancesAfter: { reserved: 4, atp: 6 },
    });
    expect(atpOf(r.state)).toMatchObject({ available: 10, reserved: 4, safetyStock: 0, net: 6, atp: 6 });
    given(receive(10))
      .when(reserve("r2", 1))
      .then({
        type: "ReservationPlaced",
        expiresAt: new Date(
          Date.parse(at(0)) + DEFAULT_DECISION_CONFIG.defaultReservationTtlSeconds * 1000,
        ).toISOString(),
      });
  });

  it("releaseReservation and expireReservation give the remainder back", () => {
    given(receive(10), reserve("r1", 4))
      .when(release("r1"))
      .then({
        type: "ReservationReleased",
        reservationId: "r1",
        quantity: 4,
        balancesAfter: { reserved: 0, atp: 10 },
      });
    const later = defaultEnv(at(60));
    given(receive(10), reserve("r1", 4, { ttlSeconds: 60 }))
      .when(expire("r1"), later)
      .then({ type: "ReservationExpired", reservationId: "r1", quantity: 4 });
  });

  it("a pick that names its reservation consumes it instead of reducing ATP twice", () => {
    const r = given(receive(10), reserve("r1", 4)).when(pick(4, { reservationId: "r1" }));
    r.then(
      { type: "PickConfirmed", reservationId: "r1" },
      {
        type: "ReservationConsumed",
        reservationId: "r1",
        quantity: 4,
        remaining: 0,
        balancesAfter: { atp: 6 },
      },
    );
    expect(atpOf(r.state)).toMatchObject({ available: 6, reserved: 0, atp: 6 });
    expect(reservationsById(r.state.reservations)).toEqual({});
  });

  it("a pick that names only the order consumes that order's reservations, oldest first, partially", () => {
    const r = given(
      receive(20),
      reserve("r1", 3, { documents: { order: "SO-7" }, businessTime: at(1) }),
      reserve("r2", 5, { documents: { order: "SO-7" }, businessTime: at(2) }),
      reserve("r3", 2, { documents: { order: "SO-8" }, businessTime: at(3) }),
    ).when(pick(6, { documents: { order: "SO-7" }, businessTime: at(4) }));
    r.then(
      { type: "PickConfirmed", quantity: 6 },
      { type: "ReservationConsumed", reservationId: "r1", quantity: 3, remaining: 0 },
      { type: "ReservationConsumed", reservationId: "r2", quantity: 3, remaining: 2 },
    );
    expect(atpOf(r.state)).toMatchObject({ available: 14, reserved: 4, atp: 10 });
  });

  it("setSafetyStock keeps stock out of ATP", () => {
    const r = given(receive(10)).when(safetyStock(3));
    r.then({ type: "SafetyStockSet", quantity: 3, previous: 0, balancesAfter: { atp: 7, safetyStock: 3 } });
  });

  it("lifecycle: hold, release the hold, discontinue", () => {
    const held = given(receive(10)).when(lifecycle("hold"));
    held.then({ type: "LifecycleChanged", from: "active", to: "onHold", balancesAfter: { atp: 0 } });
    expect(atpOf(held.state)).toMatchObject({ atp: 0, sellable: false, net: 10 });
    given(lifecycle("hold")).when(lifecycle("releaseHold")).then({ type: "LifecycleChanged", to: "active" });
    given(lifecycle("hold"))
      .when(lifecycle("discontinue"))
      .then({ type: "LifecycleChanged", to: "discontinued" });
  });

  it("onHold still records facts", () => {
    given(receive(10), lifecycle("hold")).when(pick(2)).then({ type: "PickConfirmed" });
    given(receive(10), reserve("r1", 2), lifecycle("hold"))
      .when(release("r1"))
      .then({ type: "ReservationReleased" });
  });
});

describe("rejections: every reason", () => {
  it("wrongPosition", () => {
    given()
      .when(receive(1, { position: { ...POS, sku: "other" } }))
      .thenRejects("wrongPosition");
  });

  it("idempotencyConflict: same key, different payload", () => {
    const first = receive(5, { idempotencyKey: "K" });
    given(first)
      .when(receive(6, { idempotencyKey: "K" }))
      .thenRejects("idempotencyConflict", { idempotencyKey: "K", firstRevision: 0 });
  });

  it("notOwner names the rule", () => {
    const policy: OwnershipPolicy = {
      rules: [
        { name: "wms-owns-dc-moves", movements: ["receipt", "pick"], locations: "DC *", owners: ["wms"] },
      ],
      otherwise: "allow",
    };
    const env = defaultEnv(NOW, { policy });
    given()
      .when(receive(1, { source: { system: "erp", document: { type: "GR", id: "1" } } }), env)
      .thenRejects("notOwner", { rule: "wms-owns-dc-moves", system: "erp" });
    given().when(receive(1), env).then({ type: "GoodsReceived" });
  });

  it("a source sequence applied already is a duplicate; a gap parks (more in late-facts.test.ts)", () => {
    const src = (sequence: number) => ({
      source: { system: "wms", sequence, document: { type: "x", id: `${sequence}` } },
    });
    given(receive(1, src(1)), receive(1, src(2)))
      .when(receive(1, src(2)))
      .thenDuplicate();
    given(receive(1, src(1)))
      .when(receive(1, src(4)))
      .thenParks(2, 4);
    given(receive(1, src(1)))
      .when(receive(1, src(2)))
      .then({ type: "GoodsReceived" });
    // Sequences are per source system.
    given(receive(1, src(1)))
      .when(receive(1, { source: { system: "erp", sequence: 1, document: { type: "x", id: "1" } } }))
      .then({ type: "GoodsReceived" });
  });

  it("unitConversion: unknown unit, and a conversion that needs a fraction", () => {
    const env = defaultEnv(NOW, {
      config: {
        ...DEFAULT_DECISION_CONFIG,
        units: {
          skus: { [POS.sku]: { baseUom: "CS", conversions: [{ uom: "CS", quantity: 12, of: "EA" }] } },
        },
      },
    });
    given()
      .when(receive(0, { quantity: { value: 1, uom: "PAL" } }), env)
      .thenRejects("unitConversion", {
        error: { code: "unknownUom" },
      });
    const r = given().when(receive(0, { quantity: { value: 6, uom: "EA" } }), env);
    r.thenRejects("unitConversion", { error: { code: "fractionalQuantity", baseUom: "CS" } });
    given()
      .when(receive(0, { quantity: { value: 24, uom: "EA" } }), env)
      .then({ type: "GoodsReceived", quantity: 2 });
  });

  it("insufficientAtp carries the breakdown", () => {
    given(receive(10), reserve("r1", 4), safetyStock(2))
      .when(reserve("r2", 5))
      .thenRejects("insufficientAtp", {
        requested: 5,
        atp: { available: 10, reserved: 4, safetyStock: 2, net: 4 },
      });
    given(receive(10), reserve("r1", 4), safetyStock(2))
      .when(reserve("r2", 4))
      .then({ type: "ReservationPlaced" });
  });

  it("positionOnHold and positionDiscontinued refuse new reservations", () => {
    given(receive(10), lifecycle("hold")).when(reserve("r1", 1)).thenRejects("positionOnHold");
    given(receive(10), lifecycle("discontinue")).when(reserve("r1", 1)).thenRejects("positionDiscontinued");
  });

  it("reservationExists, unknownReservation, reservationNotExpired, invalidExpiry", () => {
    given(receive(10), reserve("r1", 1)).when(reserve("r1", 1)).thenRejects("reservationExists");
    given(receive(10)).when(release("nope")).thenRejects("unknownReservation", { reservationId: "nope" });
    given(receive(10), reserve("r1", 1), release("r1")).when(expire("r1")).thenRejects("unknownReservation");
    given(receive(10), reserve("r1", 1, { ttlSeconds: 600 }))
      .when(expire("r1"), defaultEnv(at(5)))
      .thenRejects("reservationNotExpired");
    given(receive(10))
      .when(reserve("r1", 1, { expiresAt: at(0) }))
      .thenRejects("invalidExpiry");
    given(receive(10))
      .when(reserve("r1", 1, { expiresAt: at(10), ttlSeconds: 5 }))
      .thenRejects("invalidExpiry");
  });

  it("invalidLifecycleTransition", () => {
    given().when(lifecycle("releaseHold")).thenRejects("invalidLifecycleTransition", { from: "active" });
    given(lifecycle("hold")).when(lifecycle("hold")).thenRejects("invalidLifecycleTransition");
    given(lifecycle("discontinue")).when(lifecycle("discontinue")).thenRejects("invalidLifecycleTransition");
    given(lifecycle("discontinue")).when(lifecycle("releaseHold")).thenRejects("invalidLifecycleTransition");
  });

  it("countOutsideHistory: a count older than the kept history", () => {
    const scenario = givenWith({ limits: { historyEntries: 2, idempotencyKeys: 100 } });
    scenario(
      receive(1, { businessTime: at(10) }),
      receive(1, { businessTime: at(20) }),
      receive(1, { businessTime: at(30) }),
    )
      .when(count(5, { businessTime: at(5) }))
      .thenRejects("countOutsideHistory");
    scenario(
      receive(1, { businessTime: at(10) }),
      receive(1, { businessTime: at(20) }),
      receive(1, { businessTime: at(30) }),
    )
      .when(count(5, { businessTime: at(25) }))
      .then({ type: "CountRecorded", balanceAsOf: 2, quantity: 3 }, { type: "AnomalyRaised" });
  });

  it("sameStatus", () => {
    given(receive(5))
      .when(changeStatus(1, "available", "available"))
      .thenRejects("sameStatus");
  });
});

describe("anomalies: facts are recorded and flagged", () => {
  it("negativeBalance when a fact takes more than the ledger holds", () => {
    given(receive(2))
      .when(pick(5))
      .then(
        { type: "PickConfirmed", quantity: 5 },
        {
          type: "AnomalyRaised",
          anomaly: { code: "negativeBalance", bucket: "available", balance: -3 },
          quantity: 3,
        },
      );
    given()
      .when(ship(1))
      .then(
        { type: "ShipmentPosted" },
        { type: "AnomalyRaised", anomaly: { code: "negativeBalance", bucket: "picked" } },
      );
  });

  it("reservationsUncovered when a fact leaves reservations without stock", () => {
    given(receive(10), reserve("r1", 8))
      .when(adjust(-5))
      .then(
        { type: "StockAdjusted" },
        { type: "AnomalyRaised", anomaly: { code: "reservationsUncovered" }, quantity: 3 },
      );
  });

  it("unknownReservationReference when a pick names a reservation that is not open", () => {
    given(receive(10))
      .when(pick(2, { reservationId: "ghost" }))
      .then(
        { type: "PickConfirmed" },
        { type: "AnomalyRaised", anomaly: { code: "unknownReservationReference", reservationId: "ghost" } },
      );
  });

  it("receiptIntoDiscontinued: a receipt is a fact, recorded with an anomaly", () => {
    given(lifecycle("discontinue"))
      .when(receive(3))
      .then(
        { type: "GoodsReceived" },
        { type: "AnomalyRaised", anomaly: { code: "receiptIntoDiscontinued" } },
      );
  });

  it("transferOverReceived when more arrives than was shipped", () => {
    given(inboundTransfer(4, "TO-1"), receiveTransfer(3, "TO-1"))
      .when(receiveTransfer(2, "TO-1"))
      .then(
        { type: "TransferReceived" },
        {
          type: "AnomalyRaised",
          anomaly: { code: "transferOverReceived", transferOrder: "TO-1" },
          quantity: 1,
        },
      );
  });

  it("countVariance beyond the tolerance only", () => {
    const tolerant = defaultEnv(NOW, { config: { ...DEFAULT_DECISION_CONFIG, countVarianceTolerance: 2 } });
    given(receive(10)).when(count(8), tolerant).then({ type: "CountRecorded", quantity: -2 });
    given(receive(10)).when(count(7), tolerant).then({ type: "CountRecorded" }, { type: "AnomalyRaised" });
  });
});

describe("idempotency, sequencing and bitemporal counts", () => {
  it("same key and payload: the first outcome, no new events", () => {
    const c = receive(5);
    const r = given(c).when(c).thenDuplicate();
    expect(r.outcome).toMatchObject({ kind: "duplicate", firstRevision: 0, lastRevision: 0 });
    expect(r.stored).toEqual([]);
  });

  it("the dedupe state is rebuilt from events, so it survives a restart", () => {
    const c = reserve("r1", 2);
    const s = given(receive(5), c);
    const restarted = rehydrate(POS, s.history);
    expect(restarted).toEqual(s.state);
    expect(decide(c, restarted, defaultEnv(NOW))).toMatchObject({ kind: "duplicate", firstRevision: 1 });
  });

  it("an event delivered twice to evolve is applied once", () => {
    const s = given(receive(5), receive(3));
    expect(rehydrate(POS, [...s.history, ...s.history])).toEqual(s.state);
  });

  it("keys are remembered for the configured window only", () => {
    const first = receive(1, { idempotencyKey: "old" });
    const s = givenWith({ limits: { historyEntries: 10, idempotencyKeys: 2 } })(
      first,
      receive(1),
      receive(1),
    );
    expect(idempotencyRecordOf(s.state, "old")).toBeUndefined();
    expect(s.when(first).outcome.kind).toBe("accepted");
  });

  it("a late count keeps the moves recorded after its business time", () => {
    const r = given(receive(10, { businessTime: at(0) }), pick(3, { businessTime: at(20) })).when(
      count(9, { businessTime: at(10) }),
    );
    r.then({ type: "CountRecorded", balanceAsOf: 10, quantity: -1 }, { type: "AnomalyRaised" });
    expect(r.state.buckets.available.current).toBe(6);
  });

  it("a late move from before the latest count does not undo the count", () => {
    const r = given(receive(10, { businessTime: at(0) }), count(7, { businessTime: at(10) })).when(
      pick(2, { businessTime: at(5) }),
    );
    r.then({ type: "PickConfirmed", balancesAfter: { onHand: { available: 7, picked: 2 } } });
  });
});

describe("the machine as a live actor", () => {
  it("emits the decision on COMMAND, applies on EVENT, restores lifecycle from context", () => {
    const s = given(receive(10), lifecycle("hold"));
    const actor = createActor(positionMachine, { input: { context: s.state } }).start();
    expect(actor.getSnapshot().value).toBe("onHold");
    const decisions: Outcome[] = [];
    actor.on("decision", (e) => decisions.push(e.outcome));
    actor.send({ type: "COMMAND", command: reserve("r1", 1), env: defaultEnv(NOW) });
    expect(decisions[0]).toMatchObject({ kind: "rejected", reason: { code: "positionOnHold" } });
    const release = lifecycle("releaseHold");
    actor.send({ type: "COMMAND", command: release, env: defaultEnv(NOW) });
    // The command did not change anything; feeding its stored events does.
    expect(actor.getSnapshot().value).toBe("onHold");
    const { stored, state } = step(s.state, release);
    for (const e of stored) actor.send({ type: "EVENT", event: e });
    expect(actor.getSnapshot().value).toBe("active");
    expect(actor.getSnapshot().context).toEqual(state);
    const persisted = JSON.parse(JSON.stringify(actor.getPersistedSnapshot()));
    const restored = createActor(positionMachine, {
      snapshot: persisted,
      input: { context: persisted.context },
    }).start();
    expect(restored.getSnapshot().context).toEqual(state);
    expect(nextReservationExpiry(state)).toBeUndefined();
    actor.stop();
    restored.stop();
  });

  it("nextReservationExpiry finds the earliest", () => {
    const s = given(receive(10), reserve("a", 1, { ttlSeconds: 600 }), reserve("b", 1, { ttlSeconds: 60 }));
    expect(nextReservationExpiry(s.state)?.reservationId).toBe("b");
  });
});
