/**
 * The position context stays cheap to change as it fills up: applying an event copies a bounded
 * part of it and shares the rest with the previous state (which it never mutates).
 */

import { describe, expect, it } from "vitest";
import type { CanonicalEvent } from "../../domain/canonical-event.ts";
import { decide, defaultEnv, evolve, initialPositionState } from "../../domain/position.decider.ts";
import {
  applyEvent,
  balancesOf,
  DEFAULT_LIMITS,
  IDEMPOTENCY_GENERATION_KEYS,
  idempotencyRecordOf,
  type PositionContext,
} from "../../domain/position-context.ts";
import { EMPTY_BOOK } from "../../domain/reservation-book.ts";
import {
  expire,
  given,
  inboundTransfer,
  NOW,
  POS,
  pick,
  receive,
  release,
  reserve,
  step,
} from "./position-spec.ts";

const LIMIT = DEFAULT_LIMITS.idempotencyKeys;
const GEN = IDEMPOTENCY_GENERATION_KEYS;

/** Stored receipts with distinct keys `k-0`, `k-1`, … (one event each). */
const receipts = (n: number): CanonicalEvent[] => {
  let s = initialPositionState(POS);
  const out: CanonicalEvent[] = [];
  for (let i = 0; i < n; i++) {
    const r = step(s, receive(1, { idempotencyKey: `k-${i}` }));
    s = r.state;
    out.push(...r.stored);
  }
  return out;
};

const EVENTS = receipts(LIMIT + 80);
const replay = (events: readonly CanonicalEvent[]): PositionContext =>
  events.reduce(applyEvent, initialPositionState(POS));
const held = (s: PositionContext): number =>
  s.idempotency.generations.reduce((n, g) => n + Object.keys(g.keys).length, 0);

const deepFreeze = <T>(x: T): T => {
  if (x !== null && typeof x === "object" && !Object.isFrozen(x)) {
    Object.freeze(x);
    for (const v of Object.values(x)) deepFreeze(v);
  }
  return x;
};

describe("idempotency window", () => {
  it("a new key copies only the newest generation and shares the others", () => {
    // LIMIT + 12 keys: the newest generation is part-full, so the next key does not roll over.
    const prev = replay(EVENTS.slice(0, LIMIT + 12));
    const next = evolve(prev, EVENTS[LIMIT + 12] as CanonicalEvent);
    const [before, after] = [prev.idempotency.generations, next.idempotency.generations];
    expect(after.length).toBe(before.length);
    for (let i = 0; i < after.length - 1; i++) expect(after[i]).toBe(before[i]);
    expect(after.at(-1)).not.toBe(before.at(-1));
    expect(Object.keys(after.at(-1)?.keys ?? {}).length).toBeLessThanOrEqual(GEN);
    expect(next.buckets.available).not.toBe(prev.buckets.available);
    expect(next.buckets.blocked).toBe(prev.buckets.blocked);
  });

  it("a full window drops its oldest generation whole and shares the rest", () => {
    const prev = replay(EVENTS.slice(0, LIMIT));
    const next = applyEvent(prev, EVENTS[LIMIT] as CanonicalEvent);
    const [before, after] = [prev.idempotency.generations, next.idempotency.generations];
    expect(before.length).toBe(LIMIT / GEN);
    expect(after.length).toBe(before.length);
    for (let i = 0; i < after.length - 1; i++) expect(after[i]).toBe(before[i + 1]);
    expect(after.at(-1)?.keys).toEqual({ [`k-${LIMIT}`]: expect.anything() });
    expect(idempotencyRecordOf(next, "k-0")).toBeUndefined();
    expect(idempotencyRecordOf(next, `k-${GEN}`)).toBeDefined();
  });

  it("another event under a known key copies only the generation that holds it", () => {
    const prev = replay(EVENTS.slice(0, LIMIT + 12));
    const old = idempotencyRecordOf(prev, `k-${2 * GEN + 5}`);
    const again = { ...(EVENTS[LIMIT + 12] as CanonicalEvent), idempotencyKey: `k-${2 * GEN + 5}` };
    const next = applyEvent(prev, again);
    const [before, after] = [prev.idempotency.generations, next.idempotency.generations];
    const changed = after.flatMap((g, i) => (g === before[i] ? [] : [i]));
    expect(changed).toHaveLength(1);
    expect(idempotencyRecordOf(next, again.idempotencyKey)).toEqual({
      commandHash: again.commandHash,
      firstRevision: old?.firstRevision,
      lastRevision: again.revision,
    });
    expect(held(next)).toBe(held(prev));
  });

  it("remembers the most recent keys: all while under the limit, never fewer than limit − generation", () => {
    let s = initialPositionState(POS);
    for (const [i, e] of EVENTS.entries()) {
      s = applyEvent(s, e);
      const n = held(s);
      expect(n).toBeGreaterThanOrEqual(Math.min(i + 1, LIMIT - GEN + 1));
      expect(n).toBeLessThanOrEqual(LIMIT);
      // A suffix of the keys: the oldest remembered one is exactly `n` back.
      expect(idempotencyRecordOf(s, `k-${i + 1 - n}`)).toBeDefined();
      if (i + 1 > n) expect(idempotencyRecordOf(s, `k-${i - n}`)).toBeUndefined();
    }
  });

  it("evolve never mutates the state it is given", () => {
    const prev = deepFreeze(replay(EVENTS.slice(0, LIMIT)));
    const json = JSON.stringify(prev);
    let s = prev;
    for (const e of EVENTS.slice(LIMIT)) s = evolve(s, e);
    expect(JSON.stringify(prev)).toBe(json);
    expect(held(s)).toBeGreaterThan(LIMIT - GEN);
  });

  it("keys that name Object.prototype members are ordinary keys, also after a JSON round trip", () => {
    for (const key of ["constructor", "__proto__", "toString", "hasOwnProperty"]) {
      const c = receive(1, { idempotencyKey: key });
      const s = given(receive(1), c);
      expect(s.history).toHaveLength(2);
      const restored = JSON.parse(JSON.stringify(s.state)) as PositionContext;
      expect(decide(c, restored, defaultEnv(NOW))).toMatchObject({ kind: "duplicate", firstRevision: 1 });
      expect(decide(receive(1), restored, defaultEnv(NOW)).kind).toBe("accepted");
    }
  });
});

describe("totals kept with their parts", () => {
  it("reserved is the sum of the open reservations, without scanning them", () => {
    const s = given(receive(10), reserve("a", 2), reserve("b", 3)).state;
    expect(balancesOf(s).reserved).toBe(5);
    // The total is what ATP reads; the reservations themselves are not summed again.
    const tampered = { ...s, reservations: EMPTY_BOOK };
    expect(balancesOf(tampered).reserved).toBe(5);
  });

  it("reservation ids and source systems named like Object.prototype members are ordinary ones", () => {
    for (const id of ["constructor", "toString", "hasOwnProperty", "__proto__"]) {
      given(receive(5)).when(release(id)).thenRejects("unknownReservation");
      given(receive(5)).when(expire(id)).thenRejects("unknownReservation");
      given(receive(5)).when(reserve(id, 2)).then({ type: "ReservationPlaced", reservationId: id });
      given(receive(5), reserve(id, 2))
        .when(reserve(id, 1, { idempotencyKey: `again-${id}` }))
        .thenRejects("reservationExists");
      const picked = given(receive(5)).when(pick(1, { reservationId: id }));
      picked.then({ type: "PickConfirmed" }, { type: "AnomalyRaised" });
      const sequenced = { source: { system: id, document: { type: "ASN", id: "A" }, sequence: 1 } };
      given().when(receive(1, sequenced)).then({ type: "GoodsReceived", quantity: 1 });
    }
  });

  it("a transfer order named like an Object.prototype member is an ordinary one", () => {
    const s = given(inboundTransfer(4, "constructor"), inboundTransfer(1, "toString")).state;
    expect(balancesOf(s).inboundInTransit).toBe(5);
  });
});
