/**
 * Throughput probe (not a test): starts a node in-process against a nats-server (default the local
 * 127.0.0.1:4222) on a fresh region, publishes N commands to INV_CMD_<R> (pipelined), and measures
 * until INV_EVT_<R> holds every event. SQLite synchronous=FULL in a temp folder.
 *   npx tsx test/regional-node/throughput-probe.ts [count=20000] [positions=500]
 * Environment:
 *   PROBE_PREFILL=1  publish every command before the node starts, then time the node alone draining
 *                    the stream (the node's own ceiling, without the publisher sharing its event loop).
 *   PROBE_MIX=1      one command in three places a reservation (a thousand open per position at most):
 *                    exercises the reservations in the position context.
 *   PROBE_MAX_IN_FLIGHT=N  the node's intake.maxInFlight (default: the node's default).
 */
import { PerformanceObserver } from "node:perf_hooks";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { createLogger } from "../../infra/logging.ts";
import { connectNats } from "../../infra/nats/connection.ts";
import { ensureRegionStreams } from "../../infra/nats/streams.ts";
import { cmdSubject, evtStreamName } from "../../infra/nats/subjects.ts";
import { type RegionalNode, startRegionalNode } from "../../services/regional-node/regional-node.ts";
import { nodeConfig, receipt, reservation, tempDir, uniqueRegion } from "./node-fixtures.ts";

const count = Number(process.argv[2] ?? 20_000);
const positions = Number(process.argv[3] ?? 500);
const prefill = process.env.PROBE_PREFILL === "1";
const mix = process.env.PROBE_MIX === "1";
const maxInFlight = process.env.PROBE_MAX_IN_FLIGHT ? Number(process.env.PROBE_MAX_IN_FLIGHT) : undefined;
const extra = maxInFlight ? { intake: { maxInFlight } } : {};
const servers = [process.env.NATS_URL ?? "nats://127.0.0.1:4222"];
const region = uniqueRegion("probe");
const tmp = tempDir("probe");
const logger = createLogger("probe");
logger.level = process.env.LOG_LEVEL ?? "warn";

const nc = await connectNats({ servers, name: "probe" });
const js = jetstream(nc);
const jsm = await jetstreamManager(nc);
const payloads = Array.from({ length: count }, (_, i) => {
  const sku = `SKU-${i % positions}`;
  const command =
    mix && i % 3 === 2 && i >= positions
      ? reservation({ region, sku, key: `k${i}`, qty: 1, id: `R${i}` })
      : receipt({ region, sku, key: `k${i}`, qty: mix ? 10 : 1 });
  return { subject: cmdSubject(region, "DC1", sku), data: JSON.stringify(command) };
});

const publish = async () => {
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
  while (inFlight > 0) await new Promise<void>((r) => (wake = r));
};

let gcMs = 0;
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) gcMs += e.duration;
}).observe({ entryTypes: ["gc"] });
let cpuAtStart = process.cpuUsage();
let node: RegionalNode;
let started: number;
let published: number;
if (prefill) {
  await ensureRegionStreams(jsm, region);
  await publish();
  published = performance.now();
  started = performance.now();
  cpuAtStart = process.cpuUsage();
  gcMs = 0;
  node = await startRegionalNode(nodeConfig(region, tmp.dir, servers, extra), { logger });
} else {
  node = await startRegionalNode(nodeConfig(region, tmp.dir, servers, extra), { logger });
  started = performance.now();
  await publish();
  published = performance.now();
}
const startedUs = Number(process.hrtime.bigint() / 1000n) - Math.round((performance.now() - started) * 1000);
const eventsExpected = count;
for (;;) {
  const info = await jsm.streams.info(evtStreamName(region));
  if (info.state.messages >= eventsExpected) break;
  await new Promise((r) => setTimeout(r, 20));
}
const done = performance.now();
const cpu = process.cpuUsage(cpuAtStart);
const gcMsInWindow = Math.round(gcMs);
const s = node.committer.stats;
// With --expose-gc the heap figure is what is live, not what awaits collection.
(globalThis as { gc?: () => void }).gc?.();
console.log(
  JSON.stringify({
    count,
    positions,
    mode: `${prefill ? "prefill" : "concurrent"}${mix ? "+mix" : ""}`,
    publishMs: prefill ? 0 : Math.round(published - started),
    e2eMs: Math.round(done - started),
    e2eCommandsPerSec: Math.round((count / (done - started)) * 1000),
    // CPU of this process per command (user + system): steadier than throughput on a shared machine.
    cpuUsPerCommand: Math.round((cpu.user + cpu.system) / count),
    gcMs: gcMsInWindow,
    commitBatches: s.batches,
    averageBatch: Math.round(s.averageBatch),
    rssMb: Math.round(process.memoryUsage().rss / 1e6),
    heapUsedMb: Math.round(process.memoryUsage().heapUsed / 1e6),
    // Monotonic microseconds (the clock of --cpu-prof), to cut a profile to the measured window.
    windowUs: [startedUs, Number(process.hrtime.bigint() / 1000n)],
  }),
);
await node.stop();
for (const name of ["INV_CMD_", "INV_EVT_", "INV_DLQ_"])
  await jsm.streams.delete(`${name}${region.toUpperCase()}`).catch(() => {});
await nc.close();
tmp.remove();
