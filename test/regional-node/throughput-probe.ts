/**
 * Throughput probe (not a test): starts a node in-process against a nats-server (default the local
 * 127.0.0.1:4222) on a fresh region, publishes N commands to INV_CMD_<R> (pipelined), and measures
 * until INV_EVT_<R> holds every event. SQLite synchronous=FULL in a temp folder.
 *   npx tsx test/regional-node/throughput-probe.ts [count=20000] [positions=500]
 */
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { createLogger } from "../../infra/logging.ts";
import { connectNats } from "../../infra/nats/connection.ts";
import { cmdSubject, evtStreamName } from "../../infra/nats/subjects.ts";
import { startRegionalNode } from "../../services/regional-node/regional-node.ts";
import { nodeConfig, receipt, tempDir, uniqueRegion } from "./node-fixtures.ts";

const count = Number(process.argv[2] ?? 20_000);
const positions = Number(process.argv[3] ?? 500);
const servers = [process.env.NATS_URL ?? "nats://127.0.0.1:4222"];
const region = uniqueRegion("probe");
const tmp = tempDir("probe");
const logger = createLogger("probe");
logger.level = process.env.LOG_LEVEL ?? "warn";

const node = await startRegionalNode(nodeConfig(region, tmp.dir, servers), { logger });
const nc = await connectNats({ servers, name: "probe" });
const js = jetstream(nc);
const jsm = await jetstreamManager(nc);
const payloads = Array.from({ length: count }, (_, i) => {
  const sku = `SKU-${i % positions}`;
  return {
    subject: cmdSubject(region, "DC1", sku),
    data: JSON.stringify(receipt({ region, sku, key: `k${i}` })),
  };
});
const started = performance.now();
let inFlight = 0;
let wake: (() => void) | undefined;
for (let i = 0; i < count; i++) {
  while (inFlight >= 2048) await new Promise<void>((r) => (wake = r));
  inFlight++;
  const p = payloads[i]!;
  js.publish(p.subject, p.data, { msgID: `${region}-${i}` }).then(
    () => {
      inFlight--;
      wake?.();
    },
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
const published = performance.now();
for (;;) {
  const info = await jsm.streams.info(evtStreamName(region));
  if (info.state.messages >= count) break;
  await new Promise((r) => setTimeout(r, 20));
}
const done = performance.now();
const s = node.committer.stats;
console.log(
  JSON.stringify({
    count,
    positions,
    publishMs: Math.round(published - started),
    e2eMs: Math.round(done - started),
    e2eCommandsPerSec: Math.round((count / (done - started)) * 1000),
    commitBatches: s.batches,
    averageBatch: Math.round(s.averageBatch),
    rssMb: Math.round(process.memoryUsage().rss / 1e6),
  }),
);
await node.stop();
for (const name of ["INV_CMD_", "INV_EVT_", "INV_DLQ_"])
  await jsm.streams.delete(`${name}${region.toUpperCase()}`).catch(() => {});
await nc.close();
tmp.remove();
