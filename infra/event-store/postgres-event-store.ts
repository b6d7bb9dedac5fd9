/**
 * PostgreSQL adapter of the event-store port: a store every node of a region reaches over the
 * network (a surviving node can read a dead machine's streams), under the same contract as SQLite.
 *
 * - Driver: `pg` (node-postgres), one `pg.Pool` per store, every query a named (prepared) statement.
 * - Schema, migrations, the append function and why the global log is gap-free and ordered for a
 *   tailing reader: postgres-schema.ts. In short: positions are allocated under an advisory lock held
 *   until commit (single-writer allocation), so a position is visible only after every lower one.
 * - `appendMany` is the group commit: one statement, one transaction, one commit for the batch; items
 *   are checked in order against their streams' heads and a conflicting item is reported in its slot.
 * - Idempotent appends: a retry of an append that did commit (its reply lost with the connection)
 *   succeeds with the original positions instead of conflicting, and the store retries such
 *   connection failures itself (p-retry), so a dropped connection never writes an event twice.
 * - Append-only: triggers refuse UPDATE, DELETE and TRUNCATE of events, whoever the client is;
 *   snapshots and checkpoints are mutable tables in the same schema.
 * - `onAppended` hears this process's commits at once and, while anyone listens, every writer's
 *   commits through LISTEN/NOTIFY (the append function notifies at commit).
 * - `data` and `metadata` are kept as the JSON text given (not jsonb: no reordering of keys).
 */

import pRetry from "p-retry";
import pg from "pg";
import type { Logger } from "pino";
import {
  ANY,
  type AppendBatchItem,
  type AppendBatchOutcome,
  type AppendOptions,
  type AppendResult,
  appendOneOf,
  type CheckpointStore,
  type EventStore,
  type ExpectedRevision,
  type ListStreamsOptions,
  type NewEvent,
  NO_STREAM,
  notifyAppended,
  type ReadAllOptions,
  type ReadStreamOptions,
  type RecordedEvent,
  type Snapshot,
  type SnapshotStore,
  STREAM_EXISTS,
  WrongExpectedRevisionError,
} from "./event-store.ts";
import { checkSchemaName, migrate, notifyChannel } from "./postgres-schema.ts";
import { type SerialisedItem, serialiseBatch } from "./sqlite-event-store.ts";

export interface PostgresEventStoreOptions {
  /** `postgres://user@host:port/database`. */
  url: string;
  /** Schema holding the store's tables (default `stockline`): one per region or per test. */
  schema?: string;
  /** Pool size (default 10). */
  maxConnections?: number;
  /** Retries of an append or read whose connection failed (default 3). */
  retries?: number;
  logger?: Logger;
}

interface EventRow {
  global_position: string;
  stream_id: string;
  revision: string;
  event_id: string;
  type: string;
  data: string;
  metadata: string | null;
  recorded_time: Date;
}

interface AppendRow {
  ok: boolean;
  actual: string | null;
  next_revision: string | null;
  last_position: string | null;
}

const EVENT_COLUMNS = "global_position, stream_id, revision, event_id, type, data, metadata, recorded_time";

const toRecorded = <Data>(row: EventRow): RecordedEvent<Data> => {
  const event: RecordedEvent<Data> = {
    eventId: row.event_id,
    type: row.type,
    data: JSON.parse(row.data) as Data,
    streamId: row.stream_id,
    revision: Number(row.revision),
    globalPosition: Number(row.global_position),
    recordedTime: row.recorded_time.toISOString(),
  };
  if (row.metadata !== null) event.metadata = JSON.parse(row.metadata) as Record<string, unknown>;
  return event;
};

const encodeExpected = (expected: ExpectedRevision): number => {
  if (expected === NO_STREAM) return -1;
  if (expected === STREAM_EXISTS) return -2;
  if (expected === ANY) return -3;
  return expected;
};

/** The correlationId at the top of an event's data, for the lineage index (the only look inside data). */
const correlationOf = (data: unknown): string | null => {
  if (typeof data !== "object" || data === null) return null;
  const id = (data as { correlationId?: unknown }).correlationId;
  return typeof id === "string" && !id.includes("\u0000") ? id : null;
};

/** PostgreSQL text cannot hold NUL: name the field rather than fail inside the batch. */
const assertNoNul = (items: readonly SerialisedItem[]): void => {
  for (const item of items) {
    if (item.streamId.includes("\u0000"))
      throw new TypeError(`streamId: expected no NUL character, got ${JSON.stringify(item.streamId)}`);
    item.events.forEach((e, i) => {
      for (const [field, value] of [
        ["eventId", e.eventId],
        ["type", e.type],
      ] as const) {
        if (value.includes("\u0000"))
          throw new TypeError(
            `event ${i} of stream ${JSON.stringify(item.streamId)}: ${field}: expected no NUL character, got ${JSON.stringify(value)}`,
          );
      }
    });
  }
};

/** A failure of the connection (not of the statement): the statement may or may not have run. */
const isConnectionFailure = (error: unknown): boolean => {
  if (error instanceof pg.DatabaseError) {
    const code = error.code ?? "";
    return code.startsWith("08") || code.startsWith("57P");
  }
  return error instanceof Error && !(error instanceof TypeError);
};

export class PostgresEventStore<Data = unknown, State = unknown>
  implements EventStore<Data>, SnapshotStore<State>, CheckpointStore
{
  readonly schema: string;
  private readonly pool: pg.Pool;
  private readonly logger: Logger | undefined;
  private readonly retries: number;
  private readonly listeners = new Set<(lastGlobalPosition: number) => void>();
  private listen: pg.Client | undefined;
  private listenStarting: Promise<void> | undefined;
  private closed = false;
  private readonly sql: Record<string, string>;

  private constructor(options: PostgresEventStoreOptions) {
    this.schema = checkSchemaName(options.schema ?? "stockline");
    this.logger = options.logger;
    this.retries = options.retries ?? 3;
    this.pool = new pg.Pool({ connectionString: options.url, max: options.maxConnections ?? 10 });
    // An idle client losing its connection is removed by the pool; without a listener it would crash us.
    this.pool.on("error", (err) => this.logger?.warn({ err }, "postgres event store: idle connection lost"));
    const s = `"${this.schema}"`;
    this.sql = {
      append: `SELECT ok, actual, next_revision, last_position FROM ${s}.append_events($1, $2, $3, $4, $5, $6, $7, $8)`,
      head: `SELECT revision FROM ${s}.events WHERE stream_id = $1 ORDER BY revision DESC LIMIT 1`,
      readForwards: `SELECT ${EVENT_COLUMNS} FROM ${s}.events WHERE stream_id = $1 AND revision >= $2 ORDER BY revision ASC LIMIT $3`,
      readBackwards: `SELECT ${EVENT_COLUMNS} FROM ${s}.events WHERE stream_id = $1 AND revision <= $2 ORDER BY revision DESC LIMIT $3`,
      readAll: `SELECT ${EVENT_COLUMNS} FROM ${s}.events WHERE global_position > $1 ORDER BY global_position ASC LIMIT $2`,
      byCorrelation: `SELECT ${EVENT_COLUMNS} FROM ${s}.events WHERE correlation_id = $1 ORDER BY global_position`,
      lastPosition: `SELECT coalesce(max(global_position), 0) AS p FROM ${s}.events`,
      // One index seek per distinct stream (a loose index scan); "C" collation keeps a prefix contiguous.
      listStreams: `WITH RECURSIVE s(id) AS (
          (SELECT stream_id FROM ${s}.events WHERE stream_id >= $1 ORDER BY stream_id LIMIT 1)
          UNION ALL
          SELECT (SELECT e.stream_id FROM ${s}.events e WHERE e.stream_id > s.id ORDER BY e.stream_id LIMIT 1)
            FROM s WHERE s.id IS NOT NULL AND starts_with(s.id, $1))
        SELECT id FROM s WHERE id IS NOT NULL AND starts_with(id, $1)`,
      saveSnapshot: `INSERT INTO ${s}.snapshots AS t (stream_id, revision, version, state, saved_time)
          VALUES ($1, $2, $3, $4, now())
          ON CONFLICT (stream_id) DO UPDATE SET revision = excluded.revision, version = excluded.version,
            state = excluded.state, saved_time = excluded.saved_time
          WHERE excluded.version <> t.version OR excluded.revision >= t.revision`,
      loadSnapshot: `SELECT revision, version, state FROM ${s}.snapshots WHERE stream_id = $1`,
      getCheckpoint: `SELECT position FROM ${s}.checkpoints WHERE name = $1`,
      saveCheckpoint: `INSERT INTO ${s}.checkpoints (name, position, updated_time) VALUES ($1, $2, now())
          ON CONFLICT (name) DO UPDATE SET position = excluded.position, updated_time = excluded.updated_time`,
    };
  }

  /** Opens the pool and creates or migrates the schema. */
  static async open<Data = unknown, State = unknown>(
    options: PostgresEventStoreOptions,
  ): Promise<PostgresEventStore<Data, State>> {
    const store = new PostgresEventStore<Data, State>(options);
    try {
      await migrate(store.pool, store.schema);
    } catch (err) {
      await store.pool.end().catch(() => {});
      throw err;
    }
    return store;
  }

  /** A named (prepared) statement, retried when the connection failed. */
  private async query<Row extends pg.QueryResultRow>(name: string, values: unknown[]): Promise<Row[]> {
    const text = this.sql[name];
    if (text === undefined) throw new Error(`unreachable: no statement ${name}`);
    return pRetry(async () => (await this.pool.query<Row>({ name, text, values })).rows, {
      retries: this.retries,
      minTimeout: 50,
      maxTimeout: 1000,
      shouldRetry: (error) => !this.closed && isConnectionFailure(error),
      onFailedAttempt: (error) => {
        this.logger?.warn(
          { err: error, statement: name },
          "postgres event store: retrying after a connection failure",
        );
      },
    });
  }

  async appendMany(batch: readonly AppendBatchItem<Data>[]): Promise<AppendBatchOutcome[]> {
    const items = serialiseBatch(batch);
    if (items.length === 0) return [];
    assertNoNul(items);
    const events = items.flatMap((item) => item.events);
    const correlations = batch.flatMap((item) => item.events.map((e) => correlationOf(e.data)));
    const rows = await this.query<AppendRow>("append", [
      items.map((i) => i.streamId),
      items.map((i) => encodeExpected(i.expectedRevision)),
      items.map((i) => i.events.length),
      events.map((e) => e.eventId),
      events.map((e) => e.type),
      events.map((e) => e.data),
      events.map((e) => e.metadata),
      correlations,
    ]);
    let last = 0;
    const outcomes = items.map((item, i): AppendBatchOutcome => {
      const row = rows[i];
      if (row === undefined) throw new Error(`event store returned no outcome for item ${i}`);
      if (!row.ok) {
        const actual = row.actual === null ? NO_STREAM : Number(row.actual);
        return {
          ok: false,
          error: new WrongExpectedRevisionError(item.streamId, item.expectedRevision, actual),
        };
      }
      const lastGlobalPosition = Number(row.last_position);
      if (item.events.length > 0) last = Math.max(last, lastGlobalPosition);
      return { ok: true, nextExpectedRevision: Number(row.next_revision), lastGlobalPosition };
    });
    if (last > 0) this.notify(last);
    return outcomes;
  }

  async appendToStream(
    streamId: string,
    events: readonly NewEvent<Data>[],
    options: AppendOptions,
  ): Promise<AppendResult> {
    return appendOneOf((items) => this.appendMany(items), streamId, events, options);
  }

  async readStream(streamId: string, options: ReadStreamOptions = {}): Promise<RecordedEvent<Data>[]> {
    const limit = options.maxCount ?? null; // LIMIT NULL: no limit
    const rows =
      options.direction === "backwards"
        ? await this.query<EventRow>("readBackwards", [
            streamId,
            options.from ?? Number.MAX_SAFE_INTEGER,
            limit,
          ])
        : await this.query<EventRow>("readForwards", [streamId, options.from ?? 0, limit]);
    return rows.map((row) => toRecorded<Data>(row));
  }

  async streamRevision(streamId: string): Promise<number | null> {
    const [row] = await this.query<{ revision: string }>("head", [streamId]);
    return row === undefined ? null : Number(row.revision);
  }

  /** The global log after `fromPosition`: gap-free and never ahead of a commit still in flight. */
  async readAll(options: ReadAllOptions): Promise<RecordedEvent<Data>[]> {
    const rows = await this.query<EventRow>("readAll", [options.fromPosition, options.maxCount]);
    return rows.map((row) => toRecorded<Data>(row));
  }

  /** Lineage lookup (audit trace): events whose `data.correlationId` equals the id, in commit order. */
  async readByCorrelationId(correlationId: string): Promise<RecordedEvent<Data>[]> {
    const rows = await this.query<EventRow>("byCorrelation", [correlationId]);
    return rows.map((row) => toRecorded<Data>(row));
  }

  /** Position of the last committed event, 0 when the store is empty. */
  async lastGlobalPosition(): Promise<number> {
    const [row] = await this.query<{ p: string }>("lastPosition", []);
    return Number(row?.p ?? 0);
  }

  onAppended(listener: (lastGlobalPosition: number) => void): () => void {
    this.listeners.add(listener);
    this.startListening();
    return () => {
      this.listeners.delete(listener);
    };
  }

  async listStreams(options: ListStreamsOptions = {}): Promise<string[]> {
    const rows = await this.query<{ id: string }>("listStreams", [options.prefix ?? ""]);
    return rows.map((r) => r.id);
  }

  async saveSnapshot(streamId: string, snapshot: Snapshot<State>): Promise<void> {
    const state = JSON.stringify(snapshot.state);
    if (state === undefined)
      throw new TypeError(`snapshot of ${JSON.stringify(streamId)}: state is not JSON`);
    await this.query("saveSnapshot", [streamId, snapshot.revision, JSON.stringify(snapshot.version), state]);
  }

  async loadSnapshot(streamId: string): Promise<Snapshot<State> | null> {
    const [row] = await this.query<{ revision: string; version: string; state: string }>("loadSnapshot", [
      streamId,
    ]);
    if (row === undefined) return null;
    return {
      revision: Number(row.revision),
      version: JSON.parse(row.version) as string | number,
      state: JSON.parse(row.state) as State,
    };
  }

  async getCheckpoint(name: string): Promise<number | null> {
    const [row] = await this.query<{ position: string }>("getCheckpoint", [name]);
    return row === undefined ? null : Number(row.position);
  }

  async saveCheckpoint(name: string, position: number): Promise<void> {
    await this.query("saveCheckpoint", [name, position]);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.listeners.clear();
    await this.listenStarting?.catch(() => {});
    const listen = this.listen;
    this.listen = undefined;
    await listen?.end().catch(() => {});
    await this.pool.end();
  }

  /** LISTEN on a dedicated connection (not the pool's), so other writers' commits wake us too. */
  private startListening(): void {
    if (this.listen !== undefined || this.listenStarting !== undefined || this.closed) return;
    const client = new pg.Client({ connectionString: this.pool.options.connectionString });
    const channel = notifyChannel(this.schema);
    client.on("notification", (msg) => {
      const position = Number(msg.payload);
      if (msg.channel === channel && Number.isSafeInteger(position)) this.notify(position);
    });
    client.on("error", (err) => {
      // A hint only: local commits still notify; listen again after a pause.
      this.logger?.warn({ err }, "postgres event store: LISTEN connection lost");
      if (this.listen === client) this.listen = undefined;
      client.end().catch(() => {});
      setTimeout(() => {
        if (this.listeners.size > 0) this.startListening();
      }, 1000).unref();
    });
    this.listenStarting = (async () => {
      try {
        await client.connect();
        await client.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
        if (this.closed) await client.end();
        else this.listen = client;
      } catch (err) {
        this.logger?.warn(
          { err },
          "postgres event store: cannot LISTEN; only this process's commits wake listeners",
        );
        await client.end().catch(() => {});
      } finally {
        this.listenStarting = undefined;
      }
    })();
  }

  private notify(lastGlobalPosition: number): void {
    notifyAppended(this.listeners, lastGlobalPosition, this.logger);
  }
}

export const openPostgresEventStore = <Data = unknown, State = unknown>(
  options: PostgresEventStoreOptions,
): Promise<PostgresEventStore<Data, State>> => PostgresEventStore.open<Data, State>(options);
