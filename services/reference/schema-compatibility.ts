/**
 * Whether a schema may replace a published version of itself without a version bump (DESIGN §3.16):
 * a structural comparison of two JSON Schemas as jsonSchemaOf writes them. What a sender of the
 * published version wrote must still be read, and what a reader of it relies on must still be there:
 * - a property is never removed, and no property becomes required;
 * - for events (read by others): a required property never becomes optional;
 * - types, enums, bounds (minimum, maximum, lengths, item counts), patterns and formats are never
 *   narrowed; an object is never closed (`additionalProperties: false`);
 * - alternatives (anyOf/oneOf/allOf) each keep a compatible counterpart.
 * Adding an optional property, an enum value, or widening a bound is compatible.
 *
 * Each breaking change is named with its path, so a failing test says what to version.
 */
import type { JsonSchema } from "../../infra/http/codec-json-schema.ts";

export type CompatibilityMode = "commands" | "events";

const asSchema = (v: unknown): JsonSchema | undefined =>
  v !== null && typeof v === "object" && !Array.isArray(v) ? (v as JsonSchema) : undefined;
const stringList = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x) => typeof x === "string") : []);
const num = (v: unknown): number | undefined => (typeof v === "number" ? v : undefined);
const at = (path: string) => path || "(root)";
const show = (v: unknown) => JSON.stringify(v);

/** `integer` widens to `number`; anything else must stay what it was. */
const typeNarrowed = (was: unknown, now: unknown): boolean => {
  if (was === undefined) return now !== undefined;
  if (now === undefined || now === was) return false;
  return !(was === "integer" && now === "number");
};

const boundChecks: ReadonlyArray<{ key: string; lower: boolean; what: string }> = [
  { key: "minimum", lower: true, what: "minimum" },
  { key: "exclusiveMinimum", lower: true, what: "exclusive minimum" },
  { key: "minLength", lower: true, what: "minimum length" },
  { key: "minItems", lower: true, what: "minimum item count" },
  { key: "maximum", lower: false, what: "maximum" },
  { key: "exclusiveMaximum", lower: false, what: "exclusive maximum" },
  { key: "maxLength", lower: false, what: "maximum length" },
  { key: "maxItems", lower: false, what: "maximum item count" },
];

const compare = (was: JsonSchema, now: JsonSchema, path: string, mode: CompatibilityMode): string[] => {
  const out: string[] = [];
  if (typeNarrowed(was.type, now.type))
    out.push(`${at(path)}: type ${show(was.type ?? "any")} became ${show(now.type)}`);

  if (Array.isArray(now.enum)) {
    if (!Array.isArray(was.enum)) out.push(`${at(path)}: now restricted to ${show(now.enum)}`);
    else {
      const removed = was.enum.filter((v) => !(now.enum as unknown[]).includes(v));
      if (removed.length > 0) out.push(`${at(path)}: enum value(s) ${show(removed)} removed`);
    }
  }
  for (const b of boundChecks) {
    const w = num(was[b.key]);
    const n = num(now[b.key]);
    if (n === undefined) continue;
    if (w === undefined) out.push(`${at(path)}: ${b.what} ${n} added`);
    else if (b.lower ? n > w : n < w) out.push(`${at(path)}: ${b.what} ${w} became ${n}`);
  }
  for (const key of ["pattern", "format"]) {
    if (now[key] !== undefined && now[key] !== was[key])
      out.push(`${at(path)}: ${key} ${show(was[key] ?? null)} became ${show(now[key])}`);
  }
  if (now.not !== undefined && show(now.not) !== show(was.not))
    out.push(`${at(path)}: exclusion ${show(now.not)} added`);
  if (now.additionalProperties === false && was.additionalProperties !== false)
    out.push(`${at(path)}: closed to other properties`);

  const wasProps = (asSchema(was.properties) ?? {}) as Record<string, JsonSchema>;
  const nowProps = (asSchema(now.properties) ?? {}) as Record<string, JsonSchema>;
  const sub = (k: string) => (path ? `${path}.${k}` : k);
  for (const [k, w] of Object.entries(wasProps)) {
    const n = nowProps[k];
    if (n === undefined) out.push(`${sub(k)}: property removed`);
    else out.push(...compare(w, n, sub(k), mode));
  }
  const wasRequired = new Set(stringList(was.required));
  const nowRequired = new Set(stringList(now.required));
  for (const k of nowRequired)
    if (!wasRequired.has(k))
      out.push(`${sub(k)}: ${k in wasProps ? "optional property" : "property"} now required`);
  if (mode === "events")
    for (const k of wasRequired)
      if (!nowRequired.has(k) && k in nowProps)
        out.push(`${sub(k)}: required property now optional (readers of events rely on it)`);

  const wasItems = asSchema(was.items);
  const nowItems = asSchema(now.items);
  if (wasItems && nowItems) out.push(...compare(wasItems, nowItems, `${path}[]`, mode));
  else if (nowItems && !wasItems && was.type === "array")
    out.push(...compare({}, nowItems, `${path}[]`, mode));

  for (const key of ["anyOf", "oneOf", "allOf"]) {
    const w = Array.isArray(was[key]) ? (was[key] as JsonSchema[]) : undefined;
    const n = Array.isArray(now[key]) ? (now[key] as JsonSchema[]) : undefined;
    if (!w && !n) continue;
    if (!w || !n) {
      out.push(`${at(path)}: ${key} ${w ? "removed" : "added"}`);
      continue;
    }
    // Each published alternative needs a current one that reads it (order does not matter).
    w.forEach((alt, i) => {
      if (!n.some((cand) => compare(alt, cand, path, mode).length === 0))
        out.push(`${at(path)}: ${key}[${i}] has no compatible alternative any more`);
    });
  }
  return out;
};

/** The breaking changes from `published` to `current`, each naming its path; empty when compatible. */
export const breakingChanges = (
  published: JsonSchema,
  current: JsonSchema,
  mode: CompatibilityMode,
): string[] => compare(published, current, "", mode);
