/**
 * EventStoreDB adapter of the event-store port (`@eventstore/db-client`).
 *
 * Choices, and why:
 * - Stream names are the caller's (e.g. `position-…`), so `$ce-position` and the other system
 *   projections work on them.
 * - Revisions are ESDB's 0-based bigint revisions, as numbers.
 * - globalPosition = the event's commit position in the transaction log, as a number. gRPC clients
 *   cannot open explicit transactions, so every event is its own implicit commit and commit ==
 *   prepare position: unique per event and strictly increasing in `$all` order (ESDB AllReader).
 *   Positions are byte offsets: increasing, NOT gap-free, exact as numbers up to 2^53 bytes (8 PiB).
 *   `readAll({fromPosition})` reads `$all` from {commit: p, prepare: p} and drops the event at p,
 *   so `fromPosition` must be 0 or a globalPosition this store returned.
 * - Event ids: ESDB requires UUIDs. A UUID eventId is used as is; any other id is mapped to a
 *   deterministic name-based UUID (SHA-1, v5 layout), so a retried append of the same event keeps
 *   ESDB's idempotency. The original id travels in metadata key `stocklineEventId` (reserved) and is
 *   restored on read.
 * - Snapshots and checkpoints live in ESDB too, one stream each (`snapshot-<stream>`,
 *   `checkpoint-<name>`, `$maxCount = 1` so old ones are scavenged), so an ESDB deployment needs no
 *   local disk. Not `$`-prefixed: those are system streams that need admin rights in secure mode.
 *   `readAll` and `listStreams` hide them, and system (`$`) streams.
 * - `onAppended` wakes listeners after this process's appends and, while anyone listens, from a
 *   live `$all` subscription (system events excluded), so appends by other nodes wake it too.
 * - `appendMany` runs the appends in parallel (ESDB has no multi-stream transaction); items of one
 *   batch should target distinct streams, as their relative order is not defined.
 * - `listStreams` scans `$all` (needs no projection; cost is proportional to the log).
 */
import { createHash } from "node:crypto";
import {
  type AllStreamResolvedEvent,
  type AllStreamSubscription,
  type AppendExpectedRevision,
  BACKWARDS,
  END,
  ANY as ESDB_ANY,
  NO_STREAM as ESDB_NO_STREAM,
  STREAM_EXISTS as ESDB_STREAM_EXISTS,
  EventStoreDBClient,
  excludeSystemEvents,
  FORWARDS,
  type JSONType,
  jsonEvent,
  type ResolvedEvent,
  START,
  StreamNotFoundError,
  WrongExpectedVersionError,
} from "@eventstore/db-client";
import type { Logger } from "pino";
import {
  ANY,
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
  type ReadAllOptions,
  type ReadStreamOptions,
  type RecordedEvent,
  type Snapshot,
  type SnapshotStore,
  STREAM_EXISTS,
  WrongExpectedRevisionError,
} from "./event-store.ts";

export interface EventStoreDbEventStoreOptions {
  /** e.g. `esdb://localhost:2113?tls=false`; ignored when `client` is given. */
  connectionString?: string;
  client?: EventStoreDBClient;
  snapshotStreamPrefix?: string;
  checkpointStreamPrefix?: string;
  logger?: Logger;
}

const ORIGINAL_ID_KEY = "stocklineEventId";
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// Namespace of the name-based ids (a fixed random UUID, part of the stored format: never change it).
const ID_NAMESPACE_HEX = "5b0e7c3e8f4a4d6c9a1e2f3b4c5d6e7f";

/** Deterministic UUID (RFC 4122 v5 layout) for a non-UUID event id. */
export const eventIdToUuid = (eventId: string): string => {
  if (UUID.test(eventId)) return eventId.toLowerCase();
  const hash = createHash("sha1").update(ID_NAMESPACE_HEX, "hex").update(eventId, "utf8").digest();
  hash[6] = ((hash[6] ?? 0) & 0x0f) | 0x50;
  hash[8] = ((hash[8] ?? 0) & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
};

const toEsdbExpected = (expected: ExpectedRevision): AppendExpectedRevision => {
  if (expected === ANY) return ESDB_ANY;
  if (expected === NO_STREAM || expected === -1) return ESDB_NO_STREAM;
  if (expected === STREAM_EXISTS) return ESDB_STREAM_EXISTS;
  return BigInt(expected);
};

type EsdbRecorded = NonNullable<ResolvedEvent["event"]>;

export class EventStoreDbEventStore<Data = unknown, State = unknown>
  implements EventStore<Data>, SnapshotStore<State>, CheckpointStore
{
  private readonly client: EventStoreDBClient;
  private readonly ownsClient: boolean;
  private readonly snapshotPrefix: string;
  private readonly checkpointPrefix: string;
  private readonly logger: Logger | undefined;
  private readonly listeners = new Set<(lastGlobalPosition: number) => void>();
  private subscription: AllStreamSubscription | undefined;
  private resubscribeTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(options: EventStoreDbEventStoreOptions) {
    if (options.client) {
      this.client = options.client;
      this.ownsClient = false;
    } else {
      if (!options.connectionString)
        throw new TypeError("connectionString: expected an esdb:// URL, got nothing");
      this.client = EventStoreDBClient.connectionString(options.connectionString);
      this.ownsClient = true;
    }
    this.snapshotPrefix = options.snapshotStreamPrefix ?? "snapshot-";
    this.checkpointPrefix = options.checkpointStreamPrefix ?? "checkpoint-";
    this.logger = options.logger;
  }

  async appendToStream(
    streamId: string,
    events: readonly NewEvent<Data>[],
    options: AppendOptions,
  ): Promise<AppendResult> {
    const expected = options.expectedRevision;
    if (events.length === 0) {
      const head = await this.head(streamId);
      const actual = head?.revision ?? null;
      if (!matchesExpectedRevision(expected, actual)) {
        throw new WrongExpectedRevisionError(streamId, expected, actual ?? NO_STREAM);
      }
      return { nextExpectedRevision: actual ?? -1, lastGlobalPosition: head?.globalPosition ?? 0 };
    }
    const data = events.map((event) =>
      jsonEvent({
        id: eventIdToUuid(event.eventId),
        type: event.type,
        data: event.data as JSONType,
        metadata: { ...(event.metadata ?? {}), [ORIGINAL_ID_KEY]: event.eventId },
      }),
    );
    try {
      const result = await this.client.appendToStream(streamId, data, {
        expectedRevision: toEsdbExpected(expected),
      });
      const nextExpectedRevision = Number(result.nextExpectedRevision);
      const lastGlobalPosition =
        result.position !== undefined
          ? Number(result.position.commit)
          : ((await this.head(streamId))?.globalPosition ?? 0);
      this.notify(lastGlobalPosition);
      return { nextExpectedRevision, lastGlobalPosition };
    } catch (error) {
      if (error instanceof WrongExpectedVersionError) {
        const actual = error.actualVersion === ESDB_NO_STREAM ? NO_STREAM : Number(error.actualVersion);
        throw new WrongExpectedRevisionError(streamId, expected, actual);
      }
      throw error;
    }
  }

  async appendMany(batch: readonly AppendBatchItem<Data>[]): Promise<AppendBatchOutcome[]> {
    return Promise.all(
      batch.map(async (item): Promise<AppendBatchOutcome> => {
        try {
          const result = await this.appendToStream(item.streamId, item.events, {
            expectedRevision: item.expectedRevision,
          });
          return { ok: true, ...result };
        } catch (error) {
          if (error instanceof WrongExpectedRevisionError) return { ok: false, error };
          throw error;
        }
      }),
    );
  }

  async readStream(streamId: string, options: ReadStreamOptions = {}): Promise<RecordedEvent<Data>[]> {
    const backwards = options.direction === "backwards";
    if (options.maxCount === 0) return [];
    const events: RecordedEvent<Data>[] = [];
    try {
      const read = this.client.readStream(streamId, {
        direction: backwards ? BACKWARDS : FORWARDS,
        fromRevision: options.from !== undefined ? BigInt(options.from) : backwards ? END : START,
        ...(options.maxCount !== undefined ? { maxCount: options.maxCount } : {}),
      });
      for await (const resolved of read) {
        const event = resolved.event ? this.toRecorded(resolved.event) : null;
        if (event) events.push(event);
      }
    } catch (error) {
      if (error instanceof StreamNotFoundError) return [];
      throw error;
    }
    return events;
  }

  async streamRevision(streamId: string): Promise<number | null> {
    return (await this.head(streamId))?.revision ?? null;
  }

  async readAll(options: ReadAllOptions): Promise<RecordedEvent<Data>[]> {
    const events: RecordedEvent<Data>[] = [];
    let from = options.fromPosition;
    const pageSize = Math.max(options.maxCount + 1, 64);
    while (events.length < options.maxCount) {
      const read = this.client.readAll({
        fromPosition: from === 0 ? START : { commit: BigInt(from), prepare: BigInt(from) },
        maxCount: pageSize,
      });
      let seen = 0;
      let lastPosition = from;
      for await (const resolved of read as AsyncIterable<AllStreamResolvedEvent>) {
        seen += 1;
        const raw = resolved.event;
        if (!raw) continue;
        const position = Number(raw.position.commit);
        if (position <= from) continue; // the read is inclusive of `from`
        lastPosition = position;
        if (!this.isOwnStream(raw.streamId)) continue;
        const event = this.toRecorded(raw);
        if (event && events.length < options.maxCount) events.push(event);
      }
      if (seen < pageSize || lastPosition === from) break;
      from = lastPosition;
    }
    return events;
  }

  onAppended(listener: (lastGlobalPosition: number) => void): () => void {
    this.listeners.add(listener);
    if (this.listeners.size === 1) this.subscribe();
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) this.unsubscribe();
    };
  }

  async listStreams(options: ListStreamsOptions = {}): Promise<string[]> {
    const prefix = options.prefix ?? "";
    const streams = new Set<string>();
    const read = this.client.readAll({ fromPosition: START });
    for await (const resolved of read as AsyncIterable<AllStreamResolvedEvent>) {
      const streamId = resolved.event?.streamId;
      if (streamId?.startsWith(prefix) && this.isOwnStream(streamId)) streams.add(streamId);
    }
    return [...streams].sort();
  }

  async saveSnapshot(streamId: string, snapshot: Snapshot<State>): Promise<void> {
    const name = `${this.snapshotPrefix}${streamId}`;
    const current = await this.loadSnapshot(streamId);
    // Like the SQLite adapter: an older snapshot of the same version never replaces a newer one.
    if (current && current.version === snapshot.version && current.revision > snapshot.revision) return;
    await this.appendSingleton(name, "Snapshot", {
      revision: snapshot.revision,
      version: snapshot.version,
      state: snapshot.state,
    });
  }

  async loadSnapshot(streamId: string): Promise<Snapshot<State> | null> {
    const data = await this.readSingleton(`${this.snapshotPrefix}${streamId}`);
    return data === null ? null : (data as Snapshot<State>);
  }

  async getCheckpoint(name: string): Promise<number | null> {
    const data = await this.readSingleton(`${this.checkpointPrefix}${name}`);
    return data === null ? null : (data as { position: number }).position;
  }

  async saveCheckpoint(name: string, position: number): Promise<void> {
    await this.appendSingleton(`${this.checkpointPrefix}${name}`, "Checkpoint", { position });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.listeners.clear();
    this.unsubscribe();
    if (this.ownsClient) await this.client.dispose();
  }

  private isOwnStream(streamId: string): boolean {
    return (
      !streamId.startsWith("$") &&
      !streamId.startsWith(this.snapshotPrefix) &&
      !streamId.startsWith(this.checkpointPrefix)
    );
  }

  private toRecorded(raw: EsdbRecorded): RecordedEvent<Data> | null {
    if (!raw.isJson) {
      this.logger?.warn(
        { streamId: raw.streamId, revision: String(raw.revision) },
        "skipping a non-JSON event",
      );
      return null;
    }
    const stored = (raw.metadata ?? {}) as Record<string, unknown>;
    const { [ORIGINAL_ID_KEY]: originalId, ...metadata } = stored;
    const event: RecordedEvent<Data> = {
      eventId: typeof originalId === "string" ? originalId : raw.id,
      type: raw.type,
      data: raw.data as Data,
      streamId: raw.streamId,
      revision: Number(raw.revision),
      globalPosition: raw.position ? Number(raw.position.commit) : 0,
      recordedTime: raw.created.toISOString(),
    };
    if (Object.keys(metadata).length > 0) event.metadata = metadata;
    return event;
  }

  /** The last event of a stream; null when the stream does not exist or is empty. */
  private async lastEvent(stream: string): Promise<NonNullable<ResolvedEvent["event"]> | null> {
    try {
      for await (const resolved of this.client.readStream(stream, {
        direction: BACKWARDS,
        fromRevision: END,
        maxCount: 1,
      })) {
        if (resolved.event) return resolved.event;
      }
      return null;
    } catch (error) {
      if (error instanceof StreamNotFoundError) return null;
      throw error;
    }
  }

  private async head(streamId: string): Promise<{ revision: number; globalPosition: number } | null> {
    const last = await this.lastEvent(streamId);
    if (!last) return null;
    return {
      revision: Number(last.revision),
      globalPosition: last.position ? Number(last.position.commit) : 0,
    };
  }

  private async appendSingleton(stream: string, type: string, data: JSONType): Promise<void> {
    const result = await this.client.appendToStream(stream, jsonEvent({ type, data }), {
      expectedRevision: ESDB_ANY,
    });
    // The first event of the stream: keep only the latest one from now on.
    if (result.nextExpectedRevision === 0n) await this.client.setStreamMetadata(stream, { maxCount: 1 });
  }

  private async readSingleton(stream: string): Promise<unknown> {
    const last = await this.lastEvent(stream);
    return last?.isJson ? last.data : null;
  }

  private notify(lastGlobalPosition: number): void {
    for (const listener of this.listeners) {
      queueMicrotask(() => {
        try {
          listener(lastGlobalPosition);
        } catch (error) {
          this.logger?.error({ err: error }, "event-store onAppended listener threw");
        }
      });
    }
  }

  private subscribe(): void {
    if (this.closed || this.subscription) return;
    const subscription = this.client.subscribeToAll({ fromPosition: END, filter: excludeSystemEvents() });
    this.subscription = subscription;
    subscription.on("data", (resolved: AllStreamResolvedEvent) => {
      const raw = resolved.event;
      if (raw && this.isOwnStream(raw.streamId)) this.notify(Number(raw.position.commit));
    });
    subscription.on("error", (error: unknown) => {
      this.logger?.warn({ err: error }, "$all subscription for onAppended failed; retrying in 1 s");
      this.subscription = undefined;
      if (this.listeners.size > 0 && !this.closed) {
        this.resubscribeTimer = setTimeout(() => this.subscribe(), 1000);
        this.resubscribeTimer.unref();
      }
    });
  }

  private unsubscribe(): void {
    if (this.resubscribeTimer) clearTimeout(this.resubscribeTimer);
    this.resubscribeTimer = undefined;
    const subscription = this.subscription;
    this.subscription = undefined;
    subscription?.unsubscribe().catch((error: unknown) => {
      this.logger?.debug({ err: error }, "unsubscribe from $all failed");
    });
  }
}

export const openEventStoreDbEventStore = <Data = unknown, State = unknown>(
  options: EventStoreDbEventStoreOptions,
): EventStoreDbEventStore<Data, State> => new EventStoreDbEventStore<Data, State>(options);
