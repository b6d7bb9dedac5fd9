/**
 * Request shapes of SAP S/4HANA API_MATERIAL_DOCUMENT_SRV (OData V2) as the simulator accepts
 * them, and the goods movement types it understands. Field names and lengths follow the service's
 * metadata (MaterialDocumentHeaderText CHAR 25, ReferenceDocument CHAR 16, Material CHAR 40, ...).
 */
import * as t from "io-ts";
import { boundedString } from "./bounded-string.ts";

/**
 * Edm.Decimal arrives as a string in OData V2 JSON ("10", "10.000"); numbers are tolerated.
 * The simulator keeps integers in the base unit (DESIGN §3.11), so a fraction is refused.
 */
export const SapQuantity = new t.Type<number, string, unknown>(
  "SapQuantity (decimal string, whole and > 0)",
  (u): u is number => typeof u === "number" && Number.isSafeInteger(u) && u > 0,
  (u, c) => {
    const text = typeof u === "number" ? String(u) : typeof u === "string" ? u.trim() : undefined;
    if (text === undefined || !/^\d+(\.\d+)?$/.test(text)) {
      return t.failure(u, c, 'a positive decimal like "10" or "10.000"');
    }
    const [whole, fraction = ""] = text.split(".");
    if (!/^0*$/.test(fraction)) {
      return t.failure(u, c, "a whole quantity (the simulator books whole base units only)");
    }
    const value = Number(whole);
    if (!Number.isSafeInteger(value) || value === 0) {
      return t.failure(u, c, "a whole number greater than 0");
    }
    return t.success(value);
  },
  (n) => String(n),
);

/** Edm.DateTime: `/Date(1715731200000)/` or `2024-05-15T00:00:00`; decoded to `YYYY-MM-DD`. */
export const SapDate = new t.Type<string, string, unknown>(
  "SapDate (/Date(ms)/ or YYYY-MM-DDThh:mm:ss)",
  (u): u is string => typeof u === "string" && /^\d{4}-\d{2}-\d{2}$/.test(u),
  (u, c) => {
    if (typeof u !== "string") return t.failure(u, c);
    const legacy = /^\/Date\((-?\d+)(?:[+-]\d{4})?\)\/$/.exec(u);
    const millis =
      legacy?.[1] !== undefined
        ? Number(legacy[1])
        : /^\d{4}-\d{2}-\d{2}(T[\d:.]+Z?)?$/.test(u)
          ? Date.parse(u.endsWith("Z") || u.length === 10 ? u : `${u}Z`)
          : Number.NaN;
    if (Number.isNaN(millis)) return t.failure(u, c, "an Edm.DateTime (/Date(ms)/ or YYYY-MM-DDThh:mm:ss)");
    return t.success(new Date(millis).toISOString().slice(0, 10));
  },
  (s) => `${s}T00:00:00`,
);

/** 01 GR for PO, 02 GR for order, 03 goods issue, 04 transfer posting, 05 other GR, 06 reversal, 07 subsequent adjustment. */
export const GoodsMovementCode = t.keyof(
  { "01": null, "02": null, "03": null, "04": null, "05": null, "06": null, "07": null },
  "GoodsMovementCode (01..07)",
);

const code3 = boundedString("GoodsMovementType (3 characters)", 3, 3);

export const MaterialDocumentItemInput = t.intersection([
  t.type({
    Material: boundedString("Material (1..40 characters)", 40, 1),
    Plant: boundedString("Plant (4 characters)", 4, 1),
    GoodsMovementType: code3,
    QuantityInEntryUnit: SapQuantity,
    EntryUnit: boundedString("EntryUnit (1..3 characters)", 3, 1),
  }),
  t.partial({
    StorageLocation: boundedString("StorageLocation (up to 4 characters)", 4),
    Batch: boundedString("Batch (up to 10 characters)", 10),
    IssuingOrReceivingPlant: boundedString("IssuingOrReceivingPlant (up to 4 characters)", 4),
    IssuingOrReceivingStorageLoc: boundedString("IssuingOrReceivingStorageLoc (up to 4 characters)", 4),
    IssgOrRcvgBatch: boundedString("IssgOrRcvgBatch (up to 10 characters)", 10),
    IssgOrRcvgMaterial: boundedString("IssgOrRcvgMaterial (up to 40 characters)", 40),
    GoodsMovementRefDocType: t.string,
    PurchaseOrder: boundedString("PurchaseOrder (up to 10 characters)", 10),
    PurchaseOrderItem: boundedString("PurchaseOrderItem (up to 5 characters)", 5),
    ManufacturingOrder: boundedString("ManufacturingOrder (up to 12 characters)", 12),
    ManufacturingOrderItem: t.string,
    Delivery: boundedString("Delivery (up to 10 characters)", 10),
    DeliveryItem: t.string,
    Reservation: t.string,
    ReservationItem: t.string,
    CostCenter: t.string,
    GoodsMovementReasonCode: t.string,
    MaterialDocumentItemText: boundedString("MaterialDocumentItemText (up to 50 characters)", 50),
    MaterialDocumentPostingType: t.string,
    InventoryStockType: t.string,
    ReversedMaterialDocument: t.string,
    ReversedMaterialDocumentItem: t.string,
    ReversedMaterialDocumentYear: t.string,
  }),
]);
export type MaterialDocumentItemInput = t.TypeOf<typeof MaterialDocumentItemInput>;

export const MaterialDocumentHeaderInput = t.intersection([
  t.type({
    GoodsMovementCode,
    to_MaterialDocumentItem: t.array(MaterialDocumentItemInput),
  }),
  t.partial({
    PostingDate: SapDate,
    DocumentDate: SapDate,
    MaterialDocumentHeaderText: boundedString("MaterialDocumentHeaderText (up to 25 characters)", 25),
    ReferenceDocument: boundedString("ReferenceDocument (up to 16 characters)", 16),
    VersionForPrintingSlip: t.string,
    ManualPrintIsTriggered: t.string,
    CtrlPostgForExtWhseMgmtSyst: t.string,
  }),
]);
export type MaterialDocumentHeaderInput = t.TypeOf<typeof MaterialDocumentHeaderInput>;

/**
 * OData V2 deep insert may send the navigation property as an array or as `{results: [...]}`;
 * both are normalised to the array before decoding.
 */
export const unwrapDeepInsert = (body: unknown): unknown => {
  if (typeof body !== "object" || body === null) return body;
  const items = (body as Record<string, unknown>).to_MaterialDocumentItem;
  if (typeof items === "object" && items !== null && !Array.isArray(items) && "results" in items) {
    return { ...body, to_MaterialDocumentItem: (items as { results: unknown }).results };
  }
  return body;
};

/** How a movement type moves unrestricted stock: +1 receipt, -1 issue, transfer / reverse transfer. */
export type MovementEffect = 1 | -1 | "transfer" | "transfer-reversal";

export const MOVEMENT_TYPES: Readonly<Record<string, { effect: MovementEffect; text: string }>> = {
  "101": { effect: 1, text: "GR goods receipt" },
  "102": { effect: -1, text: "GR reversal of 101" },
  "122": { effect: -1, text: "Return delivery to supplier" },
  "201": { effect: -1, text: "GI for cost center" },
  "202": { effect: 1, text: "Reversal of 201" },
  "261": { effect: -1, text: "GI for order" },
  "262": { effect: 1, text: "Reversal of 261" },
  "301": { effect: "transfer", text: "Transfer posting plant to plant" },
  "302": { effect: "transfer-reversal", text: "Reversal of 301" },
  "311": { effect: "transfer", text: "Transfer posting storage location to storage location" },
  "312": { effect: "transfer-reversal", text: "Reversal of 311" },
  "501": { effect: 1, text: "Receipt without purchase order" },
  "502": { effect: -1, text: "Reversal of 501" },
  "551": { effect: -1, text: "GI scrapping" },
  "552": { effect: 1, text: "Reversal of 551" },
  "561": { effect: 1, text: "Initial entry of stock balances" },
  "562": { effect: -1, text: "Reversal of 561" },
  "601": { effect: -1, text: "GD goods issue: delivery" },
  "602": { effect: 1, text: "Reversal of 601" },
  "643": { effect: -1, text: "GI for cross-company stock transport order" },
  "644": { effect: 1, text: "Reversal of 643" },
  "701": { effect: 1, text: "Inventory difference: surplus" },
  "702": { effect: -1, text: "Inventory difference: shortage" },
};
