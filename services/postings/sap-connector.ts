/**
 * SAP S/4HANA target: a canonical event becomes a material document (API_MATERIAL_DOCUMENT_SRV deep
 * insert), posted with the event's key as `Repeatability-Request-ID` (SAP Gateway repeatable
 * requests), so a retry returns the first document instead of posting twice. Balances are read from
 * API_MATERIAL_STOCK_SRV (unrestricted-use stock of the location's plant and storage location).
 *
 * Movement types (the simulator books unrestricted stock only, so status moves use 501/201 where
 * SAP would use 321/343/344):
 *   GoodsReceived 101 (with PO) / 501, ProductionOutput 101 (for order), ProductionConsumed 261,
 *   ShipmentPosted 601, ReturnReceived 602 (262 for a production order), TransferShipped 311 / 301
 *   into the transit storage location of the destination plant, TransferReceived 311 out of it,
 *   StockAdjusted / CountRecorded 701 / 702, StatusChanged 501 / 201.
 *   A transfer to or from a location this SAP does not manage (another ERP's DC) is cross-company:
 *   the shipment is a goods issue (643), the receipt a goods receipt (101 with the PO, else 501);
 *   nothing goes through the transit storage location, which the other side never empties or fills.
 */
import type { CanonicalEvent } from "../../domain/canonical-event.ts";
import { targetStockEffect } from "../../projections/reconciliation.ts";
import {
  errorText,
  type ItemResult,
  type PostingItem,
  requestJson,
  type SapTargetConfig,
  type TargetConnector,
  type Transform,
} from "./target-connector.ts";

export const SAP_MATERIAL_DOCUMENT_PATH =
  "/sap/opu/odata/sap/API_MATERIAL_DOCUMENT_SRV/A_MaterialDocumentHeader";
export const SAP_STOCK_PATH = "/sap/opu/odata/sap/API_MATERIAL_STOCK_SRV/A_MatlStkInAcctMod";

export interface SapMaterialDocument {
  GoodsMovementCode: string;
  PostingDate: string;
  DocumentDate: string;
  MaterialDocumentHeaderText: string;
  ReferenceDocument?: string;
  to_MaterialDocumentItem: Record<string, string>[];
}

const clip = (s: string | undefined, n: number) => (s === undefined || s.length > n ? undefined : s);
const sapDateTime = (iso: string) => new Date(iso).toISOString().slice(0, 19);
const odataString = (s: string) => `'${s.replace(/'/g, "''")}'`;

export const sapMaterialDocumentFor = (
  cfg: SapTargetConfig,
  event: CanonicalEvent,
): Transform<SapMaterialDocument> => {
  const effect = targetStockEffect(event);
  if (effect === 0) return { kind: "skip", reason: `${event.type} moves no unrestricted stock` };
  const loc = cfg.locations[event.position.location];
  if (!loc)
    return {
      kind: "reject",
      reason: `location ${JSON.stringify(event.position.location)} has no plant/storage location mapping for ${cfg.id}`,
    };
  const transit = cfg.transitStorageLocation ?? "TRAN";
  const qty = String(Math.abs(effect));
  const item: Record<string, string> = {
    Material: event.position.sku,
    Plant: loc.plant,
    StorageLocation: loc.storageLocation,
    QuantityInEntryUnit: qty,
    EntryUnit: cfg.unit ?? "EA",
  };
  const batch = clip(event.lot, 10);
  if (batch) item.Batch = batch;
  const docs = event.documents;
  let mvt: string;
  let code: string;
  switch (event.type) {
    case "GoodsReceived": {
      const po = clip(docs.po, 10);
      mvt = po ? "101" : "501";
      code = po ? "01" : "05";
      if (po) item.PurchaseOrder = po;
      break;
    }
    case "ProductionOutput":
    case "ProductionConsumed": {
      mvt = event.type === "ProductionOutput" ? "101" : "261";
      code = event.type === "ProductionOutput" ? "02" : "03";
      const order = clip(docs.productionOrder, 12);
      if (order) item.ManufacturingOrder = order;
      break;
    }
    case "ShipmentPosted": {
      mvt = "601";
      code = "03";
      const delivery = clip(docs.order, 10);
      if (delivery) item.Delivery = delivery;
      break;
    }
    case "ReturnReceived":
      mvt = docs.productionOrder ? "262" : "602";
      code = "06";
      break;
    case "TransferShipped": {
      const elsewhere =
        event.destination.location !== event.position.location && !cfg.locations[event.destination.location];
      if (elsewhere) {
        mvt = "643";
        code = "03";
        item.MaterialDocumentItemText = `to ${event.destination.region}/${event.destination.location}`;
        break;
      }
      const dest =
        event.destination.location === event.position.location
          ? undefined
          : cfg.locations[event.destination.location];
      const toPlant = dest?.plant ?? loc.plant;
      mvt = toPlant === loc.plant ? "311" : "301";
      code = "04";
      if (toPlant !== loc.plant) item.IssuingOrReceivingPlant = toPlant;
      item.IssuingOrReceivingStorageLoc = transit;
      break;
    }
    case "TransferReceived": {
      if (event.origin && !cfg.locations[event.origin.location]) {
        const po = clip(docs.po, 10);
        mvt = po ? "101" : "501";
        code = po ? "01" : "05";
        if (po) item.PurchaseOrder = po;
        item.MaterialDocumentItemText = `from ${event.origin.region}/${event.origin.location}`;
        break;
      }
      mvt = "311";
      code = "04";
      item.StorageLocation = transit;
      item.IssuingOrReceivingStorageLoc = loc.storageLocation;
      break;
    }
    case "StockAdjusted":
    case "CountRecorded":
      mvt = effect > 0 ? "701" : "702";
      code = effect > 0 ? "05" : "03";
      break;
    case "StatusChanged":
      mvt = effect > 0 ? "501" : "201";
      code = effect > 0 ? "05" : "03";
      item.MaterialDocumentItemText = `status ${event.fromStatus} -> ${event.toStatus}`;
      break;
    default:
      return { kind: "skip", reason: `${event.type} is not posted to SAP` };
  }
  item.GoodsMovementType = mvt;
  const text = (item.MaterialDocumentItemText ?? `${event.type} ${event.source.document.id}`).slice(0, 50);
  item.MaterialDocumentItemText = text;
  const doc: SapMaterialDocument = {
    GoodsMovementCode: code,
    PostingDate: sapDateTime(event.businessTime),
    DocumentDate: sapDateTime(event.businessTime),
    MaterialDocumentHeaderText: `stockline r${event.revision}`.slice(0, 25),
    to_MaterialDocumentItem: [item],
  };
  const ref = clip(event.source.document.id, 16);
  if (ref) doc.ReferenceDocument = ref;
  return {
    kind: "post",
    payload: doc,
    summary: `${mvt} ${qty} ${item.EntryUnit} ${item.Material} ${item.Plant}/${item.StorageLocation}`,
  };
};

export const createSapConnector = (cfg: SapTargetConfig): TargetConnector<SapMaterialDocument> => {
  const timeoutMs = cfg.timeoutMs ?? 10_000;
  const base = cfg.baseUrl.replace(/\/$/, "");
  const postOne = async (item: PostingItem<SapMaterialDocument>): Promise<ItemResult> => {
    const res = await requestJson(cfg.id, `${base}${SAP_MATERIAL_DOCUMENT_PATH}`, {
      method: "POST",
      body: item.payload,
      headers: { "Repeatability-Request-ID": item.key, "Repeatability-First-Sent": new Date().toUTCString() },
      timeoutMs,
    });
    if (res.status === 201) {
      const d = (res.body as { d?: { MaterialDocument?: string; MaterialDocumentYear?: string } }).d;
      return {
        ok: true,
        documentId: `${d?.MaterialDocument ?? "?"}/${d?.MaterialDocumentYear ?? "?"}`,
        duplicate: res.headers.get("x-sim-duplicate") === "true",
      };
    }
    return { ok: false, status: res.status, error: `${res.status} ${errorText(res.body)}` };
  };
  return {
    id: cfg.id,
    kind: "sap-s4hana",
    maxBatch: 1,
    locations: Object.keys(cfg.locations),
    transform: (event) => sapMaterialDocumentFor(cfg, event),
    async post(items) {
      const out: ItemResult[] = [];
      for (const item of items) out.push(await postOne(item));
      return out;
    },
    async readBalances(location) {
      const loc = cfg.locations[location];
      const out = new Map<string, number>();
      if (!loc) return out;
      const filter = `Plant eq ${odataString(loc.plant)} and StorageLocation eq ${odataString(loc.storageLocation)}`;
      const res = await requestJson(
        cfg.id,
        `${base}${SAP_STOCK_PATH}?$filter=${encodeURIComponent(filter)}`,
        {
          method: "GET",
          timeoutMs,
        },
      );
      if (res.status !== 200) throw new Error(`${cfg.id} stock read: ${res.status} ${errorText(res.body)}`);
      const rows = (
        res.body as { d: { results: { Material: string; MatlWrhsStkQtyInMatlBaseUnit: string }[] } }
      ).d.results;
      for (const row of rows) {
        const q = Number(row.MatlWrhsStkQtyInMatlBaseUnit);
        if (!Number.isSafeInteger(q))
          throw new Error(`${cfg.id}: non-integral stock ${row.MatlWrhsStkQtyInMatlBaseUnit}`);
        out.set(row.Material, (out.get(row.Material) ?? 0) + q);
      }
      return out;
    },
  };
};
