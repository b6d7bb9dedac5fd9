/**
 * A refused command is dead-lettered once, not once per delivery (issue 8): the dead letter's id is
 * derived from the command (idempotency key, code, command hash), not from the stream message that
 * brought it, and `INV_DLQ_<R>` remembers those ids for 7 days instead of JetStream's 2 minutes.
 * Real node, real nats-server (127.0.0.1:4222), a region of its own.
 */
import { type JetStreamClient, type JetStreamManager, jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectNats } from "../../infra/nats/connection.ts";
import { DEFAULT_DLQ_DUPLICATE_WINDOW_MS } from "../../infra/nats/streams.ts";
import { cmdStreamName, cmdSubject, dlqStreamName, reqSubject } from "../../infra/nats/subjects.ts";
import { type RegionalNode, startRegionalNode } from "../../services/regional-node/regional-node.ts";
import {
  cleanUpNodeTest,
  nodeConfig,
  publishAll,
  readStream,
  receipt,
  streamCount,
  tempDir,
  uniqueRegion,
  waitFor,
} from "../regional-node/node-fixtures.ts";

const servers = [process.env.NATS_URL ?? "nats://127.0.0.1:4222"];
const region = uniqueRegion("dd");
const tmp = tempDir("dup-dead-letters");
let node: RegionalNode;
let nc: NatsConnection;
let js: JetStreamClient;
let jsm: JetStreamManager;

/** Waits until the node's consumer has settled every command published so far. */
const settled = async () => {
  const last = (await jsm.streams.info(cmdStreamName(region))).state.last_seq;
  await waitFor("the intake to settle every command", async () => {
    const c = await jsm.consumers.info(cmdStreamName(region), `stockline-node-${region}`);
    return c.ack_floor.stream_seq >= last && c.num_ack_pending === 0;
  });
};

beforeAll(async () => {
  node = await startRegionalNode(nodeConfig(region, tmp.dir, servers));
  nc = await connectNats({ servers, name: "dup-dead-letters-test" });
  js = jetstream(nc);
  jsm = await jetstreamManager(nc);
});

afterAll(async () => {
  await cleanUpNodeTest({ node, jsm, nc, region, tmp });
});

describe("an idempotency-conflicting command delivered 5 times", () => {
  it("is dead-lettered exactly once; a different conflicting payload is a dead letter of its own", async () => {
    const subject = cmdSubject(region, "DC1", "DUP-1");
    const first = receipt({ region, sku: "DUP-1", key: "dup-key", qty: 5 });
    await publishAll(js, [{ subject, data: JSON.stringify(first) }]);
    await settled();
    expect(await streamCount(jsm, dlqStreamName(region))).toBe(0);

    // The same key with another quantity: a conflict. Five stream messages (a source resending it).
    const conflicting = { ...first, quantity: { value: 6, uom: "EA" } };
    await publishAll(
      js,
      Array.from({ length: 5 }, () => ({ subject, data: JSON.stringify(conflicting) })),
    );
    await settled();
    // And once more on request/reply, which dead-letters a conflict too: still the same dead letter.
    const reply = (
      await nc.request(reqSubject(region), JSON.stringify(conflicting), { timeout: 10_000 })
    ).json<{
      outcome: string;
      reason: { code: string };
    }>();
    expect(reply).toMatchObject({ outcome: "rejected", reason: { code: "idempotencyConflict" } });
    expect(await streamCount(jsm, dlqStreamName(region))).toBe(1);
    const [letter] = await readStream(js, dlqStreamName(region), 1);
    expect(letter?.data).toMatchObject({
      reason: "rejected",
      code: "idempotencyConflict",
      context: { idempotencyKey: "dup-key", sku: "DUP-1" },
    });
    expect(letter?.msgId).toMatch(new RegExp(`^${region}:dlq:cmd:[0-9a-f]{64}$`));

    // A third payload under the same key is another conflict an operator must see.
    await publishAll(js, [
      { subject, data: JSON.stringify({ ...first, quantity: { value: 7, uom: "EA" } }) },
      { subject, data: JSON.stringify({ ...first, quantity: { value: 7, uom: "EA" } }) },
    ]);
    await settled();
    expect(await streamCount(jsm, dlqStreamName(region))).toBe(2);
  });

  it("INV_DLQ_<R> remembers dead-letter ids for 7 days, beyond JetStream's 2-minute default", async () => {
    const info = await jsm.streams.info(dlqStreamName(region));
    expect(DEFAULT_DLQ_DUPLICATE_WINDOW_MS).toBe(7 * 24 * 3_600_000);
    expect(info.config.duplicate_window).toBe(DEFAULT_DLQ_DUPLICATE_WINDOW_MS * 1e6);
  });
});
