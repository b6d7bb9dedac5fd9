/**
 * What an integrator gets wrong and an attacker tries on purpose, as fast-check arbitraries: ids with
 * subject syntax, control characters and lone UTF-16 surrogates, very long ids, numbers at and past
 * the exact integers, impossible calendar dates, absurd durations, deep nesting, prototype keys, and
 * payloads that are not JSON or not UTF-8.
 */
import fc from "fast-check";

/** Built once: generating megabytes per run would make the run about the generator. */
const LONG_5K = "S".repeat(5_000);
const LONG_64K = "L".repeat(64 * 1024);
const LONG_2M = "M".repeat(2 * 1024 * 1024);

/** Strings that are dangerous as ids: subject syntax, whitespace, escapes of our own encodings. */
const SYNTAX_IDS = [
  "A.B",
  "*",
  ">",
  "A B",
  " ",
  "\t",
  "SKU>",
  "inv.cmd.x.>",
  "%",
  "%2E",
  "%%",
  "=",
  "~",
  "A~B",
  "/",
  "..",
  "\\",
  "-",
  "PUB x 1\r\n",
  "a\r\nPUB inv.cmd.x.y.z 2\r\n{}",
  "\u0000",
  "\u001b[31m",
  "\u007f",
  "\u2028",
  "\ufeff",
  "\u200b",
  "😀",
  "Ä",
  "e\u0301",
];

/** Ill-formed UTF-16: a lone high or low surrogate, or a pair in the wrong order. */
export const loneSurrogateString: fc.Arbitrary<string> = fc
  .tuple(
    fc.string({ maxLength: 8 }),
    fc.oneof(
      fc.integer({ min: 0xd800, max: 0xdbff }).map((c) => String.fromCharCode(c)),
      fc.integer({ min: 0xdc00, max: 0xdfff }).map((c) => String.fromCharCode(c)),
      fc.constant("\udc00\ud800"),
    ),
    fc.string({ maxLength: 8 }),
  )
  .map(([a, s, b]) => `${a}${s}${b}`);

const controlChars = fc
  .array(fc.integer({ min: 0, max: 0x1f }), { minLength: 1, maxLength: 4 })
  .map((cs) => `X${String.fromCharCode(...cs)}Y`);

/** Any id a hostile or careless source might send. */
export const hostileId: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.constantFrom(...SYNTAX_IDS), weight: 6 },
  { arbitrary: fc.constant(""), weight: 1 },
  { arbitrary: loneSurrogateString, weight: 3 },
  { arbitrary: controlChars, weight: 2 },
  { arbitrary: fc.string({ unit: "binary", maxLength: 20 }), weight: 2 },
  { arbitrary: fc.string({ unit: "grapheme", maxLength: 20 }), weight: 1 },
  { arbitrary: fc.integer({ min: 200, max: 1_500 }).map((n) => "x".repeat(n)), weight: 1 },
  { arbitrary: fc.constantFrom(LONG_5K, LONG_64K), weight: 1 },
  { arbitrary: fc.constant(LONG_2M), weight: 1 },
);

export const MAX_SAFE = Number.MAX_SAFE_INTEGER;

/** Numbers JSON can carry that are no quantity: at and past safe integers, fractions, signs. */
export const hostileNumber: fc.Arbitrary<number> = fc.oneof(
  fc.constantFrom(
    0,
    -0,
    -1,
    0.5,
    1.0000001,
    1e-7,
    MAX_SAFE,
    MAX_SAFE - 1,
    MAX_SAFE + 1,
    MAX_SAFE + 2,
    -MAX_SAFE,
    2 ** 31,
    2 ** 32,
    2 ** 53 * 4,
    1e21,
    1e308,
    Number.MIN_VALUE,
  ),
  fc.integer({ min: -1_000, max: 0 }),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);

/** Values of the wrong JSON type for any field. */
export const wrongType: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(null, true, false, "", "1", "EA", [], {}, [1], { value: 1 }),
  fc.integer(),
);

/** Timestamps: impossible dates, absurd years, odd offsets, and well-formed ones for contrast. */
export const hostileTimestamp: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    "2024-02-30T00:00:00Z",
    "2023-02-29T12:00:00Z",
    "2024-04-31T00:00:00Z",
    "2024-13-01T00:00:00Z",
    "2024-00-10T00:00:00Z",
    "2024-05-00T00:00:00Z",
    "2024-05-01T24:00:00Z",
    "2024-05-01T23:60:00Z",
    "2024-05-01T23:59:60Z",
    "2024-05-01T10:00:00+99:99",
    "2024-05-01T10:00:00+14:00",
    "2024-05-01T10:00:00-00:00",
    "2024-05-01T10:00:00.123456789Z",
    "0000-01-01T00:00:00Z",
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59Z",
    "+275760-09-13T00:00:00Z",
    "2024-05-01",
    "2024-05-01T10:00:00",
    "1714557600000",
    "yesterday",
  ),
  fc
    .date({
      min: new Date("1900-01-01T00:00:00Z"),
      max: new Date("2100-01-01T00:00:00Z"),
      noInvalidDate: true,
    })
    .map((d) => d.toISOString()),
);

/** Durations in seconds: zero, negative, fractional, and far beyond any date JavaScript can hold. */
export const hostileTtl: fc.Arbitrary<number> = fc.constantFrom(
  1,
  0,
  -1,
  1.5,
  3_600,
  2 ** 31,
  8_640_000_000,
  8_640_000_000_000,
  MAX_SAFE,
  1e21,
);

/** A value wrapped in `depth` arrays or objects. */
export const nested = (depth: number, leaf: unknown, asArray: boolean): unknown => {
  let v = leaf;
  for (let i = 0; i < depth; i++) v = asArray ? [v] : { n: v };
  return v;
};

/** Raw payloads that are not a JSON command: not UTF-8, not JSON, or JSON of the wrong shape. */
export const hostileBytes: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.uint8Array({ maxLength: 64 }),
  fc.constantFrom(
    Uint8Array.from([0xff, 0xfe, 0xfd]),
    Uint8Array.from([0xc3, 0x28]),
    Uint8Array.from([0xc0, 0xaf]),
    Uint8Array.from([0xed, 0xa0, 0x80]),
    Uint8Array.from([0xef, 0xbb, 0xbf, 0x7b, 0x7d]),
  ),
  fc
    .constantFrom(
      "",
      "{",
      "}",
      "null",
      "0",
      '"receiveGoods"',
      "[]",
      "{}",
      "NaN",
      "Infinity",
      '{"kind":"receiveGoods","quantity":{"value":1e400,"uom":"EA"}}',
      '{"kind":"receiveGoods","kind":"placeReservation"}',
      '{"__proto__":{"polluted":true}}',
      '{"constructor":{"prototype":{"polluted":true}}}',
      `${"[".repeat(100_000)}${"]".repeat(100_000)}`,
      `{"a":${'{"a":'.repeat(2_000)}1${"}".repeat(2_001)}`,
    )
    .map((s) => new TextEncoder().encode(s)),
);
