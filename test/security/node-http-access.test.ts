/**
 * Issue 9, HTTP: the regional node's `POST /v1/commands` is behind the API's access control, and a
 * key speaks only for its own source systems. Before: a receipt of 999 "as the WMS" without any key
 * answered 200 and was applied.
 */
import { type JetStreamManager, jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectNats } from "../../infra/nats/connection.ts";
import { dlqStreamName } from "../../infra/nats/subjects.ts";
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
const region = uniqueRegion("sh");
const tmp = tempDir("node-http-access");
const KEYS = {
  wms: "wms-key-0123456789abcdefghijklmnopqrstuvw",
  erp: "erp-key-0123456789abcdefghijklmnopqrstuvw",
  shop: "shop-key-0123456789abcdefghijklmnopqrstuv",
};
let node: RegionalNode;
let nc: NatsConnection;
let jsm: JetStreamManager;

const post = (body: unknown, key?: string) =>
  fetch(`${node.url}/v1/commands`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(key ? { "x-api-key": key } : {}) },
    body: JSON.stringify(body),
  });

beforeAll(async () => {
  node = await startRegionalNode(
    nodeConfig(region, tmp.dir, servers, {
      http: { enabled: true, port: 0 },
      apiKeys: [
        { name: "wms-connector", key: KEYS.wms, roles: ["warehouse"], systems: ["wms-1"] },
        { name: "erp-connector", key: KEYS.erp, roles: ["warehouse"], systems: ["erp"] },
        { name: "webshop", key: KEYS.shop, roles: ["commerce"], systems: ["webshop"] },
      ],
    }),
  );
  nc = await connectNats({ servers, name: "node-http-access-test" });
  jsm = await jetstreamManager(nc);
}, 30_000);

afterAll(async () => {
  await cleanUpNodeTest({ node, jsm, nc, region, tmp });
});

describe("the node's POST /v1/commands", () => {
  it("answers 401 without a key or with an unknown one", async () => {
    const cmd = receipt({ region, sku: "ANON", key: "anon-1", qty: 999, system: "wms-1" });
    const none = await post({ commands: [cmd] });
    expect(none.status).toBe(401);
    const unknown = await post({ commands: [cmd] }, "not-a-key-of-this-node-0123456789abcdef");
    expect(unknown.status).toBe(401);
  });

  it("answers 403 to a key without a role of the route", async () => {
    const res = await post(
      { commands: [receipt({ region, sku: "ROLE", key: "role-1", system: "webshop" })] },
      KEYS.shop,
    );
    expect(res.status).toBe(403);
    expect(((await res.json()) as { message: string }).message).toMatch(/webshop.*warehouse, operations/);
  });

  it("refuses a command whose source.system is not the key's, with 403 and a senderMismatch dead letter", async () => {
    const before = await streamCount(jsm, dlqStreamName(region));
    const res = await post(
      { commands: [receipt({ region, sku: "SPOOF", key: "spoof-1", qty: 999, system: "wms-1" })] },
      KEYS.erp,
    );
    expect(res.status).toBe(403);
    const body = (await res.json()) as {
      message: string;
      key: string;
      claimedSystems: string[];
      allowedSystems: string[];
      outcomes: Array<{ outcome: string; reason: { code: string } }>;
    };
    expect(body).toMatchObject({ key: "erp-connector", claimedSystems: ["wms-1"], allowedSystems: ["erp"] });
    expect(body.message).toMatch(/"erp-connector".*"wms-1".*erp/);
    expect(body.outcomes[0]?.reason.code).toBe("senderMismatch");

    await waitFor("the dead letter", async () => (await streamCount(jsm, dlqStreamName(region))) > before);
    const [letter] = (await readStream(jetstream(nc), dlqStreamName(region), before + 1)).slice(before);
    expect(letter?.subject).toBe(`inv.dlq.${region}.senderMismatch`);
    expect(letter?.data).toMatchObject({
      reason: "senderMismatch",
      details: { sender: "erp-connector", claimedSystem: "wms-1", allowedSystems: ["erp"] },
      context: { sku: "SPOOF", sourceSystem: "wms-1", idempotencyKey: "spoof-1" },
      intake: { via: "http" },
    });
    // Nothing was applied: the same receipt from its owner is the first of its position.
    const own = await post(
      { commands: [receipt({ region, sku: "SPOOF", key: "spoof-1", qty: 999, system: "wms-1" })] },
      KEYS.wms,
    );
    expect(own.status).toBe(200);
    const { outcomes } = (await own.json()) as { outcomes: Array<{ outcome: string; revision?: number }> };
    expect(outcomes[0]?.outcome).toBe("accepted");
  });

  it("in a mixed batch, applies the key's own commands and refuses the others item by item", async () => {
    const res = await post(
      {
        commands: [
          receipt({ region, sku: "MIX", key: "mix-own", qty: 2, system: "erp" }),
          receipt({ region, sku: "MIX", key: "mix-other", qty: 2, system: "wms-1" }),
        ],
      },
      KEYS.erp,
    );
    expect(res.status).toBe(200);
    const { outcomes } = (await res.json()) as {
      outcomes: Array<{ outcome: string; reason?: { code: string } }>;
    };
    expect(outcomes.map((o) => [o.outcome, o.reason?.code])).toEqual([
      ["accepted", undefined],
      ["rejected", "senderMismatch"],
    ]);
  });
});
