/**
 * SAP movement types (BWART) and what each means for a stockline position. One row per type; a
 * type not listed is an untranslatable part naming it, never a guess. The table is the default of
 * `translateSapMaterialDocument`'s `movementTypes` option, so a distributor with its own types
 * (Z01, ...) adds rows rather than code. README.md beside this file shows it as a table.
 *
 * `debitCredit` is the debit/credit indicator (DebitCreditCode, SHKZG) of the line a user enters:
 * `S` (debit) puts stock into the line's plant/storage location, `H` (credit) takes it out. A line
 * that carries another indicator is refused, except for transfers, where the indicator says which
 * side of the move the line's storage location is.
 *
 * Reversals (`reverses`) are signed adjustments of the stock the reversed movement touched, so a
 * movement and its reversal net to zero on the position; the reversal names the reversed line
 * (ReversedMaterialDocument/Year/Item) as its causation id, which is that line's idempotency key.
 */
import type { StockStatus } from "../../domain/statuses.ts";

export type DebitCredit = "S" | "H";

export type MovementRule =
  /** receiveGoods (documents.po); with GoodsMovementRefDocType F (production order) recordProductionOutput. */
  | { readonly rule: "receipt"; readonly debitCredit: "S" }
  /** adjustStock, + for S and - for H, reason code `SAP-<type>`; `status` or the line's stock type. */
  | { readonly rule: "adjustment"; readonly debitCredit: DebitCredit; readonly status?: StockStatus }
  /** consumeForProduction (documents.productionOrder from ManufacturingOrder). */
  | { readonly rule: "consumption"; readonly debitCredit: "H" }
  /** confirmPick then postShipment (documents.order from SalesOrder, else Delivery). */
  | { readonly rule: "shipment"; readonly debitCredit: "H" }
  /** receiveReturn into `into`. */
  | { readonly rule: "return"; readonly debitCredit: "S"; readonly into: "inspection" | "available" }
  /**
   * shipTransfer at the issuing location and receiveTransfer at the receiving one (transfer order:
   * `<document>:<line>`); nothing when both storage locations are one canonical location.
   */
  | { readonly rule: "transfer"; readonly debitCredit: DebitCredit }
  /** changeStatus from -> to at the line's location. */
  | {
      readonly rule: "statusChange";
      readonly debitCredit: "H";
      readonly from: StockStatus;
      readonly to: StockStatus;
    };

export type MovementType = MovementRule & {
  readonly description: string;
  /** The movement type this one reverses. */
  readonly reverses?: string;
};

const adj = (
  debitCredit: DebitCredit,
  description: string,
  extra: { status?: StockStatus; reverses?: string } = {},
): MovementType => ({ rule: "adjustment", debitCredit, description, ...extra });

export const SAP_MOVEMENT_TYPES: Readonly<Record<string, MovementType>> = {
  "101": {
    rule: "receipt",
    debitCredit: "S",
    description: "goods receipt for a purchase order (GoodsMovementRefDocType B) or production order (F)",
  },
  "102": adj("H", "reversal of a goods receipt (101)", { reverses: "101" }),
  "122": adj("H", "return delivery to the supplier"),
  "123": adj("S", "reversal of a return delivery (122)", { reverses: "122" }),
  "201": adj("H", "goods issue to a cost centre", { status: "available" }),
  "202": adj("S", "reversal of a goods issue to a cost centre (201)", {
    status: "available",
    reverses: "201",
  }),
  "261": { rule: "consumption", debitCredit: "H", description: "goods issue to a production order" },
  "262": adj("S", "reversal of a goods issue to a production order (261)", {
    status: "available",
    reverses: "261",
  }),
  "301": { rule: "transfer", debitCredit: "H", description: "transfer plant to plant, one step" },
  "302": { rule: "transfer", debitCredit: "S", description: "reversal of 301", reverses: "301" },
  "311": { rule: "transfer", debitCredit: "H", description: "transfer storage location to storage location" },
  "312": { rule: "transfer", debitCredit: "S", description: "reversal of 311", reverses: "311" },
  "321": statusChange("inspection", "available", "quality inspection to unrestricted"),
  "322": statusChange(
    "available",
    "inspection",
    "reversal of 321: unrestricted to quality inspection",
    "321",
  ),
  "343": statusChange("blocked", "available", "blocked to unrestricted"),
  "344": statusChange("available", "blocked", "reversal of 343: unrestricted to blocked", "343"),
  "349": statusChange("blocked", "inspection", "blocked to quality inspection"),
  "350": statusChange("inspection", "blocked", "reversal of 349: quality inspection to blocked", "349"),
  "551": adj("H", "scrapping from unrestricted", { status: "available" }),
  "552": adj("S", "reversal of scrapping (551)", { status: "available", reverses: "551" }),
  "553": adj("H", "scrapping from quality inspection", { status: "inspection" }),
  "554": adj("S", "reversal of scrapping (553)", { status: "inspection", reverses: "553" }),
  "555": adj("H", "scrapping from blocked stock", { status: "blocked" }),
  "556": adj("S", "reversal of scrapping (555)", { status: "blocked", reverses: "555" }),
  "601": { rule: "shipment", debitCredit: "H", description: "goods issue for a delivery" },
  "602": adj("S", "reversal of a goods issue for a delivery (601)", { status: "available", reverses: "601" }),
  "651": {
    rule: "return",
    debitCredit: "S",
    into: "inspection",
    description: "customer return (returns stock)",
  },
  "652": adj("H", "reversal of a customer return (651)", { status: "inspection", reverses: "651" }),
  "653": {
    rule: "return",
    debitCredit: "S",
    into: "available",
    description: "customer return to unrestricted",
  },
  "654": adj("H", "reversal of a customer return (653)", { status: "available", reverses: "653" }),
  "655": {
    rule: "return",
    debitCredit: "S",
    into: "inspection",
    description: "customer return to inspection",
  },
  "656": adj("H", "reversal of a customer return (655)", { status: "inspection", reverses: "655" }),
  "701": adj("S", "inventory difference, gain, unrestricted", { status: "available" }),
  "702": adj("H", "inventory difference, loss, unrestricted", { status: "available" }),
  "703": adj("S", "inventory difference, gain, quality inspection", { status: "inspection" }),
  "704": adj("H", "inventory difference, loss, quality inspection", { status: "inspection" }),
  "707": adj("S", "inventory difference, gain, blocked", { status: "blocked" }),
  "708": adj("H", "inventory difference, loss, blocked", { status: "blocked" }),
};

function statusChange(
  from: StockStatus,
  to: StockStatus,
  description: string,
  reverses?: string,
): MovementType {
  return { rule: "statusChange", debitCredit: "H", from, to, description, ...(reverses ? { reverses } : {}) };
}

/**
 * SAP stock types (InventoryStockType; the older one-letter INSMK in brackets) to canonical
 * statuses, used when master data has no `statuses.<system>` entry for the code.
 */
export const SAP_STOCK_TYPES: Readonly<Record<string, StockStatus>> = {
  "": "available",
  "01": "available",
  "02": "inspection",
  X: "inspection",
  "07": "blocked",
  S: "blocked",
};

/** Special stock types (InventorySpecialStockType) stockline keeps; others are untranslatable. */
export const SAP_SPECIAL_STOCK_TYPES: Readonly<Record<string, StockStatus | null>> = {
  "": null,
  /** Supplier consignment: on hand, owned by the supplier. */
  K: "consigned",
};
