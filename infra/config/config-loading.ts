/**
 * What the configuration loaders share: a JSON file, then `STOCKLINE_*` environment overrides
 * onto the raw (undecoded) object, then an io-ts decode whose errors name field, value and what
 * was expected. Numbers from the environment are parsed as JSON numbers; anything else is kept as
 * a string, so that the codec reports it (`"abc"`, expected a positive integer).
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import * as t from "io-ts";
import { type DecodeError, formatDecodeErrors } from "../../domain/decode-errors.ts";

export const PortC = new t.Type<number, number, unknown>(
  "a TCP port (0-65535; 0 picks a free one)",
  (u): u is number => typeof u === "number" && Number.isInteger(u) && u >= 0 && u <= 65535,
  (u, c) =>
    typeof u === "number" && Number.isInteger(u) && u >= 0 && u <= 65535 ? t.success(u) : t.failure(u, c),
  t.identity,
);

/** A configuration that does not decode; `subject` says which one (`node configuration`). */
export class ConfigError extends Error {
  constructor(
    readonly source: string,
    readonly errors: readonly DecodeError[],
    subject = "node configuration",
  ) {
    super(`invalid ${subject} (${source}): ${formatDecodeErrors(errors)}`);
    this.name = "ConfigError";
  }
}

/** An environment variable, the path it sets in the raw configuration, and how its text is read. */
export type EnvOverride = readonly [
  name: string,
  keys: readonly string[],
  kind: "string" | "number" | "list",
];

const parseEnvValue = (raw: string, kind: EnvOverride[2]): unknown => {
  if (kind === "list")
    return raw
      .split(",")
      .map((s) => s.trim())
      .filter((s) => s.length > 0);
  if (kind === "number") {
    const n = Number(raw);
    return raw.trim() !== "" && Number.isFinite(n) ? n : raw;
  }
  return raw;
};

export const isPlainObject = (u: unknown): u is Record<string, unknown> =>
  typeof u === "object" && u !== null && !Array.isArray(u);

const setPath = (target: Record<string, unknown>, keys: readonly string[], value: unknown): void => {
  let node = target;
  for (const key of keys.slice(0, -1)) {
    const next = node[key];
    if (!isPlainObject(next)) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[keys[keys.length - 1] as string] = value;
};

/** Applies the set (non-empty) variables of `overrides` onto a copy of `raw`. */
export const applyEnv = (
  raw: Record<string, unknown>,
  env: NodeJS.ProcessEnv,
  overrides: readonly EnvOverride[],
): Record<string, unknown> => {
  const out = structuredClone(raw);
  for (const [name, keys, kind] of overrides) {
    const value = env[name];
    if (value !== undefined && value !== "") setPath(out, keys, parseEnvValue(value, kind));
  }
  return out;
};

/**
 * Reads a configuration file that must hold a JSON object; `source` is its resolved path, or
 * `environment` without a file (then the raw configuration is empty).
 */
export const readConfigFile = (
  file: string | undefined,
  subject: string,
  invalid: (source: string, errors: readonly DecodeError[]) => Error,
): { readonly source: string; readonly raw: Record<string, unknown> } => {
  if (!file) return { source: "environment", raw: {} };
  const source = path.resolve(file);
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new Error(`cannot read ${subject} ${source}: ${(err as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new Error(`${subject} ${source} is not JSON: ${(err as Error).message}`);
  }
  if (!isPlainObject(parsed)) {
    throw invalid(source, [
      { path: "", value: parsed, expected: "an object", message: "(input): expected an object" },
    ]);
  }
  return { source, raw: parsed };
};
