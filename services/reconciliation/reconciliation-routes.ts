/**
 * HTTP routes of reconciliation: run on demand, list runs, a run's findings and report, list
 * findings by status, approve or dismiss a finding. A decision is the caller's (its key's name and
 * roles, recorded with the time); a large adjustment needs two (finding-decisions.ts): the first
 * answers 202 `awaitingSecondApproval`. The services answer outcomes; the status codes are chosen here.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import * as t from "io-ts";
import { TextC } from "../../domain/scalars.ts";
import { decodeOr400 } from "../../infra/http/http-server.ts";
import { FINDING_STATUSES, type FindingStatus } from "../../projections/finding-lifecycle.ts";
import type { Approver, DecisionRefused } from "./finding-decisions.ts";
import type { Reconciler } from "./reconciler.ts";
import {
  APPROVE_SCHEMA,
  DISMISS_SCHEMA,
  FINDING_SCHEMA,
  FINDINGS_SCHEMA,
  RUN_DETAIL_SCHEMA,
  RUN_FINDINGS_SCHEMA,
  RUN_REPORT_SCHEMA,
  RUN_SCHEMA,
  RUNS_SCHEMA,
} from "./reconciliation-schemas.ts";
import type { ReconciliationStore } from "./reconciliation-store.ts";

const MAX_LIMIT = 10_000;
const LimitC = new t.Type<number, string, unknown>(
  `an integer from 1 to ${MAX_LIMIT}`,
  (u): u is number => typeof u === "number",
  (u, c) => {
    const n = typeof u === "string" && /^[0-9]{1,6}$/.test(u) ? Number(u) : Number.NaN;
    return n >= 1 && n <= MAX_LIMIT ? t.success(n) : t.failure(u, c);
  },
  String,
);
const StatusC = t.keyof(
  Object.fromEntries(FINDING_STATUSES.map((s) => [s, null])) as Record<FindingStatus, null>,
  FINDING_STATUSES.join(" | "),
);
const RunRequestC = t.partial(
  { locations: t.array(t.string), targets: t.array(t.string) },
  "{ locations?, targets? }",
);
const RunsQueryC = t.partial({ limit: LimitC });
const FindingsQueryC = t.partial({ status: StatusC, limit: LimitC });
/** `by` counts only where the routes run without API keys; otherwise the key's name is recorded. */
const ApproveRequestC = t.partial({ by: t.string }, "{ by? }");
const DismissRequestC = t.intersection(
  [t.type({ reason: TextC }), t.partial({ by: t.string })],
  "{ reason, by? }",
);

/** Who decides is the caller's key, never what the body says (routes without keys: tests). */
const deciderOf = (req: FastifyRequest, by: string | undefined): Approver =>
  req.caller
    ? { name: req.caller.name, roles: [...req.caller.roles] }
    : { name: by ?? "operator", roles: [] };

const REFUSED: Record<DecisionRefused["outcome"], { code: number; error: string }> = {
  notFound: { code: 404, error: "not_found" },
  notPending: { code: 409, error: "finding_not_pending" },
  secondApprovalRefused: { code: 403, error: "second_approval_refused" },
  nothingToApprove: { code: 409, error: "nothing_to_approve" },
};
const refuse = (reply: FastifyReply, r: DecisionRefused) => {
  const { code, error } = REFUSED[r.outcome];
  return reply.code(code).send({ error, message: r.message });
};
const noRun = (reply: FastifyReply, id: string) =>
  reply.code(404).send({ error: "not_found", message: `no reconciliation run ${JSON.stringify(id)}` });

export const registerReconciliationRoutes = (
  app: FastifyInstance,
  deps: { reconciler: Reconciler; store: ReconciliationStore },
): void => {
  const { store, reconciler } = deps;
  app.post("/v1/reconciliation/runs", { schema: RUN_SCHEMA }, async (req, reply) => {
    const body = decodeOr400(RunRequestC, req.body ?? {}, reply);
    if (!body) return reply;
    let r: Awaited<ReturnType<Reconciler["run"]>>;
    try {
      r = await reconciler.run({
        trigger: "manual",
        ...(body.locations ? { locations: body.locations } : {}),
        ...(body.targets ? { targets: body.targets } : {}),
      });
    } catch (err) {
      // The run is recorded as failed (with this message); mostly an ERP that stayed unreachable.
      return reply.code(502).send({
        error: "reconciliation_failed",
        message: `the reconciliation failed: ${(err as Error).message}`,
      });
    }
    return reply.code(201).send({ run: r.run, findings: r.findings, closed: r.closed, report: r.report });
  });
  app.get("/v1/reconciliation/runs", { schema: RUNS_SCHEMA }, async (req, reply) => {
    const q = decodeOr400(RunsQueryC, req.query ?? {}, reply);
    if (!q) return reply;
    return { runs: store.runs(q.limit ?? 50).map(({ report: _r, ...run }) => run) };
  });
  app.get<{ Params: { id: string } }>(
    "/v1/reconciliation/runs/:id",
    { schema: RUN_DETAIL_SCHEMA },
    async (req, reply) => {
      const run = store.run(req.params.id);
      if (!run) return noRun(reply, req.params.id);
      return { run, findings: store.findingsOf(run.id), closed: store.closedBy(run.id) };
    },
  );
  app.get<{ Params: { id: string } }>(
    "/v1/reconciliation/runs/:id/findings",
    { schema: RUN_FINDINGS_SCHEMA },
    async (req, reply) => {
      if (!store.run(req.params.id)) return noRun(reply, req.params.id);
      return { findings: store.findingsOf(req.params.id), closed: store.closedBy(req.params.id) };
    },
  );
  app.get<{ Params: { id: string } }>(
    "/v1/reconciliation/runs/:id/report",
    { schema: RUN_REPORT_SCHEMA },
    async (req, reply) => {
      const run = store.run(req.params.id);
      if (!run) return noRun(reply, req.params.id);
      return reply.type("text/plain; charset=utf-8").send(run.report ?? `run ${run.id} is ${run.status}`);
    },
  );
  app.get("/v1/reconciliation/findings", { schema: FINDINGS_SCHEMA }, async (req, reply) => {
    const q = decodeOr400(FindingsQueryC, req.query ?? {}, reply);
    if (!q) return reply;
    return {
      findings: store.findings({
        ...(q.status ? { status: q.status } : {}),
        ...(q.limit ? { limit: q.limit } : {}),
      }),
      counts: store.countsByStatus(),
    };
  });
  app.get<{ Params: { id: string } }>(
    "/v1/reconciliation/findings/:id",
    { schema: FINDING_SCHEMA },
    async (req, reply) => {
      const finding = store.finding(req.params.id);
      if (!finding)
        return reply
          .code(404)
          .send({ error: "not_found", message: `no finding ${JSON.stringify(req.params.id)}` });
      return { finding };
    },
  );
  app.post<{ Params: { id: string } }>(
    "/v1/reconciliation/findings/:id/approve",
    { schema: APPROVE_SCHEMA },
    async (req, reply) => {
      const body = decodeOr400(ApproveRequestC, req.body ?? {}, reply);
      if (!body) return reply;
      const r = await reconciler.approve(req.params.id, deciderOf(req, body.by));
      switch (r.outcome) {
        case "approved":
          return reply.code(200).send({ finding: r.finding, command: r.command, outcome: r.result });
        case "awaitingSecondApproval":
          return reply
            .code(202)
            .send({ finding: r.finding, awaitingSecondApproval: true, message: r.message });
        default:
          return refuse(reply, r);
      }
    },
  );
  app.post<{ Params: { id: string } }>(
    "/v1/reconciliation/findings/:id/dismiss",
    { schema: DISMISS_SCHEMA },
    async (req, reply) => {
      const body = decodeOr400(DismissRequestC, req.body ?? {}, reply);
      if (!body) return reply;
      const r = reconciler.dismiss(req.params.id, deciderOf(req, body.by), body.reason);
      if (r.outcome !== "dismissed") return refuse(reply, r);
      return { finding: r.finding };
    },
  );
};
