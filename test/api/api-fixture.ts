/**
 * A real system for API tests: a hub and regions (real nats-server processes, cuttable leaf links),
 * an in-process regional node, regional projector and reservation expiry per region, the global
 * projector on the hub, and the API on a free port.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { NatsConnection } from "@nats-io/transport-node";
import type { OwnershipPolicy } from "../../domain/ownership-policy.ts";
import { resolveNodeConfig } from "../../infra/config/node-config.ts";
import { connectNats, drainAndClose } from "../../infra/nats/connection.ts";
import { reqSubject } from "../../infra/nats/subjects.ts";
import { startTopology, type Topology } from "../../infra/nats/topology.ts";
import { type ApiConfig, resolveApiConfig } from "../../services/api/api-config.ts";
import { type ApiServer, startApiServer } from "../../services/api/api-server.ts";
import { type ReservationExpiry, startReservationExpiry } from "../../services/api/reservation-expiry.ts";
import { GlobalProjector } from "../../services/projectors/global-projector.ts";
import { eventStoreReader, RegionalProjector } from "../../services/projectors/regional-projector.ts";
import { type RegionalNode, startRegionalNode } from "../../services/regional-node/regional-node.ts";

export const KEYS = {
  // At least 32 characters: shorter keys are refused at config load.
  commerce: "k-commerce-0123456789abcdefghijklmnop",
  warehouse: "k-warehouse-0123456789abcdefghijklmnop",
  operations: "k-operations-0123456789abcdefghijklmnop",
  finance: "k-finance-0123456789abcdefghijklmnop",
  limited: "k-limited-0123456789abcdefghijklmnop",
  /** Keys bound to a channel: they speak for SHOP_NL and SHOP_BE. */
  shopNl: "k-shop-nl-0123456789abcdefghijklmnop",
  shopBe: "k-shop-be-0123456789abcdefghijklmnop",
} as const;

export interface RegionParts {
  node: RegionalNode;
  projector: RegionalProjector;
  expiry: ReservationExpiry;
  nc: NatsConnection;
}

export interface ApiSystem {
  topology: Topology;
  regions: string[];
  hubNc: NatsConnection;
  global: GlobalProjector;
  api: ApiServer;
  config: ApiConfig;
  parts: Map<string, RegionParts>;
  dir: string;
  /** Stops a region's node, projector and expiry (its NATS server keeps running). */
  stopRegion(region: string): Promise<void>;
  /** Starts them again on the same data folder. */
  startRegion(region: string): Promise<void>;
  /** Stops and starts the API on the same data folder and port-free config. */
  restartApi(): Promise<void>;
  /** Sends a command to a region's node over request/reply; returns the decoded reply. */
  command(region: string, command: unknown): Promise<{ outcome: string; [k: string]: unknown }>;
  http(
    method: string,
    pathname: string,
    opts?: { key?: string | null; body?: unknown; headers?: Record<string, string> },
    // biome-ignore lint/suspicious/noExplicitAny: tests read response bodies field by field
  ): Promise<{ status: number; body: any; headers: Headers }>;
  stop(): Promise<void>;
}

export const uniqueRegions = (n: number): string[] => {
  const tag = randomBytes(3).toString("hex");
  return Array.from({ length: n }, (_, i) => `a${tag}${String.fromCharCode(97 + i)}`);
};

let seq = 0;
export const receive = (region: string, location: string, sku: string, qty: number) => ({
  kind: "receiveGoods",
  idempotencyKey: `rcv-${Date.now()}-${++seq}`,
  source: { system: "wms-1", document: { type: "ASN", id: `ASN-${seq}` } },
  businessTime: new Date().toISOString(),
  correlationId: `corr-rcv-${seq}`,
  position: { region, location, sku },
  quantity: { value: qty, uom: "EA" },
});

export const pick = (region: string, location: string, sku: string, qty: number, reservationId?: string) => ({
  kind: "confirmPick",
  idempotencyKey: `pick-${Date.now()}-${++seq}`,
  source: { system: "wms-1", document: { type: "pick", id: `PK-${seq}` } },
  businessTime: new Date().toISOString(),
  correlationId: `corr-pick-${seq}`,
  position: { region, location, sku },
  quantity: { value: qty, uom: "EA" },
  ...(reservationId ? { reservationId } : {}),
});

export const startApiSystem = async (
  opts: {
    regions?: number;
    apiConfig?: Record<string, unknown>;
    /** Ownership policy of every regional node (default: everyone may do everything). */
    ownership?: OwnershipPolicy;
  } = {},
): Promise<ApiSystem> => {
  const regions = uniqueRegions(opts.regions ?? 1);
  const dir = mkdtempSync(path.join(tmpdir(), "stockline-api-"));
  const topology = await startTopology({ regions });
  const parts = new Map<string, RegionParts>();
  const cleanups: Array<() => Promise<void>> = [];
  try {
    const startRegion = async (region: string) => {
      const url = topology.regions[region]!.url;
      const node = await startRegionalNode(
        resolveNodeConfig({
          region,
          dataDir: path.join(dir, region),
          nats: { servers: [url] },
          http: { enabled: false },
          ...(opts.ownership ? { ownership: opts.ownership } : {}),
        }),
      );
      const nc = await connectNats({ servers: url, name: `api-test-${region}` });
      const projector = new RegionalProjector({ nc, region, readStream: eventStoreReader(node.store) });
      await projector.start();
      const expiry = await startReservationExpiry({
        nc,
        region,
        domain: region,
        retryMs: 200,
        requestTimeoutMs: 2_000,
      });
      parts.set(region, { node, projector, expiry, nc });
    };
    const stopRegion = async (region: string) => {
      const p = parts.get(region);
      if (!p) return;
      parts.delete(region);
      await p.expiry.stop();
      await p.projector.stop();
      await p.node.stop();
      await drainAndClose(p.nc);
    };
    for (const r of regions) await startRegion(r);
    cleanups.push(async () => {
      for (const r of [...parts.keys()]) await stopRegion(r);
    });

    const hubNc = await connectNats({ servers: topology.hub.url, name: "api-test-hub" });
    cleanups.push(() => drainAndClose(hubNc));
    const global = new GlobalProjector({
      nc: hubNc,
      regions,
      staleAfterMs: 1_500,
      probeIntervalMs: 200,
      probeTimeoutMs: 500,
    });
    await global.start();
    cleanups.push(() => global.stop());

    const config = resolveApiConfig({
      regions,
      dataDir: path.join(dir, "api"),
      apiKeys: [
        { name: "shop", key: KEYS.commerce, roles: ["commerce"] },
        { name: "wms", key: KEYS.warehouse, roles: ["warehouse"] },
        { name: "ops", key: KEYS.operations, roles: ["operations"] },
        { name: "fin", key: KEYS.finance, roles: ["finance"] },
        { name: "tiny", key: KEYS.limited, roles: ["commerce"], rateLimit: { max: 3, windowMs: 60_000 } },
        { name: "shop-nl", key: KEYS.shopNl, roles: ["commerce"], channel: "SHOP_NL" },
        { name: "shop-be", key: KEYS.shopBe, roles: ["commerce"], channel: "SHOP_BE" },
      ],
      rateLimit: { max: 100_000, windowMs: 1_000 },
      reservations: { requestTimeoutMs: 3_000 },
      degraded: { staleAfterMs: 1_500, haircut: 0.2, reconcileEveryMs: 300 },
      ...opts.apiConfig,
    });
    let api = await startApiServer(config, { nc: hubNc, availability: global });
    cleanups.push(() => api.close());

    const sys: ApiSystem = {
      topology,
      regions,
      hubNc,
      global,
      get api() {
        return api;
      },
      config,
      parts,
      dir,
      stopRegion,
      startRegion,
      restartApi: async () => {
        await api.close();
        api = await startApiServer(config, { nc: hubNc, availability: global });
      },
      command: async (region, command) => {
        const msg = await hubNc.request(reqSubject(region), JSON.stringify(command), { timeout: 5_000 });
        return JSON.parse(new TextDecoder().decode(msg.data));
      },
      http: async (method, pathname, o = {}) => {
        const headers: Record<string, string> = { ...(o.headers ?? {}) };
        const key = o.key === undefined ? KEYS.operations : o.key;
        if (key !== null) headers["x-api-key"] = key;
        if (o.body !== undefined) headers["content-type"] = "application/json";
        const res = await fetch(`${api.url}${pathname}`, {
          method,
          headers,
          ...(o.body !== undefined
            ? { body: typeof o.body === "string" ? o.body : JSON.stringify(o.body) }
            : {}),
        });
        const text = await res.text();
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {}
        return { status: res.status, body, headers: res.headers };
      },
      stop: async () => {
        for (const c of cleanups.splice(0).reverse()) {
          try {
            await c();
          } catch {}
        }
        await topology.stop();
        rmSync(dir, { recursive: true, force: true });
      },
    };
    return sys;
  } catch (err) {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
    await topology.stop();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
};

/** Polls until `check` returns a value that is not undefined (or throws after `timeoutMs`). */
export const eventually = async <T>(
  check: () => Promise<T | undefined>,
  what: string,
  timeoutMs = 10_000,
): Promise<T> => {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ""}`);
    await new Promise((r) => setTimeout(r, 50));
  }
};

/** Waits until the API reports `atp` for the location (from the global view). */
export const waitForAtp = (sys: ApiSystem, sku: string, location: string, atp: number, timeoutMs = 10_000) =>
  eventually(
    async () => {
      const r = await sys.http("GET", `/v1/availability/${encodeURIComponent(sku)}`);
      const l = (r.body.locations ?? []).find((x: { location: string }) => x.location === location);
      return l && l.atp === atp ? r.body : undefined;
    },
    `ATP ${atp} of ${sku} at ${location}`,
    timeoutMs,
  );
