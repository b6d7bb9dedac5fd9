/**
 * The commands the demo feed sends, as the source systems would word them: the region's WMS for
 * physical moves, its ERP for purchase orders (and for a receipt at a DC, which the WMS owns: a
 * realistic dead letter), and a broken connector's malformed messages.
 */
import type { Shelf } from "./feed-shelves.ts";
import type { FeedRegion } from "./feed-world.ts";

export const ea = (value: number) => ({ value, uom: "EA" });

const positionOf = (s: Shelf) => ({ region: s.region, location: s.location, sku: s.sku });

/** A command as the region's WMS reports it. */
export const wmsCommand = (
  region: FeedRegion,
  shelf: Shelf,
  at: string,
  kind: string,
  doc: { type: string; id: string },
  correlationId: string,
  body: Record<string, unknown>,
): Record<string, unknown> => ({
  kind,
  idempotencyKey: `${region.wms}:${doc.type}:${doc.id}`,
  source: { system: region.wms, document: doc },
  businessTime: at,
  correlationId,
  position: positionOf(shelf),
  ...body,
});

/** The ERP announces a purchase order line expected at the shelf's DC on `expectedAt`. */
export const expectReceipt = (
  region: FeedRegion,
  shelf: Shelf,
  at: string,
  po: string,
  quantity: number,
  expectedAt: string,
): Record<string, unknown> => ({
  kind: "expectReceipt",
  idempotencyKey: `${region.erp}:purchaseOrder:${po}:1`,
  source: { system: region.erp, document: { type: "purchaseOrder", id: po, line: "10" } },
  businessTime: at,
  correlationId: `PO-${po}`,
  position: positionOf(shelf),
  quantity: ea(quantity),
  expectedAt,
  documents: { po },
});

/** The ERP books a goods receipt at a DC itself: the WMS owns receipts there, so it is refused. */
export const erpReceiptAtDc = (region: FeedRegion, shelf: Shelf, at: string, doc: string) => ({
  kind: "receiveGoods",
  idempotencyKey: `${region.erp}:materialDocument:${doc}`,
  source: { system: region.erp, document: { type: "materialDocument", id: doc } },
  businessTime: at,
  correlationId: `MD-${doc}`,
  position: positionOf(shelf),
  quantity: ea(24),
});

/** A connector bug: cut-off JSON, or a fractional quantity. */
export const malformed = (
  region: FeedRegion,
  shelf: Shelf,
  at: string,
  doc: string,
  cutOff: boolean,
): Record<string, unknown> | Uint8Array =>
  cutOff
    ? new TextEncoder().encode(`{"kind":"receiveGoods","idempotencyKey":"${doc}","quantity":{"value":1`)
    : wmsCommand(region, shelf, at, "confirmPick", { type: "pickTask", id: doc }, doc, { quantity: ea(2.5) });
