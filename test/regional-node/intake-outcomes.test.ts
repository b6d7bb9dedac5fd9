/**
 * A regional node against the local nats-server (127.0.0.1:4222, unique region per run): the three
 * intakes and their outcomes, dead letters for malformed, hostile and refused commands, and a node
 * that keeps working after them.
 */
import { type JetStreamClient, type JetStreamManager, jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import * as E from "fp-ts/lib/Either.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectNats } from "../../infra/nats/connection.ts";
import { cmdSubject, dlqStreamName, evtStreamName, reqSubject } from "../../infra/nats/subjects.ts";
import { decodeCommandReply } from "../../services/regional-node/command-reply.ts";
import { type RegionalNode, startRegionalNode } from "../../services/regional-node/regional-node.ts";
import {
  cleanUpNodeTest,
  NODE_HTTP_KEY,
  NODE_HTTP_KEYS,
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
const region = uniqueRegion("io");
const tmp = tempDir("intake");
let node: RegionalNode;
let nc: NatsConnection;
let js: JetStreamClient;
let jsm: JetStreamManager;

const request = async (body: string | Uint8Array) => {
  const msg = await nc.request(reqSubject(region), body, { timeout: 10_000 });
  const reply = decodeCommandReply(msg.json());
  if (E.isLeft(reply)) throw new Error(`reply does not match its codec: ${JSON.stringify(reply.left)}`);
  return reply.right;
};

beforeAll(async () => {
  node = await startRegionalNode(
    nodeConfig(region, tmp.dir, servers, {
      http: { enabled: true, port: 0 },
      apiKeys: NODE_HTTP_KEYS,
      ownership: {
        rules: [
          { name: "wms-owns-receipts-at-DC", movements: ["receipt"], owners: ["wms-1"], locations: "DC*" },
        ],
        otherwise: "allow",
      },
    }),
  );
  nc = await connectNats({ servers, name: "intake-test" });
  js = jetstream(nc);
  jsm = await jetstreamManager(nc);
});

afterAll(async () => {
  await cleanUpNodeTest({ node, jsm, nc, region, tmp });
});

describe("request/reply on inv.req.<r>", () => {
  it("answers accepted with the stored events, then the first outcome for a duplicate", async () => {
    const cmd = JSON.stringify(receipt({ region, sku: "RR-1", key: "rr-1", qty: 10 }));
    const first = await request(cmd);
    expect(first.outcome).toBe("accepted");
    if (first.outcome !== "accepted") return;
    expect(first.events.map((e) => e.type)).toEqual(["GoodsReceived"]);
    expect(first.events[0]?.balancesAfter.onHand.available).toBe(10);

    const again = await request(cmd);
    expect(again).toEqual({ outcome: "duplicate", events: first.events });
  });

  it("rejects a reservation beyond ATP with the reason and the ATP figures", async () => {
    const r = await request(
      JSON.stringify(reservation({ region, sku: "RR-1", key: "res-1", qty: 11, id: "R1" })),
    );
    expect(r.outcome).toBe("rejected");
    if (r.outcome !== "rejected") return;
    expect(r.reason.code).toBe("insufficientAtp");
    expect((r.reason.atp as { available: number }).available).toBe(10);

    const ok = await request(
      JSON.stringify(reservation({ region, sku: "RR-1", key: "res-2", qty: 4, id: "R2" })),
    );
    expect(ok.outcome).toBe("accepted");
  });

  it("answers invalid with field errors for a command that does not decode", async () => {
    const bad = { ...receipt({ region, sku: "RR-2", key: "bad-1" }), quantity: { value: -3, uom: "EA" } };
    const r = await request(JSON.stringify(bad));
    expect(r.outcome).toBe("invalid");
    if (r.outcome !== "invalid") return;
    expect(r.errors.map((e) => e.path)).toContain("quantity.value");
    const notJson = await request("{not json");
    expect(notJson.outcome).toBe("invalid");
  });
});

describe("POST /v1/commands", () => {
  it("answers 200 with one outcome per item, in order", async () => {
    const body = {
      commands: [
        receipt({ region, sku: "HTTP-1", key: "h-1", qty: 5 }),
        receipt({ region, sku: "HTTP-1", key: "h-1", qty: 5 }),
        { kind: "receiveGoods" },
        reservation({ region, sku: "HTTP-2", key: "h-3", qty: 1, id: "R-H" }),
        receipt({ region, sku: "HTTP-3", key: "h-4", system: "erp" }),
      ],
    };
    const res = await fetch(`${node.url}/v1/commands`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-api-key": NODE_HTTP_KEY },
      body: JSON.stringify(body),
    });
    expect(res.status).toBe(200);
    const { outcomes } = (await res.json()) as {
      outcomes: Array<{ outcome: string; reason?: { code: string } }>;
    };
    // Items of one position run in batch order: the second is the duplicate of the first.
    expect(outcomes.map((o) => o.outcome)).toEqual([
      "accepted",
      "duplicate",
      "invalid",
      "rejected",
      "rejected",
    ]);
    expect(outcomes[3]?.reason?.code).toBe("insufficientAtp");
    expect(outcomes[4]?.reason?.code).toBe("notOwner");
  });

  it("answers 400 only when the body is not a batch", async () => {
    const res = await fetch(`${node.url}/v1/commands`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-api-key": NODE_HTTP_KEY },
      body: JSON.stringify({ kind: "receiveGoods" }),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { message: string }).message).toMatch(/batch/);
  });
});

describe("JetStream intake INV_CMD_<R>", () => {
  it("dead-letters malformed, hostile and refused commands with clear reasons and keeps applying the rest", async () => {
    const deep = `${"[".repeat(5_000)}${"]".repeat(5_000)}`;
    const huge = JSON.stringify({
      ...receipt({ region, sku: "J-1", key: "huge" }),
      pad: "x".repeat(200_000),
    });
    const polluted = JSON.stringify(receipt({ region, sku: "J-1", key: "pp" })).replace(
      '"kind"',
      '"__proto__":{"isAdmin":true},"kind"',
    );
    const subject = cmdSubject(region, "DC1", "J-1");
    const poison: Array<{ subject: string; data: string }> = [
      { subject, data: "{this is not json" },
      { subject, data: deep },
      { subject, data: huge },
      { subject, data: polluted },
      {
        subject,
        data: JSON.stringify({
          ...receipt({ region, sku: "J-1", key: "wt" }),
          quantity: { value: "7", uom: "EA" },
        }),
      },
      { subject, data: JSON.stringify(receipt({ region: "elsewhere", sku: "J-1", key: "wr" })) },
      {
        subject: cmdSubject(region, "DC1", "OTHER"),
        data: JSON.stringify(receipt({ region, sku: "J-1", key: "sm" })),
      },
      { subject, data: JSON.stringify(receipt({ region, sku: "J-1", key: "own", system: "erp" })) },
    ];
    const good = Array.from({ length: 50 }, (_, i) => ({
      subject,
      data: JSON.stringify(receipt({ region, sku: "J-1", key: `good-${i}`, qty: 2 })),
    }));
    const dlqBefore = await streamCount(jsm, dlqStreamName(region));
    const evtBefore = await streamCount(jsm, evtStreamName(region));
    await publishAll(js, [...poison, ...good]);

    await waitFor(
      "dead letters",
      async () => (await streamCount(jsm, dlqStreamName(region))) >= dlqBefore + poison.length,
    );
    await waitFor(
      "events",
      async () => (await streamCount(jsm, evtStreamName(region))) >= evtBefore + good.length,
    );

    const letters = (await readStream(js, dlqStreamName(region), dlqBefore + poison.length))
      .slice(dlqBefore)
      .map(
        (m) =>
          m.data as {
            reason: string;
            code: string;
            message: string;
            context: Record<string, unknown>;
            payload: string;
            details?: Record<string, unknown>;
          },
      );
    const byCode = new Map(letters.map((l) => [l.code, l]));
    expect([...byCode.keys()].sort()).toEqual(
      [
        "decode",
        "forbiddenKey",
        "malformedJson",
        "notOwner",
        "payloadTooLarge",
        "subjectMismatch",
        "tooDeep",
        "wrongRegion",
      ].sort(),
    );
    expect(byCode.get("malformedJson")?.payload).toBe("{this is not json");
    expect(byCode.get("forbiddenKey")?.reason).toBe("hostilePayload");
    expect(byCode.get("decode")?.message).toMatch(/quantity\.value: got "7", expected a positive integer/);
    const owner = byCode.get("notOwner");
    expect(owner?.details?.rule).toBe("wms-owns-receipts-at-DC");
    expect(owner?.context).toMatchObject({
      sku: "J-1",
      location: "DC1",
      sourceSystem: "erp",
      correlationId: "corr-own",
    });
    expect(owner?.context.document).toEqual({ type: "ASN", id: "ASN-own" });
    expect(JSON.parse(owner?.payload ?? "{}").idempotencyKey).toBe("own");
    expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();

    // The node kept going: the good commands after the poison are all applied, once.
    const events = (await readStream(js, evtStreamName(region), evtBefore + good.length)).slice(evtBefore);
    const received = events.filter((m) => (m.data as { type: string }).type === "GoodsReceived");
    expect(received).toHaveLength(good.length);
    const last = received[received.length - 1]?.data as { balancesAfter: { onHand: { available: number } } };
    expect(last.balancesAfter.onHand.available).toBe(2 * good.length);
    expect(new Set(events.map((m) => m.msgId)).size).toBe(events.length);
  });
});
