/**
 * The connector transports (issue 11) against a real node on the local nats-server: an X12 944 (the
 * sample of ../shared/samples/x12, copied into the test's temporary drop folder, never into the repo)
 * dropped into a source's folder becomes a receipt at the location its N1 names through master data,
 * and the file moves to done/ with its report and 997; a 944 whose W07-01 is 'ABC' (constructed from
 * the sample here) is a dead letter naming W07-01 and the value, and the file moves to failed/; over
 * HTTP a key bound to another system is refused (403) and the source's own key gets 202 with the
 * counts and the 997.
 */
import { copyFileSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { type JetStreamClient, type JetStreamManager, jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { shopifyHmac } from "../../connectors/shopify/shopify-hmac.ts";
import { positionStreamId } from "../../domain/ids.ts";
import { resolveDistributorConfig } from "../../infra/config/distributor-config.ts";
import { nodeConfigOf } from "../../infra/config/distributor-parts.ts";
import { resolveNodeConfig } from "../../infra/config/node-config.ts";
import { connectNats } from "../../infra/nats/connection.ts";
import { dlqStreamName } from "../../infra/nats/subjects.ts";
import { type RunningConnectors, startConnectors } from "../../services/parts/connectors-part.ts";
import { type RegionalNode, startRegionalNode } from "../../services/regional-node/regional-node.ts";
import {
  cleanUpNodeTest,
  readStream,
  streamCount,
  tempDir,
  uniqueRegion,
  waitFor,
} from "../regional-node/node-fixtures.ts";
import { connectorConfig, WMS_SYSTEM, X12_SYSTEM } from "./connector-config-fixture.ts";
import { SAMPLES } from "./x12-fixture.ts";

const SHOPIFY_SAMPLES = path.resolve(SAMPLES, "../payloads/shopify");

const servers = [process.env.NATS_URL ?? "nats://127.0.0.1:4222"];
const region = uniqueRegion("cx");
const tmp = tempDir("connectors");
const drop = path.join(tmp.dir, "drop");
const SAMPLE_944 = path.join(SAMPLES, "944_stupidedi.edi");
const KEY_3PL = "acme-3pl-key-0123456789abcdefghijklmnopq";
const KEY_WMS = "wms-1-key-0123456789abcdefghijklmnopqrstu";

let node: RegionalNode;
let nc: NatsConnection;
let js: JetStreamClient;
let jsm: JetStreamManager;
let running: RunningConnectors;

const SHOP = "shop-1";
const SHOP_SECRET = "shopify-app-secret-for-this-test";
const base = connectorConfig(region, {
  dropFolder: drop,
  extra: {
    api: {
      keys: [
        { name: "acme", key: KEY_3PL, roles: ["warehouse"], systems: [X12_SYSTEM] },
        { name: "wms", key: KEY_WMS, roles: ["warehouse"], systems: [WMS_SYSTEM] },
      ],
    },
  },
});
const connectors = base.connectors as { http: unknown; sources: unknown[] };
const d = resolveDistributorConfig(
  {
    ...base,
    systems: [...(base.systems as unknown[]), { id: SHOP, kind: "channel" }],
    connectors: {
      ...connectors,
      sources: [
        ...connectors.sources,
        { system: SHOP, format: "shopify", shopify: { secretEnv: "TEST_SHOP_SECRET" } },
      ],
    },
  },
  "connectors test",
  { baseDir: tmp.dir },
);

const available = async (sku: string, location: string): Promise<number | undefined> => {
  const events = await node.store.readStream(positionStreamId({ sku, location }));
  const last = events.at(-1)?.data as { balancesAfter?: { onHand?: { available?: number } } } | undefined;
  return last?.balancesAfter?.onHand?.available;
};

beforeAll(async () => {
  const raw = nodeConfigOf(d, region);
  node = await startRegionalNode(resolveNodeConfig({ ...raw, nats: { ...(raw.nats as object), servers } }));
  nc = await connectNats({ servers, name: "connectors-test" });
  js = jetstream(nc);
  jsm = await jetstreamManager(nc);
  running = await startConnectors(d, {
    log: pino({ level: "silent" }),
    connections: { source: async () => nc, deadLetters: async () => nc },
    allowClearKeys: true,
    env: { TEST_SHOP_SECRET: SHOP_SECRET },
    settleMs: 50,
    rescanMs: 200,
  });
}, 30_000);

afterAll(async () => {
  await running?.stop();
  await cleanUpNodeTest({ node, jsm, nc, region, tmp });
});

describe("stockline part connectors", () => {
  it("a 944 in the drop folder: the receipt is applied at the mapped location, the file is in done/ with its report and 997", async () => {
    copyFileSync(SAMPLE_944, path.join(drop, "944_stupidedi.edi"));
    const done = path.join(drop, "done", "944_stupidedi.edi");
    await waitFor("the 944 in done/", () => existsSync(done));
    expect(existsSync(path.join(drop, "944_stupidedi.edi"))).toBe(false);
    const report = JSON.parse(readFileSync(`${done}.report.json`, "utf8"));
    expect(report).toMatchObject({
      file: "944_stupidedi.edi",
      system: X12_SYSTEM,
      outcome: "done",
      commands: 1,
      deadLettered: 0,
      idempotencyKeys: ["acme-3pl:X12 944:WR12345:1"],
    });
    expect(report.acknowledgment).toContain("AK9*A*1*1*1~");
    expect(readFileSync(`${done}.997`, "utf8")).toBe(report.acknowledgment);
    // W07*100*EA**UK*ITEM123 at N1*WH*...*9*1234567890001: 100 EA of SKU-123 at ACME-WH.
    await waitFor("the receipt applied", async () => (await available("SKU-123", "ACME-WH")) === 100);
  }, 30_000);

  it("a 944 with W07-01 'ABC': a dead letter names W07-01 and the value, the file is in failed/", async () => {
    const bad = readFileSync(SAMPLE_944, "utf8").replace("W07*100*EA", "W07*ABC*EA");
    writeFileSync(path.join(drop, "944_bad.edi"), bad);
    const failed = path.join(drop, "failed", "944_bad.edi");
    await waitFor("the bad 944 in failed/", () => existsSync(failed));
    const report = JSON.parse(readFileSync(`${failed}.report.json`, "utf8"));
    expect(report.outcome).toBe("failed");
    expect(report.commands).toBe(0);
    expect(report.untranslatable.map((p: { at: string }) => p.at)).toContain("W07-01");
    expect(report.acknowledgment).toContain("AK5*R");
    let letter:
      | { reason: string; message: string; details: Record<string, unknown>; payload: string }
      | undefined;
    await waitFor("the dead letter", async () => {
      const n = await streamCount(jsm, dlqStreamName(region));
      const letters = (await readStream(js, dlqStreamName(region), n)).map((m) => m.data as typeof letter);
      letter = letters.find((l) => l?.reason === "untranslatable" && l.details.at === "W07-01");
      return letter !== undefined;
    });
    expect(letter?.details).toMatchObject({ at: "W07-01", value: "ABC", document: { type: "X12 944" } });
    expect(letter?.message).toContain('X12 944 WR12345 at W07-01 (value "ABC"): ');
    expect(letter?.payload).toBe(bad);
    // Nothing was received from it.
    expect(await available("SKU-123", "ACME-WH")).toBe(100);
  }, 30_000);

  it("HTTP: a key bound to another system is 403; the source's own key gets 202 with the counts and the 997", async () => {
    const url = `${running.url}/v1/inbound/${X12_SYSTEM}`;
    const body = readFileSync(SAMPLE_944, "utf8").replaceAll("WR12345", "WR777");
    const post = (key: string) =>
      fetch(url, {
        method: "POST",
        headers: { "x-api-key": key, "content-type": "application/edi-x12" },
        body,
      });
    const refused = await post(KEY_WMS);
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { message: string }).message).toContain(
      `may not send as "${X12_SYSTEM}"`,
    );
    const accepted = await post(KEY_3PL);
    expect(accepted.status).toBe(202);
    const answer = (await accepted.json()) as Record<string, unknown>;
    expect(answer).toMatchObject({
      system: X12_SYSTEM,
      commands: 1,
      deadLettered: 0,
      idempotencyKeys: ["acme-3pl:X12 944:WR777:1"],
    });
    expect(answer.acknowledgment).toContain("AK2*944*0001~");
    await waitFor("the second receipt applied", async () => (await available("SKU-123", "ACME-WH")) === 200);
    // The same document again is applied once (same idempotency key).
    expect((await post(KEY_3PL)).status).toBe(202);
    await new Promise((r) => setTimeout(r, 500));
    expect(await available("SKU-123", "ACME-WH")).toBe(200);
  }, 30_000);

  it("Shopify webhooks are authenticated by their signature: a wrong HMAC is 401; signed, the topic names the payload", async () => {
    const url = `${running.url}/v1/inbound/${SHOP}`;
    const post = (file: string, topic: string, signature: string) => {
      const body = new Uint8Array(readFileSync(path.join(SHOPIFY_SAMPLES, file)));
      return fetch(url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "x-shopify-topic": topic,
          "x-shopify-hmac-sha256": signature === "valid" ? shopifyHmac(body, SHOP_SECRET) : signature,
        },
        body,
      });
    };
    const forged = await post(
      "inventory_levels_update.webhook.json",
      "inventory_levels/update",
      shopifyHmac("{}", SHOP_SECRET),
    );
    expect(forged.status).toBe(401);
    // An API key is no substitute for the signature.
    expect((await post("inventory_levels_update.webhook.json", "inventory_levels/update", "")).status).toBe(
      401,
    );
    // available: null (untracked): read, nothing to send, nothing dead-lettered.
    const untracked = await post(
      "inventory_levels_update.untracked_null_available.json",
      "inventory_levels/update",
      "valid",
    );
    expect(untracked.status).toBe(202);
    expect(await untracked.json()).toMatchObject({ commands: 0, deadLettered: 0 });
    // location 24826418 is not a location of shop-1 in master data: dead-lettered, naming it.
    const unmapped = await post("inventory_levels_update.webhook.json", "inventory_levels/update", "valid");
    expect(unmapped.status).toBe(202);
    const answer = (await unmapped.json()) as {
      deadLettered: number;
      untranslatable: Array<{ at: string; value: unknown }>;
    };
    expect(answer.untranslatable).toContainEqual(
      expect.objectContaining({ at: "$.location_id", value: "24826418" }),
    );
    expect(answer.deadLettered).toBe(answer.untranslatable.length);
  }, 30_000);
});
