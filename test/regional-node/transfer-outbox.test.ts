/**
 * The relay must not spin (issue 8): while the hub is down, transfers from eu to us wait in eu's
 * durable transfer outbox, backing off, while eu's own events keep being relayed to INV_EVT_EU and the
 * log stays bounded; the commands survive a restart of the node (they are in node.db); once the hub
 * is back, every transfer reaches us exactly once. Before, the relay awaited each cross-region
 * dispatch: "no responders" in a tight loop (21,902 errors in 19 s in the issue; 1,780 log lines in
 * 10 s here) and the region's own events waited behind it.
 * Real topology: hub + eu + us nats-servers (leaf-linked JetStream domains), a real node per region.
 */
import path from "node:path";
import { Writable } from "node:stream";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CanonicalEvent } from "../../domain/canonical-event.ts";
import { metricsRegistry } from "../../infra/metrics.ts";
import { connectNats } from "../../infra/nats/connection.ts";
import { cmdSubject, evtStreamName } from "../../infra/nats/subjects.ts";
import { startTopology, type Topology } from "../../infra/nats/topology.ts";
import { NodeDb } from "../../services/regional-node/node-db.ts";
import { type RegionalNode, startRegionalNode } from "../../services/regional-node/regional-node.ts";
import { nodeConfig, readStream, receipt, streamCount, tempDir, waitFor } from "./node-fixtures.ts";

const TRANSFERS = 20;
const LOCAL = 30;
const OUTAGE_MS = 6_000;

/** A pino destination that keeps every line (to count them). */
const capture = () => {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      for (const l of String(chunk).split("\n")) if (l) lines.push(l);
      done();
    },
  });
  return { lines, logger: pino({ level: "info" }, stream) };
};

const shipTransfer = (i: number) => ({
  kind: "shipTransfer",
  idempotencyKey: `ship-${i}`,
  source: { system: "wms-1", document: { type: "TO", id: `TO-${i}` } },
  businessTime: "2024-05-01T10:00:00.000Z",
  correlationId: `corr-ship-${i}`,
  position: { region: "eu", location: "DC1", sku: `SKU-${i % 5}` },
  quantity: { value: 2, uom: "EA" },
  destination: { region: "us", location: "DC9" },
  documents: { transferOrder: `TO-${i}` },
});

describe("transfer outbox: cross-region dispatch neither blocks the relay nor spins", () => {
  let topology: Topology;
  const nodes: Record<string, RegionalNode> = {};
  const ncs: Record<string, NatsConnection> = {};
  const euLog = capture();
  const dirs: Array<() => void> = [];
  const configs: Record<string, ReturnType<typeof nodeConfig>> = {};
  const start = (region: string) =>
    startRegionalNode(configs[region]!, {
      logger: region === "eu" ? euLog.logger : pino({ level: "silent" }),
      outboxBackoff: { minMs: 100, maxMs: 1_000 },
    });

  beforeAll(async () => {
    topology = await startTopology({ regions: ["eu", "us"] });
    for (const region of ["eu", "us"]) {
      const tmp = tempDir(`outbox-${region}`);
      dirs.push(tmp.remove);
      configs[region] = nodeConfig(region, tmp.dir, [topology.regions[region]!.url]);
      nodes[region] = await start(region);
      ncs[region] = await connectNats({ servers: topology.regions[region]!.url, name: `test-${region}` });
    }
  }, 60_000);

  afterAll(async () => {
    for (const n of Object.values(nodes)) await n.stop().catch(() => {});
    for (const nc of Object.values(ncs)) await nc.close().catch(() => {});
    await topology?.stop();
    for (const d of dirs) d();
  });

  it("holds transfers in the outbox while the hub is down, relays local events meanwhile, then delivers each once", async () => {
    const eu = ncs.eu!;
    const js = jetstream(eu);
    const jsmEu = await jetstreamManager(eu);
    const jsmUs = await jetstreamManager(ncs.us!);
    const send = (c: { position: { location: string; sku: string } }) =>
      js.publish(cmdSubject("eu", c.position.location, c.position.sku), JSON.stringify(c));

    await topology.stopHub();
    const linesBefore = euLog.lines.length;
    const outageFrom = Date.now();
    for (let i = 0; i < TRANSFERS; i++) await send(shipTransfer(i));
    for (let i = 0; i < LOCAL; i++)
      await send(receipt({ region: "eu", location: "DC2", sku: `L-${i}`, key: `l${i}` }));

    // eu's own events (the shipments and the local receipts) are relayed while us cannot be reached.
    const committed = async () => (await nodes.eu!.relay.progress()).storeHead;
    await waitFor("eu's commands committed", async () => (await committed()) >= TRANSFERS + LOCAL, 30_000);
    await waitFor(
      "eu's events relayed while the hub is down",
      async () => (await streamCount(jsmEu, evtStreamName("eu"))) === (await committed()),
      30_000,
    );
    const outbox = () => nodes.eu!.relay.outbox.status().find((s) => s.destination === "us");
    await waitFor("the outbox to hold every transfer", () => outbox()?.depth === TRANSFERS);
    await waitFor("the outbox to back off", () => outbox()?.state === "backingOff");
    const metrics = await metricsRegistry.getSingleMetricAsString("stockline_node_transfer_outbox_depth");
    await waitFor("the depth metric", async () =>
      (await metricsRegistry.getSingleMetricAsString("stockline_node_transfer_outbox_depth")).includes(
        `region="eu",destination="us"} ${TRANSFERS}`,
      ),
    );
    expect(metrics).toContain("stockline_node_transfer_outbox_depth");
    const remaining = OUTAGE_MS - (Date.now() - outageFrom);
    if (remaining > 0) await new Promise((r) => setTimeout(r, remaining));
    expect(outbox()?.depth).toBe(TRANSFERS);
    expect(outbox()!.oldestAgeMs).toBeGreaterThan(0);

    // Bounded log: one line per backoff step (steps grow to 1 s here), not one per attempt.
    const outageLines = euLog.lines.slice(linesBefore);
    const backoffLines = outageLines.filter((l) => l.includes("backing off"));
    expect(backoffLines.length).toBeGreaterThan(0);
    expect(outageLines.length).toBeLessThan(60);

    // Durable: node.db holds them (another connection sees them), and a restarted node takes them up.
    const db = new NodeDb(path.join(configs.eu!.dataDir, "node.db"));
    expect(db.outboxOf("us", 1_000).map((r) => r.idempotencyKey).length).toBe(TRANSFERS);
    db.close();
    await nodes.eu!.stop();
    nodes.eu = await start("eu");
    await waitFor("the restarted node's outbox to hold every transfer", () => outbox()?.depth === TRANSFERS);

    await topology.startHub();
    await waitFor("the outbox to empty after the hub returns", () => (outbox()?.depth ?? 0) === 0, 30_000);
    await waitFor(
      "every transfer recorded at us",
      async () => (await streamCount(jsmUs, evtStreamName("us"))) >= TRANSFERS,
      30_000,
    );
    // Exactly once per transfer order (give a repeat time to show up).
    await new Promise((r) => setTimeout(r, 1_500));
    const usEvents = (
      await readStream(jetstream(ncs.us!), evtStreamName("us"), await streamCount(jsmUs, evtStreamName("us")))
    ).map((m) => m.data as CanonicalEvent);
    const inbound = usEvents.filter((e) => e.type === "TransferInboundRecorded");
    const orders = inbound.map((e) => e.documents?.transferOrder).sort();
    expect(orders).toEqual(Array.from({ length: TRANSFERS }, (_, i) => `TO-${i}`).sort());
    expect(euLog.lines.slice(linesBefore).some((l) => l.includes("destination reached again"))).toBe(true);
  }, 120_000);
});
