/**
 * The state of one SKU-location position (the machine's context) and how an event changes it.
 * Plain JSON throughout, so an actor snapshot can be persisted and restored as is.
 */

import {
  applyCount,
  applyDelta,
  type BitemporalBalance,
  balanceAsOf,
  emptyBalance,
} from "./bitemporal-balance.ts";
import type { Balances, CanonicalEvent, Lifecycle, PendingEvent } from "./canonical-event.ts";
import { GENESIS_HASH } from "./canonical-event.ts";
import type { Position } from "./ids.ts";
import { applyChannelEffect, type ChannelState } from "./position-channels.ts";
import {
  deleteReservation,
  EMPTY_BOOK,
  type Reservation,
  type ReservationBook,
  reservationIn,
  setReservation,
} from "./reservation-book.ts";
import { timeOf } from "./scalars.ts";
import { type SequenceRanges, withSequence } from "./source-sequences.ts";
import { BUCKETS, type Bucket } from "./statuses.ts";

export type { Reservation, ReservationBook } from "./reservation-book.ts";
export type { SequenceRanges } from "./source-sequences.ts";

export interface IdempotencyRecord {
  readonly commandHash: string;
  /** Revisions of the events the first handling produced (undefined before they were stored). */
  readonly firstRevision?: number;
  readonly lastRevision?: number;
}

/** Bounds that keep a position's context small; part of the context so replay uses the same ones. */
export interface PositionLimits {
  /** Business-time history entries kept per bucket for as-of balances (late counts). */
  readonly historyEntries: number;
  /** Idempotency keys remembered (the most recent ones, by accepted command). */
  readonly idempotencyKeys: number;
}

export const DEFAULT_LIMITS: PositionLimits = { historyEntries: 256, idempotencyKeys: 1024 };

/** Keys first seen together, in a record small enough to copy on every event. */
export interface IdempotencyGeneration {
  readonly keys: Readonly<Record<string, IdempotencyRecord>>;
  /** Number of keys in `keys`. */
  readonly size: number;
}

/**
 * The remembered idempotency keys, in generations of at most `IDEMPOTENCY_GENERATION_KEYS` keys,
 * oldest first. A new key goes into the newest generation (copying only it); a full newest
 * generation starts a new one, and while they hold more than `limit` keys the oldest generation is
 * dropped whole. So the window is not exact: between limit − 15 and limit of the most recent keys
 * are remembered (for a limit of 1024: at least 1009). Remembering copies at most 16 keys and the
 * list of generations: copying a generation of 64 on every event cost more than scanning more of
 * them once per command. Generations of 64 (made before) still work: they drop whole too
 * (remembering at least limit − 63 until they have aged out); snapshots that held them (machine
 * version 5 and older) are ignored anyway since version 6, and positions reload from their streams.
 */
export interface IdempotencyWindow {
  readonly generations: readonly IdempotencyGeneration[];
}

export const IDEMPOTENCY_GENERATION_KEYS = 16;

const generationKeys = (limits: PositionLimits): number =>
  Math.max(1, Math.min(IDEMPOTENCY_GENERATION_KEYS, limits.idempotencyKeys));

/** What the position remembers of an idempotency key, or undefined when it is new (or forgotten). */
export const idempotencyRecordOf = (ctx: PositionContext, key: string): IdempotencyRecord | undefined => {
  const gens = ctx.idempotency.generations;
  for (let i = gens.length - 1; i >= 0; i--) {
    const keys = (gens[i] as IdempotencyGeneration).keys;
    // Own properties only: keys come from outside and may be `constructor` or `__proto__`.
    if (Object.hasOwn(keys, key)) return keys[key];
  }
  return undefined;
};

/**
 * A pick that named a reservation not open here (its confirmation was held while the region was
 * unreachable). When the reservation is placed later it meets this pick and ends consumed.
 */
export interface PickedReservation {
  readonly reservationId: string;
  /** Quantity the picks naming it took (base unit). */
  readonly quantity: number;
  /** Business time of the first such pick. */
  readonly pickedAt: string;
}

/** Picks of unknown reservations remembered per position; beyond that the oldest is forgotten. */
export const PICKED_RESERVATIONS_KEPT = 64;

export const pickedReservationOf = (ctx: PositionContext, id: string): PickedReservation | undefined =>
  ctx.pickedReservations.find((p) => p.reservationId === id);

/** A transfer order on its way to the position: announced (shipped at origin) and received so far. */
export interface InboundTransferState {
  readonly shipped: number;
  readonly received: number;
  readonly origin?: { readonly region: string; readonly location: string };
}

/** `channelRules`/`channelUsage` (position-channels.ts): absent until the position's first channel rules. */
export interface PositionContext extends ChannelState {
  readonly position: Position;
  readonly lifecycle: Lifecycle;
  /** Revision of the last applied stored event; -1 for a new stream. */
  readonly revision: number;
  /** Hash of the last applied stored event (the next event's `prevHash`). */
  readonly lastHash: string;
  readonly buckets: Readonly<Record<Bucket, BitemporalBalance>>;
  /** Open reservations by id (see reservation-book.ts for why they are kept in chunks). */
  readonly reservations: ReservationBook;
  /** Sum of the open reservations' quantities, kept with them so ATP needs no scan of them all. */
  readonly reserved: number;
  readonly safetyStock: number;
  /** Inbound transfers by transfer order: announced (shipped at origin) and received so far. */
  readonly inbound: Readonly<Record<string, InboundTransferState>>;
  readonly idempotency: IdempotencyWindow;
  /** Applied source sequences per source system (see source-sequences.ts for what they are for). */
  readonly sequences: Readonly<Record<string, SequenceRanges>>;
  /** Picks that named a reservation before it was placed here, oldest first (bounded). */
  readonly pickedReservations: readonly PickedReservation[];
  readonly limits: PositionLimits;
}

export const initialPositionContext = (
  position: Position,
  limits: PositionLimits = DEFAULT_LIMITS,
): PositionContext => ({
  position: { region: position.region, location: position.location, sku: position.sku },
  lifecycle: "active",
  revision: -1,
  lastHash: GENESIS_HASH,
  buckets: Object.fromEntries(BUCKETS.map((b) => [b, emptyBalance()])) as Record<Bucket, BitemporalBalance>,
  reservations: EMPTY_BOOK,
  reserved: 0,
  safetyStock: 0,
  inbound: {},
  idempotency: { generations: [] },
  sequences: {},
  pickedReservations: [],
  limits,
});

export const onHandOf = (ctx: PositionContext, bucket: Bucket): number => ctx.buckets[bucket].current;
export const totalOnHand = (ctx: PositionContext): number =>
  BUCKETS.reduce((s, b) => s + onHandOf(ctx, b), 0);
export const reservedOf = (ctx: PositionContext): number => ctx.reserved;
export const inboundInTransitOf = (ctx: PositionContext): number =>
  Object.values(ctx.inbound).reduce((s, x) => s + Math.max(0, x.shipped - x.received), 0);

/** Balance of a bucket as of a business time, or undefined before the history horizon. */
export const bucketAsOf = (ctx: PositionContext, bucket: Bucket, businessTime: string): number | undefined =>
  balanceAsOf(ctx.buckets[bucket], timeOf(businessTime));

/**
 * The one ATP breakdown of a position, from the domain to the HTTP answer: read models and the API
 * extend it (where, when, what may be promised now), never re-declare it.
 */
export interface AtpBreakdown {
  readonly available: number;
  readonly reserved: number;
  readonly safetyStock: number;
  /** available − reserved − safety stock; may be negative after facts. */
  readonly net: number;
  /** What channels may promise: `net` clamped at zero, and zero unless the position is active. */
  readonly atp: number;
  readonly sellable: boolean;
  readonly lifecycle: Lifecycle;
}

/** What ATP is computed from. */
export type AtpInputs = Pick<AtpBreakdown, "available" | "reserved" | "safetyStock" | "lifecycle">;

/** The only place `net` and `atp` are computed. */
export const atpBreakdown = (f: AtpInputs): AtpBreakdown => {
  const net = f.available - f.reserved - f.safetyStock;
  const sellable = f.lifecycle === "active";
  return {
    available: f.available,
    reserved: f.reserved,
    safetyStock: f.safetyStock,
    net,
    atp: sellable ? Math.max(0, net) : 0,
    sellable,
    lifecycle: f.lifecycle,
  };
};

/** The breakdown of an event's balances (`balancesAfter`), as projections read it. */
export const atpOfBalances = (b: Balances): AtpBreakdown =>
  atpBreakdown({
    available: b.onHand.available,
    reserved: b.reserved,
    safetyStock: b.safetyStock,
    lifecycle: b.lifecycle,
  });

export const atpOf = (ctx: PositionContext): AtpBreakdown =>
  atpBreakdown({
    available: onHandOf(ctx, "available"),
    reserved: reservedOf(ctx),
    safetyStock: ctx.safetyStock,
    lifecycle: ctx.lifecycle,
  });

export const balancesOf = (ctx: PositionContext): Balances => ({
  onHand: {
    available: onHandOf(ctx, "available"),
    inspection: onHandOf(ctx, "inspection"),
    blocked: onHandOf(ctx, "blocked"),
    consigned: onHandOf(ctx, "consigned"),
    picked: onHandOf(ctx, "picked"),
  },
  reserved: reservedOf(ctx),
  safetyStock: ctx.safetyStock,
  inboundInTransit: inboundInTransitOf(ctx),
  atp: atpOf(ctx).atp,
  lifecycle: ctx.lifecycle,
});

const move = (ctx: PositionContext, bucket: Bucket, t: number, delta: number): PositionContext => ({
  ...ctx,
  buckets: { ...ctx.buckets, [bucket]: applyDelta(ctx.buckets[bucket], t, delta, ctx.limits.historyEntries) },
});

/** Own entries only: ids come from outside and may be `constructor` or `__proto__`. */
const ownValue = <V>(rec: Readonly<Record<string, V>>, key: string): V | undefined =>
  Object.hasOwn(rec, key) ? rec[key] : undefined;

const withoutKey = <V>(rec: Readonly<Record<string, V>>, key: string): Record<string, V> => {
  const { [key]: _gone, ...rest } = rec;
  return rest;
};

const addInbound = (
  ctx: PositionContext,
  to: string,
  shipped: number,
  received: number,
  origin?: { readonly region: string; readonly location: string },
): PositionContext => {
  const prev: InboundTransferState = ownValue(ctx.inbound, to) ?? { shipped: 0, received: 0 };
  const from = prev.origin ?? origin;
  const next: InboundTransferState = {
    shipped: prev.shipped + shipped,
    received: prev.received + received,
    ...(from ? { origin: { region: from.region, location: from.location } } : {}),
  };
  // A transfer order is settled once what was announced has arrived; forget it then.
  const settled = next.shipped > 0 && next.received >= next.shipped;
  return { ...ctx, inbound: settled ? withoutKey(ctx.inbound, to) : { ...ctx.inbound, [to]: next } };
};

/**
 * The balance effect of one event, without the bookkeeping of revisions, idempotency keys and
 * sequences (what deciding needs to stamp `balancesAfter` and raise anomalies).
 */
export const applyBalanceEffect = (ctx: PositionContext, e: PendingEvent): PositionContext =>
  applyChannelEffect(ctx, balanceEffect(ctx, e), e, (id) => reservationIn(ctx.reservations, id));

const balanceEffect = (ctx: PositionContext, e: PendingEvent): PositionContext => {
  const t = timeOf(e.businessTime);
  const q = e.quantity;
  switch (e.type) {
    case "GoodsReceived":
    case "ReturnReceived":
    case "ProductionOutput":
    case "StockAdjusted":
      return move(ctx, e.status, t, q);
    case "TransferShipped":
    case "ProductionConsumed":
      return move(ctx, e.status, t, -q);
    case "PickConfirmed":
      return move(move(ctx, "available", t, -q), "picked", t, q);
    case "PickReversed":
      return move(move(ctx, "picked", t, -q), "available", t, q);
    case "ShipmentPosted":
      return move(ctx, "picked", t, -q);
    case "StatusChanged":
      return move(move(ctx, e.fromStatus, t, -q), e.toStatus, t, q);
    case "TransferInboundRecorded":
      return addInbound(ctx, e.documents.transferOrder, q, 0, e.origin);
    case "TransferReceived":
      return addInbound(move(ctx, e.status, t, q), e.documents.transferOrder, 0, q);
    case "CountRecorded":
      return {
        ...ctx,
        buckets: {
          ...ctx.buckets,
          [e.status]: applyCount(ctx.buckets[e.status], t, e.counted, ctx.limits.historyEntries),
        },
      };
    case "ReservationPlaced": {
      const r: Reservation = {
        quantity: q,
        channel: e.channel,
        expiresAt: e.expiresAt,
        placedAt: e.businessTime,
        ...(e.documents.order ? { order: e.documents.order } : {}),
        ...(ctx.channelRules ? { seller: e.source.system } : {}),
      };
      const replaced = reservationIn(ctx.reservations, e.reservationId)?.quantity ?? 0;
      return {
        ...ctx,
        reservations: setReservation(ctx.reservations, e.reservationId, r),
        reserved: ctx.reserved - replaced + q,
      };
    }
    case "ReservationReleased":
    case "ReservationExpired":
    case "ReservationConsumed": {
      const r = reservationIn(ctx.reservations, e.reservationId);
      if (!r) return ctx;
      if (e.type === "ReservationConsumed" && e.remaining > 0) {
        return {
          ...ctx,
          reservations: setReservation(ctx.reservations, e.reservationId, { ...r, quantity: e.remaining }),
          reserved: ctx.reserved - r.quantity + e.remaining,
        };
      }
      return {
        ...ctx,
        reservations: deleteReservation(ctx.reservations, e.reservationId),
        reserved: ctx.reserved - r.quantity,
      };
    }
    case "SafetyStockSet":
      return { ...ctx, safetyStock: q };
    case "LifecycleChanged":
      return { ...ctx, lifecycle: e.to };
    case "AnomalyRaised":
    case "ReceiptExpected":
    case "ChannelRulesChanged":
      return ctx;
  }
};

const remember = (ctx: PositionContext, e: PendingEvent | CanonicalEvent): PositionContext => {
  const revision = "revision" in e ? e.revision : undefined;
  const key = e.idempotencyKey;
  const gens = ctx.idempotency.generations;
  let at = gens.length - 1;
  while (at >= 0 && !Object.hasOwn((gens[at] as IdempotencyGeneration).keys, key)) at--;
  const prev = at >= 0 ? (gens[at] as IdempotencyGeneration).keys[key] : undefined;
  const firstRevision = prev?.firstRevision ?? revision;
  const record: IdempotencyRecord = {
    commandHash: e.commandHash,
    ...(firstRevision !== undefined ? { firstRevision } : {}),
    ...(revision !== undefined ? { lastRevision: revision } : {}),
  };
  let generations: IdempotencyGeneration[];
  if (at >= 0) {
    // Seen before: only the generation that holds it changes (it keeps its place in the window).
    const g = gens[at] as IdempotencyGeneration;
    generations = gens.slice();
    generations[at] = { keys: { ...g.keys, [key]: record }, size: g.size };
  } else {
    const newest = gens[gens.length - 1];
    if (newest && newest.size < generationKeys(ctx.limits)) {
      generations = gens.slice();
      generations[gens.length - 1] = { keys: { ...newest.keys, [key]: record }, size: newest.size + 1 };
    } else generations = [...gens, { keys: { [key]: record }, size: 1 }];
    let held = 0;
    for (const g of generations) held += g.size;
    while (held > ctx.limits.idempotencyKeys && generations.length > 1) {
      held -= (generations.shift() as IdempotencyGeneration).size;
    }
  }
  return { ...ctx, idempotency: { generations } };
};

const trackSequence = (ctx: PositionContext, e: PendingEvent): PositionContext => {
  const seq = e.source.sequence;
  if (seq === undefined) return ctx;
  const ranges = ownValue(ctx.sequences, e.source.system) ?? [];
  const next = withSequence(ranges, seq);
  if (next === ranges) return ctx;
  return { ...ctx, sequences: { ...ctx.sequences, [e.source.system]: next } };
};

/**
 * A pick naming a reservation that is not open is remembered; the reservation's late placement
 * consumes it at once (a `ReservationConsumed` of a remembered id settles the memory). Runs on the
 * context before the event's balance effect, when "not open" is still the pick's view.
 */
const trackPickedReservation = (
  before: PositionContext,
  ctx: PositionContext,
  e: PendingEvent,
): PositionContext => {
  if (e.type === "PickConfirmed" && e.reservationId !== undefined) {
    const id = e.reservationId;
    if (reservationIn(before.reservations, id)) return ctx;
    const list = ctx.pickedReservations;
    const at = list.findIndex((p) => p.reservationId === id);
    if (at >= 0) {
      const prev = list[at] as PickedReservation;
      const out = list.slice();
      out[at] = { ...prev, quantity: prev.quantity + e.quantity };
      return { ...ctx, pickedReservations: out };
    }
    const out = [...list, { reservationId: id, quantity: e.quantity, pickedAt: e.businessTime }];
    if (out.length > PICKED_RESERVATIONS_KEPT) out.splice(0, out.length - PICKED_RESERVATIONS_KEPT);
    return { ...ctx, pickedReservations: out };
  }
  if (e.type === "ReservationConsumed" && ctx.pickedReservations.length > 0) {
    const out = ctx.pickedReservations.filter((p) => p.reservationId !== e.reservationId);
    if (out.length !== ctx.pickedReservations.length) return { ...ctx, pickedReservations: out };
  }
  return ctx;
};

/**
 * Applies one event. Stored events (with a revision) also advance `revision` and `lastHash`, and
 * are ignored when already applied; pending events (while deciding) only change balances and
 * bookkeeping. Revisions are expected to be consecutive; a gap is the caller's bug, not checked.
 */
export const applyEvent = (ctx: PositionContext, e: PendingEvent | CanonicalEvent): PositionContext => {
  // A stored event at or below the applied revision was applied already (at-least-once delivery).
  if ("revision" in e && e.revision <= ctx.revision) return ctx;
  const next = trackPickedReservation(ctx, trackSequence(remember(applyBalanceEffect(ctx, e), e), e), e);
  if ("revision" in e && "hash" in e) return { ...next, revision: e.revision, lastHash: e.hash };
  return next;
};
