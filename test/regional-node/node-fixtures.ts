/**
 * Fixtures of the regional-node tests: unique regions, temporary data folders, node configs, and
 * commands that a source system would send.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { JetStreamClient, JetStreamManager } from "@nats-io/jetstream";
import { type NodeConfig, resolveNodeConfig } from "../../infra/config/node-config.ts";

/** A region id no other test run uses, so streams on a shared server never collide. */
export const uniqueRegion = (prefix = "t"): string => `${prefix}${randomBytes(4).toString("hex")}`;

export const tempDir = (label: string): { dir: string; remove: () => void } => {
  const dir = mkdtempSync(path.join(tmpdir(), `stockline-${label}-`));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
};

/** A key for the node's `POST /v1/commands`, speaking for the source systems the fixtures use. */
export const NODE_HTTP_KEY = "node-test-key-0123456789abcdefghijklmnop";
export const NODE_HTTP_KEYS = [
  { name: "fixture-sender", key: NODE_HTTP_KEY, roles: ["warehouse"], systems: ["wms-1", "erp", "oms"] },
];

export const nodeConfig = (
  region: string,
  dataDir: string,
  servers: string[],
  extra: Record<string, unknown> = {},
): NodeConfig =>
  resolveNodeConfig({
    region,
    dataDir,
    nats: { servers },
    http: { enabled: false },
    ...extra,
  });

export interface ReceiptArgs {
  region: string;
  location?: string;
  sku: string;
  key: string;
  qty?: number;
  system?: string;
  sequence?: number;
}

export const receipt = (a: ReceiptArgs) => ({
  kind: "receiveGoods",
  idempotencyKey: a.key,
  source: {
    system: a.system ?? "wms-1",
    document: { type: "ASN", id: `ASN-${a.key}` },
    ...(a.sequence !== undefined ? { sequence: a.sequence } : {}),
  },
  businessTime: "2024-05-01T10:00:00.000Z",
  correlationId: `corr-${a.key}`,
  position: { region: a.region, location: a.location ?? "DC1", sku: a.sku },
  quantity: { value: a.qty ?? 1, uom: "EA" },
});

export const reservation = (a: {
  region: string;
  location?: string;
  sku: string;
  key: string;
  qty: number;
  id: string;
}) => ({
  kind: "placeReservation",
  idempotencyKey: a.key,
  source: { system: "oms", document: { type: "order", id: `SO-${a.id}` } },
  businessTime: "2024-05-01T10:00:00.000Z",
  correlationId: `corr-${a.key}`,
  position: { region: a.region, location: a.location ?? "DC1", sku: a.sku },
  quantity: { value: a.qty, uom: "EA" },
  reservationId: a.id,
  channel: "web",
  ttlSeconds: 3600,
});

/** Every message of a stream (an ordered consumer from the start), as parsed JSON with its headers. */
export const readStream = async (
  js: JetStreamClient,
  stream: string,
  expected: number,
  timeoutMs = 10_000,
): Promise<Array<{ subject: string; data: unknown; msgId: string | undefined; seq: number }>> => {
  const out: Array<{ subject: string; data: unknown; msgId: string | undefined; seq: number }> = [];
  if (expected === 0) return out;
  const consumer = await js.consumers.get(stream);
  const deadline = Date.now() + timeoutMs;
  while (out.length < expected && Date.now() < deadline) {
    const batch = await consumer.fetch({
      max_messages: Math.min(5_000, expected - out.length),
      expires: 1_000,
    });
    for await (const m of batch) {
      out.push({
        subject: m.subject,
        data: m.json(),
        msgId: m.headers?.get("Nats-Msg-Id") || undefined,
        seq: m.seq,
      });
    }
  }
  return out;
};

export const streamCount = async (jsm: JetStreamManager, stream: string): Promise<number> =>
  (await jsm.streams.info(stream)).state.messages;

export const waitFor = async (
  what: string,
  check: () => Promise<boolean> | boolean,
  timeoutMs = 20_000,
): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
};

export const deleteRegionStreams = async (jsm: JetStreamManager, region: string): Promise<void> => {
  const r = region.toUpperCase();
  for (const s of [`INV_CMD_${r}`, `INV_EVT_${r}`, `INV_DLQ_${r}`])
    await jsm.streams.delete(s).catch(() => false);
};

/**
 * Leaves nothing of a file's node tests behind: the node stopped, the region's streams deleted, the
 * test's connection closed and its folder removed (each only where the file got that far).
 */
export const cleanUpNodeTest = async (t: {
  readonly node?: { stop(): Promise<void> };
  readonly jsm?: JetStreamManager;
  readonly nc?: { close(): Promise<void> };
  readonly region: string;
  readonly tmp: { remove(): void };
}): Promise<void> => {
  await t.node?.stop();
  if (t.jsm) await deleteRegionStreams(t.jsm, t.region);
  await t.nc?.close();
  t.tmp.remove();
};

/** Publishes many commands pipelined (acked by the stream), in order. */
export const publishAll = async (
  js: JetStreamClient,
  items: ReadonlyArray<{ subject: string; data: string | Uint8Array }>,
  window = 1024,
): Promise<void> => {
  let inFlight = 0;
  let failure: unknown;
  let wake: (() => void) | undefined;
  for (const item of items) {
    while (inFlight >= window) await new Promise<void>((r) => (wake = r));
    if (failure) throw failure;
    inFlight++;
    js.publish(item.subject, item.data).then(
      () => {
        inFlight--;
        wake?.();
      },
      (err: unknown) => {
        failure ??= err;
        inFlight--;
        wake?.();
      },
    );
  }
  while (inFlight > 0) await new Promise<void>((r) => (wake = r));
  if (failure) throw failure;
};
