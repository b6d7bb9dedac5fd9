/**
 * Fixtures of the multi-node tests (docs/scale-out.md): node processes (`services/regional-node/main.ts
 * --node-id`) of one region on one PostgreSQL schema, the lease bucket read from outside, a flood of
 * receipts and picks whose balances are known, and the exactly-once checks on the store and the streams.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream, writeFileSync } from "node:fs";
import path from "node:path";
import { type JetStreamManager, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import pg from "pg";
import { expect } from "vitest";
import { positionStreamId } from "../../domain/ids.ts";
import { connectNats } from "../../infra/nats/connection.ts";
import { cmdSubject, dlqStreamName, evtStreamName } from "../../infra/nats/subjects.ts";
import { leaseBucketName } from "../../services/regional-node/partition-leases.ts";
import { dropSchema, freshSchemaName, withClient } from "../infra/event-store/postgres-fixture.ts";
import {
  readStream,
  receipt,
  streamCount,
  tempDir,
  uniqueRegion,
  waitFor,
} from "../regional-node/node-fixtures.ts";

export const LOCATIONS = ["DC1", "DC2", "DC3", "DC4"];

export interface NodeProcess {
  readonly id: string;
  readonly child: ChildProcess;
  /** Resolves with the exit code or signal. */
  readonly exited: Promise<unknown>;
  readonly stderr: () => string;
  /** Lines of its log (stdout) that contain `text`. */
  readonly logLines: (text: string) => string[];
}

export const writeNodeConfig = (o: {
  dir: string;
  region: string;
  servers: string[];
  url: string;
  schema: string;
  /** Default 10 s / 2 s: above the event-loop stalls of a loaded 2-core machine. */
  lease?: { ttlMs: number; renewEveryMs: number };
}): string => {
  const file = path.join(o.dir, "node.json");
  writeFileSync(
    file,
    JSON.stringify({
      region: o.region,
      dataDir: o.dir,
      nats: { servers: o.servers },
      http: { enabled: false },
      store: { kind: "postgres", url: o.url, schema: o.schema },
      snapshotEvery: 7,
      // A killed node's unacknowledged commands come back after ack_wait; keep the test short.
      intake: { ackWaitMs: 3_000, maxInFlight: 100 },
      partitioning: {
        enabled: true,
        locations: LOCATIONS,
        leaseTtlMs: o.lease?.ttlMs ?? 10_000,
        renewEveryMs: o.lease?.renewEveryMs ?? 2_000,
      },
    }),
  );
  return file;
};

export const startNodeProcess = (
  region: string,
  configFile: string,
  id: string,
  logLevel = "warn",
): Promise<NodeProcess> =>
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
        "--node-id",
        id,
      ],
      { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, LOG_LEVEL: logLevel } },
    );
    let out = "";
    const lines: string[] = [];
    let partial = "";
    let err = "";
    const exited = new Promise((r) => child.once("exit", (code, signal) => r(code ?? signal)));
    const timer = setTimeout(() => reject(new Error(`node ${id} not ready: ${err}`)), 30_000);
    // STOCKLINE_TEST_NODE_LOGS=<dir>: every node's log kept in <dir>/<region>-<id>.log (diagnosis).
    const keep = process.env.STOCKLINE_TEST_NODE_LOGS;
    if (keep) child.stdout?.pipe(createWriteStream(path.join(keep, `${region}-${id}.log`)));
    child.stdout?.on("data", (d: Buffer) => {
      const text = partial + d.toString();
      const parts = text.split("\n");
      partial = parts.pop() ?? "";
      lines.push(...parts);
      if (out.length < 100_000) out += d.toString();
      if (out.includes('"ready":true')) {
        out = "";
        clearTimeout(timer);
        resolve({
          id,
          child,
          exited,
          stderr: () => err,
          logLines: (needle) => lines.filter((l) => l.includes(needle)),
        });
      }
    });
    child.stderr?.on("data", (d: Buffer) => {
      err += d.toString();
      if (err.length > 200_000) err = err.slice(-100_000);
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`node ${id} exited with ${String(code)}: ${err}`));
    });
  });

/** Owner of every lease in the region's bucket: `p.<location>` → location, `s.relay` → "relay". */
export const leaseOwners = async (nc: NatsConnection, region: string): Promise<Map<string, string>> => {
  const kv = await new Kvm(jetstream(nc)).open(leaseBucketName(region));
  const out = new Map<string, string>();
  // The stream's subjects (KV `keys()` was seen never to finish while leases were being renewed).
  const bucket = leaseBucketName(region);
  const info = await (await jetstreamManager(nc)).streams.info(`KV_${bucket}`, {
    subjects_filter: `$KV.${bucket}.>`,
  });
  for (const subject of Object.keys(info.state.subjects ?? {})) {
    const key = subject.slice(`$KV.${bucket}.`.length);
    if (key.startsWith("n.")) continue;
    const e = await kv.get(key);
    if (e?.operation !== "PUT" || e.value.length === 0) continue;
    const name = Buffer.from(key.slice(2), "base64url").toString("utf8");
    out.set(name, (e.json() as { owner: string }).owner);
  }
  return out;
};

/** Receipts (qty 1..5) and picks (qty 1) over 4 locations × `skus` SKUs; their expected net per position. */
export const flood = (region: string, n: number, skus: number, prefix: string) => {
  const expected = new Map<string, { received: number; picked: number }>();
  const keys: string[] = [];
  const commands = Array.from({ length: n }, (_, i) => {
    const location = LOCATIONS[i % LOCATIONS.length]!;
    const sku = `S-${Math.floor(i / LOCATIONS.length) % skus}`;
    const key = `${prefix}-${i}`;
    keys.push(key);
    const streamId = positionStreamId({ location, sku });
    const e = expected.get(streamId) ?? { received: 0, picked: 0 };
    expected.set(streamId, e);
    let body: object;
    if (i % 5 === 4) {
      e.picked += 1;
      body = {
        kind: "confirmPick",
        idempotencyKey: key,
        source: { system: "wms-1", document: { type: "pick", id: `P-${key}` } },
        businessTime: "2024-05-01T11:00:00.000Z",
        correlationId: `corr-${key}`,
        position: { region, location, sku },
        quantity: { value: 1, uom: "EA" },
      };
    } else {
      const qty = (i % 5) + 1;
      e.received += qty;
      body = receipt({ region, location, sku, key, qty });
    }
    return { subject: cmdSubject(region, location, sku), data: JSON.stringify(body) };
  });
  return { commands, keys, expected };
};

interface StoredRow {
  stream_id: string;
  revision: string;
  type: string;
  data: string;
}

/**
 * Every command once in the store (one event per idempotency key, all keys there), quantities per
 * position as sent, revisions 0..k-1 per stream with an unbroken hash chain (each event decided on
 * the state that had the previous one: no two writers interleaved), every event once in
 * INV_EVT_<R>, no dead letters.
 */
export const expectExactlyOnce = async (o: {
  schema: string;
  nc: NatsConnection;
  jsm: JetStreamManager;
  region: string;
  keys: readonly string[];
  expected: ReadonlyMap<string, { received: number; picked: number }>;
}): Promise<void> => {
  const rows = await withClient(
    async (c) =>
      (
        await c.query<StoredRow>(
          `SELECT stream_id, revision, type, data FROM ${pg.escapeIdentifier(o.schema)}.events ORDER BY global_position`,
        )
      ).rows,
  );
  const byKey = new Map<string, number>();
  const byStream = new Map<string, Array<{ revision: number; prevHash?: string; hash?: string }>>();
  const sums = new Map<string, { received: number; picked: number }>();
  for (const r of rows) {
    const e = JSON.parse(r.data) as {
      idempotencyKey: string;
      quantity: number;
      prevHash?: string;
      hash?: string;
    };
    // The command's own event (a fact may bring an exception event along, with the same key).
    if (r.type === "GoodsReceived" || r.type === "PickConfirmed")
      byKey.set(e.idempotencyKey, (byKey.get(e.idempotencyKey) ?? 0) + 1);
    const list = byStream.get(r.stream_id) ?? [];
    list.push({
      revision: Number(r.revision),
      ...(e.prevHash ? { prevHash: e.prevHash } : {}),
      ...(e.hash ? { hash: e.hash } : {}),
    });
    byStream.set(r.stream_id, list);
    const s = sums.get(r.stream_id) ?? { received: 0, picked: 0 };
    if (r.type === "GoodsReceived") s.received += Math.abs(e.quantity);
    else if (r.type === "PickConfirmed") s.picked += Math.abs(e.quantity);
    sums.set(r.stream_id, s);
  }
  expect([...byKey.values()].reduce((a, b) => a + b, 0)).toBe(o.keys.length);
  expect([...byKey.values()].filter((c) => c !== 1)).toEqual([]);
  expect(new Set(byKey.keys())).toEqual(new Set(o.keys));
  expect(Object.fromEntries(sums)).toEqual(Object.fromEntries(o.expected));
  for (const [streamId, list] of byStream) {
    list.sort((a, b) => a.revision - b.revision);
    list.forEach((ev, i) => {
      expect(ev.revision, streamId).toBe(i);
      if (i > 0 && ev.prevHash !== undefined) expect(ev.prevHash, streamId).toBe(list[i - 1]!.hash);
    });
  }

  const evt = evtStreamName(o.region);
  expect(await streamCount(o.jsm, evt)).toBe(rows.length);
  const published = await readStream(jetstream(o.nc), evt, rows.length, 20_000);
  const ids = published.map((m) => m.msgId);
  expect(new Set(ids).size).toBe(rows.length);
  const expectedIds = new Set(
    [...byStream].flatMap(([streamId, list]) => list.map((e) => `${o.region}:${streamId}:${e.revision}`)),
  );
  expect(new Set(ids)).toEqual(expectedIds);
  expect(await streamCount(o.jsm, dlqStreamName(o.region))).toBe(0);
};

/**
 * Waits until every command of the flood has its event in the store, then until INV_EVT_<R> holds as
 * many messages as the store has events (a fact may bring an exception event along).
 */
export const waitForAllApplied = async (o: {
  schema: string;
  jsm: JetStreamManager;
  region: string;
  n: number;
  timeoutMs: number;
}): Promise<void> => {
  const q = (sql: string) => withClient(async (c) => Number((await c.query<{ n: string }>(sql)).rows[0]!.n));
  const events = `${pg.escapeIdentifier(o.schema)}.events`;
  let total = 0;
  await waitFor(
    "every command in the store",
    async () =>
      (await q(`SELECT count(*) AS n FROM ${events} WHERE type IN ('GoodsReceived', 'PickConfirmed')`)) >=
      o.n,
    o.timeoutMs,
  );
  total = await q(`SELECT count(*) AS n FROM ${events}`);
  await waitFor(
    "every stored event in INV_EVT",
    async () => (await streamCount(o.jsm, evtStreamName(o.region))) >= total,
    o.timeoutMs,
  );
};

/** The region's streams and buckets on the shared server. */
export const deleteRegionState = async (jsm: JetStreamManager, region: string): Promise<void> => {
  const r = region.toUpperCase();
  for (const s of [`INV_CMD_${r}`, `INV_EVT_${r}`, `INV_DLQ_${r}`, `KV_${leaseBucketName(region)}`])
    await jsm.streams.delete(s).catch(() => false);
  for await (const s of jsm.streams.list())
    if (s.config.name.startsWith("KV_") && s.config.name.toLowerCase().endsWith(`_${region}`))
      await jsm.streams.delete(s.config.name).catch(() => false);
};

/** One scale-out scenario's region, schema, temp dir, connection and node processes. */
export interface ScaleOutRun {
  region: string;
  schema: string;
  tmp: { dir: string; remove: () => void };
  nc: NatsConnection;
  jsm: JetStreamManager;
  nodes: NodeProcess[];
}

/**
 * A fresh region, schema and temp dir with a connection to `servers`; registers in `cleanups` the
 * teardown that kills every node pushed to `nodes`, then deletes the region's state and the schema.
 */
export const openScaleOutRun = async (o: {
  label: string;
  regionPrefix: string;
  servers: string[];
  cleanups: Array<() => Promise<void> | void>;
}): Promise<ScaleOutRun> => {
  const region = uniqueRegion(o.regionPrefix);
  const schema = freshSchemaName(o.label);
  const tmp = tempDir(o.label);
  const nc = await connectNats({ servers: o.servers, name: `${o.label}-test` });
  const jsm = await jetstreamManager(nc);
  const nodes: NodeProcess[] = [];
  o.cleanups.push(async () => {
    for (const n of nodes) n.child.kill("SIGKILL");
    await Promise.all(nodes.map((n) => n.exited));
    await deleteRegionState(jsm, region);
    await nc.close();
    await dropSchema(schema);
    tmp.remove();
  });
  return { region, schema, tmp, nc, jsm, nodes };
};
