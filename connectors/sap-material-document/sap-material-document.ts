/**
 * SAP S/4HANA material documents (API_MATERIAL_DOCUMENT_SRV: `A_MaterialDocumentHeader` with its
 * `to_MaterialDocumentItem`) to canonical commands, one line at a time through the movement-type
 * table (movement-types.ts). Accepts a header as posted (deep insert), as read back (`d`, `results`,
 * OData V4 `value`) and a list of headers. Each line yields its commands or untranslatable parts
 * naming `to_MaterialDocumentItem[i].<field>` and the value: never a partial line.
 *
 * Keys: the document is `<MaterialDocument>/<MaterialDocumentYear>` when SAP numbered it, else a
 * content id (the same document twice gives the same keys); a line's first command has the key
 * `<system>:<document>:<line>`, which is what a reversal names as its causation id.
 */
import type { Command } from "../../domain/commands.ts";
import type { Location, MasterData } from "../../domain/master-data.ts";
import type { SourceQuantity } from "../../domain/quantity.ts";
import type { StockStatus } from "../../domain/statuses.ts";
import { unitFactors, unitsOf } from "../../domain/units.ts";
import {
  businessTimeOf,
  contentId,
  isRecord,
  parseDecimal,
  quantityIn,
  skuOf,
  text,
} from "../source-values.ts";
import {
  type Translation,
  type TranslationContext,
  translation,
  type UntranslatablePart,
  unreadable,
} from "../translation.ts";
import {
  type MovementType,
  SAP_MOVEMENT_TYPES,
  SAP_SPECIAL_STOCK_TYPES,
  SAP_STOCK_TYPES,
} from "./movement-types.ts";
import { commandsOfLine, type LineFacts } from "./sap-line-commands.ts";

export const SAP_DOCUMENT_TYPE = "SAP material document";

export interface SapOptions {
  /** Movement types known to the translator (default SAP_MOVEMENT_TYPES; spread it to add rows). */
  readonly movementTypes?: Readonly<Record<string, MovementType>>;
  /**
   * 601 also confirms the pick (available -> picked) before the shipment, as SAP takes a delivery's
   * goods straight from unrestricted stock. `false` where a WMS reports the picks itself.
   */
  readonly pickOnGoodsIssue?: boolean;
  /**
   * The id of a document SAP has not numbered yet (a create payload), e.g. the sender's
   * Repeatability-Request-ID; without it the content is the id, so two identical postings are one.
   */
  readonly documentId?: string;
}

/** The headers of a posted or read document: a header, `{d: header}`, `{d: {results}}`, `{value}`, an array. */
const headersOf = (json: unknown): unknown[] | undefined => {
  if (Array.isArray(json)) return json;
  if (!isRecord(json)) return undefined;
  if (json.d !== undefined) return headersOf(json.d);
  if (Array.isArray(json.value)) return json.value;
  if (Array.isArray(json.results)) return json.results;
  return [json];
};

const itemsOf = (header: Record<string, unknown>): unknown[] | undefined => {
  const items = header.to_MaterialDocumentItem;
  if (Array.isArray(items)) return items;
  if (isRecord(items) && Array.isArray(items.results)) return items.results;
  return undefined;
};

export const translateSapMaterialDocument = (
  json: unknown,
  ctx: TranslationContext,
  opts: SapOptions = {},
): Translation => {
  const headers = headersOf(json);
  if (!headers)
    return unreadable({ type: SAP_DOCUMENT_TYPE }, "$", "a material document header (JSON object)", json);
  const commands: Command[] = [];
  const untranslatable: UntranslatablePart[] = [];
  headers.forEach((header, h) => {
    const t = translateHeader(header, headers.length > 1 ? `[${h}].` : "", ctx, opts);
    commands.push(...t.commands);
    untranslatable.push(...t.untranslatable);
  });
  return translation(commands, untranslatable);
};

const translateHeader = (
  header: unknown,
  prefix: string,
  ctx: TranslationContext,
  opts: SapOptions,
): Translation => {
  if (!isRecord(header))
    return unreadable({ type: SAP_DOCUMENT_TYPE }, `${prefix}$`, "a material document header", header);
  const number = text(header.MaterialDocument);
  const year = text(header.MaterialDocumentYear);
  const unnumbered = opts.documentId
    ? `${opts.documentId}${prefix ? `:${prefix.slice(1, -2)}` : ""}`
    : undefined;
  const docId = number ? (year ? `${number}/${year}` : number) : (unnumbered ?? contentId(header));
  const document = { type: SAP_DOCUMENT_TYPE, id: docId };
  const items = itemsOf(header);
  if (!items || items.length === 0)
    return unreadable(
      document,
      `${prefix}to_MaterialDocumentItem`,
      "the document's items (an array, or {results: [...]}) with at least one item",
      header.to_MaterialDocumentItem,
    );
  const dateField = header.PostingDate !== undefined ? "PostingDate" : "DocumentDate";
  const rawDate = header[dateField];
  const time = rawDate === undefined ? { ok: true as const, value: ctx.receivedAt } : businessTimeOf(rawDate);
  if (!time.ok) return unreadable(document, `${prefix}${dateField}`, time.reason, rawDate);

  const commands: Command[] = [];
  const untranslatable: UntranslatablePart[] = [];
  items.forEach((item, i) => {
    const at = (field: string) => `${prefix}to_MaterialDocumentItem[${i}].${field}`;
    if (!isRecord(item)) {
      untranslatable.push({
        document,
        at: at("").slice(0, -1),
        value: item,
        reason: "a material document item",
      });
      return;
    }
    const line = lineOf(item.MaterialDocumentItem, i);
    const read = readLine(item, ctx, opts, at);
    if (read.problems.length > 0) {
      untranslatable.push(...read.problems.map((p) => ({ document, ...p })));
      return;
    }
    if (!read.facts) return; // the automatic counterpart of a transfer or status line: its parent line carries it
    commands.push(
      ...commandsOfLine(read.facts, {
        system: ctx.system,
        document: { type: SAP_DOCUMENT_TYPE, id: docId, line },
        key: `${ctx.system}:${docId}:${line}`,
        businessTime: time.value,
        pickOnGoodsIssue: opts.pickOnGoodsIssue ?? true,
      }),
    );
  });
  return translation(commands, untranslatable);
};

/** `0001` -> `1`; a line without its number is numbered by position (1-based). */
const lineOf = (raw: unknown, index: number): string => {
  const s = text(typeof raw === "number" ? String(raw) : raw);
  return s === undefined ? String(index + 1) : /^\d+$/.test(s) ? String(Number(s)) : s;
};

type Problem = Omit<UntranslatablePart, "document">;

const readLine = (
  item: Record<string, unknown>,
  ctx: TranslationContext,
  opts: SapOptions,
  at: (field: string) => string,
): { problems: Problem[]; facts?: LineFacts } => {
  const md = ctx.masterData;
  const problems: Problem[] = [];
  const problem = (field: string, value: unknown, reason: string) =>
    problems.push({ at: at(field), ...(value === undefined ? {} : { value }), reason });

  const table = opts.movementTypes ?? SAP_MOVEMENT_TYPES;
  const typeCode = text(item.GoodsMovementType);
  const movement = typeCode !== undefined && Object.hasOwn(table, typeCode) ? table[typeCode] : undefined;
  if (!movement) {
    problem(
      "GoodsMovementType",
      item.GoodsMovementType,
      `a movement type of the table (${Object.keys(table).join(", ")})`,
    );
    return { problems };
  }
  const automatic = item.IsAutomaticallyCreated === "X" || item.IsAutomaticallyCreated === true;
  if (automatic && (movement.rule === "transfer" || movement.rule === "statusChange")) return { problems };

  const material = text(item.Material);
  const sku = material === undefined ? undefined : skuOf(md, ctx.system, material);
  if (material === undefined) problem("Material", item.Material, "a material number");
  else if (sku === undefined) problem("Material", material, `a material of ${ctx.system} in master data`);

  const here = locate(md, ctx.system, item, "Plant", "StorageLocation", problem);
  const quantity = readQuantity(md, sku, item, problem);
  const status = readStatus(md, ctx.system, item, problem);

  const indicator = text(item.DebitCreditCode);
  if (indicator !== undefined && indicator !== "S" && indicator !== "H")
    problem("DebitCreditCode", item.DebitCreditCode, "S (debit, into stock) or H (credit, out of stock)");
  else if (indicator !== undefined && movement.rule !== "transfer" && indicator !== movement.debitCredit)
    problem(
      "DebitCreditCode",
      indicator,
      `${movement.debitCredit}: movement type ${typeCode} (${movement.description}) posts ${movement.debitCredit === "S" ? "into" : "out of"} stock`,
    );

  const lot = text(item.Batch);
  const carriesLot = movement.rule !== "adjustment";
  if (carriesLot && lot === undefined && sku !== undefined && md.product(sku)?.lotTracked)
    problem("Batch", item.Batch, `a batch: SKU ${sku} is lot-tracked`);

  let other: Location | undefined;
  if (movement.rule === "transfer") {
    other = locate(md, ctx.system, item, "IssuingOrReceivingPlant", "IssuingOrReceivingStorageLoc", problem, {
      defaultPlant: text(item.Plant),
    });
  }
  if ((movement.rule === "consumption" || movement.rule === "shipment") && status && status !== "available")
    problem(
      "InventoryStockType",
      item.InventoryStockType,
      `unrestricted stock: movement type ${typeCode} issues from available stock, not ${status}`,
    );

  if (problems.length > 0 || !sku || !here || !quantity || !status) return { problems };
  const reversed = text(item.ReversedMaterialDocument);
  const reversedYear = text(item.ReversedMaterialDocumentYear);
  const reversedItem = item.ReversedMaterialDocumentItem;
  return {
    problems,
    facts: {
      typeCode: typeCode as string,
      movement,
      sku,
      here,
      ...(other ? { other } : {}),
      quantity,
      status,
      indicator: (indicator as "S" | "H" | undefined) ?? movement.debitCredit,
      ...(lot ? { lot } : {}),
      ...(text(item.IssgOrRcvgBatch) ? { otherLot: text(item.IssgOrRcvgBatch) } : {}),
      refDocType: text(item.GoodsMovementRefDocType),
      purchaseOrder: text(item.PurchaseOrder),
      productionOrder: text(item.ManufacturingOrder),
      salesOrder: text(item.SalesOrder),
      delivery: text(item.Delivery) ?? text(item.DeliveryDocument),
      ...(reversed
        ? {
            reversedLine: `${reversedYear ? `${reversed}/${reversedYear}` : reversed}:${lineOf(reversedItem, 0)}`,
          }
        : {}),
    },
  };
};

const codesOf = (md: MasterData, system: string) =>
  md.locations.flatMap((l) => {
    const code = l.codes && Object.hasOwn(l.codes, system) ? l.codes[system] : undefined;
    return code ? [code] : [];
  });

/** The location of a plant and storage location: `{plant, storageLocation}`, else a plant mapped whole `{plant}`. */
const locate = (
  md: MasterData,
  system: string,
  item: Record<string, unknown>,
  plantField: string,
  slocField: string,
  problem: (field: string, value: unknown, reason: string) => void,
  opts: { defaultPlant?: string | undefined } = {},
): Location | undefined => {
  const plant = text(item[plantField]) ?? opts.defaultPlant;
  const sloc = text(item[slocField]);
  if (plant === undefined) {
    problem(plantField, item[plantField], "a plant");
    return undefined;
  }
  const found =
    (sloc !== undefined ? md.locationByCode(system, { plant, storageLocation: sloc }) : undefined) ??
    md.locationByCode(system, { plant });
  if (found) return found;
  const known = codesOf(md, system);
  const plants = [...new Set(known.map((c) => c.plant).filter((p) => p !== undefined))];
  const pairs = known.map((c) => (c.storageLocation ? `${c.plant}/${c.storageLocation}` : `${c.plant}`));
  const plantKnown = plants.includes(plant);
  if (!plantKnown)
    problem(plantField, plant, `a plant of ${system} in master data (${plants.join(", ") || "none"})`);
  if (sloc === undefined) {
    if (plantKnown)
      problem(slocField, item[slocField], `a storage location: plant ${plant} is mapped by storage location`);
  } else if (!known.some((c) => c.storageLocation === sloc && (!plantKnown || c.plant === plant)))
    problem(
      slocField,
      sloc,
      `a storage location of ${system} in master data (plant/storage location: ${pairs.join(", ") || "none"})`,
    );
  return undefined;
};

const allUnits = (md: MasterData): string[] => {
  const units = new Set<string>();
  for (const u of [...Object.values(md.units.skus), ...(md.units.default ? [md.units.default] : [])])
    for (const k of unitFactors(u).keys()) units.add(k);
  return [...units];
};

/** QuantityInEntryUnit in EntryUnit (else QuantityInBaseUnit in MaterialBaseUnit/BaseUnit). */
const readQuantity = (
  md: MasterData,
  sku: string | undefined,
  item: Record<string, unknown>,
  problem: (field: string, value: unknown, reason: string) => void,
): SourceQuantity | undefined => {
  const entry = item.QuantityInEntryUnit !== undefined || item.EntryUnit !== undefined;
  const [qField, uField] = entry
    ? ["QuantityInEntryUnit", "EntryUnit"]
    : ["QuantityInBaseUnit", item.MaterialBaseUnit !== undefined ? "MaterialBaseUnit" : "BaseUnit"];
  const raw = item[qField];
  const uom = text(item[uField]);
  let bad = false;
  const report = (field: string, value: unknown, reason: string) => {
    bad = true;
    problem(field, value, reason);
  };
  const amount = parseDecimal(raw);
  if (amount === undefined)
    report(qField, raw, 'a decimal number as a string (e.g. "10" or "10.000"), without separators');
  else if (amount.digits <= 0n)
    report(qField, raw, "a quantity above 0 (the debit/credit indicator gives the direction)");
  const skuUnits = sku === undefined ? undefined : unitsOf(md.units, sku);
  const known = skuUnits ? [...unitFactors(skuUnits).keys()] : allUnits(md);
  if (uom === undefined) report(uField, item[uField], "a unit of measure");
  else if (!known.includes(uom))
    report(
      uField,
      uom,
      skuUnits
        ? `a unit of SKU ${sku} (${known.join(", ")})`
        : `a unit of measure known to master data (${known.join(", ")})`,
    );
  if (bad || amount === undefined || uom === undefined || sku === undefined) return undefined;
  const q = quantityIn(md, sku, amount, uom);
  if (!q.ok) {
    report(qField, raw, q.reason);
    return undefined;
  }
  return { value: q.value.value, uom: q.value.uom };
};

/** The line's stock: special stock (K: consigned), else its stock type through master data and SAP's defaults. */
const readStatus = (
  md: MasterData,
  system: string,
  item: Record<string, unknown>,
  problem: (field: string, value: unknown, reason: string) => void,
): StockStatus | undefined => {
  const special =
    typeof item.InventorySpecialStockType === "string" ? item.InventorySpecialStockType.trim() : "";
  if (!Object.hasOwn(SAP_SPECIAL_STOCK_TYPES, special)) {
    problem(
      "InventorySpecialStockType",
      item.InventorySpecialStockType,
      "no special stock, or K (supplier consignment): other special stocks are not stockline's",
    );
    return undefined;
  }
  const specialStatus = SAP_SPECIAL_STOCK_TYPES[special];
  if (specialStatus) return specialStatus;
  const code = typeof item.InventoryStockType === "string" ? item.InventoryStockType.trim() : "";
  const mapped =
    (code !== "" ? md.canonicalStatus(system, code) : undefined) ??
    (Object.hasOwn(SAP_STOCK_TYPES, code) ? SAP_STOCK_TYPES[code] : undefined);
  if (!mapped)
    problem(
      "InventoryStockType",
      item.InventoryStockType,
      `a stock type: 01 unrestricted, 02 quality inspection, 07 blocked, or one of statuses.${system} in master data`,
    );
  return mapped;
};
