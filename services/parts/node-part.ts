/**
 * `stockline part node --config <file> --region <r>`: a region's node (intake, position actors, event
 * store, relay, dead letters) from the distributor configuration (`nodeConfigOf`), with the consumer
 * lag and dead-letter depth gauges of its streams. With `regions[].node.partitioning` it is one of
 * several nodes of the region; its id comes from STOCKLINE_NODE_ID (docs/scale-out.md).
 */
import { jetstreamManager } from "@nats-io/jetstream";
import { nodeConfigOf } from "../../infra/config/distributor-parts.ts";
import { resolveNodeConfig } from "../../infra/config/node-config.ts";
import { redactStoreUrl } from "../../infra/config/postgres-store-config.ts";
import { startConsumerLagSampler } from "../../infra/nats/consumer-lag.ts";
import { cmdStreamName, evtStreamName } from "../../infra/nats/subjects.ts";
import { CommandDeadLetterDesk, startDeadLetterDepthSampler } from "../dead-letters/command-dead-letters.ts";
import { startRegionalNode } from "../regional-node/regional-node.ts";
import type { PartContext } from "./part-runtime.ts";

export const startNodePart = async (
  ctx: PartContext,
  region: string,
  nodeIdOverride?: string,
): Promise<Record<string, unknown>> => {
  const raw = nodeConfigOf(ctx.d, region);
  const nats = { ...(raw.nats as object), servers: ctx.serversOf(region), ...ctx.authOf(region) };
  // A node of a multi-node region (`regions[].node.partitioning`, docs/scale-out.md) is told its id.
  const nodeId = nodeIdOverride ?? process.env.STOCKLINE_NODE_ID;
  const partitioning =
    raw.partitioning !== undefined && nodeId !== undefined
      ? { partitioning: { ...(raw.partitioning as object), nodeId } }
      : {};
  const config = resolveNodeConfig({ ...raw, nats, ...partitioning }, ctx.d.source, {
    allowClearKeys: false,
  });
  const node = await startRegionalNode(config, { logger: ctx.log.child({ component: "node" }) });
  ctx.defer(`node ${region}`, () => node.stop());
  const lag = startConsumerLagSampler({
    sources: [
      { jsm: await jetstreamManager(node.nc), streams: [cmdStreamName(region), evtStreamName(region)] },
    ],
    logger: ctx.log,
  });
  ctx.defer("consumer lag sampler", () => lag.stop());
  const depth = startDeadLetterDepthSampler(
    [new CommandDeadLetterDesk({ nc: node.nc, region, logger: ctx.log })],
    { logger: ctx.log },
  );
  ctx.defer("dead-letter depth sampler", () => depth.stop());
  return {
    region,
    ...(node.url ? { url: node.url } : {}),
    ...(node.multiNode ? { nodeId: node.multiNode.nodeId } : {}),
    store: config.store.kind === "sqlite" ? config.store.path : redactStoreUrl(config.store.url),
  };
};
