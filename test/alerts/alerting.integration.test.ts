/**
 * Issue 12's done-when for alerts: against a local HTTP receiver (a JSON webhook and a Slack-compatible
 * one), a dead letter, a drift and a stale region each produce one grouped notification with the
 * business context and a runbook link, and a resolution once cleared. Real components: a hub and a
 * region of real nats-servers with the region's streams, dead letters published by the node's
 * DeadLetterPublisher into INV_DLQ_EU and read by the CommandDeadLetterDesk; the reconciliation store
 * on SQLite; the GlobalProjector's freshness (the region's leaf link cut, then restored). The webhook
 * receiver refuses its first request with 503: the delivery is retried.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resolveDistributorConfig } from "../../infra/config/distributor-config.ts";
import { connectNats } from "../../infra/nats/connection.ts";
import { ensureRegionStreams } from "../../infra/nats/streams.ts";
import { startTopology, type Topology } from "../../infra/nats/topology.ts";
import { reconcilePosition } from "../../projections/reconciliation.ts";
import type { WebhookBody } from "../../services/alerts/alert-channels.ts";
import { type Alerting, startAlerting } from "../../services/alerts/alerting.ts";
import { CommandDeadLetterDesk } from "../../services/dead-letters/command-dead-letters.ts";
import { GlobalProjector } from "../../services/projectors/global-projector.ts";
import { ReconciliationStore } from "../../services/reconciliation/reconciliation-store.ts";
import { DeadLetterPublisher } from "../../services/regional-node/dead-letters.ts";
import { waitFor } from "../regional-node/node-fixtures.ts";

const WINDOW_MS = 400;
const log = pino({ level: "silent" });
const dir = mkdtempSync(path.join(tmpdir(), "stockline-alerts-"));

interface Received {
  readonly path: string;
  readonly body: Record<string, unknown>;
}

let topology: Topology;
let euNc: NatsConnection;
let hubNc: NatsConnection;
let global: GlobalProjector;
let store: ReconciliationStore;
let desk: CommandDeadLetterDesk;
let receiver: Server;
let alerting: Alerting;
const received: Received[] = [];
let refusals = 1;

const webhook = () => received.filter((r) => r.path === "/hook").map((r) => r.body as unknown as WebhookBody);
const slack = () => received.filter((r) => r.path === "/slack").map((r) => r.body);

beforeAll(async () => {
  receiver = createServer((req, res) => {
    let text = "";
    req.on("data", (c: Buffer) => {
      text += c.toString("utf8");
    });
    req.on("end", () => {
      if (req.url === "/hook" && refusals > 0) {
        refusals--;
        res.writeHead(503).end("busy");
        return;
      }
      received.push({ path: req.url ?? "", body: JSON.parse(text) as Record<string, unknown> });
      res.writeHead(200).end("ok");
    });
  });
  await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", r));
  const base = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  writeFileSync(path.join(dir, "slack-url"), `${base}/slack\n`);

  topology = await startTopology({ regions: ["eu"], logger: log });
  euNc = await connectNats({ servers: topology.regions.eu!.url, name: "alerts-test-eu" });
  hubNc = await connectNats({ servers: topology.hub.url, name: "alerts-test-hub" });
  await ensureRegionStreams(await jetstreamManager(euNc), "eu");
  global = new GlobalProjector({
    nc: hubNc,
    regions: ["eu"],
    staleAfterMs: 1_000,
    probeIntervalMs: 200,
    probeTimeoutMs: 500,
    logger: log,
  });
  await global.start();
  desk = new CommandDeadLetterDesk({ nc: euNc, region: "eu", logger: log });
  store = new ReconciliationStore(path.join(dir, "reconciliation.db"));

  const config = resolveDistributorConfig({
    distributor: { name: "Alert Test Distribution" },
    regions: [{ id: "eu" }],
    locations: [
      { id: "DC1", region: "eu", name: "Rotterdam DC" },
      { id: "DC2", region: "eu" },
    ],
    systems: [
      { id: "wms-1", kind: "wms" },
      { id: "sap", kind: "erp" },
    ],
    alerts: {
      receivers: [
        { name: "ops-webhook", kind: "webhook", urlEnv: "ALERT_TEST_HOOK_URL" },
        { name: "ops-slack", kind: "slack", urlFile: path.join(dir, "slack-url"), minSeverity: "warning" },
      ],
      groupWindowMs: WINDOW_MS,
      rateLimit: { max: 50, windowMs: 60_000 },
      runbookBaseUrl: "https://git.example.com/stockline/blob/main/RUNBOOK.md",
    },
  });
  alerting = startAlerting(config, {
    logger: log,
    desks: [desk],
    reconciliation: store,
    freshness: global,
    env: { ALERT_TEST_HOOK_URL: `${base}/hook` },
    manual: true,
    retry: { retries: 3, minTimeoutMs: 50 },
  });
  await waitFor(
    "eu fresh at the hub",
    () => !global.freshness().find((f) => f.region === "eu")!.stale,
    15_000,
  );
}, 60_000);

afterAll(async () => {
  await alerting?.stop();
  await global?.stop().catch(() => {});
  store?.close();
  await euNc?.close().catch(() => {});
  await hubNc?.close().catch(() => {});
  await topology?.stop();
  await new Promise<void>((r) => (receiver ? receiver.close(() => r()) : r()));
  rmSync(dir, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls past the group window twice: everything due is sent. */
const settle = async () => {
  await alerting.pollOnce();
  await sleep(WINDOW_MS + 50);
  await alerting.pollOnce();
  await alerting.pollOnce();
};

const refusedReceipt = (key: string, qty: number) => ({
  kind: "receiveGoods",
  idempotencyKey: key,
  position: { region: "eu", location: "DC1", sku: "SKU-RED-42" },
  quantity: qty,
  source: { system: "erp-x", document: { type: "ASN", id: `ASN-${key}` } },
});

const publishDeadLetter = async (key: string, qty: number) => {
  const pub = new DeadLetterPublisher(jetstream(euNc), "eu", log);
  const raw = refusedReceipt(key, qty);
  const dl = pub.build({
    reason: "rejected",
    code: "notOwner",
    message: "erp-x may not report receipts at DC1 (rule: WMS owns receipts)",
    raw,
    payload: JSON.stringify(raw),
    intake: { via: "jetstream", subject: "inv.cmd.eu.DC1.SKU-RED-42" },
  });
  await pub.send(dl, key);
};

const reconcile = (runId: string, actual: number) => {
  const at = new Date().toISOString();
  store.startRun({ id: runId, trigger: "test", region: "eu", startedAt: at, snapshotTime: at });
  store.track({ id: runId, at }, [
    reconcilePosition({
      target: "sap",
      position: { region: "eu", location: "DC2", sku: "SKU-BLUE-7" },
      actual,
      canonical: 100,
      events: [
        {
          key: "eu:position-DC2~SKU-BLUE-7:1",
          eventId: "e-1",
          type: "GoodsReceived",
          revision: 1,
          effect: 100,
          state: "acked",
          businessTime: at,
          sourceDocument: "ASN-9001",
          targetDocument: "4900001234",
        },
      ],
    }),
  ]);
};

describe("alerts with business context, against a local receiver", () => {
  it("a dead letter, a drift and a stale region: one grouped notification each, then a resolution each", async () => {
    // Two refused commands of the same SKU, location and reason: one group.
    await publishDeadLetter("r-1", 12);
    await publishDeadLetter("r-2", 30);
    reconcile("run-1", 93); // SAP holds 93, stockline 100: unexplained
    await topology.cutLink("eu");
    await waitFor(
      "eu stale at the hub",
      () => global.freshness().find((f) => f.region === "eu")!.stale,
      10_000,
    );

    await settle();
    await settle(); // seen again: nothing new
    const firing = webhook().filter((b) => b.status === "firing");
    expect(firing.map((b) => b.alert.kind).sort()).toEqual(["commandDeadLetter", "drift", "staleRegion"]);
    expect(refusals).toBe(0); // the first delivery was refused with 503 and retried

    const dead = firing.find((b) => b.alert.kind === "commandDeadLetter")!;
    expect(dead.alert).toMatchObject({
      count: 2,
      severity: "warning",
      runbook: "https://git.example.com/stockline/blob/main/RUNBOOK.md#a-command-did-not-take-effect",
      context: {
        region: "eu",
        location: "DC1",
        sku: "SKU-RED-42",
        quantity: 42,
        sourceSystem: "erp-x",
        documents: ["ASN ASN-r-1", "ASN ASN-r-2"],
        details: { reason: "rejected", code: "notOwner" },
      },
    });
    expect(dead.alert.action).toContain("stockline dlq commands retry eu");

    const drift = firing.find((b) => b.alert.kind === "drift")!;
    expect(drift.alert).toMatchObject({
      severity: "critical",
      runbook: expect.stringMatching(/#reconciliation-findings$/),
      context: { erp: "sap", region: "eu", location: "DC2", sku: "SKU-BLUE-7", quantity: -7 },
    });
    expect(drift.alert.title).toContain("Unexplained drift");

    const stale = firing.find((b) => b.alert.kind === "staleRegion")!;
    expect(stale.alert).toMatchObject({
      runbook: expect.stringMatching(/#figures-disagree-between-a-shop-and-the-warehouse$/),
      context: { region: "eu", locations: ["DC1", "DC2"] },
    });

    // The Slack-compatible receiver: text + blocks naming the same objects.
    const slackFiring = slack().filter(
      (b) => String(b.text).startsWith("[WARNING]") || String(b.text).startsWith("[CRITICAL]"),
    );
    expect(slackFiring).toHaveLength(3);
    const slackText = JSON.stringify(slackFiring);
    for (const s of [
      "SKU-RED-42",
      "DC1",
      "SKU-BLUE-7",
      "*ERP*\\nsap",
      "RUNBOOK.md#reconciliation-findings|Runbook>",
    ])
      expect(slackText).toContain(s);
    expect(alerting.open()).toHaveLength(3);

    // Cleared: the dead letters resolved by an operator, the drift corrected in SAP, the link back.
    const page = await desk.list({ status: "open" });
    for (const it of page.items) await desk.resolve(it.seq, { by: "test" });
    reconcile("run-2", 100);
    await topology.restoreLink("eu");
    await waitFor("eu fresh again", () => !global.freshness().find((f) => f.region === "eu")!.stale, 10_000);
    await settle();

    const resolved = webhook().filter((b) => b.status === "resolved");
    expect(resolved.map((b) => b.alert.kind).sort()).toEqual(["commandDeadLetter", "drift", "staleRegion"]);
    for (const r of resolved)
      expect(r.alert.id).toBe(firing.find((f) => f.alert.kind === r.alert.kind)!.alert.id);
    expect(slack().filter((b) => String(b.text).startsWith("[RESOLVED]"))).toHaveLength(3);
    expect(webhook()).toHaveLength(6); // nothing else: no repeats
    expect(alerting.open()).toEqual([]);
  }, 30_000);
});
