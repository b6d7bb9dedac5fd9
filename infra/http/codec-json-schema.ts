/**
 * JSON Schema (the OpenAPI 3.0 dialect) generated from io-ts codecs, so that a route's body is
 * declared once: the codec decodes it (`decodeOr400`) and `jsonSchemaOf(codec)` documents it
 * (DESIGN §3.16, §6 "one schema source at the HTTP edge"). No maintained library converts io-ts
 * (the ones on npm are small, old and unused), so this covers the combinators the project uses:
 * type, partial, exact/strict, readonly, intersection, union, literal, keyof, array, record, tuple,
 * refinement and brand (their name becomes the description), recursion (cut after one level).
 *
 * Codecs written as `new t.Type(...)` (the bounded scalars of domain/scalars.ts) carry no structure
 * to read: their schema is registered with `annotateCodec` (the domain scalars are, below); any other
 * is a schema of its name as description only.
 */
import type * as t from "io-ts";
import { TrackingC } from "../../domain/canonical-event.ts";
import { idJsonSchema, MAX_QUANTITY, MAX_RESERVATION_TTL_SECONDS, MAX_SERIALS } from "../../domain/limits.ts";
import * as S from "../../domain/scalars.ts";

export type JsonSchema = { [keyword: string]: unknown };

// biome-ignore lint/suspicious/noExplicitAny: codecs of any type are keys
type AnyCodec = t.Decoder<any, any>;

const annotations = new WeakMap<AnyCodec, JsonSchema>();

/** Declares the JSON Schema of a codec whose structure cannot be read (a hand-written `t.Type`). */
export const annotateCodec = <C extends AnyCodec>(codec: C, schema: JsonSchema): C => {
  annotations.set(codec, schema);
  return codec;
};

/** A schema with one example (OpenAPI shows it instead of a generated `"string"`). */
export const withExample = (schema: JsonSchema, example: unknown): JsonSchema => ({
  ...schema,
  examples: [example],
});

interface Tagged {
  readonly _tag?: string;
  readonly name: string;
  // biome-ignore lint/suspicious/noExplicitAny: the fields of each combinator differ
  readonly [k: string]: any;
}

const isOptionalMember = (c: Tagged): boolean => c._tag === "UndefinedType" || c._tag === "VoidType";

/** Whether io-ts made up the name (`{ a: string }`, `Array<string>`), so it says nothing new. */
const generatedName = (c: Tagged): boolean =>
  /^[{[(]|^Array<|^ReadonlyArray<|^Partial<|^Exact<|^Readonly<|^\{|\||&/.test(c.name) || c.name === c._tag;

const mergeObjects = (schemas: JsonSchema[]): JsonSchema | undefined => {
  if (!schemas.every((s) => s.type === "object" && s.additionalProperties === undefined)) return undefined;
  const properties: Record<string, unknown> = {};
  const required: string[] = [];
  for (const s of schemas) {
    Object.assign(properties, s.properties ?? {});
    required.push(...((s.required as string[] | undefined) ?? []));
  }
  return { type: "object", properties, ...(required.length > 0 ? { required: [...new Set(required)] } : {}) };
};

const convert = (codec: AnyCodec, seen: ReadonlySet<AnyCodec>): JsonSchema => {
  const annotated = annotations.get(codec);
  if (annotated) return { ...annotated };
  const c = codec as unknown as Tagged;
  const sub = (inner: AnyCodec) => convert(inner, new Set([...seen, codec]));
  switch (c._tag) {
    case "StringType":
      return { type: "string" };
    case "NumberType":
      return { type: "number" };
    case "BigIntType":
      return { type: "integer" };
    case "BooleanType":
      return { type: "boolean" };
    case "NullType":
      return { nullable: true, enum: [null] };
    case "UnknownType":
    case "AnyType":
      return {};
    case "UnknownRecordType":
    case "AnyDictionaryType":
    case "ObjectType":
      return { type: "object" };
    case "UnknownArrayType":
    case "AnyArrayType":
      return { type: "array", items: {} };
    case "NeverType":
      return { not: {} };
    case "LiteralType":
      return { type: typeof c.value === "number" ? "number" : typeof c.value, enum: [c.value] };
    case "KeyofType":
      return { type: "string", enum: Object.keys(c.keys) };
    case "ArrayType":
    case "ReadonlyArrayType":
      return { type: "array", items: sub(c.type) };
    case "TupleType":
      return {
        type: "array",
        items: { anyOf: (c.types as AnyCodec[]).map(sub) },
        minItems: c.types.length,
        maxItems: c.types.length,
      };
    case "InterfaceType":
    case "StrictType": {
      const props = c.props as Record<string, AnyCodec>;
      const required = Object.keys(props).filter(
        (k) =>
          !(
            (props[k] as unknown as Tagged)._tag === "UnionType" &&
            (props[k] as unknown as Tagged).types.some(isOptionalMember)
          ),
      );
      return {
        type: "object",
        properties: Object.fromEntries(Object.entries(props).map(([k, v]) => [k, sub(v)])),
        ...(required.length > 0 ? { required } : {}),
      };
    }
    case "PartialType":
      return {
        type: "object",
        properties: Object.fromEntries(
          Object.entries(c.props as Record<string, AnyCodec>).map(([k, v]) => [k, sub(v)]),
        ),
      };
    case "ExactType":
    case "ReadonlyType":
      // exact strips unknown properties, it does not refuse them: no additionalProperties: false.
      return sub(c.type);
    case "DictionaryType": {
      const domain = c.domain as Tagged;
      if (domain._tag === "KeyofType" || domain._tag === "LiteralType") {
        const keys = domain._tag === "KeyofType" ? Object.keys(domain.keys) : [String(domain.value)];
        const value = sub(c.codomain);
        return { type: "object", properties: Object.fromEntries(keys.map((k) => [k, value])) };
      }
      return { type: "object", additionalProperties: sub(c.codomain) };
    }
    case "IntersectionType": {
      const parts = (c.types as AnyCodec[]).map(sub);
      return mergeObjects(parts) ?? { allOf: parts };
    }
    case "UnionType": {
      const members = (c.types as Tagged[]).filter((m) => !isOptionalMember(m));
      const nullable = members.some((m) => m._tag === "NullType");
      const rest = members.filter((m) => m._tag !== "NullType") as unknown as AnyCodec[];
      const parts = rest.map(sub);
      let schema: JsonSchema;
      if (parts.length > 0 && parts.every((p) => Array.isArray(p.enum) && p.type === parts[0]?.type))
        schema = { type: parts[0]?.type, enum: parts.flatMap((p) => p.enum as unknown[]) };
      else schema = parts.length === 1 ? (parts[0] as JsonSchema) : { anyOf: parts };
      if (!generatedName(c)) schema = { ...schema, description: c.name };
      return nullable ? { ...schema, nullable: true } : schema;
    }
    case "RefinementType": {
      if (c.name === "Int") return { type: "integer" };
      const inner = sub(c.type);
      return { ...inner, description: c.name };
    }
    case "RecursiveType":
      // One level is shown; a deeper reference would never end.
      return seen.has(codec) ? { type: "object", description: c.name } : sub(c.type);
    default:
      return { description: c.name };
  }
};

/** The JSON Schema of `codec`, for a route's `schema.body` / `querystring` / `params` (documentation only). */
export const jsonSchemaOf = (codec: AnyCodec, extra: JsonSchema = {}): JsonSchema => ({
  ...convert(codec, new Set()),
  ...extra,
});

/** Adds a description to each named property of an object schema (and leaves the others). */
export const describeProperties = (schema: JsonSchema, descriptions: Record<string, string>): JsonSchema => {
  const props = (schema.properties ?? {}) as Record<string, JsonSchema>;
  return {
    ...schema,
    properties: Object.fromEntries(
      Object.entries(props).map(([k, v]) => [
        k,
        descriptions[k] ? { ...v, description: descriptions[k] } : v,
      ]),
    ),
  };
};

/**
 * Every object of `schema` open to more properties. fastify serialises a response with its schema
 * and drops properties the schema does not name: a response schema made from a codec that does not
 * list every field must be opened, or the answer loses them.
 */
export const openObjects = (schema: JsonSchema): JsonSchema => {
  const walk = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(walk);
    if (v === null || typeof v !== "object") return v;
    const o = Object.fromEntries(
      Object.entries(v as JsonSchema).map(([k, x]) => [
        k,
        k === "examples" || k === "example" || k === "enum" ? x : walk(x),
      ]),
    );
    return o.type === "object" && o.additionalProperties === undefined
      ? { ...o, additionalProperties: true }
      : o;
  };
  return walk(schema) as JsonSchema;
};

// --- the domain's hand-written scalars ---------------------------------------------------------------

// Examples only where the id's kind says what it is wherever it is used (a code may be a unit or a
// document type): the others get `<field name>` from exampleOf.
const id = (kind: Parameters<typeof idJsonSchema>[0], example?: string): JsonSchema => ({
  ...idJsonSchema(kind),
  ...(example === undefined ? {} : { examples: [example] }),
});

annotateCodec(S.IntC, { type: "integer" });
annotateCodec(S.PositiveIntC, { type: "integer", minimum: 1 });
annotateCodec(S.NonNegativeIntC, { type: "integer", minimum: 0 });
annotateCodec(S.NonZeroIntC, { type: "integer", not: { enum: [0] } });
annotateCodec(S.NonEmptyStringC, { type: "string", minLength: 1, pattern: "\\S" });
annotateCodec(S.RegionC, {
  type: "string",
  pattern: "^[a-z0-9-]+$",
  description: S.RegionC.name,
  examples: ["eu"],
});
annotateCodec(S.SkuC, id("sku", "SKU-1001"));
annotateCodec(S.LocationIdC, id("location", "DC-BERLIN"));
annotateCodec(S.SystemIdC, id("system"));
annotateCodec(S.CodeC, id("code"));
annotateCodec(S.DocumentIdC, id("document"));
annotateCodec(S.SerialC, id("serial"));
annotateCodec(S.ReservationIdC, id("reservationId", "res-8f2c"));
annotateCodec(S.KeyC, id("key"));
annotateCodec(S.ClientKeyC, id("clientKey"));
annotateCodec(S.TextC, id("text"));
annotateCodec(S.MovementAmountC, { type: "integer", minimum: 1, maximum: MAX_QUANTITY });
annotateCodec(S.LevelAmountC, { type: "integer", minimum: 0, maximum: MAX_QUANTITY });
annotateCodec(S.DeltaAmountC, {
  type: "integer",
  minimum: -MAX_QUANTITY,
  maximum: MAX_QUANTITY,
  not: { enum: [0] },
});
annotateCodec(S.RecordedAmountC, { type: "integer", minimum: -MAX_QUANTITY, maximum: MAX_QUANTITY });
annotateCodec(S.ReservationTtlSecondsC, {
  type: "integer",
  minimum: 1,
  maximum: MAX_RESERVATION_TTL_SECONDS,
});
annotateCodec(S.IsoTimestampC, {
  type: "string",
  format: "date-time",
  description: S.IsoTimestampC.name,
  examples: ["2026-05-01T10:00:00Z"],
});
annotateCodec(S.Sha256HexC, { type: "string", pattern: "^[0-9a-f]{64}$", description: S.Sha256HexC.name });
// boundedArrayC is a hand-written t.Type that hides its item codec: the one canonical use is declared.
annotateCodec(TrackingC.props.serials, {
  type: "array",
  items: jsonSchemaOf(S.SerialC),
  maxItems: MAX_SERIALS,
  description: TrackingC.props.serials.name,
});

// --- examples ----------------------------------------------------------------------------------------

/**
 * An example value of a JSON Schema, for operations that give none: the schema's own example, the
 * first of an enum, a real time for `date-time`, the bounds of numbers, `<name>` for a string
 * of property `name` (never the bare word "string"), and of an object its required properties.
 */
export const exampleOf = (schema: JsonSchema, name = "value", depth = 0): unknown => {
  if (schema.example !== undefined) return schema.example;
  if (Array.isArray(schema.examples) && schema.examples.length > 0) return schema.examples[0];
  if (schema.default !== undefined) return schema.default;
  if (Array.isArray(schema.enum) && schema.enum.length > 0) return schema.enum[0];
  const alternatives = (schema.anyOf ?? schema.oneOf) as JsonSchema[] | undefined;
  if (alternatives?.[0]) return exampleOf(alternatives[0], name, depth);
  if (Array.isArray(schema.allOf))
    return Object.assign({}, ...(schema.allOf as JsonSchema[]).map((s) => exampleOf(s, name, depth)));
  if (depth > 6) return null;
  switch (schema.type) {
    case "string":
      if (schema.format === "date-time") return "2026-05-01T10:00:00Z";
      if (schema.format === "date") return "2026-05-01";
      return `<${name}>`;
    case "integer":
    case "number":
      return typeof schema.minimum === "number" && schema.minimum > 0 ? schema.minimum : 1;
    case "boolean":
      return true;
    case "array":
      return schema.items ? [exampleOf(schema.items as JsonSchema, name, depth + 1)] : [];
    case "object": {
      // The required properties (all of them when none is): an example a reader can start from.
      const props = Object.entries((schema.properties ?? {}) as Record<string, JsonSchema>);
      const required = new Set((schema.required as string[] | undefined) ?? props.map(([k]) => k));
      return Object.fromEntries(
        props.filter(([k]) => required.has(k)).map(([k, v]) => [k, exampleOf(v, k, depth + 1)]),
      );
    }
    default:
      // A schema of no type (a codec known by its name only) has no example to make up.
      return undefined;
  }
};
