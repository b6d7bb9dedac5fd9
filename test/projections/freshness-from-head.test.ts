/**
 * Freshness from the store's head, not the mirror (issue 8): while a region's relay cannot publish
 * (its INV_EVT_<R> refuses new messages) and commits go on, the hub's mirror is as current as the
 * region's stream, yet the region's figures are behind its store. The node reports its store head and
 * relay position; the hub marks the region stale (lag in events and seconds) past the threshold, and
 * fresh again once the relay caught up. Before, the hub said fresh throughout.
 * Real topology: hub + eu nats-servers, a real eu node, the global projector on the hub.
 */
import { DiscardPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectNats } from "../../infra/nats/connection.ts";
import { cmdSubject, evtStreamName } from "../../infra/nats/subjects.ts";
import { startTopology, type Topology } from "../../infra/nats/topology.ts";
import { GlobalProjector } from "../../services/projectors/global-projector.ts";
import { type RegionalNode, startRegionalNode } from "../../services/regional-node/regional-node.ts";
import { nodeConfig, receipt, tempDir, waitFor } from "../regional-node/node-fixtures.ts";

const STALE_AFTER_MS = 2_000;

describe("freshness comes from the store's head", () => {
  let topology: Topology;
  let node: RegionalNode;
  let nc: NatsConnection;
  let hubNc: NatsConnection;
  let global: GlobalProjector;
  let removeDir = () => {};

  beforeAll(async () => {
    topology = await startTopology({ regions: ["eu"] });
    const tmp = tempDir("freshness-head");
    removeDir = tmp.remove;
    node = await startRegionalNode(nodeConfig("eu", tmp.dir, [topology.regions.eu!.url]), {
      logger: pino({ level: "silent" }),
      relayBackoff: { minMs: 100, maxMs: 500 },
      statusEveryMs: 200,
    });
    nc = await connectNats({ servers: topology.regions.eu!.url, name: "test-eu" });
    hubNc = await connectNats({ servers: topology.hub.url, name: "test-hub" });
    global = new GlobalProjector({
      nc: hubNc,
      regions: ["eu"],
      staleAfterMs: STALE_AFTER_MS,
      probeIntervalMs: 250,
      probeTimeoutMs: 500,
      logger: pino({ level: "silent" }),
    });
    await global.start();
  }, 60_000);

  afterAll(async () => {
    await global?.stop().catch(() => {});
    await node?.stop().catch(() => {});
    await nc?.close().catch(() => {});
    await hubNc?.close().catch(() => {});
    await topology?.stop();
    removeDir();
  });

  it("says stale while the relay is behind the store head (the mirror current), fresh once it caught up", async () => {
    const js = jetstream(nc);
    const jsm = await jetstreamManager(nc);
    const stream = evtStreamName("eu");
    let n = 0;
    const send = async (count: number) => {
      for (let i = 0; i < count; i++, n++)
        await js.publish(
          cmdSubject("eu", "DC1", `SKU-${n % 7}`),
          JSON.stringify(receipt({ region: "eu", sku: `SKU-${n % 7}`, key: `k${n}` })),
        );
    };
    const eu = () => global.freshness().find((f) => f.region === "eu")!;

    await send(10);
    await waitFor("eu fresh with everything relayed", () => !eu().stale && eu().relayLagEvents === 0, 20_000);

    // Every command applied (one event per receipt) and relayed before the relay is held.
    await waitFor("the first events committed and relayed", async () => {
      const p = await node.relay.progress();
      return p.storeHead === n && p.relayAcked === n && (await jsm.streams.info(stream)).state.messages === n;
    });
    // The relay cannot publish: the stream refuses new messages. Commits go on.
    const held = await jsm.streams.info(stream);
    await jsm.streams.update(stream, {
      ...held.config,
      max_msgs: held.state.messages,
      discard: DiscardPolicy.New,
    });
    await send(25);
    await waitFor("the store ahead of the relay", async () => {
      const p = await node.relay.progress();
      return p.storeHead >= p.relayAcked + 25;
    });
    await waitFor("eu stale at the hub", () => eu().stale, 20_000);
    const stale = eu();
    expect(stale.link).toBe("up");
    // The mirror is current: the region's stream holds nothing the hub lacks.
    expect(stale.mirrorLag ?? 0).toBe(0);
    expect((await jsm.streams.info(stream)).state.messages).toBe(held.state.messages);
    expect(stale.relayLagEvents).toBeGreaterThanOrEqual(25);
    expect(stale.relayLagMs).toBeGreaterThan(STALE_AFTER_MS);
    expect(stale.reasons.join("; ")).toMatch(/relay \d+ events behind the store head/);

    // The relay publishes again and catches up: fresh again.
    await jsm.streams.update(stream, { ...held.config, max_msgs: -1, discard: held.config.discard });
    await waitFor("eu fresh again", () => !eu().stale, 20_000);
    expect(eu().relayLagEvents).toBe(0);
    expect((await jsm.streams.info(stream)).state.messages).toBe(held.state.messages + 25);
  }, 90_000);
});
