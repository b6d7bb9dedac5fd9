/**
 * Master data at the regional node's intake (issue 10), against real nodes on the local nats-server:
 * the region of a command and of a transfer's destination come from the location; a misspelt
 * location or a SKU outside a closed catalogue is a dead letter that names it (and creates no
 * position); a source's own status code (SAP's `QI`) is mapped to the canonical status, and a code
 * neither canonical nor the source's is refused naming the codes that source may use. The same on
 * JetStream, request/reply and `POST /v1/commands`.
 */
import { type JetStreamClient, type JetStreamManager, jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import * as E from "fp-ts/lib/Either.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { positionStreamId } from "../../domain/ids.ts";
import { connectNats } from "../../infra/nats/connection.ts";
import { cmdSubject, dlqStreamName, reqSubject } from "../../infra/nats/subjects.ts";
import { CommandDeadLetterDesk } from "../../services/dead-letters/command-dead-letters.ts";
import { decodeCommandReply } from "../../services/regional-node/command-reply.ts";
import { type RegionalNode, startRegionalNode } from "../../services/regional-node/regional-node.ts";
import {
  cleanUpNodeTest,
  deleteRegionStreams,
  NODE_HTTP_KEY,
  NODE_HTTP_KEYS,
  nodeConfig,
  readStream,
  receipt,
  streamCount,
  tempDir,
  uniqueRegion,
  waitFor,
} from "./node-fixtures.ts";

const servers = [process.env.NATS_URL ?? "nats://127.0.0.1:4222"];
const region = uniqueRegion("md");
const other = uniqueRegion("mo");
const tmp = tempDir("master-data");
const tmpOther = tempDir("master-data-other");
const SKUS = ["SKU-1", "SKU-2", "SKU-3", "SKU-4", "SKU-5", "SKU-6", "SKU-7", "SKU-8"];

const masterData = {
  locations: [
    {
      id: "DC-AMS",
      region,
      name: "Amsterdam DC",
      codes: { erp: { plant: "NL01", storageLocation: "0001" } },
    },
    { id: "DC-RTM", region },
    { id: "DC-NJ", region: other },
  ],
  products: { items: SKUS.map((sku) => ({ sku, baseUom: "EA" })), catalogue: "closed" },
  statuses: { erp: { QI: "inspection", S: "blocked" } },
};

let node: RegionalNode;
let otherNode: RegionalNode;
let nc: NatsConnection;
let js: JetStreamClient;
let jsm: JetStreamManager;

/** A receipt as a source sends it with master data: no region. */
const bare = (a: { location: string; sku: string; key: string; qty?: number; system?: string }) => {
  const c = receipt({ region, ...a });
  const { region: _, ...position } = c.position;
  return { ...c, position };
};

const request = async (body: unknown) => {
  const msg = await nc.request(reqSubject(region), JSON.stringify(body), { timeout: 10_000 });
  const reply = decodeCommandReply(msg.json());
  if (E.isLeft(reply)) throw new Error(`reply does not match its codec: ${JSON.stringify(reply.left)}`);
  return reply.right;
};

interface Letter {
  seq: number;
  reason: string;
  code: string;
  message: string;
  details?: Record<string, unknown>;
  context: { idempotencyKey?: string; location?: string; sku?: string };
}

/** The dead letter of a command (by idempotency key), waiting for it to arrive. */
const letterOf = async (key: string): Promise<Letter> => {
  let found: Letter | undefined;
  await waitFor(`dead letter of ${key}`, async () => {
    const n = await streamCount(jsm, dlqStreamName(region));
    found = (await readStream(js, dlqStreamName(region), n))
      .map((m) => ({ ...(m.data as Letter), seq: m.seq }))
      .find((l) => l.context.idempotencyKey === key);
    return found !== undefined;
  });
  return found!;
};

/** Whether a node's store holds the position (stream ids are per node: SKU and location). */
const startNode = (locations: ReadonlyArray<{ id: string; region: string }>) =>
  startRegionalNode(
    nodeConfig(region, tmp.dir, servers, {
      http: { enabled: true, port: 0 },
      apiKeys: NODE_HTTP_KEYS,
      masterData: { ...masterData, locations },
    }),
  );

const positionExists = async (n: RegionalNode, sku: string, location: string) =>
  (await n.store.streamRevision(positionStreamId({ sku, location }))) !== null;

beforeAll(async () => {
  node = await startNode(masterData.locations);
  otherNode = await startRegionalNode(nodeConfig(other, tmpOther.dir, servers, { masterData }));
  nc = await connectNats({ servers, name: "master-data-test" });
  js = jetstream(nc);
  jsm = await jetstreamManager(nc);
});

afterAll(async () => {
  await otherNode?.stop();
  if (jsm) await deleteRegionStreams(jsm, other);
  tmpOther.remove();
  await cleanUpNodeTest({ node, jsm, nc, region, tmp });
});

describe("regions from master data", () => {
  it("lands a receipt without a region in its location's region, on every intake", async () => {
    await js.publish(
      cmdSubject(region, "DC-AMS", "SKU-1"),
      JSON.stringify(bare({ location: "DC-AMS", sku: "SKU-1", key: "js-1", qty: 3 })),
    );
    await waitFor("the JetStream receipt", () => positionExists(node, "SKU-1", "DC-AMS"));

    const r = await request(bare({ location: "DC-RTM", sku: "SKU-1", key: "rr-1", qty: 2 }));
    expect(r.outcome).toBe("accepted");
    if (r.outcome !== "accepted") return;
    expect(r.events[0]?.position).toEqual({ sku: "SKU-1", location: "DC-RTM", region });

    const res = await fetch(`${node.url}/v1/commands`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-api-key": NODE_HTTP_KEY },
      body: JSON.stringify({ commands: [bare({ location: "DC-RTM", sku: "SKU-2", key: "http-1" })] }),
    });
    expect(res.status).toBe(200);
    const { outcomes } = (await res.json()) as {
      outcomes: Array<{ outcome: string; events: Array<{ position: unknown }> }>;
    };
    expect(outcomes[0]?.outcome).toBe("accepted");
    expect(outcomes[0]?.events[0]?.position).toEqual({ sku: "SKU-2", location: "DC-RTM", region });
  });

  it("refuses a region that disagrees with the location's, naming both", async () => {
    const r = await request(receipt({ region: other, location: "DC-AMS", sku: "SKU-1", key: "wr-1" }));
    expect(r.outcome).toBe("invalid");
    if (r.outcome !== "invalid") return;
    expect(r.errors[0]?.path).toBe("position.region");
    expect(r.errors[0]?.message).toContain(other);
    expect(r.errors[0]?.expected).toContain(region);

    await js.publish(
      cmdSubject(region, "DC-AMS", "SKU-1"),
      JSON.stringify(receipt({ region: other, location: "DC-AMS", sku: "SKU-1", key: "wr-2" })),
    );
    const letter = await letterOf("wr-2");
    expect(letter).toMatchObject({ reason: "wrongRegion", code: "regionMismatch" });
    expect(letter.message).toContain(JSON.stringify(other));
    expect(letter.message).toContain(JSON.stringify(region));
  });

  it("routes a transfer without a destination region to the destination's region", async () => {
    await request(bare({ location: "DC-AMS", sku: "SKU-3", key: "tr-in", qty: 10 }));
    const ship = {
      kind: "shipTransfer",
      idempotencyKey: "tr-ship-1",
      source: { system: "wms-1", document: { type: "TO", id: "TO-1" } },
      businessTime: "2024-05-01T11:00:00.000Z",
      correlationId: "corr-tr-1",
      position: { location: "DC-AMS", sku: "SKU-3" },
      quantity: { value: 4, uom: "EA" },
      destination: { location: "DC-NJ" },
      documents: { transferOrder: "TO-1" },
    };
    const r = await request(ship);
    expect(r.outcome).toBe("accepted");
    if (r.outcome !== "accepted") return;
    expect(r.events[0]).toMatchObject({ type: "TransferShipped", destination: { region: other } });
    await waitFor("the inbound transfer at the destination's node", () =>
      positionExists(otherNode, "SKU-3", "DC-NJ"),
    );
    const [inbound] = await otherNode.store.readStream(positionStreamId({ sku: "SKU-3", location: "DC-NJ" }));
    expect(inbound?.data).toMatchObject({
      type: "TransferInboundRecorded",
      quantity: 4,
      position: { sku: "SKU-3", location: "DC-NJ", region: other },
    });
  });
});

describe("unknown locations and SKUs", () => {
  it("dead-letters a misspelt location naming it and the closest known ones, and creates no position", async () => {
    await js.publish(
      cmdSubject(region, "DC-AMSS", "SKU-4"),
      JSON.stringify(bare({ location: "DC-AMSS", sku: "SKU-4", key: "typo-1" })),
    );
    const letter = await letterOf("typo-1");
    expect(letter).toMatchObject({ reason: "unknownLocation", code: "unknownLocation" });
    expect(letter.message).toContain('"DC-AMSS"');
    expect(letter.message).toContain("DC-AMS");
    expect(letter.details?.locations).toEqual([
      { field: "position.location", location: "DC-AMSS", closest: ["DC-AMS"] },
    ]);
    expect(letter.context).toMatchObject({ location: "DC-AMSS", sku: "SKU-4" });
    expect(await positionExists(node, "SKU-4", "DC-AMSS")).toBe(false);

    // Request/reply: the caller hears why, and the operator sees it in the dead letters too.
    const r = await request(bare({ location: "dc-ams", sku: "SKU-4", key: "typo-2" }));
    expect(r.outcome).toBe("rejected");
    if (r.outcome !== "rejected") return;
    expect(r.reason.code).toBe("unknownLocation");
    expect(r.reason.message).toContain("did you mean DC-AMS");
    expect((await letterOf("typo-2")).reason).toBe("unknownLocation");
  });

  it("dead-letters a transfer to an unknown destination naming the destination", async () => {
    const r = await request({
      kind: "shipTransfer",
      idempotencyKey: "tr-bad-1",
      source: { system: "wms-1", document: { type: "TO", id: "TO-9" } },
      businessTime: "2024-05-01T11:00:00.000Z",
      correlationId: "corr-tr-bad",
      position: { location: "DC-AMS", sku: "SKU-3" },
      quantity: { value: 1, uom: "EA" },
      destination: { location: "DC-NY" },
      documents: { transferOrder: "TO-9" },
    });
    expect(r.outcome).toBe("rejected");
    const letter = await letterOf("tr-bad-1");
    expect(letter.reason).toBe("unknownLocation");
    expect(letter.message).toContain('"DC-NY" (destination.location)');
  });

  it("dead-letters a SKU outside the closed catalogue", async () => {
    await js.publish(
      cmdSubject(region, "DC-AMS", "NOT-OURS"),
      JSON.stringify(bare({ location: "DC-AMS", sku: "NOT-OURS", key: "sku-1" })),
    );
    const letter = await letterOf("sku-1");
    expect(letter).toMatchObject({ reason: "unknownSku", code: "unknownSku", details: { sku: "NOT-OURS" } });
    expect(letter.message).toContain('"NOT-OURS"');
    expect(await positionExists(node, "NOT-OURS", "DC-AMS")).toBe(false);
  });
});

describe("a source's own status codes", () => {
  it("maps SAP's QI to inspection", async () => {
    const r = await request({
      ...bare({ location: "DC-AMS", sku: "SKU-5", key: "qi-1", qty: 7, system: "erp" }),
      status: "QI",
    });
    expect(r.outcome).toBe("accepted");
    if (r.outcome !== "accepted") return;
    expect(r.events[0]).toMatchObject({ type: "GoodsReceived", status: "inspection" });
    expect(r.events[0]?.balancesAfter.onHand.inspection).toBe(7);

    const change = await request({
      kind: "changeStatus",
      idempotencyKey: "qi-2",
      source: { system: "erp", document: { type: "QM", id: "QM-1" } },
      businessTime: "2024-05-01T12:00:00.000Z",
      correlationId: "corr-qi-2",
      position: { location: "DC-AMS", sku: "SKU-5" },
      quantity: { value: 2, uom: "EA" },
      fromStatus: "QI",
      toStatus: "S",
    });
    expect(change.outcome).toBe("accepted");
    if (change.outcome !== "accepted") return;
    expect(change.events[0]).toMatchObject({ fromStatus: "inspection", toStatus: "blocked" });
  });

  it("refuses a code neither canonical nor the source's, naming the field, the value and the allowed codes", async () => {
    const bad = { ...bare({ location: "DC-AMS", sku: "SKU-6", key: "st-1", system: "erp" }), status: "Q1" };
    const r = await request(bad);
    expect(r.outcome).toBe("invalid");
    if (r.outcome !== "invalid") return;
    expect(r.errors[0]).toMatchObject({ path: "status", value: "Q1" });
    expect(r.errors[0]?.expected).toBe(
      "a stock status: available, inspection, blocked, consigned, or a code of erp: QI, S",
    );

    await js.publish(
      cmdSubject(region, "DC-AMS", "SKU-6"),
      JSON.stringify({ ...bad, idempotencyKey: "st-2" }),
    );
    const letter = await letterOf("st-2");
    expect(letter).toMatchObject({ reason: "invalidCommand", code: "unknownStatusCode" });
    expect(letter.message).toContain('status: got "Q1"');
    expect(letter.details?.statuses).toEqual([
      {
        field: "status",
        value: "Q1",
        allowed: ["available", "inspection", "blocked", "consigned", "QI", "S"],
      },
    ]);
    expect(await positionExists(node, "SKU-6", "DC-AMS")).toBe(false);
  });
});

describe("the operator's fix: master data, then retry", () => {
  it("applies a dead-lettered command once its location is added to master data", async () => {
    await js.publish(
      cmdSubject(region, "DC-GOU", "SKU-7"),
      JSON.stringify(bare({ location: "DC-GOU", sku: "SKU-7", key: "fix-1", qty: 5 })),
    );
    const letter = await letterOf("fix-1");
    expect(letter.reason).toBe("unknownLocation");

    await node.stop();
    node = await startNode([...masterData.locations, { id: "DC-GOU", region }]);
    const desk = new CommandDeadLetterDesk({ nc, region });
    const retried = await desk.retry(letter.seq, { by: "test" });
    expect(retried.ok).toBe(true);
    if (!retried.ok) return;
    expect(retried.attempt.outcome).toBe("accepted");
    expect(await positionExists(node, "SKU-7", "DC-GOU")).toBe(true);
  });
});
