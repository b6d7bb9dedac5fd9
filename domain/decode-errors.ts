/** Turns io-ts validation errors into messages naming the field path, the value and what was expected. */
import type * as t from "io-ts";

export interface DecodeError {
  /**
   * Path of the offending field, dotted (`quantity.value`, `serials.2`) or with bracketed array
   * indexes (`serials[2]`) as `DecodeErrorOptions.arrayIndex` asks; empty for the whole input.
   */
  readonly path: string;
  readonly value: unknown;
  readonly expected: string;
  readonly message: string;
}

export interface DecodeErrorOptions {
  /** `dotted` (default): `items.0.sku`; `brackets`: `items[0].sku`, as external APIs write paths. */
  readonly arrayIndex?: "dotted" | "brackets";
}

// Intersections and unions add their member index to the context; a reader does not care.
const isCombinator = (type: t.Decoder<unknown, unknown>): boolean => {
  const tag = (type as { _tag?: string })._tag;
  return tag === "IntersectionType" || tag === "UnionType" || tag === "ExactType";
};

const isArray = (type: t.Decoder<unknown, unknown>): boolean => {
  const tag = (type as { _tag?: string })._tag;
  return tag === "ArrayType" || tag === "ReadonlyArrayType";
};

const EXPECTED_NAMES: Record<string, string> = {
  string: "a string",
  number: "a number",
  boolean: "a boolean",
  UnknownRecord: "an object",
  UnknownArray: "an array",
};

const show = (value: unknown): string => {
  if (value === undefined) return "nothing (missing)";
  // A huge string is named by its length (and a prefix), never serialised whole.
  if (typeof value === "string" && value.length > 80)
    return `a string of ${value.length} characters (${JSON.stringify(value.slice(0, 40))}...)`;
  try {
    const s = JSON.stringify(value);
    return s.length > 80 ? `${s.slice(0, 77)}...` : s;
  } catch {
    return String(value);
  }
};

/** The value an error carries back (e.g. in a 400 body): a huge string is cut, so it is not echoed whole. */
const MAX_ECHOED_CHARS = 256;
const echoed = (value: unknown): unknown =>
  typeof value === "string" && value.length > MAX_ECHOED_CHARS
    ? `${value.slice(0, MAX_ECHOED_CHARS)}... (${value.length} characters)`
    : value;

export const toDecodeError = (e: t.ValidationError, options: DecodeErrorOptions = {}): DecodeError => {
  const brackets = options.arrayIndex === "brackets";
  let path = "";
  for (let i = 1; i < e.context.length; i++) {
    const parent = e.context[i - 1];
    const entry = e.context[i];
    if (!entry || (parent && isCombinator(parent.type))) continue;
    if (entry.key === "") continue;
    if (brackets && parent && isArray(parent.type)) path += `[${entry.key}]`;
    else path += path === "" ? entry.key : `.${entry.key}`;
  }
  const last = e.context[e.context.length - 1];
  const name = e.message ?? (last ? last.type.name : "a valid value");
  const expected = EXPECTED_NAMES[name] ?? name;
  return {
    path,
    value: echoed(e.value),
    expected,
    message: `${path === "" ? "(input)" : path}: got ${show(e.value)}, expected ${expected}`,
  };
};

/** One error per path (intersections may report a missing field once per member), in order. */
export const toDecodeErrors = (errors: t.Errors, options: DecodeErrorOptions = {}): DecodeError[] => {
  const seen = new Set<string>();
  const out: DecodeError[] = [];
  for (const e of errors.map((error) => toDecodeError(error, options))) {
    if (seen.has(e.path)) continue;
    seen.add(e.path);
    out.push(e);
  }
  return out;
};

export const formatDecodeErrors = (errors: readonly DecodeError[]): string =>
  errors.map((e) => e.message).join("; ");
