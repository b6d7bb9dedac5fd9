/**
 * Append throughput of the SQLite event store through the port, as the regional node uses it:
 * `appendMany` batches of one event per stream, with real expected revisions. Run directly for a
 * comparison table against raw SQLite:
 *   npx tsx infra/event-store/append-throughput.ts [events] [payloadBytes]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { type ExpectedRevision, NO_STREAM } from "./event-store.ts";
import { measureRawSqliteAppend, type ThroughputResult, throughputSince } from "./raw-sqlite-baseline.ts";
import { openSqliteEventStore, type SqliteSynchronous } from "./sqlite-event-store.ts";

export interface EventStoreAppendOptions {
  path: string;
  events: number;
  /** Streams appended per `appendMany` call (one event each); 1 = one transaction per event. */
  batchSize: number;
  payloadBytes: number;
  /** Distinct streams the events rotate over. */
  streams?: number;
  synchronous?: SqliteSynchronous;
}

export const measureSqliteEventStoreAppend = async (
  options: EventStoreAppendOptions,
): Promise<ThroughputResult> => {
  if (!(options.batchSize >= 1 && options.events >= 1))
    throw new RangeError("events and batchSize must be >= 1");
  const streams = options.streams ?? 1000;
  const store = openSqliteEventStore({ path: options.path, synchronous: options.synchronous ?? "FULL" });
  try {
    const revisions: ExpectedRevision[] = Array.from({ length: streams }, () => NO_STREAM);
    const payload = "x".repeat(options.payloadBytes);
    let transactions = 0;
    const started = performance.now();
    for (let from = 0; from < options.events; from += options.batchSize) {
      const to = Math.min(options.events, from + options.batchSize);
      const batch = [];
      for (let i = from; i < to; i++) {
        const s = i % streams;
        batch.push({
          streamId: `position-bench.${s}`,
          expectedRevision: revisions[s] ?? NO_STREAM,
          events: [{ eventId: `e-${i}`, type: "Bench", data: { payload } }],
        });
      }
      const outcomes = await store.appendMany(batch);
      outcomes.forEach((outcome, k) => {
        if (!outcome.ok) throw outcome.error;
        revisions[(from + k) % streams] = outcome.nextExpectedRevision;
      });
      transactions += 1;
    }
    return throughputSince(started, options.events, transactions);
  } finally {
    await store.close();
  }
};

const main = async (): Promise<void> => {
  const events = Number(process.argv[2] ?? 20000);
  const payloadBytes = Number(process.argv[3] ?? 512);
  const dir = mkdtempSync(join(tmpdir(), "stockline-append-"));
  try {
    const rows: Record<string, string | number>[] = [];
    let run = 0;
    for (const synchronous of ["FULL", "NORMAL"] as const) {
      for (const batchSize of [1, 10, 100, 1000]) {
        // Single-row commits are slow under FULL: measure fewer of them.
        const n = batchSize === 1 ? Math.min(events, 2000) : events;
        const args = { events: n, batchSize, payloadBytes, synchronous };
        const raw = await measureRawSqliteAppend({ ...args, path: join(dir, `raw-${run}.db`) });
        const port = await measureSqliteEventStoreAppend({ ...args, path: join(dir, `port-${run}.db`) });
        run += 1;
        rows.push({
          synchronous,
          batchSize,
          events: n,
          raw_per_s: raw.perSecond,
          port_per_s: port.perSecond,
          port_vs_raw: Number((port.perSecond / raw.perSecond).toFixed(2)),
        });
      }
    }
    console.table(rows);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  await main();
}
