/**
 * Canonical JSON is what the audit hash chain and command fingerprints hash, so its bytes must never
 * change. The node writes it through a key-sorted copy and `JSON.stringify` (issue 13); these
 * properties compare that with the definition written the plain way: keys sorted by
 * `Array.prototype.sort`, `undefined` members dropped, `undefined`/functions in arrays as null.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { canonicalJson, canonicalJsonWithout } from "../../domain/canonical-json.ts";

const reference = (v: unknown, omit?: string): string => {
  if (v === null) return "null";
  if (typeof v === "number") {
    if (!Number.isFinite(v)) throw new TypeError("non-finite");
    return JSON.stringify(v);
  }
  if (typeof v === "string" || typeof v === "boolean") return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map((x) => (x === undefined ? "null" : reference(x))).join(",")}]`;
  if (typeof v === "object") {
    const o = v as Record<string, unknown>;
    const members = Object.keys(o)
      .sort()
      .filter((k) => o[k] !== undefined && k !== omit)
      .map((k) => `${JSON.stringify(k)}:${reference(o[k])}`);
    return `{${members.join(",")}}`;
  }
  return "null"; // functions, symbols, undefined
};

/** Keys that trip `JSON.stringify`'s own ordering or assignment: indices, `__proto__`, odd code units. */
const key = fc.oneof(
  fc.string({ maxLength: 6 }),
  fc.constantFrom(
    "__proto__",
    "constructor",
    "toJSON",
    "0",
    "1",
    "10",
    "9",
    "01",
    "-1",
    "4294967295",
    "é",
    "\uD83D",
    "😀",
    "Z",
    "_",
    "",
  ),
);

const value = fc.letrec((tie) => ({
  leaf: fc.oneof(
    fc.string(),
    fc.integer(),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.boolean(),
    fc.constant(null),
    fc.constant(undefined),
    fc.constant(-0),
  ),
  tree: fc.oneof({ depthSize: "small" }, tie("leaf"), tie("array"), tie("object")),
  array: fc.array(tie("tree"), { maxLength: 5 }),
  object: fc.array(fc.tuple(key, tie("tree")), { maxLength: 8 }).map((entries) => {
    // As JSON.parse builds them: `__proto__` an own member, not the prototype.
    const o: Record<string, unknown> = {};
    for (const [k, v] of entries)
      Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
    return o;
  }),
}));

describe("canonical JSON", () => {
  it("equals the plain definition for any JSON-like value", () => {
    fc.assert(
      fc.property(value.tree, (v) => {
        expect(canonicalJson(v)).toBe(reference(v));
      }),
      { numRuns: 3000 },
    );
  });

  it("leaves out only the named top-level member", () => {
    fc.assert(
      fc.property(value.object, key, (o, omit) => {
        expect(canonicalJsonWithout(o, omit)).toBe(reference(o, omit));
      }),
      { numRuns: 1000 },
    );
  });

  it("writes functions and symbols as null and refuses non-finite numbers and bigints", () => {
    expect(canonicalJson({ b: () => 1, a: [Symbol("s"), undefined], toJSON: () => "x" })).toBe(
      '{"a":[null,null],"b":null,"toJSON":null}',
    );
    expect(canonicalJson(new Date(0))).toBe("{}");
    expect(() => canonicalJson({ a: [1, Number.POSITIVE_INFINITY] })).toThrow(TypeError);
    expect(() => canonicalJson({ a: 1n })).toThrow(TypeError);
    // after a refusal the next value is written normally
    expect(canonicalJson({ "10": 1, "9": 2, a: { "1": 0 } })).toBe('{"10":1,"9":2,"a":{"1":0}}');
    expect(canonicalJson({ b: 1, a: 2 })).toBe('{"a":2,"b":1}');
  });
});
