/**
 * HTTP audit routes (DESIGN §5): a position's current state, its history (as of a time, with
 * chain verification) and the lineage of a correlation id.
 *
 *   GET /v1/positions/:location/:sku                      state, ATP breakdown, revision, head hash
 *   GET /v1/positions/:location/:sku/history?asOf=&by=&verify=   (verify also holds the head against
 *                                                                 the published events when wired)
 *   GET /v1/trace/:correlationId
 *
 * `region` (query) picks the regional store when the server has several; without it the stores
 * are searched in order (a location lives in one region). Parameters are decoded with io-ts
 * (`decodeOr400`); the JSON schemas below are documentation for OpenAPI only.
 */
import type { FastifyInstance } from "fastify";
import * as t from "io-ts";
import { reservationsById } from "../../domain/reservation-book.ts";
import { IsoTimestampC, KeyC, LocationIdC, RegionC, SkuC } from "../../domain/scalars.ts";
import { decodeOr400 } from "../../infra/http/http-server.ts";
import { type PublishedHeads, type ReplayResult, type ReplayStore, replayPosition } from "./replay.ts";
import { type PostingsFor, type TraceSource, traceCorrelation } from "./trace.ts";

export interface RegionStore {
  readonly region: string;
  readonly store: ReplayStore & TraceSource["store"];
  /** The region's published events, to hold a verified stream's head against (see replay.ts). */
  readonly published?: PublishedHeads;
}

export interface PositionRoutesDeps {
  /** One store per region this server can read. */
  readonly stores: readonly RegionStore[];
  readonly postingsFor?: PostingsFor;
}

const BoolStringC = t.keyof({ true: null, false: null }, '"true" | "false"');

// The limits of commands (limits.ts): an id no command can carry names no position, and a lone
// surrogate would make the stream id's encoding throw.
const PositionParamsC = t.type({ location: LocationIdC, sku: SkuC }, "{ location, sku }");
const PositionQueryC = t.partial({ region: RegionC }, "{ region? }");
const HistoryQueryC = t.partial(
  {
    region: RegionC,
    asOf: IsoTimestampC,
    by: t.keyof({ recorded: null, business: null }, '"recorded" | "business"'),
    verify: BoolStringC,
  },
  "{ region?, asOf?, by?, verify? }",
);
const TraceParamsC = t.type({ correlationId: KeyC }, "{ correlationId }");

const notFound = (message: string) => ({ error: "not_found", message });

// OpenAPI documentation (never used to validate, see infra/http/http-server.ts).
const positionParamsSchema = {
  type: "object",
  properties: {
    location: { type: "string", description: "location id, verbatim (URL-encoded)" },
    sku: { type: "string", description: "SKU id, verbatim (URL-encoded)" },
  },
  required: ["location", "sku"],
} as const;
const regionQuery = {
  region: { type: "string", description: "region whose store holds the position (default: search all)" },
} as const;
const balancesSchema = { type: "object", additionalProperties: true } as const;
// 400 bodies come from decodeOr400 (`errors`: field, value, expected); the schema must keep them.
const errorSchema = {
  type: "object",
  properties: {
    error: { type: "string" },
    message: { type: "string" },
    errors: {
      type: "array",
      items: {
        type: "object",
        properties: {
          path: { type: "string" },
          value: {},
          expected: { type: "string" },
          message: { type: "string" },
        },
      },
    },
  },
} as const;
const issueSchema = {
  type: "object",
  properties: {
    kind: {
      type: "string",
      enum: ["hash", "link", "gap", "envelope", "undecodable", "truncated", "diverged"],
    },
    revision: { type: "integer" },
    expected: { type: "string" },
    actual: { type: "string" },
    message: { type: "string" },
  },
} as const;

const stateBody = (r: ReplayResult) => ({
  position: r.position,
  streamId: r.streamId,
  revision: r.revision,
  headRevision: r.headRevision,
  headHash: r.headHash,
  balances: r.balances,
  atp: r.atp,
  reservations: reservationsById(r.state.reservations),
  inbound: r.state.inbound,
});

export const registerPositionRoutes = (app: FastifyInstance, deps: PositionRoutesDeps): void => {
  const storesFor = (region: string | undefined) =>
    region === undefined ? deps.stores : deps.stores.filter((s) => s.region === region);

  /** Replays the position from the first store that has it. */
  const replay = async (
    location: string,
    sku: string,
    region: string | undefined,
    options: Parameters<typeof replayPosition>[2],
  ): Promise<ReplayResult | undefined> => {
    for (const s of storesFor(region)) {
      const r = await replayPosition(
        s.store,
        { location, sku, region: s.region },
        options?.verify && s.published ? { ...options, published: s.published } : options,
      );
      if (r !== undefined) return r;
    }
    return undefined;
  };

  app.get(
    "/v1/positions/:location/:sku",
    {
      schema: {
        summary: "current state of a position: balances, ATP breakdown, revision and head hash",
        tags: ["audit"],
        params: positionParamsSchema,
        querystring: { type: "object", properties: regionQuery },
        response: {
          200: {
            type: "object",
            properties: {
              position: { type: "object", additionalProperties: true },
              streamId: { type: "string" },
              revision: { type: "integer" },
              headRevision: { type: "integer" },
              headHash: { type: "string" },
              balances: balancesSchema,
              atp: balancesSchema,
              reservations: balancesSchema,
              inbound: balancesSchema,
            },
          },
          400: errorSchema,
          404: errorSchema,
        },
      },
    },
    async (req, reply) => {
      const params = decodeOr400(PositionParamsC, req.params, reply);
      if (!params) return reply;
      const query = decodeOr400(PositionQueryC, req.query, reply);
      if (!query) return reply;
      const r = await replay(params.location, params.sku, query.region, { collectEvents: false });
      if (!r) return reply.code(404).send(notFound(`no position ${params.location} / ${params.sku}`));
      return stateBody(r);
    },
  );

  app.get(
    "/v1/positions/:location/:sku/history",
    {
      schema: {
        summary: "a position's events with the state after each, as of a time, with hash-chain verification",
        description:
          "asOf with by=recorded (default): what was known at that time; by=business: what the stock was at that time.",
        tags: ["audit"],
        params: positionParamsSchema,
        querystring: {
          type: "object",
          properties: {
            ...regionQuery,
            asOf: { type: "string", format: "date-time" },
            by: { type: "string", enum: ["recorded", "business"], default: "recorded" },
            verify: { type: "string", enum: ["true", "false"], default: "false" },
          },
        },
        response: {
          200: {
            type: "object",
            properties: {
              position: { type: "object", additionalProperties: true },
              asOf: { type: "object", additionalProperties: true },
              events: { type: "array", items: { type: "object", additionalProperties: true } },
              balances: balancesSchema,
              atp: balancesSchema,
              revision: { type: "integer" },
              headRevision: { type: "integer" },
              headHash: { type: "string" },
              verification: {
                type: "object",
                properties: {
                  ok: { type: "boolean" },
                  eventsChecked: { type: "integer" },
                  issues: { type: "array", items: issueSchema },
                },
              },
              warnings: { type: "array", items: { type: "object", additionalProperties: true } },
            },
          },
          400: errorSchema,
          404: errorSchema,
        },
      },
    },
    async (req, reply) => {
      const params = decodeOr400(PositionParamsC, req.params, reply);
      if (!params) return reply;
      const query = decodeOr400(HistoryQueryC, req.query, reply);
      if (!query) return reply;
      const r = await replay(params.location, params.sku, query.region, {
        verify: query.verify === "true",
        ...(query.asOf ? { asOf: { time: query.asOf, by: query.by ?? "recorded" } } : {}),
      });
      if (!r) return reply.code(404).send(notFound(`no position ${params.location} / ${params.sku}`));
      return {
        position: r.position,
        streamId: r.streamId,
        asOf: r.asOf ?? null,
        events: r.events,
        balances: r.balances,
        atp: r.atp,
        revision: r.revision,
        headRevision: r.headRevision,
        headHash: r.headHash,
        verification: r.verification ?? null,
        warnings: r.warnings,
      };
    },
  );

  app.get(
    "/v1/trace/:correlationId",
    {
      schema: {
        summary: "lineage of a correlation id: source documents, events in every region, postings and acks",
        tags: ["audit"],
        params: {
          type: "object",
          properties: { correlationId: { type: "string" } },
          required: ["correlationId"],
        },
        response: {
          200: {
            type: "object",
            properties: {
              correlationId: { type: "string" },
              regions: { type: "array", items: { type: "string" } },
              sourceDocuments: { type: "array", items: { type: "object", additionalProperties: true } },
              events: { type: "array", items: { type: "object", additionalProperties: true } },
              postingSummary: { type: "object", additionalProperties: { type: "integer" } },
            },
          },
          400: errorSchema,
          404: errorSchema,
        },
      },
    },
    async (req, reply) => {
      const params = decodeOr400(TraceParamsC, req.params, reply);
      if (!params) return reply;
      const trace = await traceCorrelation(
        params.correlationId,
        deps.stores.map((s) => ({ name: s.region, store: s.store })),
        deps.postingsFor,
      );
      if (trace.events.length === 0)
        return reply.code(404).send(notFound(`no event has correlation id ${params.correlationId}`));
      return trace;
    },
  );
};
