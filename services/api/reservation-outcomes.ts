/**
 * What the reservation services answer: tagged outcomes, turned into HTTP status codes and bodies
 * only by the routes (reservation-routes.ts). Outcomes of placements are recorded for idempotency
 * and replayed as they were.
 */
import type { DecodeError } from "../../domain/decode-errors.ts";

/** A reservation as the API shows it. */
export interface ReservationView {
  readonly reservationId: string;
  readonly status: string;
  readonly region: string;
  readonly location: string;
  readonly sku: string;
  readonly quantity?: number;
  readonly channel?: string;
  /** The channel's own id of the reservation, when it gave one. */
  readonly channelReservationId?: string;
  readonly expiresAt?: string;
  readonly degraded: boolean;
  readonly [more: string]: unknown;
}

export interface Shortfall {
  readonly location: string;
  readonly atp: number;
  readonly code?: string;
  readonly message?: string;
}

export type PlaceOutcome =
  /** The region accepted it (`duplicate`: it had already). */
  | { readonly kind: "confirmed"; readonly reservation: ReservationView; readonly duplicate: boolean }
  /** Degraded mode: held here within the constrained ATP, sent to the region when it returns. */
  | { readonly kind: "held"; readonly reservation: ReservationView; readonly message: string }
  | { readonly kind: "invalid"; readonly errors: readonly DecodeError[] }
  /** The caller may not act for what it asked (another channel than its key's). */
  | { readonly kind: "forbidden"; readonly message: string }
  | { readonly kind: "unknownSku"; readonly sku: string; readonly message: string }
  /** An Idempotency-Key used before for another request. */
  | { readonly kind: "idempotencyConflict"; readonly key: string; readonly message: string }
  /** A channel's reservation id used before for another request. */
  | {
      readonly kind: "reservationIdConflict";
      readonly channel: string;
      readonly channelReservationId: string;
      readonly message: string;
    }
  | {
      readonly kind: "insufficientAtp";
      readonly message: string;
      readonly requested: number;
      readonly available: number;
      readonly degraded: boolean;
      /** False when the SKU has never been seen in any region (no catalogue configured). */
      readonly known: boolean;
      readonly locations: readonly Shortfall[];
    }
  /** The node refused it for a business reason (`invalidInput`: the request itself was wrong). */
  | {
      readonly kind: "rejected";
      readonly code: string;
      readonly message: string;
      readonly reason: unknown;
      readonly invalidInput: boolean;
    }
  /** The node found the command malformed. */
  | { readonly kind: "nodeInvalid"; readonly message: string; readonly errors: unknown }
  /** The node answered without deciding (e.g. busy): not recorded, a retry decides afresh. */
  | { readonly kind: "notDecided"; readonly message: string; readonly reply: unknown }
  /** NATS refused to carry it: the API's user does not speak for its system (a deployment error; not recorded). */
  | { readonly kind: "sendDenied"; readonly message: string };

/** A placement's outcome, and whether it is the recorded first outcome of a repeated request. */
export type PlaceAnswer = PlaceOutcome & { readonly replayed?: boolean };

export type ReadOutcome =
  | { readonly kind: "found"; readonly reservation: ReservationView }
  | { readonly kind: "notFound"; readonly reservationId: string; readonly message: string };

export type ReleaseOutcome =
  | { readonly kind: "released"; readonly reservation: ReservationView }
  /** Queued for a region that is unreachable now (or released here while only held). */
  | { readonly kind: "releasePending"; readonly reservation: ReservationView; readonly message: string }
  | { readonly kind: "notFound"; readonly reservationId: string; readonly message: string }
  | { readonly kind: "rejected"; readonly message: string; readonly reply: unknown }
  | { readonly kind: "sendDenied"; readonly message: string };

export const notFound = (id: string, message: string) =>
  ({
    kind: "notFound",
    reservationId: id,
    message: `reservation ${JSON.stringify(id)}: ${message}`,
  }) as const;

/** Not enough ATP at any location tried (`degraded`: judged against the constrained ATP). */
export const insufficientAtp = (
  request: { readonly region: string; readonly sku: string; readonly quantity: number },
  shortfalls: readonly Shortfall[],
  degraded: boolean,
  known: boolean,
): PlaceOutcome => {
  const available = shortfalls.reduce((m, s) => Math.max(m, s.atp), 0);
  const sku = JSON.stringify(request.sku);
  const never = known ? "" : ` (SKU ${sku} has never been seen in any region)`;
  return {
    kind: "insufficientAtp",
    message:
      shortfalls.length === 0
        ? `no location of region ${request.region} holds SKU ${sku}${never}`
        : `requested ${request.quantity} of ${sku}; at most ${available} available at one location of region ${request.region}${degraded ? " (degraded mode: constrained ATP)" : ""}${never}`,
    requested: request.quantity,
    available,
    degraded,
    known,
    locations: shortfalls,
  };
};
