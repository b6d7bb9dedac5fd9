/**
 * The byte intake skips the walk of a command's value when its text shows it passes the depth, size
 * and forbidden-key guards (no escapes, no forbidden names, few enough brackets). For any JSON text,
 * hostile or not, it decides exactly as the value intake that always walks.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseCommandBytes, parseCommandValue } from "../../services/regional-node/command-intake.ts";

const te = new TextEncoder();

const command = {
  kind: "receiveGoods",
  idempotencyKey: "k-1",
  source: { system: "wms", document: { type: "ASN", id: "A-1" } },
  businessTime: "2025-03-03T08:00:00.000Z",
  correlationId: "c-1",
  position: { region: "eu", location: "DC", sku: "S-1" },
  quantity: { value: 3, uom: "EA" },
};

const key = fc.oneof(
  fc.constantFrom(
    "kind",
    "lot",
    "__proto__",
    "constructor",
    "prototype",
    "a",
    "__pro\\u0074o__",
    "constr\\u0075ctor",
  ),
  fc.string({ maxLength: 4 }).map((s) => JSON.stringify(s).slice(1, -1)),
);
/** JSON text built by hand, so that keys such as `__proto__` and escaped spellings reach the parser. */
const jsonText: fc.Arbitrary<string> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.constantFrom("1", "null", '"x"', '"{["', '"a\\\\b"', '"__proto__"'),
    tie("object"),
    tie("array"),
  ),
  object: fc
    .array(fc.tuple(key, tie("value")), { maxLength: 4 })
    .map((members) => `{${members.map(([k, v]) => `"${k}":${v}`).join(",")}}`),
  array: fc.array(tie("value"), { maxLength: 4 }).map((items) => `[${items.join(",")}]`),
})).value as fc.Arbitrary<string>;

/** The valid command with one member added or replaced by arbitrary JSON. */
const commandText = fc
  .tuple(fc.constantFrom("lot", "documents", "quantity", "__proto__", "serials"), jsonText)
  .map(([k, v]) => `${JSON.stringify(command).slice(0, -1)},"${k}":${v}}`);

describe("byte intake's text guard", () => {
  it("decides as the value intake for any JSON text and depth limit", () => {
    fc.assert(
      fc.property(fc.oneof(jsonText, commandText), fc.integer({ min: 1, max: 8 }), (text, maxJsonDepth) => {
        const limits = { maxPayloadBytes: 1 << 20, maxJsonDepth, region: "eu" };
        expect(parseCommandBytes(te.encode(text), limits)).toEqual(
          parseCommandValue(JSON.parse(text), limits),
        );
      }),
      { numRuns: 5_000 },
    );
  });

  it("accepts the plain command", () => {
    const parsed = parseCommandBytes(te.encode(JSON.stringify(command)), {
      maxPayloadBytes: 1 << 20,
      maxJsonDepth: 32,
      region: "eu",
    });
    expect(parsed.ok).toBe(true);
  });
});
