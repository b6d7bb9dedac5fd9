/**
 * The trade items an EPCIS event names, resolved through master data: class-level quantities
 * (quantityList, inputQuantityList, outputQuantityList) one item per element, instance-level EPC lists
 * (epcList, inputEPCList, outputEPCList) one item per GTIN and lot, 1 per EPC, with the serials.
 */
import { MAX_SERIALS } from "../../domain/limits.ts";
import type { MasterData } from "../../domain/master-data.ts";
import type { SourceQuantity } from "../../domain/quantity.ts";
import { unitFactors, unitsOf } from "../../domain/units.ts";
import { parseDecimal, quantityIn } from "../source-values.ts";
import {
  gtinSpellings,
  type Parsed,
  type TradeItemId,
  tradeItemOfClass,
  tradeItemOfEpc,
} from "./identifiers.ts";

export interface Item {
  /** Stable within the event whatever else fails: `quantityList.0`; `epcList.3.0` (the group of epcList[3], first 250). */
  readonly line: string;
  /** JSON path of the element (the first EPC of a group). */
  readonly at: string;
  readonly sku: string;
  readonly lot?: string;
  readonly serials?: readonly string[];
  readonly quantity: SourceQuantity;
}

export interface Problem {
  readonly at: string;
  readonly value?: unknown;
  readonly reason: string;
}

export interface Items {
  readonly items: readonly Item[];
  readonly problems: readonly Problem[];
}

const skuOf = (md: MasterData, system: string, gtin: string): string | undefined => {
  for (const code of gtinSpellings(gtin)) {
    const sku = md.skuByCode(system, code);
    if (sku !== undefined) return sku;
  }
  return undefined;
};

const unknownGtin = (system: string, gtin: string) =>
  `a product of master data whose code for ${system} is GTIN ${gtin} (or the same number as GTIN-13/12/8)`;

/**
 * A quantity element's amount in a unit of the SKU (source-values.ts `quantityIn`): as sent when it
 * is a whole number of a unit of the product; a fraction (12.5 KGM) converted exactly to the base
 * unit when that is whole (12500 GRM); else a problem, never rounded. No `uom`: a count of trade
 * items, in the product's base unit.
 */
export const quantityOf = (
  md: MasterData,
  sku: string,
  value: number,
  uom: string | undefined,
  allowZero: boolean,
): Parsed<SourceQuantity> & { readonly field?: "quantity" | "uom" } => {
  const units = unitsOf(md.units, sku);
  if (!units) return { ok: false, field: "uom", reason: `unit master data for SKU ${sku}` };
  const unit = uom ?? units.baseUom;
  const factors = unitFactors(units);
  if (!factors.has(unit))
    return { ok: false, field: "uom", reason: `a unit of SKU ${sku} (${[...factors.keys()].join(", ")})` };
  if (value < 0 || (value === 0 && !allowZero))
    return {
      ok: false,
      field: "quantity",
      reason: allowZero ? "a quantity of 0 or more" : "a quantity greater than 0",
    };
  const decimal = parseDecimal(value);
  if (!decimal) return { ok: false, field: "quantity", reason: "a decimal quantity (without exponent)" };
  const q = quantityIn(md, sku, decimal, unit);
  return q.ok
    ? { ok: true, value: { value: q.value.value, uom: q.value.uom } }
    : { ok: false, field: "quantity", reason: q.reason };
};

/** A class-level list: one item per element. */
export const classItems = (
  md: MasterData,
  system: string,
  list: unknown,
  listName: string,
  path: string,
  allowZero: boolean,
): Items => {
  const items: Item[] = [];
  const problems: Problem[] = [];
  if (!Array.isArray(list)) return { items, problems };
  for (const [j, raw] of list.entries()) {
    const el = raw as { epcClass: string; quantity?: number; uom?: string };
    const at = `${path}.${listName}[${j}]`;
    const id = tradeItemOfClass(el.epcClass);
    if (id === undefined) {
      problems.push({
        at: `${at}.epcClass`,
        value: el.epcClass,
        reason:
          "a trade item class: urn:epc:class:lgtin:..., urn:epc:idpat:sgtin:...,* or a GS1 Digital Link /01/<GTIN>[/10/<lot>]",
      });
      continue;
    }
    if (!id.ok) {
      problems.push({ at: `${at}.epcClass`, value: el.epcClass, reason: id.reason });
      continue;
    }
    const sku = skuOf(md, system, id.value.gtin);
    if (sku === undefined) {
      problems.push({
        at: `${at}.epcClass`,
        value: el.epcClass,
        reason: unknownGtin(system, id.value.gtin),
      });
      continue;
    }
    if (el.quantity === undefined) {
      problems.push({
        at: `${at}.quantity`,
        reason: "a quantity (an element without one names an unknown amount)",
      });
      continue;
    }
    const q = quantityOf(md, sku, el.quantity, el.uom, allowZero);
    if (!q.ok) {
      problems.push({
        at: `${at}.${q.field ?? "quantity"}`,
        value: q.field === "uom" ? el.uom : el.quantity,
        reason: q.reason,
      });
      continue;
    }
    items.push({
      line: `${listName}.${j}`,
      at,
      sku,
      ...(id.value.lot !== undefined ? { lot: id.value.lot } : {}),
      quantity: q.value,
    });
  }
  return { items, problems };
};

/**
 * An instance-level list: EPCs grouped per GTIN and lot, 1 per EPC in the base unit, serials kept
 * (at most MAX_SERIALS per item: a larger group is split). `lotOfInstances` is the lot ILMD gives
 * objects created by the event. Objects that are not trade items (SSCC, GRAI, GIAI, ...) are problems
 * unless `ignoreOthers`.
 */
export const instanceItems = (
  md: MasterData,
  system: string,
  list: unknown,
  listName: string,
  path: string,
  lotOfInstances: string | undefined,
): Items => {
  const problems: Problem[] = [];
  if (!Array.isArray(list)) return { items: [], problems };
  const groups = new Map<
    string,
    { id: TradeItemId; sku: string; at: string; first: number; serials: string[] }
  >();
  for (const [k, epc] of (list as unknown[]).entries()) {
    const at = `${path}.${listName}[${k}]`;
    const id = tradeItemOfEpc(String(epc));
    if (id === undefined) {
      problems.push({
        at,
        value: epc,
        reason:
          "a trade item (an SGTIN); stockline counts trade items, not containers or assets (SSCC, GRAI, GIAI, ...): send the containers' contents",
      });
      continue;
    }
    if (!id.ok) {
      problems.push({ at, value: epc, reason: id.reason });
      continue;
    }
    const sku = skuOf(md, system, id.value.gtin);
    if (sku === undefined) {
      problems.push({ at, value: epc, reason: unknownGtin(system, id.value.gtin) });
      continue;
    }
    const lot = id.value.lot ?? lotOfInstances;
    const key = `${id.value.gtin}\u0000${lot ?? ""}\u0000${lot === undefined}`;
    // The group's line is the index of its first EPC: short (a code of 64 bytes) and stable.
    const group = groups.get(key) ?? {
      id: { ...id.value, ...(lot !== undefined ? { lot } : {}) },
      sku,
      at,
      first: k,
      serials: [],
    };
    group.serials.push(id.value.serial as string);
    groups.set(key, group);
  }
  const items: Item[] = [];
  for (const g of groups.values()) {
    const units = unitsOf(md.units, g.sku);
    if (!units) {
      problems.push({ at: g.at, reason: `unit master data for SKU ${g.sku}` });
      continue;
    }
    for (let c = 0; c * MAX_SERIALS < g.serials.length; c++) {
      const serials = g.serials.slice(c * MAX_SERIALS, (c + 1) * MAX_SERIALS);
      items.push({
        line: `${listName}.${g.first}.${c}`,
        at: g.at,
        sku: g.sku,
        ...(g.id.lot !== undefined ? { lot: g.id.lot } : {}),
        serials,
        quantity: { value: serials.length, uom: units.baseUom },
      });
    }
  }
  return { items, problems };
};

/** Whether a list of EPCs or quantity elements names any trade item (for events that move none). */
export const namesTradeItems = (epcs: unknown, quantities: unknown): boolean =>
  (Array.isArray(epcs) && epcs.some((e) => tradeItemOfEpc(String(e)) !== undefined)) ||
  (Array.isArray(quantities) &&
    quantities.some((q) => tradeItemOfClass(String((q as { epcClass?: unknown }).epcClass)) !== undefined));
