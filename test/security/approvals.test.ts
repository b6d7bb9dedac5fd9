/**
 * Issue 9: a finance key could approve a compensating adjustment of any size alone, and the approver's
 * name was whatever the body said. Now an approval is the caller's key (name, roles, time), and an
 * adjustment above the configured quantity needs a second approval by another person of another role:
 * the first waits as `awaitingSecondApproval`, and only the second sends the command.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { FastifyInstance } from "fastify";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Command } from "../../domain/commands.ts";
import type { RoutingConfig } from "../../domain/routing-rules.ts";
import { createHttpServer } from "../../infra/http/http-server.ts";
import { installAccessControl } from "../../services/api/access-control.ts";
import { resolveApiConfig } from "../../services/api/api-config.ts";
import { Reconciler } from "../../services/reconciliation/reconciler.ts";
import { registerReconciliationRoutes } from "../../services/reconciliation/reconciliation-routes.ts";
import { ReconciliationStore } from "../../services/reconciliation/reconciliation-store.ts";

const KEYS = {
  fin: "fin-key-0123456789abcdefghijklmnopqrstuvw",
  fin2: "fin2-key-0123456789abcdefghijklmnopqrstuv",
  ops: "ops-key-0123456789abcdefghijklmnopqrstuvw",
};
const dir = mkdtempSync(path.join(tmpdir(), "stockline-approvals-"));
let store: ReconciliationStore;
let app: FastifyInstance;
const submitted: Command[] = [];

/** A stored finding proposing an adjustment of `quantity` (as a run would leave it). */
const finding = (runId: string, sku: string, quantity: number): string => {
  store.startRun({
    id: runId,
    trigger: "test",
    region: "eu",
    startedAt: "2026-01-01T00:00:00.000Z",
    snapshotTime: "2026-01-01T00:00:00.000Z",
  });
  const [f] = store.track({ id: runId, at: "2026-01-01T00:00:00.000Z" }, [
    {
      target: "sap",
      position: { region: "eu", location: "DC1", sku },
      actual: 0,
      canonical: quantity,
      expectedFromAcks: quantity,
      expectedAll: quantity,
      appliedUnacknowledged: [],
      findings: [
        {
          class: "unexplained",
          quantity,
          events: [],
          explanation: "the ERP holds less than the ledger",
          proposal: { kind: "adjustStock", quantity, note: "compensate" },
        },
      ],
    },
  ]).seen;
  return f!.id;
};

const approve = (id: string, key: string) =>
  app.inject({
    method: "POST",
    url: `/v1/reconciliation/findings/${id}/approve`,
    headers: { "x-api-key": key },
    payload: { by: "someone-else" },
  });

beforeAll(async () => {
  store = new ReconciliationStore(path.join(dir, "recon.db"));
  const reconciler = new Reconciler({
    region: "eu",
    targets: [],
    routing: { targets: [] } as unknown as RoutingConfig,
    postings: {} as never,
    events: {} as never,
    store,
    logger: pino({ level: "silent" }),
    submitCommand: async (command) => {
      submitted.push(command);
      return { outcome: "accepted" };
    },
    secondApprovalAbove: 100,
  });
  app = await createHttpServer({ title: "approvals test", logger: pino({ level: "silent" }) });
  await installAccessControl(
    app,
    resolveApiConfig({
      regions: ["eu"],
      apiKeys: [
        { name: "fin-anna", key: KEYS.fin, roles: ["finance"] },
        { name: "fin-ben", key: KEYS.fin2, roles: ["finance"] },
        { name: "ops-carl", key: KEYS.ops, roles: ["operations"] },
      ],
    }),
  );
  registerReconciliationRoutes(app, { reconciler, store });
  await app.ready();
});

afterAll(async () => {
  await app?.close();
  store?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("approving compensating adjustments", () => {
  it("a large adjustment waits after the first approval; the same person or the same role cannot complete it; another role can", async () => {
    const id = finding("run-large", "BIG", 5_000);
    const first = await approve(id, KEYS.fin);
    expect(first.statusCode).toBe(202);
    expect(first.json().finding).toMatchObject({
      status: "awaitingSecondApproval",
      resolution: { approvals: [{ by: "fin-anna", roles: ["finance"] }] },
    });
    expect(submitted).toHaveLength(0);

    const again = await approve(id, KEYS.fin);
    expect(again.statusCode).toBe(403);
    expect(again.json().message).toMatch(/another person/);
    const sameRole = await approve(id, KEYS.fin2);
    expect(sameRole.statusCode).toBe(403);
    expect(sameRole.json().message).toMatch(/another role/);
    expect(submitted).toHaveLength(0);

    const second = await approve(id, KEYS.ops);
    expect(second.statusCode).toBe(200);
    expect(submitted).toHaveLength(1);
    expect(submitted[0]).toMatchObject({ kind: "adjustStock", quantity: { value: 5_000 } });
    const listed = await app.inject({
      method: "GET",
      url: "/v1/reconciliation/findings?status=approved",
      headers: { "x-api-key": KEYS.ops },
    });
    const done = listed.json().findings.find((f: { id: string }) => f.id === id);
    expect(done.resolution.by).toBe("ops-carl");
    expect(done.resolution.approvals.map((a: { by: string }) => a.by)).toEqual(["fin-anna", "ops-carl"]);
    for (const a of done.resolution.approvals) expect(Number.isNaN(Date.parse(a.at))).toBe(false);
    expect((await approve(id, KEYS.fin2)).statusCode).toBe(409);
  });

  it("a small adjustment is applied by one approval, recorded under the key's name (not the body's)", async () => {
    const id = finding("run-small", "SMALL", 40);
    const r = await approve(id, KEYS.fin);
    expect(r.statusCode).toBe(200);
    expect(r.json().finding).toMatchObject({
      status: "approved",
      resolution: { by: "fin-anna", approvals: [{ by: "fin-anna", roles: ["finance"] }] },
    });
    expect(submitted.at(-1)).toMatchObject({ quantity: { value: 40 } });
  });
});
