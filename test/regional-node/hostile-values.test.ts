/**
 * Hostile values of issue 8 sent once each to a real regional node (local nats-server): each is
 * refused at decoding with the field, the value and the limit (limits.ts), dead-lettered once from
 * JetStream, and the node goes on applying what follows. Before, they crashed the node (ttlSeconds),
 * made the intake throw and nak for ever (lone surrogate), stuck the relay (5,000-character SKU),
 * or were applied past exact integers and the calendar.
 */
import { type JetStreamClient, type JetStreamManager, jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import * as E from "fp-ts/lib/Either.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_BALANCE, MAX_QUANTITY } from "../../domain/limits.ts";
import { connectNats } from "../../infra/nats/connection.ts";
import { cmdSubject, dlqStreamName, evtStreamName, reqSubject } from "../../infra/nats/subjects.ts";
import { decodeCommandReply } from "../../services/regional-node/command-reply.ts";
import { type RegionalNode, startRegionalNode } from "../../services/regional-node/regional-node.ts";
import {
  cleanUpNodeTest,
  nodeConfig,
  publishAll,
  readStream,
  receipt,
  reservation,
  streamCount,
  tempDir,
  uniqueRegion,
  waitFor,
} from "./node-fixtures.ts";

const servers = [process.env.NATS_URL ?? "nats://127.0.0.1:4222"];
const region = uniqueRegion("hv");
const tmp = tempDir("hostile");
let node: RegionalNode;
let nc: NatsConnection;
let js: JetStreamClient;
let jsm: JetStreamManager;

const request = async (body: unknown) => {
  const msg = await nc.request(reqSubject(region), JSON.stringify(body), { timeout: 10_000 });
  const reply = decodeCommandReply(msg.json());
  if (E.isLeft(reply)) throw new Error(`reply does not match its codec: ${JSON.stringify(reply.left)}`);
  return reply.right;
};

/** Each hostile value of the issue, the field the refusal must name, and what it must say. */
const hostile = (sku: string, key: string) => {
  const base = receipt({ region, sku, key });
  return [
    {
      what: "ttlSeconds 2^53-1",
      command: {
        ...reservation({ region, sku, key: `${key}-ttl`, qty: 1, id: `R-${key}` }),
        ttlSeconds: 2 ** 53 - 1,
      },
      path: "ttlSeconds",
      says: "from 1 to 31622400 (366 days)",
    },
    {
      what: "lone surrogate in the SKU",
      command: { ...base, idempotencyKey: `${key}-ls`, position: { ...base.position, sku: `${sku}\uD800` } },
      path: "position.sku",
      says: "well-formed Unicode (lone surrogate U+D800",
    },
    {
      what: "lone surrogate in the location",
      command: { ...base, idempotencyKey: `${key}-ll`, position: { ...base.position, location: "\uDFFFDC" } },
      path: "position.location",
      says: "lone surrogate U+DFFF at index 0",
    },
    {
      what: "5,000-character SKU",
      command: {
        ...base,
        idempotencyKey: `${key}-long`,
        position: { ...base.position, sku: "L".repeat(5000) },
      },
      path: "position.sku",
      says: "got a string of 5000 characters",
    },
    {
      what: "receipt of 2^53-1",
      command: { ...base, idempotencyKey: `${key}-big`, quantity: { value: 2 ** 53 - 1, uom: "EA" } },
      path: "quantity.value",
      says: `at most ${MAX_QUANTITY}`,
    },
    {
      what: "businessTime 2024-02-30",
      command: { ...base, idempotencyKey: `${key}-feb`, businessTime: "2024-02-30T00:00:00Z" },
      path: "businessTime",
      says: "a day from 01 to 29 of 2024-02",
    },
  ];
};

beforeAll(async () => {
  node = await startRegionalNode(nodeConfig(region, tmp.dir, servers));
  nc = await connectNats({ servers, name: "hostile-values-test" });
  js = jetstream(nc);
  jsm = await jetstreamManager(nc);
});

afterAll(async () => {
  await cleanUpNodeTest({ node, jsm, nc, region, tmp });
});

describe("request/reply: each hostile value is answered invalid, naming the field", () => {
  it.each(hostile("RR-H", "rr").map((h) => [h.what, h] as const))("%s", async (_what, h) => {
    const r = await request(h.command);
    expect(r.outcome, JSON.stringify(r).slice(0, 300)).toBe("invalid");
    if (r.outcome !== "invalid") return;
    const e = r.errors.find((x) => x.path === h.path);
    expect(e?.message).toContain(h.says);
    // The answer never echoes a huge value whole.
    expect(JSON.stringify(r).length).toBeLessThan(2_000);
  });

  it("receipts that would take on hand past 10^13 are refused as quantityOutOfRange, the balance intact", async () => {
    for (let i = 0; i < 10; i++) {
      const r = await request(receipt({ region, sku: "SUM-1", key: `sum-${i}`, qty: MAX_QUANTITY }));
      expect(r.outcome).toBe("accepted");
    }
    const over = await request(receipt({ region, sku: "SUM-1", key: "sum-over", qty: 1 }));
    expect(over.outcome).toBe("rejected");
    if (over.outcome !== "rejected") return;
    expect(over.reason).toMatchObject({
      code: "quantityOutOfRange",
      balance: "onHand.available",
      value: MAX_BALANCE + 1,
      limit: MAX_BALANCE,
    });
    const after = await request(reservation({ region, sku: "SUM-1", key: "sum-res", qty: 1, id: "R-SUM" }));
    expect(after.outcome).toBe("accepted");
    if (after.outcome !== "accepted") return;
    expect(after.events[0]?.balancesAfter.onHand.available).toBe(MAX_BALANCE);
  });
});

describe("JetStream: hostile values are dead-lettered once each, and the node goes on", () => {
  it("dead-letters every one as invalidCommand with the field, then applies the good commands after them", async () => {
    const subject = cmdSubject(region, "DC1", "JS-H");
    const bad = hostile("JS-H", "js");
    const good = Array.from({ length: 20 }, (_, i) => ({
      subject,
      data: JSON.stringify(receipt({ region, sku: "JS-H", key: `js-good-${i}`, qty: 3 })),
    }));
    const dlqBefore = await streamCount(jsm, dlqStreamName(region));
    const evtBefore = await streamCount(jsm, evtStreamName(region));
    await publishAll(js, [...bad.map((h) => ({ subject, data: JSON.stringify(h.command) })), ...good]);

    await waitFor(
      "the good commands' events",
      async () => (await streamCount(jsm, evtStreamName(region))) >= evtBefore + good.length,
      60_000,
    );
    await waitFor(
      "the dead letters",
      async () => (await streamCount(jsm, dlqStreamName(region))) >= dlqBefore + bad.length,
    );
    const letters = (await readStream(js, dlqStreamName(region), dlqBefore + bad.length))
      .slice(dlqBefore)
      .map((m) => m.data as { reason: string; code: string; message: string });
    expect(letters).toHaveLength(bad.length);
    for (const [i, h] of bad.entries()) {
      const letter = letters[i];
      expect(letter, h.what).toMatchObject({ reason: "invalidCommand", code: "decode" });
      expect(letter?.message, h.what).toContain(`${h.path}: got`);
      expect(letter?.message, h.what).toContain(h.says);
    }

    // Only the good ones became events, in order, and the relay published every one of them.
    const events = (await readStream(js, evtStreamName(region), evtBefore + good.length)).slice(evtBefore);
    expect(events).toHaveLength(good.length);
    const last = events[events.length - 1]?.data as { balancesAfter: { onHand: { available: number } } };
    expect(last.balancesAfter.onHand.available).toBe(3 * good.length);

    // Once each: nothing more arrives in the dead letters after a while (no redelivery loop).
    await new Promise((r) => setTimeout(r, 1_500));
    expect(await streamCount(jsm, dlqStreamName(region))).toBe(dlqBefore + bad.length);
  });
});
