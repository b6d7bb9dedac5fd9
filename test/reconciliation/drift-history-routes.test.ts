/**
 * Issue 12 (finance dashboard): drift over time per target ERP, from the runs and sightings the
 * reconciliation store keeps, behind keys and roles, filtered by target and location.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { FastifyInstance } from "fastify";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHttpServer } from "../../infra/http/http-server.ts";
import { type PositionReconciliation, reconcilePosition } from "../../projections/reconciliation.ts";
import { installAccessControl } from "../../services/api/access-control.ts";
import { resolveApiConfig } from "../../services/api/api-config.ts";
import { DriftHistory } from "../../services/reconciliation/drift-history.ts";
import { registerDriftHistoryRoutes } from "../../services/reconciliation/drift-history-routes.ts";
import { ReconciliationStore } from "../../services/reconciliation/reconciliation-store.ts";

const KEYS = {
  fin: "fin-key-0123456789abcdefghijklmnopqrstuvw",
  wh: "wh-key-0123456789abcdefghijklmnopqrstuvwx",
};
const dir = mkdtempSync(path.join(tmpdir(), "stockline-drift-history-"));
let store: ReconciliationStore;
let history: DriftHistory;
let app: FastifyInstance;

/**
 * A target's balance `drift` units off the ledger (no events acknowledged: the ledger says 0 for it), or
 * `inFlight` units posted and not acknowledged yet.
 */
const position = (target: string, location: string, sku: string, drift: number, inFlight = 0) =>
  reconcilePosition({
    target,
    position: { region: "eu", location, sku },
    actual: drift,
    canonical: inFlight,
    events:
      inFlight === 0
        ? []
        : [
            {
              key: `eu:position-${location}~${sku}:0`,
              eventId: `${sku}-0`,
              type: "GoodsReceived",
              revision: 0,
              effect: inFlight,
              state: "inFlight",
              businessTime: "2026-01-05T10:00:00.000Z",
            },
          ],
  });

const seedRun = (id: string, at: string, positions: readonly PositionReconciliation[]) => {
  store.startRun({ id, trigger: "test", region: "eu", startedAt: at, snapshotTime: at });
  const r = store.track({ id, at }, positions);
  store.finishRun(id, {
    finishedAt: at,
    positionsChecked: positions.length,
    positionsInSync: positions.filter((p) => p.findings.length === 0).length,
    summary: r.summary,
    report: `run ${id}`,
  });
};

const get = async (url: string, key = KEYS.fin) => {
  const res = await app.inject({ method: "GET", url, headers: { "x-api-key": key } });
  return { status: res.statusCode, body: res.json() };
};

beforeAll(async () => {
  store = new ReconciliationStore(path.join(dir, "recon.db"));
  // Run 1: SAP 5 over at DC1, D365 3 under at DC2; run 2: SAP 8 over, D365 in sync, an in-flight of 4 at DC2;
  // run 3: everything in sync. A failed run counts for nothing.
  seedRun("run-1", "2026-01-05T10:00:00.000Z", [
    position("sap", "DC1", "S1", 5),
    position("d365", "DC2", "S2", -3),
    position("d365", "DC2", "S3", 0),
  ]);
  seedRun("run-2", "2026-01-05T11:00:00.000Z", [
    position("sap", "DC1", "S1", 8),
    position("d365", "DC2", "S2", 0),
    position("d365", "DC2", "S3", 0, 4),
  ]);
  store.startRun({
    id: "run-x",
    trigger: "test",
    region: "eu",
    startedAt: "2026-01-05T11:30:00.000Z",
    snapshotTime: "2026-01-05T11:30:00.000Z",
  });
  store.failRun("run-x", "2026-01-05T11:31:00.000Z", "ERP unreachable");
  seedRun("run-3", "2026-01-05T12:00:00.000Z", [
    position("sap", "DC1", "S1", 0),
    position("d365", "DC2", "S2", 0),
  ]);
  history = new DriftHistory(path.join(dir, "recon.db"));
  app = await createHttpServer({ title: "drift history test", logger: pino({ level: "silent" }) });
  await installAccessControl(
    app,
    resolveApiConfig({
      regions: ["eu"],
      apiKeys: [
        { name: "fin-anna", key: KEYS.fin, roles: ["finance"] },
        { name: "wms", key: KEYS.wh, roles: ["warehouse"] },
      ],
    }),
  );
  registerDriftHistoryRoutes(app, { history });
  await app.ready();
});

afterAll(async () => {
  await app?.close();
  history?.close();
  store?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("drift over time", () => {
  it("per finished run, oldest first: each target's drift units and findings by class", async () => {
    const r = await get("/v1/reconciliation/drift-history");
    expect(r.status).toBe(200);
    expect(r.body.runs.map((x: { runId: string }) => x.runId)).toEqual(["run-1", "run-2", "run-3"]);
    const [one, two, three] = r.body.runs;
    expect(one.driftUnits).toBe(8);
    expect(one.targets).toEqual([
      expect.objectContaining({ target: "d365", driftUnits: 3, unexplained: 1, inFlight: 0 }),
      expect.objectContaining({ target: "sap", driftUnits: 5, unexplained: 1 }),
    ]);
    // Run 2 saw SAP's drift again at 8; D365 only in flight (not drift).
    expect(two.driftUnits).toBe(8);
    expect(two.targets).toEqual([
      expect.objectContaining({ target: "d365", driftUnits: 0, inFlightUnits: 4, inFlight: 1, findings: 1 }),
      expect.objectContaining({ target: "sap", driftUnits: 8, findings: 1 }),
    ]);
    expect(three).toMatchObject({ driftUnits: 0, targets: [], positionsChecked: 2, positionsInSync: 2 });
    expect(r.body.targets).toEqual(["d365", "sap"]);
    expect(r.body.locations).toEqual(["DC1", "DC2"]);
  });

  it("filters by target and location, and keeps only the latest runs with limit", async () => {
    const sap = await get("/v1/reconciliation/drift-history?target=sap");
    expect(sap.body.runs.map((x: { driftUnits: number }) => x.driftUnits)).toEqual([5, 8, 0]);
    const dc2 = await get("/v1/reconciliation/drift-history?location=DC2");
    expect(dc2.body.runs.map((x: { driftUnits: number }) => x.driftUnits)).toEqual([3, 0, 0]);
    const last = await get("/v1/reconciliation/drift-history?limit=2");
    expect(last.body.runs.map((x: { runId: string }) => x.runId)).toEqual(["run-2", "run-3"]);
  });

  it("refuses a bad limit naming the field, and a key without a role of the route", async () => {
    const bad = await get("/v1/reconciliation/drift-history?limit=0");
    expect(bad.status).toBe(400);
    expect(bad.body.error).toBe("bad_request");
    expect(bad.body.message).toContain("limit");
    const wh = await get("/v1/reconciliation/drift-history", KEYS.wh);
    expect(wh.status).toBe(403);
    expect(wh.body.requiredRoles).toEqual(["finance", "operations", "commerce"]);
  });
});
