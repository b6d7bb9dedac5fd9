import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import * as E from "fp-ts/lib/Either.js";
import { describe, expect, it } from "vitest";
import { shopifyHmac, verifyShopifyHmac } from "../../connectors/shopify/shopify-hmac.ts";
import {
  type ShopifyInboundContext,
  type ShopifyLastKnown,
  translateInventoryLevelDisconnect,
  translateInventoryLevelUpdate,
} from "../../connectors/shopify/shopify-inventory-level.ts";
import { parseShopifyJson } from "../../connectors/shopify/shopify-json.ts";
import { translateOrder } from "../../connectors/shopify/shopify-order.ts";
import type { ShopifyTranslation } from "../../connectors/shopify/shopify-translation.ts";
import { handleShopifyWebhook } from "../../connectors/shopify/shopify-webhook.ts";
import { decodeCommand } from "../../domain/commands.ts";
import { indexMasterData } from "../../domain/master-data.ts";

const here = path.dirname(fileURLToPath(import.meta.url));
const samples = path.resolve(here, "../../../shared/samples/payloads/shopify");
const raw = (name: string) => new Uint8Array(readFileSync(path.join(samples, name)));
const textOf = (b: Uint8Array) => Buffer.from(b).toString("utf8");
const sample = (name: string): unknown => {
  const r = parseShopifyJson(raw(name));
  if (!r.ok) throw new Error(r.reason);
  return r.value;
};

const SHOP = "shopify-nl";
const ITEM = "271878346596884015"; // beyond 2^53: JSON.parse would read 271878346596884000
const masterData = indexMasterData({
  locations: [
    { id: "DC-AMS", region: "eu", codes: { [SHOP]: { locationId: "24826418" } } },
    { id: "STORE-UTR", region: "eu", codes: { [SHOP]: { locationId: "53716844710" } } },
  ],
  products: {
    items: [
      { sku: "SKU-MUG", baseUom: "EA", codes: { [SHOP]: ITEM } },
      { sku: "SKU-TEE", baseUom: "EA" },
    ],
  },
});
const ctx: ShopifyInboundContext = { system: SHOP, masterData, receivedAt: "2026-01-02T10:00:00Z" };
const known =
  (k: ShopifyLastKnown) =>
  ({ sku, location }: { sku: string; location: string }) =>
    sku === "SKU-MUG" && location === "DC-AMS" ? k : undefined;

const valid = (t: ShopifyTranslation) => {
  for (const c of t.commands) expect(E.isRight(decodeCommand(c)), JSON.stringify(c)).toBe(true);
  return t;
};

describe("Shopify webhook HMAC (X-Shopify-Hmac-Sha256)", () => {
  const secret = "hush";
  const body = raw("inventory_levels_update.webhook.json");
  const header = shopifyHmac(body, secret);

  it("accepts the base64 HMAC-SHA256 of the raw body", () => {
    expect(verifyShopifyHmac(body, header, secret)).toBe(true);
  });
  it("refuses another secret, a tampered body, an empty or garbage header", () => {
    expect(verifyShopifyHmac(body, header, "other")).toBe(false);
    const tampered = Buffer.from(textOf(body).replace('"available": 10', '"available": 11'));
    expect(verifyShopifyHmac(new Uint8Array(tampered), header, secret)).toBe(false);
    expect(verifyShopifyHmac(body, "", secret)).toBe(false);
    expect(verifyShopifyHmac(body, "not-base64!", secret)).toBe(false);
  });
  it("refuses the same document serialized again (the check is over the bytes as sent)", () => {
    const reserialized = new TextEncoder().encode(JSON.stringify(JSON.parse(textOf(body))));
    expect(textOf(reserialized)).not.toBe(textOf(body));
    expect(verifyShopifyHmac(new Uint8Array(reserialized), header, secret)).toBe(false);
  });
});

describe("inventory_levels/update (samples)", () => {
  it("keeps the 64-bit inventory_item_id exact", () => {
    expect(
      (sample("inventory_levels_update.webhook.json") as { inventory_item_id: unknown }).inventory_item_id,
    ).toBe(ITEM);
  });

  it("available 10 equal to what stockline pushed: an echo, nothing", () => {
    const t = valid(
      translateInventoryLevelUpdate(
        sample("inventory_levels_update.webhook.json"),
        ctx,
        known({ pushed: { quantity: 10, at: "2022-01-01T00:00:00Z" }, atp: 10 }),
      ),
    );
    expect(t.commands).toEqual([]);
    expect(t.untranslatable).toEqual([]);
    expect(t.ignored).toEqual([
      {
        document: { type: "Shopify inventory level", id: `${ITEM}@24826418` },
        at: "$.available",
        value: 10,
        reason: "echo of stockline's push of 10 at 2022-01-01T00:00:00Z",
      },
    ]);
  });

  it("a level older than stockline's last push: superseded, nothing", () => {
    const t = translateInventoryLevelUpdate(
      sample("inventory_levels_update.webhook.json"),
      ctx,
      known({ pushed: { quantity: 8, at: "2022-01-01T00:00:01Z" } }), // updated_at is 2022-01-01T00:00:00Z
    );
    expect(t.commands).toEqual([]);
    expect(t.ignored[0]?.at).toBe("$.updated_at");
  });

  it("a manual edit where Shopify is not the system of record: untranslatable, naming both figures", () => {
    const t = translateInventoryLevelUpdate(
      sample("inventory_levels_update.webhook.json"),
      ctx,
      known({ pushed: { quantity: 7, at: "2021-12-31T00:00:00Z" }, atp: 7 }),
    );
    expect(t.commands).toEqual([]);
    expect(t.untranslatable).toEqual([
      {
        document: { type: "Shopify inventory level", id: `${ITEM}@24826418` },
        at: "$.available",
        value: 10,
        reason: `Shopify reports 10 at location 24826418 for item ${ITEM}; stockline's ATP is 7 (last pushed 7): a manual edit in Shopify; not applied (Shopify is not the system of record for DC-AMS)`,
      },
    ]);
  });

  it("a manual edit where the shop owns the stock: adjustStock of available − last pushed", () => {
    const t = valid(
      translateInventoryLevelUpdate(
        sample("inventory_levels_update.webhook.json"),
        { ...ctx, ownsStockAt: ["DC-AMS"] },
        known({ pushed: { quantity: 7, at: "2021-12-31T00:00:00Z" }, atp: 6 }),
      ),
    );
    const key = `${SHOP}:inventory_levels/update:${ITEM}:24826418:2021-12-31T19:00:00-05:00`;
    expect(t.commands).toEqual([
      {
        kind: "adjustStock",
        idempotencyKey: key,
        source: { system: SHOP, document: { type: "Shopify inventory level", id: `${ITEM}@24826418` } },
        businessTime: "2021-12-31T19:00:00-05:00",
        correlationId: key,
        position: { sku: "SKU-MUG", location: "DC-AMS", region: "eu" },
        quantity: { value: 3, uom: "EA" },
        reasonCode: "shopify-admin-edit",
        status: "available",
      },
    ]);
  });

  it("nothing pushed and no ATP known: untranslatable, nothing guessed", () => {
    const t = translateInventoryLevelUpdate(sample("inventory_levels_update.webhook.json"), {
      ...ctx,
      ownsStockAt: ["DC-AMS"],
    });
    expect(t.commands).toEqual([]);
    expect(t.untranslatable[0]?.reason).toMatch(
      /stockline has pushed nothing there and knows no ATP of SKU-MUG at DC-AMS/,
    );
  });

  it("available null (untracked): nothing, with the reason", () => {
    const t = translateInventoryLevelUpdate(
      sample("inventory_levels_update.untracked_null_available.json"),
      ctx,
    );
    expect(t.commands).toEqual([]);
    expect(t.untranslatable).toEqual([]);
    expect(t.ignored).toEqual([
      {
        document: { type: "Shopify inventory level", id: `${ITEM}@53716844710` },
        at: "$.available",
        value: null,
        reason: `untracked: Shopify does not track item ${ITEM} at location 53716844710; no quantity to compare`,
      },
    ]);
  });

  it("disconnect: nothing for stock, with the reason", () => {
    const t = translateInventoryLevelDisconnect(sample("inventory_levels_disconnect.webhook.json"));
    expect(t.commands).toEqual([]);
    expect(t.ignored[0]?.reason).toBe(
      `item ${ITEM} disconnected from Shopify location 24826418: the shop stops selling it there; stockline's stock is unchanged`,
    );
  });

  it("parsed with JSON.parse the id has lost digits: refused at $.inventory_item_id, not mapped to a wrong item", () => {
    const t = translateInventoryLevelUpdate(
      JSON.parse(textOf(raw("inventory_levels_update.webhook.json"))),
      ctx,
    );
    expect(t.untranslatable.map((p) => p.at)).toEqual(["$.inventory_item_id"]);
    expect(t.untranslatable[0]?.reason).toMatch(/beyond 2\^53/);
  });

  it("an unknown location or item is named with the codes master data knows (constructed)", () => {
    const t = translateInventoryLevelUpdate(
      { inventory_item_id: 42, location_id: 99, available: 3, updated_at: "2026-01-01T00:00:00Z" },
      ctx,
    );
    expect(t.untranslatable).toEqual([
      {
        document: { type: "Shopify inventory level", id: "42@99" },
        at: "$.location_id",
        value: "99",
        reason: `a Shopify location of ${SHOP} in master data (codes.${SHOP}.locationId: 24826418, 53716844710)`,
      },
      {
        document: { type: "Shopify inventory level", id: "42@99" },
        at: "$.inventory_item_id",
        value: "42",
        reason: `an inventory item of ${SHOP} in master data (a product's codes.${SHOP})`,
      },
    ]);
  });

  it("a quantity that is not an integer is untranslatable (constructed)", () => {
    const t = translateInventoryLevelUpdate(
      { inventory_item_id: ITEM, location_id: 24826418, available: "7" },
      ctx,
    );
    expect(t.untranslatable.map((p) => [p.at, p.value])).toEqual([["$.available", "7"]]);
  });
});

// Constructed orders (the samples hold no order webhook): the fields Shopify's orders/create sends.
const order = (over: Record<string, unknown> = {}) => ({
  id: 820982911946154500,
  name: "#1001",
  created_at: "2026-03-01T09:30:00+01:00",
  cancelled_at: null,
  location_id: 24826418,
  line_items: [
    { id: 466157049, sku: "SKU-MUG", variant_id: 39072856, quantity: 2 },
    { id: 518995019, sku: "", variant_id: 49148385, quantity: 1 },
    { id: 703073504, sku: "GIFT", gift_card: true, quantity: 1 },
  ],
  ...over,
});
const orderMd = indexMasterData({
  locations: masterData.input.locations,
  products: {
    items: [
      { sku: "SKU-MUG", baseUom: "EA", codes: { [SHOP]: ITEM } },
      { sku: "SKU-TEE", baseUom: "EA", codes: { [SHOP]: "49148385" } },
    ],
  },
});
const octx = { system: SHOP, masterData: orderMd, receivedAt: "2026-03-01T08:31:00Z" };

describe("orders/create and orders/cancelled (constructed)", () => {
  const common = (line: string, sku: string, time: string) => ({
    source: { system: SHOP, document: { type: "Shopify order", id: "820982911946154500", line } },
    businessTime: time,
    correlationId: `${SHOP}:order:820982911946154500`,
    position: { sku, location: "DC-AMS", region: "eu" },
    reservationId: `${SHOP}:820982911946154500:${line}`,
    documents: { order: "#1001" },
  });

  it("each line item becomes a reservation with the channel's own id (order id + line item id)", () => {
    const t = valid(translateOrder(parseOk(JSON.stringify(order())), octx));
    expect(t.commands).toEqual([
      {
        kind: "placeReservation",
        idempotencyKey: `${SHOP}:order:820982911946154500:466157049:place`,
        ...common("466157049", "SKU-MUG", "2026-03-01T09:30:00+01:00"),
        quantity: { value: 2, uom: "EA" },
        channel: SHOP,
      },
      {
        kind: "placeReservation",
        idempotencyKey: `${SHOP}:order:820982911946154500:518995019:place`,
        ...common("518995019", "SKU-TEE", "2026-03-01T09:30:00+01:00"),
        quantity: { value: 1, uom: "EA" },
        channel: SHOP,
      },
    ]);
    expect(t.ignored.map((p) => [p.at, p.reason])).toEqual([
      ["$.line_items[2]", "a gift card holds no stock"],
    ]);
    expect(translateOrder(parseOk(JSON.stringify(order())), octx)).toEqual(t); // same document, same keys
  });

  it("a cancelled order releases every line's reservation", () => {
    const t = valid(
      translateOrder(order({ id: "820982911946154500", cancelled_at: "2026-03-02T10:00:00Z" }), octx),
    );
    expect(t.commands).toEqual([
      {
        kind: "releaseReservation",
        idempotencyKey: `${SHOP}:order:820982911946154500:466157049:release`,
        ...common("466157049", "SKU-MUG", "2026-03-02T10:00:00Z"),
      },
      {
        kind: "releaseReservation",
        idempotencyKey: `${SHOP}:order:820982911946154500:518995019:release`,
        ...common("518995019", "SKU-TEE", "2026-03-02T10:00:00Z"),
      },
    ]);
  });

  it("without location_id: the configured fulfilment location, else untranslatable at $.location_id", () => {
    const noLoc = order({ id: "1", location_id: null });
    expect(
      translateOrder(noLoc, octx, { fulfillmentLocationId: "53716844710" }).commands[0]?.position.location,
    ).toBe("STORE-UTR");
    const t = translateOrder(noLoc, octx);
    expect(t.commands).toEqual([]);
    expect(t.untranslatable.map((p) => p.at)).toEqual(["$.location_id"]);
  });

  it("an unmapped line, a bad quantity: named per line; the other lines still translate", () => {
    const t = translateOrder(
      order({
        id: "2",
        line_items: [
          { id: 1, sku: "NOPE", variant_id: 5, quantity: 1 },
          { id: 2, sku: "SKU-MUG", quantity: 0 },
          { id: 3, sku: "SKU-MUG", quantity: 4 },
        ],
      }),
      octx,
    );
    expect(t.commands.map((c) => ("reservationId" in c ? c.reservationId : undefined))).toEqual([
      `${SHOP}:2:3`,
    ]);
    expect(t.untranslatable.map((p) => [p.at, p.value])).toEqual([
      ["$.line_items[0].sku", "NOPE"],
      ["$.line_items[1].quantity", 0],
    ]);
  });
});

function parseOk(text: string): unknown {
  const r = parseShopifyJson(text);
  if (!r.ok) throw new Error(r.reason);
  return r.value;
}

describe("handleShopifyWebhook: what the inbound route calls", () => {
  const secret = "s3cret";
  const body = raw("inventory_levels_update.webhook.json");
  const webhook = { topic: "inventory_levels/update", hmac: shopifyHmac(body, secret), rawBody: body };

  it("checks the signature before reading anything", () => {
    expect(handleShopifyWebhook({ ...webhook, hmac: shopifyHmac(body, "other") }, secret, ctx)).toEqual({
      kind: "refused",
      reason: `X-Shopify-Hmac-Sha256 is not the HMAC-SHA256 of the body under ${SHOP}'s webhook secret`,
    });
    const garbage = new TextEncoder().encode("{not json");
    expect(handleShopifyWebhook({ ...webhook, rawBody: garbage, hmac: "x" }, secret, ctx).kind).toBe(
      "refused",
    );
    expect(
      handleShopifyWebhook({ ...webhook, rawBody: garbage, hmac: shopifyHmac(garbage, secret) }, secret, ctx)
        .kind,
    ).toBe("unreadable");
  });

  it("translates by topic; names the topics it knows otherwise", () => {
    const out = handleShopifyWebhook(webhook, secret, ctx, {
      lastKnown: known({ pushed: { quantity: 10, at: "2021-01-01T00:00:00Z" } }),
    });
    expect(out.kind === "translated" && out.translation.ignored[0]?.reason).toMatch(
      /^echo of stockline's push of 10/,
    );
    expect(handleShopifyWebhook({ ...webhook, topic: "products/update" }, secret, ctx)).toMatchObject({
      kind: "unsupportedTopic",
      topic: "products/update",
    });
  });
});
