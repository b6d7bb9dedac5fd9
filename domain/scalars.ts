/**
 * Scalar io-ts codecs shared by commands, events and configuration. Their names are the
 * "expected ..." part of decoding errors, so they are written for a reader.
 */
import * as t from "io-ts";
import { isRegion } from "./ids.ts";

const refined = <A>(name: string, is: (u: unknown) => u is A): t.Type<A, A, unknown> =>
  new t.Type<A, A, unknown>(name, is, (u, c) => (is(u) ? t.success(u) : t.failure(u, c)), t.identity);

const isInt = (u: unknown): u is number => typeof u === "number" && Number.isSafeInteger(u);

export const IntC = refined<number>("an integer", isInt);
export const PositiveIntC = refined<number>("a positive integer", (u): u is number => isInt(u) && u > 0);
export const NonNegativeIntC = refined<number>(
  "a non-negative integer",
  (u): u is number => isInt(u) && u >= 0,
);
export const NonZeroIntC = refined<number>("a non-zero integer", (u): u is number => isInt(u) && u !== 0);

export const NonEmptyStringC = refined<string>(
  "a non-empty string",
  (u): u is string => typeof u === "string" && u.trim().length > 0,
);

export const RegionC = refined<string>(
  "a region (lowercase letters, digits, '-')",
  (u): u is string => typeof u === "string" && isRegion(u),
);

// ISO 8601 with an explicit offset, so that business times from different systems compare.
const ISO_TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;
export const IsoTimestampC = refined<string>(
  "an ISO 8601 timestamp with offset (e.g. 2024-05-01T10:00:00Z)",
  (u): u is string => typeof u === "string" && ISO_TIMESTAMP.test(u) && !Number.isNaN(Date.parse(u)),
);

/** Milliseconds since the epoch of a validated timestamp. */
export const timeOf = (iso: string): number => Date.parse(iso);

export const Sha256HexC = refined<string>(
  "a sha256 hex digest (64 lowercase hex characters)",
  (u): u is string => typeof u === "string" && /^[0-9a-f]{64}$/.test(u),
);

/**
 * A union discriminated by one literal field, decoded by dispatch on that field: errors then
 * speak about the one member the input claims to be, not about every member of the union.
 */
export const taggedUnion = <Tag extends string, M extends Record<string, t.Mixed>>(
  name: string,
  tag: Tag,
  members: M,
): t.Type<t.TypeOf<M[keyof M]>, t.OutputOf<M[keyof M]>, unknown> => {
  const tags = Object.keys(members);
  const expectedTag = refined<string>(
    `one of ${tags.map((k) => JSON.stringify(k)).join(", ")}`,
    (u): u is string => typeof u === "string" && Object.hasOwn(members, u),
  );
  return new t.Type(
    name,
    (u): u is t.TypeOf<M[keyof M]> => {
      if (typeof u !== "object" || u === null) return false;
      const k = (u as Record<string, unknown>)[tag];
      return typeof k === "string" && Object.hasOwn(members, k) && (members[k] as t.Mixed).is(u);
    },
    (u, c) => {
      if (typeof u !== "object" || u === null || Array.isArray(u)) return t.failure(u, c, "an object");
      const k = (u as Record<string, unknown>)[tag];
      if (typeof k !== "string" || !Object.hasOwn(members, k)) {
        return expectedTag.validate(k, t.appendContext(c, tag, expectedTag, k));
      }
      const member = members[k] as t.Mixed;
      return member.validate(u, t.appendContext(c, "", member, u));
    },
    (a) => (members[(a as Record<string, string>)[tag] as string] as t.Mixed).encode(a),
  );
};
