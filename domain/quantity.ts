/**
 * Quantities. Balances are integers in the product's base unit of measure (DESIGN §3.11); a
 * quantity as a source system sent it keeps its value and unit next to the base quantity.
 */
import * as t from "io-ts";
import { CodeC, DeltaAmountC, LevelAmountC, MovementAmountC, RecordedAmountC } from "./scalars.ts";

/** A unit of measure code as master data spells it (`EA`, `CS`, `PAL`). */
export type Uom = string;

/** A quantity in some unit, as a source system sent it. */
export interface SourceQuantity {
  readonly value: number;
  readonly uom: Uom;
}

const sourceQuantity = (value: t.Type<number, number, unknown>) =>
  t.type({ value, uom: CodeC }, `{ value: ${value.name}, uom }`);

// Every value is bounded by MAX_QUANTITY (limits.ts), in its own unit and again after conversion.
/** A movement quantity: strictly positive, integral in its own unit. */
export const MovementQuantityC = sourceQuantity(MovementAmountC);
/** An absolute level such as a counted quantity: zero allowed. */
export const LevelQuantityC = sourceQuantity(LevelAmountC);
/** A signed delta such as an adjustment: never zero. */
export const DeltaQuantityC = sourceQuantity(DeltaAmountC);
/** Any integral quantity (as recorded in events). */
export const RecordedQuantityC = sourceQuantity(RecordedAmountC);

/** Adds base quantities, refusing results that are no longer exact integers. */
export const addQuantities = (a: number, b: number): number => {
  const s = a + b;
  if (!Number.isSafeInteger(s)) throw new RangeError(`quantity overflow: ${a} + ${b}`);
  return s;
};
