/**
 * A relay that cannot be held by one event (issue 8): events stored before the id limits existed
 * (a 5,000-character SKU, whose subject passes the server's 4096-byte control line; a SKU with a lone
 * surrogate, for which no subject can be made) sit in the store between good ones. The relay
 * dead-letters each to INV_DLQ_<R> as `unpublishableEvent` naming it, records it in node.db, and the
 * good events after it reach INV_EVT_<R>. Before, the server dropped the connection on every try and
 * the relay stayed behind the bad event for good.
 * Real nats-server (127.0.0.1:4222), a region of its own, a real node over its SQLite store.
 */
import path from "node:path";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import pino from "pino";
import { afterAll, describe, expect, it } from "vitest";
import type { CanonicalEvent } from "../../domain/canonical-event.ts";
import { positionStreamId } from "../../domain/ids.ts";
import { openSqliteEventStore } from "../../infra/event-store/sqlite-event-store.ts";
import { connectNats } from "../../infra/nats/connection.ts";
import { cmdSubject, dlqStreamName, evtStreamName } from "../../infra/nats/subjects.ts";
import { NodeDb } from "../../services/regional-node/node-db.ts";
import { startRegionalNode } from "../../services/regional-node/regional-node.ts";
import {
  deleteRegionStreams,
  nodeConfig,
  readStream,
  receipt,
  streamCount,
  tempDir,
  uniqueRegion,
  waitFor,
} from "./node-fixtures.ts";

const servers = [process.env.NATS_URL ?? "nats://127.0.0.1:4222"];
const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

describe("relay: one event cannot hold it", () => {
  it("dead-letters events it can never publish and relays the good ones after them", async () => {
    const region = uniqueRegion("rp");
    const tmp = tempDir("relay-poison");
    cleanups.push(tmp.remove);
    const nc: NatsConnection = await connectNats({ servers, name: "relay-poison-test" });
    cleanups.push(() => nc.close());
    const jsm = await jetstreamManager(nc);
    cleanups.push(() => deleteRegionStreams(jsm, region));
    const js = jetstream(nc);
    const config = nodeConfig(region, tmp.dir, servers);
    const node = await startRegionalNode(config, { logger: pino({ level: "silent" }) });
    let stopped = false;
    cleanups.push(() => (stopped ? undefined : node.stop()));
    const send = (sku: string, key: string) =>
      js.publish(cmdSubject(region, "DC1", sku), JSON.stringify(receipt({ region, sku, key, qty: 3 })));

    await send("GOOD-1", "g1");
    await waitFor(
      "the first good event relayed",
      async () => (await streamCount(jsm, evtStreamName(region))) === 1,
    );
    const [first] = await readStream(js, evtStreamName(region), 1);
    const template = first!.data as CanonicalEvent;

    // As an older version would have stored them: written straight into the node's event store.
    const longSku = "X".repeat(5_000);
    const writer = openSqliteEventStore({ path: config.store.kind === "sqlite" ? config.store.path : "" });
    const bad = [
      { streamId: positionStreamId({ location: "DC1", sku: longSku }), sku: longSku, id: "bad-long" },
      // No subject can be made for a lone surrogate (encodeURIComponent throws).
      { streamId: "position-DC1~%ED%A0%80", sku: "\uD800", id: "bad-surrogate" },
    ];
    const positions: number[] = [];
    for (const b of bad) {
      const event = {
        ...template,
        eventId: b.id,
        revision: 0,
        position: { ...template.position, sku: b.sku },
      };
      const r = await writer.appendToStream(b.streamId, [{ eventId: b.id, type: event.type, data: event }], {
        expectedRevision: "no_stream",
      });
      positions.push(r.lastGlobalPosition);
    }
    await writer.close();

    // Good events after them.
    await send("GOOD-2", "g2");
    await send("GOOD-3", "g3");
    await waitFor(
      "the good events after the bad ones relayed",
      async () => (await streamCount(jsm, evtStreamName(region))) === 3,
      30_000,
    );
    const relayed = await readStream(js, evtStreamName(region), 3);
    expect(relayed.map((m) => (m.data as CanonicalEvent).position.sku)).toEqual([
      "GOOD-1",
      "GOOD-2",
      "GOOD-3",
    ]);

    // One dead letter per bad event, naming it.
    await waitFor("two dead letters", async () => (await streamCount(jsm, dlqStreamName(region))) >= 2);
    const dead = (await readStream(js, dlqStreamName(region), 2)).map(
      (m) =>
        m.data as {
          reason: string;
          message: string;
          details: {
            globalPosition: number;
            streamId: string;
            streamIdLength: number;
            revision: number;
            why: string;
          };
        },
    );
    expect(dead.map((d) => d.reason)).toEqual(["unpublishableEvent", "unpublishableEvent"]);
    expect(dead.map((d) => d.details.globalPosition)).toEqual(positions);
    expect(dead[0]!.details.streamIdLength).toBe(bad[0]!.streamId.length);
    expect(bad[0]!.streamId.startsWith(dead[0]!.details.streamId)).toBe(true);
    expect(dead[0]!.details.revision).toBe(0);
    expect(dead[0]!.details.why).toMatch(/control line/);
    expect(dead[1]!.details.streamId).toBe(bad[1]!.streamId);
    expect(dead[1]!.details.why).toMatch(/no event subject/);

    // The checkpoint passed them, and node.db says which were passed.
    await node.stop();
    stopped = true;
    expect(node.relay.checkpoint).toBeGreaterThan(Math.max(...positions));
    const nodeDb = new NodeDb(path.join(tmp.dir, "node.db"));
    cleanups.push(() => nodeDb.close());
    expect(nodeDb.skippedEvents().map((s) => s.globalPosition)).toEqual(positions);
  }, 60_000);
});
