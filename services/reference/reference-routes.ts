/**
 * Reference data through the API (issue 10): what the running configuration says about the
 * distributor's world — its version (so an operator can check every part runs the same one), regions,
 * locations with each source's codes, systems and channels, status vocabularies and products. Read-only:
 * a change is a new configuration, rolled out part by part, never an edit through the API.
 */
import type { FastifyInstance } from "fastify";
import type { DistributorConfig } from "../../infra/config/distributor-config.ts";
import { ROLES } from "../../infra/http/api-keys.ts";

const roles = [...ROLES];
const list = (items: Record<string, unknown>) => ({ type: "array", items: { type: "object", ...items } });

export const registerReferenceRoutes = (app: FastifyInstance, config: DistributorConfig): void => {
  const f = config.file;
  const md = config.masterData;
  app.get(
    "/v1/reference",
    {
      config: { roles },
      schema: {
        summary: "the running configuration: distributor, version, regions and counts",
        description:
          "`version` is the configuration's own label plus a digest of the whole document: two parts showing the same version run the same configuration.",
        tags: ["reference"],
        response: {
          200: {
            description: "the configuration in force",
            type: "object",
            properties: {
              distributor: { type: "string", examples: ["Nordic Tools AB"] },
              id: { type: "string", examples: ["nordic-tools-ab"] },
              version: { type: "string", examples: ["2026-12-01+3f9a1c2b7d10"] },
              regions: { type: "array", items: { type: "string" }, examples: [["se", "fi"]] },
              locations: { type: "integer", examples: [12] },
              systems: { type: "integer", examples: [5] },
              products: { type: "integer", examples: [2400] },
              catalogue: { type: "string", enum: ["open", "closed"] },
            },
          },
        },
      },
    },
    async () => ({
      distributor: f.distributor.name,
      id: config.id,
      version: config.version,
      regions: config.regions,
      locations: md.locations.length,
      systems: f.systems.length,
      products: f.products?.items.length ?? 0,
      catalogue: f.products === undefined || f.products.catalogue === "open" ? "open" : "closed",
    }),
  );
  app.get(
    "/v1/reference/locations",
    {
      config: { roles },
      schema: {
        summary: "locations with their region, GLN and each source system's code for them",
        tags: ["reference"],
        querystring: { type: "object", properties: { region: { type: "string" } } },
        response: {
          200: {
            description: "the locations (of one region with `?region=`)",
            ...list({
              properties: {
                id: { type: "string", examples: ["WH-GBG"] },
                region: { type: "string", examples: ["se"] },
                name: { type: "string", examples: ["Gothenburg warehouse"] },
                gln: { type: "string", examples: ["7350000000016"] },
                codes: {
                  type: "object",
                  additionalProperties: { type: "object", additionalProperties: { type: "string" } },
                  examples: [{ ASTRO: { plant: "SE10", storageLocation: "A1" } }],
                },
              },
            }),
          },
        },
      },
    },
    async (req) => {
      const region = (req.query as { region?: string }).region;
      return region === undefined ? md.locations : md.locationsOf(region);
    },
  );
  app.get(
    "/v1/reference/systems",
    {
      config: { roles },
      schema: {
        summary: "source systems and channels, with their status vocabularies",
        tags: ["reference"],
        response: {
          200: {
            description: "the systems",
            ...list({
              properties: {
                id: { type: "string", examples: ["KARDEX"] },
                kind: { type: "string", examples: ["wms"] },
                name: { type: "string" },
                regions: { type: "array", items: { type: "string" } },
                statuses: {
                  type: "object",
                  additionalProperties: { type: "string" },
                  examples: [{ Q: "inspection", SKADAD: "blocked" }],
                },
              },
            }),
          },
        },
      },
    },
    async () =>
      f.systems.map(({ nats: _credentials, ...s }) => ({
        ...s,
        ...(f.statuses?.[s.id] ? { statuses: f.statuses[s.id] } : {}),
      })),
  );
  app.get(
    "/v1/reference/products",
    {
      config: { roles },
      schema: {
        summary: "products with their base unit, unit conversions and lot tracking",
        tags: ["reference"],
        response: {
          200: {
            description: "the listed products",
            ...list({
              properties: {
                sku: { type: "string", examples: ["HAMMER-1"] },
                name: { type: "string" },
                baseUom: { type: "string", examples: ["ST"] },
                conversions: {
                  type: "array",
                  items: {
                    type: "object",
                    properties: {
                      uom: { type: "string" },
                      quantity: { type: "integer" },
                      of: { type: "string" },
                    },
                  },
                  examples: [[{ uom: "KRT", quantity: 6, of: "ST" }]],
                },
                lotTracked: { type: "boolean" },
                codes: { type: "object", additionalProperties: { type: "string" } },
              },
            }),
          },
        },
      },
    },
    async () => f.products?.items ?? [],
  );
};
