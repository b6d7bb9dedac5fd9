/**
 * Promise dates (issue 14): `POST /v1/promise` { sku, quantity, channel, deliveryRegion?, allowPartial? }
 * answers the earliest day the quantity can be promised to the channel and from which location(s),
 * each line with the channel's figure there on that day, explained (domain/promise.ts).
 *
 * Each location of the SKU is read from its position's stream: the position's state (ATP now, channel
 * rules, what each channel used) by replay, and its arrivals by day by folding the same events with the
 * regional read model's projection (projections/regional-atp.projection.ts: inbound transfers at their
 * ETA, open purchase order lines at their date) into time-phased ATP (projections/time-phased-atp.ts).
 * Both come from one read of the stream, so the figure and the arrivals are of the same revision (the
 * regional KV entry the availability route reads for `date=` may lag the stream by a moment).
 *
 * Without `allowPartial` the answer is one line covering the whole quantity; with it, lines earliest
 * first ("8 now, 4 on the 12th"). A quantity that cannot be promised within the horizon answers
 * `promised: false` with what can (partial) and the shortfall, still 200: it is an answer, not an error.
 */
import type { FastifyInstance } from "fastify";
import * as t from "io-ts";
import type { CanonicalEvent } from "../../domain/canonical-event.ts";
import { type PromiseAnswer, type PromiseSource, promiseDate } from "../../domain/promise.ts";
import { MovementAmountC, RegionC, SkuC, SystemIdC } from "../../domain/scalars.ts";
import { jsonSchemaOf, openObjects, withExample } from "../../infra/http/codec-json-schema.ts";
import { errorResponses } from "../../infra/http/http-errors.ts";
import { decodeOr400 } from "../../infra/http/http-server.ts";
import { applyToRegionalAtp, type RegionalAtpEntry } from "../../projections/regional-atp.projection.ts";
import {
  DEFAULT_TIME_PHASED_CONFIG,
  type TimePhasedConfig,
  timePhasedAtp,
} from "../../projections/time-phased-atp.ts";
import type { RegionStore } from "../audit/position-routes.ts";
import { replayPosition } from "../audit/replay.ts";
import { ROUTE_ROLES } from "./access-control.ts";
import { type ChannelRoutesDeps, channelAvailabilitySchema, ownChannelOr403 } from "./channel-routes.ts";

export const PromiseBodyC = t.intersection(
  [
    t.type({ sku: SkuC, quantity: MovementAmountC, channel: SystemIdC }),
    t.partial({ deliveryRegion: RegionC, allowPartial: t.boolean }),
  ],
  "a promise request { sku, quantity, channel, deliveryRegion?, allowPartial? }",
);
export type PromiseBody = t.TypeOf<typeof PromiseBodyC>;

export interface PromiseRoutesDeps extends ChannelRoutesDeps {
  /** The horizon and lanes of time-phased ATP (default DEFAULT_TIME_PHASED_CONFIG: 14 days). */
  readonly timePhased?: TimePhasedConfig;
}

/** A promise line as the API answers it: the position flattened, the channel's figure explained. */
export interface PromiseLineView {
  readonly date: string;
  readonly region: string;
  readonly location: string;
  readonly quantity: number;
  readonly availability: PromiseAnswer["lines"][number]["availability"];
}

export interface PromiseView {
  readonly sku: string;
  readonly quantity: number;
  readonly channel: string;
  readonly deliveryRegion?: string;
  readonly allowPartial: boolean;
  readonly asOf: string;
  /** The whole quantity can be promised (by `date`). */
  readonly promised: boolean;
  /** The day the last line can be promised (only when promised). */
  readonly date?: string;
  readonly promisedQuantity: number;
  readonly short: number;
  readonly lines: readonly PromiseLineView[];
  /** The days looked at (today, UTC, to the horizon). */
  readonly horizon: { readonly from: string; readonly to: string };
  /** One sentence per line (and for a shortfall), for people and the CLI. */
  readonly summary: readonly string[];
}

/**
 * The store as replay reads it, folding each record it reads into the position's regional read-model
 * entry (`entry()`; undefined: no events): the state and the arrivals come from one read.
 */
const foldingRegionalAtp = (store: RegionStore["store"]) => {
  let entry: RegionalAtpEntry | undefined;
  const reader: Pick<RegionStore["store"], "readStream"> = {
    readStream: async (streamId, options) => {
      const page = await store.readStream(streamId, options);
      for (const r of page) {
        const out = applyToRegionalAtp(entry, r.data as CanonicalEvent);
        if (out.kind === "applied") entry = out.entry;
      }
      return page;
    },
  };
  return { reader, entry: () => entry };
};

/** Every location of the SKU (of `region` when given) as a promise source. */
export const promiseSources = async (
  d: PromiseRoutesDeps,
  sku: string,
  region: string | undefined,
  now: string,
): Promise<PromiseSource[]> => {
  const sources: PromiseSource[] = [];
  for (const l of await d.locationsOf(sku)) {
    if (region !== undefined && l.region !== region) continue;
    const store = d.stores.find((s) => s.region === l.region);
    if (!store) continue;
    const position = { region: l.region, location: l.location, sku };
    const folding = foldingRegionalAtp(store.store);
    const r = await replayPosition(folding.reader, position, { collectEvents: false });
    if (!r) continue;
    const entry = folding.entry();
    const phased = timePhasedAtp(
      [
        {
          position,
          atp: r.atp,
          inbound: entry?.inbound ?? [],
          ...(entry?.expectedReceipts ? { expectedReceipts: entry.expectedReceipts } : {}),
        },
      ],
      [],
      now,
      d.timePhased ?? DEFAULT_TIME_PHASED_CONFIG,
    );
    const rules = r.state.channelRules;
    sources.push({
      position,
      breakdown: r.atp,
      days: phased.days.map((x) => ({ date: x.date, incoming: x.incoming })),
      ...(rules ? { rules: rules.rules } : {}),
      ...(rules?.category !== undefined ? { category: rules.category } : {}),
      ...(r.state.channelUsage ? { usage: r.state.channelUsage } : {}),
    });
  }
  return sources;
};

const sentence = (l: PromiseLineView, channel: string): string =>
  `${l.quantity} on ${l.date} from ${l.region}/${l.location} (${channel} may sell ${l.availability.quantity} there that day: ${l.availability.explanation
    .map((s) => `${s.rule} ${s.before}→${s.after}`)
    .join(", ")})`;

/** The earliest date(s) `body.quantity` can be promised to `body.channel`, explained. */
export const promise = async (d: PromiseRoutesDeps, body: PromiseBody): Promise<PromiseView> => {
  const asOf = d.now?.() ?? new Date().toISOString();
  const sources = await promiseSources(d, body.sku, body.deliveryRegion, asOf);
  const answer = promiseDate(
    {
      sku: body.sku,
      quantity: body.quantity,
      channel: body.channel,
      ...(body.deliveryRegion !== undefined ? { region: body.deliveryRegion } : {}),
      partial: body.allowPartial === true,
    },
    sources,
  );
  const lines: PromiseLineView[] = answer.lines.map((l) => ({
    date: l.date,
    region: l.position.region,
    location: l.position.location,
    quantity: l.quantity,
    availability: l.availability,
  }));
  const promisedQuantity = answer.kind === "promised" ? body.quantity : answer.promised;
  const short = answer.kind === "promised" ? 0 : answer.short;
  const days = timePhasedAtp([], [], asOf, d.timePhased ?? DEFAULT_TIME_PHASED_CONFIG).days;
  const horizon = { from: days[0]?.date ?? asOf.slice(0, 10), to: days.at(-1)?.date ?? asOf.slice(0, 10) };
  const summary = lines.map((l) => sentence(l, body.channel));
  if (short > 0)
    summary.push(
      sources.length === 0
        ? `${body.sku} is held at no location${body.deliveryRegion ? ` of ${body.deliveryRegion}` : ""}: nothing can be promised`
        : `${short} of ${body.quantity} cannot be promised to ${body.channel} by ${horizon.to}${body.allowPartial ? "" : " from one location (allowPartial splits it over days and locations)"}`,
    );
  return {
    sku: body.sku,
    quantity: body.quantity,
    channel: body.channel,
    ...(body.deliveryRegion !== undefined ? { deliveryRegion: body.deliveryRegion } : {}),
    allowPartial: body.allowPartial === true,
    asOf,
    promised: answer.kind === "promised",
    ...(answer.kind === "promised" ? { date: answer.date } : {}),
    promisedQuantity,
    short,
    lines,
    horizon,
    summary,
  };
};

export const promiseResponseSchema = openObjects({
  type: "object",
  properties: {
    sku: { type: "string" },
    quantity: { type: "integer" },
    channel: { type: "string" },
    deliveryRegion: { type: "string" },
    allowPartial: { type: "boolean" },
    asOf: { type: "string" },
    promised: { type: "boolean", description: "the whole quantity can be promised (by `date`)" },
    date: { type: "string", description: "the earliest day the whole quantity can be promised (YYYY-MM-DD)" },
    promisedQuantity: { type: "integer" },
    short: { type: "integer", description: "what cannot be promised within the horizon" },
    lines: {
      type: "array",
      items: {
        type: "object",
        properties: {
          date: { type: "string" },
          region: { type: "string" },
          location: { type: "string" },
          quantity: { type: "integer" },
          availability: channelAvailabilitySchema,
        },
      },
    },
    horizon: { type: "object", properties: { from: { type: "string" }, to: { type: "string" } } },
    summary: { type: "array", items: { type: "string" } },
  },
});

export const registerPromiseRoutes = (app: FastifyInstance, d: PromiseRoutesDeps): void => {
  app.post(
    "/v1/promise",
    {
      config: { roles: ROUTE_ROLES.availability },
      schema: {
        summary: "The earliest date a quantity of a SKU can be promised to a channel, and from where",
        description:
          "From each location's time-phased ATP (inbound transfers at their ETA, open POs at their date) and the channel's rules there, each line explained. `allowPartial` splits over days and locations (8 now, 4 on the 12th). Not promisable within the horizon: 200 with `promised: false` and `short`. A key bound to a channel may ask only for its own.",
        tags: ["availability"],
        body: withExample(jsonSchemaOf(PromiseBodyC), {
          sku: "SKU-1001",
          quantity: 12,
          channel: "amazon",
          deliveryRegion: "eu",
          allowPartial: true,
        }),
        response: { 200: promiseResponseSchema, ...errorResponses(400, 403) },
      },
    },
    async (req, reply) => {
      const body = decodeOr400(PromiseBodyC, req.body, reply);
      if (!body) return reply;
      if (!ownChannelOr403(req, reply, body.channel)) return reply;
      return promise(d, body);
    },
  );
};
