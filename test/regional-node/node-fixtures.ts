/**
 * Fixtures of the regional-node tests: unique regions, temporary data folders, node configs, and
 * commands that a source system would send.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { type NodeConfig, resolveNodeConfig } from "../../infra/config/node-config.ts";

/** A region id no other test run uses, so streams on a shared server never collide. */
export const uniqueRegion = (prefix = "t"): string => `${prefix}${randomBytes(4).toString("hex")}`;

export const tempDir = (label: string): { dir: string; remove: () => void } => {
  const dir = mkdtempSync(path.join(tmpdir(), `stockline-${label}-`));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
};

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
