/**
 * `timestampProblem` answers the common case without its regular expression: for any string, near
 * misses of every field included, it says what the regular-expression rules below (its definition
 * before the fast path) say.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MAX_TIMESTAMP_YEAR, MIN_TIMESTAMP_YEAR } from "../../domain/limits.ts";
import { timestampProblem } from "../../domain/scalars.ts";

const ISO_TIMESTAMP =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:Z|([+-])(\d{2}):(\d{2}))$/;
const daysIn = (year: number, month: number): number =>
  month === 2
    ? year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0)
      ? 29
      : 28
    : [4, 6, 9, 11].includes(month)
      ? 30
      : 31;
const referenceIsValid = (s: string): boolean => {
  const m = ISO_TIMESTAMP.exec(s);
  if (!m) return false;
  const [year, month, day, hour, minute] = [m[1], m[2], m[3], m[4], m[5]].map(Number) as number[];
  const second = m[6] === undefined ? 0 : Number(m[6]);
  if (year! < MIN_TIMESTAMP_YEAR || year! > MAX_TIMESTAMP_YEAR) return false;
  if (month! < 1 || month! > 12) return false;
  if (day! < 1 || day! > daysIn(year!, month!)) return false;
  if (hour! > 23 || minute! > 59 || second > 59) return false;
  if (m[7] !== undefined && (Number(m[9]) > 59 || Number(m[8]) * 60 + Number(m[9]) > 14 * 60)) return false;
  return !Number.isNaN(Date.parse(s));
};

/** Mostly a valid field, sometimes one just out of range, now and then anything. */
const field = (n: number, min: number, max: number) =>
  fc
    .oneof(
      { weight: 20, arbitrary: fc.integer({ min, max }) },
      {
        weight: 2,
        arbitrary: fc.integer({ min: Math.max(0, min - 2), max: Math.min(10 ** n - 1, max + 2) }),
      },
      { weight: 1, arbitrary: fc.integer({ min: 0, max: 10 ** n - 1 }) },
    )
    .map((v) => String(v).padStart(n, "0"));
const mostly = (valid: fc.Arbitrary<string>) =>
  fc.oneof({ weight: 20, arbitrary: valid }, { weight: 1, arbitrary: fc.string({ maxLength: 3 }) });
const sep = (c: string) => mostly(fc.constant(c));
const timestampLike = fc
  .tuple(
    mostly(field(4, 1970, 2999)),
    sep("-"),
    mostly(field(2, 1, 12)),
    sep("-"),
    mostly(field(2, 1, 31)),
    mostly(fc.constantFrom("T", "T", "T", "t", " ")),
    mostly(field(2, 0, 23)),
    sep(":"),
    mostly(field(2, 0, 59)),
    fc.oneof(
      fc.constant(""),
      fc
        .tuple(
          sep(":"),
          mostly(field(2, 0, 59)),
          fc.oneof(fc.constant(""), fc.stringMatching(/^\.\d{0,11}$/), fc.string({ maxLength: 3 })),
        )
        .map((parts) => parts.join("")),
    ),
    mostly(
      fc.oneof(
        fc.constantFrom("Z", "z", "", "+00:00", "-14:00", "+14:00", "+14:01", "-13:60", "+05:30", "+5:30"),
        fc
          .tuple(fc.constantFrom("+", "-", "*"), field(2, 0, 14), sep(":"), field(2, 0, 59))
          .map((parts) => parts.join("")),
      ),
    ),
    fc.oneof({ weight: 20, arbitrary: fc.constant("") }, fc.string({ maxLength: 2 })),
  )
  .map((parts) => parts.join(""));

describe("timestampProblem's fast path", () => {
  it("accepts exactly what the regular-expression rules accept", () => {
    fc.assert(
      fc.property(fc.oneof(timestampLike, fc.string()), (s) => {
        expect(timestampProblem(s) === undefined).toBe(referenceIsValid(s));
      }),
      { numRuns: 20_000 },
    );
  });

  it("accepts real timestamps of every form", () => {
    fc.assert(
      fc.property(
        fc.date({
          min: new Date("1970-01-02T00:00:00Z"),
          max: new Date("2999-12-30T00:00:00Z"),
          noInvalidDate: true,
        }),
        (d) => {
          const iso = d.toISOString();
          for (const s of [iso, `${iso.slice(0, 19)}Z`, `${iso.slice(0, 16)}Z`, iso.replace("Z", "+02:00")])
            expect(timestampProblem(s)).toBeUndefined();
        },
      ),
    );
  });
});
