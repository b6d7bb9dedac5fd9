/**
 * Shopify `orders/create` and `orders/cancelled` webhooks: an order holds stock for its lines until the
 * warehouse picks them, so each line item becomes a `placeReservation` (channel: the shop's system), and
 * a cancelled order (`cancelled_at` set) releases them.
 *
 * - Reservation id, the channel's own: `<system>:<order id>:<line item id>`; keys
 *   `<system>:order:<order id>:<line item id>:place|release` (a redelivered webhook is the same command).
 * - Location: the order's `location_id` (POS and orders assigned a location), else the configured
 *   `fulfillmentLocationId` (the Shopify location the shop fulfils from), through master data; never guessed.
 * - SKU: the line's `sku` through `skuByCode` (stockline's SKU or the product's code of the system),
 *   else its `variant_id` the same way. Quantity: the line's `quantity`, in the product's base unit
 *   (Shopify sells units). Gift cards hold no stock: nothing, with the reason.
 */
import type { Command } from "../../domain/commands.ts";
import type { Location } from "../../domain/master-data.ts";
import { unitsOf } from "../../domain/units.ts";
import { businessTimeOf, isRecord, text } from "../source-values.ts";
import type { TranslationContext, UntranslatablePart } from "../translation.ts";
import { shopifyId } from "./shopify-json.ts";
import { locationOfShopify, SHOPIFY_LOCATION_FIELD, shopifyLocationIds } from "./shopify-mapping.ts";
import { type IgnoredPart, type ShopifyTranslation, shopifyTranslation } from "./shopify-translation.ts";

export const SHOPIFY_ORDER_DOCUMENT = "Shopify order";

export interface ShopifyOrderOptions {
  /** The Shopify location id an order without `location_id` is fulfilled from. */
  readonly fulfillmentLocationId?: string;
  /** Reservation lifetime (default: the node's). */
  readonly reservationTtlSeconds?: number;
}

export const translateOrder = (
  payload: unknown,
  ctx: TranslationContext,
  opts: ShopifyOrderOptions = {},
): ShopifyTranslation => {
  const bad = (document: UntranslatablePart["document"], at: string, value: unknown, reason: string) =>
    shopifyTranslation({ untranslatable: [{ document, at, value, reason }] });
  if (!isRecord(payload)) return bad({ type: SHOPIFY_ORDER_DOCUMENT }, "$", payload, "a JSON object");
  const orderId = shopifyId(payload.id);
  if (!orderId.ok) return bad({ type: SHOPIFY_ORDER_DOCUMENT }, "$.id", payload.id, orderId.reason);
  const oid = orderId.value;
  const document = { type: SHOPIFY_ORDER_DOCUMENT, id: oid };
  const lines = payload.line_items;
  if (!Array.isArray(lines) || lines.length === 0)
    return bad(document, "$.line_items", lines, "a non-empty array of line items");

  const cancelled = payload.cancelled_at !== null && payload.cancelled_at !== undefined;
  const timeAt = cancelled ? "$.cancelled_at" : "$.created_at";
  const time = businessTimeOf(cancelled ? payload.cancelled_at : payload.created_at);
  if (!time.ok)
    return bad(document, timeAt, cancelled ? payload.cancelled_at : payload.created_at, time.reason);

  const located = locate(payload, ctx, opts);
  if (!located.ok) return bad(document, located.at, located.value, located.reason);
  const location = located.found;

  const commands: Command[] = [];
  const untranslatable: UntranslatablePart[] = [];
  const ignored: IgnoredPart[] = [];
  const orderName = text(payload.name) ?? oid;
  for (const [i, line] of lines.entries()) {
    const at = `$.line_items[${i}]`;
    const part = (field: string, value: unknown, reason: string): void => {
      untranslatable.push({ document, at: `${at}${field}`, value, reason });
    };
    if (!isRecord(line)) {
      part("", line, "a line item object");
      continue;
    }
    const lineId = shopifyId(line.id);
    if (!lineId.ok) {
      part(".id", line.id, lineId.reason);
      continue;
    }
    if (line.gift_card === true) {
      ignored.push({ document, at, value: lineId.value, reason: "a gift card holds no stock" });
      continue;
    }
    const found = skuOf(line, ctx);
    if (!found.ok) {
      part(found.at, found.value, found.reason);
      continue;
    }
    const sku = found.found;
    const reservationId = `${ctx.system}:${oid}:${lineId.value}`;
    const common = {
      source: { system: ctx.system, document: { type: SHOPIFY_ORDER_DOCUMENT, id: oid, line: lineId.value } },
      businessTime: time.value,
      correlationId: `${ctx.system}:order:${oid}`,
      position: { sku, location: location.id, region: location.region },
      reservationId,
      documents: { order: orderName },
    };
    const key = `${ctx.system}:order:${oid}:${lineId.value}`;
    if (cancelled) {
      commands.push({ kind: "releaseReservation", idempotencyKey: `${key}:release`, ...common });
      continue;
    }
    const q = line.quantity;
    if (typeof q !== "number" || !Number.isSafeInteger(q) || q <= 0) {
      part(".quantity", q, "a positive whole number of units");
      continue;
    }
    commands.push({
      kind: "placeReservation",
      idempotencyKey: `${key}:place`,
      ...common,
      quantity: { value: q, uom: unitsOf(ctx.masterData.units, sku)?.baseUom ?? "EA" },
      channel: ctx.system,
      ...(opts.reservationTtlSeconds ? { ttlSeconds: opts.reservationTtlSeconds } : {}),
    });
  }
  return shopifyTranslation({ commands, untranslatable, ignored });
};

/** A value found, or where and why not. */
type Found<V> =
  | { readonly ok: true; readonly found: V }
  | { readonly ok: false; readonly at: string; readonly value: unknown; readonly reason: string };

const locate = (
  order: Record<string, unknown>,
  ctx: TranslationContext,
  opts: ShopifyOrderOptions,
): Found<Location> => {
  const raw = order.location_id ?? opts.fulfillmentLocationId;
  const at =
    order.location_id !== undefined && order.location_id !== null
      ? "$.location_id"
      : "$.location_id (fulfillmentLocationId)";
  if (raw === undefined || raw === null)
    return {
      ok: false,
      at: "$.location_id",
      value: null,
      reason: "a location: the order's location_id, or the connector's fulfillmentLocationId",
    };
  const id = shopifyId(raw);
  if (!id.ok) return { ok: false, at, value: raw, reason: id.reason };
  const location = locationOfShopify(ctx.masterData, ctx.system, id.value);
  return location
    ? { ok: true, found: location }
    : {
        ok: false,
        at,
        value: id.value,
        reason: `a Shopify location of ${ctx.system} in master data (codes.${ctx.system}.${SHOPIFY_LOCATION_FIELD}: ${shopifyLocationIds(ctx.masterData, ctx.system).join(", ") || "none"})`,
      };
};

const skuOf = (line: Record<string, unknown>, ctx: TranslationContext): Found<string> => {
  const code = text(line.sku);
  const bySku = code === undefined ? undefined : ctx.masterData.skuByCode(ctx.system, code);
  if (bySku) return { ok: true, found: bySku };
  const variant = shopifyId(line.variant_id);
  const byVariant = variant.ok ? ctx.masterData.skuByCode(ctx.system, variant.value) : undefined;
  if (byVariant) return { ok: true, found: byVariant };
  return {
    ok: false,
    at: ".sku",
    value: line.sku ?? null,
    reason: `a SKU of stockline or a product code of ${ctx.system} (by sku, else variant_id ${variant.ok ? variant.value : "absent"})`,
  };
};
