/**
 * `GET /v1/availability/:sku` and `POST /v1/availability/query`. Served from memory: the cached
 * serialized figures of the SKU plus freshness (see availability.ts); only `date=` (time-phased
 * ATP) reads the regional read models.
 */
import type { FastifyInstance, FastifyReply } from "fastify";
import * as t from "io-ts";
import { idJsonSchema } from "../../domain/limits.ts";
import { RegionC, SkuC, timestampProblem } from "../../domain/scalars.ts";
import { badRequest, decodeOr400 } from "../../infra/http/http-server.ts";
import { DEFAULT_TIME_PHASED_CONFIG } from "../../projections/time-phased-atp.ts";
import { ROUTE_ROLES } from "./access-control.ts";
import type { AvailabilityService, TimePhasedReader } from "./availability.ts";

const totalsSchema = {
  type: "object",
  properties: {
    atp: { type: "integer", description: "last known ATP (sum)" },
    promisable: {
      type: "integer",
      description:
        "what reservations may take now: ATP, or constrained ATP for stale regions, less degraded holds",
    },
    heldDegraded: { type: "integer" },
    available: { type: "integer" },
    reserved: { type: "integer" },
    onHand: { type: "integer" },
    safetyStock: { type: "integer" },
    inboundInTransit: { type: "integer" },
    locations: { type: "integer" },
    atpOnDate: { type: "integer", description: "time-phased ATP on `date` (only with date=)" },
  },
} as const;

const availabilitySchema = {
  type: "object",
  properties: {
    sku: { type: "string" },
    known: {
      type: "boolean",
      description:
        "in the product catalogue (when one is configured), else seen in some region; false: the zeros mean the SKU was never seen, not that it is sold out",
    },
    date: { type: "string", description: "the date asked for (only with date=)" },
    total: totalsSchema,
    regions: {
      type: "array",
      items: {
        type: "object",
        properties: { region: { type: "string" }, stale: { type: "boolean" }, ...totalsSchema.properties },
      },
    },
    locations: {
      type: "array",
      items: {
        type: "object",
        properties: {
          region: { type: "string" },
          location: { type: "string" },
          atp: { type: "integer" },
          promisable: { type: "integer" },
          heldDegraded: { type: "integer" },
          available: { type: "integer" },
          reserved: { type: "integer" },
          safetyStock: { type: "integer" },
          net: { type: "integer", description: "available − reserved − safety stock (may be negative)" },
          sellable: { type: "boolean", description: "lifecycle is active" },
          onHand: { type: "integer" },
          inboundInTransit: { type: "integer" },
          lifecycle: { type: "string", enum: ["active", "onHold", "discontinued"] },
          lastRevision: { type: "integer" },
          businessTime: { type: "string", description: "business time of the last event applied" },
          recordedTime: { type: "string", description: "recorded time of the last event applied" },
          stale: { type: "boolean" },
          atpOnDate: { type: "integer" },
        },
      },
    },
    stale: { type: "boolean", description: "true when any region asked about is stale" },
    asOf: {
      type: "string",
      description: "the figures of every region asked about are complete as of this time",
    },
    freshness: {
      type: "array",
      items: {
        type: "object",
        properties: {
          region: { type: "string" },
          stale: { type: "boolean" },
          link: { type: "string", enum: ["up", "down", "unknown"] },
          asOf: { type: "string" },
          stalenessMs: { type: "integer" },
          reasons: { type: "array", items: { type: "string" } },
        },
      },
    },
  },
  examples: [
    {
      sku: "SKU-1",
      known: true,
      total: {
        atp: 8,
        available: 10,
        reserved: 2,
        safetyStock: 0,
        onHand: 12,
        inboundInTransit: 5,
        locations: 1,
        promisable: 8,
        heldDegraded: 0,
      },
      regions: [
        {
          region: "eu",
          stale: false,
          atp: 8,
          available: 10,
          reserved: 2,
          safetyStock: 0,
          onHand: 12,
          inboundInTransit: 5,
          locations: 1,
          promisable: 8,
          heldDegraded: 0,
        },
      ],
      locations: [
        {
          region: "eu",
          location: "DC1",
          available: 10,
          reserved: 2,
          safetyStock: 0,
          net: 8,
          atp: 8,
          sellable: true,
          lifecycle: "active",
          onHand: 12,
          inboundInTransit: 5,
          lastRevision: 41,
          businessTime: "2026-05-01T09:58:00Z",
          recordedTime: "2026-05-01T09:58:01Z",
          promisable: 8,
          heldDegraded: 0,
          stale: false,
        },
      ],
      stale: false,
      asOf: "2026-05-01T10:00:00Z",
      freshness: [
        {
          region: "eu",
          stale: false,
          link: "up",
          asOf: "2026-05-01T10:00:00Z",
          stalenessMs: 120,
          reasons: [],
        },
      ],
    },
  ],
} as const;

const errorSchema = {
  type: "object",
  properties: { error: { type: "string" }, message: { type: "string" } },
  additionalProperties: true,
} as const;

const unknownSkuSchema = {
  ...errorSchema,
  description: "the SKU is not in the product catalogue",
  examples: [{ error: "unknown_sku", message: 'sku: "NOPE-1" is not in the product catalogue' }],
} as const;

const unknownSku = (sku: string) => ({
  error: "unknown_sku",
  message: `sku: ${JSON.stringify(sku)} is not in the product catalogue`,
});

// A real calendar day (Date.parse would roll 2024-02-30 over to March), by the timestamps' rules.
const isDate = (u: unknown): u is string =>
  typeof u === "string" && /^\d{4}-\d{2}-\d{2}$/.test(u) && timestampProblem(`${u}T00:00:00Z`) === undefined;
const DateC = new t.Type<string, string, unknown>(
  "a date YYYY-MM-DD",
  isDate,
  (u, c) => (isDate(u) ? t.success(u) : t.failure(u, c)),
  t.identity,
);

/** The SKU of a path: the same limits as in commands, so that no key or subject made from it fails. */
const SkuParamsC = t.type({ sku: SkuC });

const QueryBodyC = t.intersection([
  t.type({ skus: t.array(SkuC) }),
  t.partial({ regions: t.array(RegionC), date: DateC }),
]);

const JSON_TYPE = "application/json; charset=utf-8";

export interface AvailabilityRoutesDeps {
  readonly service: AvailabilityService;
  readonly regions: readonly string[];
  readonly readTimePhased: TimePhasedReader;
  readonly maxQuerySkus?: number;
}

export const registerAvailabilityRoutes = (app: FastifyInstance, d: AvailabilityRoutesDeps): void => {
  const configured = new Set(d.regions);
  const maxSkus = d.maxQuerySkus ?? 1000;
  const horizon = DEFAULT_TIME_PHASED_CONFIG.horizonDays;

  const checkRegions = (regions: readonly string[], field: string, reply: FastifyReply): boolean => {
    for (const [i, r] of regions.entries()) {
      if (!configured.has(r)) {
        const path = regions.length > 1 || field.endsWith("s") ? `${field}.${i}` : field;
        void reply.code(400).send(
          badRequest([
            {
              path,
              value: r,
              expected: `one of the configured regions (${d.regions.join(", ")})`,
              message: `${path}: got ${JSON.stringify(r)}, expected one of the configured regions (${d.regions.join(", ")})`,
            },
          ]),
        );
        return false;
      }
    }
    return true;
  };

  const checkDate = (date: string, reply: FastifyReply): boolean => {
    const today = new Date().toISOString().slice(0, 10);
    const last = new Date(Date.parse(today) + horizon * 86_400_000).toISOString().slice(0, 10);
    if (date >= today && date <= last) return true;
    const expected = `a date from ${today} to ${last} (today and the ${horizon}-day horizon)`;
    void reply.code(400).send(
      badRequest([
        {
          path: "date",
          value: date,
          expected,
          message: `date: got ${JSON.stringify(date)}, expected ${expected}`,
        },
      ]),
    );
    return false;
  };

  app.get<{ Params: { sku: string }; Querystring: { region?: string; date?: string } }>(
    "/v1/availability/:sku",
    {
      config: { roles: ROUTE_ROLES.availability },
      schema: {
        summary: "Availability (ATP) of one SKU per location, region and in total, with freshness",
        description:
          "404 `unknown_sku` when a product catalogue is configured and the SKU is not in it. Without a catalogue, " +
          "a SKU never seen in any region answers zeros with `known: false`.",
        tags: ["availability"],
        security: [{ apiKey: [] }],
        params: { type: "object", properties: { sku: idJsonSchema("sku") }, required: ["sku"] },
        querystring: {
          type: "object",
          properties: {
            region: { type: "string", description: "comma-separated region filter" },
            date: {
              type: "string",
              description: "YYYY-MM-DD: time-phased ATP on that day (within the horizon)",
            },
          },
        },
        response: {
          200: availabilitySchema,
          400: errorSchema,
          401: errorSchema,
          403: errorSchema,
          404: unknownSkuSchema,
          429: errorSchema,
        },
      },
    },
    async (req, reply) => {
      const params = decodeOr400(SkuParamsC, req.params, reply);
      if (!params) return reply;
      const sku = params.sku;
      if (d.service.hasCatalogue && !d.service.known(sku)) return reply.code(404).send(unknownSku(sku));
      const q = req.query;
      let regions: string[] | undefined;
      if (q.region !== undefined) {
        regions = q.region.split(",").map((s) => s.trim());
        if (!checkRegions(regions, "region", reply)) return reply;
      }
      if (q.date !== undefined) {
        const date = decodeOr400(t.type({ date: DateC }), { date: q.date }, reply);
        if (!date || !checkDate(date.date, reply)) return reply;
        const body = await d.service.onDate(sku, regions, date.date, d.readTimePhased, Date.now());
        return reply.type(JSON_TYPE).send(body);
      }
      return reply.type(JSON_TYPE).send(d.service.body(sku, regions));
    },
  );

  const dayItems = {
    type: "array",
    items: {
      type: "object",
      properties: { date: { type: "string" }, incoming: { type: "integer" }, atp: { type: "integer" } },
    },
  };
  const phasedProps = {
    from: { type: "string", description: "today (UTC), the first day" },
    days: dayItems,
    beyondHorizon: { type: "integer", description: "expected after the last day" },
    overdue: { type: "integer", description: "expected before today and not received (counted today)" },
    derivedEtas: {
      type: "integer",
      description: "inbound transfers without an ETA (ship time + lane transit)",
    },
  };
  app.get<{ Params: { sku: string }; Querystring: { region?: string } }>(
    "/v1/availability/:sku/timeline",
    {
      config: { roles: ROUTE_ROLES.availability },
      schema: {
        summary:
          "Time-phased ATP of one SKU: by day over the horizon, in total and per location (transfers at their ETA, open PO lines at their date)",
        tags: ["availability"],
        security: [{ apiKey: [] }],
        params: { type: "object", properties: { sku: idJsonSchema("sku") }, required: ["sku"] },
        querystring: {
          type: "object",
          properties: { region: { type: "string", description: "comma-separated region filter" } },
        },
        response: {
          200: {
            type: "object",
            properties: {
              sku: { type: "string" },
              known: availabilitySchema.properties.known,
              ...phasedProps,
              locations: {
                type: "array",
                items: {
                  type: "object",
                  properties: {
                    region: { type: "string" },
                    location: { type: "string" },
                    stale: { type: "boolean" },
                    ...phasedProps,
                  },
                },
              },
              stale: { type: "boolean" },
              asOf: { type: "string" },
              freshness: availabilitySchema.properties.freshness,
            },
          },
          400: errorSchema,
          401: errorSchema,
          403: errorSchema,
          404: unknownSkuSchema,
          429: errorSchema,
        },
      },
    },
    async (req, reply) => {
      const params = decodeOr400(SkuParamsC, req.params, reply);
      if (!params) return reply;
      if (d.service.hasCatalogue && !d.service.known(params.sku))
        return reply.code(404).send(unknownSku(params.sku));
      let regions: string[] | undefined;
      if (req.query.region !== undefined) {
        regions = req.query.region.split(",").map((s) => s.trim());
        if (!checkRegions(regions, "region", reply)) return reply;
      }
      const body = await d.service.timeline(params.sku, regions, d.readTimePhased, Date.now());
      return reply.type(JSON_TYPE).send(body);
    },
  );

  app.post<{ Body: unknown }>(
    "/v1/availability/query",
    {
      config: { roles: ROUTE_ROLES.availability },
      schema: {
        summary: "Availability of many SKUs at once",
        description:
          "One item per SKU, in order. With a product catalogue, a SKU outside it is an item " +
          '`{ "sku", "known": false, "error": "unknown_sku", "message" }`.',
        tags: ["availability"],
        security: [{ apiKey: [] }],
        body: {
          type: "object",
          required: ["skus"],
          properties: {
            skus: { type: "array", items: idJsonSchema("sku"), maxItems: maxSkus },
            regions: { type: "array", items: { type: "string" } },
            date: { type: "string", description: "YYYY-MM-DD" },
          },
        },
        response: {
          200: { type: "object", properties: { items: { type: "array", items: availabilitySchema } } },
          400: errorSchema,
        },
      },
    },
    async (req, reply) => {
      const body = decodeOr400(QueryBodyC, req.body, reply);
      if (!body) return reply;
      if (body.skus.length === 0 || body.skus.length > maxSkus) {
        const expected = `1 to ${maxSkus} SKUs`;
        return reply.code(400).send(
          badRequest([
            {
              path: "skus",
              value: body.skus.length,
              expected,
              message: `skus: got ${body.skus.length} SKUs, expected ${expected}`,
            },
          ]),
        );
      }
      if (body.regions && !checkRegions(body.regions, "regions", reply)) return reply;
      if (body.date !== undefined && !checkDate(body.date, reply)) return reply;
      const itemOf = async (sku: string): Promise<string> => {
        if (d.service.hasCatalogue && !d.service.known(sku))
          return JSON.stringify({ sku, known: false, ...unknownSku(sku) });
        return body.date !== undefined
          ? d.service.onDate(sku, body.regions, body.date, d.readTimePhased, Date.now())
          : d.service.body(sku, body.regions);
      };
      const items = await Promise.all(body.skus.map(itemOf));
      return reply.type(JSON_TYPE).send(`{"items":[${items.join(",")}]}`);
    },
  );
};
