/**
 * fast-check generators of the commands a position may see, shared by the property tests: business
 * times out of order, reservation ids, orders and transfer orders drawn from small sets so that
 * commands meet each other.
 */
import fc from "fast-check";
import type { Command } from "../../domain/commands.ts";
import { STOCK_STATUSES } from "../../domain/statuses.ts";
import { setRules } from "./channel-spec.ts";
import {
  adjust,
  at,
  changeStatus,
  consume,
  count,
  expectReceipt,
  expire,
  inboundTransfer,
  lifecycle,
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
} from "./position-spec.ts";

export const time = fc.integer({ min: 0, max: 100 }).map(at);
export const qty = (max: number) => fc.integer({ min: 1, max });
const resId = fc.constantFrom("r0", "r1", "r2", "r3");
const order = fc.constantFrom("SO-1", "SO-2");
const to = fc.constantFrom("TO-1", "TO-2");
const status = fc.constantFrom(...STOCK_STATUSES);

type Weighted = fc.WeightedArbitrary<Command>;
const w = (arbitrary: fc.Arbitrary<Command>, weight = 1): Weighted => ({ arbitrary, weight });

const receiveArb = w(
  fc.tuple(qty(20), time, status).map(([n, t, s]) => receive(n, { businessTime: t, status: s })),
  4,
);
/** A pick that names no reservation and no order: a fact that touches no reservation. */
const plainPickArb = w(
  fc.tuple(qty(10), time).map(([n, t]) => pick(n, { businessTime: t })),
  3,
);
const pickArb = w(
  fc.tuple(qty(10), time, fc.option(resId), fc.option(order)).map(([n, t, r, o]) =>
    pick(n, {
      businessTime: t,
      ...(r ? { reservationId: r } : {}),
      ...(o ? { documents: { order: o } } : {}),
    }),
  ),
  3,
);
const countArb = w(
  fc
    .tuple(fc.integer({ min: 0, max: 30 }), time, status)
    .map(([n, t, s]) => count(n, { businessTime: t, status: s })),
  2,
);
/** Facts other than receipts, picks and counts that an owning system reports. */
const otherFactArbs: Weighted[] = [
  w(fc.tuple(qty(5), time).map(([n, t]) => reversePick(n, { businessTime: t }))),
  w(fc.tuple(qty(5), time).map(([n, t]) => ship(n, { businessTime: t }))),
  w(fc.tuple(qty(5), time, to).map(([n, t, o]) => shipTransfer(n, o, { businessTime: t }))),
  w(fc.tuple(qty(5), time, to).map(([n, t, o]) => receiveTransfer(n, o, { businessTime: t }))),
  w(
    fc
      .tuple(qty(5), time, fc.constantFrom("inspection" as const, "available" as const))
      .map(([n, t, i]) => receiveReturn(n, i, { businessTime: t })),
  ),
  w(
    fc
      .tuple(
        fc.integer({ min: -5, max: 5 }).filter((n) => n !== 0),
        time,
      )
      .map(([n, t]) => adjust(n, "R", { businessTime: t })),
  ),
  w(
    fc
      .tuple(qty(5), time, status, status)
      .filter(([, , a, b]) => a !== b)
      .map(([n, t, a, b]) => changeStatus(n, a, b, { businessTime: t })),
  ),
  w(fc.tuple(qty(5), time).map(([n, t]) => consume(n, { businessTime: t }))),
  w(fc.tuple(qty(5), time).map(([n, t]) => produce(n, { businessTime: t }))),
];
const inboundTransferArb = w(
  fc.tuple(qty(5), time, to).map(([n, t, o]) => inboundTransfer(n, o, { businessTime: t })),
);
const expectReceiptArb = w(
  fc
    .tuple(qty(10), time, fc.constantFrom("PO-1", "PO-2"), time)
    .map(([n, t, po, eta]) => expectReceipt(n, po, eta, { businessTime: t })),
);
/** Requests and settings: decided against the position's state at the time they are applied. */
const requestArbs: Weighted[] = [
  w(
    fc
      .tuple(resId, qty(10), time, fc.integer({ min: 60, max: 12_000 }), fc.option(order))
      .map(([r, n, t, ttl, o]) =>
        reserve(r, n, { businessTime: t, ttlSeconds: ttl, ...(o ? { documents: { order: o } } : {}) }),
      ),
    4,
  ),
  w(resId.map((r) => release(r))),
  w(resId.map((r) => expire(r))),
  w(fc.integer({ min: 0, max: 5 }).map((n) => safetyStock(n))),
  w(
    fc.constantFrom("hold" as const, "releaseHold" as const, "discontinue" as const).map((a) => lifecycle(a)),
  ),
  // Rules that leave every channel ATP: the ATP properties hold as before (channel-*.test.ts test rules).
  w(fc.constant(null).map(() => setRules({}))),
];

/** Any command a position may see, with business times out of order. */
export const commandArb: fc.Arbitrary<Command> = fc.oneof(
  receiveArb,
  pickArb,
  ...otherFactArbs.slice(0, 3),
  inboundTransferArb,
  ...otherFactArbs.slice(3, 5),
  countArb,
  ...otherFactArbs.slice(5),
  ...requestArbs,
);

/**
 * Every kind a source system sends with a sequence: all facts and requests. Not
 * `recordInboundTransfer`, which the node derives from the origin's `TransferShipped` and sends
 * without a sequence.
 */
export const sourcedCommandArb: fc.Arbitrary<Command> = fc.oneof(
  receiveArb,
  pickArb,
  ...otherFactArbs,
  countArb,
  expectReceiptArb,
  ...requestArbs,
);

/** Facts only (an owning system says it happened), none of which names a reservation or an order. */
export const factArb: fc.Arbitrary<Command> = fc.oneof(
  receiveArb,
  plainPickArb,
  ...otherFactArbs,
  countArb,
  expectReceiptArb,
);
