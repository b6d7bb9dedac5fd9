/**
 * Shopify `inventory_levels/update` and `inventory_levels/disconnect` webhooks.
 *
 * Shopify is a sales channel here, not the system of record for physical stock: its `available` at a
 * location is, almost always, the figure stockline pushed there (the webhook echoes our own
 * `inventorySetQuantities`), or a merchant's manual edit in the Shopify admin. So:
 *
 * 1. `available: null` (the item is not tracked at that location): nothing, with the reason.
 * 2. equal to what stockline last pushed for that SKU-location: an echo, nothing.
 * 3. a level Shopify held before stockline's last push replaced it (`updated_at` earlier than the
 *    push was sent): an earlier echo arriving late, or an edit the push overwrote; nothing.
 * 4. otherwise a change made in Shopify of `available − what stockline last knew` (what it last pushed,
 *    else its ATP). Where the configuration says the shop owns the stock of that location
 *    (`ownsStockAt`, e.g. a store whose only till is Shopify POS), it becomes an `adjustStock` of that
 *    difference. Not a `recordCount` of `available`: Shopify's `available` is net of its committed
 *    (ordered, unfulfilled) units, which stockline holds as reservations, not as less stock on hand; a
 *    count of it would write the reserved units off. Elsewhere it is an untranslatable part for an
 *    operator (the edit is not applied; stockline's next push puts its own figure back).
 *
 * Keys: `<system>:inventory_levels/update:<item>:<location>:<updated_at>`, so a redelivered webhook
 * is the same command whatever stockline has pushed since.
 */
import type { Command } from "../../domain/commands.ts";
import { unitsOf } from "../../domain/units.ts";
import { businessTimeOf, isRecord } from "../source-values.ts";
import type { TranslationContext, UntranslatablePart } from "../translation.ts";
import { shopifyId } from "./shopify-json.ts";
import { locationOfShopify, SHOPIFY_LOCATION_FIELD, shopifyLocationIds } from "./shopify-mapping.ts";
import { type ShopifyTranslation, shopifyTranslation } from "./shopify-translation.ts";

export const SHOPIFY_LEVEL_DOCUMENT = "Shopify inventory level";
export const SHOPIFY_EDIT_REASON = "shopify-admin-edit";

export interface ShopifyInboundContext extends TranslationContext {
  /** Canonical locations whose stock the shop owns (its edits there are stock changes). Default none. */
  readonly ownsStockAt?: readonly string[];
}

/** What stockline knew of a SKU-location when the webhook arrived. */
export interface ShopifyLastKnown {
  /** The last quantity the push set in Shopify, and when it was sent (ISO). */
  readonly pushed?: { readonly quantity: number; readonly at: string };
  /** stockline's ATP there now. */
  readonly atp?: number;
}

export type ShopifyLastKnownLookup = (where: {
  readonly sku: string;
  readonly location: string;
}) => ShopifyLastKnown | undefined;

interface LevelRef {
  readonly itemId: string;
  readonly locationId: string;
  readonly document: UntranslatablePart["document"];
}

const readRef = (payload: Record<string, unknown>): LevelRef | UntranslatablePart[] => {
  const item = shopifyId(payload.inventory_item_id);
  const loc = shopifyId(payload.location_id);
  const id = `${item.ok ? item.value : "?"}@${loc.ok ? loc.value : "?"}`;
  const document = { type: SHOPIFY_LEVEL_DOCUMENT, id };
  const parts: UntranslatablePart[] = [];
  if (!item.ok)
    parts.push({
      document,
      at: "$.inventory_item_id",
      value: payload.inventory_item_id,
      reason: item.reason,
    });
  if (!loc.ok) parts.push({ document, at: "$.location_id", value: payload.location_id, reason: loc.reason });
  return item.ok && loc.ok ? { itemId: item.value, locationId: loc.value, document } : parts;
};

export const translateInventoryLevelUpdate = (
  payload: unknown,
  ctx: ShopifyInboundContext,
  lastKnown: ShopifyLastKnownLookup = () => undefined,
): ShopifyTranslation => {
  if (!isRecord(payload))
    return shopifyTranslation({
      untranslatable: [
        { document: { type: SHOPIFY_LEVEL_DOCUMENT }, at: "$", value: payload, reason: "a JSON object" },
      ],
    });
  const ref = readRef(payload);
  if (Array.isArray(ref)) return shopifyTranslation({ untranslatable: ref });
  const { itemId, locationId, document } = ref;
  const part = (at: string, value: unknown, reason: string): UntranslatablePart => ({
    document,
    at,
    value,
    reason,
  });
  const available = payload.available;
  if (available === null || available === undefined)
    return shopifyTranslation({
      ignored: [
        part(
          "$.available",
          available ?? null,
          `untracked: Shopify does not track item ${itemId} at location ${locationId}; no quantity to compare`,
        ),
      ],
    });
  if (typeof available !== "number" || !Number.isSafeInteger(available))
    return shopifyTranslation({
      untranslatable: [part("$.available", available, "an integer quantity (or null when untracked)")],
    });
  const location = locationOfShopify(ctx.masterData, ctx.system, locationId);
  const sku = ctx.masterData.skuByCode(ctx.system, itemId);
  const unmapped: UntranslatablePart[] = [];
  if (!location)
    unmapped.push(
      part(
        "$.location_id",
        locationId,
        `a Shopify location of ${ctx.system} in master data (codes.${ctx.system}.${SHOPIFY_LOCATION_FIELD}: ${shopifyLocationIds(ctx.masterData, ctx.system).join(", ") || "none"})`,
      ),
    );
  if (!sku)
    unmapped.push(
      part(
        "$.inventory_item_id",
        itemId,
        `an inventory item of ${ctx.system} in master data (a product's codes.${ctx.system})`,
      ),
    );
  if (!location || !sku) return shopifyTranslation({ untranslatable: unmapped });
  const time = businessTimeOf(payload.updated_at);
  const businessTime = time.ok ? time.value : ctx.receivedAt;

  const known = lastKnown({ sku, location: location.id }) ?? {};
  const pushed = known.pushed;
  if (pushed && available === pushed.quantity)
    return shopifyTranslation({
      ignored: [
        part("$.available", available, `echo of stockline's push of ${pushed.quantity} at ${pushed.at}`),
      ],
    });
  if (pushed && Date.parse(businessTime) < Date.parse(pushed.at))
    return shopifyTranslation({
      ignored: [
        part(
          "$.updated_at",
          payload.updated_at,
          `a level of ${available} Shopify held before stockline's push of ${pushed.quantity} at ${pushed.at} replaced it`,
        ),
      ],
    });
  const base = pushed?.quantity ?? known.atp;
  const atpText = known.atp === undefined ? "unknown" : String(known.atp);
  if (base === undefined)
    return shopifyTranslation({
      untranslatable: [
        part(
          "$.available",
          available,
          `Shopify reports ${available} at location ${locationId} for item ${itemId}; stockline has pushed nothing there and knows no ATP of ${sku} at ${location.id} to compare with`,
        ),
      ],
    });
  const delta = available - base;
  if (delta === 0)
    return shopifyTranslation({
      ignored: [part("$.available", available, `agrees with stockline's figure (${base})`)],
    });
  if (!(ctx.ownsStockAt ?? []).includes(location.id))
    return shopifyTranslation({
      untranslatable: [
        part(
          "$.available",
          available,
          `Shopify reports ${available} at location ${locationId} for item ${itemId}; stockline's ATP is ${atpText}${pushed ? ` (last pushed ${pushed.quantity})` : ""}: a manual edit in Shopify; not applied (Shopify is not the system of record for ${location.id})`,
        ),
      ],
    });
  const key = `${ctx.system}:inventory_levels/update:${itemId}:${locationId}:${businessTime}`;
  const command: Command = {
    kind: "adjustStock",
    idempotencyKey: key,
    source: { system: ctx.system, document: { type: SHOPIFY_LEVEL_DOCUMENT, id: document.id ?? key } },
    businessTime,
    correlationId: key,
    position: { sku, location: location.id, region: location.region },
    quantity: { value: delta, uom: unitsOf(ctx.masterData.units, sku)?.baseUom ?? "EA" },
    reasonCode: SHOPIFY_EDIT_REASON,
    status: "available",
  };
  return shopifyTranslation({ commands: [command] });
};

/**
 * `inventory_levels/disconnect`: the shop no longer stocks the item at that location. stockline's
 * stock there is unchanged; the push stops setting that level when master data stops mapping it.
 */
export const translateInventoryLevelDisconnect = (payload: unknown): ShopifyTranslation => {
  if (!isRecord(payload))
    return shopifyTranslation({
      untranslatable: [
        { document: { type: SHOPIFY_LEVEL_DOCUMENT }, at: "$", value: payload, reason: "a JSON object" },
      ],
    });
  const ref = readRef(payload);
  if (Array.isArray(ref)) return shopifyTranslation({ untranslatable: ref });
  return shopifyTranslation({
    ignored: [
      {
        document: ref.document,
        at: "$",
        value: { inventory_item_id: ref.itemId, location_id: ref.locationId },
        reason: `item ${ref.itemId} disconnected from Shopify location ${ref.locationId}: the shop stops selling it there; stockline's stock is unchanged`,
      },
    ],
  });
};
