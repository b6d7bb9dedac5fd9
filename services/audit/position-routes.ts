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
 * (`decodeOr400`), and their OpenAPI schemas are generated from the same codecs (`jsonSchemaOf`).
 */
import type { FastifyInstance } from "fastify";
import * as t from "io-ts";
import { BalancesC } from "../../domain/canonical-event.ts";
import { reservationsById } from "../../domain/reservation-book.ts";
import { IsoTimestampC, KeyC, LocationIdC, RegionC, SkuC } from "../../domain/scalars.ts";
import { jsonSchemaOf, openObjects, withExample } from "../../infra/http/codec-json-schema.ts";
import { errorBody, errorResponses } from "../../infra/http/http-errors.ts";
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

const notFound = (message: string) => errorBody("not_found", message);

// --- OpenAPI, from the codecs above where there is one ------------------------------------------------

const POSITION = { sku: "SKU-1001", location: "DC-BERLIN", region: "eu" };
const BALANCES_EXAMPLE = {
  onHand: { available: 120, inspection: 0, blocked: 5, consigned: 0, picked: 2 },
  reserved: 10,
  safetyStock: 5,
  inboundInTransit: 40,
  atp: 105,
  lifecycle: "active",
};
const ATP_EXAMPLE = {
  available: 120,
  reserved: 10,
  safetyStock: 5,
  net: 105,
  atp: 105,
  sellable: true,
  lifecycle: "active",
};
const HEAD = {
  revision: 41,
  headRevision: 41,
  headHash: "9f2b6c1de4a7b8c90123456789abcdef0123456789abcdef0123456789abcdef",
};
const open = (description: string) => ({ type: "object", additionalProperties: true, description });

const positionParamsSchema = jsonSchemaOf(PositionParamsC);
// Response schemas also serialise: opened, so that a field the codec does not list is not dropped.
const balancesSchema = openObjects(jsonSchemaOf(BalancesC, { description: "balances in the base unit" }));
const atpSchema = open("ATP breakdown: available - reserved - safety stock, clamped, and whether sellable");
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

const stateResponse = withExample(
  {
    type: "object",
    description: "the position's state after its last event",
    properties: {
      position: open("sku, location, region"),
      streamId: { type: "string" },
      revision: { type: "integer" },
      headRevision: { type: "integer" },
      headHash: { type: "string" },
      balances: balancesSchema,
      atp: atpSchema,
      reservations: open("open reservations by id"),
      inbound: open("inbound transfers in transit"),
    },
  },
  {
    position: POSITION,
    streamId: "position-eu-DC-BERLIN-SKU-1001",
    ...HEAD,
    balances: BALANCES_EXAMPLE,
    atp: ATP_EXAMPLE,
    reservations: { "res-8f2c": { quantity: 10, expiresAt: "2026-05-02T10:00:00Z" } },
    inbound: {},
  },
);

const historyResponse = withExample(
  {
    type: "object",
    description: "the events (with the state after each), the state as of the time, and the verification",
    properties: {
      position: open("sku, location, region"),
      asOf: { ...open("the time and its kind (recorded or business); null without asOf"), nullable: true },
      events: { type: "array", items: open("a canonical event and the balances after it") },
      balances: balancesSchema,
      atp: atpSchema,
      revision: { type: "integer" },
      headRevision: { type: "integer" },
      headHash: { type: "string" },
      verification: {
        type: "object",
        nullable: true,
        description: "null unless verify=true",
        properties: {
          ok: { type: "boolean" },
          eventsChecked: { type: "integer" },
          issues: { type: "array", items: issueSchema },
        },
      },
      warnings: { type: "array", items: open("a replay warning (e.g. balances that differ)") },
    },
  },
  {
    position: POSITION,
    streamId: "position-eu-DC-BERLIN-SKU-1001",
    asOf: { time: "2026-05-01T10:00:00Z", by: "business" },
    events: [
      {
        revision: 41,
        event: { type: "GoodsReceived", quantity: 40, businessTime: "2026-05-01T09:58:00Z" },
        balances: BALANCES_EXAMPLE,
      },
    ],
    balances: BALANCES_EXAMPLE,
    atp: ATP_EXAMPLE,
    ...HEAD,
    verification: { ok: true, eventsChecked: 42, issues: [] },
    warnings: [],
  },
);

const traceResponse = withExample(
  {
    type: "object",
    description: "the lineage of the correlation id",
    properties: {
      correlationId: { type: "string" },
      regions: { type: "array", items: { type: "string" } },
      sourceDocuments: { type: "array", items: open("system, document and the events it caused") },
      events: { type: "array", items: open("an event with its postings") },
      postingSummary: { type: "object", additionalProperties: { type: "integer" } },
    },
  },
  {
    correlationId: "corr-7d1e",
    regions: ["eu"],
    sourceDocuments: [
      { system: "wms-berlin", document: "ASN-5521", eventIds: ["eu:position-eu-DC-BERLIN-SKU-1001:41"] },
    ],
    events: [
      {
        ...POSITION,
        revision: 41,
        type: "GoodsReceived",
        quantity: 40,
        recordedTime: "2026-05-01T10:00:01Z",
        postings: [{ target: "erp", status: "acked" }],
      },
    ],
    postingSummary: { acked: 1 },
  },
);

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
        querystring: jsonSchemaOf(PositionQueryC),
        response: { 200: stateResponse, ...errorResponses(400, 404) },
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
        querystring: jsonSchemaOf(HistoryQueryC),
        response: { 200: historyResponse, ...errorResponses(400, 404) },
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
        params: jsonSchemaOf(TraceParamsC),
        response: { 200: traceResponse, ...errorResponses(400, 404) },
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
