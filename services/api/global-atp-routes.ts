/**
 * Routes of the supply-chain control tower (issue 12):
 *
 * - `GET /v1/control-tower/atp`: global ATP of every SKU the global view holds (or those matching
 *   `sku=`), in total, per region and per location, with each location's last event times and each
 *   region's freshness — one page of the list the dashboard shows (a SKU's own detail stays
 *   `GET /v1/availability/:sku`).
 * - `GET /v1/control-tower/trends`: the sync-latency SLO per region over time, oversells and the
 *   freshness of the global view (control-tower-trends.ts).
 *
 * Roles: operations, commerce and finance (who plan, sell and account for stock); not warehouse.
 */
import type { FastifyInstance, FastifyReply } from "fastify";
import * as t from "io-ts";
import type { Role } from "../../infra/http/api-keys.ts";
import { errorResponses, sendError } from "../../infra/http/http-errors.ts";
import { decodeOr400 } from "../../infra/http/http-server.ts";
import {
  type AtpTotals,
  addAtp,
  type LocationAtp,
  ZERO_ATP_TOTALS,
} from "../../projections/global-atp.projection.ts";
import type { AvailabilitySource } from "./availability.ts";
import type { ControlTowerTrends } from "./control-tower-trends.ts";
import type { SkuIndex } from "./sku-index.ts";

export const CONTROL_TOWER_ROLES: readonly Role[] = ["operations", "commerce", "finance"];

const bounded = (max: number) =>
  new t.Type<number, string, unknown>(
    `an integer from 1 to ${max}`,
    (u): u is number => typeof u === "number",
    (u, c) => {
      const n = typeof u === "string" && /^[0-9]{1,7}$/.test(u) ? Number(u) : Number.NaN;
      return n >= 1 && n <= max ? t.success(n) : t.failure(u, c);
    },
    String,
  );
const MAX_PAGE = 500;
const Text100C = new t.Type<string, string, unknown>(
  "text of 1 to 100 characters",
  (u): u is string => typeof u === "string",
  (u, c) => (typeof u === "string" && u.length >= 1 && u.length <= 100 ? t.success(u) : t.failure(u, c)),
  t.identity,
);
export const AtpListQueryC = t.partial({
  sku: Text100C,
  region: Text100C,
  location: Text100C,
  limit: bounded(MAX_PAGE),
  offset: new t.Type<number, string, unknown>(
    "a non-negative integer",
    (u): u is number => typeof u === "number",
    (u, c) => (typeof u === "string" && /^[0-9]{1,7}$/.test(u) ? t.success(Number(u)) : t.failure(u, c)),
    String,
  ),
});
export const TrendsQueryC = t.partial({ minutes: bounded(7 * 24 * 60) });

const int = { type: "integer" } as const;
const str = { type: "string" } as const;
const totals = {
  atp: int,
  available: int,
  reserved: int,
  safetyStock: int,
  onHand: int,
  inboundInTransit: int,
  locations: int,
};
const freshnessSchema = {
  type: "object",
  properties: {
    region: str,
    stale: { type: "boolean" },
    link: { type: "string", enum: ["up", "down", "unknown"] },
    asOf: str,
    stalenessMs: int,
    reasons: { type: "array", items: str },
  },
} as const;

const ATP_LIST_SCHEMA = {
  summary: "Global ATP of many SKUs: in total, per region and per location, with each region's freshness",
  tags: ["control tower"],
  security: [{ apiKey: [] }],
  querystring: {
    type: "object",
    properties: {
      sku: { type: "string", description: "only SKUs containing this text (case-insensitive)" },
      region: { type: "string", description: "only this region's locations" },
      location: { type: "string", description: "only this location" },
      limit: { type: "integer", minimum: 1, maximum: MAX_PAGE, description: "SKUs per page (default 100)" },
      offset: { type: "integer", minimum: 0 },
    },
  },
  response: {
    200: {
      type: "object",
      properties: {
        total: { type: "integer", description: "SKUs matching, over every page" },
        skus: {
          type: "array",
          items: {
            type: "object",
            properties: {
              sku: str,
              total: { type: "object", properties: totals },
              regions: {
                type: "array",
                items: { type: "object", properties: { region: str, stale: { type: "boolean" }, ...totals } },
              },
              locations: {
                type: "array",
                items: {
                  type: "object",
                  properties: {
                    region: str,
                    location: str,
                    atp: int,
                    available: int,
                    reserved: int,
                    safetyStock: int,
                    onHand: int,
                    inboundInTransit: int,
                    lifecycle: str,
                    businessTime: str,
                    recordedTime: str,
                    stale: { type: "boolean" },
                  },
                },
              },
              stale: { type: "boolean" },
            },
          },
        },
        freshness: { type: "array", items: freshnessSchema },
        stale: { type: "boolean" },
        asOf: str,
      },
    },
    ...errorResponses(400, 401, 403),
  },
} as const;

const point = {
  type: "object",
  properties: {
    at: str,
    events: int,
    withinSlo: int,
    share: { type: "number" },
    maxLatencyMs: int,
    oversells: int,
    oversoldUnits: int,
    maxStalenessMs: int,
    stale: { type: "boolean" },
  },
} as const;
const TRENDS_SCHEMA = {
  summary:
    "Sync-latency SLO per region over time (events applied within the objective's bound of their business time), oversells and freshness",
  tags: ["control tower"],
  security: [{ apiKey: [] }],
  querystring: {
    type: "object",
    properties: { minutes: { type: "integer", minimum: 1, description: "how far back (default 60)" } },
  },
  response: {
    200: {
      type: "object",
      properties: {
        slo: { type: "object", properties: { seconds: { type: "number" }, objective: { type: "number" } } },
        bucketSeconds: int,
        from: str,
        to: str,
        regions: {
          type: "array",
          items: {
            type: "object",
            properties: {
              region: str,
              events: int,
              withinSlo: int,
              share: { type: "number" },
              met: { type: "boolean" },
              oversells: int,
              oversoldUnits: int,
              points: { type: "array", items: point },
            },
          },
        },
      },
    },
    ...errorResponses(400, 401, 403, 503),
  },
} as const;

export interface ControlTowerRoutesDeps {
  readonly source: AvailabilitySource;
  readonly skus: SkuIndex;
  readonly regions: readonly string[];
  readonly trends?: ControlTowerTrends;
}

export const registerControlTowerRoutes = (app: FastifyInstance, d: ControlTowerRoutesDeps): void => {
  const roles = CONTROL_TOWER_ROLES;
  const unknownRegion = (reply: FastifyReply, region: string) =>
    sendError(
      reply,
      400,
      "bad_request",
      `region: got ${JSON.stringify(region)}, expected one of the configured regions (${d.regions.join(", ")})`,
    );

  app.get("/v1/control-tower/atp", { config: { roles }, schema: ATP_LIST_SCHEMA }, async (req, reply) => {
    const q = decodeOr400(AtpListQueryC, req.query ?? {}, reply);
    if (!q) return reply;
    if (q.region !== undefined && !d.regions.includes(q.region)) return unknownRegion(reply, q.region);
    const needle = q.sku?.toLowerCase();
    const regions = q.region !== undefined ? [q.region] : undefined;
    const freshness = d.source.freshness().filter((f) => !regions || regions.includes(f.region));
    const staleRegions = new Set(freshness.filter((f) => f.stale).map((f) => f.region));
    const rowOf = (sku: string) => {
      const a = d.source.getGlobalAvailability(sku, regions ? { regions } : {});
      if (!a) return [];
      const locations = Object.values(a.locations)
        .filter((l) => q.location === undefined || l.location === q.location)
        .sort((x, y) => x.region.localeCompare(y.region) || x.location.localeCompare(y.location));
      if (locations.length === 0) return [];
      return [
        {
          sku,
          total: q.location !== undefined ? sumOf(locations) : a.total,
          regions: Object.entries(a.byRegion)
            .filter(([r]) => q.location === undefined || locations.some((l) => l.region === r))
            .map(([region, tot]) => ({
              region,
              stale: staleRegions.has(region),
              ...(q.location !== undefined ? sumOf(locations.filter((l) => l.region === region)) : tot),
            }))
            .sort((x, y) => x.region.localeCompare(y.region)),
          locations: locations.map((l) => ({
            region: l.region,
            location: l.location,
            atp: l.atp,
            available: l.available,
            reserved: l.reserved,
            safetyStock: l.safetyStock,
            onHand: l.onHand,
            inboundInTransit: l.inboundInTransit,
            lifecycle: l.lifecycle,
            businessTime: l.businessTime,
            recordedTime: l.recordedTime,
            stale: staleRegions.has(l.region),
          })),
          stale: locations.some((l) => staleRegions.has(l.region)),
        },
      ];
    };
    const named =
      needle === undefined ? d.skus.list() : d.skus.list().filter((s) => s.toLowerCase().includes(needle));
    const names =
      regions === undefined && q.location === undefined
        ? named
        : named.filter((s) =>
            d.skus
              .placesOf(s)
              .some(
                (p) =>
                  (regions === undefined || regions.includes(p.region)) &&
                  (q.location === undefined || p.location === q.location),
              ),
          );
    const offset = q.offset ?? 0;
    const end = offset + (q.limit ?? 100);
    // Every name left has a location under the filters: only the page's figures are built.
    const total = names.length;
    const page = names.slice(offset, end).flatMap(rowOf);
    const asOfs = freshness.map((f) => f.asOf);
    const asOf = asOfs.every((x) => x !== undefined) ? asOfs.sort()[0] : undefined;
    return {
      total,
      skus: page,
      freshness,
      stale: staleRegions.size > 0,
      ...(asOf !== undefined ? { asOf } : {}),
    };
  });

  app.get("/v1/control-tower/trends", { config: { roles }, schema: TRENDS_SCHEMA }, async (req, reply) => {
    const q = decodeOr400(TrendsQueryC, req.query ?? {}, reply);
    if (!q) return reply;
    if (!d.trends)
      return sendError(reply, 503, "trends_unavailable", "this API process keeps no control-tower trends");
    return d.trends.trends(q.minutes ?? 60);
  });
};

const sumOf = (ls: readonly LocationAtp[]): AtpTotals => ls.reduce(addAtp, ZERO_ATP_TOTALS);
