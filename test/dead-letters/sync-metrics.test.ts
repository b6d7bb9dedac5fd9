/**
 * Observability of the sync path: after real traffic through an in-process regional node and its
 * regional projector (real nats-server on 127.0.0.1:4222, a region of its own), `/metrics` text has
 * the sync latency histogram per stage, the consumer lag of the node's intake and of the projector,
 * and the dead-letter depth of the region.
 */
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../../infra/logging.ts";
import { metricsRegistry } from "../../infra/metrics.ts";
import { connectNats, drainAndClose } from "../../infra/nats/connection.ts";
import { startConsumerLagSampler } from "../../infra/nats/consumer-lag.ts";
import { cmdStreamName, cmdSubject, dlqStreamName, evtStreamName } from "../../infra/nats/subjects.ts";
import {
  CommandDeadLetterDesk,
  dlqStateBucketName,
  startDeadLetterDepthSampler,
} from "../../services/dead-letters/command-dead-letters.ts";
import { eventStoreReader, RegionalProjector } from "../../services/projectors/regional-projector.ts";
import { type RegionalNode, startRegionalNode } from "../../services/regional-node/regional-node.ts";
import {
  deleteRegionStreams,
  nodeConfig,
  receipt,
  streamCount,
  tempDir,
  uniqueRegion,
  waitFor,
} from "../regional-node/node-fixtures.ts";

const NATS = "127.0.0.1:4222";
const region = uniqueRegion("mx");
const tmp = tempDir("sync-metrics");
const log = createLogger("sync-metrics-test");
const RECEIPTS = 12;
let node: RegionalNode;
let nc: NatsConnection;
let projector: RegionalProjector;

beforeAll(async () => {
  node = await startRegionalNode(nodeConfig(region, tmp.dir, [NATS]), { logger: log });
  nc = await connectNats({ servers: NATS, name: "sync-metrics-test" });
  // The shared server has no JetStream domain; "" keeps the default API prefix.
  projector = new RegionalProjector({
    nc,
    region,
    domain: "",
    readStream: eventStoreReader(node.store),
    logger: log,
  });
  await projector.start();
  const js = jetstream(nc);
  // Business time a second ago, so every stage is at least that late.
  const businessTime = new Date(Date.now() - 1_000).toISOString();
  for (let i = 0; i < RECEIPTS; i++) {
    const c = { ...receipt({ region, sku: `S${i % 4}`, key: `m-${i}` }), businessTime };
    await js.publish(cmdSubject(region, "DC1", c.position.sku), JSON.stringify(c));
  }
  await js.publish(cmdSubject(region, "DC1", "S0"), "{ broken");
  await waitFor("projected", () => projector.stats.applied === RECEIPTS);
  const jsm = await jetstreamManager(nc);
  await waitFor("dead letter", async () => (await streamCount(jsm, dlqStreamName(region))) === 1);
}, 30_000);

afterAll(async () => {
  await projector?.stop();
  await node?.stop();
  if (nc) {
    const jsm = await jetstreamManager(nc);
    await deleteRegionStreams(jsm, region);
    await new Kvm(jetstream(nc)).open(dlqStateBucketName(region)).then(
      (kv) => kv.destroy(),
      () => undefined,
    );
    await drainAndClose(nc);
  }
  tmp.remove();
});

/** The value of one sample line of the exposition text, by metric name and exact labels. */
const sampleOf = (text: string, name: string, labels: Record<string, string>): number | undefined => {
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`)) continue;
    const body = line.slice(name.length + 1, line.lastIndexOf("}"));
    const got = Object.fromEntries([...body.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (
      Object.entries(labels).every(([k, v]) => got[k] === v) &&
      Object.keys(got).length === Object.keys(labels).length
    )
      return Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return undefined;
};

describe("/metrics after traffic", () => {
  it("has the sync latency per stage, counted per event and measured from business time", async () => {
    const text = await metricsRegistry.metrics();
    for (const stage of ["applied", "projected"]) {
      const count = sampleOf(text, "stockline_sync_latency_seconds_count", { stage, region });
      expect(count, stage).toBe(RECEIPTS);
      // Business time was a second before publishing: nothing can be faster than that.
      const fast = sampleOf(text, "stockline_sync_latency_seconds_bucket", { le: "0.5", stage, region });
      expect(fast, stage).toBe(0);
      const sum = sampleOf(text, "stockline_sync_latency_seconds_sum", { stage, region }) ?? 0;
      expect(sum / RECEIPTS).toBeGreaterThanOrEqual(1);
    }
  });

  it("samples consumer lag of the node's intake and the projector, and dead-letter depth", async () => {
    const jsm = await jetstreamManager(nc);
    const lag = startConsumerLagSampler({
      sources: [{ jsm, streams: [cmdStreamName(region), evtStreamName(region)] }],
    });
    const desk = new CommandDeadLetterDesk({ nc, region });
    const depth = startDeadLetterDepthSampler([desk]);
    try {
      await lag.sample();
      await depth.sample();
      const text = await metricsRegistry.metrics();
      const intake = { stream: cmdStreamName(region), consumer: `stockline-node-${region}` };
      const proj = { stream: evtStreamName(region), consumer: "atp-projector" };
      expect(sampleOf(text, "stockline_consumer_pending", intake)).toBe(0);
      expect(sampleOf(text, "stockline_consumer_pending", proj)).toBe(0);
      expect(sampleOf(text, "stockline_dlq_open", { region })).toBe(1);

      // A command published while nobody consumes shows as lag.
      await node.stop();
      await jetstream(nc).publish(
        cmdSubject(region, "DC1", "S1"),
        JSON.stringify(receipt({ region, sku: "S1", key: "late" })),
      );
      await lag.sample();
      expect(sampleOf(await metricsRegistry.metrics(), "stockline_consumer_pending", intake)).toBe(1);
      await desk.resolve(1, { by: "test" });
      await depth.sample();
      expect(sampleOf(await metricsRegistry.metrics(), "stockline_dlq_open", { region })).toBe(0);
    } finally {
      lag.stop();
      depth.stop();
    }
  });
});
