/**
 * JSON Schema from io-ts codecs (infra/http/codec-json-schema.ts): each combinator the project uses,
 * the domain's hand-written scalars, and examples made from a schema that never read "string".
 */
import * as t from "io-ts";
import { describe, expect, it } from "vitest";
import { CommandCodecs } from "../../../domain/commands.ts";
import { ID_LIMITS } from "../../../domain/limits.ts";
import { IsoTimestampC, PositiveIntC, SkuC } from "../../../domain/scalars.ts";
import {
  annotateCodec,
  describeProperties,
  exampleOf,
  jsonSchemaOf,
  openObjects,
} from "../../../infra/http/codec-json-schema.ts";

describe("jsonSchemaOf", () => {
  it("turns type, partial and intersection into one object with the required properties", () => {
    const C = t.intersection([
      t.type({ sku: t.string, quantity: t.number, urgent: t.boolean }),
      t.partial({ note: t.string }),
    ]);
    expect(jsonSchemaOf(C)).toEqual({
      type: "object",
      properties: {
        sku: { type: "string" },
        quantity: { type: "number" },
        urgent: { type: "boolean" },
        note: { type: "string" },
      },
      required: ["sku", "quantity", "urgent"],
    });
  });

  it("literal, keyof and a union of literals are enums; a union of shapes is anyOf; null makes it nullable", () => {
    expect(jsonSchemaOf(t.literal("receiveGoods"))).toEqual({ type: "string", enum: ["receiveGoods"] });
    expect(jsonSchemaOf(t.keyof({ request: null, stream: null }))).toEqual({
      type: "string",
      enum: ["request", "stream"],
    });
    expect(jsonSchemaOf(t.union([t.literal("a"), t.literal("b")]))).toEqual({
      type: "string",
      enum: ["a", "b"],
    });
    expect(jsonSchemaOf(t.union([t.string, t.array(t.string)]))).toEqual({
      anyOf: [{ type: "string" }, { type: "array", items: { type: "string" } }],
    });
    expect(jsonSchemaOf(t.union([t.string, t.null]))).toEqual({ type: "string", nullable: true });
  });

  it("a property whose codec admits undefined is not required", () => {
    expect(jsonSchemaOf(t.type({ a: t.string, b: t.union([t.string, t.undefined]) }))).toEqual({
      type: "object",
      properties: { a: { type: "string" }, b: { type: "string" } },
      required: ["a"],
    });
  });

  it("arrays, records (open and over known keys), exact and readonly", () => {
    expect(jsonSchemaOf(t.readonlyArray(t.number))).toEqual({ type: "array", items: { type: "number" } });
    expect(jsonSchemaOf(t.record(t.string, t.number))).toEqual({
      type: "object",
      additionalProperties: { type: "number" },
    });
    expect(jsonSchemaOf(t.record(t.keyof({ eu: null, us: null }), t.number))).toEqual({
      type: "object",
      properties: { eu: { type: "number" }, us: { type: "number" } },
    });
    // exact strips unknown properties, it does not refuse them.
    expect(jsonSchemaOf(t.exact(t.type({ a: t.string })))).toEqual({
      type: "object",
      properties: { a: { type: "string" } },
      required: ["a"],
    });
    expect(jsonSchemaOf(t.readonly(t.type({ a: t.string })))).toMatchObject({ type: "object" });
  });

  it("a refinement or brand keeps its base schema and says its name", () => {
    interface PositiveBrand {
      readonly Positive: unique symbol;
    }
    const Positive = t.brand(t.number, (n): n is t.Branded<number, PositiveBrand> => n > 0, "Positive");
    expect(jsonSchemaOf(Positive)).toEqual({ type: "number", description: "Positive" });
    expect(jsonSchemaOf(t.Int)).toEqual({ type: "integer" });
    expect(jsonSchemaOf(t.refinement(t.string, (s) => s.length > 2, "three or more letters"))).toEqual({
      type: "string",
      description: "three or more letters",
    });
  });

  it("a recursive codec is shown one level deep instead of forever", () => {
    interface Node {
      name: string;
      children: Node[];
    }
    const NodeC: t.Type<Node> = t.recursion("Node", () =>
      t.type({ name: t.string, children: t.array(NodeC) }),
    );
    expect(jsonSchemaOf(NodeC)).toEqual({
      type: "object",
      properties: {
        name: { type: "string" },
        children: { type: "array", items: { type: "object", description: "Node" } },
      },
      required: ["name", "children"],
    });
  });

  it("the domain's hand-written scalars have their limits; an unknown hand-written codec its name", () => {
    expect(jsonSchemaOf(SkuC)).toMatchObject({ type: "string", minLength: 1, maxLength: ID_LIMITS.sku });
    expect(jsonSchemaOf(PositiveIntC)).toEqual({ type: "integer", minimum: 1 });
    expect(jsonSchemaOf(IsoTimestampC)).toMatchObject({ type: "string", format: "date-time" });
    const Odd = new t.Type<number>(
      "an odd number",
      (u): u is number => typeof u === "number" && u % 2 === 1,
      (u, c) => (typeof u === "number" && u % 2 === 1 ? t.success(u) : t.failure(u, c)),
      t.identity,
    );
    expect(jsonSchemaOf(Odd)).toEqual({ description: "an odd number" });
    annotateCodec(Odd, { type: "integer", description: "an odd number" });
    expect(jsonSchemaOf(t.type({ n: Odd }))).toEqual({
      type: "object",
      properties: { n: { type: "integer", description: "an odd number" } },
      required: ["n"],
    });
  });

  it("a command codec becomes the schema its decoder enforces", () => {
    const s = jsonSchemaOf(CommandCodecs.receiveGoods) as {
      properties: Record<string, { enum?: unknown[]; required?: string[] }>;
      required: string[];
    };
    expect(s.properties.kind?.enum).toEqual(["receiveGoods"]);
    expect(s.required).toEqual(
      expect.arrayContaining(["kind", "quantity", "idempotencyKey", "source", "businessTime", "position"]),
    );
    expect(s.properties.position?.required).toEqual(["sku", "location", "region"]);
    // The example made from the schema is a command the codec decodes.
    expect(CommandCodecs.receiveGoods.is(exampleOf(s as never))).toBe(true);
  });
});

describe("helpers", () => {
  it("describeProperties adds descriptions; openObjects opens every object and leaves examples alone", () => {
    const s = describeProperties(jsonSchemaOf(t.type({ a: t.type({ b: t.string }) })), { a: "the a" });
    expect((s.properties as Record<string, { description?: string }>).a?.description).toBe("the a");
    const o = openObjects({ ...s, examples: [{ type: "object" }] });
    expect(o.additionalProperties).toBe(true);
    expect(
      ((o.properties as Record<string, Record<string, unknown>>).a as Record<string, unknown>)
        .additionalProperties,
    ).toBe(true);
    expect(o.examples).toEqual([{ type: "object" }]);
  });

  it("exampleOf: given examples first, then enums, real times, numbers in bounds, <name> for strings", () => {
    expect(exampleOf({ type: "string", example: "SKU-1" })).toBe("SKU-1");
    expect(exampleOf({ type: "string", enum: ["request", "stream"] })).toBe("request");
    expect(exampleOf({ type: "string", format: "date-time" })).toBe("2026-05-01T10:00:00Z");
    expect(exampleOf({ type: "integer", minimum: 5 })).toBe(5);
    expect(
      exampleOf({
        type: "object",
        properties: { sku: { type: "string" }, note: { type: "string" }, n: { type: "integer" } },
        required: ["sku", "n"],
      }),
    ).toEqual({ sku: "<sku>", n: 1 });
    expect(JSON.stringify(exampleOf(jsonSchemaOf(CommandCodecs.adjustStock)))).not.toContain('"string"');
  });
});
