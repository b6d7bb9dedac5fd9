/**
 * Facts are never refused for arriving late (issue 8, DESIGN §3.12), on a real node fed over
 * JetStream: a pick that overtakes the receipt it picks from, and a receipt held by a killed consumer
 * that comes back (redelivered after the ack wait) behind the picks that followed it.
 */
import { type JetStreamClient, type JetStreamManager, jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CanonicalEvent } from "../../domain/canonical-event.ts";
import { positionStreamId } from "../../domain/ids.ts";
import { SqliteEventStore } from "../../infra/event-store/sqlite-event-store.ts";
import { connectNats } from "../../infra/nats/connection.ts";
import { cmdStreamName, cmdSubject, dlqStreamName, evtStreamName } from "../../infra/nats/subjects.ts";
import { type RegionalNode, startRegionalNode } from "../../services/regional-node/regional-node.ts";
import {
  deleteRegionStreams,
  nodeConfig,
  readStream,
  receipt,
  streamCount,
  tempDir,
  uniqueRegion,
  waitFor,
} from "./node-fixtures.ts";

const servers = [process.env.NATS_URL ?? "nats://127.0.0.1:4222"];
let nc: NatsConnection;
let js: JetStreamClient;
let jsm: JetStreamManager;
const regions: string[] = [];
const temps: Array<{ remove: () => void }> = [];
const nodes: RegionalNode[] = [];

beforeAll(async () => {
  nc = await connectNats({ servers, name: "late-facts-test" });
  js = jetstream(nc);
  jsm = await jetstreamManager(nc);
});

afterAll(async () => {
  for (const n of nodes) await n.stop().catch(() => undefined);
  for (const r of regions) await deleteRegionStreams(jsm, r);
  await nc?.close();
  for (const t of temps) t.remove();
});

const setup = (label: string) => {
  const region = uniqueRegion(label);
  regions.push(region);
  const tmp = tempDir(label);
  temps.push(tmp);
  return { region, dir: tmp.dir };
};

/** The WMS's pick of `qty`, its message number `sequence` at the position. */
const pickOf = (a: { region: string; sku: string; key: string; qty: number; sequence: number }) => ({
  kind: "confirmPick",
  idempotencyKey: a.key,
  source: { system: "wms-1", document: { type: "PICK", id: `PICK-${a.key}` }, sequence: a.sequence },
  businessTime: "2024-05-01T10:05:00.000Z",
  correlationId: `corr-${a.key}`,
  position: { region: a.region, location: "DC1", sku: a.sku },
  quantity: { value: a.qty, uom: "EA" },
});

const publish = (region: string, sku: string, command: unknown) =>
  js.publish(cmdSubject(region, "DC1", sku), JSON.stringify(command));

/** The position's stored events, read from the node's store after it stopped. */
const storedEvents = async (node: RegionalNode, sku: string): Promise<CanonicalEvent[]> => {
  const store = new SqliteEventStore({
    path: node.config.store.kind === "sqlite" ? node.config.store.path : "",
  });
  try {
    return (await store.readStream(positionStreamId({ location: "DC1", sku }))).map(
      (e) => e.data as CanonicalEvent,
    );
  } finally {
    await store.close();
  }
};

const eventsOnTheWire = async (region: string): Promise<CanonicalEvent[]> =>
  (await readStream(js, evtStreamName(region), await streamCount(jsm, evtStreamName(region)))).map(
    (m) => m.data as CanonicalEvent,
  );

const deadLetters = async (region: string) =>
  (await readStream(js, dlqStreamName(region), await streamCount(jsm, dlqStreamName(region)))).map(
    (m) =>
      m.data as { reason: string; code: string; applied?: boolean; context: { idempotencyKey?: string } },
  );

/** The node's consumer has nothing left to deliver and nothing unacknowledged. */
const consumerSettled = async (region: string): Promise<boolean> => {
  for await (const c of jsm.consumers.list(cmdStreamName(region))) {
    if (c.num_pending > 0 || c.num_ack_pending > 0) return false;
  }
  return true;
};

describe("a late fact over JetStream", () => {
  it("the pick (sequence 2) before the receipt of 133 (sequence 1): 133 − the pick on hand, nothing dead-lettered", async () => {
    const { region, dir } = setup("lf");
    // The park timeout is far away: the pick must be released by the receipt, not by the timeout.
    const node = await startRegionalNode(nodeConfig(region, dir, servers, { parkTimeoutMs: 120_000 }));
    nodes.push(node);
    await publish(region, "LATE-1", pickOf({ region, sku: "LATE-1", key: "pick-2", qty: 5, sequence: 2 }));
    await publish(region, "LATE-1", receipt({ region, sku: "LATE-1", key: "gr-1", qty: 133, sequence: 1 }));
    await waitFor(
      "receipt and pick relayed",
      async () => (await eventsOnTheWire(region)).some((e) => e.type === "PickConfirmed"),
      30_000,
    );
    await waitFor("consumer settled", () => consumerSettled(region), 30_000);
    await node.stop();

    const events = await storedEvents(node, "LATE-1");
    expect(events.map((e) => [e.type, e.source.sequence])).toEqual([
      ["GoodsReceived", 1],
      ["PickConfirmed", 2],
    ]);
    expect(events.at(-1)?.balancesAfter.onHand).toMatchObject({ available: 128, picked: 5 });
    expect(await streamCount(jsm, dlqStreamName(region))).toBe(0);
  });

  it("a receipt held by a killed consumer and redelivered behind newer picks is applied once", async () => {
    const { region, dir } = setup("lk");
    const config = nodeConfig(region, dir, servers, { parkTimeoutMs: 300, intake: { ackWaitMs: 2_000 } });
    // A first run makes the streams and the node's durable consumer; then the node is down.
    const first = await startRegionalNode(config);
    nodes.push(first);
    await first.stop();
    const durables: string[] = [];
    for await (const c of jsm.consumers.list(cmdStreamName(region))) durables.push(c.name);
    expect(durables).toHaveLength(1);

    // A node that takes the receipt (sequence 1) from the durable consumer and is killed before it acks.
    const sku = "LATE-2";
    const gr = receipt({ region, sku, key: "gr-1", qty: 133, sequence: 1 });
    await publish(region, sku, gr);
    const killed = await connectNats({ servers, name: "killed-node" });
    const held = await (await jetstream(killed).consumers.get(cmdStreamName(region), durables[0])).next({
      expires: 5_000,
    });
    expect(held?.json()).toMatchObject({ idempotencyKey: "gr-1" });
    await killed.close(); // no ack: the server redelivers it after the ack wait

    // Newer picks arrive meanwhile; the restarted node parks them, then applies them at the timeout.
    await publish(region, sku, pickOf({ region, sku, key: "pick-2", qty: 5, sequence: 2 }));
    await publish(region, sku, pickOf({ region, sku, key: "pick-3", qty: 7, sequence: 3 }));
    const node = await startRegionalNode(config);
    nodes.push(node);
    await waitFor(
      "the redelivered receipt applied behind the picks",
      async () => (await eventsOnTheWire(region)).some((e) => e.type === "GoodsReceived"),
      30_000,
    );
    // The same receipt again: once more as a distinct stream message, once re-keyed by its sender.
    await publish(region, sku, gr);
    await publish(region, sku, { ...gr, idempotencyKey: "gr-1-resent" });
    await waitFor("consumer settled", () => consumerSettled(region), 30_000);
    await node.stop();

    const events = (await storedEvents(node, sku)).filter((e) => e.type !== "AnomalyRaised");
    const bySequence = events.map((e) => [e.type, e.source.sequence]);
    expect(bySequence.filter(([t]) => t === "GoodsReceived")).toEqual([["GoodsReceived", 1]]);
    expect(bySequence.filter(([t]) => t === "PickConfirmed").sort()).toEqual([
      ["PickConfirmed", 2],
      ["PickConfirmed", 3],
    ]);
    // The receipt came last, and the position is right: 133 − 5 − 7.
    expect(events.at(-1)?.type).toBe("GoodsReceived");
    expect(events.at(-1)?.balancesAfter.onHand).toMatchObject({ available: 121, picked: 12 });
    // Dead letters: only the notices of picks applied across the gap at the timeout, none refused.
    const dead = await deadLetters(region);
    for (const d of dead) expect(d).toMatchObject({ reason: "sequenceGapTimeout", applied: true });
    expect(dead.map((d) => d.context.idempotencyKey)).not.toContain("gr-1");
  });
});
