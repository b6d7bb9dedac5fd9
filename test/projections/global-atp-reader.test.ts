/**
 * The API of `stockline up` reads global ATP from the bucket the global projector writes (it does not
 * consume the hub's mirrors itself): the reader sees what the projector applied, with each region's
 * freshness as the projector last published it, and reports every region stale once the projector
 * has been silent for longer than the threshold (stopped, or cut off from the hub).
 */
import { jetstream } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectNats } from "../../infra/nats/connection.ts";
import { cmdSubject } from "../../infra/nats/subjects.ts";
import { HUB_DOMAIN, startTopology, type Topology } from "../../infra/nats/topology.ts";
import { GlobalAtpReader } from "../../services/projectors/global-atp-reader.ts";
import { GlobalProjector } from "../../services/projectors/global-projector.ts";
import { type RegionalNode, startRegionalNode } from "../../services/regional-node/regional-node.ts";
import { nodeConfig, receipt, tempDir, waitFor } from "../regional-node/node-fixtures.ts";

const STALE_AFTER_MS = 1_500;
const silent = pino({ level: "silent" });

describe("global ATP read from atp_global by another process", () => {
  let topology: Topology;
  let node: RegionalNode;
  let nc: NatsConnection;
  let projectorNc: NatsConnection;
  let readerNc: NatsConnection;
  let global: GlobalProjector;
  let reader: GlobalAtpReader;
  let removeDir = () => {};

  beforeAll(async () => {
    topology = await startTopology({ regions: ["eu"] });
    const tmp = tempDir("global-atp-reader");
    removeDir = tmp.remove;
    node = await startRegionalNode(nodeConfig("eu", tmp.dir, [topology.regions.eu!.url]), {
      logger: silent,
      statusEveryMs: 200,
    });
    nc = await connectNats({ servers: topology.regions.eu!.url, name: "test-eu" });
    projectorNc = await connectNats({ servers: topology.hub.url, name: "test-projector" });
    readerNc = await connectNats({ servers: topology.hub.url, name: "test-reader" });
    global = new GlobalProjector({
      nc: projectorNc,
      regions: ["eu"],
      hubDomain: HUB_DOMAIN,
      staleAfterMs: STALE_AFTER_MS,
      probeIntervalMs: 200,
      probeTimeoutMs: 500,
      publishFreshness: true,
      logger: silent,
    });
    await global.start();
    reader = new GlobalAtpReader({
      nc: readerNc,
      hubDomain: HUB_DOMAIN,
      regions: ["eu"],
      staleAfterMs: STALE_AFTER_MS,
      logger: silent,
    });
    await reader.start();
  }, 60_000);

  afterAll(async () => {
    await reader?.stop().catch(() => {});
    await global?.stop().catch(() => {});
    await node?.stop().catch(() => {});
    for (const c of [nc, projectorNc, readerNc]) await c?.close().catch(() => {});
    await topology?.stop();
    removeDir();
  });

  it("serves what the projector applied, fresh while the projector reports, stale once it is silent", async () => {
    const changed: string[] = [];
    reader.onChange((sku) => changed.push(sku));
    const js = jetstream(nc);
    for (let i = 0; i < 3; i++)
      await js.publish(
        cmdSubject("eu", "DC1", "SKU-R"),
        JSON.stringify(receipt({ region: "eu", location: "DC1", sku: "SKU-R", key: `r${i}`, qty: 5 })),
      );
    await waitFor(
      "15 units of SKU-R in the reader",
      () => reader.getGlobalAvailability("SKU-R")?.total.atp === 15,
    );
    expect(changed).toContain("SKU-R");
    expect(reader.getGlobalAvailability("SKU-R")).toMatchObject({
      sku: "SKU-R",
      total: global.getGlobalAvailability("SKU-R")!.total,
    });
    await waitFor("eu fresh as the projector says", () => !reader.freshness()[0]!.stale);
    expect(reader.query(["NEVER"])[0]!.total.atp).toBe(0);

    await global.stop();
    await waitFor("eu stale once the projector is silent", () => reader.freshness()[0]!.stale, 10_000);
    expect(reader.freshness()[0]!.reasons.join(" ")).toMatch(
      /global projector (has not reported|last reported)/,
    );
    expect(reader.getGlobalAvailability("SKU-R")!.stale).toBe(true);
  }, 60_000);
});
