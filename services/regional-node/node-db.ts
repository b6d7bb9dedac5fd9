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
`;

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
