/**
 * Failures of the process and of NATS, with real processes:
 * - a node process killed with SIGKILL mid-stream and restarted: every command is in the store
 *   exactly once and every stored event is in INV_EVT_<R> exactly once;
 * - the region's nats-server restarted while the relay publishes: nothing lost, nothing twice.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { type JetStreamManager, jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { afterAll, describe, expect, it } from "vitest";
import type { CanonicalEvent } from "../../domain/canonical-event.ts";
import { positionStreamId } from "../../domain/ids.ts";
import { SqliteEventStore } from "../../infra/event-store/sqlite-event-store.ts";
import { connectNats } from "../../infra/nats/connection.ts";
import { cmdSubject, evtStreamName } from "../../infra/nats/subjects.ts";
import { startTopology } from "../../infra/nats/topology.ts";
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
const cleanups: Array<() => Promise<void> | void> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

const startNodeProcess = (region: string, configFile: string): Promise<ChildProcess> =>
  new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        "--import",
        "tsx",
        path.resolve("services/regional-node/main.ts"),
        "--region",
        region,
        "--config",
        configFile,
      ],
      { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, LOG_LEVEL: "warn" } },
    );
    let out = "";
    let err = "";
    const timer = setTimeout(() => reject(new Error(`node process not ready: ${err}`)), 20_000);
    child.stdout?.on("data", (d: Buffer) => {
      out += d.toString();
      if (out.includes('"ready":true')) {
        clearTimeout(timer);
        resolve(child);
      }
    });
    child.stderr?.on("data", (d: Buffer) => {
      err += d.toString();
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`node process exited with ${code}: ${err}`));
    });
  });

const storeEvents = async (file: string): Promise<CanonicalEvent[]> => {
  const store = new SqliteEventStore({ path: file });
  try {
    const all = [];
    for (let from = 0; ; ) {
      const page = await store.readAll({ fromPosition: from, maxCount: 5_000 });
      if (page.length === 0) break;
      all.push(...page);
      from = page[page.length - 1]!.globalPosition;
    }
    return all.map((e) => e.data as CanonicalEvent);
  } finally {
    await store.close();
  }
};

const expectExactlyOnce = async (
  jsm: JetStreamManager,
  nc: NatsConnection,
  region: string,
  storeFile: string,
  keys: readonly string[],
) => {
  const events = await storeEvents(storeFile);
  const received = events.filter((e) => e.type === "GoodsReceived");
  expect(received).toHaveLength(keys.length);
  expect(new Set(received.map((e) => e.idempotencyKey))).toEqual(new Set(keys));

  const published = await readStream(jetstream(nc), evtStreamName(region), events.length);
  expect(await streamCount(jsm, evtStreamName(region))).toBe(events.length);
  const ids = published.map((m) => m.msgId);
  expect(new Set(ids).size).toBe(events.length);
  const expectedIds = events.map((e) => `${region}:${positionStreamId(e.position)}:${e.revision}`);
  expect(new Set(ids)).toEqual(new Set(expectedIds));
};

describe("kill -9 of a node process mid-stream", () => {
  it("after a restart, every command is applied once and every event published once", async () => {
    const region = uniqueRegion("kc");
    const tmp = tempDir("kill");
    const nc = await connectNats({ servers, name: "kill-test" });
    const jsm = await jetstreamManager(nc);
    cleanups.push(async () => {
      await deleteRegionStreams(jsm, region);
      await nc.close();
      tmp.remove();
    });
    const configFile = path.join(tmp.dir, "node.json");
    writeFileSync(
      configFile,
      JSON.stringify({
        region,
        dataDir: tmp.dir,
        nats: { servers },
        http: { enabled: false },
        snapshotEvery: 7,
        // A killed node's unacknowledged commands come back after ack_wait; keep the test short.
        intake: { ackWaitMs: 2_000, maxInFlight: 500 },
      }),
    );
    let child = await startNodeProcess(region, configFile);
    cleanups.push(() => {
      child.kill("SIGKILL");
    });

    const n = 3_000;
    const keys = Array.from({ length: n }, (_, i) => `kill-${i}`);
    const commands = keys.map((key, i) => {
      const sku = `K-${i % 60}`;
      return {
        subject: cmdSubject(region, "DC1", sku),
        data: JSON.stringify(receipt({ region, sku, key, qty: 1 })),
      };
    });
    await publishAll(jetstream(nc), commands);
    await waitFor(
      "some progress",
      async () => (await streamCount(jsm, evtStreamName(region))) >= 300,
      20_000,
    );
    child.kill("SIGKILL");
    await new Promise((r) => child.once("exit", r));
    const atKill = await streamCount(jsm, evtStreamName(region));
    expect(atKill).toBeLessThan(n); // it really died mid-stream

    child = await startNodeProcess(region, configFile);
    await waitFor("all events", async () => (await streamCount(jsm, evtStreamName(region))) >= n, 30_000);
    child.kill("SIGTERM");
    await new Promise((r) => child.once("exit", r));

    await expectExactlyOnce(jsm, nc, region, path.join(tmp.dir, "events.db"), keys);
  });
});

describe("NATS restart during relay", () => {
  it("loses nothing and publishes nothing twice", async () => {
    const region = "eu";
    const topo = await startTopology({ regions: [region], cuttableLinks: false });
    const tmp = tempDir("natsrestart");
    cleanups.push(async () => {
      await topo.stop();
      tmp.remove();
    });
    const url = topo.regions[region]!.url;
    const node = await startRegionalNode(nodeConfig(region, tmp.dir, [url]));
    cleanups.push(() => node.stop());
    const nc = await connectNats({ servers: [url], name: "restart-test" });
    cleanups.push(() => nc.close());
    const jsm = await jetstreamManager(nc);

    // Commands go in through HTTP-free, NATS-free intake (the runtime), so they keep committing while
    // NATS is down and the relay has a backlog to resume.
    const n = 3_000;
    const keys = Array.from({ length: n }, (_, i) => `nr-${i}`);
    const submitAll = Promise.all(
      keys.map((key, i) =>
        node.runtime.submit(receipt({ region, sku: `N-${i % 50}`, key, qty: 1 }) as never),
      ),
    );
    await waitFor(
      "relay started",
      async () => (await streamCount(jsm, evtStreamName(region))) >= 100,
      20_000,
    );
    await topo.stopRegion(region);
    const results = await submitAll;
    expect(results.every((r) => r.kind === "accepted")).toBe(true);
    await new Promise((r) => setTimeout(r, 1_000));
    await topo.startRegion(region);

    await waitFor(
      "all events after restart",
      async () => {
        try {
          return (await streamCount(jsm, evtStreamName(region))) >= n;
        } catch {
          return false;
        }
      },
      30_000,
    );
    expect(await node.relay.drain(10_000)).toBe(true);
    await expectExactlyOnce(jsm, nc, region, path.join(tmp.dir, "events.db"), keys);
  });
});
