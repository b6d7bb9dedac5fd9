/**
 * The relay publishes its own commits from the tail WorkerAppendStore hands over, and reads the store
 * wherever that tail does not continue the log: events of another writer of the same file (before,
 * between and after our commits) are published too, every event once, with its msg id and stored JSON.
 * Real nats-server (127.0.0.1:4222), a region of its own.
 */
import path from "node:path";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import pino from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { positionStreamId } from "../../domain/ids.ts";
import { openSqliteEventStore } from "../../infra/event-store/sqlite-event-store.ts";
import { connectNats } from "../../infra/nats/connection.ts";
import { ensureRegionStreams } from "../../infra/nats/streams.ts";
import { evtStreamName } from "../../infra/nats/subjects.ts";
import { NodeDb } from "../../services/regional-node/node-db.ts";
import { Relay } from "../../services/regional-node/relay.ts";
import { WorkerAppendStore } from "../../services/regional-node/worker-append-store.ts";
import {
  deleteRegionStreams,
  readStream,
  streamCount,
  tempDir,
  uniqueRegion,
  waitFor,
} from "./node-fixtures.ts";

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const streamOf = (sku: string) => positionStreamId({ location: "DC1", sku } as never);
const events = (from: number, n: number) =>
  Array.from({ length: n }, (_, i) => ({ eventId: `e${from + i}`, type: "Thing", data: { n: from + i } }));

/** A relay over a WorkerAppendStore on a fresh file and region; `checkpoint` as left by an earlier run. */
const startRelay = async (checkpoint?: number) => {
  const region = uniqueRegion("rt");
  const nc: NatsConnection = await connectNats({
    servers: process.env.NATS_URL ?? "nats://127.0.0.1:4222",
    name: "relay-tail-test",
  });
  cleanups.push(() => nc.close());
  const jsm = await jetstreamManager(nc);
  await ensureRegionStreams(jsm, region);
  cleanups.push(() => deleteRegionStreams(jsm, region));
  const tmp = tempDir("relay-tail");
  cleanups.push(tmp.remove);
  const file = path.join(tmp.dir, "events.db");
  const store = new WorkerAppendStore(openSqliteEventStore({ path: file }), {
    path: file,
    synchronous: "FULL",
  });
  cleanups.push(() => store.close());
  await store.start();
  const other = openSqliteEventStore({ path: file }); // writes the relay is not told about
  cleanups.push(() => other.close());
  const nodeDb = new NodeDb(path.join(tmp.dir, "node.db"));
  cleanups.push(() => nodeDb.close());
  const relay = new Relay({
    region,
    nc,
    store,
    nodeDb,
    window: 4,
    batch: 3, // several pages per read of the store
    checkpointEveryMs: 50,
    logger: pino({ level: "silent" }),
    submitLocal: () => Promise.reject(new Error("no transfers here")),
    onDerivedRejected: () => Promise.reject(new Error("no transfers here")),
  });
  if (checkpoint !== undefined)
    nodeDb.saveCheckpoints([
      [`relay:${region}`, checkpoint],
      [`transfers:${region}`, 0],
    ]);
  relay.start();
  cleanups.push(() => relay.stop());
  return { region, nc, jsm, store, other };
};

describe("relay tail", () => {
  it("publishes its own commits and another writer's, each once, wherever the tail has a gap", async () => {
    const { region, nc, jsm, store, other } = await startRelay();

    const revisions = new Map<string, number>();
    const append = async (writer: "relay's" | "other", sku: string, from: number, n: number) => {
      const streamId = streamOf(sku);
      const expectedRevision = revisions.get(streamId) ?? -1;
      const item = { streamId, events: events(from, n), expectedRevision };
      const [outcome] = writer === "other" ? await other.appendMany([item]) : await store.appendMany([item]);
      expect(outcome?.ok).toBe(true);
      revisions.set(streamId, expectedRevision + n);
    };
    await append("other", "B", 0, 4); // before the relay's first commit
    await append("relay's", "A", 4, 3);
    await append("other", "B", 7, 2); // between two of ours: a gap in the tail
    for (let i = 0; i < 10; i++) await append("relay's", i % 2 ? "A" : "C", 9 + i, 1);
    await append("other", "D", 19, 2); // last: found by the relay's idle read of the store
    const total = 21;

    const evt = evtStreamName(region);
    await waitFor("every event in INV_EVT", async () => (await streamCount(jsm, evt)) >= total);
    const published = await readStream(jetstream(nc), evt, total);
    const stored = store.readAllRaw({ fromPosition: 0, maxCount: 100 });
    expect(stored).toHaveLength(total);
    const key = (streamId: string, revision: number) => `${region}:${streamId}:${revision}`;
    expect(published.map((m) => m.msgId).sort()).toEqual(
      stored.map((e) => key(e.streamId, e.revision)).sort(),
    );
    const byId = new Map(published.map((m) => [m.msgId, m.data]));
    for (const e of stored) expect(byId.get(key(e.streamId, e.revision))).toEqual(JSON.parse(e.data));
    expect(await streamCount(jsm, evt)).toBe(total); // nothing twice
  });

  it("does not spin when its checkpoint is ahead of the store (a store restored without node.db)", async () => {
    const { store } = await startRelay(100);
    await store.appendMany([{ streamId: streamOf("A"), events: events(0, 2), expectedRevision: -1 }]);
    // A relay looping without waiting would starve the event loop: this timer would never fire.
    await new Promise((r) => setTimeout(r, 600));
  });
});
