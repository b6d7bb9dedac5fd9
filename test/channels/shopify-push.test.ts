import { afterEach, describe, expect, it } from "vitest";
import { indexMasterData } from "../../domain/master-data.ts";
import { createLogger } from "../../infra/logging.ts";
import { ShopifyPush } from "../../services/channels/shopify-push.ts";
import {
  createShopifySimulator,
  DEFAULT_ACCESS_TOKEN,
  type ShopifySimulator,
  type ShopifySimulatorOptions,
} from "../../services/simulators/shopify-simulator.ts";

const SHOP = "shopify-nl";
const SKUS = Array.from({ length: 50 }, (_, i) => `SKU-${String(i).padStart(2, "0")}`);
const itemOf = (sku: string) => String(9_000_000_000_000_000_000n + BigInt(sku.slice(4))); // 64-bit ids
const LOCATIONS = [
  { id: "DC-AMS", shopify: "24826418" },
  { id: "DC-RTM", shopify: "24826419" },
  { id: "STORE-UTR", shopify: "53716844710" },
];
const masterData = indexMasterData({
  locations: [
    ...LOCATIONS.map((l) => ({ id: l.id, region: "eu", codes: { [SHOP]: { locationId: l.shopify } } })),
    { id: "DC-BER", region: "eu" }, // the shop does not sell from here
  ],
  products: { items: SKUS.map((sku) => ({ sku, baseUom: "EA", codes: { [SHOP]: itemOf(sku) } })) },
});
const shopifyOf = (location: string) => LOCATIONS.find((l) => l.id === location)!.shopify;

let sim: ShopifySimulator | undefined;
let push: ShopifyPush | undefined;
afterEach(async () => {
  await push?.stop();
  await sim?.close();
  push = undefined;
  sim = undefined;
});

const start = async (
  simOpts: ShopifySimulatorOptions,
  pushOpts: Partial<ConstructorParameters<typeof ShopifyPush>[0]> = {},
) => {
  sim = createShopifySimulator(simOpts);
  const base = await sim.listen();
  push = new ShopifyPush({
    system: SHOP,
    masterData,
    graphqlUrl: `${base}/admin/api/2024-07/graphql.json`,
    accessToken: DEFAULT_ACCESS_TOKEN,
    coalesceMs: 100,
    minRetryMs: 20,
    maxRetryMs: 200,
    logger: createLogger("shopify-push-test", { level: "silent" }),
    ...pushOpts,
  });
  return { sim, push };
};

/** A deterministic stream of ATP changes: (sku, location, atp). */
const changes = (n: number, seed: number) => {
  let x = seed;
  const next = () => {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    return x;
  };
  return Array.from({ length: n }, (_, i) => ({
    sku: SKUS[i % SKUS.length]!,
    location: LOCATIONS[next() % LOCATIONS.length]!.id,
    atp: next() % 200,
  }));
};

describe("Shopify push (inventorySetQuantities) against the simulator's cost limit", () => {
  it("500 ATP changes on 50 SKUs: one mutation per SKU, never over budget, Shopify ends at the last ATP", async () => {
    // 100 points, 200 restored per second, 10 a mutation: 50 mutations cannot go out at once.
    const { sim, push } = await start({
      bucket: { maximumAvailable: 100, restoreRate: 200 },
      mutationCost: 10,
    });
    const last = new Map<string, number>();
    for (const c of changes(500, 7)) {
      expect(push.atpChanged(c.sku, c.location, c.atp)).toBe(true);
      last.set(`${c.sku}|${c.location}`, c.atp);
    }
    expect(push.atpChanged("SKU-00", "DC-BER", 5)).toBe(false); // not sold there: not pushed
    await push.idle();

    expect(sim.stats().applied).toBe(50);
    expect(sim.stats().throttled).toBe(0);
    expect(push.stats.throttled).toBe(0);
    expect(push.stats.waitsForBudget).toBeGreaterThan(0);
    for (const [k, atp] of last) {
      const [sku, location] = k.split("|") as [string, string];
      expect(sim.level(itemOf(sku), shopifyOf(location)), k).toBe(atp);
      expect(push.pushed(sku, location)?.quantity).toBe(atp);
    }
    expect(sim.level(itemOf("SKU-00"), "0")).toBeUndefined();
    // Each mutation carries all the SKU's changed locations (one item, several locations).
    for (const e of sim.ledger()) expect(new Set(e.quantities.map((q) => q.inventoryItemId)).size).toBe(1);
    expect(sim.stats().quantitiesSet).toBe(last.size);
  }, 30_000);

  it("changes arriving while mutations are in flight coalesce into at most one more mutation per SKU", async () => {
    const { sim, push } = await start({
      bucket: { maximumAvailable: 100, restoreRate: 200 },
      mutationCost: 10,
    });
    const last = new Map<string, number>();
    const feed = (seed: number) => {
      for (const c of changes(500, seed)) {
        push.atpChanged(c.sku, c.location, c.atp);
        last.set(`${c.sku}|${c.location}`, c.atp);
      }
    };
    feed(1);
    await new Promise((r) => setTimeout(r, 400)); // the first flush is under way
    feed(2);
    await push.idle();
    expect(sim.stats().applied).toBeLessThanOrEqual(100);
    expect(sim.stats().throttled).toBe(0);
    for (const [k, atp] of last) {
      const [sku, location] = k.split("|") as [string, string];
      expect(sim.level(itemOf(sku), shopifyOf(location)), k).toBe(atp);
    }
  }, 30_000);

  it("a THROTTLED answer waits for the bucket and sends the same mutation again: nothing lost", async () => {
    // The bucket is empty when the push first calls (it cannot know): throttled once, then paced.
    const { sim, push } = await start({
      bucket: { maximumAvailable: 50, restoreRate: 20, initiallyAvailable: 0 },
      mutationCost: 10,
    });
    for (const sku of SKUS.slice(0, 3)) push.atpChanged(sku, "DC-AMS", 11);
    await push.idle();
    expect(sim.stats().throttled).toBe(1);
    expect(push.stats.throttled).toBe(1);
    expect(sim.stats().applied).toBe(3);
    for (const sku of SKUS.slice(0, 3)) expect(sim.level(itemOf(sku), "24826418")).toBe(11);
  }, 30_000);

  it("server errors are retried with backoff until applied", async () => {
    let n = 0;
    const { sim, push } = await start({
      errorRate: 0.5,
      errorStatus: 503,
      random: () => (n++ % 2 === 0 ? 0 : 0.9),
    });
    for (const sku of SKUS.slice(0, 4)) push.atpChanged(sku, "DC-RTM", 3);
    await push.idle();
    expect(push.stats.retries).toBeGreaterThan(0);
    expect(sim.stats().applied).toBe(4);
    for (const sku of SKUS.slice(0, 4)) expect(sim.level(itemOf(sku), "24826419")).toBe(3);
  }, 30_000);

  it("a shop down longer than the retries: the SKU goes back to the queue and is set when the shop is back", async () => {
    const { sim, push } = await start({}, { retries: 1, minRetryMs: 20, maxRetryMs: 50 });
    sim.setOutage(true, { forMs: 400 });
    push.atpChanged("SKU-03", "DC-AMS", 6);
    push.atpChanged("SKU-03", "STORE-UTR", 2);
    await push.idle();
    expect(push.stats.requeued).toBeGreaterThan(0);
    expect(sim.level(itemOf("SKU-03"), "24826418")).toBe(6);
    expect(sim.level(itemOf("SKU-03"), "53716844710")).toBe(2);
  }, 30_000);

  it("stop() during an outage ends after the retries instead of queueing forever", async () => {
    const { sim, push } = await start({}, { retries: 1, minRetryMs: 20, maxRetryMs: 50 });
    sim.setOutage(true);
    push.atpChanged("SKU-04", "DC-AMS", 1);
    await push.stop();
    expect(push.stats.requeued).toBe(0);
    expect(sim.level(itemOf("SKU-04"), "24826418")).toBeUndefined();
    expect(push.pushed("SKU-04", "DC-AMS")).toBeUndefined();
  }, 30_000);

  it("a refusal (userErrors) is logged and not retried; the level is not recorded as pushed", async () => {
    const { sim, push } = await start({ stocked: (_item, location) => location !== "53716844710" });
    push.atpChanged("SKU-01", "STORE-UTR", 4);
    await push.idle();
    expect(sim.stats().refused).toBe(1);
    expect(sim.stats().requests).toBe(1);
    expect(push.stats.refused).toBe(1);
    expect(push.pushed("SKU-01", "STORE-UTR")).toBeUndefined();
  });

  it("a level equal to what Shopify was last told is not sent again", async () => {
    const { sim, push } = await start({});
    push.atpChanged("SKU-02", "DC-AMS", 9);
    await push.idle();
    push.atpChanged("SKU-02", "DC-AMS", 9);
    await push.idle();
    expect(sim.stats().requests).toBe(1);
    expect(push.lastKnown({ sku: "SKU-02", location: "DC-AMS" })).toMatchObject({
      atp: 9,
      pushed: { quantity: 9 },
    });
  });
});
