/**
 * How a Shopify shop's ids map to stockline's master data, both ways (the inbound translators and the
 * outbound push use the same table):
 * - a Shopify location is a location's code of the shop's system: `codes: { "<system>": { "locationId": "24826418" } }`;
 * - an inventory item is a product's code of the shop's system: `codes: { "<system>": "271878346596884015" }`
 *   (the InventoryItem id, which is what inventory webhooks and `inventorySetQuantities` name);
 * - an order line names its product by `sku` (stockline's SKU, or the product's code of the system).
 */
import type { Location, MasterData } from "../../domain/master-data.ts";

export const SHOPIFY_LOCATION_FIELD = "locationId";

/** The location a Shopify location id names for this shop. */
export const locationOfShopify = (md: MasterData, system: string, locationId: string): Location | undefined =>
  md.locationByCode(system, { [SHOPIFY_LOCATION_FIELD]: locationId });

/** The Shopify location id of a canonical location, when the shop sells there. */
export const shopifyLocationIdOf = (md: MasterData, system: string, location: string): string | undefined => {
  const l = md.location(location);
  const codes = l?.codes && Object.hasOwn(l.codes, system) ? l.codes[system] : undefined;
  return codes && Object.keys(codes).length === 1 ? codes[SHOPIFY_LOCATION_FIELD] : undefined;
};

/** The Shopify inventory item id of a SKU, when the shop sells it. */
export const shopifyItemIdOf = (md: MasterData, system: string, sku: string): string | undefined => {
  const p = md.product(sku);
  return p?.codes && Object.hasOwn(p.codes, system) ? p.codes[system] : undefined;
};

/** The Shopify location ids of this shop in master data, for messages. */
export const shopifyLocationIds = (md: MasterData, system: string): string[] =>
  md.locations.flatMap((l) => {
    const id = shopifyLocationIdOf(md, system, l.id);
    return id === undefined ? [] : [id];
  });
