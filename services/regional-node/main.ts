/**
 * Runs one regional node as a process:
 *   npx tsx services/regional-node/main.ts --region eu [--config node.json]
 * SIGTERM/SIGINT stop it gracefully (intake, in-flight commands, commits, relay); a second signal exits at once.
 */
import { jetstreamManager } from "@nats-io/jetstream";
import { Command } from "commander";
import { loadNodeConfig } from "../../infra/config/node-config.ts";
import { createLogger } from "../../infra/logging.ts";
import { startConsumerLagSampler } from "../../infra/nats/consumer-lag.ts";
import { cmdStreamName, evtStreamName } from "../../infra/nats/subjects.ts";
import { CommandDeadLetterDesk, startDeadLetterDepthSampler } from "../dead-letters/command-dead-letters.ts";
import { startRegionalNode } from "./regional-node.ts";

export const runNode = async (opts: { region?: string; config?: string; nodeId?: string }): Promise<void> => {
  const logger = createLogger("regional-node");
  let config: ReturnType<typeof loadNodeConfig>;
  try {
    config = loadNodeConfig({
      file: opts.config,
      overrides: { region: opts.region },
      // A node of a multi-node region (docs/scale-out.md): its id wins over the file's.
      ...(opts.nodeId !== undefined ? { env: { ...process.env, STOCKLINE_NODE_ID: opts.nodeId } } : {}),
    });
  } catch (err) {
    logger.fatal({ err: (err as Error).message }, "invalid configuration");
    process.exitCode = 2;
    return;
  }
  const node = await startRegionalNode(config, { logger });
  // The process's /metrics also show consumer lag of its streams and the open dead letters.
  const lag = startConsumerLagSampler({
    sources: [
      {
        jsm: await jetstreamManager(node.nc),
        streams: [cmdStreamName(node.region), evtStreamName(node.region)],
      },
    ],
    logger,
  });
  const depth = startDeadLetterDepthSampler(
    [new CommandDeadLetterDesk({ nc: node.nc, region: node.region, logger })],
    {
      logger,
    },
  );
  let signals = 0;
  const onSignal = (signal: string) => {
    signals++;
    if (signals > 1) {
      logger.warn({ signal }, "second signal: exiting without draining");
      process.exit(1);
    }
    logger.info({ signal }, "signal received: stopping gracefully");
    lag.stop();
    depth.stop();
    node.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, "graceful stop failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => onSignal("SIGTERM"));
  process.on("SIGINT", () => onSignal("SIGINT"));
  // For supervisors and tests: one line on stdout when ready.
  process.stdout.write(
    `${JSON.stringify({ ready: true, region: node.region, url: node.url, pid: process.pid, ...(node.multiNode ? { nodeId: node.multiNode.nodeId } : {}) })}\n`,
  );
};

const isMain = process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].replace(/\\/g, "/"));
if (isMain) {
  const program = new Command()
    .name("regional-node")
    .option("--region <region>", "region id (overrides the config file and STOCKLINE_REGION)")
    .option("--config <file>", "JSON configuration file")
    .option(
      "--node-id <id>",
      "this node's id in a multi-node region (partitioning; overrides STOCKLINE_NODE_ID)",
    )
    .parse(process.argv);
  runNode(program.opts<{ region?: string; config?: string; nodeId?: string }>()).catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
