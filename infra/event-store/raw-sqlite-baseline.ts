/**
 * Raw better-sqlite3 append baseline for the benchmark: batched INSERTs into a plain table with the
 * event store's pragmas (WAL, synchronous), without the port (no revision checks, no unique index,
 * no JSON of a real event). What the adapter costs on top of SQLite is the difference to this.
 */
import Database from "better-sqlite3";
import type { SqliteSynchronous } from "./sqlite-event-store.ts";

export interface RawSqliteAppendOptions {
  /** Database file; the table `raw_append_baseline` in it is dropped and recreated. */
  path: string;
  events: number;
  /** Rows per transaction (1 = one commit, one fsync under FULL, per row). */
  batchSize: number;
  /** Size of the payload column of each row. */
  payloadBytes: number;
  synchronous?: SqliteSynchronous;
}

export interface ThroughputResult {
  perSecond: number;
  events: number;
  transactions: number;
  elapsedMs: number;
}

/** The result of `events` appended in `transactions` since `startedMs` (`performance.now()`). */
export const throughputSince = (
  startedMs: number,
  events: number,
  transactions: number,
): ThroughputResult => {
  const elapsedMs = performance.now() - startedMs;
  return { perSecond: Math.round((events * 1000) / elapsedMs), events, transactions, elapsedMs };
};

export const measureRawSqliteAppend = async (options: RawSqliteAppendOptions): Promise<ThroughputResult> => {
  if (!(options.batchSize >= 1 && options.events >= 1))
    throw new RangeError("events and batchSize must be >= 1");
  const db = new Database(options.path);
  try {
    db.pragma("journal_mode = WAL");
    db.pragma(`synchronous = ${options.synchronous ?? "FULL"}`);
    db.exec(
      "DROP TABLE IF EXISTS raw_append_baseline; CREATE TABLE raw_append_baseline (id INTEGER PRIMARY KEY, stream_id TEXT NOT NULL, revision INTEGER NOT NULL, data TEXT NOT NULL)",
    );
    const insert = db.prepare<[string, number, string]>(
      "INSERT INTO raw_append_baseline (stream_id, revision, data) VALUES (?, ?, ?)",
    );
    const payload = "x".repeat(options.payloadBytes);
    const insertBatch = db.transaction((from: number, to: number) => {
      for (let i = from; i < to; i++) insert.run(`stream-${i % 1000}`, i, payload);
    });
    let transactions = 0;
    const started = performance.now();
    for (let from = 0; from < options.events; from += options.batchSize) {
      insertBatch(from, Math.min(options.events, from + options.batchSize));
      transactions += 1;
    }
    return throughputSince(started, options.events, transactions);
  } finally {
    db.close();
  }
};
