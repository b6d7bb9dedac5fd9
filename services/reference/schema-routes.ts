/**
 * The published JSON Schemas through the API (DESIGN §3.16): `GET /v1/schemas` lists every command
 * kind and event type with its current and published versions, `GET /v1/schemas/:name` answers one
 * (`receiveGoods.v1`, or `receiveGoods` for the current version). The current versions are generated
 * from the codecs this process runs (the same text as the committed files, a test sees to it); older
 * published versions are read from the schema directory when there is one.
 */
import type { FastifyInstance } from "fastify";
import { ROLES } from "../../infra/http/api-keys.ts";
import { errorResponses, sendError } from "../../infra/http/http-errors.ts";
import {
  currentSchemas,
  type PublishedSchema,
  readPublishedSchemas,
  SCHEMA_DIR,
  schemaIndex,
} from "./schema-catalogue.ts";

const roles = [...ROLES];

export interface SchemaRoutesOptions {
  /** Where older published versions are read from (default docs/schemas of this checkout). */
  readonly dir?: string;
}

const nameOf = (s: Pick<PublishedSchema, "name" | "version">) => `${s.name}.v${s.version}`;

export const registerSchemaRoutes = (app: FastifyInstance, options: SchemaRoutesOptions = {}): void => {
  const current = currentSchemas();
  const index = schemaIndex(current);
  const byName = new Map<string, PublishedSchema>();
  // Older versions first: the generated current ones win over a file of the same version.
  for (const s of readPublishedSchemas(options.dir ?? SCHEMA_DIR)) byName.set(nameOf(s), s);
  for (const s of current) {
    byName.set(nameOf(s), s);
    byName.set(s.name, s);
  }
  const urls = (family: "commands" | "events") =>
    Object.fromEntries(
      Object.entries(index[family]).map(([name, e]) => [
        name,
        {
          current: e.current,
          versions: Object.fromEntries(Object.keys(e.versions).map((v) => [v, `/v1/schemas/${name}.v${v}`])),
        },
      ]),
    );
  const listing = { description: index.description, commands: urls("commands"), events: urls("events") };

  app.get(
    "/v1/schemas",
    {
      config: { roles },
      schema: {
        summary: "the JSON Schemas of every canonical command and event, by schema version",
        description:
          "Every command kind and event type with its current schema version and the address of each published version. Generated from the codecs; the same documents are committed under docs/schemas.",
        tags: ["reference"],
        response: {
          200: {
            description: "the schema index",
            type: "object",
            additionalProperties: true,
            examples: [
              {
                description: index.description,
                commands: { receiveGoods: { current: 1, versions: { 1: "/v1/schemas/receiveGoods.v1" } } },
                events: { GoodsReceived: { current: 1, versions: { 1: "/v1/schemas/GoodsReceived.v1" } } },
              },
            ],
          },
        },
      },
    },
    async () => listing,
  );

  app.get<{ Params: { name: string } }>(
    "/v1/schemas/:name",
    {
      config: { roles },
      schema: {
        summary: "one JSON Schema: `<kind or type>.v<N>`, or the name alone for the current version",
        tags: ["reference"],
        params: {
          type: "object",
          properties: {
            name: { type: "string", examples: ["receiveGoods.v1", "GoodsReceived"] },
          },
          required: ["name"],
        },
        response: {
          200: {
            description: "the JSON Schema (draft 2020-12) of that version, with an example",
            type: "object",
            additionalProperties: true,
          },
          ...errorResponses(404),
        },
      },
    },
    async (req, reply) => {
      const name = req.params.name.replace(/\.json$/, "");
      const found = byName.get(name);
      if (!found)
        return sendError(
          reply,
          404,
          "not_found",
          `no schema ${JSON.stringify(name)}: expected a command kind or event type, optionally with .v<version> (GET /v1/schemas lists them)`,
        );
      return found.schema;
    },
  );
};
