/**
 * Upcasters (DESIGN §3.16): an old version of a command or event, as raw JSON, to the next version,
 * applied one step at a time before the codec decodes it. Events are upcast where they are read
 * (`decodeCanonicalEvent`, the node's replay), commands at intake (`decodeCommand`,
 * `parseCommandValue`), so the rest of the system only ever sees the current shape.
 *
 * An event's hash covers the event as stored: the chain is verified over what was read
 * (services/audit/replay.ts hashes the raw data), and upcasting is a view of it that never writes
 * back. An upcast event keeps the `hash` of its stored form.
 *
 * The production registry is empty: every type is still at version 1 (schema-versions.ts), no
 * published shape has changed. An upcaster for a bump is added here, keyed by the version it reads;
 * test/domain/schema-governance.test.ts shows one at work with a registry and versions of its own.
 */
import type { DecodeError } from "./decode-errors.ts";
import {
  COMMAND_SCHEMA_VERSIONS,
  EVENT_SCHEMA_VERSIONS,
  EVENT_VERSION_WHEN_ABSENT,
} from "./schema-versions.ts";

export type RawMessage = Record<string, unknown>;
/** Reads version N of one type and returns version N+1 (a new object; the input is not changed). */
export type Upcaster = (raw: RawMessage) => RawMessage;
/** type (or kind) -> the version an upcaster reads -> the upcaster. */
export type UpcasterTable = Readonly<Record<string, Readonly<Record<number, Upcaster>>>>;

export interface SchemaGovernance {
  readonly versions: Readonly<Record<string, number>>;
  readonly upcasters: UpcasterTable;
}

export const EVENT_UPCASTERS: UpcasterTable = {};
export const COMMAND_UPCASTERS: UpcasterTable = {};

export const EVENT_GOVERNANCE: SchemaGovernance = {
  versions: EVENT_SCHEMA_VERSIONS,
  upcasters: EVENT_UPCASTERS,
};
export const COMMAND_GOVERNANCE: SchemaGovernance = {
  versions: COMMAND_SCHEMA_VERSIONS,
  upcasters: COMMAND_UPCASTERS,
};

export type Upcast =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly errors: DecodeError[] };

const refuse = (value: unknown, expected: string, message: string): Upcast => ({
  ok: false,
  errors: [{ path: "schemaVersion", value, expected, message: `schemaVersion: ${message}` }],
});

const isVersion = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= 1;

const upcast = (raw: unknown, tag: "type" | "kind", absent: "1" | "current", g: SchemaGovernance): Upcast => {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return { ok: true, value: raw };
  const message = raw as RawMessage;
  const name = message[tag];
  // An unknown type is the codec's to name; the version of a type nobody knows means nothing.
  if (typeof name !== "string" || !Object.hasOwn(g.versions, name)) return { ok: true, value: raw };
  const current = g.versions[name] as number;
  const stated = message.schemaVersion;
  if (stated === undefined && (absent === "current" || current === EVENT_VERSION_WHEN_ABSENT))
    return { ok: true, value: raw };
  const from = stated === undefined ? EVENT_VERSION_WHEN_ABSENT : stated;
  if (!isVersion(from))
    return refuse(stated, "a positive integer", `expected a positive integer, got ${JSON.stringify(stated)}`);
  if (from > current)
    return refuse(
      stated,
      `at most ${current}`,
      `version ${from} of ${name} is newer than this build reads (${current}): upgrade the reader first`,
    );
  let value = message;
  for (let v = from; v < current; v++) {
    const step = g.upcasters[name]?.[v];
    if (!step) return refuse(stated, `${current}`, `no upcaster reads version ${v} of ${name}`);
    value = step(value);
  }
  if (value === message && (tag === "type" || stated === undefined)) return { ok: true, value: raw };
  const { schemaVersion: _old, ...rest } = value;
  // Events keep their version above 1; commands are read at the current version without the field.
  return {
    ok: true,
    value: tag === "type" && current > EVENT_VERSION_WHEN_ABSENT ? { ...rest, schemaVersion: current } : rest,
  };
};

/** A stored event (raw JSON) at its type's current version; `schemaVersion` absent means 1. */
export const upcastEvent = (raw: unknown, g: SchemaGovernance = EVENT_GOVERNANCE): Upcast =>
  upcast(raw, "type", "1", g);

/**
 * A command (raw JSON) at its kind's current version, without `schemaVersion`; absent means current.
 * Without the field, a command hashes the same whether its sender wrote the version or not.
 */
export const upcastCommand = (raw: unknown, g: SchemaGovernance = COMMAND_GOVERNANCE): Upcast =>
  upcast(raw, "kind", "current", g);

/**
 * A stored event read without decoding (the node replays what it wrote itself), at the current
 * version; throws, naming why, when it cannot be read (a version newer than this build).
 */
export const upcastStoredEvent = (raw: unknown): unknown => {
  const up = upcastEvent(raw);
  if (!up.ok) throw new Error(up.errors.map((e) => e.message).join("; "));
  return up.value;
};
