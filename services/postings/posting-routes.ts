/**
 * HTTP routes of the postings ledger and its dead letters (register on the process's fastify
 * instance): list and inspect dead letters, replay one, look postings up by event or correlation.
 */
import type { FastifyInstance } from "fastify";
import type { PostingService } from "./posting-worker.ts";
import type { PostingStatus } from "./postings-ledger.ts";

const STATUSES = new Set<PostingStatus>(["pending", "failed", "acked", "dead", "skipped"]);

export const registerPostingRoutes = (app: FastifyInstance, deps: PostingService): void => {
  const { ledger } = deps;
  const tags = ["postings"];

  app.get<{ Querystring: { target?: string; limit?: string } }>(
    "/v1/postings/dead-letters",
    { schema: { tags, summary: "Dead-lettered postings" } },
    async (req) => ({
      deadLetters: ledger.list({
        status: "dead",
        ...(req.query.target ? { target: req.query.target } : {}),
        limit: Number(req.query.limit ?? 500),
      }),
    }),
  );

  app.get<{ Params: { id: string } }>(
    "/v1/postings/dead-letters/:id",
    { schema: { tags, summary: "One posting with its attempts and event" } },
    async (req, reply) => {
      const id = Number(req.params.id);
      const posting = Number.isSafeInteger(id) ? ledger.byId(id) : undefined;
      if (!posting)
        return reply.code(404).send({ error: "not_found", message: `no posting ${req.params.id}` });
      return {
        posting,
        attempts: ledger.attemptsOf(id),
        actions: ledger.actionsOf(id),
        event: ledger.eventOf(id),
      };
    },
  );

  app.post<{ Params: { id: string } }>(
    "/v1/postings/dead-letters/:id/retry",
    {
      schema: {
        tags,
        summary: "Replay a dead letter (posts once: the target's idempotency key is the event's)",
      },
    },
    async (req, reply) => {
      const id = Number(req.params.id);
      const result = await deps.retry(Number.isSafeInteger(id) ? id : -1);
      if (result.outcome === "unknown")
        return reply
          .code(404)
          .send({ error: "not_found", message: `no posting ${req.params.id} with a worker` });
      if (result.outcome === "not-dead")
        return reply.code(409).send({
          error: "not_dead",
          message: `posting ${id} is ${result.posting.status}`,
          posting: result.posting,
        });
      // Who replayed it, and when: in this answer and on the posting (`actions`).
      const done = ledger.recordAction(id, "retry", req.caller?.name ?? "operator");
      return reply
        .code(result.outcome === "acked" ? 200 : 502)
        .send({ ...result, retriedBy: done.by, retriedAt: done.at });
    },
  );

  app.get<{
    Querystring: {
      target?: string;
      status?: string;
      correlationId?: string;
      eventKey?: string;
      limit?: string;
    };
  }>(
    "/v1/postings",
    { schema: { tags, summary: "Postings by target, status, correlation id or event key" } },
    async (req, reply) => {
      const q = req.query;
      if (q.status && !STATUSES.has(q.status as PostingStatus))
        return reply.code(400).send({
          error: "bad_request",
          message: `status: got ${JSON.stringify(q.status)}, expected one of ${[...STATUSES].join(", ")}`,
        });
      return {
        postings: ledger.list({
          ...(q.target ? { target: q.target } : {}),
          ...(q.status ? { status: q.status as PostingStatus } : {}),
          ...(q.correlationId ? { correlationId: q.correlationId } : {}),
          ...(q.eventKey ? { eventKey: q.eventKey } : {}),
          limit: Number(q.limit ?? 1000),
        }),
      };
    },
  );

  app.get(
    "/v1/postings/summary",
    { schema: { tags, summary: "Postings per target and status" } },
    async () => ({
      summary: ledger.countByStatus(),
    }),
  );
};
