/**
 * The lease manager (services/regional-node/partition-leases.ts) on a real nats-server (the machine's
 * shared one, a unique region per test): two nodes split the partitions and exactly one holds the
 * singleton; a node stopping hands its leases over at once; a lease of a silent node is taken only
 * after its TTL, by a revision-checked update.
 */
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import pino from "pino";
import { afterAll, describe, expect, it } from "vitest";
import { connectNats } from "../../infra/nats/connection.ts";
import {
  type LeaseKind,
  leaseBucketName,
  PartitionLeases,
  partitionKey,
} from "../../services/regional-node/partition-leases.ts";
import { uniqueRegion, waitFor } from "../regional-node/node-fixtures.ts";

const servers = [process.env.NATS_URL ?? "nats://127.0.0.1:4222"];
const cleanups: Array<() => Promise<void> | void> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

const PARTS = ["A", "B", "C", "D"];

const manager = (nc: NatsConnection, region: string, nodeId: string, ttlMs = 2_000) => {
  const owned = new Set<string>();
  const events: string[] = [];
  const leases = new PartitionLeases({
    nc,
    region,
    nodeId,
    partitions: PARTS,
    singletons: ["relay"],
    ttlMs,
    renewEveryMs: Math.floor(ttlMs / 4),
    logger: process.env.STOCKLINE_TEST_LEASE_LOG
      ? pino({ level: "debug" }, pino.destination(`${process.env.STOCKLINE_TEST_LEASE_LOG}-${nodeId}.log`))
      : pino({ level: "silent" }),
    onAcquire: async (kind: LeaseKind, name: string) => {
      owned.add(`${kind}:${name}`);
      events.push(`+${name}`);
    },
    onRelease: async (kind: LeaseKind, name: string) => {
      owned.delete(`${kind}:${name}`);
      events.push(`-${name}`);
    },
  });
  return { leases, owned, events };
};

const setup = async () => {
  const region = uniqueRegion("ls");
  const nc = await connectNats({ servers, name: "leases-test" });
  const jsm = await jetstreamManager(nc);
  cleanups.push(async () => {
    await jsm.streams.delete(`KV_${leaseBucketName(region)}`).catch(() => false);
    await nc.close();
  });
  return { region, nc };
};

const partitionsOf = (m: { owned: Set<string> }) => [...m.owned].filter((x) => x.startsWith("partition:"));

describe("partition leases on a real nats-server", () => {
  it("two nodes split the partitions two and two, one holds the singleton; a stop hands over at once", async () => {
    const { region, nc } = await setup();
    const a = manager(nc, region, "a");
    const b = manager(nc, region, "b");
    await a.leases.start();
    await b.leases.start();
    cleanups.push(() => a.leases.stop());
    cleanups.push(() => b.leases.stop());
    await waitFor("two each", () => partitionsOf(a).length === 2 && partitionsOf(b).length === 2, 30_000);
    expect(new Set([...partitionsOf(a), ...partitionsOf(b)]).size).toBe(4);
    expect([a.owned.has("singleton:relay"), b.owned.has("singleton:relay")].filter(Boolean)).toHaveLength(1);

    const stoppedAt = Date.now();
    await a.leases.stop();
    expect(a.owned.size).toBe(0);
    await waitFor(
      "b holds everything",
      () => partitionsOf(b).length === 4 && b.owned.has("singleton:relay"),
      30_000,
    );
    // Released, not expired: well within one TTL (2 s) plus a few rounds.
    expect(Date.now() - stoppedAt).toBeLessThan(10_000);
  });

  it("a lease of a silent node is taken only after its TTL, by a revision-checked update", async () => {
    const { region, nc } = await setup();
    const kv = await new Kvm(jetstream(nc)).create(leaseBucketName(region), { history: 1 });
    // A node "ghost" took A and went silent (no renewals, no heartbeat).
    await kv.create(
      partitionKey("A"),
      JSON.stringify({ owner: "ghost", epoch: 7, expiresAt: new Date().toISOString() }),
    );
    const ttlMs = 3_000;
    const b = manager(nc, region, "b", ttlMs);
    const startedAt = Date.now();
    await b.leases.start();
    cleanups.push(() => b.leases.stop());
    await waitFor("the free ones", () => partitionsOf(b).length >= 3, 20_000);
    expect(b.owned.has("partition:A")).toBe(false);
    await waitFor("A after the TTL", () => b.owned.has("partition:A"), 20_000);
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(ttlMs);
    const e = await kv.get(partitionKey("A"));
    expect(e?.json()).toMatchObject({ owner: "b", epoch: 8 });

    // The ghost wakes up and renews with the revision it knew: refused.
    await expect(
      kv.update(partitionKey("A"), JSON.stringify({ owner: "ghost", epoch: 7, expiresAt: "" }), 1),
    ).rejects.toThrow(/wrong last sequence/i);
  });
});
