/**
 * What a node reports about itself for the hub's freshness (DESIGN §3.13: freshness comes from the
 * store's head, not the mirror). Every `everyMs` it puts, into KV `node_status_<r>` of its own
 * JetStream domain (one key, history 1): its store head, what the relay has acknowledged, since when
 * the relay is behind (the recorded time of the first event it has not published), and its transfer
 * outbox. The hub reads it over the leaf link with the rest of its probe (global-projector.ts).
 */
import { jetstream, StorageType } from "@nats-io/jetstream";
import { type KV, Kvm } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "pino";
import { gauge } from "../../infra/metrics.ts";
import { nodeStatusBucketName } from "../../infra/nats/subjects.ts";
import type { Relay } from "./relay.ts";

export const NODE_STATUS_KEY = "node";

const relayBehind = gauge(
  "stockline_node_relay_behind_seconds",
  "How long the relay has been behind the store head (0 when caught up)",
  ["region"],
);

export interface NodeStatusReport {
  readonly region: string;
  /** When the node made this report. */
  readonly at: string;
  /** Highest global position committed to the node's event store. */
  readonly storeHead: number;
  /** Every event up to here is in `INV_EVT_<R>` (or dead-lettered). */
  readonly relayAcked: number;
  readonly lagEvents: number;
  /** Everything committed before this time is in `INV_EVT_<R>` (`at` when the relay is caught up). */
  readonly completeAsOf: string;
  readonly outbox: ReadonlyArray<{
    readonly destination: string;
    readonly depth: number;
    readonly oldestAgeMs: number;
  }>;
}

export const nodeStatusReport = async (
  region: string,
  relay: Relay,
  now = Date.now(),
): Promise<NodeStatusReport> => {
  const p = await relay.progress();
  return {
    region,
    at: new Date(now).toISOString(),
    storeHead: p.storeHead,
    relayAcked: p.relayAcked,
    lagEvents: Math.max(0, p.storeHead - p.relayAcked),
    completeAsOf: new Date(p.behindSince ?? now).toISOString(),
    outbox: relay.outbox
      .status(now)
      .map((s) => ({ destination: s.destination, depth: s.depth, oldestAgeMs: s.oldestAgeMs })),
  };
};

export class NodeStatusPublisher {
  private kv: KV | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private failing = false;
  private stopped = false;

  constructor(
    private readonly o: {
      readonly region: string;
      readonly nc: NatsConnection;
      /** The relay whose progress is reported; a function: the one this node runs now, if any (multi-node region). */
      readonly relay: Relay | (() => Relay | undefined);
      readonly logger: Logger;
      /** Default 1 s. */
      readonly everyMs?: number;
    },
  ) {}

  async start(): Promise<void> {
    this.kv = await new Kvm(jetstream(this.o.nc)).create(nodeStatusBucketName(this.o.region), {
      history: 1,
      storage: StorageType.File,
    });
    const tick = () => {
      this.running = this.publish().finally(() => {
        if (!this.stopped) this.timer = setTimeout(tick, this.o.everyMs ?? 1_000);
      });
    };
    tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  private async publish(): Promise<void> {
    const relay = typeof this.o.relay === "function" ? this.o.relay() : this.o.relay;
    if (!relay) return; // the relay runs on another node of the region, which reports
    try {
      const report = await nodeStatusReport(this.o.region, relay);
      relayBehind.set(
        { region: this.o.region },
        Math.max(0, Date.parse(report.at) - Date.parse(report.completeAsOf)) / 1000,
      );
      await this.kv!.put(NODE_STATUS_KEY, JSON.stringify(report));
      if (this.failing) this.o.logger.info({ region: this.o.region }, "node status reported again");
      this.failing = false;
    } catch (err) {
      // One line when reporting starts to fail, one when it works again: never one per tick.
      if (!this.failing)
        this.o.logger.warn(
          { region: this.o.region, err: (err as Error).message },
          "node status not reported",
        );
      this.failing = true;
    }
  }
}
