/**
 * Worker thread of `WorkerAppendStore`: the node's only writer of the event store. It opens its own
 * connection to the SQLite file and runs each group commit (`appendManySync`: one IMMEDIATE
 * transaction, one fsync with synchronous=FULL) here, so the main thread's event loop keeps deciding
 * commands while the disk syncs. The main thread keeps its own connection for reads (WAL lets readers
 * and one writer work at once).
 *
 * Messages in: `{ id, items }`, the batch already serialised by the main thread (`serialiseBatch`:
 * strings clone far cheaper than event objects, and the relay reuses them), except unlinked canonical
 * events (`UnlinkedWireItem`): those are linked into their stream's hash chain and serialised here,
 * which costs the main thread less than serialising them itself (issue 13). Out: `{ id, outcomes }`
 * with conflicts as plain data (a class instance does not survive the structured clone) and the
 * hashes and texts of linked items, or `{ id, error }`.
 */
import { parentPort, workerData } from "node:worker_threads";
import { type CanonicalEvent, linkEvents } from "../../domain/canonical-event.ts";
import type { ExpectedRevision } from "../../infra/event-store/event-store.ts";
import {
  openSqliteEventStore,
  type SerialisedItem,
  type SqliteSynchronous,
  serialiseItem,
} from "../../infra/event-store/sqlite-event-store.ts";

/**
 * An item of unlinked canonical events, to be chained after `linkFrom` here. Only the events go (an
 * event's id and type are its own): each object less is cloned cheaper.
 */
export interface UnlinkedWireItem {
  readonly streamId: string;
  readonly expectedRevision: ExpectedRevision;
  readonly linkFrom: string;
  readonly events: readonly CanonicalEvent[];
}

export type WireItem = SerialisedItem | UnlinkedWireItem;

export type WireOutcome =
  | {
      readonly ok: true;
      readonly nextExpectedRevision: number;
      readonly lastGlobalPosition: number;
      /** For an `UnlinkedWireItem`: its events' hashes and stored texts, in order. */
      readonly linked?: { readonly hashes: readonly string[]; readonly texts: readonly string[] };
    }
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

/**
 * Links and serialises an item sent unlinked (before the transaction: the chain needs no lock). The
 * events are structured clones of the main thread's, so their hashes and texts are the same.
 */
const linked = (item: WireItem): { item: SerialisedItem; linked?: { hashes: string[]; texts: string[] } } => {
  if (!("linkFrom" in item)) return { item };
  linkEvents(item.linkFrom, item.events);
  const serialised = serialiseItem({
    streamId: item.streamId,
    expectedRevision: item.expectedRevision,
    events: item.events.map((e) => ({ eventId: e.eventId, type: e.type, data: e })),
  });
  return {
    item: serialised,
    linked: { hashes: item.events.map((e) => e.hash), texts: serialised.events.map((e) => e.data) },
  };
};

port.on("message", (m: { id: number; items?: readonly WireItem[]; close?: true }) => {
  if (m.close) {
    void store.close().then(() => port.postMessage({ id: m.id, closed: true }));
    return;
  }
  try {
    const items = (m.items ?? []).map(linked);
    const outcomes: WireOutcome[] = store.appendSerialisedSync(items.map((l) => l.item)).map((o, i) => {
      const link = items[i]?.linked;
      if (o.ok) return link ? { ...o, linked: link } : o;
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
