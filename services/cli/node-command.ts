/** `stockline node --region <r> [--config <file>]`: runs a regional node until SIGTERM/SIGINT. */
import type { Command } from "commander";
import { runNode } from "../regional-node/main.ts";

export const registerNodeCommand = (program: Command): Command =>
  program
    .command("node")
    .description("run a regional node (intake, position actors, event store, relay, dead letters)")
    .requiredOption("--region <region>", "region id, e.g. eu")
    .option("--config <file>", "JSON configuration file (STOCKLINE_* environment variables override it)")
    .option("--node-id <id>", "this node's id in a partitioned region (else STOCKLINE_NODE_ID)")
    .action(async (opts: { region: string; config?: string; nodeId?: string }) => {
      await runNode(opts);
    });
