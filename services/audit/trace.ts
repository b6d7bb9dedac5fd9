/**
 * Lineage by correlation id (issue 5, "Audit and lineage"): the source documents, every event the
 * correlation caused in every region's store (a transfer's shipment at the origin and the inbound
 * derived from it at the destination, linked by causationId), and the postings of those events to
 * target systems with their acknowledgements.
 *
 * Finding the events: a store with `readByCorrelationId` (the SQLite adapter: an index on
 * `data.correlationId`) answers in one index seek. Any other store is scanned through `readAll`,
 * which reads the whole global log: O(events in the store), fine for a test or a small store, not
 * for a production region (give such a store a correlation index, e.g. ESDB's `$bc-` projection).
 */
import type { EventStore, RecordedEvent } from "../../infra/event-store/event-store.ts";

/** A posting of one event to one target, as the postings ledger records it (structural subset). */
export interface PostingRecord {
  readonly eventId: string;
  readonly target: string;
  readonly status: string;
  readonly targetDocument: string | null;
  readonly attempts: number;
  readonly ackedAt?: string | null;
  readonly lastError?: string | null;
}

/**
 * Postings of the given events. `correlationId` is passed too so a ledger can use its own
 * correlation index instead of a lookup per event.
 */
export type PostingsFor = (
  eventIds: readonly string[],
  correlationId: string,
) => Promise<readonly PostingRecord[]> | readonly PostingRecord[];

/** A `PostingsFor` over a ledger with `list({ correlationId })` (services/postings/postings-ledger.ts). */
export const ledgerPostingsFor =
  (ledger: {
    list(filter: { correlationId?: string; limit?: number }): readonly PostingRecord[];
  }): PostingsFor =>
  (eventIds, correlationId) => {
    const wanted = new Set(eventIds);
    return ledger.list({ correlationId, limit: 100_000 }).filter((p) => wanted.has(p.eventId));
  };

export type TraceStore = Pick<EventStore, "readAll"> & {
  readByCorrelationId?: (correlationId: string) => Promise<RecordedEvent[]>;
};

export interface TraceSource {
  /** A label for the store (its region), shown when an event does not name its region. */
  readonly name: string;
  readonly store: TraceStore;
}

export interface TracedEvent {
  readonly region: string;
  readonly location: string;
  readonly sku: string;
  readonly streamId: string;
  readonly revision: number;
  readonly eventId: string;
  readonly type: string;
  readonly quantity: number | null;
  readonly businessTime: string | null;
  readonly recordedTime: string;
  readonly source: { readonly system: string; readonly document: string } | null;
  readonly documents: Readonly<Record<string, string>>;
  readonly causationId: string | null;
  /** The event in this trace that caused this one (its causationId), if any. */
  readonly causedBy: string | null;
  /** Where the event was found (the source's name). */
  readonly store: string;
  readonly postings: readonly PostingRecord[];
}

export interface SourceDocumentRef {
  readonly system: string;
  readonly document: string;
  readonly eventIds: readonly string[];
}

export interface Trace {
  readonly correlationId: string;
  readonly sourceDocuments: readonly SourceDocumentRef[];
  /** Ordered by recorded time, then region, stream and revision. */
  readonly events: readonly TracedEvent[];
  readonly regions: readonly string[];
  /** Postings by status over all events, e.g. `{ acked: 3, failed: 1 }`. */
  readonly postingSummary: Readonly<Record<string, number>>;
  /** How each source was searched (index or full scan, and the events scanned). */
  readonly searched: readonly {
    readonly store: string;
    readonly method: "index" | "scan";
    readonly scanned: number;
  }[];
}

const SCAN_PAGE = 5000;

const findInStore = async (
  source: TraceSource,
  correlationId: string,
): Promise<{ events: RecordedEvent[]; method: "index" | "scan"; scanned: number }> => {
  if (source.store.readByCorrelationId) {
    const events = await source.store.readByCorrelationId(correlationId);
    return { events, method: "index", scanned: events.length };
  }
  // Full scan of the global log (see the header comment for the cost).
  const events: RecordedEvent[] = [];
  let from = 0;
  let scanned = 0;
  for (;;) {
    const page = await source.store.readAll({ fromPosition: from, maxCount: SCAN_PAGE });
    for (const e of page) {
      if ((e.data as { correlationId?: unknown } | null)?.correlationId === correlationId) events.push(e);
    }
    scanned += page.length;
    const last = page[page.length - 1];
    if (page.length < SCAN_PAGE || last === undefined) break;
    from = last.globalPosition;
  }
  return { events, method: "scan", scanned };
};

const str = (v: unknown): string | null => (typeof v === "string" ? v : null);

const documentOf = (d: unknown): string | null => {
  const doc = d as { type?: unknown; id?: unknown; line?: unknown } | null;
  if (typeof doc !== "object" || doc === null) return null;
  return `${String(doc.type)} ${String(doc.id)}${typeof doc.line === "string" ? `/${doc.line}` : ""}`;
};

export const traceCorrelation = async (
  correlationId: string,
  sources: readonly TraceSource[],
  postingsFor?: PostingsFor,
): Promise<Trace> => {
  const found: { recorded: RecordedEvent; store: string }[] = [];
  const searched: Trace["searched"][number][] = [];
  for (const source of sources) {
    const r = await findInStore(source, correlationId);
    searched.push({ store: source.name, method: r.method, scanned: r.scanned });
    for (const recorded of r.events) found.push({ recorded, store: source.name });
  }

  const ids = found.map((f) => f.recorded.eventId);
  const postings = postingsFor && ids.length > 0 ? await postingsFor(ids, correlationId) : [];
  const postingsByEvent = new Map<string, PostingRecord[]>();
  for (const p of postings) {
    const list = postingsByEvent.get(p.eventId) ?? [];
    list.push(p);
    postingsByEvent.set(p.eventId, list);
  }
  const idSet = new Set(ids);

  const events: TracedEvent[] = found.map(({ recorded, store }) => {
    const d = (recorded.data ?? {}) as Record<string, unknown>;
    const position = (d.position ?? {}) as Record<string, unknown>;
    const source = d.source as { system?: unknown; document?: unknown } | undefined;
    const causationId = str(d.causationId);
    const documents = Object.fromEntries(
      Object.entries((d.documents ?? {}) as Record<string, unknown>).filter(
        (e): e is [string, string] => typeof e[1] === "string",
      ),
    );
    const document = source ? documentOf(source.document) : null;
    return {
      region: str(position.region) ?? store,
      location: str(position.location) ?? "?",
      sku: str(position.sku) ?? "?",
      streamId: recorded.streamId,
      revision: recorded.revision,
      eventId: recorded.eventId,
      type: recorded.type,
      quantity: typeof d.quantity === "number" ? d.quantity : null,
      businessTime: str(d.businessTime),
      recordedTime: str(d.recordedTime) ?? recorded.recordedTime,
      source: source && document ? { system: String(source.system), document } : null,
      documents,
      causationId,
      causedBy: causationId !== null && idSet.has(causationId) ? causationId : null,
      store,
      postings: postingsByEvent.get(recorded.eventId) ?? [],
    };
  });
  events.sort(
    (a, b) =>
      a.recordedTime.localeCompare(b.recordedTime) ||
      a.region.localeCompare(b.region) ||
      a.streamId.localeCompare(b.streamId) ||
      a.revision - b.revision,
  );

  const docs = new Map<string, { system: string; document: string; eventIds: string[] }>();
  for (const e of events) {
    // Derived events carry their cause's source document; list each document once.
    if (e.source === null) continue;
    const key = `${e.source.system}\u0000${e.source.document}`;
    const entry = docs.get(key) ?? { ...e.source, eventIds: [] };
    entry.eventIds.push(e.eventId);
    docs.set(key, entry);
  }
  const postingSummary: Record<string, number> = {};
  for (const p of postings) postingSummary[p.status] = (postingSummary[p.status] ?? 0) + 1;

  return {
    correlationId,
    sourceDocuments: [...docs.values()],
    events,
    regions: [...new Set(events.map((e) => e.region))].sort(),
    postingSummary,
    searched,
  };
};
