/**
 * Bounded redelivery on the projectors' consumers (DESIGN §3.13): an event the regional projector
 * cannot apply is retried with growing delays up to `max_deliver`, then dead-lettered in the region's
 * `INV_DLQ_<R>` (`redeliveryExhausted`, with the last error) and let go, so the consumer never holds
 * it forever; the position's next event is applied. Before, it was nak'ed every second without end.
 * Real node and nats-server (127.0.0.1:4222), a region of its own.
 */
import {
  AckPolicy,
  type JetStreamClient,
  type JetStreamManager,
  jetstream,
  jetstreamManager,
} from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CanonicalEvent } from "../../domain/canonical-event.ts";
import { connectNats } from "../../infra/nats/connection.ts";
import {
  atpBucketName,
  dlqStreamName,
  evtStreamName,
  evtSubject,
  reqSubject,
} from "../../infra/nats/subjects.ts";
import { regionalAtpKey } from "../../projections/atp-keys.ts";
import type { RegionalAtpEntry } from "../../projections/regional-atp.projection.ts";
import { eventStoreReader, RegionalProjector } from "../../services/projectors/regional-projector.ts";
import { type RegionalNode, startRegionalNode } from "../../services/regional-node/regional-node.ts";
import {
  cleanUpNodeTest,
  nodeConfig,
  readStream,
  receipt,
  streamCount,
  tempDir,
  uniqueRegion,
  waitFor,
} from "../regional-node/node-fixtures.ts";

const servers = [process.env.NATS_URL ?? "nats://127.0.0.1:4222"];
const region = uniqueRegion("cr");
const tmp = tempDir("consumer-redelivery");
let node: RegionalNode;
let nc: NatsConnection;
let js: JetStreamClient;
let jsm: JetStreamManager;
let projector: RegionalProjector | undefined;

const accept = async (body: unknown): Promise<CanonicalEvent[]> => {
  const r = (await nc.request(reqSubject(region), JSON.stringify(body), { timeout: 10_000 })).json<{
    outcome: string;
    events: CanonicalEvent[];
  }>();
  expect(r.outcome).toBe("accepted");
  return r.events;
};

beforeAll(async () => {
  node = await startRegionalNode(nodeConfig(region, tmp.dir, servers));
  nc = await connectNats({ servers, name: "consumer-redelivery-test" });
  js = jetstream(nc);
  jsm = await jetstreamManager(nc);
});

afterAll(async () => {
  await projector?.stop();
  await cleanUpNodeTest({ node, jsm, nc, region, tmp });
});

describe("the regional projector's consumer", () => {
  it("dead-letters an event it cannot apply after max_deliver deliveries and goes on", async () => {
    const [first] = await accept(receipt({ region, sku: "P", key: "p-1", qty: 4 }));
    await waitFor("the relay", async () => (await streamCount(jsm, evtStreamName(region))) >= 1);

    // A consumer made before redelivery was bounded: the projector bounds it when it starts.
    await jsm.consumers.add(evtStreamName(region), {
      durable_name: "atp-bounded",
      ack_policy: AckPolicy.Explicit,
      max_deliver: -1,
    });
    projector = new RegionalProjector({
      nc,
      region,
      domain: "", // the test server's own JetStream (no domains)
      readStream: eventStoreReader(node.store),
      durableName: "atp-bounded",
      logger: pino({ level: "silent" }),
      maxDeliver: 3,
      redeliveryBackoff: { initialMs: 50, maxMs: 200 },
    });
    await projector.start();
    expect((await jsm.consumers.info(evtStreamName(region), "atp-bounded")).config.max_deliver).toBe(3);
    const kv = await new Kvm(js).open(atpBucketName(region));
    const entry = async () => {
      const e = await kv.get(regionalAtpKey("DC1", "P"));
      return e && e.length > 0 ? (e.json() as RegionalAtpEntry) : undefined;
    };
    await waitFor("revision 0 projected", async () => (await entry())?.lastRevision === 0);

    // Written by something other than the relay: revision 9, whose predecessors the store does not
    // have. The projector cannot fill the gap, however often it is delivered.
    await js.publish(
      evtSubject(region, "DC1", "P"),
      JSON.stringify({ ...first, revision: 9, eventId: "00000000-0000-4000-8000-000000000009" }),
      { msgID: `${region}:forged:9` },
    );
    await waitFor(
      "the exhausted event's dead letter",
      async () => (await streamCount(jsm, dlqStreamName(region))) >= 1,
    );
    const [letter] = await readStream(js, dlqStreamName(region), 1);
    expect(letter?.subject).toBe(`inv.dlq.${region}.redeliveryExhausted`);
    expect(letter?.data).toMatchObject({
      reason: "redeliveryExhausted",
      code: "notProjected",
      details: { deliveries: 3, projector: "atp-bounded" },
      context: { sku: "P", location: "DC1" },
      intake: { via: "jetstream", streamSequence: 2 },
    });
    expect((letter?.data as { message: string } | undefined)?.message).toMatch(/revision|gap/i);
    await waitFor("the forged event let go", async () => {
      const c = await jsm.consumers.info(evtStreamName(region), "atp-bounded");
      return c.num_ack_pending === 0 && c.ack_floor.stream_seq >= 2;
    });

    // The position's next real event is applied.
    await accept(receipt({ region, sku: "P", key: "p-2", qty: 1 }));
    await waitFor("revision 1 projected", async () => (await entry())?.lastRevision === 1);
    expect((await entry())?.onHand.available).toBe(5);
    expect(await streamCount(jsm, dlqStreamName(region))).toBe(1);
  });
});
