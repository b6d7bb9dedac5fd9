/**
 * A regional node on the PostgreSQL event store (the machine's server, a fresh schema, dropped after):
 * commands through JetStream are applied and stored once, every stored event is relayed to
 * INV_EVT_<R> once, and a node restarted with an empty data folder (no local snapshots, no relay
 * checkpoint) rehydrates its positions from PostgreSQL: ATP, idempotency keys and revisions go on.
 */
import { type JetStreamManager, jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import * as E from "fp-ts/lib/Either.js";
import { afterAll, describe, expect, it } from "vitest";
import type { CanonicalEvent } from "../../domain/canonical-event.ts";
import { positionStreamId } from "../../domain/ids.ts";
import { openPostgresEventStore } from "../../infra/event-store/postgres-event-store.ts";
import { connectNats } from "../../infra/nats/connection.ts";
import { cmdSubject, evtStreamName, reqSubject } from "../../infra/nats/subjects.ts";
import { decodeCommandReply } from "../../services/regional-node/command-reply.ts";
import { type RegionalNode, startRegionalNode } from "../../services/regional-node/regional-node.ts";
import { dropSchema, freshSchemaName, TEST_POSTGRES_URL } from "../infra/event-store/postgres-fixture.ts";
import {
  deleteRegionStreams,
  nodeConfig,
  publishAll,
  readStream,
  receipt,
  reservation,
  streamCount,
  tempDir,
  uniqueRegion,
  waitFor,
} from "./node-fixtures.ts";

const servers = [process.env.NATS_URL ?? "nats://127.0.0.1:4222"];
const region = uniqueRegion("pg");
const schema = freshSchemaName("node");
const folders = [tempDir("pg-node-a"), tempDir("pg-node-b")];
let node: RegionalNode | undefined;
let nc: NatsConnection | undefined;
let jsm: JetStreamManager | undefined;

afterAll(async () => {
  await node?.stop();
  if (jsm) await deleteRegionStreams(jsm, region);
  await nc?.close();
  for (const f of folders) f.remove();
  await dropSchema(schema);
});

const start = (dataDir: string) =>
  startRegionalNode(
    nodeConfig(region, dataDir, servers, {
      store: { kind: "postgres", url: TEST_POSTGRES_URL, schema },
      snapshotEvery: 5,
    }),
  );

const storedEvents = async (): Promise<CanonicalEvent[]> => {
  const store = await openPostgresEventStore({ url: TEST_POSTGRES_URL, schema });
  try {
    return (await store.readAll({ fromPosition: 0, maxCount: 100_000 })).map((e) => e.data as CanonicalEvent);
  } finally {
    await store.close();
  }
};

const request = async (command: unknown) => {
  let msg: Awaited<ReturnType<NatsConnection["request"]>> | undefined;
  // Right after a start the node's subscription may not have reached the server yet.
  for (let attempt = 0; msg === undefined; attempt++) {
    try {
      msg = await nc!.request(reqSubject(region), JSON.stringify(command), { timeout: 10_000 });
    } catch (err) {
      if (attempt >= 50 || !/no responders/.test(String(err))) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const reply = decodeCommandReply(msg.json());
  if (E.isLeft(reply)) throw new Error(`reply does not match its codec: ${JSON.stringify(reply.left)}`);
  return reply.right;
};

describe("a regional node on PostgreSQL", () => {
  it("applies, relays and, after a restart on an empty data folder, rehydrates from the store", async () => {
    nc = await connectNats({ servers, name: "pg-node-test" });
    jsm = await jetstreamManager(nc);
    const js = jetstream(nc);
    node = await start(folders[0]!.dir);
    expect(node.config.store).toEqual({ kind: "postgres", url: TEST_POSTGRES_URL, schema });

    // 300 receipts of 2 units over 20 positions: 30 units per SKU.
    const n = 300;
    const commands = Array.from({ length: n }, (_, i) =>
      receipt({ region, sku: `PG-${i % 20}`, key: `pg-${i}`, qty: 2 }),
    );
    await publishAll(
      js,
      commands.map((c) => ({
        subject: cmdSubject(region, c.position.location, c.position.sku),
        data: JSON.stringify(c),
      })),
    );
    await waitFor("every receipt stored", async () => (await storedEvents()).length >= n, 30_000);
    const events = await storedEvents();
    expect(events.filter((e) => e.type === "GoodsReceived")).toHaveLength(n);
    expect(new Set(events.map((e) => e.idempotencyKey))).toEqual(
      new Set(commands.map((c) => c.idempotencyKey)),
    );

    const evt = evtStreamName(region);
    await waitFor("every event relayed", async () => (await streamCount(jsm!, evt)) >= events.length, 30_000);
    const published = await readStream(js, evt, events.length);
    expect(published.map((m) => m.msgId).sort()).toEqual(
      events.map((e) => `${region}:${positionStreamId(e.position)}:${e.revision}`).sort(),
    );

    // A restart on another machine, so to speak: nothing local survives.
    await node.stop();
    node = await start(folders[1]!.dir);

    // Rehydrated: 30 units are there for PG-0 (31 are not), a repeat of a key is a duplicate.
    const tooMuch = await request(reservation({ region, sku: "PG-0", key: "pg-r1", qty: 31, id: "R1" }));
    expect(tooMuch.outcome).toBe("rejected");
    const enough = await request(reservation({ region, sku: "PG-0", key: "pg-r2", qty: 30, id: "R2" }));
    expect(enough.outcome).toBe("accepted");
    expect((await request(commands[1])).outcome).toBe("duplicate");
    const more = await request(receipt({ region, sku: "PG-1", key: "pg-after", qty: 1 }));
    expect(more.outcome).toBe("accepted");
    if (more.outcome === "accepted") expect(more.events[0]?.revision).toBe(15);

    // The relay started from position 0 on the new folder: JetStream's dedup window keeps it once.
    const all = await storedEvents();
    await waitFor("the new events relayed", async () => (await streamCount(jsm!, evt)) >= all.length, 30_000);
    await new Promise((r) => setTimeout(r, 500));
    expect(await streamCount(jsm!, evt)).toBe(all.length);
  }, 90_000);
});
