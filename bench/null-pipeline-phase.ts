/**
 * The null-pipeline phase of `make bench` (`null_pipeline_per_s`): the e2e workload's commands, same
 * subjects and sizes and publish window, through bench/null-pipeline-child.ts instead of the node. It
 * runs on streams of a region of its own (`NULL_REGION`, configured like `INV_CMD_<R>`/`INV_EVT_<R>` by
 * `regionStreamConfigs`) on the same server, so nothing of it reaches the node's streams. The clock
 * runs from the first publish until the last event is in the event stream, as in the e2e phase.
 */
import path from "node:path";
import { fileURLToPath } from "node:url";
import { type ConsumerMessages, jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { resolveNodeConfig } from "../infra/config/node-config.ts";
import { ensureRegionStreams } from "../infra/nats/streams.ts";
import { evtStreamName } from "../infra/nats/subjects.ts";
import { forkChild } from "./child-process.ts";
import { CpuMeter, round, waitUntil } from "./measure.ts";
import type { NullPipelineStart } from "./null-pipeline-child.ts";
import { CommandLedger } from "./observers.ts";
import { publishCommands } from "./publish-commands.ts";
import { Workload } from "./workload.ts";

const here = path.dirname(fileURLToPath(import.meta.url));

/** As long as the bench's region id, so subjects and bodies are the same size. */
export const NULL_REGION = "nu";

/** Counts the messages of a stream as they arrive (an ordered consumer), noting the last arrival. */
class ArrivalCounter {
  count = 0;
  lastAt = 0;
  private messages: ConsumerMessages | undefined;
  constructor(
    private readonly nc: NatsConnection,
    private readonly stream: string,
  ) {}
  async start(): Promise<void> {
    const consumer = await jetstream(this.nc).consumers.get(this.stream);
    this.messages = await consumer.consume({
      max_messages: 10_000,
      callback: () => {
        this.count++;
        this.lastAt = performance.now();
      },
    });
  }
  async stop(): Promise<void> {
    await this.messages?.close();
  }
}

export interface NullPipelineFigures {
  perSecond: number;
  commands: number;
  events: number;
  totalMs: number;
  publishMs: number;
  eventBytes: number;
  settings: { maxInFlight: number; ackWaitMs: number; relayWindow: number; publishWindow: number };
  cpuMs: Record<string, number>;
  child: Record<string, unknown>;
}

export const measureNullPipeline = async (o: {
  nc: NatsConnection;
  serverUrl: string;
  positions: number;
  runId: string;
  commands: number;
  warmup: number;
  publishWindow: number;
  eventBytes: number;
  natsPids: Record<string, number>;
}): Promise<NullPipelineFigures> => {
  const jsm = await jetstreamManager(o.nc);
  await ensureRegionStreams(jsm, NULL_REGION);
  // The node's own defaults: intake and relay settings as `make bench` runs the node.
  const node = resolveNodeConfig({ region: NULL_REGION }, "bench null pipeline");
  const start: NullPipelineStart = {
    servers: o.serverUrl,
    region: NULL_REGION,
    maxInFlight: node.intake.maxInFlight,
    ackWaitMs: node.intake.ackWaitMs,
    relayWindow: node.relay.window,
    eventBytes: o.eventBytes,
  };
  const child = forkChild(path.join(here, "null-pipeline-child.ts"));
  const counter = new ArrivalCounter(o.nc, evtStreamName(NULL_REGION));
  try {
    await child.request("start", start);
    await counter.start();
    const workload = new Workload(NULL_REGION, o.positions, `${o.runId}n`);
    const ledger = new CommandLedger();
    const warm = workload.take(o.warmup);
    await publishCommands(o.nc, ledger, warm, o.publishWindow);
    await waitUntil("the null pipeline's warm-up events", () => counter.count >= warm.length, 120_000);
    const cmds = workload.take(o.commands);
    const cpu = new CpuMeter({ nullPipeline: child.pid, bench: process.pid, ...o.natsPids });
    const t0 = performance.now();
    const pub = await publishCommands(o.nc, ledger, cmds, o.publishWindow);
    await waitUntil("every null-pipeline event", () => counter.count >= warm.length + cmds.length, 300_000);
    const totalMs = counter.lastAt - t0;
    const stats = await child.request<Record<string, unknown>>("stats");
    return {
      perSecond: Math.round((cmds.length / totalMs) * 1000),
      commands: cmds.length,
      events: counter.count - warm.length,
      totalMs: round(totalMs, 0),
      publishMs: round(pub.publishMs, 0),
      eventBytes: o.eventBytes,
      settings: {
        maxInFlight: start.maxInFlight,
        ackWaitMs: start.ackWaitMs,
        relayWindow: start.relayWindow,
        publishWindow: o.publishWindow,
      },
      cpuMs: cpu.read(),
      child: stats,
    };
  } finally {
    await counter.stop().catch(() => {});
    await child.stop(10_000).catch(() => {});
  }
};
