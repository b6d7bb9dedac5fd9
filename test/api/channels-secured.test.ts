/**
 * On a secured topology the API's NATS user speaks for its own system and for the channels it was
 * given (`api: { systems: natsSystemsOfApi(config, ...) }`): a channel key's reservation reaches the
 * region as that channel.
 */
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HUB_DOMAIN, startTopology, type Topology } from "../../infra/nats/topology.ts";
import { natsSystemsOfApi, resolveApiConfig } from "../../services/api/api-config.ts";
import { type ApiServer, startApiServer } from "../../services/api/api-server.ts";
import { type RegionalNode, startRegionalNode } from "../../services/regional-node/regional-node.ts";
import { nodeConfig, tempDir } from "../regional-node/node-fixtures.ts";
import { uniqueRegions } from "./api-fixture.ts";

const [region] = uniqueRegions(1) as [string];
const tmp = tempDir("api-channels-secured");
const KEY_NL = "k-shop-nl-0123456789abcdefghijklmnop";
const KEY_BE = "k-shop-be-0123456789abcdefghijklmnop";
let t: Topology;
let node: RegionalNode;
let api: ApiServer;

beforeAll(async () => {
  const raw = {
    regions: [region],
    dataDir: path.join(tmp.dir, "api"),
    apiKeys: [
      { name: "shop-nl", key: KEY_NL, roles: ["commerce"], channel: "SHOP_NL" },
      { name: "shop-be", key: KEY_BE, roles: ["commerce"], channel: "SHOP_BE" },
    ],
    reservations: { requestTimeoutMs: 2_000 },
  };
  // The NATS user is given the API's own system and SHOP_NL only: SHOP_BE is the misconfiguration.
  const systems = natsSystemsOfApi(resolveApiConfig(raw), "stockline-api").filter((s) => s !== "SHOP_BE");
  t = await startTopology({
    regions: [region],
    cuttableLinks: false,
    security: { sources: { api: { systems, projector: true } } },
  });
  const url = t.regions[region]?.url ?? "";
  node = await startRegionalNode(
    nodeConfig(region, path.join(tmp.dir, region), [url], {
      nats: { servers: [url], ...t.credentials?.auth(region, `node-${region}`) },
    }),
  );
  const auth = t.credentials!.auth(HUB_DOMAIN, "api");
  api = await startApiServer(resolveApiConfig({ ...raw, nats: { servers: [t.hub.url], ...auth } }));
}, 60_000);
afterAll(async () => {
  await api?.close();
  await node?.stop();
  await t?.stop();
  tmp.remove();
});

const reserve = async (key: string) => {
  const res = await fetch(`${api.url}/v1/reservations`, {
    method: "POST",
    headers: { "x-api-key": key, "content-type": "application/json" },
    body: JSON.stringify({ sku: "SKU-1", region, location: "DC1", quantity: 1 }),
  });
  return { status: res.status, body: (await res.json()) as { error: string; message: string } };
};

describe("a channel on a secured topology", () => {
  it("reaches the region when the API's NATS user speaks for it; otherwise the answer says what to configure", async () => {
    // Decided by the node (nothing in stock): the command crossed as SHOP_NL.
    const nl = await reserve(KEY_NL);
    expect(nl.status).toBe(409);
    expect(nl.body.error).toBe("insufficient_atp");

    const be = await reserve(KEY_BE);
    expect(be.status).toBe(503);
    expect(be.body.error).toBe("not_permitted_on_nats");
    expect(be.body.message).toContain('"SHOP_BE"');
    expect(be.body.message).toContain(`inv.req.${region}.SHOP_BE`);
  });
});
