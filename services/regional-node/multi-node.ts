/**
 * A node of a multi-node region (docs/scale-out.md), composed: the leases (partition-leases.ts) drive
 * which locations this node decides (partitioned-intake.ts) and whether it runs the region's relay
 * and transfer process (relay-singleton.ts).
 *
 * Graceful stop: partitions are released first (pulls stop, what is in hand settles, leases deleted so
 * the other nodes take them at once, without waiting for a TTL), then the relay publishes everything
 * this node committed and its lease is released last.
 */
import type { JetStreamClient, JetStreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "pino";
import type { NodeConfig } from "../../infra/config/node-config.ts";
import type { CheckpointStore, EventStore } from "../../infra/event-store/event-store.ts";
import type { CommandHandler } from "./command-handler.ts";
import type { NodeDb } from "./node-db.ts";
import { PartitionLeases } from "./partition-leases.ts";
import { PartitionedIntake } from "./partitioned-intake.ts";
import type { PositionRuntime } from "./position-runtime.ts";
import type { Relay } from "./relay.ts";
import { RelaySingleton } from "./relay-singleton.ts";

export const RELAY_SINGLETON = "relay";

export interface MultiNode {
  readonly nodeId: string;
  readonly leases: PartitionLeases;
  readonly intake: PartitionedIntake;
  /** The relay, while this node holds its lease. */
  readonly relay: () => Relay | undefined;
  /** Releases partitions, then the relay (after it published what was committed), then the heartbeat. */
  stop(): Promise<void>;
}

const isCheckpointStore = (store: EventStore): store is EventStore & CheckpointStore =>
  typeof (store as Partial<CheckpointStore>).saveCheckpoint === "function" &&
  typeof (store as Partial<CheckpointStore>).getCheckpoint === "function";

export const startMultiNode = async (o: {
  readonly config: NodeConfig;
  readonly partitioning: NonNullable<NodeConfig["partitioning"]>;
  readonly nc: NatsConnection;
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  readonly store: EventStore;
  readonly nodeDb: NodeDb;
  readonly handler: CommandHandler;
  readonly runtime: PositionRuntime;
  readonly makeRelay: () => Relay;
  readonly logger: Logger;
}): Promise<MultiNode> => {
  const { config, partitioning: p } = o;
  const log = o.logger.child({ node: p.nodeId });
  const relays = new RelaySingleton({
    region: config.region,
    nodeDb: o.nodeDb,
    shared: isCheckpointStore(o.store) ? o.store : undefined,
    make: o.makeRelay,
    logger: log,
  });
  let leases: PartitionLeases | undefined;
  const intake = new PartitionedIntake({
    region: config.region,
    nc: o.nc,
    js: o.js,
    jsm: o.jsm,
    handler: o.handler,
    runtime: o.runtime,
    maxInFlight: config.intake.maxInFlight,
    ackWaitMs: config.intake.ackWaitMs,
    logger: log,
    owns: (location) => leases?.holds("partition", location) ?? false,
  });
  leases = new PartitionLeases({
    nc: o.nc,
    region: config.region,
    nodeId: p.nodeId,
    partitions: p.locations,
    preferred: p.preferred,
    singletons: [RELAY_SINGLETON],
    ttlMs: p.leaseTtlMs,
    renewEveryMs: p.renewEveryMs,
    logger: log,
    onAcquire: async (kind, name) => {
      if (kind === "partition") await intake.startPartition(name);
      else await relays.start();
    },
    onRelease: async (kind, name, why) => {
      if (kind === "partition") {
        await intake.stopPartition(name);
        return;
      }
      if (why === "stop") {
        // Everything this node committed goes out before the relay moves on.
        await o.runtime.drain();
        await relays.current?.drain(15_000);
        await o.runtime.drain();
      }
      await relays.stop();
    },
  });
  await leases.start();
  const held = leases;
  let stopping: Promise<void> | undefined;
  return {
    nodeId: p.nodeId,
    leases: held,
    intake,
    relay: () => relays.current,
    stop: () => {
      stopping ??= (async () => {
        await held.stop();
        await intake.stopAll();
        await relays.stop();
      })();
      return stopping;
    },
  };
};
