/**
 * A writer of postings for the concurrency test of the ledger: `n` postings under `prefix`, each
 * opened, failed once and acknowledged (three write transactions), with a read of the whole
 * ledger between them, as a posting worker and the API do on the same file.
 */
import type { CanonicalEvent } from "../../domain/canonical-event.ts";
import type { PostingsLedger } from "../../services/postings/postings-ledger.ts";

const eventOf = (prefix: string, i: number): CanonicalEvent =>
  ({
    eventId: `${prefix}-${i}`,
    type: "GoodsReceived",
    position: { region: "eu", location: "DC1", sku: `${prefix}-SKU-${i % 7}` },
    revision: i + 1,
    correlationId: `${prefix}-corr-${i}`,
    source: { system: "wms", document: { type: "receipt", id: `${prefix}-R${i}` } },
    businessTime: "2026-12-06T02:00:00.000Z",
  }) as unknown as CanonicalEvent;

export const writePostings = (ledger: PostingsLedger, prefix: string, n: number): { reads: number } => {
  let reads = 0;
  for (let i = 0; i < n; i++) {
    const row = ledger.open({ key: `${prefix}:${i}`, target: "sap", event: eventOf(prefix, i), effect: 1 });
    ledger.markFailed(row.id, { error: "503", errorClass: "unavailable", callMs: 1, charged: false });
    ledger.markAcked(row.id, { documentId: `${prefix}-doc-${i}`, duplicate: false, callMs: 1 });
    reads += ledger.statusFigures().length > 0 ? 1 : 0;
  }
  return { reads };
};
