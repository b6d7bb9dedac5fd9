/**
 * The published JSON Schemas of the canonical model (DESIGN §3.16): one document per command kind
 * and event type at its schema version, generated from the codecs (`jsonSchemaOf`), each with an
 * example the codec decodes, and an index. `stockline schemas write` commits them under
 * docs/schemas/; GET /v1/schemas serves them; test/domain/schema-governance.test.ts fails when the
 * committed files are stale or a published version was changed incompatibly.
 *
 * Older versions are not regenerated: once published, `<name>.v<N>.json` stays as it was committed,
 * and its examples must still be read (through the upcasters) by the current codec.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import * as E from "fp-ts/lib/Either.js";
import { decodeCanonicalEvent, EVENT_TYPES, eventCodecOf } from "../../domain/canonical-event.ts";
import { COMMAND_KINDS, CommandCodecs, decodeCommand } from "../../domain/commands.ts";
import { formatDecodeErrors } from "../../domain/decode-errors.ts";
import { COMMAND_SCHEMA_VERSIONS, EVENT_SCHEMA_VERSIONS } from "../../domain/schema-versions.ts";
import { exampleOf, type JsonSchema, jsonSchemaOf } from "../../infra/http/codec-json-schema.ts";

export type SchemaFamily = "commands" | "events";

export interface PublishedSchema {
  readonly family: SchemaFamily;
  /** The command kind or event type. */
  readonly name: string;
  readonly version: number;
  /** `commands/receiveGoods.v1.json`, relative to the schema directory. */
  readonly file: string;
  readonly schema: JsonSchema;
}

/** docs/schemas of this checkout. */
export const SCHEMA_DIR = fileURLToPath(new URL("../../docs/schemas/", import.meta.url));
export const INDEX_FILE = "index.json";

export const fileOf = (family: SchemaFamily, name: string, version: number): string =>
  `${family}/${name}.v${version}.json`;

// A sha256 digest has no example of its own (its codec is a pattern): one that reads as one.
const EXAMPLE_DIGEST = "9f2d4c1be07a8d3f5c6b2a1e0d9c8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e2d1c";

const withDigestExamples = (schema: unknown): unknown => {
  if (Array.isArray(schema)) return schema.map(withDigestExamples);
  if (schema === null || typeof schema !== "object") return schema;
  const s = Object.fromEntries(
    Object.entries(schema).map(([k, v]) => [k, k === "enum" || k === "examples" ? v : withDigestExamples(v)]),
  );
  return s.pattern === "^[0-9a-f]{64}$" && s.example === undefined ? { ...s, example: EXAMPLE_DIGEST } : s;
};

const DESCRIPTION = {
  commands:
    "A canonical command (domain/commands.ts). `schemaVersion` may be sent; absent means the current version.",
  events:
    "A canonical event as stored and published (domain/canonical-event.ts). `schemaVersion` is written above 1 only; absent means 1.",
} as const;

const documentOf = (
  family: SchemaFamily,
  name: string,
  version: number,
  generated: JsonSchema,
): JsonSchema => {
  const properties = { ...((generated.properties ?? {}) as Record<string, JsonSchema>) };
  // The version this document describes: events above 1 always carry it.
  properties.schemaVersion = {
    type: "integer",
    enum: [version],
    description:
      family === "commands" ? "the schema version (absent: current)" : "the schema version (absent: 1)",
  };
  const required = (generated.required as string[] | undefined) ?? [];
  const body: JsonSchema = {
    ...generated,
    properties,
    required: family === "events" && version > 1 ? [...required, "schemaVersion"] : required,
  };
  const example = exampleOf(body, name);
  const schema: JsonSchema = {
    $schema: "https://json-schema.org/draft/2020-12/schema",
    $id: fileOf(family, name, version),
    title: `${name} (${family === "commands" ? "command" : "event"}), schema version ${version}`,
    description: `${DESCRIPTION[family]} Generated from the codec by \`stockline schemas write\`: do not edit.`,
    "x-schema-version": version,
    ...body,
    examples: [example],
  };
  return schema;
};

/** The example of a schema read through the current codec (upcast from its version first). */
export const decodeExample = (
  p: Pick<PublishedSchema, "family" | "version" | "schema">,
): string | undefined => {
  const examples = (p.schema.examples as unknown[] | undefined) ?? [];
  for (const example of examples) {
    const versioned = { ...(example as Record<string, unknown>), schemaVersion: p.version };
    const decoded = p.family === "commands" ? decodeCommand(versioned) : decodeCanonicalEvent(versioned);
    if (E.isLeft(decoded)) return formatDecodeErrors(decoded.left);
  }
  return examples.length === 0 ? "no example" : undefined;
};

/** Every command kind and event type at its current version, generated from the codecs. */
export const currentSchemas = (): PublishedSchema[] => {
  const make = (
    family: SchemaFamily,
    name: string,
    version: number,
    codec: Parameters<typeof jsonSchemaOf>[0],
  ) => {
    const schema = documentOf(family, name, version, withDigestExamples(jsonSchemaOf(codec)) as JsonSchema);
    const p = { family, name, version, file: fileOf(family, name, version), schema };
    // A generated example the codec refuses is a bug of the generator, not something to publish.
    const refused = decodeExample(p);
    if (refused !== undefined) throw new Error(`the example of ${p.file} does not decode: ${refused}`);
    return p;
  };
  return [
    ...COMMAND_KINDS.map((k) => make("commands", k, COMMAND_SCHEMA_VERSIONS[k], CommandCodecs[k])),
    ...EVENT_TYPES.map((k) => make("events", k, EVENT_SCHEMA_VERSIONS[k], eventCodecOf(k))),
  ];
};

export interface SchemaIndexEntry {
  readonly current: number;
  /** Every published version (1 .. current) and its file. */
  readonly versions: Record<string, string>;
}
export interface SchemaIndex {
  readonly description: string;
  readonly commands: Record<string, SchemaIndexEntry>;
  readonly events: Record<string, SchemaIndexEntry>;
}

export const schemaIndex = (current: readonly PublishedSchema[] = currentSchemas()): SchemaIndex => {
  const family = (f: SchemaFamily) =>
    Object.fromEntries(
      current
        .filter((s) => s.family === f)
        .map((s) => [
          s.name,
          {
            current: s.version,
            versions: Object.fromEntries(
              Array.from({ length: s.version }, (_, i) => [String(i + 1), fileOf(f, s.name, i + 1)]),
            ),
          },
        ]),
    );
  return {
    description:
      "JSON Schemas of the canonical commands and events, one file per schema version (DESIGN §3.16). Generated by `stockline schemas write`.",
    commands: family("commands"),
    events: family("events"),
  };
};

const render = (value: unknown): string => `${JSON.stringify(value, null, 2)}\n`;

/** The files `stockline schemas write` writes (relative path -> text): current versions and the index. */
export const renderSchemaFiles = (
  current: readonly PublishedSchema[] = currentSchemas(),
): Map<string, string> =>
  new Map<string, string>([
    ...current.map((s): [string, string] => [s.file, render(s.schema)]),
    [INDEX_FILE, render(schemaIndex(current))],
  ]);

/** Every schema committed under `dir` (any version), parsed. */
export const readPublishedSchemas = (dir: string = SCHEMA_DIR): PublishedSchema[] => {
  const out: PublishedSchema[] = [];
  for (const family of ["commands", "events"] as const) {
    const folder = path.join(dir, family);
    if (!existsSync(folder)) continue;
    for (const f of readdirSync(folder).sort()) {
      const m = /^(.+)\.v(\d+)\.json$/.exec(f);
      if (!m) continue;
      const [, name, v] = m as unknown as [string, string, string];
      const schema = JSON.parse(readFileSync(path.join(folder, f), "utf8")) as JsonSchema;
      out.push({ family, name, version: Number(v), file: fileOf(family, name, Number(v)), schema });
    }
  }
  return out;
};
