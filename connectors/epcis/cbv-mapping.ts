/**
 * CBV 2.0 business steps and dispositions to stockline's movements and statuses (the table in
 * connectors/epcis/README.md). Business steps and dispositions are the bare CBV words (`cbvWord`).
 *
 * A disposition's status comes first from the source's own status vocabulary in master data
 * (`statuses.<system>.<disposition>`), so a distributor can say that `non_conformant` is `inspection`
 * for one feed; otherwise from `DISPOSITION_STATUS`.
 */
import type { MasterData } from "../../domain/master-data.ts";
import type { StockStatus } from "../../domain/statuses.ts";

/** CBV 2.0 dispositions that describe stock on hand, and its status. The rest say nothing of a status. */
export const DISPOSITION_STATUS: Readonly<Record<string, StockStatus>> = {
  active: "available",
  available: "available",
  conformant: "available",
  in_progress: "available",
  sellable_accessible: "available",
  sellable_not_accessible: "available",
  completeness_verified: "available",
  completeness_inferred: "available",
  container_closed: "available",
  container_open: "available",
  encoded: "available",
  reserved: "available",
  partially_dispensed: "available",
  returned: "inspection",
  unknown: "inspection",
  non_conformant: "blocked",
  damaged: "blocked",
  expired: "blocked",
  recalled: "blocked",
  non_sellable_other: "blocked",
  needs_replacement: "blocked",
  mismatch_instance: "blocked",
  mismatch_class: "blocked",
  mismatch_quantity: "blocked",
  no_pedigree_match: "blocked",
  unavailable: "blocked",
};

/** The status a disposition puts stock in, or undefined (`in_transit`, `destroyed`, a source's unknown URI). */
export const statusOfDisposition = (
  md: MasterData,
  system: string,
  disposition: string | undefined,
): StockStatus | undefined => {
  if (disposition === undefined) return undefined;
  return (
    md.canonicalStatus(system, disposition) ??
    (Object.hasOwn(DISPOSITION_STATUS, disposition) ? DISPOSITION_STATUS[disposition] : undefined)
  );
};

/** What an ObjectEvent means for the position at its location (before looking at sources and destinations). */
export type ObjectMovement =
  | { readonly kind: "receipt" } // receiveGoods, receiveReturn (disposition returned) or receiveTransfer (from our location)
  | { readonly kind: "shipment" } // postShipment, or shipTransfer to our location
  | { readonly kind: "pick" }
  | { readonly kind: "statusChange"; readonly from: StockStatus; readonly to: StockStatus }
  | { readonly kind: "count"; readonly status: StockStatus }
  | { readonly kind: "production" }
  | { readonly kind: "adjustment"; readonly sign: 1 | -1; readonly reasonCode: string }
  | { readonly kind: "none"; readonly reason: string };

const RECEIVING = new Set(["receiving", "accepting"]);
const SHIPPING = new Set(["shipping", "departing"]);
const COUNTING = new Set(["cycle_counting", "stock_taking"]);
const REMOVING = new Set(["decommissioning", "destroying", "retail_selling"]);
/** Dispositions that say the objects are gone whatever the step. */
const GONE = new Set(["destroyed", "disposed", "stolen", "dispensed", "retail_sold"]);

/** Business steps that move nothing between positions or statuses, with why (an untranslatable part names it). */
const WITHIN_LOCATION =
  "moves or handles stock within its location or in transit; it changes no position's balance (stockline takes receipts, shipments, picks, status changes, counts, production and removals)";

/**
 * The movement of an ObjectEvent from its action, bizStep and disposition. `status` is the
 * disposition's status (statusOfDisposition). DELETE: the objects ceased to exist (decommissioned).
 */
export const objectMovement = (
  action: string,
  bizStep: string | undefined,
  disposition: string | undefined,
  status: StockStatus | undefined,
): ObjectMovement => {
  if (action === "DELETE")
    return { kind: "adjustment", sign: -1, reasonCode: `epcis:${bizStep ?? "DELETE"}` };
  if (bizStep === undefined)
    return { kind: "none", reason: "an ObjectEvent without bizStep says no movement" };
  if (RECEIVING.has(bizStep)) return { kind: "receipt" };
  if (SHIPPING.has(bizStep)) return { kind: "shipment" };
  if (bizStep === "picking") return { kind: "pick" };
  if (bizStep === "commissioning") return { kind: "production" };
  if (COUNTING.has(bizStep)) return { kind: "count", status: status ?? "available" };
  if (REMOVING.has(bizStep) || (disposition !== undefined && GONE.has(disposition)))
    return { kind: "adjustment", sign: -1, reasonCode: `epcis:${bizStep}` };
  if (bizStep === "void_shipping") return { kind: "adjustment", sign: 1, reasonCode: "epcis:void_shipping" };
  if (bizStep === "inspecting") {
    // Under inspection (in_progress, unknown, no disposition): into inspection; a verdict: out of it.
    if (status === undefined || disposition === "in_progress" || status === "inspection")
      return { kind: "statusChange", from: "available", to: "inspection" };
    return { kind: "statusChange", from: "inspection", to: status };
  }
  if (bizStep === "holding")
    return {
      kind: "statusChange",
      from: "available",
      to: status === undefined || status === "available" ? "inspection" : status,
    };
  return { kind: "none", reason: `bizStep ${bizStep} ${WITHIN_LOCATION}` };
};
