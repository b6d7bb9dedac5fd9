/**
 * The node's own SQLite database (`<dataDir>/node.db`), next to the event store: parked commands
 * (held durably until their sequence gap fills), position snapshots, and checkpoints (relay, transfer
 * process). It is not the ledger; it is what lets a node restart where it stopped.
 *
 * Snapshots are a cache (losing one costs a replay), so they are written in batches, one transaction
 * per group commit. Parked commands are written before the command's message is acknowledged.
 *
 * Snapshots and periodic checkpoints are written with `synchronous = NORMAL` (no fsync of their own;
 * the next FULL commit of this file, or a WAL checkpoint, syncs them): they run on the event loop,
 * where each fsync stalled every command (measured: ~6% of the node's main thread at saturation).
 * A process crash loses nothing; a power loss can only bring back an older snapshot (replay) or an
 * older checkpoint (the relay republishes, deduplicated by Nats-Msg-Id; transfers re-derive
 * duplicates by their deterministic key), never one that is ahead of the event store.
 */
import Database from "better-sqlite3";
import type { CheckpointStore, Snapshot, SnapshotStore } from "../../infra/event-store/event-store.ts";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS parked (
  stream_id       TEXT    NOT NULL,
  system          TEXT    NOT NULL,
  sequence        INTEGER NOT NULL,
  idempotency_key TEXT    NOT NULL,
  command         TEXT    NOT NULL,
  parked_at       INTEGER NOT NULL,
  deadline        INTEGER NOT NULL,
  PRIMARY KEY (stream_id, system, sequence, idempotency_key)
);
CREATE INDEX IF NOT EXISTS parked_deadline ON parked (deadline);
CREATE TABLE IF NOT EXISTS snapshots (
  stream_id  TEXT    PRIMARY KEY,
  revision   INTEGER NOT NULL,
  version    TEXT    NOT NULL,
  state      TEXT    NOT NULL
);
CREATE TABLE IF NOT EXISTS checkpoints (
  name     TEXT    PRIMARY KEY,
  position INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS transfer_outbox (
  idempotency_key TEXT    PRIMARY KEY,
  destination     TEXT    NOT NULL,
  command         TEXT    NOT NULL,
  global_position INTEGER NOT NULL,
  created_at      INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS transfer_outbox_destination ON transfer_outbox (destination, global_position);
CREATE TABLE IF NOT EXISTS relay_skipped (
  global_position INTEGER PRIMARY KEY,
  stream_id       TEXT    NOT NULL,
  revision        INTEGER NOT NULL,
  reason          TEXT    NOT NULL,
  skipped_at      INTEGER NOT NULL
);
`;

/** A derived command waiting to be delivered to its destination region (see transfer-outbox.ts). */
export interface OutboxRow {
  readonly idempotencyKey: string;
  readonly destination: string;
  /** The command as JSON. */
  readonly command: string;
  /** Global position of the event it was derived from. */
  readonly globalPosition: number;
  readonly createdAt: number;
}

/** An event the relay could not publish and dead-lettered instead (see relay.ts). */
export interface SkippedEventRow {
  readonly globalPosition: number;
  readonly streamId: string;
  readonly revision: number;
  readonly reason: string;
  readonly skippedAt: number;
}

export interface OutboxDepth {
  readonly destination: string;
  readonly depth: number;
  readonly oldestCreatedAt: number;
}

export interface ParkedRow {
  readonly streamId: string;
  readonly system: string;
  readonly sequence: number;
  readonly idempotencyKey: string;
  readonly command: string;
  readonly parkedAt: number;
  readonly deadline: number;
}

interface ParkedDbRow {
  stream_id: string;
  system: string;
  sequence: number;
  idempotency_key: string;
  command: string;
  parked_at: number;
  deadline: number;
}

const toParked = (r: ParkedDbRow): ParkedRow => ({
  streamId: r.stream_id,
  system: r.system,
  sequence: r.sequence,
  idempotencyKey: r.idempotency_key,
  command: r.command,
  parkedAt: r.parked_at,
  deadline: r.deadline,
});

export class NodeDb implements SnapshotStore<unknown>, CheckpointStore {
  private readonly db: Database.Database;
  private readonly stmt;
  private readonly saveSnapshotsTx;
  private readonly parkTx;
  private readonly checkpointsTx;
  private readonly enqueueTx;

  constructor(file: string) {
    this.db = new Database(file);
    this.db.pragma("journal_mode = WAL");
    this.db.pragma("synchronous = FULL");
    this.db.pragma("busy_timeout = 5000");
    this.db.exec(SCHEMA);
    const db = this.db;
    this.stmt = {
      park: db.prepare<[string, string, number, string, string, number, number]>(
        "INSERT OR IGNORE INTO parked (stream_id, system, sequence, idempotency_key, command, parked_at, deadline) VALUES (?, ?, ?, ?, ?, ?, ?)",
      ),
      unpark: db.prepare<[string, string, number, string]>(
        "DELETE FROM parked WHERE stream_id = ? AND system = ? AND sequence = ? AND idempotency_key = ?",
      ),
      parkedAt: db.prepare<[string, string, number], ParkedDbRow>(
        "SELECT * FROM parked WHERE stream_id = ? AND system = ? AND sequence = ?",
      ),
      parkedOf: db.prepare<[string], ParkedDbRow>(
        "SELECT * FROM parked WHERE stream_id = ? ORDER BY sequence",
      ),
      expired: db.prepare<[number, number], ParkedDbRow>(
        "SELECT * FROM parked WHERE deadline <= ? ORDER BY deadline LIMIT ?",
      ),
      parkedCount: db.prepare<[], { n: number }>("SELECT COUNT(*) AS n FROM parked"),
      saveSnapshot: db.prepare<[string, number, string, string]>(
        `INSERT INTO snapshots (stream_id, revision, version, state) VALUES (?, ?, ?, ?)
         ON CONFLICT (stream_id) DO UPDATE SET revision = excluded.revision, version = excluded.version, state = excluded.state
         WHERE excluded.version <> snapshots.version OR excluded.revision >= snapshots.revision`,
      ),
      loadSnapshot: db.prepare<[string], { revision: number; version: string; state: string }>(
        "SELECT revision, version, state FROM snapshots WHERE stream_id = ?",
      ),
      getCheckpoint: db.prepare<[string], { position: number }>(
        "SELECT position FROM checkpoints WHERE name = ?",
      ),
      saveCheckpoint: db.prepare<[string, number]>(
        "INSERT INTO checkpoints (name, position) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET position = excluded.position",
      ),
      enqueue: db.prepare<[string, string, string, number, number]>(
        "INSERT OR IGNORE INTO transfer_outbox (idempotency_key, destination, command, global_position, created_at) VALUES (?, ?, ?, ?, ?)",
      ),
      outboxOf: db.prepare<
        [string, number],
        {
          idempotency_key: string;
          destination: string;
          command: string;
          global_position: number;
          created_at: number;
        }
      >("SELECT * FROM transfer_outbox WHERE destination = ? ORDER BY global_position LIMIT ?"),
      outboxDone: db.prepare<[string]>("DELETE FROM transfer_outbox WHERE idempotency_key = ?"),
      outboxDepths: db.prepare<[], { destination: string; depth: number; oldest: number }>(
        "SELECT destination, COUNT(*) AS depth, MIN(created_at) AS oldest FROM transfer_outbox GROUP BY destination",
      ),
      skip: db.prepare<[number, string, number, string, number]>(
        "INSERT OR IGNORE INTO relay_skipped (global_position, stream_id, revision, reason, skipped_at) VALUES (?, ?, ?, ?, ?)",
      ),
      skipped: db.prepare<
        [],
        { global_position: number; stream_id: string; revision: number; reason: string; skipped_at: number }
      >("SELECT * FROM relay_skipped ORDER BY global_position"),
    };
    this.parkTx = db.transaction((parks: readonly ParkedRow[], unparks: readonly ParkedRow[]) => {
      const added = parks.map((row) => this.park(row));
      for (const row of unparks)
        this.stmt.unpark.run(row.streamId, row.system, row.sequence, row.idempotencyKey);
      return added;
    });
    this.checkpointsTx = db.transaction((items: ReadonlyArray<readonly [string, number]>) => {
      for (const [name, position] of items) this.stmt.saveCheckpoint.run(name, position);
    });
    this.enqueueTx = db.transaction((rows: readonly OutboxRow[], checkpoint: readonly [string, number]) => {
      for (const r of rows)
        this.stmt.enqueue.run(r.idempotencyKey, r.destination, r.command, r.globalPosition, r.createdAt);
      this.stmt.saveCheckpoint.run(checkpoint[0], checkpoint[1]);
    });
    this.saveSnapshotsTx = db.transaction(
      (items: readonly { streamId: string; snapshot: Snapshot<unknown> }[]) => {
        for (const { streamId, snapshot } of items) {
          this.stmt.saveSnapshot.run(
            streamId,
            snapshot.revision,
            JSON.stringify(snapshot.version),
            JSON.stringify(snapshot.state),
          );
        }
      },
    );
  }

  /** Holds a command; true when it was not held already. */
  park(row: ParkedRow): boolean {
    return (
      this.stmt.park.run(
        row.streamId,
        row.system,
        row.sequence,
        row.idempotencyKey,
        row.command,
        row.parkedAt,
        row.deadline,
      ).changes > 0
    );
  }

  /** Parks and unparks in one transaction (one fsync); returns, per park, whether it was new. */
  parkMany(parks: readonly ParkedRow[], unparks: readonly ParkedRow[]): boolean[] {
    return this.parkTx(parks, unparks);
  }

  /** `relaxed`: without an fsync of its own (see the header); a stop saves durably. */
  saveCheckpoints(items: ReadonlyArray<readonly [string, number]>, opts: { relaxed?: boolean } = {}): void {
    if (opts.relaxed) this.relaxed(() => this.checkpointsTx(items));
    else this.checkpointsTx(items);
  }

  private relaxed(write: () => void): void {
    this.db.pragma("synchronous = NORMAL");
    try {
      write();
    } finally {
      this.db.pragma("synchronous = FULL");
    }
  }

  /**
   * Writes derived commands to the outbox and moves the checkpoint of what they were derived from, in
   * one transaction: after a crash either both are there or the relay derives them again. Relaxed like
   * the other checkpoints (a power loss can only bring back an older checkpoint with it).
   */
  enqueueOutbox(rows: readonly OutboxRow[], checkpoint: readonly [string, number]): void {
    this.relaxed(() => this.enqueueTx(rows, checkpoint));
  }

  /** The oldest waiting commands for one destination, in the order of the events they came from. */
  outboxOf(destination: string, limit: number): OutboxRow[] {
    return this.stmt.outboxOf.all(destination, limit).map((r) => ({
      idempotencyKey: r.idempotency_key,
      destination: r.destination,
      command: r.command,
      globalPosition: r.global_position,
      createdAt: r.created_at,
    }));
  }

  /** Removes a delivered (or dead-lettered) command from the outbox. */
  outboxDone(idempotencyKey: string): void {
    this.stmt.outboxDone.run(idempotencyKey);
  }

  outboxDepths(): OutboxDepth[] {
    return this.stmt.outboxDepths
      .all()
      .map((r) => ({ destination: r.destination, depth: r.depth, oldestCreatedAt: r.oldest }));
  }

  /** Records an event the relay dead-lettered instead of publishing (durable: the checkpoint passes it). */
  recordSkipped(row: SkippedEventRow): void {
    this.stmt.skip.run(row.globalPosition, row.streamId, row.revision, row.reason, row.skippedAt);
  }

  skippedEvents(): SkippedEventRow[] {
    return this.stmt.skipped.all().map((r) => ({
      globalPosition: r.global_position,
      streamId: r.stream_id,
      revision: r.revision,
      reason: r.reason,
      skippedAt: r.skipped_at,
    }));
  }

  unpark(row: Pick<ParkedRow, "streamId" | "system" | "sequence" | "idempotencyKey">): void {
    this.stmt.unpark.run(row.streamId, row.system, row.sequence, row.idempotencyKey);
  }

  parkedAt(streamId: string, system: string, sequence: number): ParkedRow[] {
    return this.stmt.parkedAt.all(streamId, system, sequence).map(toParked);
  }

  parkedOf(streamId: string): ParkedRow[] {
    return this.stmt.parkedOf.all(streamId).map(toParked);
  }

  expiredParked(now: number, limit = 100): ParkedRow[] {
    return this.stmt.expired.all(now, limit).map(toParked);
  }

  parkedCount(): number {
    return this.stmt.parkedCount.get()?.n ?? 0;
  }

  /** Without an fsync of its own: a snapshot is a cache (see the header). */
  saveSnapshots(items: readonly { streamId: string; snapshot: Snapshot<unknown> }[]): void {
    if (items.length > 0) this.relaxed(() => this.saveSnapshotsTx(items));
  }

  async saveSnapshot(streamId: string, snapshot: Snapshot<unknown>): Promise<void> {
    this.saveSnapshots([{ streamId, snapshot }]);
  }

  loadSnapshotSync(streamId: string): Snapshot<unknown> | null {
    const row = this.stmt.loadSnapshot.get(streamId);
    if (!row) return null;
    return {
      revision: row.revision,
      version: JSON.parse(row.version) as string | number,
      state: JSON.parse(row.state),
    };
  }

  async loadSnapshot(streamId: string): Promise<Snapshot<unknown> | null> {
    return this.loadSnapshotSync(streamId);
  }

  getCheckpointSync(name: string): number | null {
    return this.stmt.getCheckpoint.get(name)?.position ?? null;
  }

  async getCheckpoint(name: string): Promise<number | null> {
    return this.getCheckpointSync(name);
  }

  saveCheckpointSync(name: string, position: number): void {
    this.stmt.saveCheckpoint.run(name, position);
  }

  async saveCheckpoint(name: string, position: number): Promise<void> {
    this.saveCheckpointSync(name, position);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
