/**
 * Reservation routes: place (`POST`), read (`GET`), release (`DELETE`), and the degraded-mode report.
 * The service answers outcomes; the status codes are chosen here (`answerOf*`).
 */
import type { FastifyInstance } from "fastify";
import * as t from "io-ts";
import { idJsonSchema, MAX_QUANTITY, MAX_RESERVATION_TTL_SECONDS } from "../../domain/limits.ts";
import { ClientKeyC, DocumentIdC, ReservationIdC } from "../../domain/scalars.ts";
import { badRequest, decodeOr400 } from "../../infra/http/http-server.ts";
import { type Caller, ROUTE_ROLES, reservationScope } from "./access-control.ts";
import type { PlaceAnswer, ReadOutcome, ReleaseOutcome } from "./reservation-outcomes.ts";
import { PlaceReservationBodyC, type ReservationService, type Scope } from "./reservation-service.ts";

interface Answer {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

/** HTTP answer of a placement (a replayed one is answered as the first was, marked `replayed`). */
export const answerOfPlacement = (o: PlaceAnswer): Answer => {
  const replayed = o.replayed ? { replayed: true } : {};
  switch (o.kind) {
    case "confirmed":
      return { status: 201, body: { ...o.reservation, duplicate: o.duplicate, ...replayed } };
    case "held":
      return { status: 202, body: { ...o.reservation, message: o.message, ...replayed } };
    case "invalid":
      return { status: 400, body: { ...badRequest(o.errors) } };
    case "forbidden":
      return { status: 403, body: { error: "forbidden", message: o.message } };
    case "unknownSku":
      return { status: 422, body: { error: "unknown_sku", message: o.message, sku: o.sku } };
    case "idempotencyConflict":
      return { status: 422, body: { error: "idempotency_conflict", message: o.message } };
    case "reservationIdConflict":
      return {
        status: 409,
        body: {
          error: "reservation_id_conflict",
          message: o.message,
          channel: o.channel,
          channelReservationId: o.channelReservationId,
        },
      };
    case "insufficientAtp": {
      const { kind: _k, replayed: _r, ...rest } = o;
      return { status: 409, body: { error: "insufficient_atp", ...rest, ...replayed } };
    }
    case "rejected":
      return {
        status: o.invalidInput ? 400 : 422,
        body: { error: "rejected", code: o.code, message: o.message, reason: o.reason, ...replayed },
      };
    case "nodeInvalid":
      return { status: 400, body: { error: "bad_request", message: o.message, errors: o.errors } };
    case "notDecided":
      return { status: 503, body: { error: "not_decided", message: o.message, reply: o.reply } };
    case "sendDenied":
      return { status: 503, body: { error: "not_permitted_on_nats", message: o.message } };
  }
};

const answerOfRead = (o: ReadOutcome): Answer =>
  o.kind === "found"
    ? { status: 200, body: o.reservation }
    : { status: 404, body: { error: "not_found", message: o.message } };

const answerOfRelease = (o: ReleaseOutcome): Answer => {
  switch (o.kind) {
    case "released":
      return { status: 200, body: o.reservation };
    case "releasePending":
      return { status: 202, body: { ...o.reservation, message: o.message } };
    case "notFound":
      return { status: 404, body: { error: "not_found", message: o.message } };
    case "rejected":
      return { status: 422, body: { error: "rejected", message: o.message, reply: o.reply } };
    case "sendDenied":
      return { status: 503, body: { error: "not_permitted_on_nats", message: o.message } };
  }
};

/** The caller's scope on reservations, with the channel its key speaks for. */
const scopeOf = (caller: Caller, action: "read" | "release"): Scope => ({
  ...reservationScope(caller, action),
  ...(caller.channel !== undefined ? { channel: caller.channel } : {}),
});

const reservationSchema = {
  type: "object",
  properties: {
    reservationId: { type: "string" },
    status: {
      type: "string",
      enum: [
        "confirmed",
        "held",
        "open",
        "closed",
        "released",
        "releasePending",
        "compensated",
        "expiredWhileHeld",
        "unknown",
      ],
    },
    region: { type: "string" },
    location: { type: "string" },
    sku: { type: "string" },
    quantity: { type: "integer" },
    channel: { type: "string" },
    channelReservationId: { type: "string", description: "the channel's own id, when it gave one" },
    businessTime: { type: "string", description: "when the channel decided it" },
    expiresAt: { type: "string" },
    degraded: { type: "boolean" },
  },
  additionalProperties: true,
  examples: [
    {
      reservationId: "r1.WyJldSIsIkRDMSIsIlNLVS0xIl0.3q2-7wXkQm2b9vJ1cV8y0A",
      status: "confirmed",
      region: "eu",
      location: "DC1",
      sku: "SKU-1",
      quantity: 2,
      channel: "SHOP_NL",
      channelReservationId: "order-4711-line-1",
      businessTime: "2026-05-01T10:00:00Z",
      expiresAt: "2026-05-01T10:15:00Z",
      degraded: false,
    },
  ],
} as const;

const errorSchema = {
  type: "object",
  properties: { error: { type: "string" }, message: { type: "string" } },
  additionalProperties: true,
} as const;

const idParams = {
  type: "object",
  properties: { id: idJsonSchema("reservationId") },
  required: ["id"],
} as const;

// Decoded like bodies, so that a huge or malformed id is a 400 naming it, not a failed KV read.
const IdParamsC = t.type({ id: ReservationIdC });
const ChannelIdParamsC = t.type({ channelReservationId: DocumentIdC });
const IdempotencyHeaderC = t.partial({ "idempotency-key": ClientKeyC });

export const registerReservationRoutes = (app: FastifyInstance, service: ReservationService): void => {
  app.post<{ Body: unknown }>(
    "/v1/reservations",
    {
      config: { roles: ROUTE_ROLES.placeReservation },
      schema: {
        summary: "Reserve stock of a SKU at a location, or at any location of a region by a sourcing rule",
        description:
          "Decided synchronously by the region's node. 201: confirmed. 202: held in degraded mode (region unreachable), " +
          "confirmed or compensated when it returns. 409: not enough ATP (`available` says how much). " +
          "Send an `Idempotency-Key` header (or `idempotencyKey`): a retry returns the first answer. " +
          "An API key bound to a channel speaks for it: the reservation is the channel's command " +
          "(`source.system` = the channel, so ownership rules can name it), `channel` may be omitted, and " +
          "`channelReservationId` (the channel's own id, e.g. its order-line id) makes it idempotent on " +
          "(channel, id): the same id and payload answer the first outcome, the same id with another payload is " +
          "409 `reservation_id_conflict`. 422 `unknown_sku`: not in the product catalogue. " +
          "403: `channel` names another channel than the key's. 503 `not_permitted_on_nats`: the API's NATS user " +
          "does not speak for the channel (a deployment error, see services/api/CHANNELS.md).",
        tags: ["reservations"],
        security: [{ apiKey: [] }],
        headers: { type: "object", properties: { "idempotency-key": idJsonSchema("clientKey") } },
        body: {
          type: "object",
          required: ["sku", "region", "quantity"],
          properties: {
            sku: idJsonSchema("sku"),
            region: { type: "string" },
            location: idJsonSchema("location", "one location; omit to let `sourcing` choose"),
            sourcing: {
              type: "object",
              description:
                '{ "rule": "mostAvailableFirst" } (default) or { "rule": "priority", "locations": [...] }',
              properties: {
                rule: { type: "string", enum: ["mostAvailableFirst", "priority"] },
                locations: { type: "array", items: idJsonSchema("location"), maxItems: 1000 },
              },
            },
            quantity: { type: "integer", minimum: 1, maximum: MAX_QUANTITY },
            uom: idJsonSchema("code", "default EA (base unit)"),
            channel: idJsonSchema("system", "required unless the API key is bound to a channel"),
            channelReservationId: idJsonSchema(
              "document",
              "the channel's own id of this reservation (only with a key bound to a channel); idempotent on (channel, id)",
            ),
            businessTime: {
              type: "string",
              format: "date-time",
              description:
                "when the channel decided it (ISO 8601 with offset, years 1970-2999); default: when the API received it",
            },
            ttlSeconds: { type: "integer", minimum: 1, maximum: MAX_RESERVATION_TTL_SECONDS },
            order: idJsonSchema("document"),
            idempotencyKey: idJsonSchema("clientKey"),
            correlationId: idJsonSchema("key"),
          },
          examples: [
            { sku: "SKU-1", region: "eu", quantity: 2, channelReservationId: "order-4711-line-1" },
            { sku: "SKU-1", region: "eu", quantity: 2, channel: "web", location: "DC1", ttlSeconds: 900 },
          ],
        },
        response: {
          201: reservationSchema,
          202: reservationSchema,
          400: errorSchema,
          403: errorSchema,
          409: errorSchema,
          413: errorSchema,
          422: errorSchema,
          503: errorSchema,
        },
      },
    },
    async (req, reply) => {
      const body = decodeOr400(PlaceReservationBodyC, req.body, reply);
      if (!body) return reply;
      const header = req.headers["idempotency-key"];
      const key =
        typeof header === "string" && header.length > 0
          ? decodeOr400(IdempotencyHeaderC, { "idempotency-key": header }, reply)
          : {};
      if (!key) return reply;
      const caller = req.caller!;
      const who = {
        caller: caller.name,
        ...(caller.channel !== undefined ? { channel: caller.channel } : {}),
      };
      const a = answerOfPlacement(await service.place(who, body, key["idempotency-key"]));
      return reply.code(a.status).send(a.body);
    },
  );

  app.get<{ Params: { id: string } }>(
    "/v1/reservations/:id",
    {
      config: { roles: ROUTE_ROLES.readReservation },
      schema: {
        summary: "A reservation: open (with what remains), held (degraded), or what became of it",
        tags: ["reservations"],
        security: [{ apiKey: [] }],
        params: idParams,
        response: { 200: reservationSchema, 400: errorSchema, 404: errorSchema },
      },
    },
    async (req, reply) => {
      const params = decodeOr400(IdParamsC, req.params, reply);
      if (!params) return reply;
      const a = answerOfRead(await service.get(params.id, scopeOf(req.caller!, "read")));
      return reply.code(a.status).send(a.body);
    },
  );

  app.get<{ Params: { channelReservationId: string } }>(
    "/v1/reservations/by-channel-id/:channelReservationId",
    {
      config: { roles: ROUTE_ROLES.readReservation },
      schema: {
        summary: "A reservation by the id its channel gave it (`channelReservationId`)",
        description:
          "Only with an API key bound to a channel (400 otherwise): the channel's reservation with that id, " +
          "as `GET /v1/reservations/:id` answers it (same scope).",
        tags: ["reservations"],
        security: [{ apiKey: [] }],
        params: {
          type: "object",
          properties: { channelReservationId: idJsonSchema("document") },
          required: ["channelReservationId"],
        },
        response: { 200: reservationSchema, 400: errorSchema, 404: errorSchema },
      },
    },
    async (req, reply) => {
      const params = decodeOr400(ChannelIdParamsC, req.params, reply);
      if (!params) return reply;
      const caller = req.caller!;
      if (caller.channel === undefined) {
        const expected = "an API key bound to a channel";
        return reply.code(400).send(
          badRequest([
            {
              path: "channelReservationId",
              value: params.channelReservationId,
              expected,
              message: `channelReservationId: API key ${JSON.stringify(caller.name)} is bound to no channel; expected ${expected}`,
            },
          ]),
        );
      }
      const o = await service.getByChannelId(
        caller.channel,
        params.channelReservationId,
        scopeOf(caller, "read"),
      );
      const a = answerOfRead(o);
      return reply.code(a.status).send(a.body);
    },
  );

  app.delete<{ Params: { id: string } }>(
    "/v1/reservations/:id",
    {
      config: { roles: ROUTE_ROLES.releaseReservation },
      schema: {
        summary: "Release a reservation (its remaining quantity goes back to ATP)",
        tags: ["reservations"],
        security: [{ apiKey: [] }],
        params: idParams,
        response: {
          200: reservationSchema,
          202: reservationSchema,
          400: errorSchema,
          404: errorSchema,
          422: errorSchema,
        },
      },
    },
    async (req, reply) => {
      const params = decodeOr400(IdParamsC, req.params, reply);
      if (!params) return reply;
      const a = answerOfRelease(await service.release(params.id, scopeOf(req.caller!, "release")));
      return reply.code(a.status).send(a.body);
    },
  );

  app.get(
    "/v1/degraded/holds",
    {
      config: { roles: ROUTE_ROLES.degradedHolds },
      schema: {
        summary: "Degraded mode: reservations held, compensated or expired while held, and queued releases",
        tags: ["operations"],
        security: [{ apiKey: [] }],
      },
    },
    async (_req, reply) => reply.send(service.degradedReport()),
  );

  app.post(
    "/v1/degraded/reconcile",
    {
      config: { roles: ROUTE_ROLES.degradedHolds },
      schema: {
        summary: "Send held reservations and queued releases to reachable regions now",
        tags: ["operations"],
        security: [{ apiKey: [] }],
      },
    },
    async (_req, reply) => reply.send(await service.reconcile()),
  );
};
