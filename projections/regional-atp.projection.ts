/**
 * The regional ATP read model: one entry per position (SKU-location), folded from the position's
 * canonical events in revision order. Balances come from each event's `balancesAfter` (the machine
 * already computed them, we do not re-implement it); what the balances do not carry (inbound
 * transfers by transfer order, open purchase order lines) is folded from the events themselves,
 * with the same rules as the position (`domain/position-context.ts`).
 *
 * Open reservations are not part of the entry: a busy web-shop position can hold thousands, and an
 * entry rewritten with all of them on every event grows past what a KV value may hold (1 MB by
 * default). Each event says what it does to one reservation (`reservationChange`); the runner keeps
 * one key per open reservation in `atp_res_<r>`.
 *
 * Idempotent by revision: an event at or below the entry's `lastRevision` is a duplicate and changes
 * nothing; an event beyond `lastRevision + 1` is a gap. A gap is returned as a value, never skipped:
 * the runner reads the missing revisions from the event store and applies them first
 * (`applyWithGapFill` is that contract, with the store read injected).
 */
import type { CanonicalEvent } from "../domain/canonical-event.ts";
import type { Position } from "../domain/ids.ts";
import { type AtpBreakdown, atpBreakdown, atpOfBalances } from "../domain/position-context.ts";

export interface OnHandByStatus {
  readonly available: number;
  readonly inspection: number;
  readonly blocked: number;
  readonly consigned: number;
  /** Picked for an order, still in the building, never available. */
  readonly picked: number;
}

/** A transfer order on its way to this position (announced by the origin's shipment). */
export interface InboundTransfer {
  readonly transferOrder: string;
  readonly shipped: number;
  readonly received: number;
  /** shipped − received, at least 0. */
  readonly inTransit: number;
  readonly origin?: { readonly region: string; readonly location: string };
  /** Business time the origin shipped (of `TransferInboundRecorded`). */
  readonly shippedAt?: string;
  /**
   * Expected arrival, when the origin's shipment gave one (`shipTransfer.eta`); without it
   * time-phased ATP derives one from `shippedAt` and a configured transit time.
   */
  readonly eta?: string;
}

/** A purchase order line still expected at this position (from `ReceiptExpected`, less receipts). */
export interface ExpectedReceiptView {
  readonly po: string;
  /** Open quantity: announced, less what receipts naming the PO brought in since. */
  readonly quantity: number;
  readonly expectedAt: string;
}

/** An open reservation as the read model shows it (its key in `atp_res_<r>` names it). */
export interface ReservationView {
  readonly reservationId: string;
  readonly position: Position;
  readonly quantity: number;
  readonly channel: string;
  readonly expiresAt: string;
  readonly placedAt: string;
  readonly order?: string;
}

export interface RegionalAtpEntry {
  readonly position: Position;
  readonly onHand: OnHandByStatus;
  readonly inboundInTransit: number;
  /** Open inbound transfers by transfer order. */
  readonly inbound: Readonly<Record<string, InboundTransfer>>;
  /** Open expected receipts by purchase order; absent when there are none (most positions). */
  readonly expectedReceipts?: Readonly<Record<string, ExpectedReceiptView>>;
  /** The position's own ATP breakdown (`domain/position-context.ts`). */
  readonly atp: AtpBreakdown;
  readonly lastRevision: number;
  readonly lastEventId: string;
  /** Business and recorded time of the last applied event. */
  readonly businessTime: string;
  readonly recordedTime: string;
}

export type RegionalApplyResult =
  | { readonly kind: "applied"; readonly entry: RegionalAtpEntry }
  | { readonly kind: "duplicate"; readonly lastRevision: number }
  /** Revisions `expected`..`got − 1` are missing: fill them from the store, then apply this one. */
  | { readonly kind: "gap"; readonly position: Position; readonly expected: number; readonly got: number };

const samePosition = (a: Position, b: Position): boolean =>
  a.region === b.region && a.location === b.location && a.sku === b.sku;

const without = <V>(rec: Readonly<Record<string, V>>, key: string): Record<string, V> => {
  const { [key]: _gone, ...rest } = rec;
  return rest;
};

const withInbound = (
  inbound: Readonly<Record<string, InboundTransfer>>,
  to: string,
  shipped: number,
  received: number,
  announced?: { origin: { region: string; location: string }; shippedAt: string; eta?: string },
): Readonly<Record<string, InboundTransfer>> => {
  const prev = inbound[to];
  const s = (prev?.shipped ?? 0) + shipped;
  const r = (prev?.received ?? 0) + received;
  // Same rule as the position: a transfer order is settled (forgotten) once what was announced arrived.
  if (s > 0 && r >= s) return without(inbound, to);
  const origin = prev?.origin ?? announced?.origin;
  const shippedAt = prev?.shippedAt ?? announced?.shippedAt;
  const eta = prev?.eta ?? announced?.eta;
  const next: InboundTransfer = {
    transferOrder: to,
    shipped: s,
    received: r,
    inTransit: Math.max(0, s - r),
    ...(origin ? { origin: { region: origin.region, location: origin.location } } : {}),
    ...(shippedAt ? { shippedAt } : {}),
    ...(eta ? { eta } : {}),
  };
  return { ...inbound, [to]: next };
};

type ExpectedReceipts = Readonly<Record<string, ExpectedReceiptView>>;

/** An announcement replaces the PO's open quantity (0 cancels); a receipt naming the PO reduces it. */
const withExpected = (
  expected: ExpectedReceipts | undefined,
  e: CanonicalEvent,
): ExpectedReceipts | undefined => {
  if (e.type === "ReceiptExpected") {
    const po = e.documents.po;
    const rest = expected ? without(expected, po) : {};
    const next =
      e.quantity > 0 ? { ...rest, [po]: { po, quantity: e.quantity, expectedAt: e.expectedAt } } : rest;
    return Object.keys(next).length > 0 ? next : undefined;
  }
  const po = e.type === "GoodsReceived" ? e.documents.po : undefined;
  const open = po !== undefined && expected && Object.hasOwn(expected, po) ? expected[po] : undefined;
  if (!expected || po === undefined || !open) return expected;
  const left = open.quantity - e.quantity;
  const next = left > 0 ? { ...expected, [po]: { ...open, quantity: left } } : without(expected, po);
  return Object.keys(next).length > 0 ? next : undefined;
};

/** Inbound transfers, folded from one event. */
const foldInbound = (
  e: CanonicalEvent,
  inbound: Readonly<Record<string, InboundTransfer>>,
): Readonly<Record<string, InboundTransfer>> => {
  switch (e.type) {
    case "TransferInboundRecorded":
      return withInbound(inbound, e.documents.transferOrder, e.quantity, 0, {
        origin: e.origin,
        shippedAt: e.businessTime,
        ...(e.eta ? { eta: e.eta } : {}),
      });
    case "TransferReceived":
      return withInbound(inbound, e.documents.transferOrder, 0, e.quantity);
    default:
      return inbound;
  }
};

/** What an event does to one open reservation of its position (`undefined`: nothing). */
export type ReservationChange =
  | { readonly kind: "put"; readonly view: ReservationView }
  | { readonly kind: "delete"; readonly reservationId: string }
  /** Partly consumed: the rest stays open (the runner keeps the other fields it has). */
  | { readonly kind: "remaining"; readonly reservationId: string; readonly quantity: number };

export const reservationChange = (e: CanonicalEvent): ReservationChange | undefined => {
  switch (e.type) {
    case "ReservationPlaced":
      return {
        kind: "put",
        view: {
          reservationId: e.reservationId,
          position: { region: e.position.region, location: e.position.location, sku: e.position.sku },
          quantity: e.quantity,
          channel: e.channel,
          expiresAt: e.expiresAt,
          placedAt: e.businessTime,
          ...(e.documents.order ? { order: e.documents.order } : {}),
        },
      };
    case "ReservationReleased":
    case "ReservationExpired":
      return { kind: "delete", reservationId: e.reservationId };
    case "ReservationConsumed":
      return e.remaining > 0
        ? { kind: "remaining", reservationId: e.reservationId, quantity: e.remaining }
        : { kind: "delete", reservationId: e.reservationId };
    default:
      return undefined;
  }
};

/** Applies a change to a map of open reservations by id (for folds in memory and tests). Pure. */
export const applyReservationChange = (
  open: Readonly<Record<string, ReservationView>>,
  c: ReservationChange | undefined,
): Readonly<Record<string, ReservationView>> => {
  if (c === undefined) return open;
  if (c.kind === "put") return { ...open, [c.view.reservationId]: c.view };
  const current = Object.hasOwn(open, c.reservationId) ? open[c.reservationId] : undefined;
  if (c.kind === "remaining" && current)
    return { ...open, [c.reservationId]: { ...current, quantity: c.quantity } };
  return current ? without(open, c.reservationId) : open;
};

/** The entry of a position that has seen no event yet (revision −1). */
export const emptyRegionalEntry = (position: Position): RegionalAtpEntry => ({
  position: { region: position.region, location: position.location, sku: position.sku },
  onHand: { available: 0, inspection: 0, blocked: 0, consigned: 0, picked: 0 },
  inboundInTransit: 0,
  inbound: {},
  atp: atpBreakdown({ available: 0, reserved: 0, safetyStock: 0, lifecycle: "active" }),
  lastRevision: -1,
  lastEventId: "",
  businessTime: "",
  recordedTime: "",
});

/**
 * Applies one event to a position's entry (`undefined`: the position has no entry yet). Pure.
 * Throws only on a programming error (an event of another position).
 */
export const applyToRegionalAtp = (
  entry: RegionalAtpEntry | undefined,
  e: CanonicalEvent,
): RegionalApplyResult => {
  const current = entry ?? emptyRegionalEntry(e.position);
  if (!samePosition(current.position, e.position)) {
    throw new Error(
      `event ${e.eventId} of ${JSON.stringify(e.position)} applied to the entry of ${JSON.stringify(current.position)}`,
    );
  }
  if (e.revision <= current.lastRevision) return { kind: "duplicate", lastRevision: current.lastRevision };
  if (e.revision > current.lastRevision + 1) {
    return { kind: "gap", position: current.position, expected: current.lastRevision + 1, got: e.revision };
  }
  const b = e.balancesAfter;
  const inbound = foldInbound(e, current.inbound);
  const expectedReceipts = withExpected(current.expectedReceipts, e);
  return {
    kind: "applied",
    entry: {
      position: current.position,
      onHand: {
        available: b.onHand.available,
        inspection: b.onHand.inspection,
        blocked: b.onHand.blocked,
        consigned: b.onHand.consigned,
        picked: b.onHand.picked,
      },
      inboundInTransit: b.inboundInTransit,
      inbound,
      ...(expectedReceipts ? { expectedReceipts } : {}),
      atp: atpOfBalances(b),
      lastRevision: e.revision,
      lastEventId: e.eventId,
      businessTime: e.businessTime,
      recordedTime: e.recordedTime,
    },
  };
};

/** Total on hand over every status, picked included. */
export const totalOnHandOf = (entry: RegionalAtpEntry): number =>
  entry.onHand.available +
  entry.onHand.inspection +
  entry.onHand.blocked +
  entry.onHand.consigned +
  entry.onHand.picked;

/** Reads a position's stored events from revision `from` (inclusive), in revision order. */
export type ReadPositionStream = (position: Position, from: number) => Promise<readonly CanonicalEvent[]>;

export class UnfillableGapError extends Error {
  constructor(
    readonly position: Position,
    readonly expected: number,
    readonly got: number,
    readonly storeReturned: string,
  ) {
    super(
      `gap in ${position.region}/${position.location}/${position.sku}: expected revision ${expected}, got ${got}; ` +
        `the event store returned ${storeReturned}`,
    );
    this.name = "UnfillableGapError";
  }
}

export type GapFillOutcome = {
  readonly entry: RegionalAtpEntry | undefined;
  readonly result: "applied" | "duplicate";
  /** Events read from the store and applied to close a gap (0 when there was none). */
  readonly filled: number;
  /** Every event applied, in order: the filled ones, then the delivered one (none when a duplicate). */
  readonly applied: readonly CanonicalEvent[];
};

/**
 * The runner's contract for one delivered event: apply it, and on a gap read the missing revisions
 * from the store, apply them in order, then the event. Throws `UnfillableGapError` if the store
 * does not have the missing revisions (the delivery must then be retried, never acknowledged).
 */
export const applyWithGapFill = async (
  entry: RegionalAtpEntry | undefined,
  e: CanonicalEvent,
  read: ReadPositionStream,
): Promise<GapFillOutcome> => {
  const first = applyToRegionalAtp(entry, e);
  if (first.kind === "applied") return { entry: first.entry, result: "applied", filled: 0, applied: [e] };
  if (first.kind === "duplicate") return { entry, result: "duplicate", filled: 0, applied: [] };
  const missing = await read(first.position, first.expected);
  let current = entry;
  const applied: CanonicalEvent[] = [];
  for (const m of missing) {
    if (m.revision >= e.revision) break;
    const r = applyToRegionalAtp(current, m);
    if (r.kind === "gap") break;
    if (r.kind === "applied") {
      current = r.entry;
      applied.push(m);
    }
  }
  const filled = applied.length;
  const last = applyToRegionalAtp(current, e);
  if (last.kind === "gap") {
    throw new UnfillableGapError(
      first.position,
      last.expected,
      last.got,
      missing.length === 0
        ? "nothing"
        : `revisions ${missing[0]!.revision}..${missing[missing.length - 1]!.revision}`,
    );
  }
  return last.kind === "applied"
    ? { entry: last.entry, result: "applied", filled, applied: [...applied, e] }
    : { entry: current, result: "duplicate", filled, applied };
};
