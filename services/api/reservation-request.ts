/**
 * A reservation request as the API places it: the body of `POST /v1/reservations`, who asks (an API
 * key, and the channel it speaks for), and the `placeReservation` command built from both for one
 * location. A retried request rebuilds byte-identical commands (same ids, keys and business time),
 * so that the node answers a resent one as a duplicate.
 */
import { createHash } from "node:crypto";
import * as t from "io-ts";
import { canonicalJson } from "../../domain/canonical-json.ts";
import type { Position } from "../../domain/ids.ts";
import {
  boundedArrayC,
  ClientKeyC,
  CodeC,
  DocumentIdC,
  IsoTimestampC,
  KeyC,
  LocationIdC,
  MovementAmountC,
  RegionC,
  ReservationTtlSecondsC,
  SkuC,
  SystemIdC,
} from "../../domain/scalars.ts";
import { reservationIdFor } from "./reservation-ids.ts";

const SourcingC = t.union(
  [
    t.type({ rule: t.literal("mostAvailableFirst") }),
    t.type({ rule: t.literal("priority"), locations: boundedArrayC(LocationIdC, 1000) }),
  ],
  '{ rule: "mostAvailableFirst" } | { rule: "priority", locations: [string, ...] }',
);

/** Body of `POST /v1/reservations`: the limits of commands (limits.ts), so that a 400 names the field. */
export const PlaceReservationBodyC = t.intersection([
  t.type({ sku: SkuC, region: RegionC, quantity: MovementAmountC }),
  t.partial({
    /** Required unless the API key is bound to a channel (then it may only repeat that channel). */
    channel: SystemIdC,
    /** The channel's own id of this reservation (e.g. its order-line id); idempotent on (channel, id). */
    channelReservationId: DocumentIdC,
    /** When the channel decided it (default: when the API received the request). */
    businessTime: IsoTimestampC,
    /** One location; without it, any location of the region by `sourcing` (default most available first). */
    location: LocationIdC,
    sourcing: SourcingC,
    ttlSeconds: ReservationTtlSecondsC,
    uom: CodeC,
    order: DocumentIdC,
    idempotencyKey: ClientKeyC,
    correlationId: KeyC,
  }),
]);
export type PlaceReservationBody = t.TypeOf<typeof PlaceReservationBodyC>;
/** What is decided and hashed for idempotency: the body without its idempotency key. */
export type ReservationRequest = Omit<PlaceReservationBody, "idempotencyKey">;

/** Who asks: the API key's name, and the channel its key speaks for (if bound to one). */
export interface Requester {
  readonly caller: string;
  readonly channel?: string;
}

/** A validated request with its identity: who it is for and what it is idempotent on. */
export interface Placement {
  /** The API key's name: the reservation is this caller's (read and release scope). */
  readonly caller: string;
  /** Idempotency scope in the request records: the key's name, or the channel for its own ids. */
  readonly scope: string;
  /** Idempotency key within `scope`: the Idempotency-Key, or the channel's reservation id. */
  readonly key: string;
  /** `source.system` of the commands: the channel of a channel key, else the API's own system. */
  readonly system: string;
  readonly channel: string;
  readonly request: ReservationRequest;
  readonly ttlSeconds: number;
}

/** The idempotency scope of a channel's own reservation ids (no key name has a control character). */
export const channelScope = (channel: string): string => `\u0001channel\u0001${channel}`;

export interface PlaceCommand {
  readonly kind: "placeReservation";
  readonly idempotencyKey: string;
  readonly source: { system: string; document: { type: string; id: string } };
  readonly businessTime: string;
  readonly correlationId: string;
  readonly position: Position;
  readonly quantity: { value: number; uom: string };
  readonly reservationId: string;
  readonly channel: string;
  readonly ttlSeconds: number;
  readonly documents?: { order: string };
}

export const hashOf = (body: unknown): string =>
  createHash("sha256").update(canonicalJson(body)).digest("hex");

/**
 * The command of a placement at one location. Its reservation id and command key derive from the
 * idempotency scope and key and the location, so that each location tried gets its own and a retry
 * the same. `startedAt`: when the request was first received (its business time unless given).
 */
export const commandFor = (p: Placement, location: string, startedAt: string): PlaceCommand => {
  const r = p.request;
  const position = { region: r.region, location, sku: r.sku };
  const reservationId = reservationIdFor(position, p.scope, p.key);
  const own = r.channelReservationId;
  return {
    kind: "placeReservation",
    idempotencyKey:
      own !== undefined ? `channel:${p.channel}:${own}:${location}` : `api:${p.caller}:${p.key}:${location}`,
    source: { system: p.system, document: { type: "reservation", id: own ?? reservationId } },
    businessTime: r.businessTime ?? startedAt,
    correlationId: r.correlationId ?? reservationId,
    position,
    quantity: { value: r.quantity, uom: r.uom ?? "EA" },
    reservationId,
    channel: p.channel,
    ttlSeconds: p.ttlSeconds,
    ...(r.order !== undefined ? { documents: { order: r.order } } : {}),
  };
};

/** The releaseReservation command of a reservation, sent as `system`. */
export const releaseCommand = (system: string, position: Position, reservationId: string) => {
  const at = new Date().toISOString();
  return {
    kind: "releaseReservation",
    idempotencyKey: `api-release:${reservationId}:${at}`,
    source: { system, document: { type: "reservation", id: reservationId } },
    businessTime: at,
    correlationId: reservationId,
    position,
    reservationId,
  };
};

/** When a command placed at its business time expires (the node's own rule, for answers without its event). */
export const expiryOf = (c: PlaceCommand): string =>
  new Date(Date.parse(c.businessTime) + c.ttlSeconds * 1000).toISOString();

/** `source.system` of a stored placeReservation command (to release it as the system that placed it). */
export const systemOfCommand = (command: string | undefined): string | undefined => {
  if (command === undefined) return undefined;
  try {
    const system = (JSON.parse(command) as { source?: { system?: unknown } }).source?.system;
    return typeof system === "string" ? system : undefined;
  } catch {
    return undefined;
  }
};
