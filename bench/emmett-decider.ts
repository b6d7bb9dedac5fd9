/**
 * The peer of the benchmark's comparison (issue 13): the bench workload's receipts, reservations and
 * picks (bench/workload.ts) decided the Emmett way, `decide(command, state) -> events`,
 * `evolve(state, event) -> state`, `initialState()`, for Emmett's CommandHandler over PostgreSQL
 * (bench/emmett-child.ts). It keeps what the node's decision needs for these three commands: on hand,
 * open reservations, and the recent idempotency keys (a repeat is a no-op, as in the node).
 * A receipt and a pick are facts (always recorded); a reservation is a request, accepted against
 * available stock or rejected.
 */

export interface PeerCommand {
  readonly kind: "receiveGoods" | "placeReservation" | "confirmPick";
  readonly idempotencyKey: string;
  readonly correlationId: string;
  readonly businessTime: string;
  readonly position: { readonly region: string; readonly location: string; readonly sku: string };
  readonly quantity: { readonly value: number; readonly uom: string };
  readonly source: unknown;
  readonly documents?: unknown;
  readonly reservationId?: string;
  readonly channel?: string;
  readonly lot?: string;
}

// A type, not an interface: Emmett's `Event` wants event data assignable to `Record<string, unknown>`.
type Common = {
  readonly idempotencyKey: string;
  readonly correlationId: string;
  readonly businessTime: string;
  readonly sku: string;
  readonly location: string;
  readonly quantity: number;
  readonly source: unknown;
  readonly documents?: unknown;
};

export type PeerEvent =
  | { type: "GoodsReceived"; data: Common & { lot?: string } }
  | { type: "ReservationPlaced"; data: Common & { reservationId: string; channel?: string } }
  | { type: "ReservationRejected"; data: Common & { reservationId: string; available: number } }
  | { type: "Picked"; data: Common & { reservationId?: string; fromReservation: number } };

export interface PeerState {
  onHand: number;
  reserved: number;
  readonly reservations: Map<string, number>;
  /** Most recent idempotency keys in arrival order (bounded like the node's `idempotencyKeysPerPosition`). */
  readonly keys: Set<string>;
}

export const PEER_KEYS_REMEMBERED = 1024;

/**
 * A fresh state per aggregation (Emmett folds a stream's events from `initialState()` on each command),
 * so `evolve` updates it in place: copying 1024 keys per event would make the peer slower than it is.
 */
export const initialState = (): PeerState => ({
  onHand: 0,
  reserved: 0,
  reservations: new Map(),
  keys: new Set(),
});

const common = (c: PeerCommand): Common => ({
  idempotencyKey: c.idempotencyKey,
  correlationId: c.correlationId,
  businessTime: c.businessTime,
  sku: c.position.sku,
  location: c.position.location,
  quantity: c.quantity.value,
  source: c.source,
  ...(c.documents === undefined ? {} : { documents: c.documents }),
});

export const decide = (c: PeerCommand, s: PeerState): PeerEvent[] => {
  if (s.keys.has(c.idempotencyKey)) return [];
  switch (c.kind) {
    case "receiveGoods":
      return [{ type: "GoodsReceived", data: { ...common(c), ...(c.lot ? { lot: c.lot } : {}) } }];
    case "placeReservation": {
      const reservationId = c.reservationId ?? c.idempotencyKey;
      const available = s.onHand - s.reserved;
      return available >= c.quantity.value
        ? [
            {
              type: "ReservationPlaced",
              data: { ...common(c), reservationId, ...(c.channel ? { channel: c.channel } : {}) },
            },
          ]
        : [{ type: "ReservationRejected", data: { ...common(c), reservationId, available } }];
    }
    case "confirmPick": {
      const held = c.reservationId === undefined ? 0 : (s.reservations.get(c.reservationId) ?? 0);
      return [
        {
          type: "Picked",
          data: {
            ...common(c),
            ...(c.reservationId ? { reservationId: c.reservationId } : {}),
            fromReservation: Math.min(held, c.quantity.value),
          },
        },
      ];
    }
  }
};

export const evolve = (s: PeerState, e: PeerEvent): PeerState => {
  s.keys.add(e.data.idempotencyKey);
  if (s.keys.size > PEER_KEYS_REMEMBERED) s.keys.delete(s.keys.values().next().value as string);
  switch (e.type) {
    case "GoodsReceived":
      s.onHand += e.data.quantity;
      break;
    case "ReservationPlaced":
      s.reserved += e.data.quantity;
      s.reservations.set(e.data.reservationId, e.data.quantity);
      break;
    case "ReservationRejected":
      break;
    case "Picked":
      s.onHand -= e.data.quantity;
      s.reserved -= e.data.fromReservation;
      if (e.data.reservationId !== undefined) s.reservations.delete(e.data.reservationId);
      break;
  }
  return s;
};
