/**
 * The regional ATP reducer against the domain: folded from a position's events it holds exactly what
 * the position holds; duplicates, redeliveries and reordering (with gaps filled from the store) lead to
 * the same entry as an in-order replay.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { CanonicalEvent } from "../../domain/canonical-event.ts";
import { type Position, positionKey } from "../../domain/ids.ts";
import { initialPositionState } from "../../domain/position.decider.ts";
import { balancesOf } from "../../domain/position-context.ts";
import { reservationsById } from "../../domain/reservation-book.ts";
import {
  applyReservationChange,
  applyToRegionalAtp,
  applyWithGapFill,
  type RegionalAtpEntry,
  type ReservationView,
  reservationChange,
  UnfillableGapError,
} from "../../projections/regional-atp.projection.ts";
import { POS, receive, reserve, step } from "../domain/position-spec.ts";
import { decideAll, domainAtp, FEW_POSITIONS, positionedCommandArb } from "./event-streams.ts";

const RUNS = { numRuns: 50 };
const commandsArb = fc.array(positionedCommandArb(FEW_POSITIONS), {
  minLength: 10,
  maxLength: 80,
  size: "max",
});

/** In-order fold, failing on anything but `applied`. */
const foldInOrder = (events: readonly CanonicalEvent[]): Map<string, RegionalAtpEntry> => {
  const entries = new Map<string, RegionalAtpEntry>();
  for (const e of events) {
    const k = positionKey(e.position);
    const r = applyToRegionalAtp(entries.get(k), e);
    if (r.kind !== "applied") throw new Error(`in-order fold got ${r.kind} at ${k}#${e.revision}`);
    entries.set(k, r.entry);
  }
  return entries;
};

const historyOf = (events: readonly CanonicalEvent[]) => {
  const byPosition = new Map<string, CanonicalEvent[]>();
  for (const e of events) {
    const k = positionKey(e.position);
    byPosition.set(k, [...(byPosition.get(k) ?? []), e]);
  }
  let reads = 0;
  const read = async (p: Position, from: number) => {
    reads++;
    return (byPosition.get(positionKey(p)) ?? []).filter((e) => e.revision >= from);
  };
  return { read, reads: () => reads };
};

/** Some deliveries of `events`: every event at least once, in any order, with repeats. */
const deliveriesArb = (events: readonly CanonicalEvent[]) =>
  fc
    .tuple(
      fc.shuffledSubarray([...events.keys()], { minLength: events.length, maxLength: events.length }),
      fc.array(fc.nat({ max: Math.max(0, events.length - 1) }), { maxLength: events.length }),
      fc.array(fc.nat(), { maxLength: events.length }),
    )
    .map(([order, repeats, slots]) => {
      const out = order.map((i) => events[i]!);
      repeats.forEach((i, n) => {
        out.splice((slots[n] ?? 0) % (out.length + 1), 0, events[i]!);
      });
      return out;
    });

describe("regional ATP projection", () => {
  it("folded in order, equals the position's own balances, reservations and inbound transfers", () => {
    fc.assert(
      fc.property(commandsArb, (commands) => {
        const run = decideAll(commands, FEW_POSITIONS);
        const entries = foldInOrder(run.events);
        // Open reservations, one per key as the projector stores them, folded from the same events.
        const reservations = new Map<string, Readonly<Record<string, ReservationView>>>();
        for (const e of run.events) {
          const k = positionKey(e.position);
          reservations.set(k, applyReservationChange(reservations.get(k) ?? {}, reservationChange(e)));
        }
        for (const [k, { atp, state }] of domainAtp(run)) {
          const entry = entries.get(k);
          if (state.revision < 0) {
            expect(entry).toBeUndefined();
            continue;
          }
          expect(entry).toBeDefined();
          const b = balancesOf(state);
          expect(entry!.atp).toEqual({
            available: atp.available,
            reserved: atp.reserved,
            safetyStock: atp.safetyStock,
            net: atp.net,
            atp: atp.atp,
            sellable: atp.sellable,
            lifecycle: atp.lifecycle,
          });
          expect(entry!.onHand).toEqual(b.onHand);
          expect(entry!.inboundInTransit).toBe(b.inboundInTransit);
          expect(entry!.lastRevision).toBe(state.revision);
          // Reservations by id, as the position holds them.
          const open = reservations.get(k) ?? {};
          expect(
            Object.fromEntries(
              Object.values(open).map(({ reservationId, position: _p, ...r }) => [reservationId, r]),
            ),
          ).toEqual(reservationsById(state.reservations));
          const reservedSum = Object.values(open).reduce((s, r) => s + r.quantity, 0);
          expect(reservedSum).toBe(entry!.atp.reserved);
          // Inbound by transfer order, as the position holds them.
          expect(
            Object.fromEntries(
              Object.values(entry!.inbound).map((t) => [
                t.transferOrder,
                { shipped: t.shipped, received: t.received, ...(t.origin ? { origin: t.origin } : {}) },
              ]),
            ),
          ).toEqual(state.inbound);
          const inTransit = Object.values(entry!.inbound).reduce((s, t) => s + t.inTransit, 0);
          expect(inTransit).toBe(entry!.inboundInTransit);
        }
      }),
      RUNS,
    );
  });

  it("keeps an entry's size independent of how many reservations are open (they are keys of their own)", () => {
    let state = initialPositionState(POS);
    let entry: RegionalAtpEntry | undefined;
    let open: Readonly<Record<string, ReservationView>> = {};
    const sizes: number[] = [];
    const apply = (c: Parameters<typeof step>[1]) => {
      const r = step(state, c);
      expect(r.outcome.kind).toBe("accepted");
      state = r.state;
      for (const e of r.stored) {
        const a = applyToRegionalAtp(entry, e);
        if (a.kind !== "applied") throw new Error(a.kind);
        entry = a.entry;
        open = applyReservationChange(open, reservationChange(e));
      }
    };
    apply(receive(100_000));
    for (let i = 1; i <= 1_500; i++) {
      apply(reserve(`R-${i}`, 1, { ttlSeconds: 900 }));
      if (i === 10 || i === 1_500) sizes.push(JSON.stringify(entry).length);
    }
    expect(Object.keys(open)).toHaveLength(1_500);
    expect(entry!.atp.reserved).toBe(1_500);
    // Only the figures grow by a digit or two; before, every reservation was in the entry (~130 B each).
    expect(sizes[1]! - sizes[0]!).toBeLessThan(20);
  });

  it("ignores an event at or below the last revision and returns a typed gap beyond the next one", () => {
    fc.assert(
      fc.property(commandsArb, (commands) => {
        const { events } = decideAll(commands, FEW_POSITIONS);
        const entries = foldInOrder(events);
        for (const e of events) {
          const entry = entries.get(positionKey(e.position))!;
          expect(applyToRegionalAtp(entry, e)).toEqual({
            kind: "duplicate",
            lastRevision: entry.lastRevision,
          });
          const ahead = { ...e, revision: entry.lastRevision + 2 };
          expect(applyToRegionalAtp(entry, ahead)).toEqual({
            kind: "gap",
            position: e.position,
            expected: entry.lastRevision + 1,
            got: entry.lastRevision + 2,
          });
        }
      }),
      RUNS,
    );
  });

  it("replay = live: any delivery order with duplicates, gaps filled from the store, gives the in-order entries", async () => {
    await fc.assert(
      fc.asyncProperty(
        commandsArb
          .map((c) => decideAll(c).events)
          .chain((events) => fc.tuple(fc.constant(events), deliveriesArb(events))),
        async ([events, deliveries]) => {
          const expected = foldInOrder(events);
          const store = historyOf(events);
          const live = new Map<string, RegionalAtpEntry>();
          let filled = 0;
          for (const e of deliveries) {
            const k = positionKey(e.position);
            const r = await applyWithGapFill(live.get(k), e, store.read);
            filled += r.filled;
            if (r.entry) live.set(k, r.entry);
          }
          expect(live).toEqual(expected);
          // Every event was applied exactly once: either delivered in turn or filled from the store.
          const sumRevisions = [...live.values()].reduce((s, x) => s + x.lastRevision + 1, 0);
          expect(sumRevisions).toBe(events.length);
          if (filled > 0) expect(store.reads()).toBeGreaterThan(0);
        },
      ),
      RUNS,
    );
  });

  it("refuses to skip a gap the store cannot fill", async () => {
    const { events } = decideAll([
      [0, (p) => ({ ...fakeReceive(p), idempotencyKey: "a" })],
      [0, (p) => ({ ...fakeReceive(p), idempotencyKey: "b" })],
      [0, (p) => ({ ...fakeReceive(p), idempotencyKey: "c" })],
    ]);
    expect(events.map((e) => e.revision)).toEqual([0, 1, 2]);
    const first = applyToRegionalAtp(undefined, events[0]!);
    if (first.kind !== "applied") throw new Error("first event not applied");
    await expect(applyWithGapFill(first.entry, events[2]!, async () => [])).rejects.toBeInstanceOf(
      UnfillableGapError,
    );
    const filled = await applyWithGapFill(first.entry, events[2]!, async (_p, from) =>
      events.filter((e) => e.revision >= from),
    );
    expect(filled).toMatchObject({ result: "applied", filled: 1 });
    expect(filled.entry?.lastRevision).toBe(2);
    expect(filled.entry?.onHand.available).toBe(30);
  });
});

const fakeReceive = (position: Position) =>
  ({
    kind: "receiveGoods",
    position,
    quantity: { value: 10, uom: "EA" },
    source: { system: "wms", document: { type: "GR", id: "1" } },
    businessTime: "2024-05-01T08:00:00Z",
    correlationId: "c",
    idempotencyKey: "k",
  }) as const;
