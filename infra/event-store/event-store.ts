/**
 * The event-store port, in the shape of Emmett's (event-driven-io/emmett): append with an expected
 * stream revision, read a stream, read the global log from a position (for the relay).
 *
 * The port is generic over the event payload: the store keeps `data` as JSON and never interprets
 * it. Adapters: `sqlite-event-store.ts` (embedded default), `postgres-event-store.ts`,
 * `eventstoredb-event-store.ts`.
 */

/** The stream must not exist yet (no event appended to it). */
export const NO_STREAM = "no_stream" as const;
/** The stream must already exist (at any revision). */
export const STREAM_EXISTS = "stream_exists" as const;
/** No concurrency check. */
export const ANY = "any" as const;

/**
 * A number is the revision of the last event in the stream (0-based), as returned by the previous
 * append; -1 means the same as NO_STREAM (what an empty append to an absent stream returns).
 */
export type ExpectedRevision = number | typeof NO_STREAM | typeof STREAM_EXISTS | typeof ANY;

export interface NewEvent<Data = unknown> {
  eventId: string;
  type: string;
  /** JSON-serialisable payload. */
  data: Data;
  metadata?: Record<string, unknown>;
}

export interface RecordedEvent<Data = unknown> extends NewEvent<Data> {
  streamId: string;
  /** 0-based position of the event in its stream. */
  revision: number;
  /**
   * Position in the store's global log, strictly increasing in commit order. 1-based and gap-free
   * for SQLite and PostgreSQL; a log byte offset (strictly increasing, with gaps) for EventStoreDB.
   */
  globalPosition: number;
  /** ISO-8601 time at which the store committed the event. */
  recordedTime: string;
}

/** Typed optimistic-concurrency conflict. `actual` is the stream's revision, or NO_STREAM. */
export class WrongExpectedRevisionError extends Error {
  readonly streamId: string;
  readonly expected: ExpectedRevision;
  readonly actual: number | typeof NO_STREAM;

  constructor(streamId: string, expected: ExpectedRevision, actual: number | typeof NO_STREAM) {
    super(
      `wrong expected revision on stream ${JSON.stringify(streamId)}: expected ${String(expected)}, actual ${String(actual)}`,
    );
    this.name = "WrongExpectedRevisionError";
    this.streamId = streamId;
    this.expected = expected;
    this.actual = actual;
  }
}

/** Whether `expected` admits a stream whose current revision is `actual` (null = no stream). */
export const matchesExpectedRevision = (expected: ExpectedRevision, actual: number | null): boolean => {
  if (expected === ANY) return true;
  if (expected === NO_STREAM) return actual === null;
  if (expected === STREAM_EXISTS) return actual !== null;
  if (expected === -1) return actual === null;
  return actual === expected;
};

export interface AppendOptions {
  expectedRevision: ExpectedRevision;
}

export interface AppendResult {
  /** Revision of the last appended event: pass it as `expectedRevision` next time (-1: empty append, no stream). */
  nextExpectedRevision: number;
  /** Global position of the last appended event (empty append: of the stream's last event, 0 if none). */
  lastGlobalPosition: number;
}

export interface AppendBatchItem<Data = unknown> {
  streamId: string;
  events: readonly NewEvent<Data>[];
  expectedRevision: ExpectedRevision;
}

export type AppendBatchOutcome =
  | ({ ok: true } & AppendResult)
  | { ok: false; error: WrongExpectedRevisionError };

export type ReadDirection = "forwards" | "backwards";

export interface ReadStreamOptions {
  /** Revision to start from, inclusive. Default: 0 forwards, the last event backwards. */
  from?: number;
  maxCount?: number;
  direction?: ReadDirection;
}

export interface ReadAllOptions {
  /** Exclusive: returns events whose globalPosition > fromPosition. 0 reads from the start. */
  fromPosition: number;
  maxCount: number;
}

export interface ListStreamsOptions {
  /** Only stream ids starting with this prefix, e.g. `position-eu.` for a region. */
  prefix?: string;
}

export interface EventStore<Data = unknown> {
  /**
   * Appends events atomically to one stream if its revision matches `expectedRevision`; otherwise
   * rejects with WrongExpectedRevisionError and appends nothing. An empty `events` array only checks.
   */
  appendToStream(
    streamId: string,
    events: readonly NewEvent<Data>[],
    options: AppendOptions,
  ): Promise<AppendResult>;
  /**
   * Group commit: appends to many streams at once. Each item succeeds or fails on its own; a conflicting
   * item is reported in its slot and does not prevent the others. Outcomes are in the order of `batch`.
   */
  appendMany(batch: readonly AppendBatchItem<Data>[]): Promise<AppendBatchOutcome[]>;
  readStream(streamId: string, options?: ReadStreamOptions): Promise<RecordedEvent<Data>[]>;
  /** Revision of the last event in the stream, or null when the stream does not exist. */
  streamRevision(streamId: string): Promise<number | null>;
  /** The global log in commit order, for the relay and projectors. */
  readAll(options: ReadAllOptions): Promise<RecordedEvent<Data>[]>;
  /**
   * Wake-up hint after events were committed (by this process; the ESDB adapter also hears other
   * writers). Carries the last known global position. Returns an unsubscribe function.
   */
  onAppended(listener: (lastGlobalPosition: number) => void): () => void;
  listStreams(options?: ListStreamsOptions): Promise<string[]>;
  close(): Promise<void>;
}

/** Version of the state machine that produced a snapshot: a snapshot of another version is ignored. */
export type SnapshotVersion = string | number;

export interface Snapshot<State = unknown> {
  /** Revision of the last event folded into `state`. */
  revision: number;
  version: SnapshotVersion;
  state: State;
}

export interface SnapshotStore<State = unknown> {
  /** Replaces the stream's snapshot (only the latest is kept). */
  saveSnapshot(streamId: string, snapshot: Snapshot<State>): Promise<void>;
  loadSnapshot(streamId: string): Promise<Snapshot<State> | null>;
}

export interface CheckpointStore {
  getCheckpoint(name: string): Promise<number | null>;
  saveCheckpoint(name: string, position: number): Promise<void>;
}

/** `appendToStream` for a store whose primitive is the group commit: one item, its error thrown. */
export const appendOneOf = async <Data>(
  appendMany: (items: readonly AppendBatchItem<Data>[]) => Promise<readonly AppendBatchOutcome[]>,
  streamId: string,
  events: readonly NewEvent<Data>[],
  options: AppendOptions,
): Promise<AppendResult> => {
  const [outcome] = await appendMany([{ streamId, events, expectedRevision: options.expectedRevision }]);
  if (outcome === undefined) throw new Error("unreachable: one item, no outcome");
  if (!outcome.ok) throw outcome.error;
  return {
    nextExpectedRevision: outcome.nextExpectedRevision,
    lastGlobalPosition: outcome.lastGlobalPosition,
  };
};

/**
 * Tells each `onAppended` listener the new head after the commit and off the append's call stack, so a
 * slow or throwing listener cannot hold the writer.
 */
export const notifyAppended = (
  listeners: Iterable<(lastGlobalPosition: number) => void>,
  lastGlobalPosition: number,
  logger: { error(obj: object, msg: string): void } | undefined,
): void => {
  for (const listener of listeners) {
    queueMicrotask(() => {
      try {
        listener(lastGlobalPosition);
      } catch (error) {
        logger?.error({ err: error }, "event-store onAppended listener threw");
      }
    });
  }
};
