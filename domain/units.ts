/**
 * Units of measure master data and conversion into a SKU's base unit (DESIGN §3.11).
 *
 * Master data states conversions the way people do ("1 CS = 12 EA", "1 PAL = 40 CS"). A unit may
 * be larger or smaller than the base unit; every unit reachable from the base unit gets an exact
 * rational factor. A conversion whose result is not an integer in the base unit is rejected.
 */
import * as E from "fp-ts/lib/Either.js";
import * as t from "io-ts";
import type { Sku } from "./ids.ts";
import { MAX_QUANTITY } from "./limits.ts";
import type { SourceQuantity, Uom } from "./quantity.ts";
import { CodeC, PositiveIntC } from "./scalars.ts";

export const UnitConversionC = t.type(
  { uom: CodeC, quantity: PositiveIntC, of: CodeC },
  "{ uom, quantity, of } (1 uom = quantity of)",
);
export type UnitConversion = t.TypeOf<typeof UnitConversionC>;

export const SkuUnitsC = t.intersection([
  t.type({ baseUom: CodeC }),
  t.partial({ conversions: t.array(UnitConversionC) }),
]);
export type SkuUnits = t.TypeOf<typeof SkuUnitsC>;

export const UnitMasterC = t.intersection([
  t.type({ skus: t.record(t.string, SkuUnitsC) }),
  t.partial({
    /** Units of SKUs without their own entry (e.g. `{ baseUom: "EA" }`). */
    default: SkuUnitsC,
  }),
]);
export type UnitMaster = t.TypeOf<typeof UnitMasterC>;

/** A unit master that knows only `EA`, for tests and the demo. */
export const EACH_ONLY: UnitMaster = { skus: {}, default: { baseUom: "EA" } };

export type ConversionError =
  | { readonly code: "unknownSku"; readonly sku: Sku; readonly message: string }
  | { readonly code: "unknownUom"; readonly sku: Sku; readonly uom: Uom; readonly message: string }
  | {
      readonly code: "fractionalQuantity";
      readonly sku: Sku;
      readonly uom: Uom;
      readonly value: number;
      readonly baseUom: Uom;
      readonly message: string;
    }
  | { readonly code: "quantityOverflow"; readonly sku: Sku; readonly message: string };

/** Factor of a unit relative to the base unit: 1 unit = num/den base units. */
interface Ratio {
  readonly num: bigint;
  readonly den: bigint;
}

const gcd = (a: bigint, b: bigint): bigint => (b === 0n ? (a < 0n ? -a : a) : gcd(b, a % b));
const ratio = (num: bigint, den: bigint): Ratio => {
  const g = gcd(num, den);
  return { num: num / g, den: den / g };
};

/** Exact factors of every unit reachable from the base unit (breadth-first over the stated conversions). */
export const unitFactors = (units: SkuUnits): ReadonlyMap<Uom, Ratio> => {
  const factors = new Map<Uom, Ratio>([[units.baseUom, { num: 1n, den: 1n }]]);
  const conversions = units.conversions ?? [];
  let grew = true;
  while (grew) {
    grew = false;
    for (const c of conversions) {
      const of = factors.get(c.of);
      const unit = factors.get(c.uom);
      if (of && !unit) {
        // 1 uom = q of  =>  factor(uom) = q * factor(of)
        factors.set(c.uom, ratio(of.num * BigInt(c.quantity), of.den));
        grew = true;
      } else if (unit && !of) {
        // 1 uom = q of  =>  factor(of) = factor(uom) / q
        factors.set(c.of, ratio(unit.num, unit.den * BigInt(c.quantity)));
        grew = true;
      }
    }
  }
  return factors;
};

export const unitsOf = (master: UnitMaster, sku: Sku): SkuUnits | undefined =>
  Object.hasOwn(master.skus, sku) ? master.skus[sku] : master.default;

/** Converts a source quantity to an exact integer in the SKU's base unit of measure. */
export const toBaseQuantity = (
  master: UnitMaster,
  sku: Sku,
  q: SourceQuantity,
): E.Either<ConversionError, number> => {
  const units = unitsOf(master, sku);
  if (!units)
    return E.left({ code: "unknownSku", sku, message: `no unit master data for SKU ${JSON.stringify(sku)}` });
  const f = unitFactors(units).get(q.uom);
  if (!f) {
    return E.left({
      code: "unknownUom",
      sku,
      uom: q.uom,
      message: `unit ${JSON.stringify(q.uom)} has no conversion to ${units.baseUom} for SKU ${JSON.stringify(sku)}`,
    });
  }
  const scaled = BigInt(q.value) * f.num;
  if (scaled % f.den !== 0n) {
    return E.left({
      code: "fractionalQuantity",
      sku,
      uom: q.uom,
      value: q.value,
      baseUom: units.baseUom,
      message: `${q.value} ${q.uom} of SKU ${JSON.stringify(sku)} is ${scaled}/${f.den} ${units.baseUom}, not a whole number of ${units.baseUom}`,
    });
  }
  const base = scaled / f.den;
  // The same bound as in the source unit (limits.ts), so that sums of base quantities stay exact.
  if (base > BigInt(MAX_QUANTITY) || base < -BigInt(MAX_QUANTITY)) {
    return E.left({
      code: "quantityOverflow",
      sku,
      message: `${q.value} ${q.uom} of SKU ${JSON.stringify(sku)} is ${base} ${units.baseUom}, more than the largest quantity of ${MAX_QUANTITY}`,
    });
  }
  return E.right(Number(base));
};
