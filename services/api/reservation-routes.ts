/** Reservation routes: place (`POST`), read (`GET`), release (`DELETE`), and the degraded-mode report. */
import type { FastifyInstance } from "fastify";
import * as t from "io-ts";
import { idJsonSchema, MAX_QUANTITY, MAX_RESERVATION_TTL_SECONDS } from "../../domain/limits.ts";
import { ClientKeyC, ReservationIdC } from "../../domain/scalars.ts";
import { decodeOr400 } from "../../infra/http/http-server.ts";
import { ROUTE_ROLES, reservationScope } from "./access-control.ts";
import { PlaceReservationBodyC, type ReservationService } from "./reservation-service.ts";

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
    expiresAt: { type: "string" },
    degraded: { type: "boolean" },
  },
  additionalProperties: true,
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
          "Send an `Idempotency-Key` header (or `idempotencyKey`): a retry returns the first answer.",
        tags: ["reservations"],
        security: [{ apiKey: [] }],
        headers: { type: "object", properties: { "idempotency-key": idJsonSchema("clientKey") } },
        body: {
          type: "object",
          required: ["sku", "region", "quantity", "channel"],
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
            channel: idJsonSchema("system"),
            ttlSeconds: { type: "integer", minimum: 1, maximum: MAX_RESERVATION_TTL_SECONDS },
            order: idJsonSchema("document"),
            idempotencyKey: idJsonSchema("clientKey"),
            correlationId: idJsonSchema("key"),
          },
        },
        response: {
          201: reservationSchema,
          202: reservationSchema,
          400: errorSchema,
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
      const a = await service.place(req.caller!.name, body, key["idempotency-key"]);
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
      const a = await service.get(params.id, reservationScope(req.caller!, "read"));
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
      const a = await service.release(params.id, reservationScope(req.caller!, "release"));
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
    async (_req, reply) => {
      const a = service.degradedReport();
      return reply.code(a.status).send(a.body);
    },
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
