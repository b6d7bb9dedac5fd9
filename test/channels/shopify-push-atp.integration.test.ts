import { jetstream } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { indexMasterData } from "../../domain/master-data.ts";
import { atpBreakdown } from "../../domain/position-context.ts";
import { createLogger } from "../../infra/logging.ts";
import { connectNats, drainAndClose } from "../../infra/nats/connection.ts";
import { ensureAtpBucket } from "../../infra/nats/streams.ts";
import { HUB_DOMAIN, startTopology, type Topology } from "../../infra/nats/topology.ts";
import { GLOBAL_ATP_BUCKET, globalAtpKey, regionalAtpKey } from "../../projections/atp-keys.ts";
import { viewOfSku } from "../../projections/global-atp.projection.ts";
import type { RegionalAtpEntry } from "../../projections/regional-atp.projection.ts";
import { pushFromGlobalAtp, pushFromRegionalAtp, ShopifyPush } from "../../services/channels/shopify-push.ts";
import { AtpReadModel } from "../../services/projectors/atp-read-model.ts";
import { GlobalAtpReader } from "../../services/projectors/global-atp-reader.ts";
import {
  createShopifySimulator,
  DEFAULT_ACCESS_TOKEN,
  type ShopifySimulator,
} from "../../services/simulators/shopify-simulator.ts";

// The push fed by a region's real ATP read model (KV watch of atp_eu on a nats-server of its own).
const SHOP = "shopify-nl";
const masterData = indexMasterData({
  locations: [
    { id: "DC-AMS", region: "eu", codes: { [SHOP]: { locationId: "24826418" } } },
    { id: "DC-BER", region: "eu" },
  ],
  products: {
    items: [
      { sku: "SKU-A", baseUom: "EA", codes: { [SHOP]: "1001" } },
      { sku: "SKU-B", baseUom: "EA", codes: { [SHOP]: "1002" } },
    ],
  },
});

const entry = (
  location: string,
  sku: string,
  available: number,
  reserved: number,
  revision: number,
): RegionalAtpEntry => ({
  position: { region: "eu", location, sku },
  onHand: { available, inspection: 0, blocked: 0, consigned: 0, picked: 0 },
  inboundInTransit: 0,
  inbound: {},
  atp: atpBreakdown({ available, reserved, safetyStock: 0, lifecycle: "active" }),
  lastRevision: revision,
  lastEventId: `e-${revision}`,
  businessTime: "2026-01-01T00:00:00Z",
  recordedTime: "2026-01-01T00:00:00Z",
});

let topology: Topology;
let nc: NatsConnection;
let sim: ShopifySimulator;
let model: AtpReadModel;
let push: ShopifyPush;

beforeAll(async () => {
  topology = await startTopology({ regions: ["eu"], cuttableLinks: false });
  nc = await connectNats({ servers: topology.regions.eu!.url, name: "shopify-push-atp" });
  sim = createShopifySimulator();
  const base = await sim.listen();
  push = new ShopifyPush({
    system: SHOP,
    masterData,
    graphqlUrl: `${base}/admin/api/2024-07/graphql.json`,
    accessToken: DEFAULT_ACCESS_TOKEN,
    coalesceMs: 50,
    logger: createLogger("shopify-push-atp", { level: "silent" }),
  });
}, 60_000);

afterAll(async () => {
  await push?.stop();
  await model?.stop();
  await sim?.close();
  if (nc) await drainAndClose(nc);
  await topology?.stop();
});

describe("Shopify push fed by the regional ATP read model", () => {
  it("sends the positions present at attach, then each change; not the locations the shop does not sell", async () => {
    const kv = await ensureAtpBucket(new Kvm(jetstream(nc, { domain: "eu" })), "eu");
    const put = (e: RegionalAtpEntry) =>
      kv.put(regionalAtpKey(e.position.location, e.position.sku), JSON.stringify(e));
    await put(entry("DC-AMS", "SKU-A", 10, 2, 1)); // ATP 8
    await put(entry("DC-BER", "SKU-A", 50, 0, 1)); // not sold by the shop
    model = new AtpReadModel({ nc, region: "eu", logger: createLogger("atp", { level: "silent" }) });
    await model.start();
    pushFromRegionalAtp(push, model);
    await expect.poll(() => sim.level("1001", "24826418"), { timeout: 5000 }).toBe(8);

    await put(entry("DC-AMS", "SKU-A", 10, 7, 2)); // a reservation: ATP 3
    await put(entry("DC-AMS", "SKU-B", 4, 0, 1));
    await expect.poll(() => sim.level("1001", "24826418"), { timeout: 5000 }).toBe(3);
    await expect.poll(() => sim.level("1002", "24826418"), { timeout: 5000 }).toBe(4);
    await push.idle();
    expect(new Set(sim.ledger().flatMap((e) => e.quantities.map((q) => q.locationId)))).toEqual(
      new Set(["24826418"]),
    );
    expect(sim.stats().quantitiesSet).toBe(3);
  }, 30_000);
});

describe("Shopify push fed by global ATP (atp_global on the hub)", () => {
  it("on a SKU's change sends its locations the shop sells, only the changed levels", async () => {
    const hubNc = await connectNats({ servers: topology.hub.url, name: "shopify-push-global" });
    const sim2 = createShopifySimulator();
    const base = await sim2.listen();
    const push2 = new ShopifyPush({
      system: SHOP,
      masterData,
      graphqlUrl: `${base}/admin/api/2024-07/graphql.json`,
      accessToken: DEFAULT_ACCESS_TOKEN,
      coalesceMs: 50,
      logger: createLogger("shopify-push-global", { level: "silent" }),
    });
    const reader = new GlobalAtpReader({
      nc: hubNc,
      hubDomain: HUB_DOMAIN,
      regions: ["eu"],
      logger: createLogger("g", { level: "silent" }),
    });
    try {
      await reader.start();
      pushFromGlobalAtp(push2, reader);
      const kv = await new Kvm(jetstream(hubNc, { domain: HUB_DOMAIN })).open(GLOBAL_ATP_BUCKET);
      const loc = (location: string, available: number, reserved: number) => {
        const e = entry(location, "SKU-B", available, reserved, 1);
        return {
          region: "eu",
          location,
          ...e.atp,
          onHand: available,
          inboundInTransit: 0,
          lastRevision: 1,
          businessTime: e.businessTime,
          recordedTime: e.recordedTime,
        };
      };
      const putSku = (ams: number, ber: number) =>
        kv.put(
          globalAtpKey("SKU-B"),
          JSON.stringify(
            viewOfSku({
              sku: "SKU-B",
              locations: { "eu/DC-AMS": loc("DC-AMS", ams, 1), "eu/DC-BER": loc("DC-BER", ber, 0) },
            }),
          ),
        );
      await putSku(12, 40);
      await expect.poll(() => sim2.level("1002", "24826418"), { timeout: 5000 }).toBe(11);
      await putSku(12, 30); // only the location the shop does not sell changed: nothing to send
      await putSku(9, 30);
      await expect.poll(() => sim2.level("1002", "24826418"), { timeout: 5000 }).toBe(8);
      await push2.idle();
      expect(sim2.stats().applied).toBe(2);
    } finally {
      await push2.stop();
      await reader.stop();
      await sim2.close();
      await drainAndClose(hubNc);
    }
  }, 30_000);
});
