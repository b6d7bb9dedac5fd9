/**
 * Turns io-ts decoding errors into messages that name the field, the value and what was expected,
 * so a simulator can answer bad input the way a careful real system would.
 */
import * as t from "io-ts";

export interface FieldError {
  readonly field: string;
  readonly value: unknown;
  readonly expected: string;
  readonly message: string;
}

const render = (value: unknown): string => {
  if (value === undefined) return "nothing (field missing)";
  const json = JSON.stringify(value);
  return json.length > 80 ? `${json.slice(0, 77)}...` : json;
};

/** Path like `to_MaterialDocumentItem[0].QuantityInEntryUnit`; component indexes of intersections/unions are skipped. */
const pathOf = (context: t.Context): string => {
  let path = "";
  for (let i = 1; i < context.length; i++) {
    const parent = context[i - 1]?.type;
    const entry = context[i];
    if (entry === undefined) continue;
    if (parent instanceof t.IntersectionType || parent instanceof t.UnionType) continue;
    if (parent instanceof t.ArrayType || parent instanceof t.ReadonlyArrayType) path += `[${entry.key}]`;
    else path += path === "" ? entry.key : `.${entry.key}`;
  }
  return path === "" ? "(body)" : path;
};

export const fieldErrors = (errors: t.Errors): FieldError[] => {
  const seen = new Set<string>();
  const out: FieldError[] = [];
  for (const error of errors) {
    const field = pathOf(error.context);
    const expected = error.context[error.context.length - 1]?.type.name ?? "unknown";
    const message =
      error.message === undefined
        ? `field '${field}' has value ${render(error.value)}, expected ${expected}`
        : `field '${field}': ${error.message}`;
    if (seen.has(message)) continue;
    seen.add(message);
    out.push({ field, value: error.value, expected, message });
  }
  return out;
};

/** A string type with a length limit, as the field lengths of the real systems impose. */
export const boundedString = (name: string, maxLength: number, minLength = 0) =>
  new t.Type<string, string, unknown>(
    name,
    (u): u is string => typeof u === "string" && u.length <= maxLength && u.length >= minLength,
    (u, c) =>
      typeof u === "string" && u.length <= maxLength && u.length >= minLength
        ? t.success(u)
        : t.failure(
            u,
            c,
            typeof u === "string"
              ? `value ${render(u)} has ${u.length} characters, expected ${minLength}..${maxLength} (${name})`
              : undefined,
          ),
    t.identity,
  );
