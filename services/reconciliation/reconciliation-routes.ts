/**
 * HTTP routes of reconciliation: run on demand, list runs, a run's findings and report, approve a
 * finding. An approval is the caller's (its key's name and roles, recorded with the time); a large
 * adjustment needs two (reconciler.ts): the first answers 202 `awaitingSecondApproval`.
 */
import type { FastifyInstance } from "fastify";
import * as t from "io-ts";
import { decodeOr400 } from "../../infra/http/http-server.ts";
import type { Reconciler } from "./reconciler.ts";
import type { FindingStatus, ReconciliationStore } from "./reconciliation-store.ts";

const RunRequestC = t.partial(
  { locations: t.array(t.string), targets: t.array(t.string) },
  "{ locations?, targets? }",
);
/** `by` counts only where the routes run without API keys; otherwise the key's name is recorded. */
const ApproveRequestC = t.partial({ by: t.string }, "{ by? }");

export const registerReconciliationRoutes = (
  app: FastifyInstance,
  deps: { reconciler: Reconciler; store: ReconciliationStore },
): void => {
  const tags = ["reconciliation"];
  app.post(
    "/v1/reconciliation/runs",
    { schema: { tags, summary: "Run a reconciliation now" } },
    async (req, reply) => {
      const body = decodeOr400(RunRequestC, req.body ?? {}, reply);
      if (!body) return reply;
      const r = await deps.reconciler.run({
        trigger: "manual",
        ...(body.locations ? { locations: body.locations } : {}),
        ...(body.targets ? { targets: body.targets } : {}),
      });
      return reply.code(201).send({ run: r.run, findings: r.findings, report: r.report });
    },
  );
  app.get<{ Querystring: { limit?: string } }>(
    "/v1/reconciliation/runs",
    { schema: { tags, summary: "Reconciliation runs, newest first" } },
    async (req) => ({
      runs: deps.store.runs(Number(req.query.limit ?? 50)).map(({ report: _r, ...run }) => run),
    }),
  );
  app.get<{ Params: { id: string } }>(
    "/v1/reconciliation/runs/:id",
    { schema: { tags, summary: "A run and its findings" } },
    async (req, reply) => {
      const run = deps.store.run(req.params.id);
      if (!run) return reply.code(404).send({ error: "not_found", message: `no run ${req.params.id}` });
      return { run, findings: deps.store.findingsOf(run.id) };
    },
  );
  app.get<{ Params: { id: string } }>(
    "/v1/reconciliation/runs/:id/findings",
    { schema: { tags, summary: "A run's findings" } },
    async (req, reply) => {
      if (!deps.store.run(req.params.id))
        return reply.code(404).send({ error: "not_found", message: `no run ${req.params.id}` });
      return { findings: deps.store.findingsOf(req.params.id) };
    },
  );
  app.get<{ Params: { id: string } }>(
    "/v1/reconciliation/runs/:id/report",
    { schema: { tags, summary: "A run's report as text" } },
    async (req, reply) => {
      const run = deps.store.run(req.params.id);
      if (!run) return reply.code(404).send({ error: "not_found", message: `no run ${req.params.id}` });
      return reply.type("text/plain; charset=utf-8").send(run.report ?? `run ${run.id} is ${run.status}`);
    },
  );
  app.get<{ Querystring: { status?: string } }>(
    "/v1/reconciliation/findings",
    { schema: { tags, summary: "Findings, optionally by status (open, approved, dismissed)" } },
    async (req) => ({
      findings: deps.store.findings(req.query.status ? { status: req.query.status as FindingStatus } : {}),
    }),
  );
  app.post<{ Params: { id: string } }>(
    "/v1/reconciliation/findings/:id/approve",
    { schema: { tags, summary: "Approve a finding's proposal (adjustStock command or replay of postings)" } },
    async (req, reply) => {
      const body = decodeOr400(ApproveRequestC, req.body ?? {}, reply);
      if (!body) return reply;
      // Who approves is the caller's key, never what the body says (routes without keys: tests).
      const approver = req.caller
        ? { name: req.caller.name, roles: [...req.caller.roles] }
        : { name: body.by ?? "operator", roles: [] };
      const r = await deps.reconciler.approve(req.params.id, approver);
      if (!r.ok)
        return reply.code(r.status).send({
          error: r.status === 404 ? "not_found" : r.status === 403 ? "forbidden" : "conflict",
          message: r.message,
        });
      return reply.code("awaitingSecondApproval" in r ? 202 : 200).send(r);
    },
  );
};
