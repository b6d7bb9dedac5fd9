/** Stock statuses and the buckets a position keeps its quantities in. */
import * as t from "io-ts";

/**
 * Status of stock on hand. `inspection` covers quarantine and quality inspection, `blocked`
 * covers damaged and blocked stock, `consigned` is stock on hand that belongs to someone else.
 */
export const STOCK_STATUSES = ["available", "inspection", "blocked", "consigned"] as const;
export type StockStatus = (typeof STOCK_STATUSES)[number];
export const StockStatusC = t.keyof(
  { available: null, inspection: null, blocked: null, consigned: null },
  '"available" | "inspection" | "blocked" | "consigned"',
);

/**
 * Buckets of on-hand stock: the statuses plus `picked` (allocated to an order and physically
 * present, not yet shipped, never available). On hand = the sum of all buckets.
 */
export const BUCKETS = [...STOCK_STATUSES, "picked"] as const;
export type Bucket = (typeof BUCKETS)[number];

/** Statuses into which a return can be received. */
export const ReturnDispositionC = t.keyof(
  { inspection: null, available: null },
  '"inspection" | "available"',
);
export type ReturnDisposition = t.TypeOf<typeof ReturnDispositionC>;
