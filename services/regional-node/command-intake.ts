/**
 * The first gate of every intake: bytes to a decoded command, or a dead-letter verdict with a clear
 * reason. Guards against hostile payloads before the codec sees them: size, nesting depth, and keys
 * that would reach an object's prototype (`__proto__`, `constructor`, `prototype`). With master data,
 * a command is completed and checked against it (master-data-intake.ts).
 */
import * as E from "fp-ts/lib/Either.js";
import { type Command, decodeCommand } from "../../domain/commands.ts";
import type { DecodeError } from "../../domain/decode-errors.ts";
import { positionStreamId } from "../../domain/ids.ts";
import type { MasterData } from "../../domain/master-data.ts";
import { upcastCommand } from "../../domain/upcasters.ts";
import { BoundedMemo } from "../../infra/bounded-memo.ts";
import { cmdSubject, evtSubject } from "../../infra/nats/subjects.ts";
import type { DeadLetterReason } from "./dead-letters.ts";
import { checkMasterData, completeFromMasterData } from "./master-data-intake.ts";

export interface IntakeLimits {
  readonly maxPayloadBytes: number;
  readonly maxJsonDepth: number;
  readonly region: string;
  /** Locations, products and status vocabularies; without it commands carry regions and canonical statuses. */
  readonly masterData?: MasterData | undefined;
}

export type Parsed =
  | {
      readonly ok: true;
      readonly command: Command;
      readonly raw: unknown;
      /** The command's subject `inv.cmd.<region>.<location>.<sku>`, built once here where it cannot throw. */
      readonly subject: string;
    }
  | {
      readonly ok: false;
      readonly reason: DeadLetterReason;
      readonly code: string;
      readonly message: string;
      readonly errors?: readonly DecodeError[];
      /** Structured details for the dead letter (the unknown location and the closest known ones, ...). */
      readonly details?: Record<string, unknown>;
      readonly raw?: unknown;
      /** The decoded command, when it is refused after decoding (its dead letter is then identified by it). */
      readonly command?: Command;
    };

const FORBIDDEN_KEYS = new Set(["__proto__", "constructor", "prototype"]);

/**
 * Whether a value passes the depth, size and forbidden-key checks: a recursive walk (bounded by
 * `maxDepth`) that builds no paths, for the common case; `describeProblem` names the place after.
 */
const passes = (value: unknown, maxDepth: number): boolean => {
  let nodes = 0;
  const walk = (v: unknown, d: number): boolean => {
    if (typeof v !== "object" || v === null) return true;
    if (d >= maxDepth || ++nodes > 10_000) return false;
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) if (!walk(v[i], d + 1)) return false;
      return true;
    }
    for (const key in v) {
      if (!Object.hasOwn(v, key)) continue;
      if (FORBIDDEN_KEYS.has(key) || !walk((v as Record<string, unknown>)[key], d + 1)) return false;
    }
    return true; // (`for in` lists a `__proto__` key that JSON.parse made: it is an own, enumerable one)
  };
  return walk(value, 0);
};

/** Depth and forbidden keys in one bounded walk; returns a problem or undefined. */
const describeProblem = (value: unknown, maxDepth: number): { code: string; message: string } | undefined => {
  const stack: Array<{ v: unknown; d: number; path: string }> = [{ v: value, d: 0, path: "" }];
  let nodes = 0;
  while (stack.length > 0) {
    const { v, d, path } = stack.pop()!;
    if (typeof v !== "object" || v === null) continue;
    if (d >= maxDepth) {
      return {
        code: "tooDeep",
        message: `JSON nesting deeper than ${maxDepth} levels at ${path || "(input)"}`,
      };
    }
    if (++nodes > 10_000)
      return { code: "tooManyNodes", message: "more than 10000 objects or arrays in one command" };
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) stack.push({ v: v[i], d: d + 1, path: `${path}.${i}` });
    } else {
      for (const key of Object.keys(v)) {
        if (FORBIDDEN_KEYS.has(key)) {
          return {
            code: "forbiddenKey",
            message: `key ${JSON.stringify(key)} at ${path || "(input)"} is not allowed (prototype pollution guard)`,
          };
        }
        stack.push({ v: (v as Record<string, unknown>)[key], d: d + 1, path: path ? `${path}.${key}` : key });
      }
    }
  }
  return undefined;
};

/**
 * Command subjects of the positions whose subjects and stream id were encoded without a throw, keyed
 * by region, location and SKU: a position's commands skip the six URI encodings after its first
 * (bounded: cleared when full).
 */
const encodedPositions = new BoundedMemo<string>(100_000);

/** Occurrences of `c` in `text`. */
const occurrences = (text: string, c: string): number => {
  let n = 0;
  for (let i = text.indexOf(c); i !== -1; i = text.indexOf(c, i + 1)) n++;
  return n;
};

/**
 * Whether the JSON `text` passes the checks of `passes` by what it shows without a walk of its value:
 * no escape (so every key is spelled as it is), none of the forbidden keys' names anywhere, and no
 * more objects and arrays than the depth and node limits allow (at most one per `{` or `[`, strings
 * included). False means "walk it", not "refuse it".
 */
const textPasses = (text: string, maxDepth: number): boolean =>
  !text.includes("\\") &&
  !text.includes("__proto__") &&
  !text.includes("constructor") &&
  !text.includes("prototype") &&
  occurrences(text, "{") + occurrences(text, "[") <= Math.min(maxDepth, 10_000);

/** Parses an already-parsed JSON value (HTTP bodies) through the same checks. */
export const parseCommandValue = (input: unknown, limits: IntakeLimits): Parsed =>
  parseGuarded(input, limits, passes(input, limits.maxJsonDepth));

/** `parseCommandValue`, told whether the value passed the depth, size and forbidden-key checks. */
const parseGuarded = (input: unknown, limits: IntakeLimits, passed: boolean): Parsed => {
  const bad = passed
    ? undefined
    : (describeProblem(input, limits.maxJsonDepth) ?? { code: "hostilePayload", message: "payload refused" });
  if (bad) return { ok: false, reason: "hostilePayload", code: bad.code, message: bad.message };
  // An older version of a command is read in the current shape before master data completes it.
  const up = upcastCommand(input);
  if (!up.ok) {
    const message = up.errors.map((e) => e.message).join("; ");
    return {
      ok: false,
      reason: "invalidCommand",
      code: "schemaVersion",
      message,
      errors: up.errors,
      raw: input,
    };
  }
  let raw = up.value;
  const md = limits.masterData;
  if (md) {
    const completed = completeFromMasterData(raw, md, limits.region);
    if (!completed.ok) {
      const { ok: _, ...refusal } = completed;
      return { ok: false, ...refusal, raw: input };
    }
    raw = completed.value;
  }
  const decoded = decodeCommand(raw);
  if (E.isLeft(decoded)) {
    return {
      ok: false,
      reason: "invalidCommand",
      code: "decode",
      message: decoded.left.map((e) => e.message).join("; "),
      errors: decoded.left,
      raw,
    };
  }
  const command = decoded.right;
  const unknown = md ? checkMasterData(command, md) : undefined;
  if (unknown) return { ok: false, ...unknown, raw, command };
  if (command.position.region !== limits.region) {
    return {
      ok: false,
      reason: "wrongRegion",
      code: "wrongRegion",
      message: `command for region ${JSON.stringify(command.position.region)} arrived at the node of region ${JSON.stringify(limits.region)}`,
      raw,
    };
  }
  if (command.kind === "recordInboundTransfer" && !command.causationId?.length) {
    // Derived by stockline from an origin's TransferShipped; it always carries the shipment as cause.
    return {
      ok: false,
      reason: "invalidCommand",
      code: "inboundWithoutCause",
      message: "recordInboundTransfer must carry the origin's TransferShipped event id as causationId",
      raw,
    };
  }
  // The codec admits only ids that encode; should an encoding still throw, that is this command's
  // dead letter, never an exception out of the intake (which would nak it for ever).
  const { region, location, sku } = command.position;
  const positionKey = `${region}\u0000${location}\u0000${sku}`;
  let subject: string;
  try {
    subject = encodedPositions.get(positionKey, () => {
      const encoded = cmdSubject(region, location, sku);
      evtSubject(region, location, sku);
      positionStreamId(command.position);
      return encoded;
    });
  } catch (err) {
    return {
      ok: false,
      reason: "invalidCommand",
      code: "unencodableId",
      message: `the command's position cannot be encoded as a subject or stream id: ${(err as Error).message}`,
      raw,
    };
  }
  return { ok: true, command, raw, subject };
};

/** Bytes (JetStream, request/reply) to a command. */
export const parseCommandBytes = (data: Uint8Array, limits: IntakeLimits): Parsed => {
  if (data.length > limits.maxPayloadBytes) {
    return {
      ok: false,
      reason: "payloadTooLarge",
      code: "payloadTooLarge",
      message: `payload of ${data.length} bytes exceeds the limit of ${limits.maxPayloadBytes}`,
    };
  }
  let raw: unknown;
  let text: string;
  try {
    text = Buffer.from(data.buffer, data.byteOffset, data.length).toString("utf8");
    raw = JSON.parse(text);
  } catch (err) {
    return {
      ok: false,
      reason: "malformedJson",
      code: "malformedJson",
      message: `not JSON: ${(err as Error).message}`,
    };
  }
  return parseGuarded(raw, limits, textPasses(text, limits.maxJsonDepth) || passes(raw, limits.maxJsonDepth));
};
