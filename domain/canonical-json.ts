/**
 * Canonical JSON: object keys sorted, `undefined` members dropped. Two equal values always
 * serialise to the same bytes, which the audit hash chain and command fingerprints rely on.
 *
 * On the hot path (every command and every event is fingerprinted). The usual way: a copy with the
 * keys inserted in sorted order, written by `JSON.stringify` (native, one flat string that hashes
 * without flattening; issue 13: about twice as fast as concatenating, and a third of the garbage).
 * `JSON.stringify` writes integer-like keys ("7") first whatever the insertion order and would
 * treat a `__proto__` key as the prototype, so an object with such a key is written by
 * concatenation instead (`concatenated`), which remembers the quoted form of the keys it meets.
 */
import * as crypto from "node:crypto";

/** Quoted keys: events and commands use a few dozen distinct keys (bounded for hostile input). */
const quotedKeys = new Map<string, string>();
const QUOTED_KEYS_MAX = 4096;

const quoteKey = (key: string): string => {
  let quoted = quotedKeys.get(key);
  if (quoted === undefined) {
    quoted = JSON.stringify(key);
    if (quotedKeys.size < QUOTED_KEYS_MAX) quotedKeys.set(key, quoted);
  }
  return quoted;
};

/**
 * Sorts keys in place, in the order of `Array.prototype.sort()` (UTF-16 code units, which is what
 * `<` compares). Insertion sort: objects here have a few dozen keys at most, and unlike
 * `Array.prototype.sort` it allocates nothing (its copy of each key array was a sixth of the node's
 * allocations, issue 13). Larger arrays (hostile input) go to the built-in sort.
 */
const sortKeys = (keys: string[]): string[] => {
  const n = keys.length;
  if (n > 64) return keys.sort();
  for (let i = 1; i < n; i++) {
    const k = keys[i] as string;
    let j = i - 1;
    while (j >= 0 && (keys[j] as string) > k) {
      keys[j + 1] = keys[j] as string;
      j--;
    }
    keys[j + 1] = k;
  }
  return keys;
};

/** Keys `JSON.stringify` would not write in insertion order (array indices) or would not copy (`__proto__`). */
const awkwardKey = (k: string): boolean => {
  const c = k.charCodeAt(0);
  return (c >= 48 && c <= 57) || k === "__proto__";
};

/** Set by `sortedCopy` when it met an awkward key: the value is then written by `concatenated`. */
let awkward = false;

/**
 * A copy of `value` that `JSON.stringify` writes as canonical JSON: keys inserted sorted, `undefined`
 * members dropped, functions and symbols as `null` (as `concatenated` writes them), non-finite
 * numbers refused. Sets `awkward` (and stops copying) at a key it cannot place.
 */
const sortedCopy = (value: unknown, omit: string | undefined): unknown => {
  switch (typeof value) {
    case "number":
      if (!Number.isFinite(value)) throw new TypeError("non-finite number in canonical JSON");
      return value;
    case "object": {
      if (value === null) return null;
      if (Array.isArray(value)) {
        const out = new Array<unknown>(value.length);
        for (let i = 0; i < value.length; i++) {
          const v: unknown = value[i];
          out[i] = v === undefined ? null : sortedCopy(v, undefined);
          if (awkward) return undefined;
        }
        return out;
      }
      const obj = value as Record<string, unknown>;
      const keys = sortKeys(Object.keys(obj));
      const out: Record<string, unknown> = {};
      for (const k of keys) {
        const v = obj[k];
        if (v === undefined || k === omit) continue;
        if (awkwardKey(k)) {
          awkward = true;
          return undefined;
        }
        out[k] = sortedCopy(v, undefined);
        if (awkward) return undefined;
      }
      return out;
    }
    case "function":
    case "symbol":
      return null;
    default:
      return value; // strings, booleans; a bigint is refused by JSON.stringify, as by `concatenated`
  }
};

/** Canonical JSON of `value`, leaving out the member `omit` of the top-level object (a hash over the rest). */
export const canonicalJsonWithout = (value: unknown, omit: string | undefined): string => {
  awkward = false;
  let copy: unknown;
  try {
    copy = sortedCopy(value, omit);
  } catch (err) {
    awkward = false;
    throw err;
  }
  if (awkward) {
    awkward = false;
    return concatenated(value, omit);
  }
  const s = JSON.stringify(copy);
  return s === undefined ? "null" : s;
};

/** Canonical JSON by concatenation: the reference form, for objects `sortedCopy` cannot place. */
const concatenated = (value: unknown, omit: string | undefined): string => {
  switch (typeof value) {
    case "string":
      return JSON.stringify(value);
    case "number":
      if (!Number.isFinite(value)) throw new TypeError("non-finite number in canonical JSON");
      return JSON.stringify(value);
    case "boolean":
      return value ? "true" : "false";
    case "object": {
      if (value === null) return "null";
      if (Array.isArray(value)) {
        let s = "[";
        for (let i = 0; i < value.length; i++) {
          if (i > 0) s += ",";
          const v: unknown = value[i];
          s += v === undefined ? "null" : concatenated(v, undefined);
        }
        return `${s}]`;
      }
      const obj = value as Record<string, unknown>;
      const keys = sortKeys(Object.keys(obj));
      let s = "{";
      let first = true;
      for (const k of keys) {
        const v = obj[k];
        if (v === undefined || k === omit) continue;
        if (first) first = false;
        else s += ",";
        s += quoteKey(k);
        s += ":";
        s += concatenated(v, undefined);
      }
      return `${s}}`;
    }
    default: {
      // functions and symbols are `null` (as inside arrays); bigint throws, as JSON.stringify does
      const s = JSON.stringify(value);
      return s === undefined ? "null" : s;
    }
  }
};

export const canonicalJson = (value: unknown): string => canonicalJsonWithout(value, undefined);

// One-shot hashing (Node >= 20.12) is cheaper than a Hash object per call; fall back where absent.
const oneShot = (crypto as unknown as { hash?: (alg: string, data: string, enc: "hex") => string }).hash;

export const sha256Hex = (text: string): string =>
  oneShot ? oneShot("sha256", text, "hex") : crypto.createHash("sha256").update(text, "utf8").digest("hex");
