/**
 * One Shopify webhook as an inbound transport receives it (topic header, raw body, HMAC header) to
 * its outcome: refused (bad signature: the route answers 401 and logs it, nothing is read), unreadable,
 * a topic this connector does not translate, or the translation. The route owns HTTP; this owns the
 * order of the checks: the signature first, over the raw bytes, before any parsing.
 */
import { verifyShopifyHmac } from "./shopify-hmac.ts";
import {
  type ShopifyInboundContext,
  type ShopifyLastKnownLookup,
  translateInventoryLevelDisconnect,
  translateInventoryLevelUpdate,
} from "./shopify-inventory-level.ts";
import { parseShopifyJson } from "./shopify-json.ts";
import { type ShopifyOrderOptions, translateOrder } from "./shopify-order.ts";
import type { ShopifyTranslation } from "./shopify-translation.ts";

export const SHOPIFY_TOPICS = [
  "inventory_levels/update",
  "inventory_levels/disconnect",
  "orders/create",
  "orders/cancelled",
] as const;
export type ShopifyTopic = (typeof SHOPIFY_TOPICS)[number];

export interface ShopifyWebhook {
  /** `X-Shopify-Topic` */
  readonly topic: string;
  /** `X-Shopify-Hmac-Sha256` */
  readonly hmac: string;
  /** The request body exactly as received. */
  readonly rawBody: Uint8Array;
}

export type ShopifyWebhookOutcome =
  | { readonly kind: "refused"; readonly reason: string }
  | { readonly kind: "unreadable"; readonly reason: string }
  | { readonly kind: "unsupportedTopic"; readonly topic: string; readonly supported: readonly string[] }
  | { readonly kind: "translated"; readonly topic: ShopifyTopic; readonly translation: ShopifyTranslation };

export const handleShopifyWebhook = (
  webhook: ShopifyWebhook,
  secret: string,
  ctx: ShopifyInboundContext,
  opts: { readonly lastKnown?: ShopifyLastKnownLookup } & ShopifyOrderOptions = {},
): ShopifyWebhookOutcome => {
  if (!verifyShopifyHmac(webhook.rawBody, webhook.hmac, secret))
    return {
      kind: "refused",
      reason: `X-Shopify-Hmac-Sha256 is not the HMAC-SHA256 of the body under ${ctx.system}'s webhook secret`,
    };
  const topic = SHOPIFY_TOPICS.find((t) => t === webhook.topic);
  if (!topic) return { kind: "unsupportedTopic", topic: webhook.topic, supported: SHOPIFY_TOPICS };
  const doc = parseShopifyJson(webhook.rawBody);
  if (!doc.ok) return { kind: "unreadable", reason: doc.reason };
  const translation =
    topic === "inventory_levels/update"
      ? translateInventoryLevelUpdate(doc.value, ctx, opts.lastKnown)
      : topic === "inventory_levels/disconnect"
        ? translateInventoryLevelDisconnect(doc.value)
        : translateOrder(doc.value, ctx, opts);
  return { kind: "translated", topic, translation };
};
