/**
 * Facts are never refused for arriving late (DESIGN §3.12, issue 8): a source's sequence finds
 * gaps and recognises what was applied; a late fact is recorded once at its business time; a
 * reservation confirmed after the pick that names it ends consumed.
 */
import { describe, expect, it } from "vitest";
import type { Command } from "../../domain/commands.ts";
import {
  balancesOf,
  bucketAsOf,
  decide,
  defaultEnv,
  initialPositionState,
} from "../../domain/position.decider.ts";
import { PICKED_RESERVATIONS_KEPT, pickedReservationOf } from "../../domain/position-context.ts";
import { reservationIn } from "../../domain/reservation-book.ts";
import { SEQUENCE_RANGES_KEPT } from "../../domain/source-sequences.ts";
import {
  at,
  count,
  given,
  lifecycle,
  NOW,
  POS,
  pick,
  receive,
  release,
  reserve,
  step,
} from "./position-spec.ts";
import { SequenceDriver } from "./sequence-driver.ts";

const ENV = defaultEnv(NOW);

/** The WMS's message number `sequence` at this position (the document id follows it). */
const wms = (sequence: number, o: { businessTime?: string } = {}) => ({
  source: { system: "wms", sequence, document: { type: "x", id: `${sequence}` } },
  ...o,
});

const sequencesOf = (d: SequenceDriver) =>
  d.events.filter((e) => e.type !== "AnomalyRaised").map((e) => [e.type, e.source.sequence]);

describe("a sequence finds gaps, it never refuses a fact", () => {
  it("a pick (sequence 2) before the receipt of 133 (sequence 1): both recorded, 133 − the pick on hand", () => {
    given()
      .when(pick(5, wms(2)))
      .thenParks(1, 2);
    given(receive(133, wms(1)))
      .when(pick(5, wms(2)))
      .then({ type: "PickConfirmed", balancesAfter: { onHand: { available: 128, picked: 5 } } });

    // As the node delivers them: the pick waits for the receipt, which releases it.
    const d = new SequenceDriver(ENV);
    expect(d.deliver(pick(5, wms(2)))).toMatchObject({ kind: "parked", expectedSequence: 1, got: 2 });
    expect(d.deliver(receive(133, wms(1))).kind).toBe("accepted");
    expect(d.parked).toEqual([]);
    expect(sequencesOf(d)).toEqual([
      ["GoodsReceived", 1],
      ["PickConfirmed", 2],
    ]);
    expect(balancesOf(d.state).onHand).toMatchObject({ available: 128, picked: 5 });
    expect(d.log.every((x) => x.outcome.kind !== "rejected")).toBe(true);
  });

  it("sequences start at 1; 0 is a start too; a source's first message above 1 is a gap", () => {
    given()
      .when(receive(1, wms(1)))
      .then({ type: "GoodsReceived" });
    given()
      .when(receive(1, wms(0)))
      .then({ type: "GoodsReceived" });
    given()
      .when(receive(1, wms(7)))
      .thenParks(1, 7);
    // 0 after 1 was never applied: a late fact, recorded.
    given(receive(1, wms(1)))
      .when(receive(2, wms(0)))
      .then({ type: "GoodsReceived", balancesAfter: { onHand: { available: 3 } } });
  });

  it("a repeated (source, sequence) is a duplicate under any idempotency key, never a rejection", () => {
    const first = given(receive(133, wms(1)), pick(5, wms(2)));
    // A new key and the same payload (a connector that re-keys on retry), and a new payload.
    const again = first.when(receive(133, wms(1))).thenDuplicate();
    expect(again.outcome).toMatchObject({ kind: "duplicate", sequence: { system: "wms", sequence: 1 } });
    first.when(receive(7, wms(1))).thenDuplicate();
    first.when(pick(5, wms(2))).thenDuplicate();
    expect(balancesOf(again.state).onHand.available).toBe(128);
    // The same sequence from another system is another message.
    first
      .when(receive(1, { source: { system: "erp", sequence: 1, document: { type: "x", id: "1" } } }))
      .then({ type: "GoodsReceived" });
  });

  it("a late fact below the highest applied (after a timeout forced a later one) is applied, once", () => {
    const d = new SequenceDriver(ENV);
    d.deliver(receive(10, wms(1)));
    expect(d.deliver(receive(5, wms(3))).kind).toBe("parked");
    d.timeout();
    expect(d.log.at(-1)?.outcome).toMatchObject({
      kind: "accepted",
      sequenceGap: { system: "wms", expectedSequence: 2, got: 3 },
    });
    // Sequence 2 arrives (a redelivery after a kill, say): recorded, then known.
    given(...d.events)
      .when(pick(4, wms(2)))
      .then({ type: "PickConfirmed", balancesAfter: { onHand: { available: 11, picked: 4 } } });
    expect(d.deliver(pick(4, wms(2))).kind).toBe("accepted");
    expect(d.deliver(pick(4, wms(2))).kind).toBe("duplicate");
    expect(d.deliver(receive(5, wms(3))).kind).toBe("duplicate");
    expect(d.state.sequences.wms).toEqual([[1, 3]]);
    expect(balancesOf(d.state).onHand).toMatchObject({ available: 11, picked: 4 });
  });

  it("a command forced after the timeout says which gap it crossed; without a gap it is decided as usual", () => {
    const s = step(initialPositionState(POS), receive(10, wms(1))).state;
    expect(decide(receive(5, wms(3)), s, ENV, { ignoreSequenceGap: true })).toMatchObject({
      kind: "accepted",
      sequenceGap: { system: "wms", expectedSequence: 2, got: 3 },
    });
    const next = decide(receive(5, wms(2)), s, ENV, { ignoreSequenceGap: true });
    expect(next.kind).toBe("accepted");
    expect(next).not.toHaveProperty("sequenceGap");
    expect(decide(receive(5, wms(1)), s, ENV, { ignoreSequenceGap: true }).kind).toBe("duplicate");
  });

  it("late moves before a count are covered by it, late moves after it add (DESIGN §3.8)", () => {
    const d = new SequenceDriver(ENV);
    d.deliver(receive(100, wms(1, { businessTime: at(0) })));
    // The count as of 60 overtakes sequences 2 and 3, waits for them, and is applied at the timeout.
    expect(d.deliver(count(50, wms(4, { businessTime: at(60) }))).kind).toBe("parked");
    d.timeout();
    expect(balancesOf(d.state).onHand.available).toBe(50);
    // A receipt from before the count: recorded at its business time; the count saw it.
    expect(d.deliver(receive(20, wms(2, { businessTime: at(30) }))).kind).toBe("accepted");
    expect(balancesOf(d.state).onHand.available).toBe(50);
    expect(bucketAsOf(d.state, "available", at(30))).toBe(120);
    // A pick from after the count: it moves the balance.
    expect(d.deliver(pick(5, wms(3, { businessTime: at(90) }))).kind).toBe("accepted");
    expect(balancesOf(d.state).onHand).toMatchObject({ available: 45, picked: 5 });
    expect(sequencesOf(d).map(([, s]) => s)).toEqual([1, 4, 2, 3]);
  });

  it(`remembers at most ${SEQUENCE_RANGES_KEPT} ranges per source; a replay older than them is known by its key only`, () => {
    const d = new SequenceDriver(ENV);
    const first = receive(1, wms(1));
    d.deliver(first);
    // Every other sequence forced by a timeout: one more hole, one more range, each time.
    for (let k = 1; k <= SEQUENCE_RANGES_KEPT; k++) {
      expect(d.deliver(receive(1, wms(2 * k + 1))).kind).toBe("parked");
      d.timeout();
    }
    const ranges = d.state.sequences.wms ?? [];
    expect(ranges).toHaveLength(SEQUENCE_RANGES_KEPT);
    expect(ranges[0]).toEqual([3, 3]);
    // Sequence 1's range was forgotten: its own key still finds it; under a new key it is applied again.
    given(...d.events)
      .when({ ...first } as Command)
      .thenDuplicate();
    given(...d.events)
      .when(receive(1, wms(1)))
      .then({ type: "GoodsReceived" });
    // What is still remembered is a duplicate under any key.
    given(...d.events)
      .when(receive(1, wms(3)))
      .thenDuplicate();
    // The context stays plain JSON (actor snapshots are persisted).
    expect(JSON.parse(JSON.stringify(d.state))).toEqual(d.state);
  });
});

describe("a reservation confirmed after the pick that names it ends consumed", () => {
  it("placed and consumed at once; what the pick did not take stays reserved", () => {
    const r = given(receive(10), pick(3, { reservationId: "r1" }))
      .when(reserve("r1", 5))
      .then(
        { type: "ReservationPlaced", quantity: 5, reservationId: "r1" },
        {
          type: "ReservationConsumed",
          quantity: 3,
          reservationId: "r1",
          remaining: 2,
          balancesAfter: { reserved: 2, onHand: { available: 7, picked: 3 } },
        },
      );
    expect(reservationIn(r.state.reservations, "r1")?.quantity).toBe(2);
    expect(pickedReservationOf(r.state, "r1")).toBeUndefined();
  });

  it("fully picked: nothing stays open, and the picked stock is not asked of ATP again", () => {
    // The pick took the last 3: ATP is 0, yet the confirmation of those 3 is placed and consumed.
    const r = given(receive(3), pick(3, { reservationId: "r1" }))
      .when(reserve("r1", 3))
      .then(
        { type: "ReservationPlaced", quantity: 3 },
        { type: "ReservationConsumed", quantity: 3, remaining: 0, balancesAfter: { reserved: 0, atp: 0 } },
      );
    expect(reservationIn(r.state.reservations, "r1")).toBeUndefined();
    expect(r.state.reserved).toBe(0);
    // Only what remains is a request: 2 more than the pick took, with nothing available.
    given(receive(3), pick(3, { reservationId: "r1" }))
      .when(reserve("r1", 5))
      .thenRejects("insufficientAtp", { requested: 2 });
    // On hold it reserves nothing new, so it is not refused.
    given(receive(3), pick(3, { reservationId: "r1" }), lifecycle("hold"))
      .when(reserve("r1", 3))
      .then({ type: "ReservationPlaced" }, { type: "ReservationConsumed", remaining: 0 });
  });

  it("picks of the same reservation add up; once met, the id is an ordinary reservation again", () => {
    const met = given(
      receive(10),
      pick(1, { reservationId: "r1" }),
      pick(2, { reservationId: "r1" }),
      reserve("r1", 5),
    );
    expect(reservationIn(met.state.reservations, "r1")?.quantity).toBe(2);
    expect(met.state.pickedReservations).toEqual([]);
    given(...met.history, release("r1"))
      .when(reserve("r1", 4))
      .then({ type: "ReservationPlaced", quantity: 4 });
  });

  it(`remembers at most ${PICKED_RESERVATIONS_KEPT} such picks per position, the oldest forgotten first`, () => {
    let s = step(initialPositionState(POS), receive(1000)).state;
    for (let i = 0; i <= PICKED_RESERVATIONS_KEPT; i++) {
      s = step(s, pick(1, { reservationId: `ghost-${i}` })).state;
    }
    expect(s.pickedReservations).toHaveLength(PICKED_RESERVATIONS_KEPT);
    expect(pickedReservationOf(s, "ghost-0")).toBeUndefined();
    expect(pickedReservationOf(s, "ghost-1")).toMatchObject({ quantity: 1, pickedAt: NOW });
    expect(JSON.parse(JSON.stringify(s))).toEqual(s);
  });
});
