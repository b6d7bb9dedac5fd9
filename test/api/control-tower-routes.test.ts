/**
 * Issue 12 (control tower): global ATP of many SKUs across regions and locations with freshness, and
 * the trends of the sync-latency SLO and of oversells, read from the hub's mirrors — on a real
 * topology (hub and two regions, nodes, projectors, the global projector).
 */
import type { FastifyInstance } from "fastify";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHttpServer } from "../../infra/http/http-server.ts";
import { installAccessControl } from "../../services/api/access-control.ts";
import { ControlTowerTrends } from "../../services/api/control-tower-trends.ts";
import { registerControlTowerRoutes } from "../../services/api/global-atp-routes.ts";
import { SkuIndex } from "../../services/api/sku-index.ts";
import {
  type ApiSystem,
  eventually,
  KEYS,
  pick,
  receive,
  startApiSystem,
  waitForAtp,
} from "./api-fixture.ts";

let sys: ApiSystem;
let app: FastifyInstance;
let trends: ControlTowerTrends;
let skus: SkuIndex;
let a: string;
let b: string;

const get = async (url: string, key: string = KEYS.operations) => {
  const res = await app.inject({ method: "GET", url, headers: { "x-api-key": key } });
  return { status: res.statusCode, body: res.json() };
};

beforeAll(async () => {
  sys = await startApiSystem({ regions: 2 });
  [a, b] = sys.regions as [string, string];
  // Before the tower starts: the index must find these in the bucket.
  expect((await sys.command(a, receive(a, "DC1", "MUG-1", 10))).outcome).toBe("accepted");
  await waitForAtp(sys, "MUG-1", "DC1", 10, 60_000);
  skus = new SkuIndex(sys.global);
  await skus.seedFromBucket(sys.hubNc);
  trends = new ControlTowerTrends({
    nc: sys.hubNc,
    regions: sys.regions,
    freshness: (now) => sys.global.freshness(now),
    slo: { seconds: 60, objective: 0.9 },
    sampleMs: 200,
    logger: pino({ level: "silent" }),
  });
  trends.start();
  app = await createHttpServer({ title: "control tower test", logger: pino({ level: "silent" }) });
  await installAccessControl(app, sys.config);
  registerControlTowerRoutes(app, { source: sys.global, skus, regions: sys.regions, trends });
  await app.ready();

  expect((await sys.command(b, receive(b, "DC2", "MUG-1", 5))).outcome).toBe("accepted");
  expect((await sys.command(b, receive(b, "DC2", "TEE-1", 7))).outcome).toBe("accepted");
  // A late fact: received 10 minutes ago by the source's clock (outside a 60 s objective).
  const late = receive(a, "DC1", "MUG-1", 3);
  late.businessTime = new Date(Date.now() - 10 * 60_000).toISOString();
  expect((await sys.command(a, late)).outcome).toBe("accepted");
  // The WMS picks 15 of the 13 there are: recorded, and oversold by 2.
  expect((await sys.command(a, pick(a, "DC1", "MUG-1", 15))).outcome).toBe("accepted");
  await waitForAtp(sys, "TEE-1", "DC2", 7, 60_000);
  await waitForAtp(sys, "MUG-1", "DC1", 0, 60_000);
}, 180_000);

afterAll(async () => {
  await app?.close();
  await trends?.stop();
  skus?.stop();
  await sys?.stop();
});

describe("global ATP of many SKUs", () => {
  it("lists each SKU in total, per region and per location, with each region's freshness", async () => {
    const r = await eventually(
      async () => {
        const x = await get("/v1/control-tower/atp");
        return x.body.total === 2 && !x.body.stale ? x : undefined;
      },
      "both SKUs, fresh",
      30_000,
    );
    expect(r.status).toBe(200);
    expect(r.body.skus.map((s: { sku: string }) => s.sku)).toEqual(["MUG-1", "TEE-1"]);
    const mug = r.body.skus[0];
    expect(mug.total).toMatchObject({ atp: 5, locations: 2 });
    expect(mug.regions).toEqual([
      expect.objectContaining({ region: a, atp: 0, stale: false }),
      expect.objectContaining({ region: b, atp: 5, available: 5, stale: false }),
    ]);
    expect(mug.locations).toEqual([
      // Picked stays on hand until shipped; available went below zero.
      expect.objectContaining({ region: a, location: "DC1", atp: 0, available: -2, onHand: 13 }),
      expect.objectContaining({ region: b, location: "DC2", atp: 5, onHand: 5 }),
    ]);
    expect(typeof mug.locations[1].recordedTime).toBe("string");
    expect(r.body.freshness.map((f: { region: string }) => f.region).sort()).toEqual([a, b].sort());
    expect(typeof r.body.asOf).toBe("string");
  });

  it("filters by SKU text, region and location, and pages", async () => {
    const tee = await get("/v1/control-tower/atp?sku=tee");
    expect(tee.body.skus.map((s: { sku: string }) => s.sku)).toEqual(["TEE-1"]);
    const inA = await get(`/v1/control-tower/atp?region=${a}`);
    expect(inA.body.skus.map((s: { sku: string }) => s.sku)).toEqual(["MUG-1"]);
    expect(inA.body.freshness.map((f: { region: string }) => f.region)).toEqual([a]);
    const dc2 = await get("/v1/control-tower/atp?location=DC2&sku=MUG");
    expect(dc2.body.skus[0].total).toMatchObject({ atp: 5, locations: 1 });
    expect(dc2.body.skus[0].regions).toEqual([expect.objectContaining({ region: b, atp: 5 })]);
    const page = await get("/v1/control-tower/atp?limit=1&offset=1");
    expect(page.body).toMatchObject({ total: 2, skus: [expect.objectContaining({ sku: "TEE-1" })] });
  });

  it("refuses an unknown region and a bad limit naming them, and a warehouse key", async () => {
    const region = await get("/v1/control-tower/atp?region=nowhere");
    expect(region.status).toBe(400);
    expect(region.body.message).toContain("nowhere");
    const limit = await get("/v1/control-tower/atp?limit=0");
    expect(limit.status).toBe(400);
    expect(limit.body.message).toContain("limit");
    const wh = await get("/v1/control-tower/atp", KEYS.warehouse);
    expect(wh.status).toBe(403);
    expect((await get("/v1/control-tower/atp", KEYS.finance)).status).toBe(200);
    expect((await get("/v1/control-tower/atp", KEYS.commerce)).status).toBe(200);
  });
});

describe("trends", () => {
  it("counts events within the SLO per region, the late fact outside it, and the oversell", async () => {
    const r = await eventually(
      async () => {
        const x = await get("/v1/control-tower/trends?minutes=30");
        const ra = x.body.regions?.find((t: { region: string }) => t.region === a);
        return ra?.events >= 4 ? x : undefined;
      },
      "region a's events in the trends",
      30_000,
    );
    expect(r.body.slo).toEqual({ seconds: 60, objective: 0.9 });
    const [ta, tb] = [a, b].map((reg) => r.body.regions.find((t: { region: string }) => t.region === reg));
    // Region a: receive, late receive, pick and its AnomalyRaised (one event each at least).
    expect(ta.events).toBeGreaterThanOrEqual(4);
    expect(ta.withinSlo).toBe(ta.events - 1);
    expect(ta.oversells).toBe(1);
    expect(ta.oversoldUnits).toBe(2);
    expect(tb.oversells).toBe(0);
    expect(tb.withinSlo).toBe(tb.events);
    expect(tb.met).toBe(true);
    // Buckets of a minute over 30 minutes; freshness sampled into them (staleness only once known).
    expect(ta.points.length).toBeGreaterThanOrEqual(30);
    const sampled = ta.points.filter((p: { stale?: boolean }) => p.stale !== undefined);
    expect(sampled.length).toBeGreaterThan(0);
    const bad = await get("/v1/control-tower/trends?minutes=abc");
    expect(bad.status).toBe(400);
  });
});
