/**
 * Shared by the ERP connector tests (SAP material documents, D365 Inventory Visibility, balance
 * snapshots): reading the real samples from ../shared/samples, a small master data mapping the
 * samples' codes, the codec check every command must pass, and running commands through the
 * position decider.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import * as E from "fp-ts/lib/Either.js";
import { expect } from "vitest";
import type { Translation, TranslationContext } from "../../connectors/translation.ts";
import type { CanonicalEvent } from "../../domain/canonical-event.ts";
import { type Command, decodeCommand, formatDecodeErrors } from "../../domain/commands.ts";
import { decodeMasterData, type MasterData, type MasterDataInput } from "../../domain/master-data.ts";
import {
  DEFAULT_DECISION_CONFIG,
  decide,
  defaultEnv,
  evolve,
  initialPositionState,
  type PositionState,
  toCanonicalEvents,
} from "../../domain/position.decider.ts";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const samplePath = (...parts: string[]): string => path.resolve(root, "../shared/samples", ...parts);
export const readSample = (...parts: string[]): unknown =>
  JSON.parse(readFileSync(samplePath(...parts), "utf8"));

export const masterData = (input: MasterDataInput): MasterData => {
  const md = decodeMasterData(input);
  if (E.isLeft(md)) throw new Error(formatDecodeErrors(md.left));
  return md.right;
};

export const context = (
  system: string,
  md: MasterData,
  receivedAt = "2024-06-01T12:00:00Z",
): TranslationContext => ({
  system,
  masterData: md,
  receivedAt,
});

/** Every command of a translation passes the canonical codec (what the node's intake decodes with). */
export const expectDecodable = (t: Translation): void => {
  for (const c of t.commands) {
    const r = decodeCommand(c);
    if (E.isLeft(r)) throw new Error(`${c.idempotencyKey}: ${formatDecodeErrors(r.left)}`);
    expect(r.right).toEqual(c);
  }
};

/** Runs commands of one position through the decider; every one must be accepted. */
export const runPosition = (
  commands: readonly Command[],
  md: MasterData,
  state?: PositionState,
): { state: PositionState; events: CanonicalEvent[] } => {
  const first = commands[0];
  if (!first) throw new Error("no commands");
  let s = state ?? initialPositionState(first.position);
  const env = defaultEnv("2030-01-01T00:00:00Z", {
    config: { ...DEFAULT_DECISION_CONFIG, units: md.units },
  });
  const events: CanonicalEvent[] = [];
  for (const c of commands) {
    const outcome = decide(c, s, env);
    if (outcome.kind !== "accepted") throw new Error(`${c.idempotencyKey}: ${JSON.stringify(outcome)}`);
    const stored = toCanonicalEvents(outcome.events, {
      prevRevision: s.revision,
      prevHash: s.lastHash,
      recordedTime: env.now,
    });
    for (const e of stored) s = evolve(s, e);
    events.push(...stored);
  }
  return { state: s, events };
};
