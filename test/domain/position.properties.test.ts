/**
 * Invariants of the position, checked on generated command sequences (fast-check).
 */

import fc from "fast-check";
import * as E from "fp-ts/lib/Either.js";
import { describe, expect, it } from "vitest";
import { createActor } from "xstate";
import { type CanonicalEvent, canonicalEventCodec, verifyChain } from "../../domain/canonical-event.ts";
import type { Command } from "../../domain/commands.ts";
import {
  atpOf,
  balancesOf,
  bucketAsOf,
  type DecisionEnv,
  defaultEnv,
  inboundTransferCommandFor,
  initialPositionState,
  type Outcome,
  type PositionLimits,
  type PositionState,
  rehydrate,
  toCanonicalEvents,
} from "../../domain/position.decider.ts";
import { positionMachine } from "../../domain/position.machine.ts";
import { reservationIn, reservationsById } from "../../domain/reservation-book.ts";
import { BUCKETS, type Bucket } from "../../domain/statuses.ts";
import { commandArb, qty } from "./position-arbitraries.ts";
import {
  adjust,
  at,
  consume,
  count,
  POS,
  pick,
  receive,
  receiveTransfer,
  shipTransfer,
  step,
} from "./position-spec.ts";

const RUNS = { numRuns: 100 };
const ENV = defaultEnv(at(100));

const commandsArb = fc.array(commandArb, { minLength: 1, maxLength: 40 });

interface Run {
  state: PositionState;
  events: CanonicalEvent[];
  outcomes: Outcome[];
  /** State after each command. */
  states: PositionState[];
}

const run = (
  commands: readonly Command[],
  env: DecisionEnv = ENV,
  state: PositionState = initialPositionState(POS),
): Run => {
  const events: CanonicalEvent[] = [];
  const outcomes: Outcome[] = [];
  const states: PositionState[] = [];
  let s = state;
  for (const c of commands) {
    const r = step(s, c, env);
    s = r.state;
    events.push(...r.stored);
    outcomes.push(r.outcome);
    states.push(s);
  }
  return { state: s, events, outcomes, states };
};

/** Bucket movements of an event, written from the event catalogue rather than from the machine. */
const movementsOf = (e: CanonicalEvent): { bucket: Bucket; delta?: number; counted?: number }[] => {
  switch (e.type) {
    case "GoodsReceived":
    case "ReturnReceived":
    case "ProductionOutput":
    case "TransferReceived":
    case "StockAdjusted":
      return [{ bucket: e.status, delta: e.quantity }];
    case "TransferShipped":
    case "ProductionConsumed":
      return [{ bucket: e.status, delta: -e.quantity }];
    case "PickConfirmed":
      return [
        { bucket: "available", delta: -e.quantity },
        { bucket: "picked", delta: e.quantity },
      ];
    case "PickReversed":
      return [
        { bucket: "picked", delta: -e.quantity },
        { bucket: "available", delta: e.quantity },
      ];
    case "ShipmentPosted":
      return [{ bucket: "picked", delta: -e.quantity }];
    case "StatusChanged":
      return [
        { bucket: e.fromStatus, delta: -e.quantity },
        { bucket: e.toStatus, delta: e.quantity },
      ];
    case "CountRecorded":
      return [{ bucket: e.status, counted: e.counted }];
    default:
      return [];
  }
};

/**
 * Reference: unbounded history; balance as of T = latest count at or before T plus the deltas
 * after it (deltas before counts at equal times; later arrivals after earlier ones).
 */
const referenceBalance = (
  events: readonly CanonicalEvent[],
  bucket: Bucket,
  asOf = Number.POSITIVE_INFINITY,
) => {
  const entries = events.flatMap((e, arrival) =>
    movementsOf(e)
      .filter((m) => m.bucket === bucket)
      .map((m) => ({
        t: Date.parse(e.businessTime),
        isCount: m.counted !== undefined,
        value: m.counted ?? m.delta ?? 0,
        arrival,
      })),
  );
  entries.sort((a, b) => a.t - b.t || Number(a.isCount) - Number(b.isCount) || a.arrival - b.arrival);
  let v = 0;
  for (const x of entries) {
    if (x.t > asOf) break;
    v = x.isCount ? x.value : v + x.value;
  }
  return v;
};

describe("position properties", () => {
  it("replaying the stored events reproduces the live state, and a live actor agrees", () => {
    fc.assert(
      fc.property(commandsArb, (commands) => {
        const live = run(commands);
        expect(rehydrate(POS, live.events)).toEqual(live.state);
        expect(verifyChain(live.events)).toMatchObject({ ok: true });
        for (const e of live.events) expect(E.isRight(canonicalEventCodec.decode(e))).toBe(true);
        const last = live.events.at(-1);
        if (last) expect(last.balancesAfter).toEqual(balancesOf(live.state));

        // The same commands through a running actor: emit the decision, feed the stored events back.
        const actor = createActor(positionMachine, { input: { context: initialPositionState(POS) } }).start();
        let decision: Outcome | undefined;
        actor.on("decision", (ev) => {
          decision = ev.outcome;
        });
        for (const c of commands) {
          actor.send({ type: "COMMAND", command: c, env: ENV });
          if (decision?.kind === "accepted") {
            const ctx = actor.getSnapshot().context;
            const stored = toCanonicalEvents(decision.events, {
              prevRevision: ctx.revision,
              prevHash: ctx.lastHash,
              recordedTime: ENV.now,
            });
            for (const e of stored) actor.send({ type: "EVENT", event: e });
          }
        }
        expect(actor.getSnapshot().context).toEqual(live.state);
        expect(actor.getSnapshot().value).toBe(live.state.lifecycle);
        actor.stop();
      }),
      { numRuns: 60 },
    );
  });

  it("long streams (several history chunks and idempotency generations) replay to the live state", () => {
    // fast-check keeps arrays short unless told otherwise: `size: "max"` reaches past one chunk of 32
    // history entries and one generation of 16 keys, with a history limit that compacts as well.
    const limits: PositionLimits = { historyEntries: 48, idempotencyKeys: 40 };
    const longCommands = fc.array(commandArb, { minLength: 60, maxLength: 150, size: "max" });
    fc.assert(
      fc.property(longCommands, (commands) => {
        const live = run(commands, ENV, initialPositionState(POS, limits));
        expect(rehydrate(POS, live.events, limits)).toEqual(live.state);
        expect(verifyChain(live.events)).toMatchObject({ ok: true });
      }),
      { numRuns: 15 },
    );
  });

  it("on hand equals the applied deltas (counts as anchors), with a small bounded history", () => {
    const limits: PositionLimits = { historyEntries: 3, idempotencyKeys: 1024 };
    fc.assert(
      fc.property(commandsArb, (commands) => {
        const live = run(commands, ENV, initialPositionState(POS, limits));
        const times = [...new Set(live.events.map((e) => e.businessTime))];
        for (const b of BUCKETS) {
          expect(live.state.buckets[b].current, b).toBe(referenceBalance(live.events, b));
          // As of every business time that occurs (ties of counts and moves included), within the horizon.
          for (const t of times) {
            const asOf = bucketAsOf(live.state, b, t);
            if (asOf !== undefined)
              expect(asOf, `${b} as of ${t}`).toBe(referenceBalance(live.events, b, Date.parse(t)));
          }
        }
      }),
      RUNS,
    );
  });

  it("on hand is the plain sum of movements when everything arrives in order and nothing is counted", () => {
    fc.assert(
      fc.property(commandsArb, (commands) => {
        const facts = commands
          .filter((c) => c.kind !== "recordCount")
          .map((c) => ({ ...c, businessTime: at(0) }));
        const live = run(facts);
        const sum = live.events.reduce(
          (s, e) => s + movementsOf(e).reduce((x, m) => x + (m.delta ?? 0), 0),
          0,
        );
        expect(BUCKETS.reduce((s, b) => s + live.state.buckets[b].current, 0)).toBe(sum);
      }),
      RUNS,
    );
  });

  it("duplicates injected anywhere are answered as duplicates and leave the final state unchanged", () => {
    fc.assert(
      fc.property(
        commandsArb,
        fc.array(fc.tuple(fc.nat(), fc.nat()), { maxLength: 10 }),
        (commands, picks) => {
          const base = run(commands);
          const accepted = commands.flatMap((_c, i) => (base.outcomes[i]?.kind === "accepted" ? [i] : []));
          fc.pre(accepted.length > 0);
          // Insert copies of accepted commands somewhere after their original.
          const withDups: { c: Command; dup: boolean }[] = commands.map((c) => ({ c, dup: false }));
          for (const [a, b] of picks) {
            const i = accepted[a % accepted.length] as number;
            const original = commands[i] as Command;
            const from = withDups.findIndex((x) => x.c === original && !x.dup) + 1;
            const at = from + (b % (withDups.length - from + 1));
            withDups.splice(at, 0, { c: structuredClone(original), dup: true });
          }
          const dup = run(withDups.map((x) => x.c));
          withDups.forEach((x, i) => {
            if (x.dup) expect(dup.outcomes[i]?.kind).toBe("duplicate");
          });
          expect(dup.state).toEqual(base.state);
          expect(dup.events).toEqual(base.events);
        },
      ),
      RUNS,
    );
  });

  it("an accepted reservation never makes ATP negative, and a pick never counts a reservation twice", () => {
    fc.assert(
      fc.property(commandsArb, (commands) => {
        const live = run(commands);
        let before = initialPositionState(POS);
        commands.forEach((c, i) => {
          const after = live.states[i] as PositionState;
          const o = live.outcomes[i] as Outcome;
          const reserved = Object.values(reservationsById(after.reservations)).reduce(
            (s, r) => s + r.quantity,
            0,
          );
          expect(atpOf(after).reserved).toBe(reserved);
          for (const r of Object.values(reservationsById(after.reservations)))
            expect(r.quantity).toBeGreaterThan(0);
          // (A confirmation that meets a pick made before it reserves only what the pick left.)
          if (
            o.kind === "accepted" &&
            c.kind === "placeReservation" &&
            atpOf(after).reserved > atpOf(before).reserved
          ) {
            expect(atpOf(after).net).toBeGreaterThanOrEqual(0);
          }
          if (o.kind === "accepted" && c.kind === "confirmPick") {
            const consumed = o.events
              .filter((e) => e.type === "ReservationConsumed")
              .reduce((s, e) => s + e.quantity, 0);
            const pickQty = o.events[0]?.quantity ?? 0;
            // A pick consumes what it can of the reservation it names.
            const named =
              c.reservationId !== undefined ? reservationIn(before.reservations, c.reservationId) : undefined;
            if (named) expect(consumed).toBe(Math.min(pickQty, named.quantity));
            const aBefore = atpOf(before);
            const aAfter = atpOf(after);
            expect(aAfter.reserved).toBe(aBefore.reserved - consumed);
            // Net ATP falls by the part of the pick no reservation covered, unless a count absorbed the move.
            const absorbed = after.buckets.available.current === before.buckets.available.current;
            if (!absorbed) expect(aAfter.net).toBe(aBefore.net - pickQty + consumed);
          }
          before = after;
        });
      }),
      RUNS,
    );
  });

  it("a late count gives the same final state as the count arriving in business-time order", () => {
    const fact = fc.oneof(
      qty(20).map((n) => (t: string) => receive(n, { businessTime: t })),
      qty(10).map((n) => (t: string) => pick(n, { businessTime: t })),
      fc
        .integer({ min: -5, max: 5 })
        .filter((n) => n !== 0)
        .map((n) => (t: string) => adjust(n, "R", { businessTime: t })),
      qty(5).map((n) => (t: string) => consume(n, { businessTime: t })),
    );
    fc.assert(
      fc.property(
        fc.array(fact, { minLength: 1, maxLength: 25 }),
        fc.uniqueArray(fc.integer({ min: 0, max: 1000 }), { minLength: 27, maxLength: 27 }),
        fc.integer({ min: 0, max: 30 }),
        fc.integer({ min: 0, max: 30 }),
        (makers, times, counted, secondCounted) => {
          const facts = makers.map((m, i) => ({ t: times[i] as number, c: m(at(times[i] as number)) }));
          const countAt = times[25] as number;
          const countAt2 = times[26] as number;
          const counts = [
            { t: countAt, c: count(counted, { businessTime: at(countAt) }) },
            { t: countAt2, c: count(secondCounted, { businessTime: at(countAt2) }) },
          ];
          const inOrder = [...facts, ...counts].sort((a, b) => a.t - b.t).map((x) => x.c);
          const countsLast = [...facts.sort((a, b) => a.t - b.t).map((x) => x.c), ...counts.map((x) => x.c)];
          const countsFirst = [...counts.map((x) => x.c).reverse(), ...facts.map((x) => x.c).reverse()];
          const a = run(inOrder).state;
          const b = run(countsLast).state;
          const c = run(countsFirst).state;
          expect(balancesOf(b)).toEqual(balancesOf(a));
          expect(balancesOf(c)).toEqual(balancesOf(a));
          for (const m of [0, countAt, countAt2, 500, 1000]) {
            expect(bucketAsOf(b, "available", at(m))).toBe(bucketAsOf(a, "available", at(m)));
            expect(bucketAsOf(c, "available", at(m))).toBe(bucketAsOf(a, "available", at(m)));
          }
        },
      ),
      RUNS,
    );
  });

  it("quantity is conserved across transfers shipped, in transit and received, in any arrival order", () => {
    const DEST = { ...POS, location: "DC2" };
    fc.assert(
      fc.property(
        fc.array(fc.tuple(qty(10), fc.integer({ min: 0, max: 3 })), { minLength: 1, maxLength: 6 }),
        fc.array(fc.nat(), { maxLength: 40 }),
        (transfers, shuffle) => {
          const initial = 100;
          const origin = run([receive(initial)]);
          let o = origin.state;
          // Each transfer order is shipped at the origin and received in up to `parts` pieces.
          const destCommands: Command[] = [];
          transfers.forEach(([n, parts], i) => {
            const r = step(
              o,
              shipTransfer(n, `TO-${i}`, { destination: { region: DEST.region, location: DEST.location } }),
              ENV,
            );
            o = r.state;
            const shipped = r.stored[0] as Extract<CanonicalEvent, { type: "TransferShipped" }>;
            destCommands.push(inboundTransferCommandFor(shipped));
            let left = n;
            for (let p = 0; p < parts && left > 1; p++) {
              const piece = Math.ceil(left / 2);
              destCommands.push(receiveTransfer(piece, `TO-${i}`, { position: DEST }));
              left -= piece;
            }
            destCommands.push(receiveTransfer(left, `TO-${i}`, { position: DEST }));
          });
          // Deliver the destination's commands in a shuffled order.
          const shuffled = destCommands.slice();
          shuffle.forEach((k, i) => {
            const a = i % shuffled.length;
            const b = k % shuffled.length;
            [shuffled[a], shuffled[b]] = [shuffled[b] as Command, shuffled[a] as Command];
          });
          let d = initialPositionState(DEST);
          const total = (s: PositionState) =>
            BUCKETS.reduce((x, b) => x + s.buckets[b].current, 0) + balancesOf(s).inboundInTransit;
          for (const c of shuffled) {
            const r = step(d, c, ENV);
            expect(r.outcome.kind).toBe("accepted");
            d = r.state;
            expect(total(o) + total(d)).toBeLessThanOrEqual(initial);
          }
          expect(total(o) + total(d)).toBe(initial);
          expect(balancesOf(d).inboundInTransit).toBe(0);
        },
      ),
      RUNS,
    );
  });

  it("a source delivering out of order, parked and retried, ends like in-order delivery", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            qty(10).map((n) => ["r", n] as const),
            qty(10).map((n) => ["p", n] as const),
          ),
          {
            minLength: 1,
            maxLength: 20,
          },
        ),
        fc.array(fc.nat(), { maxLength: 30 }),
        (moves, shuffle) => {
          const src = (sequence: number) => ({
            source: { system: "wms", sequence, document: { type: "x", id: `${sequence}` } },
          });
          const commands = moves.map(([k, n], i) =>
            k === "r" ? receive(n, src(i + 1)) : pick(n, src(i + 1)),
          );
          // The first command opens the sequence; the rest arrive shuffled.
          const rest = commands.slice(1);
          shuffle.forEach((k, i) => {
            if (rest.length === 0) return;
            const a = i % rest.length;
            const b = k % rest.length;
            [rest[a], rest[b]] = [rest[b] as Command, rest[a] as Command];
          });
          const inOrder = run(commands).state;
          let s = run(commands.slice(0, 1)).state;
          let parked: Command[] = [];
          for (const c of rest) {
            const r = step(s, c, ENV);
            if (r.outcome.kind === "parked") {
              parked.push(c);
              continue;
            }
            expect(r.outcome.kind).toBe("accepted");
            s = r.state;
            // A runtime retries what it parked once the gap may have closed.
            let progress = true;
            while (progress) {
              progress = false;
              const still: Command[] = [];
              for (const p of parked) {
                const pr = step(s, p, ENV);
                if (pr.outcome.kind === "accepted") {
                  s = pr.state;
                  progress = true;
                } else still.push(p);
              }
              parked = still;
            }
          }
          expect(parked).toEqual([]);
          expect(balancesOf(s)).toEqual(balancesOf(inOrder));
          expect(s.sequences).toEqual(inOrder.sequences);
        },
      ),
      RUNS,
    );
  });
});
