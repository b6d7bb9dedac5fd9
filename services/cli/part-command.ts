/**
 * `stockline part <name> --config <file> [--region r] [--target id]`: one part of a deployment as its
 * own process, from the distributor configuration (issue 10). `stockline up` runs them all; each can
 * also run on its own (another machine, a container, a systemd unit).
 *
 *   node --region r        the region's node (intake, actors, event store, relay)
 *   projector --region r   the region's ATP projector, read model and reservation expiry
 *   global                 the global projector on the hub (mirrors, atp_global)
 *   api                    the HTTP API with every route
 *   postings --target id   the posting worker of one target (every region routed to it)
 *   reconciler             scheduled reconciliation runs
 *   simulator --target id  an ERP simulator for a target (demo, tests)
 *   connectors             the connector sources' transports (POST /v1/inbound/<system>, drop folders)
 */
import type { Command } from "commander";
import { startApiPart } from "../parts/api-part.ts";
import { startConnectorsPart } from "../parts/connectors-part.ts";
import { startGlobalPart } from "../parts/global-part.ts";
import { startNodePart } from "../parts/node-part.ts";
import { type PartContext, runPart } from "../parts/part-runtime.ts";
import { startPostingsPart } from "../parts/postings-part.ts";
import { startProjectorPart } from "../parts/projector-part.ts";
import { startReconcilerPart } from "../parts/reconciler-part.ts";
import { startSimulatorPart } from "../parts/simulator-part.ts";

interface PartFlags {
  config: string;
  region?: string;
  target?: string;
  nodeId?: string;
  dataDir?: string;
  logFile?: string;
}

type Starter = (ctx: PartContext, f: PartFlags) => Promise<Record<string, unknown>>;

const needs = (flag: "region" | "target", f: PartFlags, part: string): string => {
  const v = f[flag];
  if (!v) {
    process.stderr.write(`stockline part ${part}: --${flag} is required\n`);
    process.exit(2);
  }
  return v;
};

export const PARTS: Readonly<Record<string, Starter>> = {
  node: (ctx, f) => startNodePart(ctx, needs("region", f, "node"), f.nodeId),
  projector: (ctx, f) => startProjectorPart(ctx, needs("region", f, "projector")),
  global: (ctx) => startGlobalPart(ctx),
  api: (ctx) => startApiPart(ctx),
  postings: (ctx, f) => startPostingsPart(ctx, needs("target", f, "postings")),
  reconciler: (ctx) => startReconcilerPart(ctx),
  simulator: (ctx, f) => startSimulatorPart(ctx, needs("target", f, "simulator")),
  connectors: (ctx) => startConnectorsPart(ctx),
};

export const registerPartCommand = (program: Command): Command =>
  program
    .command("part")
    .description(`run one part of a deployment from its configuration: ${Object.keys(PARTS).join(", ")}`)
    .argument("<name>", Object.keys(PARTS).join(" | "))
    .requiredOption("--config <file>", "the distributor configuration (JSON)")
    .option("--region <r>", "the region (node, projector)")
    .option("--target <id>", "the posting target (postings, simulator)")
    .option("--node-id <id>", "this node's id in a partitioned region (node; else STOCKLINE_NODE_ID)")
    .option("--data-dir <dir>", "data folder (overrides the configuration's dataDir)")
    .option("--log-file <file>", "also write the log to this file")
    .action(async (name: string, f: PartFlags) => {
      const start = PARTS[name];
      if (!start) {
        process.stderr.write(
          `stockline part: got ${JSON.stringify(name)}, expected one of ${Object.keys(PARTS).join(", ")}\n`,
        );
        process.exit(2);
      }
      const label = f.region
        ? `${name}-${f.region}${f.nodeId ? `-${f.nodeId}` : ""}`
        : f.target
          ? `${name}-${f.target}`
          : name;
      await runPart(
        label,
        {
          config: f.config,
          ...(f.dataDir ? { dataDir: f.dataDir } : {}),
          ...(f.logFile ? { logFile: f.logFile } : {}),
        },
        (ctx) => start(ctx, f),
      );
    });
