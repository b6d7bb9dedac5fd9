/**
 * Latency probe (not a test): a regional node in its own process (`bench/node-child.ts`, SQLite FULL)
 * against a nats-server (default 127.0.0.1:4222) on a fresh region; this process publishes the
 * benchmark's workload at a FIXED rate and times each command from its scheduled publish time to its
 * last event seen on `inv.evt.<r>.>` (core subscription on the relay's subjects).
 *   npx tsx test/regional-node/latency-probe.ts [rate=1200] [seconds=15] [positions=3000]
 * PROBE_NODE_ARGS: node flags for the node process (e.g. "--trace-gc").
 * PROBE_PROFILE_DIR: CPU-profile the node (esbuild bundle + --cpu-prof) into that folder.
 * Prints p50/p90/p99/max, the node's commit figures, event-loop delay and memory.
 */
import path from "node:path";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { forkChild } from "../../bench/child-process.ts";
import { Workload } from "../../bench/workload.ts";
import { connectNats } from "../../infra/nats/connection.ts";
import { ensureRegionStreams } from "../../infra/nats/streams.ts";
import { tempDir, uniqueRegion } from "./node-fixtures.ts";

const rate = Number(process.argv[2] ?? 1200);
const seconds = Number(process.argv[3] ?? 15);
const positions = Number(process.argv[4] ?? 3000);
const servers = [process.env.NATS_URL ?? "nats://127.0.0.1:4222"];
const region = uniqueRegion("lat");
const tmp = tempDir("latency");
const here = path.dirname(new URL(import.meta.url).pathname);

const nc = await connectNats({ servers, name: "latency-probe" });
const js = jetstream(nc);
const jsm = await jetstreamManager(nc);
await ensureRegionStreams(jsm, region);
const nodeArgs = (process.env.PROBE_NODE_ARGS ?? "").split(" ").filter(Boolean);
const profileDir = process.env.PROBE_PROFILE_DIR;
let node: ReturnType<typeof forkChild>;
if (profileDir) {
  // Profiled from an esbuild bundle (code run through tsx profiles as anonymous functions).
  const { build } = await import("esbuild");
  const outfile = path.join(profileDir, "node-child.mjs");
  const bundle = (entry: string, out: string) =>
    build({
      entryPoints: [path.join(here, entry)],
      outfile: out,
      bundle: true,
      platform: "node",
      format: "esm",
      packages: "external",
      logLevel: "warning",
    });
  await bundle("../../bench/node-child.ts", outfile);
  // Beside the node's bundle, so commits run in their worker thread as they normally do.
  await bundle("../../services/regional-node/append-worker.ts", path.join(profileDir, "append-worker.mjs"));
  node = forkChild(outfile, {
    tsx: false,
    execArgv: [...nodeArgs, "--cpu-prof", "--cpu-prof-dir", profileDir],
  });
} else {
  node = forkChild(path.join(here, "../../bench/node-child.ts"), { execArgv: nodeArgs });
}
await node.request("start", {
  region,
  dataDir: tmp.dir,
  nats: { servers, name: "latency-node" },
  http: { enabled: false },
  store: { kind: "sqlite", synchronous: "FULL" },
});

const workload = new Workload(region, positions, region);
const scheduled = new Map<string, number>();
const latencies: number[] = [];
const td = new TextDecoder();
const sub = nc.subscribe(`inv.evt.${region}.>`, {
  callback: (_err, msg) => {
    const now = performance.now();
    const { correlationId } = JSON.parse(td.decode(msg.data)) as { correlationId: string };
    const at = scheduled.get(correlationId);
    if (at === undefined) return;
    // A command's latency is to its LAST event: overwrite while events of it arrive.
    latencies[Number(correlationId.slice(correlationId.lastIndexOf("-") + 1))] = now - at;
  },
});

const publishAtRate = async (n: number, perSecond: number): Promise<void> => {
  const start = performance.now();
  const pending: Promise<unknown>[] = [];
  for (let i = 0; i < n; i++) {
    const due = start + (i * 1000) / perSecond;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    const c = workload.nextCommand();
    scheduled.set(c.correlationId, due);
    pending.push(js.publish(c.subject, c.data));
    if (pending.length >= 1000) await Promise.all(pending.splice(0));
  }
  await Promise.all(pending);
};

// Warm-up at the same rate, not measured.
await publishAtRate(Math.min(rate * 2, 3000), rate);
await new Promise((r) => setTimeout(r, 1000));
const warm = workload.count;
const before = await node.request<Record<string, unknown>>("stats");
const total = rate * seconds;
await publishAtRate(total, rate);
const deadline = performance.now() + 30_000;
const measured = () => latencies.slice(warm).filter((v) => v !== undefined);
while (measured().length < total && performance.now() < deadline)
  await new Promise((r) => setTimeout(r, 100));
const after = await node.request<Record<string, unknown>>("stats");
const sorted = measured().sort((a, b) => a - b);
const q = (p: number) =>
  Math.round(sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN);
console.log(
  JSON.stringify({
    rate,
    seconds,
    positions,
    seen: sorted.length,
    expected: total,
    p50: q(0.5),
    p90: q(0.9),
    p99: q(0.99),
    max: Math.round(sorted[sorted.length - 1] ?? NaN),
    before,
    after,
  }),
);
sub.unsubscribe();
await node.stop();
for (const name of ["INV_CMD_", "INV_EVT_", "INV_DLQ_"])
  await jsm.streams.delete(`${name}${region.toUpperCase()}`).catch(() => {});
await nc.close();
tmp.remove();
