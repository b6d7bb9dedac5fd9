/**
 * SQLite adapter of the event-store port (the embedded default): better-sqlite3, WAL,
 * `synchronous=FULL` unless told otherwise (this is a ledger).
 *
 * - `events.global_position` is the INTEGER PRIMARY KEY: assigned max+1 under the write lock and
 *   never deleted, so the global log is 1-based and gap-free, and a reader never sees position N+1
 *   before N (a transaction commits atomically).
 * - Append-only is enforced by the schema: triggers abort any UPDATE or DELETE of an event, whoever
 *   the client is.
 * - Writes run in `BEGIN IMMEDIATE` transactions, so the expected-revision check and the insert are
 *   atomic even with several processes on the same file; UNIQUE(stream_id, revision) is the backstop.
 * - `appendMany` is a group commit: one transaction (one fsync) for the whole batch; each item is
 *   checked against its stream's revision inside that transaction, and a conflicting item is
 *   skipped and reported without touching the others.
 * - Snapshots and checkpoints live in the same file, in mutable tables.
 */
import Database from "better-sqlite3";
import type { Logger } from "pino";
import {
  type AppendBatchItem,
  type AppendBatchOutcome,
  type AppendOptions,
  type AppendResult,
  type CheckpointStore,
  type EventStore,
  type ExpectedRevision,
  type ListStreamsOptions,
  matchesExpectedRevision,
  type NewEvent,
  NO_STREAM,
  notifyAppended,
  type ReadAllOptions,
  type ReadStreamOptions,
  type RecordedEvent,
  type Snapshot,
  type SnapshotStore,
  WrongExpectedRevisionError,
} from "./event-store.ts";

export type SqliteSynchronous = "OFF" | "NORMAL" | "FULL" | "EXTRA";

export interface SqliteEventStoreOptions {
  /** File path, or `:memory:` (tests only: nothing is durable). */
  path: string;
  /** Default FULL: a commit survives power loss. NORMAL in WAL mode may lose the last commits on power loss. */
  synchronous?: SqliteSynchronous;
  /** How long a writer waits for another process's write lock. */
  busyTimeoutMs?: number;
  logger?: Logger;
}

const SCHEMA_VERSION = 1;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS events (
  global_position INTEGER PRIMARY KEY,
  stream_id       TEXT    NOT NULL CHECK (length(stream_id) > 0),
  revision        INTEGER NOT NULL CHECK (revision >= 0),
  event_id        TEXT    NOT NULL,
  type            TEXT    NOT NULL,
  data            TEXT    NOT NULL,
  metadata        TEXT,
  recorded_time   TEXT    NOT NULL,
  UNIQUE (stream_id, revision)
);
CREATE TRIGGER IF NOT EXISTS events_are_append_only_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'events are append-only: UPDATE is not allowed'); END;
CREATE TRIGGER IF NOT EXISTS events_are_append_only_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'events are append-only: DELETE is not allowed'); END;
-- Lineage (audit trace): canonical events carry correlationId at the top of data. Derived events
-- (a transfer's inbound at the destination) keep their cause's correlationId, so one index suffices.
CREATE INDEX IF NOT EXISTS events_by_correlation ON events (json_extract(data, '$.correlationId'));
CREATE TABLE IF NOT EXISTS snapshots (
  stream_id  TEXT    PRIMARY KEY,
  revision   INTEGER NOT NULL,
  version    TEXT    NOT NULL,
  state      TEXT    NOT NULL,
  saved_time TEXT    NOT NULL
);
CREATE TABLE IF NOT EXISTS checkpoints (
  name         TEXT    PRIMARY KEY,
  position     INTEGER NOT NULL,
  updated_time TEXT    NOT NULL
);
`;

interface EventRow {
  global_position: number;
  stream_id: string;
  revision: number;
  event_id: string;
  type: string;
  data: string;
  metadata: string | null;
  recorded_time: string;
}

interface HeadRow {
  revision: number;
  global_position: number;
}

interface SnapshotRow {
  revision: number;
  version: string;
  state: string;
}

/** An event of the global log as stored: `data` is the JSON text, unparsed (the relay publishes it as is). */
export interface RawLogEvent {
  readonly globalPosition: number;
  readonly streamId: string;
  readonly revision: number;
  readonly type: string;
  readonly data: string;
}

type RawLogRow = [number, string, number, string, string];

type InsertParams = [string, number, string, string, string, string | null, string];

const toRecorded = <Data>(row: EventRow): RecordedEvent<Data> => {
  const event: RecordedEvent<Data> = {
    eventId: row.event_id,
    type: row.type,
    data: JSON.parse(row.data) as Data,
    streamId: row.stream_id,
    revision: row.revision,
    globalPosition: row.global_position,
    recordedTime: row.recorded_time,
  };
  if (row.metadata !== null) event.metadata = JSON.parse(row.metadata) as Record<string, unknown>;
  return event;
};

const assertExpectedRevision = (streamId: string, expected: ExpectedRevision): void => {
  if (typeof expected === "number" && !(Number.isSafeInteger(expected) && expected >= -1)) {
    throw new TypeError(
      `expectedRevision of stream ${JSON.stringify(streamId)}: expected an integer >= -1 or a sentinel, got ${expected}`,
    );
  }
};

/** Serialises events up front so a bad payload fails before the transaction, naming the event. */
const serialise = (streamId: string, events: readonly NewEvent<unknown>[]) =>
  events.map((event, index) => {
    // Named only when something is wrong (not built for every event of every commit).
    const where = () => `event ${index} of stream ${JSON.stringify(streamId)}`;
    if (typeof event.eventId !== "string" || event.eventId.length === 0) {
      throw new TypeError(
        `${where()}: eventId: expected a non-empty string, got ${JSON.stringify(event.eventId)}`,
      );
    }
    if (typeof event.type !== "string" || event.type.length === 0) {
      throw new TypeError(`${where()}: type: expected a non-empty string, got ${JSON.stringify(event.type)}`);
    }
    const data = JSON.stringify(event.data);
    if (data === undefined)
      throw new TypeError(`${where()}: data: expected a JSON value, got ${String(event.data)}`);
    const metadata = event.metadata === undefined ? null : JSON.stringify(event.metadata);
    return { eventId: event.eventId, type: event.type, data, metadata };
  });

type Serialised = ReturnType<typeof serialise>;

/** A batch item checked and serialised (`serialiseBatch`): plain strings, cheap to send to another thread. */
export interface SerialisedItem {
  readonly streamId: string;
  readonly expectedRevision: ExpectedRevision;
  readonly events: Serialised;
}

/** Checks and serialises a batch up front, so a bad item fails before the transaction, naming it. */
export const serialiseBatch = (batch: readonly AppendBatchItem<unknown>[]): SerialisedItem[] =>
  batch.map((item) => {
    if (typeof item.streamId !== "string" || item.streamId.length === 0) {
      throw new TypeError(`streamId: expected a non-empty string, got ${JSON.stringify(item.streamId)}`);
    }
    assertExpectedRevision(item.streamId, item.expectedRevision);
    return {
      streamId: item.streamId,
      expectedRevision: item.expectedRevision,
      events: serialise(item.streamId, item.events),
    };
  });

/**
 * The events a group commit wrote, as the global log holds them, from its items and outcomes: one
 * transaction inserts an item's events at consecutive positions and revisions, ending at its outcome's.
 */
export const committedEvents = (
  items: readonly SerialisedItem[],
  outcomes: readonly AppendBatchOutcome[],
): RawLogEvent[] => {
  const out: RawLogEvent[] = [];
  items.forEach((item, i) => {
    const o = outcomes[i];
    if (!o?.ok) return;
    const n = item.events.length;
    item.events.forEach((e, k) => {
      out.push({
        globalPosition: o.lastGlobalPosition - n + 1 + k,
        streamId: item.streamId,
        revision: o.nextExpectedRevision - n + 1 + k,
        type: e.type,
        data: e.data,
      });
    });
  });
  return out;
};

export class SqliteEventStore<Data = unknown, State = unknown>
  implements EventStore<Data>, SnapshotStore<State>, CheckpointStore
{
  readonly path: string;
  private readonly db: Database.Database;
  private readonly logger: Logger | undefined;
  private readonly listeners = new Set<(lastGlobalPosition: number) => void>();
  private readonly stmt;
  private readonly appendTx;

  constructor(options: SqliteEventStoreOptions) {
    this.path = options.path;
    this.logger = options.logger;
    this.db = new Database(options.path);
    this.db.pragma("journal_mode = WAL");
    this.db.pragma(`synchronous = ${options.synchronous ?? "FULL"}`);
    this.db.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 5000}`);
    const version = this.db.pragma("user_version", { simple: true }) as number;
    if (version > SCHEMA_VERSION) {
      this.db.close();
      throw new Error(
        `${options.path}: event-store schema version ${version} is newer than this code (${SCHEMA_VERSION})`,
      );
    }
    this.db.exec(SCHEMA);
    this.db.pragma(`user_version = ${SCHEMA_VERSION}`);

    const db = this.db;
    this.stmt = {
      head: db.prepare<[string], HeadRow>(
        "SELECT revision, global_position FROM events WHERE stream_id = ? ORDER BY revision DESC LIMIT 1",
      ),
      insert: db.prepare<InsertParams>(
        "INSERT INTO events (stream_id, revision, event_id, type, data, metadata, recorded_time) VALUES (?, ?, ?, ?, ?, ?, ?)",
      ),
      readForwards: db.prepare<[string, number, number], EventRow>(
        "SELECT * FROM events WHERE stream_id = ? AND revision >= ? ORDER BY revision ASC LIMIT ?",
      ),
      readBackwards: db.prepare<[string, number, number], EventRow>(
        "SELECT * FROM events WHERE stream_id = ? AND revision <= ? ORDER BY revision DESC LIMIT ?",
      ),
      readAll: db.prepare<[number, number], EventRow>(
        "SELECT * FROM events WHERE global_position > ? ORDER BY global_position ASC LIMIT ?",
      ),
      readAllRaw: db
        .prepare<[number, number], RawLogRow>(
          "SELECT global_position, stream_id, revision, type, data FROM events WHERE global_position > ? ORDER BY global_position ASC LIMIT ?",
        )
        .raw(true),
      byCorrelation: db.prepare<[string], EventRow>(
        "SELECT * FROM events WHERE json_extract(data, '$.correlationId') = ? ORDER BY global_position",
      ),
      lastPosition: db.prepare<[], { p: number | null }>("SELECT MAX(global_position) AS p FROM events"),
      // One seek of the (stream_id, revision) index per distinct stream (LIKE would be case-insensitive).
      nextStream: db.prepare<[string], { stream_id: string }>(
        "SELECT stream_id FROM events WHERE stream_id > ? ORDER BY stream_id LIMIT 1",
      ),
      stream: db.prepare<[string], { stream_id: string }>(
        "SELECT stream_id FROM events WHERE stream_id = ? LIMIT 1",
      ),
      saveSnapshot: db.prepare<[string, number, string, string, string]>(
        `INSERT INTO snapshots (stream_id, revision, version, state, saved_time) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (stream_id) DO UPDATE SET revision = excluded.revision, version = excluded.version,
           state = excluded.state, saved_time = excluded.saved_time
         WHERE excluded.version <> snapshots.version OR excluded.revision >= snapshots.revision`,
      ),
      loadSnapshot: db.prepare<[string], SnapshotRow>(
        "SELECT revision, version, state FROM snapshots WHERE stream_id = ?",
      ),
      getCheckpoint: db.prepare<[string], { position: number }>(
        "SELECT position FROM checkpoints WHERE name = ?",
      ),
      saveCheckpoint: db.prepare<[string, number, string]>(
        `INSERT INTO checkpoints (name, position, updated_time) VALUES (?, ?, ?)
         ON CONFLICT (name) DO UPDATE SET position = excluded.position, updated_time = excluded.updated_time`,
      ),
    };

    this.appendTx = this.db.transaction(
      (items: readonly { streamId: string; expectedRevision: ExpectedRevision; events: Serialised }[]) => {
        const recordedTime = new Date().toISOString();
        return items.map((item): AppendBatchOutcome => {
          const head = this.stmt.head.get(item.streamId);
          const actual = head === undefined ? null : head.revision;
          if (!matchesExpectedRevision(item.expectedRevision, actual)) {
            return {
              ok: false,
              error: new WrongExpectedRevisionError(
                item.streamId,
                item.expectedRevision,
                actual ?? NO_STREAM,
              ),
            };
          }
          let revision = actual ?? -1;
          let lastGlobalPosition = head?.global_position ?? 0;
          for (const event of item.events) {
            revision += 1;
            const info = this.stmt.insert.run(
              item.streamId,
              revision,
              event.eventId,
              event.type,
              event.data,
              event.metadata,
              recordedTime,
            );
            lastGlobalPosition = Number(info.lastInsertRowid);
          }
          return { ok: true, nextExpectedRevision: revision, lastGlobalPosition };
        });
      },
    );
  }

  /**
   * Synchronous group commit (the async port method wraps it). One IMMEDIATE transaction for all
   * items; outcomes in the order of `batch`.
   */
  appendManySync(batch: readonly AppendBatchItem<Data>[]): AppendBatchOutcome[] {
    return this.appendSerialisedSync(serialiseBatch(batch));
  }

  /** `appendManySync` of a batch already serialised (by `serialiseBatch`, e.g. in another thread). */
  appendSerialisedSync(items: readonly SerialisedItem[]): AppendBatchOutcome[] {
    if (items.length === 0) return [];
    const outcomes = this.appendTx.immediate(items);
    let last = 0;
    let wrote = false;
    outcomes.forEach((outcome, i) => {
      if (outcome.ok && (items[i]?.events.length ?? 0) > 0) {
        wrote = true;
        last = Math.max(last, outcome.lastGlobalPosition);
      }
    });
    if (wrote) this.notify(last);
    return outcomes;
  }

  async appendMany(batch: readonly AppendBatchItem<Data>[]): Promise<AppendBatchOutcome[]> {
    return this.appendManySync(batch);
  }

  async appendToStream(
    streamId: string,
    events: readonly NewEvent<Data>[],
    options: AppendOptions,
  ): Promise<AppendResult> {
    const [outcome] = this.appendManySync([{ streamId, events, expectedRevision: options.expectedRevision }]);
    if (outcome === undefined) throw new Error("unreachable: one item, no outcome");
    if (!outcome.ok) throw outcome.error;
    return {
      nextExpectedRevision: outcome.nextExpectedRevision,
      lastGlobalPosition: outcome.lastGlobalPosition,
    };
  }

  async readStream(streamId: string, options: ReadStreamOptions = {}): Promise<RecordedEvent<Data>[]> {
    const limit = options.maxCount ?? -1; // SQLite: a negative LIMIT means no limit
    const rows =
      options.direction === "backwards"
        ? this.stmt.readBackwards.all(streamId, options.from ?? Number.MAX_SAFE_INTEGER, limit)
        : this.stmt.readForwards.all(streamId, options.from ?? 0, limit);
    return rows.map((row) => toRecorded<Data>(row));
  }

  async streamRevision(streamId: string): Promise<number | null> {
    return this.stmt.head.get(streamId)?.revision ?? null;
  }

  async readAll(options: ReadAllOptions): Promise<RecordedEvent<Data>[]> {
    return this.stmt.readAll.all(options.fromPosition, options.maxCount).map((row) => toRecorded<Data>(row));
  }

  /**
   * The global log as stored, without parsing `data`: the relay publishes the JSON text as it was
   * committed instead of parsing and re-serialising every event.
   */
  readAllRaw(options: ReadAllOptions): RawLogEvent[] {
    return this.stmt.readAllRaw.all(options.fromPosition, options.maxCount).map((r) => ({
      globalPosition: r[0],
      streamId: r[1],
      revision: r[2],
      type: r[3],
      data: r[4],
    }));
  }

  /**
   * Lineage lookup (audit trace), index-backed: events whose `data.correlationId` equals the id, in
   * commit order. The only place the adapter looks inside `data`; other payloads never match.
   */
  async readByCorrelationId(correlationId: string): Promise<RecordedEvent<Data>[]> {
    return this.stmt.byCorrelation.all(correlationId).map((row) => toRecorded<Data>(row));
  }

  /** Position of the last committed event, 0 when the store is empty. */
  async lastGlobalPosition(): Promise<number> {
    return this.stmt.lastPosition.get()?.p ?? 0;
  }

  onAppended(listener: (lastGlobalPosition: number) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  async listStreams(options: ListStreamsOptions = {}): Promise<string[]> {
    const prefix = options.prefix ?? "";
    const streams: string[] = [];
    let current = prefix.length > 0 ? this.stmt.stream.get(prefix)?.stream_id : undefined;
    if (current !== undefined) streams.push(current);
    current = this.stmt.nextStream.get(prefix)?.stream_id;
    while (current?.startsWith(prefix)) {
      streams.push(current);
      current = this.stmt.nextStream.get(current)?.stream_id;
    }
    return streams;
  }

  async saveSnapshot(streamId: string, snapshot: Snapshot<State>): Promise<void> {
    const state = JSON.stringify(snapshot.state);
    if (state === undefined)
      throw new TypeError(`snapshot of ${JSON.stringify(streamId)}: state is not JSON`);
    this.stmt.saveSnapshot.run(
      streamId,
      snapshot.revision,
      JSON.stringify(snapshot.version),
      state,
      new Date().toISOString(),
    );
  }

  async loadSnapshot(streamId: string): Promise<Snapshot<State> | null> {
    const row = this.stmt.loadSnapshot.get(streamId);
    if (row === undefined) return null;
    return {
      revision: row.revision,
      version: JSON.parse(row.version) as string | number,
      state: JSON.parse(row.state) as State,
    };
  }

  async getCheckpoint(name: string): Promise<number | null> {
    return this.stmt.getCheckpoint.get(name)?.position ?? null;
  }

  async saveCheckpoint(name: string, position: number): Promise<void> {
    this.stmt.saveCheckpoint.run(name, position, new Date().toISOString());
  }

  async close(): Promise<void> {
    this.listeners.clear();
    if (this.db.open) this.db.close();
  }

  private notify(lastGlobalPosition: number): void {
    notifyAppended(this.listeners, lastGlobalPosition, this.logger);
  }
}

export const openSqliteEventStore = <Data = unknown, State = unknown>(
  options: SqliteEventStoreOptions,
): SqliteEventStore<Data, State> => new SqliteEventStore<Data, State>(options);
