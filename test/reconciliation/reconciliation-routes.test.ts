/**
 * Issue 10: findings could not be dismissed and the list could not be read by status. Through the
 * HTTP API behind keys and roles (and the CLI over it): a dismissal records the key's name, the
 * time and the reason; refusals answer `{ error, message }` with the status the route picks.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Command } from "commander";
import type { FastifyInstance } from "fastify";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RoutingConfig } from "../../domain/routing-rules.ts";
import { createHttpServer } from "../../infra/http/http-server.ts";
import { type PositionReconciliation, reconcilePosition } from "../../projections/reconciliation.ts";
import { installAccessControl } from "../../services/api/access-control.ts";
import { resolveApiConfig } from "../../services/api/api-config.ts";
import { registerReconcileFindingsCommands } from "../../services/cli/reconcile-findings-command.ts";
import { createSapConnector } from "../../services/postings/sap-connector.ts";
import { Reconciler } from "../../services/reconciliation/reconciler.ts";
import { registerReconciliationRoutes } from "../../services/reconciliation/reconciliation-routes.ts";
import { ReconciliationStore } from "../../services/reconciliation/reconciliation-store.ts";

const KEYS = {
  ops: "ops-key-0123456789abcdefghijklmnopqrstuvw",
  fin: "fin-key-0123456789abcdefghijklmnopqrstuvw",
  shop: "shop-key-0123456789abcdefghijklmnopqrstuv",
};
const dir = mkdtempSync(path.join(tmpdir(), "stockline-recon-routes-"));
let store: ReconciliationStore;
let app: FastifyInstance;
let url: string;

const position = (sku: string, actual: number, inFlight = 0): PositionReconciliation =>
  reconcilePosition({
    target: "sap",
    position: { region: "eu", location: "DC1", sku },
    actual,
    canonical: actual + inFlight,
    events:
      inFlight === 0
        ? []
        : [
            {
              key: `eu:position-DC1~${sku}:0`,
              eventId: `${sku}-0`,
              type: "GoodsReceived",
              revision: 0,
              effect: inFlight,
              state: "inFlight",
              businessTime: "2026-01-05T10:00:00.000Z",
            },
          ],
  });

/** A run as the reconciler leaves it: started, its positions tracked, finished with its summary. */
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
  return r;
};

const call = (method: "GET" | "POST", u: string, key: string, payload?: unknown) =>
  app.inject({ method, url: u, headers: { "x-api-key": key }, ...(payload ? { payload } : {}) });

let ids: { s1: string; s2: string; s3: string };

beforeAll(async () => {
  store = new ReconciliationStore(path.join(dir, "recon.db"));
  const reconciler = new Reconciler({
    region: "eu",
    targets: [],
    routing: { targets: [], rules: [] } as RoutingConfig,
    postings: {} as never,
    events: {} as never,
    store,
    logger: pino({ level: "silent" }),
    submitCommand: async () => ({ outcome: "accepted" }),
  });
  app = await createHttpServer({ title: "reconciliation routes test", logger: pino({ level: "silent" }) });
  await installAccessControl(
    app,
    resolveApiConfig({
      regions: ["eu"],
      apiKeys: [
        { name: "ops-carl", key: KEYS.ops, roles: ["operations"] },
        { name: "fin-anna", key: KEYS.fin, roles: ["finance"] },
        { name: "shop", key: KEYS.shop, roles: ["commerce"] },
      ],
    }),
  );
  registerReconciliationRoutes(app, { reconciler, store });
  url = await app.listen({ host: "127.0.0.1", port: 0 });
  seedRun("run-1", "2026-01-05T10:00:00.000Z", [position("S1", 5), position("S2", 7), position("S3", 0, 4)]);
  const second = seedRun("run-2", "2026-01-05T10:05:00.000Z", [
    position("S1", 5),
    position("S2", 7),
    position("S3", 0, 4),
  ]);
  const [s1, s2, s3] = second.seen.map((f) => f.id);
  ids = { s1: s1!, s2: s2!, s3: s3! };
});

afterAll(async () => {
  await app?.close();
  store?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("reconciliation findings over HTTP", () => {
  it("lists findings by status with counts per status; a run's summary counts its findings by status", async () => {
    const open = await call("GET", "/v1/reconciliation/findings?status=open", KEYS.fin);
    expect(open.statusCode).toBe(200);
    expect(open.json().findings.map((f: { id: string }) => f.id)).toEqual([ids.s1, ids.s2]);
    expect(open.json().findings[0]).toMatchObject({ timesSeen: 2, lastRunId: "run-2", runId: "run-1" });
    expect(open.json().counts).toMatchObject({ open: 2, waiting: 1, dismissed: 0 });

    const bad = await call("GET", "/v1/reconciliation/findings?status=closed", KEYS.fin);
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({
      error: "bad_request",
      message: expect.stringMatching(/status.*closed/),
    });

    const runs = await call("GET", "/v1/reconciliation/runs", KEYS.ops);
    expect(runs.json().runs[0]).toMatchObject({
      id: "run-2",
      findings: 3,
      summary: { seen: 3, new: 0, byStatus: { open: 2, waiting: 1 } },
    });
    const run = await call("GET", "/v1/reconciliation/runs/run-2", KEYS.ops);
    expect(run.json().findings).toHaveLength(3);
    expect((await call("GET", "/v1/reconciliation/runs/nope", KEYS.ops)).json()).toMatchObject({
      error: "not_found",
    });
  });

  it("dismisses a finding with a reason, recording the key's name (not the body's), roles and time", async () => {
    const r = await call("POST", `/v1/reconciliation/findings/${ids.s1}/dismiss`, KEYS.ops, {
      reason: "consignment stock booked in SAP only",
      by: "someone-else",
    });
    expect(r.statusCode).toBe(200);
    expect(r.json().finding).toMatchObject({
      id: ids.s1,
      status: "dismissed",
      resolution: {
        dismissal: { by: "ops-carl", roles: ["operations"], reason: "consignment stock booked in SAP only" },
      },
    });
    expect(Number.isNaN(Date.parse(r.json().finding.resolution.dismissal.at))).toBe(false);
    expect(r.json().finding.resolvedAt).toBe(r.json().finding.resolution.dismissal.at);

    const again = await call("POST", `/v1/reconciliation/findings/${ids.s1}/dismiss`, KEYS.fin, {
      reason: "x",
    });
    expect(again.statusCode).toBe(409);
    expect(again.json()).toMatchObject({
      error: "finding_not_pending",
      message: expect.stringMatching(/dismissed/),
    });
    const approve = await call("POST", `/v1/reconciliation/findings/${ids.s1}/approve`, KEYS.fin, {});
    expect(approve.statusCode).toBe(409);
  });

  it("refuses a dismissal without a reason (naming the field), of an unknown finding, or by a key without the role", async () => {
    const noReason = await call("POST", `/v1/reconciliation/findings/${ids.s2}/dismiss`, KEYS.ops, {
      reason: "",
    });
    expect(noReason.statusCode).toBe(400);
    expect(noReason.json()).toMatchObject({ error: "bad_request", errors: [{ path: "reason" }] });
    const unknown = await call("POST", "/v1/reconciliation/findings/nope/dismiss", KEYS.ops, { reason: "r" });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toMatchObject({ error: "not_found", message: 'no finding "nope"' });
    const shop = await call("POST", `/v1/reconciliation/findings/${ids.s2}/dismiss`, KEYS.shop, {
      reason: "r",
    });
    expect(shop.statusCode).toBe(403);
    expect(store.finding(ids.s2)?.status).toBe("open");
  });

  it("an in-flight finding has nothing to approve (409), but can be dismissed", async () => {
    const approve = await call("POST", `/v1/reconciliation/findings/${ids.s3}/approve`, KEYS.ops, {});
    expect(approve.statusCode).toBe(409);
    expect(approve.json()).toMatchObject({
      error: "nothing_to_approve",
      message: expect.stringMatching(/in flight/),
    });
  });

  it("documents the dismissal in OpenAPI: summary, description, body example, responses", async () => {
    const doc = (await app.inject({ method: "GET", url: "/openapi.json" })).json();
    const op = doc.paths["/v1/reconciliation/findings/{id}/dismiss"].post;
    expect(op.summary).toMatch(/Dismiss/);
    expect(op.description).toMatch(/who/);
    expect(op.requestBody.content["application/json"].example).toEqual({
      reason: "consignment stock booked in SAP only",
    });
    expect(Object.keys(op.responses)).toEqual(expect.arrayContaining(["200", "400", "404", "409"]));
    const list = doc.paths["/v1/reconciliation/findings"].get;
    expect(list.parameters.find((p: { name: string }) => p.name === "status").schema.enum).toContain(
      "cleared",
    );
  });

  it("the CLI lists findings and dismisses one with the key's name", async () => {
    const out: string[] = [];
    const cli = (...args: string[]) =>
      registerReconcileFindingsCommands(new Command().name("stockline").exitOverride(), (l) =>
        out.push(l),
      ).parseAsync(["node", "stockline", "reconcile", "findings", ...args, "--api", url]);
    const saved = process.env.STOCKLINE_API_KEY;
    process.env.STOCKLINE_API_KEY = KEYS.fin;
    try {
      await cli("dismiss", ids.s3, "--reason", "the connector was redeployed");
      expect(out.at(-1)).toMatch(
        new RegExp(
          `${ids.s3}\\s+dismissed .*inFlight \\+4.*dismissed by fin-anna: the connector was redeployed`,
        ),
      );
      out.length = 0;
      await cli("list", "--status", "all");
      expect(out.filter((l) => l.startsWith("run-"))).toHaveLength(3);
      expect(out.find((l) => l.startsWith(ids.s2))).toMatch(/open\s+unexplained \+7\s+sap DC1\/S2\s+seen 2x/);
      expect(out.at(-1)).toMatch(/all findings: 1 open, 0 waiting, .*2 dismissed/);
      await expect(cli("dismiss", ids.s3, "--reason", "again")).rejects.toThrow(
        /HTTP 409: finding .* is dismissed/,
      );
    } finally {
      process.env.STOCKLINE_API_KEY = saved;
    }
  });

  it("a run that cannot read an ERP answers 502 with the reason, and is recorded as failed", async () => {
    const sap = createSapConnector({
      kind: "sap-s4hana",
      id: "sap",
      baseUrl: "http://127.0.0.1:9", // nothing listens on the discard port
      locations: { DC1: { plant: "1010", storageLocation: "0001" } },
    });
    const failing = await createHttpServer({ title: "failing run", logger: pino({ level: "silent" }) });
    registerReconciliationRoutes(failing, {
      store,
      reconciler: new Reconciler({
        region: "eu",
        targets: [sap],
        routing: { targets: [{ id: "sap", systems: ["SAP_S4"] }], rules: [] } as RoutingConfig,
        postings: {} as never,
        events: { skusAt: async () => [], eventsOf: async () => [] },
        store,
        logger: pino({ level: "silent" }),
        readRetries: 0,
        submitCommand: async () => undefined,
      }),
    });
    try {
      const r = await failing.inject({ method: "POST", url: "/v1/reconciliation/runs", payload: {} });
      expect(r.statusCode).toBe(502);
      expect(r.json()).toMatchObject({
        error: "reconciliation_failed",
        message: expect.stringMatching(/failed: /),
      });
      expect(store.runs(1)[0]).toMatchObject({ status: "failed", error: expect.any(String) });
    } finally {
      await failing.close();
    }
  });
});
