/**
 * Reading values out of ERP documents exactly (used by the SAP, D365 and balance-snapshot
 * translators): decimal strings as exact rationals, quantities in a product's units, business times
 * in the forms ERPs write them, and a content id for documents that carry no number of their own.
 * Every reader answers a value or the reason it cannot, for an untranslatable part; nothing rounds.
 */
import { canonicalJson, sha256Hex } from "../domain/canonical-json.ts";
import { MAX_QUANTITY } from "../domain/limits.ts";
import type { MasterData } from "../domain/master-data.ts";
import type { SourceQuantity } from "../domain/quantity.ts";
import { timestampProblem } from "../domain/scalars.ts";
import { unitFactors, unitsOf } from "../domain/units.ts";

export type Read<A> =
  | { readonly ok: true; readonly value: A }
  | { readonly ok: false; readonly reason: string };
export const ok = <A>(value: A): Read<A> => ({ ok: true, value });
export const fail = <A = never>(reason: string): Read<A> => ({ ok: false, reason });

/** An exact decimal: `digits / 10^scale`. */
export interface Decimal {
  readonly digits: bigint;
  readonly scale: number;
}

const DECIMAL = /^([+-]?)(\d+)(?:\.(\d+))?$/;

/**
 * A decimal from a string (`"10"`, `"10.000"`, `"-3"`) or a JSON number. Thousands separators,
 * decimal commas and exponents are refused: `12,5` may mean 12.5 or 125 depending on who wrote it.
 */
export const parseDecimal = (raw: unknown): Decimal | undefined => {
  const text =
    typeof raw === "string" ? raw.trim() : typeof raw === "number" && Number.isFinite(raw) ? String(raw) : "";
  const m = DECIMAL.exec(text);
  if (!m) return undefined;
  const fraction = m[3] ?? "";
  const digits = BigInt(`${m[2]}${fraction}`);
  return { digits: m[1] === "-" ? -digits : digits, scale: fraction.length };
};

const pow10 = (n: number): bigint => 10n ** BigInt(n);

/** The decimal as an integer when it is one (`10.000` is 10), else undefined. */
export const integerOf = (d: Decimal): bigint | undefined =>
  d.digits % pow10(d.scale) === 0n ? d.digits / pow10(d.scale) : undefined;

const unitList = (md: MasterData, sku: string): string => {
  const units = unitsOf(md.units, sku);
  return units ? [...unitFactors(units).keys()].join(", ") : "none";
};

/**
 * The magnitude of `amount` (its sign is the caller's business: a debit or credit, a gain or a
 * loss) as a quantity of `sku` in `uom`, checked against the product's units so that a unit the
 * node cannot convert is reported at its field here. A value with decimals stays in its own unit
 * when it is whole there (`10.000 PC`); otherwise it is converted exactly to the base unit
 * (`0.5 CS` = `6 EA`), and refused when it is whole in neither.
 */
export const quantityIn = (
  md: MasterData,
  sku: string,
  amount: Decimal,
  uom: string,
): Read<SourceQuantity & { readonly negative: boolean }> => {
  const units = unitsOf(md.units, sku);
  if (!units) return fail(`no units in master data for SKU ${JSON.stringify(sku)}`);
  const factor = unitFactors(units).get(uom);
  if (!factor)
    return fail(
      `a unit of SKU ${JSON.stringify(sku)} (${unitList(md, sku)}); ${JSON.stringify(uom)} is not one`,
    );
  const negative = amount.digits < 0n;
  const magnitude: Decimal = { digits: negative ? -amount.digits : amount.digits, scale: amount.scale };
  const whole = integerOf(magnitude);
  let q: SourceQuantity;
  if (whole !== undefined) q = { value: Number(whole), uom };
  else {
    const num = magnitude.digits * factor.num;
    const den = factor.den * pow10(magnitude.scale);
    if (num % den !== 0n)
      return fail(
        `a whole number of ${uom}${uom === units.baseUom ? "" : ` or of the base unit ${units.baseUom}`} (no fractions: a fraction is never rounded)`,
      );
    q = { value: Number(num / den), uom: units.baseUom };
  }
  if (q.value > MAX_QUANTITY) return fail(`a quantity of at most ${MAX_QUANTITY}`);
  return ok({ ...q, negative });
};

const SAP_DATE = /^\/Date\((-?\d+)(?:[+-]\d{4})?\)\/$/;
const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;
const NAIVE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?$/;

/**
 * A business time as ISO with offset. Accepts OData V2 `/Date(ms)/` (milliseconds since the epoch,
 * UTC; an offset suffix changes nothing, as the milliseconds are absolute), ISO with an offset,
 * and ISO without one (`2024-05-15T00:00:00`, `2024-05-15`), which ERPs write for dates in the
 * plant's calendar: taken as UTC.
 */
export const businessTimeOf = (raw: unknown): Read<string> => {
  const expected =
    "a date: /Date(<ms>)/, or ISO 8601 (2024-05-15, 2024-05-15T00:00:00, 2024-05-15T00:00:00Z)";
  if (typeof raw !== "string") return fail(expected);
  const s = raw.trim();
  const sap = SAP_DATE.exec(s);
  if (sap) {
    const d = new Date(Number(sap[1]));
    if (Number.isNaN(d.getTime())) return fail(expected);
    const iso = d.toISOString();
    return timestampProblem(iso) === undefined ? ok(iso) : fail(`${expected}; ${timestampProblem(iso)}`);
  }
  const iso = DATE_ONLY.test(s) ? `${s}T00:00:00Z` : NAIVE.test(s) ? `${s}Z` : s;
  const problem = timestampProblem(iso);
  return problem === undefined ? ok(iso) : fail(`${expected}; ${problem}`);
};

/** An id for a document that has no number of its own: the same content gives the same id. */
export const contentId = (document: unknown): string =>
  `sha256:${sha256Hex(canonicalJson(document)).slice(0, 32)}`;

/** A string field that is present and not blank, else undefined. */
export const text = (v: unknown): string | undefined =>
  typeof v === "string" && v.trim().length > 0 ? v.trim() : undefined;

/** Plain objects only (not arrays, not null). */
export const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * The SKU a source's item number names: its code in master data, else the number itself when it is
 * a listed SKU or the catalogue is open (any SKU is ours, named as the source names it).
 */
export const skuOf = (md: MasterData, system: string, code: string): string | undefined =>
  md.skuByCode(system, code) ?? (md.knowsSku(code) ? code : undefined);
