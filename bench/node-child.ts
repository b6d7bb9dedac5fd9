/**
 * Child process of the benchmark: one regional node (`startRegionalNode`) on SQLite with
 * `synchronous=FULL`. Requests: `start` (raw node configuration, decoded with the node's own codec),
 * `stats` (group-commit figures, store head, relay checkpoint, command outcomes, memory, CPU), `stop`.
 */
import { monitorEventLoopDelay } from "node:perf_hooks";
import { resolveNodeConfig } from "../infra/config/node-config.ts";
import { createLogger } from "../infra/logging.ts";
import { metricsRegistry } from "../infra/metrics.ts";
import { type RegionalNode, startRegionalNode } from "../services/regional-node/regional-node.ts";
import { processFigures, serveParent } from "./child-process.ts";

let node: RegionalNode | undefined;
let head = 0;
// Event-loop delay since the previous `stats` request: a long synchronous step shows here.
const loopDelay = monitorEventLoopDelay({ resolution: 10 });
loopDelay.enable();
let elu = performance.eventLoopUtilization();

const outcomes = async (): Promise<Record<string, number>> => {
  const metric = metricsRegistry.getSingleMetric("stockline_node_commands_total");
  const out: Record<string, number> = {};
  if (!metric) return out;
  for (const v of (await metric.get()).values) {
    const key = `${v.labels.via}:${v.labels.outcome}`;
    out[key] = (out[key] ?? 0) + v.value;
  }
  return out;
};

serveParent({
  async start(raw) {
    const logger = createLogger("bench-node");
    logger.level = process.env.BENCH_LOG_LEVEL ?? "warn";
    node = await startRegionalNode(resolveNodeConfig(raw, "bench"), { logger });
    node.store.onAppended((p) => {
      if (p > head) head = p;
    });
    return { region: node.region };
  },
  async stats() {
    if (!node) throw new Error("node not started");
    const loopDelayMs = {
      p50: loopDelay.percentile(50) / 1e6,
      p99: loopDelay.percentile(99) / 1e6,
      max: loopDelay.max / 1e6,
    };
    loopDelay.reset();
    // Share of wall time the main thread was busy since the previous `stats` (0..1).
    const mainThreadBusy = performance.eventLoopUtilization(elu).utilization;
    elu = performance.eventLoopUtilization();
    return {
      committer: node.committer.stats,
      storeHead: head,
      relayCheckpoint: node.relay.checkpoint,
      outcomes: await outcomes(),
      loopDelayMs,
      mainThreadBusy,
      ...processFigures(),
    };
  },
  async stop() {
    await node?.stop();
    node = undefined;
  },
});
