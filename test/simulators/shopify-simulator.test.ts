import Fastify from "fastify";
import { afterEach, describe, expect, it } from "vitest";
import { verifyShopifyHmac } from "../../connectors/shopify/shopify-hmac.ts";
import { translateInventoryLevelUpdate } from "../../connectors/shopify/shopify-inventory-level.ts";
import { inventorySetQuantitiesBody } from "../../connectors/shopify/shopify-inventory-set.ts";
import { parseShopifyJson } from "../../connectors/shopify/shopify-json.ts";
import type { ShopifyTranslation } from "../../connectors/shopify/shopify-translation.ts";
import { indexMasterData } from "../../domain/master-data.ts";
import { createLogger } from "../../infra/logging.ts";
import { ShopifyPush } from "../../services/channels/shopify-push.ts";
import {
  createShopifySimulator,
  DEFAULT_ACCESS_TOKEN,
  type ShopifySimulator,
  sendShopifyWebhook,
} from "../../services/simulators/shopify-simulator.ts";

const closers: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

const simulator = async (opts: Parameters<typeof createShopifySimulator>[0] = {}) => {
  const sim: ShopifySimulator = createShopifySimulator(opts);
  const base = await sim.listen();
  closers.push(() => sim.close());
  return { sim, url: `${base}/admin/api/2024-07/graphql.json` };
};
const post = (url: string, body: unknown, token = DEFAULT_ACCESS_TOKEN) =>
  fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", "x-shopify-access-token": token },
    body: JSON.stringify(body),
  });

describe("Shopify simulator", () => {
  it("refuses a wrong access token with Shopify's 401", async () => {
    const { url } = await simulator();
    const res = await post(url, inventorySetQuantitiesBody([]), "wrong");
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({
      errors: "[API] Invalid API key or access token (unrecognized login or wrong password)",
    });
  });

  it("answers userErrors with the field path; compareQuantity is required unless ignored", async () => {
    const { url, sim } = await simulator();
    const body = {
      query:
        "mutation inventorySetQuantities($input: InventorySetQuantitiesInput!) { inventorySetQuantities(input: $input) { userErrors { code field message } } }",
      variables: {
        input: {
          name: "available",
          reason: "correction",
          quantities: [
            {
              inventoryItemId: "gid://shopify/InventoryItem/1",
              locationId: "gid://shopify/Location/2",
              quantity: 3,
            },
          ],
        },
      },
    };
    const json = (await (await post(url, body)).json()) as {
      data: { inventorySetQuantities: { userErrors: { code: string; field: string[] }[] } };
      extensions: { cost: { throttleStatus: { maximumAvailable: number } } };
    };
    expect(json.data.inventorySetQuantities.userErrors).toEqual([
      expect.objectContaining({
        code: "COMPARE_QUANTITY_REQUIRED",
        field: ["input", "quantities", "0", "compareQuantity"],
      }),
    ]);
    expect(json.extensions.cost.throttleStatus.maximumAvailable).toBe(1000);
    expect(sim.level("1", "2")).toBeUndefined();
  });

  it("charges the bucket and throttles a request it cannot pay for (nothing applied)", async () => {
    const { url, sim } = await simulator({
      bucket: { maximumAvailable: 20, restoreRate: 1 },
      mutationCost: 10,
    });
    const set = (q: number) =>
      post(url, inventorySetQuantitiesBody([{ inventoryItemId: "1", locationId: "2", quantity: q }]));
    await set(1);
    await set(2);
    const third = (await (await set(3)).json()) as {
      errors: { extensions: { code: string } }[];
      extensions: { cost: { throttleStatus: { currentlyAvailable: number } } };
    };
    expect(third.errors[0]?.extensions.code).toBe("THROTTLED");
    expect(third.extensions.cost.throttleStatus.currentlyAvailable).toBeLessThan(10);
    expect(sim.level("1", "2")).toBe(2);
    expect(sim.stats()).toMatchObject({ applied: 2, throttled: 1 });
  });
});

describe("Shopify round trip: push, echo webhook, inbound translation", () => {
  it("the echo of stockline's own push yields nothing; a merchant's edit is reported, not applied", async () => {
    const secret = "webhook-secret";
    const SHOP = "shopify-nl";
    const ITEM = "271878346596884015";
    const masterData = indexMasterData({
      locations: [{ id: "DC-AMS", region: "eu", codes: { [SHOP]: { locationId: "24826418" } } }],
      products: { items: [{ sku: "SKU-MUG", baseUom: "EA", codes: { [SHOP]: ITEM } }] },
    });
    const received: ShopifyTranslation[] = [];
    const refused: string[] = [];
    let push: ShopifyPush | undefined;
    // A stand-in for the inbound route (built elsewhere): raw body, HMAC, parse, translate.
    const inbound = Fastify();
    inbound.addContentTypeParser("application/json", { parseAs: "buffer" }, (_req, body, done) =>
      done(null, body),
    );
    inbound.post("/webhooks/shopify", async (req, reply) => {
      const raw = new Uint8Array(req.body as Buffer);
      if (!verifyShopifyHmac(raw, String(req.headers["x-shopify-hmac-sha256"] ?? ""), secret)) {
        refused.push(String(req.headers["x-shopify-topic"]));
        return reply.code(401).send({ error: "bad_hmac" });
      }
      const doc = parseShopifyJson(raw);
      if (doc.ok)
        received.push(
          translateInventoryLevelUpdate(
            doc.value,
            { system: SHOP, masterData, receivedAt: new Date().toISOString() },
            push?.lastKnown,
          ),
        );
      return { ok: true };
    });
    await inbound.listen({ port: 0, host: "127.0.0.1" });
    closers.push(() => inbound.close());
    const address = inbound.server.address() as { port: number };
    const webhookUrl = `http://127.0.0.1:${address.port}/webhooks/shopify`;
    const { sim, url } = await simulator({ webhooks: { url: webhookUrl, secret } });
    push = new ShopifyPush({
      system: SHOP,
      masterData,
      graphqlUrl: url,
      accessToken: DEFAULT_ACCESS_TOKEN,
      coalesceMs: 10,
      logger: createLogger("shopify-roundtrip", { level: "silent" }),
    });
    closers.push(() => push!.stop());

    push.atpChanged("SKU-MUG", "DC-AMS", 5);
    await push.idle();
    await expect.poll(() => received.length).toBe(1);
    expect(received[0]?.commands).toEqual([]);
    expect(received[0]?.ignored[0]?.reason).toMatch(/^echo of stockline's push of 5 at /);

    await sim.edit(ITEM, "24826418", 7); // a merchant types 7 in the Shopify admin
    await expect.poll(() => received.length).toBe(2);
    expect(received[1]?.commands).toEqual([]);
    expect(received[1]?.untranslatable[0]?.reason).toBe(
      `Shopify reports 7 at location 24826418 for item ${ITEM}; stockline's ATP is 5 (last pushed 5): a manual edit in Shopify; not applied (Shopify is not the system of record for DC-AMS)`,
    );

    const forged = await sendShopifyWebhook({
      url: webhookUrl,
      topic: "inventory_levels/update",
      body: { available: 1 },
      secret: "not-the-secret",
    });
    expect(forged.status).toBe(401);
    expect(refused).toEqual(["inventory_levels/update"]);
  }, 20_000);
});
