/**
 * A region on several node processes for `make bench` (phase 6b; docs/scale-out.md): each node's
 * configuration (partitions = the workload's locations, one PostgreSQL store, leases as in the
 * scale-out tests) and the wait until the leases have settled, every location held, each node holding
 * its share, and one of them the relay.
 */
import { jetstream } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import { RELAY_SINGLETON } from "../services/regional-node/multi-node.ts";
import { leaseBucketName, partitionKey, singletonKey } from "../services/regional-node/partition-leases.ts";
import { waitUntil } from "./measure.ts";

/**
 * Lease TTL and renewal of test/scale-out: above the event-loop stalls of a node on this loaded
 * 2-core machine, so that no partition moves during the measurement.
 */
export const BENCH_LEASES = { leaseTtlMs: 10_000, renewEveryMs: 2_000 } as const;

/** Raw configuration of node `nodeId` of `region` (decoded by bench/node-child.ts like any other). */
export const partitionedNodeConfig = (o: {
  region: string;
  nodeId: string;
  dataDir: string;
  servers: readonly string[];
  pgUrl: string;
  schema: string;
  locations: readonly string[];
}) => ({
  region: o.region,
  dataDir: o.dataDir,
  nats: { servers: [...o.servers], name: `bench-node-${o.region}-${o.nodeId}` },
  http: { enabled: false },
  store: { kind: "postgres", url: o.pgUrl, schema: o.schema },
  partitioning: { enabled: true, nodeId: o.nodeId, locations: [...o.locations], ...BENCH_LEASES },
});

export interface LeaseShares {
  /** Locations each node holds. */
  readonly byNode: Record<string, string[]>;
  readonly relay: string | undefined;
}

/** Who holds each location's lease and the relay's, read from the region's lease bucket. */
export const leaseShares = async (
  nc: NatsConnection,
  region: string,
  nodeIds: readonly string[],
  locations: readonly string[],
): Promise<LeaseShares> => {
  const kv = await new Kvm(jetstream(nc)).open(leaseBucketName(region));
  const owner = async (key: string): Promise<string | undefined> => {
    const e = await kv.get(key);
    return e?.operation === "PUT" && e.value.length > 0 ? (e.json() as { owner: string }).owner : undefined;
  };
  const byNode: Record<string, string[]> = Object.fromEntries(nodeIds.map((id) => [id, []]));
  for (const location of locations) {
    const id = await owner(partitionKey(location));
    if (id !== undefined) byNode[id]?.push(location);
  }
  return { byNode, relay: await owner(singletonKey(RELAY_SINGLETON)) };
};

/**
 * Waits until the leases have settled: every location held by one of `nodeIds`, each of them holding
 * at least its share (the assignment's floor, partitions / nodes), one of them the relay.
 */
export const waitForLeaseShares = async (
  nc: NatsConnection,
  region: string,
  nodeIds: readonly string[],
  locations: readonly string[],
  timeoutMs: number,
): Promise<LeaseShares> => {
  const floor = Math.floor(locations.length / nodeIds.length);
  let shares: LeaseShares = { byNode: {}, relay: undefined };
  await waitUntil(
    `the leases of region ${region} shared by ${nodeIds.length} nodes`,
    async () => {
      // The bucket appears when the first node starts its leases.
      shares = await leaseShares(nc, region, nodeIds, locations).catch(() => shares);
      const held = Object.values(shares.byNode);
      return (
        held.length === nodeIds.length &&
        held.reduce((n, l) => n + l.length, 0) === locations.length &&
        held.every((l) => l.length >= floor) &&
        shares.relay !== undefined &&
        nodeIds.includes(shares.relay)
      );
    },
    timeoutMs,
  );
  return shares;
};
