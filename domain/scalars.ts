/**
 * Scalar io-ts codecs shared by commands, events and configuration. Their names are the
 * "expected ..." part of decoding errors, so they are written for a reader.
 */
import * as t from "io-ts";
import { isRegion } from "./ids.ts";
import {
  ID_LIMITS,
  type IdKind,
  MAX_QUANTITY,
  MAX_REGION_CHARS,
  MAX_RESERVATION_TTL_SECONDS,
  MAX_TIMESTAMP_YEAR,
  MIN_TIMESTAMP_YEAR,
} from "./limits.ts";

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
  `a region (lowercase letters, digits, '-'; at most ${MAX_REGION_CHARS} characters)`,
  (u): u is string => typeof u === "string" && isRegion(u),
);

// ---------------------------------------------------------------------------------------------
// Bounded values from outside (limits.ts): each failure names the rule it broke.

/** A codec whose `check` returns undefined for a valid value, else what was expected instead. */
const checked = <A>(name: string, check: (u: unknown) => string | undefined): t.Type<A, A, unknown> =>
  new t.Type<A, A, unknown>(
    name,
    (u): u is A => check(u) === undefined,
    (u, c) => {
      const problem = check(u);
      return problem === undefined ? t.success(u as A) : t.failure(u, c, problem);
    },
    t.identity,
  );

/** UTF-8 length of a string (domain code imports no Buffer). */
export const utf8Bytes = (s: string): number => {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n += 4;
        i++;
      } else n += 3;
    } else n += 3;
  }
  return n;
};

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const CONTROL = /\p{Cc}/u;
const hex = (c: number): string => `U+${c.toString(16).toUpperCase().padStart(4, "0")}`;

/**
 * Why `s` cannot be an id of at most `maxBytes` UTF-8 bytes, or undefined when it can: not empty
 * nor blank, well-formed Unicode (a lone surrogate cannot be encoded for a subject), no control
 * characters (they break logs, headers and operators' screens), and short enough that every
 * subject, key and message made from it fits the server's limits.
 */
export const idProblem = (s: string, maxBytes: number): string | undefined => {
  if (isId(s, maxBytes)) return undefined;
  // A UTF-16 unit is at least one byte: a too long string is refused before it is scanned.
  if (s.length > maxBytes) return `at most ${maxBytes} bytes in UTF-8 (got ${s.length} characters)`;
  if (s.trim().length === 0) return "a non-empty string";
  const bytes = utf8Bytes(s);
  if (bytes > maxBytes) return `at most ${maxBytes} bytes in UTF-8 (got ${bytes} bytes)`;
  const lone = LONE_SURROGATE.exec(s);
  if (lone)
    return `well-formed Unicode (lone surrogate ${hex(lone[0].charCodeAt(0))} at index ${lone.index})`;
  const control = CONTROL.exec(s);
  if (control) return `no control characters (${hex(control[0].charCodeAt(0))} at index ${control.index})`;
  return "non-empty, well-formed Unicode without control characters"; // (isId and the above agree)
};

/**
 * The rules of `idProblem` in one pass without allocation (every field of every command goes
 * through it); `idProblem` finds the words only for what fails.
 */
const isId = (s: string, maxBytes: number): boolean => {
  if (s.length === 0 || s.length > maxBytes) return false;
  let bytes = 0;
  let printable = false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) {
      if (c < 0x20 || c === 0x7f) return false;
      if (c !== 0x20) printable = true;
      bytes += 1;
    } else if (c < 0xa0)
      return false; // C1 controls
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdfff) {
      const d = c <= 0xdbff && i + 1 < s.length ? s.charCodeAt(i + 1) : 0;
      if (d < 0xdc00 || d > 0xdfff) return false;
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  // Only whitespace beyond ASCII (no-break spaces, ideographic space) is left to `trim` to judge.
  return bytes <= maxBytes && (printable || s.trim().length > 0);
};

/** An id of one of the kinds of `ID_LIMITS`. */
export const boundedIdC = (kind: IdKind, what: string): t.Type<string, string, unknown> => {
  const max = ID_LIMITS[kind];
  return checked<string>(
    `${what} (non-empty, well-formed Unicode without control characters, at most ${max} bytes in UTF-8)`,
    (u) => {
      if (typeof u !== "string") return `${what}: a non-empty string of at most ${max} bytes in UTF-8`;
      const problem = idProblem(u, max);
      return problem === undefined ? undefined : `${what}: ${problem}`;
    },
  );
};

export const SkuC = boundedIdC("sku", "a SKU");
export const LocationIdC = boundedIdC("location", "a location id");
export const SystemIdC = boundedIdC("system", "a system or channel name");
export const CodeC = boundedIdC("code", "a code");
export const DocumentIdC = boundedIdC("document", "a document id");
export const SerialC = boundedIdC("serial", "a serial number");
export const ReservationIdC = boundedIdC("reservationId", "a reservation id");
export const KeyC = boundedIdC("key", "a key or id");
export const ClientKeyC = boundedIdC("clientKey", "an idempotency key");
export const TextC = boundedIdC("text", "a text");

/** An array of at most `max` items; paths of item errors stay those of a plain array (`serials.2`). */
export const boundedArrayC = <C extends t.Mixed>(
  item: C,
  max: number,
): t.Type<t.TypeOf<C>[], t.OutputOf<C>[], unknown> => {
  const array = t.array(item);
  return new t.Type<t.TypeOf<C>[], t.OutputOf<C>[], unknown>(
    `${array.name} of at most ${max} items`,
    (u): u is t.TypeOf<C>[] => array.is(u) && u.length <= max,
    (u, c) => {
      if (Array.isArray(u) && u.length > max)
        return t.failure(u, c, `at most ${max} items (got ${u.length})`);
      const last = c[c.length - 1];
      return array.validate(u, last ? [...c.slice(0, -1), { ...last, type: array }] : c);
    },
    array.encode,
  );
};

const quantity = (name: string, min: number): t.Type<number, number, unknown> =>
  refined<number>(
    `${name} of at most ${MAX_QUANTITY}`,
    (u): u is number => isInt(u) && u >= min && u <= MAX_QUANTITY,
  );

/** A movement's size in its unit: 1 ..= MAX_QUANTITY. */
export const MovementAmountC = quantity("a positive integer", 1);
/** A level (count, safety stock): 0 ..= MAX_QUANTITY. */
export const LevelAmountC = quantity("a non-negative integer", 0);
/** A signed delta: non-zero, |delta| <= MAX_QUANTITY. */
export const DeltaAmountC = checked<number>(
  `a non-zero integer of at most ${MAX_QUANTITY} in magnitude`,
  (u) =>
    isInt(u) && u !== 0 && Math.abs(u) <= MAX_QUANTITY
      ? undefined
      : `a non-zero integer of at most ${MAX_QUANTITY} in magnitude`,
);
/** Any recorded source quantity: |value| <= MAX_QUANTITY. */
export const RecordedAmountC = checked<number>(`an integer of at most ${MAX_QUANTITY} in magnitude`, (u) =>
  isInt(u) && Math.abs(u) <= MAX_QUANTITY ? undefined : `an integer of at most ${MAX_QUANTITY} in magnitude`,
);

/** A reservation's time to live: 1 second ..= MAX_RESERVATION_TTL_SECONDS (366 days). */
export const ReservationTtlSecondsC = checked<number>(
  `a number of seconds from 1 to ${MAX_RESERVATION_TTL_SECONDS} (366 days)`,
  (u) =>
    isInt(u) && u >= 1 && u <= MAX_RESERVATION_TTL_SECONDS
      ? undefined
      : `a number of seconds from 1 to ${MAX_RESERVATION_TTL_SECONDS} (366 days)`,
);

// ---------------------------------------------------------------------------------------------
// Timestamps

// ISO 8601 with an explicit offset, so that business times from different systems compare.
const ISO_TIMESTAMP =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:Z|([+-])(\d{2}):(\d{2}))$/;
const TIMESTAMP_FORM = "an ISO 8601 timestamp with offset (e.g. 2024-05-01T10:00:00Z)";

const daysIn = (year: number, month: number): number =>
  month === 2
    ? year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0)
      ? 29
      : 28
    : [4, 6, 9, 11].includes(month)
      ? 30
      : 31;

/**
 * Why `s` is not a real calendar timestamp, or undefined when it is. `Date.parse` rolls invalid
 * dates over (2024-02-30 becomes March 1st, 24:00 the next day), so every field is checked here.
 */
export const timestampProblem = (s: string): string | undefined => {
  if (isTimestamp(s)) return undefined;
  const m = ISO_TIMESTAMP.exec(s);
  if (!m) return TIMESTAMP_FORM;
  const [year, month, day, hour, minute] = [m[1], m[2], m[3], m[4], m[5]].map(Number) as [
    number,
    number,
    number,
    number,
    number,
  ];
  const second = m[6] === undefined ? 0 : Number(m[6]);
  if (year < MIN_TIMESTAMP_YEAR || year > MAX_TIMESTAMP_YEAR)
    return `a year from ${MIN_TIMESTAMP_YEAR} to ${MAX_TIMESTAMP_YEAR}`;
  if (month < 1 || month > 12) return "a month from 01 to 12";
  if (day < 1 || day > daysIn(year, month))
    return `a day from 01 to ${daysIn(year, month)} of ${m[1]}-${m[2]}`;
  if (hour > 23 || minute > 59 || second > 59) return "a time of day from 00:00:00 to 23:59:59";
  if (m[7] !== undefined) {
    const offsetMinutes = Number(m[8]) * 60 + Number(m[9]);
    if (Number(m[9]) > 59 || offsetMinutes > 14 * 60) return "an offset from -14:00 to +14:00";
  }
  return Number.isNaN(Date.parse(s)) ? TIMESTAMP_FORM : undefined;
};

/** Two ASCII digits at `i` as a number, or -1. */
const twoDigits = (s: string, i: number): number => {
  const a = s.charCodeAt(i) - 48;
  const b = s.charCodeAt(i + 1) - 48;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1;
};

/**
 * The rules of `timestampProblem` in one pass without a match array (every command carries a
 * timestamp or two); `timestampProblem` finds the words only for what fails.
 */
const isTimestamp = (s: string): boolean => {
  const n = s.length;
  if (n < 17 || s.charCodeAt(4) !== 45 || s.charCodeAt(7) !== 45 || s.charCodeAt(10) !== 84) return false;
  if (s.charCodeAt(13) !== 58) return false;
  const century = twoDigits(s, 0);
  const yy = twoDigits(s, 2);
  const month = twoDigits(s, 5);
  const day = twoDigits(s, 8);
  const hour = twoDigits(s, 11);
  const minute = twoDigits(s, 14);
  if (century < 0 || yy < 0 || hour < 0 || hour > 23 || minute < 0 || minute > 59) return false;
  const year = century * 100 + yy;
  if (year < MIN_TIMESTAMP_YEAR || year > MAX_TIMESTAMP_YEAR || month < 1 || month > 12) return false;
  if (day < 1 || day > daysIn(year, month)) return false;
  let i = 16;
  if (s.charCodeAt(i) === 58) {
    const second = twoDigits(s, i + 1);
    if (second < 0 || second > 59) return false;
    i += 3;
    if (s.charCodeAt(i) === 46) {
      const start = ++i;
      while (i < n && i - start < 10 && s.charCodeAt(i) >= 48 && s.charCodeAt(i) <= 57) i++;
      if (i === start || i - start > 9) return false;
    }
  }
  if (s.charCodeAt(i) === 90) i += 1;
  else {
    const sign = s.charCodeAt(i);
    if ((sign !== 43 && sign !== 45) || s.charCodeAt(i + 3) !== 58) return false;
    const oh = twoDigits(s, i + 1);
    const om = twoDigits(s, i + 4);
    if (oh < 0 || om < 0 || om > 59 || oh * 60 + om > 14 * 60) return false;
    i += 6;
  }
  return i === n && !Number.isNaN(Date.parse(s));
};

export const IsoTimestampC = checked<string>(
  `${TIMESTAMP_FORM}, a real date and time in the years ${MIN_TIMESTAMP_YEAR}-${MAX_TIMESTAMP_YEAR}`,
  (u) => (typeof u !== "string" ? TIMESTAMP_FORM : timestampProblem(u)),
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
