/**
 * `stockline part node --config <file> --region <r>`: a region's node (intake, position actors, event
 * store, relay, dead letters) from the distributor configuration (`nodeConfigOf`), with the consumer
 * lag and dead-letter depth gauges of its streams.
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

export const startNodePart = async (ctx: PartContext, region: string): Promise<Record<string, unknown>> => {
  const raw = nodeConfigOf(ctx.d, region);
  const nats = { ...(raw.nats as object), servers: ctx.serversOf(region), ...ctx.authOf(region) };
  const config = resolveNodeConfig({ ...raw, nats }, ctx.d.source, { allowClearKeys: false });
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
    store: config.store.kind === "sqlite" ? config.store.path : redactStoreUrl(config.store.url),
  };
};
