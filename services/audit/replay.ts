/**
 * Audit replay of one position's stream (issue 5, "Audit and lineage"): every stored event with
 * the state it left the position in, optionally as of a time, and verification of the hash chain.
 *
 * As of a time, two questions, two answers:
 * - `by: "recorded"` — what did we know at T: the events recorded (committed) at or before T, i.e.
 *   a prefix of the stream; the state is what the node reported at T.
 * - `by: "business"` — what was the stock at T, as we know it now: the events whose business time
 *   is at or before T, in stream order (late counts land at their business time, see
 *   bitemporal-balance.ts).
 * Verification always covers the whole stream, whatever `asOf` selects.
 *
 * Verification names every broken revision (not only the first, unlike `verifyChain`):
 * - `hash`: the event's content does not match its stored hash (edited in place);
 * - `link`: its prevHash is not the previous event's hash (an event replaced, re-hashed, or
 *   events reordered);
 * - `gap`: revisions are missing (a row deleted);
 * - `envelope`: the stored row and the event disagree on revision, id, type or position, the row has
 *   metadata (the node stores none, and the hash would not cover it), or its global position does not
 *   follow the previous revision's;
 * - `undecodable`: the event is not a canonical event any more (it is not folded into the state);
 * - `truncated`: the stream's snapshot was taken at a revision the stream no longer reaches, or
 *   later revisions were published to the region's event stream;
 * - `diverged`: the stored event differs from the one published to the region's event stream (an
 *   independent copy): the stream was rewritten after it was published, even if every hash and
 *   link was recomputed.
 * - `rewritten`, `column` (and `truncated`): the store held against its anchor log, see anchor-check.ts.
 * Warnings (not failures): `balances`, the event's own `balancesAfter` differs from the replay
 * (the machine evolved differently than when the event was decided, e.g. after an upgrade).
 */
import * as E from "fp-ts/lib/Either.js";
import {
  type Balances,
  type CanonicalEvent,
  computeEventHash,
  decodeCanonicalEvent,
  GENESIS_HASH,
} from "../../domain/canonical-event.ts";
import { formatDecodeErrors } from "../../domain/decode-errors.ts";
import { type Position, parsePositionStreamId, positionStreamId } from "../../domain/ids.ts";
import {
  type AtpBreakdown,
  atpOf,
  balancesOf,
  evolver,
  initialPositionState,
  type PositionLimits,
  type PositionState,
} from "../../domain/position.decider.ts";
import { timeOf } from "../../domain/scalars.ts";
import type { AnchoredHead, AnchorLog } from "../../infra/anchor/anchor-log.ts";
import type { EventStore, RecordedEvent, SnapshotStore } from "../../infra/event-store/event-store.ts";
import { anchorChecker } from "./anchor-check.ts";

export type AsOfBy = "recorded" | "business";
export interface AsOf {
  readonly time: string;
  readonly by: AsOfBy;
}

export type ChainIssueKind =
  | "hash"
  | "link"
  | "gap"
  | "envelope"
  | "undecodable"
  | "truncated"
  | "diverged"
  | "rewritten"
  | "column";

/** The last event of a position as published to its region's event stream (`INV_EVT_<R>`). */
export interface PublishedHead {
  readonly revision: number;
  readonly hash: string;
  /** Where it was read, for the message (e.g. `INV_EVT_EU#1234`). */
  readonly where: string;
}
/** Reads the published head of a position; undefined when nothing of it was published (or kept). */
export type PublishedHeads = (position: {
  location: string;
  sku: string;
}) => Promise<PublishedHead | undefined>;

export interface ChainIssue {
  readonly kind: ChainIssueKind;
  /** The revision that is wrong (for a gap: the first missing revision). */
  readonly revision: number;
  readonly expected: string;
  readonly actual: string;
  readonly message: string;
}

export interface ReplayWarning {
  readonly kind: "balances";
  readonly revision: number;
  readonly message: string;
}

export interface Verification {
  readonly ok: boolean;
  readonly eventsChecked: number;
  /** Hash of the last stored event (what the next append will link to). */
  readonly headHash: string;
  readonly headRevision: number;
  readonly issues: readonly ChainIssue[];
}

export interface ReplayedEvent {
  readonly revision: number;
  readonly eventId: string;
  readonly type: string;
  readonly quantity: number | null;
  readonly businessTime: string | null;
  readonly recordedTime: string;
  readonly source: string | null;
  readonly correlationId: string | null;
  readonly causationId: string | null;
  /** State after this event; null when the event could not be decoded (not folded). */
  readonly balances: Balances | null;
  readonly atp: AtpBreakdown | null;
}

export interface ReplayResult {
  readonly streamId: string;
  readonly position: Position;
  readonly asOf: AsOf | undefined;
  /** Events folded into the state (those `asOf` selects), with the state after each. */
  readonly events: readonly ReplayedEvent[];
  readonly state: PositionState;
  readonly balances: Balances;
  readonly atp: AtpBreakdown;
  /** Revision of the last folded event, -1 when none. */
  readonly revision: number;
  /** Revision and hash of the stream's last stored event. */
  readonly headRevision: number;
  readonly headHash: string;
  readonly eventCount: number;
  readonly verification: Verification | undefined;
  readonly warnings: readonly ReplayWarning[];
}

/** What replay needs of a store: the port's reads, and snapshots when the store keeps them. */
export type ReplayStore = Pick<EventStore, "readStream"> & Partial<Pick<SnapshotStore, "loadSnapshot">>;

export interface ReplayOptions {
  readonly asOf?: AsOf;
  readonly verify?: boolean;
  /** Collect every event with its state (default true); false keeps only the final state. */
  readonly collectEvents?: boolean;
  /** Fold the events through the machine (default true); false only verifies (faster). */
  readonly fold?: boolean;
  readonly pageSize?: number;
  readonly limits?: PositionLimits;
  /**
   * Where the stream's snapshot is kept (the regional node keeps them in its node.db), for the
   * truncation check; default: the store itself when it keeps snapshots.
   */
  readonly snapshots?: Pick<SnapshotStore, "loadSnapshot">;
  /** The published copy to hold the stored stream against (truncation and rewrites). */
  readonly published?: PublishedHeads;
  /** The stream's heads as its anchor log holds them (anchor-check.ts), to hold the store against. */
  readonly anchored?: readonly AnchoredHead[];
  /** Called after each page with the number of events read so far. */
  readonly onEvents?: (eventsRead: number) => void;
}

const short = (hash: string): string => `${hash.slice(0, 12)}…`;

const str = (v: unknown): string | null => (typeof v === "string" ? v : null);

const sourceOf = (data: Record<string, unknown>): string | null => {
  const s = data.source as { system?: unknown; document?: { type?: unknown; id?: unknown; line?: unknown } };
  if (typeof s !== "object" || s === null || typeof s.document !== "object" || s.document === null)
    return null;
  const line = typeof s.document.line === "string" ? `/${s.document.line}` : "";
  return `${String(s.system)}:${String(s.document.type)}:${String(s.document.id)}${line}`;
};

const flatten = (o: unknown, prefix = ""): [string, unknown][] =>
  typeof o === "object" && o !== null
    ? Object.entries(o).flatMap(([k, v]) => flatten(v, prefix ? `${prefix}.${k}` : k))
    : [[prefix, o]];

/** `field replayed X, stored Y` for every balance that differs. */
const balanceDifferences = (replayed: Balances, stored: Balances): string[] => {
  const want = new Map(flatten(stored));
  return flatten(replayed)
    .filter(([k, v]) => want.get(k) !== v)
    .map(([k, v]) => `${k} replayed ${JSON.stringify(v)}, stored ${JSON.stringify(want.get(k))}`);
};

/** Is an event selected by `asOf`? Unparseable times are never selected. */
const selected = (asOf: AsOf | undefined, data: Record<string, unknown>, recordedTime: string): boolean => {
  if (asOf === undefined) return true;
  const at = asOf.by === "recorded" ? (str(data.recordedTime) ?? recordedTime) : str(data.businessTime);
  return at !== null && timeOf(at) <= timeOf(asOf.time);
};

/**
 * Checks one stored event against its predecessor. `prev` is the previous stored event's revision
 * and hash (-1 and GENESIS_HASH at the start). Returns the issues found.
 */
export const checkLink = (
  recorded: RecordedEvent,
  prev: { revision: number; hash: string; globalPosition?: number },
  expected: { location: string; sku: string; region?: string | undefined },
): ChainIssue[] => {
  const issues: ChainIssue[] = [];
  const data = (recorded.data ?? {}) as Record<string, unknown>;
  const rev = recorded.revision;
  const gapBefore = rev !== prev.revision + 1;
  if (gapBefore) {
    const first = prev.revision + 1;
    const last = rev - 1;
    issues.push({
      kind: "gap",
      revision: first,
      expected: `revision ${first}`,
      actual: `revision ${rev}`,
      message:
        prev.revision < 0 && rev > 0
          ? `${rev > 1 ? `revisions 0..${rev - 1} are` : "revision 0 is"} missing: the stream starts at revision ${rev}`
          : last > first
            ? `revisions ${first}..${last} are missing: after revision ${prev.revision} the next stored event is revision ${rev}`
            : rev > first
              ? `revision ${first} is missing: after revision ${prev.revision} the next stored event is revision ${rev}`
              : `revision ${rev} is out of order: expected revision ${first} after revision ${prev.revision}`,
    });
  }
  const envelope = (field: string, want: unknown, got: unknown) => {
    if (want !== got)
      issues.push({
        kind: "envelope",
        revision: rev,
        expected: `${field} ${JSON.stringify(want)}`,
        actual: `${field} ${JSON.stringify(got)}`,
        message: `revision ${rev}: the stored row says ${field} ${JSON.stringify(want)}, the event says ${JSON.stringify(got)}`,
      });
  };
  envelope("revision", rev, data.revision);
  envelope("eventId", recorded.eventId, data.eventId);
  envelope("type", recorded.type, data.type);
  const position = (data.position ?? {}) as Record<string, unknown>;
  envelope("position.location", expected.location, position.location);
  envelope("position.sku", expected.sku, position.sku);
  if (expected.region !== undefined) envelope("position.region", expected.region, position.region);
  // Columns the hash does not cover: metadata is never written by the node; positions follow revisions.
  if (recorded.metadata !== undefined)
    issues.push({
      kind: "envelope",
      revision: rev,
      expected: "no metadata",
      actual: `metadata ${JSON.stringify(recorded.metadata).slice(0, 200)}`,
      message: `revision ${rev}: the stored row has metadata, which no node writes and no hash covers (added outside the event)`,
    });
  if (prev.globalPosition !== undefined && recorded.globalPosition <= prev.globalPosition)
    issues.push({
      kind: "envelope",
      revision: rev,
      expected: `global position after ${prev.globalPosition}`,
      actual: `global position ${recorded.globalPosition}`,
      message: `revision ${rev}: global position ${recorded.globalPosition} is not after revision ${prev.revision}'s (${prev.globalPosition}): the global_position column was edited`,
    });

  // After a gap the predecessor's hash is unknown: the link cannot be checked.
  if (!gapBefore && data.prevHash !== prev.hash) {
    issues.push({
      kind: "link",
      revision: rev,
      expected: `prevHash ${prev.hash}`,
      actual: `prevHash ${String(data.prevHash)}`,
      message: `revision ${rev}: prevHash ${short(String(data.prevHash))} is not the hash of ${
        prev.revision < 0 ? "the genesis" : `revision ${prev.revision}`
      } (${short(prev.hash)})`,
    });
  }
  const recomputed = computeEventHash(data as unknown as CanonicalEvent);
  if (recomputed !== data.hash) {
    issues.push({
      kind: "hash",
      revision: rev,
      expected: `hash ${recomputed}`,
      actual: `hash ${String(data.hash)}`,
      message: `revision ${rev} (${recorded.type}, event ${recorded.eventId}) was altered: its content hashes to ${short(recomputed)}, the stored hash is ${short(String(data.hash))}`,
    });
  }
  return issues;
};

/**
 * Replays a position's stream. Returns undefined when the stream does not exist. `position.region`
 * may be omitted: it is then taken from the first event.
 */
export const replayPosition = async (
  store: ReplayStore,
  position: { location: string; sku: string; region?: string | undefined },
  options: ReplayOptions = {},
): Promise<ReplayResult | undefined> => {
  const streamId = positionStreamId(position);
  const pageSize = options.pageSize ?? 1000;
  const collect = options.collectEvents ?? true;
  const fold = options.fold ?? true;
  const verify = options.verify ?? false;
  const asOf = options.asOf;

  const events: ReplayedEvent[] = [];
  const issues: ChainIssue[] = [];
  const warnings: ReplayWarning[] = [];
  let state: PositionState | undefined;
  let folded = -1;
  let prev: { revision: number; hash: string; globalPosition?: number } = {
    revision: -1,
    hash: GENESIS_HASH,
  };
  let read = 0;
  const anchorCheck = verify && options.anchored ? anchorChecker(options.anchored) : undefined;

  // One live actor for the whole stream (see `evolver`); stopped below, whatever happens.
  let live: ReturnType<typeof evolver> | undefined;
  try {
    for (let from = 0; ; ) {
      const page = await store.readStream(streamId, { from, maxCount: pageSize });
      for (const recorded of page) {
        const data = (recorded.data ?? {}) as Record<string, unknown>;
        if (state === undefined) {
          const region =
            position.region ??
            str((data.position as Record<string, unknown> | undefined)?.region) ??
            "unknown";
          state = initialPositionState(
            { region, location: position.location, sku: position.sku },
            options.limits,
          );
          live = evolver(state);
        }
        if (verify) issues.push(...checkLink(recorded, prev, position));
        anchorCheck?.row(recorded);
        prev = {
          revision: recorded.revision,
          hash: String(data.hash),
          globalPosition: recorded.globalPosition,
        };

        if (!selected(asOf, data, recorded.recordedTime)) continue;
        const decoded = decodeCanonicalEvent(data);
        if (E.isLeft(decoded)) {
          if (verify)
            issues.push({
              kind: "undecodable",
              revision: recorded.revision,
              expected: "a canonical event",
              actual: formatDecodeErrors(decoded.left),
              message: `revision ${recorded.revision} is not a canonical event (not replayed): ${formatDecodeErrors(decoded.left)}`,
            });
        } else if (fold) {
          const event = decoded.right;
          state = live!.apply(event);
          folded = recorded.revision;
          const balances = balancesOf(state);
          // Meaningful only when every earlier event was folded too (not for a business-time view).
          // Only the first divergence: every later event inherits it.
          const diff = verify && asOf?.by !== "business" && warnings.length === 0;
          const differences = diff ? balanceDifferences(balances, event.balancesAfter) : [];
          if (differences.length > 0) {
            warnings.push({
              kind: "balances",
              revision: recorded.revision,
              message: `from revision ${recorded.revision} on, the replay differs from the balances stored with the events: ${differences.join(", ")}`,
            });
          }
        }
        if (collect) {
          const ok = E.isRight(decoded) && fold;
          events.push({
            revision: recorded.revision,
            eventId: recorded.eventId,
            type: recorded.type,
            quantity: typeof data.quantity === "number" ? data.quantity : null,
            businessTime: str(data.businessTime),
            recordedTime: str(data.recordedTime) ?? recorded.recordedTime,
            source: sourceOf(data),
            correlationId: str(data.correlationId),
            causationId: str(data.causationId),
            balances: ok ? balancesOf(state) : null,
            atp: ok ? atpOf(state) : null,
          });
        }
      }
      read += page.length;
      options.onEvents?.(read);
      if (page.length < pageSize) break;
      const last = page[page.length - 1];
      from = (last?.revision ?? from) + 1;
    }
  } finally {
    live?.stop();
  }
  if (state === undefined) return undefined;

  const snapshots =
    options.snapshots ?? (store.loadSnapshot ? (store as Pick<SnapshotStore, "loadSnapshot">) : undefined);
  if (verify && snapshots) {
    const snapshot = await snapshots.loadSnapshot(streamId);
    if (snapshot !== null && snapshot.revision > prev.revision) {
      issues.push({
        kind: "truncated",
        revision: prev.revision + 1,
        expected: `events up to revision ${snapshot.revision} (the stream's snapshot)`,
        actual: `last stored revision ${prev.revision}`,
        message: `revisions ${prev.revision + 1}..${snapshot.revision} are missing at the end: a snapshot was taken at revision ${snapshot.revision}, the stream ends at ${prev.revision}`,
      });
    }
  }

  if (verify && options.published)
    issues.push(...(await againstPublished(store, streamId, prev, position, options.published)));
  if (anchorCheck) issues.push(...anchorCheck.finish(prev));

  return {
    streamId,
    position: state.position,
    asOf,
    events,
    state,
    balances: balancesOf(state),
    atp: atpOf(state),
    revision: folded,
    headRevision: prev.revision,
    headHash: prev.hash,
    eventCount: read,
    verification: verify
      ? {
          ok: issues.length === 0,
          eventsChecked: read,
          headHash: prev.hash,
          headRevision: prev.revision,
          issues,
        }
      : undefined,
    warnings,
  };
};

// ---------------------------------------------------------------------------------------------
// Many streams at once

export interface StreamVerdict {
  readonly streamId: string;
  readonly location: string;
  readonly sku: string;
  readonly events: number;
  readonly headRevision: number;
  readonly issues: readonly ChainIssue[];
}

export interface VerifyProgress {
  readonly streamsDone: number;
  readonly streamsTotal: number;
  readonly eventsChecked: number;
  readonly streamId: string;
}

export interface VerifyManyResult {
  readonly ok: boolean;
  readonly streams: number;
  readonly eventsChecked: number;
  /** Only the streams with issues. */
  readonly failed: readonly StreamVerdict[];
}

export type VerifyStore = ReplayStore & Pick<EventStore, "listStreams">;

/** Stream-id prefix of every position at a location (`position-<enc(location)>~`). */
export const locationStreamPrefix = (location: string): string =>
  positionStreamId({ location, sku: "x" }).slice(0, -1);

/**
 * Verifies the hash chain of every position stream in a store (a region: one store per region),
 * or of one location's positions. Chain only (no folding), so it runs at hashing speed.
 */
/** The stored head against the published one: a shorter stream is truncated, another hash is a rewrite. */
const againstPublished = async (
  store: ReplayStore,
  streamId: string,
  head: { revision: number; hash: string },
  position: { location: string; sku: string },
  published: PublishedHeads,
): Promise<ChainIssue[]> => {
  const pub = await published(position);
  if (pub === undefined) return [];
  if (pub.revision > head.revision) {
    return [
      {
        kind: "truncated",
        revision: head.revision + 1,
        expected: `events up to revision ${pub.revision} (published to ${pub.where})`,
        actual: `last stored revision ${head.revision}`,
        message: `revisions ${head.revision + 1}..${pub.revision} are missing at the end: they were published to ${pub.where}, the stream ends at ${head.revision}`,
      },
    ];
  }
  const stored =
    pub.revision === head.revision
      ? head.hash
      : String(
          (
            (await store.readStream(streamId, { from: pub.revision, maxCount: 1 }))[0]?.data as {
              hash?: unknown;
            }
          )?.hash,
        );
  if (stored === pub.hash) return [];
  return [
    {
      kind: "diverged",
      revision: pub.revision,
      expected: `hash ${pub.hash} (published to ${pub.where})`,
      actual: `hash ${stored}`,
      message: `revision ${pub.revision} is not the event published to ${pub.where} (hash ${short(stored)} stored, ${short(pub.hash)} published): the stream was rewritten after it was published`,
    },
  ];
};

export const verifyPositions = async (
  store: VerifyStore,
  scope: {
    location?: string | undefined;
    region?: string | undefined;
    snapshots?: Pick<SnapshotStore, "loadSnapshot">;
    published?: PublishedHeads;
    anchor?: AnchorLog;
  } = {},
  onProgress?: (p: VerifyProgress) => void,
): Promise<VerifyManyResult> => {
  const prefix = scope.location !== undefined ? locationStreamPrefix(scope.location) : "position-";
  const streamIds = await store.listStreams({ prefix });
  const failed: StreamVerdict[] = [];
  let eventsChecked = 0;
  let done = 0;
  for (const streamId of streamIds) {
    const parsed = parsePositionStreamId(streamId);
    if (parsed === undefined) continue;
    const before = eventsChecked;
    const r = await replayPosition(
      store,
      { ...parsed, region: scope.region },
      {
        verify: true,
        fold: false,
        ...(scope.snapshots ? { snapshots: scope.snapshots } : {}),
        ...(scope.published ? { published: scope.published } : {}),
        ...(scope.anchor ? { anchored: scope.anchor.heads.get(streamId) ?? [] } : {}),
        collectEvents: false,
        onEvents: (n) => {
          onProgress?.({
            streamsDone: done,
            streamsTotal: streamIds.length,
            eventsChecked: before + n,
            streamId,
          });
        },
      },
    );
    done += 1;
    eventsChecked += r?.eventCount ?? 0;
    if (r?.verification && !r.verification.ok) {
      failed.push({
        streamId,
        ...parsed,
        events: r.eventCount,
        headRevision: r.headRevision,
        issues: r.verification.issues,
      });
    }
    onProgress?.({ streamsDone: done, streamsTotal: streamIds.length, eventsChecked, streamId });
  }
  // Anchored streams the store no longer has at all.
  const listed = new Set(streamIds);
  for (const [streamId, heads] of scope.anchor?.heads ?? []) {
    const parsed = parsePositionStreamId(streamId);
    if (listed.has(streamId) || !streamId.startsWith(prefix) || parsed === undefined) continue;
    const issues = anchorChecker(heads).finish({ revision: -1 });
    failed.push({ streamId, ...parsed, events: 0, headRevision: -1, issues });
  }
  return { ok: failed.length === 0, streams: done, eventsChecked, failed };
};
