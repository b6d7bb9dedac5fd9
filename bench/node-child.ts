/**
 * Child process of the benchmark: one regional node (`startRegionalNode`) on SQLite with
 * `synchronous=FULL`. Requests: `start` (raw node configuration, decoded with the node's own codec),
 * `stats` (group-commit figures, store head, relay checkpoint, command outcomes, memory, CPU), `stop`.
 */
import { resolveNodeConfig } from "../infra/config/node-config.ts";
import { createLogger } from "../infra/logging.ts";
import { metricsRegistry } from "../infra/metrics.ts";
import { type RegionalNode, startRegionalNode } from "../services/regional-node/regional-node.ts";
import { processFigures, serveParent } from "./child-process.ts";

let node: RegionalNode | undefined;
let head = 0;

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
    return {
      committer: node.committer.stats,
      storeHead: head,
      relayCheckpoint: node.relay.checkpoint,
      outcomes: await outcomes(),
      ...processFigures(),
    };
  },
  async stop() {
    await node?.stop();
    node = undefined;
  },
});
