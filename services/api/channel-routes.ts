/**
 * What a channel may sell of a SKU (issue 14), per location and in total, each figure explained:
 *
 *   GET /v1/channels/:channel/availability/:sku?region=
 *
 * Each location's figure is `availableToSell` (domain/channel-rules.ts) over the position's state,
 * read by replaying its stream (services/audit/replay.ts): the regional read model does not carry
 * channel rules and use yet. A key bound to a channel may ask only for its own channel (403).
 *
 * Mount it next to the others (api-server.ts is not changed by this file):
 *   registerChannelRoutes(app, { stores, locationsOf: (sku) => <the SKU's locations from the
 *   availability read model>, regions })
 */
import type { FastifyInstance } from "fastify";
import * as t from "io-ts";
import type { ChannelAvailability } from "../../domain/channel-rules.ts";
import type { Position } from "../../domain/ids.ts";
import { channelAvailabilityOf } from "../../domain/position-channels.ts";
import type { AtpBreakdown } from "../../domain/position-context.ts";
import { RegionC, SkuC, SystemIdC } from "../../domain/scalars.ts";
import { jsonSchemaOf } from "../../infra/http/codec-json-schema.ts";
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
        response: errorResponses(400, 403),
      },
    },
    async (req, reply) => {
      const params = decodeOr400(ParamsC, req.params, reply);
      if (!params) return reply;
      const query = decodeOr400(QueryC, req.query, reply);
      if (!query) return reply;
      const bound = req.caller?.channel;
      if (bound !== undefined && bound !== params.channel) {
        return reply
          .code(403)
          .send(
            errorBody(
              "channel_mismatch",
              `this key speaks for channel ${JSON.stringify(bound)}, not ${JSON.stringify(params.channel)}`,
              { channel: params.channel, keyChannel: bound },
            ),
          );
      }
      return channelFigures(d, params.channel, params.sku, query.region);
    },
  );
};
