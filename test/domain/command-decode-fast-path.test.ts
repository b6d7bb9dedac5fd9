/**
 * The intake decodes a command with `commandCodec.is` first and runs the full `decode` (which builds
 * the error paths) only when that fails (issue 13: decoding was an eighth of the node's allocations).
 * That is only the same validation if, for every input, `is` holds exactly when `decode` succeeds,
 * and a successful `decode` gives back the input unchanged. These properties say so, for valid
 * commands of every kind and for commands with one member broken, removed or added.
 */
import fc from "fast-check";
import * as E from "fp-ts/lib/Either.js";
import { describe, expect, it } from "vitest";
import { commandCodec, decodeCommand } from "../../domain/commands.ts";
import { commandArb } from "./position-arbitraries.ts";

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** Every path to a member or item of a JSON value. */
const pathsOf = (v: Json, prefix: (string | number)[] = []): (string | number)[][] => {
  if (v === null || typeof v !== "object") return [];
  const entries: [string | number, Json][] = Array.isArray(v) ? v.map((x, i) => [i, x]) : Object.entries(v);
  return entries.flatMap(([k, x]) => [[...prefix, k], ...pathsOf(x, [...prefix, k])]);
};

/** A copy of `v` with the member at `path` set to `to` (undefined: removed). */
const withAt = (v: Json, path: (string | number)[], to: Json | undefined): Json => {
  if (path.length === 0) return to as Json;
  const [head, ...rest] = path as [string | number, ...(string | number)[]];
  if (Array.isArray(v)) {
    const out = v.slice();
    out[head as number] = withAt(v[head as number] as Json, rest, to);
    return out;
  }
  const o = { ...(v as Record<string, Json>) };
  const next = withAt(o[head as string] as Json, rest, to);
  if (next === undefined) delete o[head as string];
  else o[head as string] = next;
  return o;
};

const validCommand = commandArb.map((c) => JSON.parse(JSON.stringify(c)) as Json);

/** Values a broken member may take: wrong types, empty, huge, negative, fractional, odd strings. */
const oddValue: fc.Arbitrary<Json | undefined> = fc.oneof(
  fc.constant(undefined),
  fc.constantFrom<Json>(
    null,
    "",
    " ",
    0,
    -1,
    1.5,
    1e15,
    true,
    [],
    {},
    "x".repeat(300),
    "2024-02-30T00:00:00Z",
  ),
  fc.jsonValue() as fc.Arbitrary<Json>,
);

const broken = validCommand.chain((c) => {
  const paths = pathsOf(c);
  return fc.tuple(fc.constant(c), fc.constantFrom(...paths), oddValue).map(([v, p, to]) => withAt(v, p, to));
});

const withExtra = validCommand.chain((c) =>
  fc
    .tuple(fc.constantFrom(...[[], ...pathsOf(c)]), fc.string({ minLength: 1, maxLength: 8 }), oddValue)
    .map(([p, key, to]) => {
      const target = p.reduce<Json>((acc, k) => (acc as Record<string, Json>)[k] as Json, c);
      if (target === null || typeof target !== "object" || Array.isArray(target) || to === undefined)
        return c;
      return withAt(c, [...p, key], to);
    }),
);

const sameAsFullDecode = (u: Json) => {
  const full = commandCodec.decode(u);
  expect(commandCodec.is(u)).toBe(E.isRight(full));
  if (E.isRight(full)) expect(full.right).toEqual(u);
  const fast = decodeCommand(u);
  expect(E.isRight(fast)).toBe(E.isRight(full));
  if (E.isRight(fast)) expect(fast.right).toEqual(u);
};

describe("command decoding: `is` first, full decode only on failure", () => {
  it("a valid command of any kind passes both ways and comes back unchanged", () => {
    fc.assert(
      fc.property(validCommand, (c) => {
        expect(commandCodec.is(c)).toBe(true);
        sameAsFullDecode(c);
      }),
      { numRuns: 500 },
    );
  });

  it("a command with one member broken or removed: `is` fails exactly when decoding fails", () => {
    fc.assert(fc.property(broken, sameAsFullDecode), { numRuns: 3000 });
  });

  it("a command with an extra member: both agree (extra members are kept, as decode keeps them)", () => {
    fc.assert(fc.property(withExtra, sameAsFullDecode), { numRuns: 1000 });
  });

  it("a refused command still names the field, the value and what was expected", () => {
    const bad = decodeCommand({ kind: "receiveGoods", quantity: { value: -3, uom: "EA" } });
    expect(E.isLeft(bad)).toBe(true);
    if (E.isLeft(bad)) expect(bad.left.map((e) => e.path)).toContain("quantity.value");
  });
});
