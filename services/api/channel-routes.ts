/**
 * What a channel may sell of a SKU (issue 14), per location and in total, each figure explained:
 *
 *   GET  /v1/channels/:channel/availability/:sku?region=
 *   POST /v1/channels/:channel/availability  { skus: [...], region? }  (at most MAX_BULK_SKUS)
 *
 * The bulk answer is `{ channel, asOf, skus: [<the single route's answer per SKU, in order>] }`.
 *
 * Each location's figure is `availableToSell` (domain/channel-rules.ts) over the position's state,
 * read by replaying its stream (services/audit/replay.ts): the regional read model does not carry
 * channel rules and use yet. A key bound to a channel may ask only for its own channel (403).
 *
 * Mount it next to the others (api-server.ts is not changed by this file):
 *   registerChannelRoutes(app, { stores, locationsOf: (sku) => <the SKU's locations from the
 *   availability read model>, regions })
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import * as t from "io-ts";
import type { ChannelAvailability } from "../../domain/channel-rules.ts";
import type { Position } from "../../domain/ids.ts";
import { channelAvailabilityOf } from "../../domain/position-channels.ts";
import type { AtpBreakdown } from "../../domain/position-context.ts";
import { boundedArrayC, RegionC, SkuC, SystemIdC } from "../../domain/scalars.ts";
import { annotateCodec, jsonSchemaOf, openObjects } from "../../infra/http/codec-json-schema.ts";
import { errorBody, errorResponses } from "../../infra/http/http-errors.ts";
import { decodeOr400 } from "../../infra/http/http-server.ts";
import type { RegionStore } from "../audit/position-routes.ts";
import { replayPosition } from "../audit/replay.ts";
import { ROUTE_ROLES } from "./access-control.ts";

export interface ChannelRoutesDeps {
  /** One store per region this server can read. */
  readonly stores: readonly RegionStore[];
  /** The locations that hold the SKU (the availability read model knows them). */
  readonly locationsOf: (
    sku: string,
  ) => Promise<readonly { readonly region: string; readonly location: string }[]>;
  readonly now?: () => string;
}

export interface ChannelLocationFigure extends ChannelAvailability {
  readonly region: string;
  readonly location: string;
  readonly atp: AtpBreakdown;
}

export interface ChannelSkuFigures {
  readonly channel: string;
  readonly sku: string;
  readonly asOf: string;
  /** The sum of the locations' figures. */
  readonly quantity: number;
  readonly locations: readonly ChannelLocationFigure[];
}

const ParamsC = t.type({ channel: SystemIdC, sku: SkuC }, "{ channel, sku }");
const QueryC = t.partial({ region: RegionC }, "{ region? }");
const ChannelParamsC = t.type({ channel: SystemIdC }, "{ channel }");

/** SKUs of one bulk request: each replays its positions' streams, so the count is bounded. */
export const MAX_BULK_SKUS = 100;
const BulkSkusC = annotateCodec(boundedArrayC(SkuC, MAX_BULK_SKUS), {
  type: "array",
  items: { type: "string", description: "a SKU" },
  minItems: 1,
  maxItems: MAX_BULK_SKUS,
});
export const BulkBodyC = t.intersection(
  [t.type({ skus: BulkSkusC }), t.partial({ region: RegionC })],
  `{ skus: [at most ${MAX_BULK_SKUS} SKUs], region? }`,
);

const ruleEffectSchema = {
  type: "object",
  description: "one step of the explanation: `atp`, then each rule that concerns the channel here",
  properties: {
    rule: { type: "string", description: "`atp` or `<kind>:<rule id>` (`quota:Q-AMZ`)" },
    kind: { type: "string", enum: ["atp", "exclusion", "protection", "buffer", "quota"] },
    effect: { type: "string", description: "what the rule did, in words" },
    before: { type: "integer" },
    after: { type: "integer" },
  },
} as const;

/** A channel's figure at one location (also a promise line's `availability`). */
export const channelAvailabilitySchema = {
  type: "object",
  properties: {
    channel: { type: "string" },
    quantity: { type: "integer", description: "what the channel may sell here" },
    explanation: { type: "array", items: ruleEffectSchema },
  },
} as const;

/** The answer of the single route, and of each SKU of the bulk one. */
export const channelSkuFiguresSchema = openObjects({
  type: "object",
  properties: {
    channel: { type: "string" },
    sku: { type: "string" },
    asOf: { type: "string" },
    quantity: { type: "integer", description: "the sum of the locations' figures" },
    locations: {
      type: "array",
      items: {
        type: "object",
        properties: {
          region: { type: "string" },
          location: { type: "string" },
          atp: { type: "object", description: "the position's ATP breakdown (as GET /v1/positions)" },
          ...channelAvailabilitySchema.properties,
        },
      },
    },
  },
});

/** The figures of one SKU for one channel, from the positions' replayed states. Pure but for reads. */
export const channelFigures = async (
  d: ChannelRoutesDeps,
  channel: string,
  sku: string,
  region: string | undefined,
): Promise<ChannelSkuFigures> => {
  const now = d.now?.() ?? new Date().toISOString();
  const locations: ChannelLocationFigure[] = [];
  for (const l of await d.locationsOf(sku)) {
    if (region !== undefined && l.region !== region) continue;
    const store = d.stores.find((s) => s.region === l.region);
    if (!store) continue;
    const position: Position = { region: l.region, location: l.location, sku };
    const r = await replayPosition(store.store, position, { collectEvents: false });
    if (!r) continue;
    const a = channelAvailabilityOf(r.state, r.atp, channel, now);
    locations.push({ region: l.region, location: l.location, atp: r.atp, ...a });
  }
  return {
    channel,
    sku,
    asOf: now,
    quantity: locations.reduce((s, l) => s + l.quantity, 0),
    locations,
  };
};

/**
 * A key bound to a channel may speak only for its own: false (and a 403 sent) for another channel.
 */
export const ownChannelOr403 = (req: FastifyRequest, reply: FastifyReply, channel: string): boolean => {
  const bound = req.caller?.channel;
  if (bound === undefined || bound === channel) return true;
  void reply
    .code(403)
    .send(
      errorBody(
        "channel_mismatch",
        `this key speaks for channel ${JSON.stringify(bound)}, not ${JSON.stringify(channel)}`,
        { channel, keyChannel: bound },
      ),
    );
  return false;
};

export const registerChannelRoutes = (app: FastifyInstance, d: ChannelRoutesDeps): void => {
  app.get(
    "/v1/channels/:channel/availability/:sku",
    {
      config: { roles: ROUTE_ROLES.availability },
      schema: {
        summary: "What a channel may sell of a SKU, per location and in total, each figure explained",
        description:
          "Each location: ATP, then each channel rule (exclusion, other channels' protected minimums, buffers, quotas) with its effect. A key bound to a channel may ask only for its own.",
        tags: ["availability"],
        params: jsonSchemaOf(ParamsC),
        querystring: jsonSchemaOf(QueryC),
        response: { 200: channelSkuFiguresSchema, ...errorResponses(400, 403) },
      },
    },
    async (req, reply) => {
      const params = decodeOr400(ParamsC, req.params, reply);
      if (!params) return reply;
      const query = decodeOr400(QueryC, req.query, reply);
      if (!query) return reply;
      if (!ownChannelOr403(req, reply, params.channel)) return reply;
      return channelFigures(d, params.channel, params.sku, query.region);
    },
  );

  app.post(
    "/v1/channels/:channel/availability",
    {
      config: { roles: ROUTE_ROLES.availability },
      schema: {
        summary: `What a channel may sell of up to ${MAX_BULK_SKUS} SKUs, each as GET /v1/channels/:channel/availability/:sku answers`,
        description: `\`skus\` in the order asked; more than ${MAX_BULK_SKUS} SKUs is a 400 naming the limit. A key bound to a channel may ask only for its own.`,
        tags: ["availability"],
        params: jsonSchemaOf(ChannelParamsC),
        body: jsonSchemaOf(BulkBodyC),
        response: {
          200: openObjects({
            type: "object",
            properties: {
              channel: { type: "string" },
              asOf: { type: "string" },
              skus: { type: "array", items: channelSkuFiguresSchema },
            },
          }),
          ...errorResponses(400, 403),
        },
      },
    },
    async (req, reply) => {
      const params = decodeOr400(ChannelParamsC, req.params, reply);
      if (!params) return reply;
      const body = decodeOr400(BulkBodyC, req.body, reply);
      if (!body) return reply;
      if (!ownChannelOr403(req, reply, params.channel)) return reply;
      const now = d.now?.() ?? new Date().toISOString();
      const skus: ChannelSkuFigures[] = [];
      // One SKU after another: the replays share the store with the regional node's appends.
      for (const sku of body.skus)
        skus.push(await channelFigures({ ...d, now: () => now }, params.channel, sku, body.region));
      return { channel: params.channel, asOf: now, skus };
    },
  );
};
