/**
 * A store held against its anchor log (infra/anchor/anchor-log.ts), offline: what the node anchored
 * outside the SQLite file must still be in it.
 *
 * Per stream (`anchorChecker`, fed the stored rows in revision order by `replayPosition`):
 * - `rewritten`: the event at an anchored revision has another hash. The hash chain makes every later
 *   hash differ too, so the first anchored revision that differs and the last that still matched
 *   bound the rewrite ("rewritten between revision a+1 and b"; exactly b when a line anchored each
 *   revision on its own);
 * - `truncated`: the stream ends before its last anchored revision (the first missing one is named);
 * - `column`: a column the event hash does not cover (recorded_time, global_position, metadata) is not
 *   what was anchored for the rows of that line.
 * For the whole store (`anchorStoreIssues`): a global log that ends before the anchored position, and
 * events long after the last line (the anchor file cut short, or a node stopped without anchoring).
 */
import {
  type AnchoredHead,
  type AnchorLog,
  columnsDigest,
  recordedTimesDigest,
} from "../../infra/anchor/anchor-log.ts";
import type { RecordedEvent } from "../../infra/event-store/event-store.ts";
import type { ChainIssue } from "./replay.ts";

const short = (hash: string): string => `${hash.slice(0, 12)}…`;
const where = (a: AnchoredHead): string => `anchor line ${a.line} (${a.at})`;

export interface AnchorChecker {
  /** One stored row of the stream, in revision order. */
  row(recorded: RecordedEvent): void;
  /** After the last row: `head` is the last stored revision (-1: the stream is absent). */
  finish(head: { revision: number }): ChainIssue[];
}

export const anchorChecker = (anchored: readonly AnchoredHead[]): AnchorChecker => {
  const issues: ChainIssue[] = [];
  let next = 0;
  let matched: AnchoredHead | undefined;
  let times: string[] = [];
  let cols: [number, unknown][] = [];
  let done = false;

  const column = (revision: number, what: string, a: AnchoredHead, expected: string, actual: string) =>
    issues.push({
      kind: "column",
      revision,
      expected,
      actual,
      message: `${what} differs from what ${where(a)} anchored: a column outside the event hash was edited`,
    });

  return {
    row(recorded) {
      const a = anchored[next];
      if (done || a === undefined) return;
      const from = (matched?.revision ?? -1) + 1;
      if (recorded.revision < from) return;
      if (recorded.revision > a.revision) {
        done = true; // the anchored revision itself is missing: named as a gap by the chain check
        return;
      }
      times.push(recorded.recordedTime);
      cols.push([recorded.globalPosition, recorded.metadata ?? null]);
      if (recorded.revision < a.revision) return;

      const range = from === a.revision ? `revision ${a.revision}` : `revisions ${from}..${a.revision}`;
      const stored = (recorded.data as { hash?: unknown } | null)?.hash;
      const hash = typeof stored === "string" ? stored : ""; // as the anchorer reads it
      if (hash !== a.hash) {
        issues.push({
          kind: "rewritten",
          revision: from,
          expected: `hash ${a.hash} at revision ${a.revision} (${where(a)})`,
          actual: `hash ${hash}`,
          message:
            from === a.revision
              ? `revision ${a.revision} was rewritten after ${where(a)} anchored it: hash ${short(hash)} stored, ${short(a.hash)} anchored${
                  matched ? `; revision ${matched.revision} still matches anchor line ${matched.line}` : ""
                }`
              : `rewritten between revision ${from} and ${a.revision}: ${where(a)} anchored revision ${a.revision} with hash ${short(a.hash)}, the store has ${short(hash)}${
                  matched
                    ? `; revision ${matched.revision} still matches anchor line ${matched.line}`
                    : "; no earlier revision was anchored"
                }`,
        });
        done = true; // every later hash differs as well
        return;
      }
      if (recorded.globalPosition !== a.globalPosition)
        column(
          a.revision,
          `the global_position of revision ${a.revision} (${recorded.globalPosition})`,
          a,
          `global position ${a.globalPosition}`,
          `global position ${recorded.globalPosition}`,
        );
      if (recordedTimesDigest(times) !== a.recordedTimes)
        column(
          from,
          `the recorded_time of ${range} (${from === a.revision ? recorded.recordedTime : `${times[0]} .. ${recorded.recordedTime}`})`,
          a,
          `recorded_time digest ${a.recordedTimes}`,
          `recorded_time digest ${recordedTimesDigest(times)}`,
        );
      else if (recorded.globalPosition === a.globalPosition && columnsDigest(cols) !== a.columns)
        column(
          from,
          `the global_position or metadata of ${range}`,
          a,
          `columns digest ${a.columns}`,
          `columns digest ${columnsDigest(cols)}`,
        );
      matched = a;
      next += 1;
      times = [];
      cols = [];
    },
    finish(head) {
      const last = anchored[anchored.length - 1];
      if (done || last === undefined || last.revision <= head.revision) return issues;
      const first = head.revision + 1;
      issues.push({
        kind: "truncated",
        revision: first,
        expected: `events up to revision ${last.revision} (${where(last)})`,
        actual: head.revision < 0 ? "no stored event" : `last stored revision ${head.revision}`,
        message:
          head.revision < 0
            ? `the stream is missing: ${where(last)} anchored it at revision ${last.revision}`
            : `revisions ${first}..${last.revision} are missing at the end: ${where(last)} anchored revision ${last.revision}, the stream ends at ${head.revision}`,
      });
      return issues;
    },
  };
};

/** How long after the last anchor line an unanchored event may have been recorded before we say so. */
export const UNANCHORED_SLACK_MS = 60_000;

export interface AnchorStoreVerdict {
  /** The store's global log against the anchored position (failures). */
  readonly issues: readonly string[];
  readonly warnings: readonly string[];
  /** Events after the last anchored global position. */
  readonly unanchoredEvents: number;
  readonly storePosition: number;
}

/**
 * The global log against the anchor: the store must reach the last anchored position; events beyond
 * it recorded long after the last line mean the anchor stopped, or its end was cut off.
 */
export const anchorStoreIssues = async (
  store: {
    lastGlobalPosition(): Promise<number>;
    readAll(o: { fromPosition: number; maxCount: number }): Promise<RecordedEvent[]>;
  },
  log: AnchorLog,
): Promise<AnchorStoreVerdict> => {
  const storePosition = await store.lastGlobalPosition();
  const issues: string[] = [];
  const warnings: string[] = [];
  if (storePosition < log.position)
    issues.push(
      `the store's global log ends at position ${storePosition}, the anchor covers it up to ${log.position}: events were removed from the end`,
    );
  const unanchoredEvents = Math.max(0, storePosition - log.position);
  const first =
    unanchoredEvents > 0 ? (await store.readAll({ fromPosition: log.position, maxCount: 1 }))[0] : undefined;
  if (first && log.lastAt !== undefined) {
    const after = Date.parse(first.recordedTime) - Date.parse(log.lastAt);
    if (after > UNANCHORED_SLACK_MS)
      warnings.push(
        `${unanchoredEvents} event(s) after global position ${log.position} were never anchored, the first recorded ${Math.round(after / 1000)} s after the last anchor line: the node stopped anchoring, or the end of the anchor file was cut off (compare with its off-machine copy)`,
      );
  }
  return { issues, warnings, unanchoredEvents, storePosition };
};
