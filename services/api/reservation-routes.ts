/** Reservation routes: place (`POST`), read (`GET`), release (`DELETE`), and the degraded-mode report. */
import type { FastifyInstance } from "fastify";
import { decodeOr400 } from "../../infra/http/http-server.ts";
import { ROUTE_ROLES } from "./access-control.ts";
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

const idParams = { type: "object", properties: { id: { type: "string" } }, required: ["id"] } as const;

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
        headers: { type: "object", properties: { "idempotency-key": { type: "string" } } },
        body: {
          type: "object",
          required: ["sku", "region", "quantity", "channel"],
          properties: {
            sku: { type: "string" },
            region: { type: "string" },
            location: { type: "string", description: "one location; omit to let `sourcing` choose" },
            sourcing: {
              type: "object",
              description:
                '{ "rule": "mostAvailableFirst" } (default) or { "rule": "priority", "locations": [...] }',
              properties: {
                rule: { type: "string", enum: ["mostAvailableFirst", "priority"] },
                locations: { type: "array", items: { type: "string" } },
              },
            },
            quantity: { type: "integer", minimum: 1 },
            uom: { type: "string", description: "default EA (base unit)" },
            channel: { type: "string" },
            ttlSeconds: { type: "integer", minimum: 1 },
            order: { type: "string" },
            idempotencyKey: { type: "string" },
            correlationId: { type: "string" },
          },
        },
        response: {
          201: reservationSchema,
          202: reservationSchema,
          400: errorSchema,
          409: errorSchema,
          422: errorSchema,
          503: errorSchema,
        },
      },
    },
    async (req, reply) => {
      const body = decodeOr400(PlaceReservationBodyC, req.body, reply);
      if (!body) return reply;
      const header = req.headers["idempotency-key"];
      const a = await service.place(
        req.caller!.name,
        body,
        typeof header === "string" && header.length > 0 ? header : undefined,
      );
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
        response: { 200: reservationSchema, 404: errorSchema },
      },
    },
    async (req, reply) => {
      const a = await service.get(req.params.id);
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
        response: { 200: reservationSchema, 202: reservationSchema, 404: errorSchema, 422: errorSchema },
      },
    },
    async (req, reply) => {
      const a = await service.release(req.params.id);
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
