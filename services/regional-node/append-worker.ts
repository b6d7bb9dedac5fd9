/**
 * Worker thread of `WorkerAppendStore`: the node's only writer of the event store. It opens its own
 * connection to the SQLite file and runs each group commit (`appendManySync`: one IMMEDIATE
 * transaction, one fsync with synchronous=FULL) here, so the main thread's event loop keeps deciding
 * commands while the disk syncs. The main thread keeps its own connection for reads (WAL lets readers
 * and one writer work at once).
 *
 * Messages in: `{ id, items }`, the batch already serialised by the main thread (`serialiseBatch`:
 * strings clone far cheaper than event objects, and the relay reuses them). Out: `{ id, outcomes }`
 * with conflicts as plain data (a class instance does not survive the structured clone), or
 * `{ id, error }`.
 */
import { parentPort, workerData } from "node:worker_threads";
import {
  openSqliteEventStore,
  type SerialisedItem,
  type SqliteSynchronous,
} from "../../infra/event-store/sqlite-event-store.ts";

export type WireOutcome =
  | { readonly ok: true; readonly nextExpectedRevision: number; readonly lastGlobalPosition: number }
  | {
      readonly ok: false;
      readonly streamId: string;
      readonly expected: unknown;
      readonly actual: unknown;
      readonly message: string;
    };

const { path, synchronous } = workerData as { path: string; synchronous: SqliteSynchronous };
const store = openSqliteEventStore({ path, synchronous });
const port = parentPort;
if (!port) throw new Error("append-worker.ts runs as a worker thread");

port.on("message", (m: { id: number; items?: readonly SerialisedItem[]; close?: true }) => {
  if (m.close) {
    void store.close().then(() => port.postMessage({ id: m.id, closed: true }));
    return;
  }
  try {
    const outcomes: WireOutcome[] = store.appendSerialisedSync(m.items ?? []).map((o) => {
      if (o.ok) return o;
      const e = o.error as Error & { streamId?: string; expected?: unknown; actual?: unknown };
      return {
        ok: false,
        streamId: e.streamId ?? "",
        expected: e.expected,
        actual: e.actual,
        message: e.message,
      };
    });
    port.postMessage({ id: m.id, outcomes });
  } catch (err) {
    port.postMessage({ id: m.id, error: err instanceof Error ? err.message : String(err) });
  }
});
port.postMessage({ id: 0, ready: true });
