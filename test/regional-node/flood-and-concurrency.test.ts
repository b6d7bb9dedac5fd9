/**
 * No double application under a messy flood (duplicates and out-of-order source sequences), parked
 * commands released when their gap fills (and applied and flagged after the timeout), and optimistic
 * concurrency between two runtimes writing the same position through one SQLite file.
 */
import { type JetStreamClient, type JetStreamManager, jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CanonicalEvent, verifyChain } from "../../domain/canonical-event.ts";
import type { Command } from "../../domain/commands.ts";
import { positionStreamId } from "../../domain/ids.ts";
import { ALLOW_ALL } from "../../domain/ownership-policy.ts";
import { DEFAULT_DECISION_CONFIG } from "../../domain/position.decider.ts";
import { DEFAULT_LIMITS } from "../../domain/position-context.ts";
import { SqliteEventStore } from "../../infra/event-store/sqlite-event-store.ts";
import { connectNats } from "../../infra/nats/connection.ts";
import { cmdSubject, dlqStreamName, evtStreamName } from "../../infra/nats/subjects.ts";
import { GroupCommitter } from "../../services/regional-node/group-committer.ts";
import { NodeDb } from "../../services/regional-node/node-db.ts";
import { PositionRuntime } from "../../services/regional-node/position-runtime.ts";
import { startRegionalNode } from "../../services/regional-node/regional-node.ts";
import {
  deleteRegionStreams,
  nodeConfig,
  publishAll,
  readStream,
  receipt,
  streamCount,
  tempDir,
  uniqueRegion,
  waitFor,
} from "./node-fixtures.ts";

const servers = [process.env.NATS_URL ?? "nats://127.0.0.1:4222"];
let nc: NatsConnection;
let js: JetStreamClient;
let jsm: JetStreamManager;
const regions: string[] = [];
const temps: Array<{ remove: () => void }> = [];

beforeAll(async () => {
  nc = await connectNats({ servers, name: "flood-test" });
  js = jetstream(nc);
  jsm = await jetstreamManager(nc);
});

afterAll(async () => {
  for (const r of regions) await deleteRegionStreams(jsm, r);
  await nc?.close();
  for (const t of temps) t.remove();
});

/** Deterministic pseudo-random numbers, so a failure can be replayed. */
const rng = (seed: number) => () => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed / 0x7fffffff;
};

describe("a flood with 10% duplicates and 10% reordering", () => {
  it("applies every distinct command exactly once, in source order, with nothing dead-lettered", async () => {
    const region = uniqueRegion("fl");
    regions.push(region);
    const tmp = tempDir("flood");
    temps.push(tmp);
    const node = await startRegionalNode(nodeConfig(region, tmp.dir, servers, { parkTimeoutMs: 60_000 }));
    try {
      const positions = 40;
      const perPosition = 50;
      const random = rng(42);
      // Per position: sequences 1..n with quantity = sequence (so order mistakes show in the sums).
      const streams = Array.from({ length: positions }, (_, p) =>
        Array.from({ length: perPosition }, (_, i) =>
          receipt({ region, sku: `F-${p}`, key: `f-${p}-${i + 1}`, qty: i + 1, sequence: i + 1 }),
        ),
      );
      const sends: Array<ReturnType<typeof receipt>> = [];
      for (const s of streams) {
        const out = [...s];
        // Reorder ~10%: swap with the next one (never the first, which sets the source's baseline).
        for (let i = 1; i < out.length - 1; i++) {
          if (random() < 0.1) [out[i], out[i + 1]] = [out[i + 1]!, out[i]!];
        }
        for (const c of out) {
          sends.push(c);
          if (random() < 0.1) sends.push(c); // duplicate
        }
      }
      // Interleave positions as a real feed would.
      const byPosition = new Map<string, Array<ReturnType<typeof receipt>>>();
      for (const c of sends) byPosition.set(c.position.sku, [...(byPosition.get(c.position.sku) ?? []), c]);
      const interleaved: Array<ReturnType<typeof receipt>> = [];
      for (let i = 0; interleaved.length < sends.length; i++)
        for (const list of byPosition.values()) if (list[i]) interleaved.push(list[i]!);
      const duplicates = sends.length - positions * perPosition;
      expect(duplicates).toBeGreaterThan(0.05 * positions * perPosition);

      await publishAll(
        js,
        interleaved.map((c) => ({
          subject: cmdSubject(region, "DC1", c.position.sku),
          data: JSON.stringify(c),
        })),
      );
      const total = positions * perPosition;
      await waitFor(
        "all events relayed",
        async () => (await streamCount(jsm, evtStreamName(region))) >= total,
        30_000,
      );
      await node.stop();

      const store = new SqliteEventStore({
        path: node.config.store.kind === "sqlite" ? node.config.store.path : "",
      });
      try {
        for (let p = 0; p < positions; p++) {
          const events = (await store.readStream(positionStreamId({ location: "DC1", sku: `F-${p}` }))).map(
            (e) => e.data as CanonicalEvent,
          );
          const receipts = events.filter((e) => e.type === "GoodsReceived");
          expect(receipts.map((e) => e.source.sequence)).toEqual(
            Array.from({ length: perPosition }, (_, i) => i + 1),
          );
          expect(receipts[receipts.length - 1]?.balancesAfter.onHand.available).toBe(
            (perPosition * (perPosition + 1)) / 2,
          );
          expect(verifyChain(events).ok).toBe(true);
        }
      } finally {
        await store.close();
      }
      expect(await streamCount(jsm, evtStreamName(region))).toBe(total);
      expect(await streamCount(jsm, dlqStreamName(region))).toBe(0);
    } finally {
      await node.stop();
    }
  });

  it("applies a parked command after the park timeout and flags it as a dead-letter notice", async () => {
    const region = uniqueRegion("pk");
    regions.push(region);
    const tmp = tempDir("park");
    temps.push(tmp);
    const node = await startRegionalNode(nodeConfig(region, tmp.dir, servers, { parkTimeoutMs: 300 }));
    try {
      const subject = cmdSubject(region, "DC1", "P-1");
      await publishAll(js, [
        { subject, data: JSON.stringify(receipt({ region, sku: "P-1", key: "p1", qty: 1, sequence: 1 })) },
        // sequence 2 never arrives
        { subject, data: JSON.stringify(receipt({ region, sku: "P-1", key: "p3", qty: 3, sequence: 3 })) },
      ]);
      await waitFor("both applied", async () => (await streamCount(jsm, evtStreamName(region))) >= 2, 10_000);
      await waitFor("gap notice", async () => (await streamCount(jsm, dlqStreamName(region))) >= 1, 10_000);
      const [notice] = await readStream(js, dlqStreamName(region), 1);
      expect(notice?.data).toMatchObject({
        reason: "sequenceGapTimeout",
        applied: true,
        context: { sku: "P-1", idempotencyKey: "p3" },
      });
      const events = await readStream(js, evtStreamName(region), 2);
      expect(events.map((m) => (m.data as CanonicalEvent).source.sequence)).toEqual([1, 3]);
    } finally {
      await node.stop();
    }
  });
});

describe("two runtimes on the same position (one SQLite file)", () => {
  it("optimistic concurrency keeps the stream contiguous and applies every command once", async () => {
    const tmp = tempDir("occ");
    temps.push(tmp);
    const file = `${tmp.dir}/events.db`;
    const make = (name: string) => {
      const store = new SqliteEventStore({ path: file, synchronous: "NORMAL" });
      const nodeDb = new NodeDb(`${tmp.dir}/${name}.db`);
      let runtime: PositionRuntime | undefined;
      const committer = new GroupCommitter(store, {
        region: "occ",
        maxBatch: 100,
        afterCommit: () => runtime?.flushSnapshots(),
      });
      runtime = new PositionRuntime({
        region: "occ",
        store,
        committer,
        nodeDb,
        policy: ALLOW_ALL,
        decisionConfig: DEFAULT_DECISION_CONFIG,
        limits: DEFAULT_LIMITS,
        snapshotEvery: 10,
        cache: { max: 100, idleMs: 60_000 },
        maxRetries: 50,
        parkTimeoutMs: 60_000,
        logger: pino({ level: "silent" }),
      });
      return { store, nodeDb, runtime };
    };
    const a = make("a");
    const b = make("b");
    try {
      const n = 200;
      const commands = Array.from(
        { length: n },
        (_, i) => receipt({ region: "occ", sku: "HOT", key: `occ-${i}`, qty: 1 }) as unknown as Command,
      );
      // Each runtime gets every other command, plus some of the other's (duplicates across writers).
      const results = await Promise.all(
        commands.flatMap((c, i) => {
          const mine = i % 2 === 0 ? a : b;
          const other = i % 2 === 0 ? b : a;
          return i % 10 === 0 ? [mine.runtime.submit(c), other.runtime.submit(c)] : [mine.runtime.submit(c)];
        }),
      );
      expect(results.filter((r) => r.kind === "failed")).toEqual([]);
      expect(results.filter((r) => r.kind === "accepted")).toHaveLength(n);
      expect(a.runtime.counters.conflicts + b.runtime.counters.conflicts).toBeGreaterThan(0);

      const events = (await a.store.readStream(positionStreamId({ location: "DC1", sku: "HOT" }))).map(
        (e) => e.data as CanonicalEvent,
      );
      expect(events).toHaveLength(n);
      expect(new Set(events.map((e) => e.idempotencyKey)).size).toBe(n);
      expect(verifyChain(events).ok).toBe(true);
      expect(events[n - 1]?.balancesAfter.onHand.available).toBe(n);
    } finally {
      for (const x of [a, b]) {
        await x.runtime.drain();
        x.runtime.close();
        await x.store.close();
        x.nodeDb.close();
      }
    }
  });
});
