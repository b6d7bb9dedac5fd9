/**
 * HTTP routes of the postings ledger and its dead letters (register on the process's fastify
 * instance): the summary per target and region, list and inspect dead letters, replay one, look
 * postings up by event or correlation. The service answers with outcomes; the status codes are
 * chosen here. Errors: `{ error: "<snake_case_code>", message }`. The schemas document the routes
 * (OpenAPI); inputs are read in the handlers.
 */
import type { FastifyInstance, FastifyReply } from "fastify";
import {
  deadLetterExample,
  errorSchema,
  postingExample,
  postingSchema,
  summaryExample,
  summarySchema,
} from "./posting-schemas.ts";
import type { PostingService } from "./posting-service.ts";
import type { PostingStatus } from "./postings-ledger.ts";

const STATUSES: readonly PostingStatus[] = ["pending", "failed", "acked", "dead", "skipped"];
const MAX_LIMIT = 100_000;

const fail = (reply: FastifyReply, status: number, error: string, message: string, details = {}) =>
  reply.code(status).send({ ...details, error, message });

/** `limit` as given, or the default; a message naming the value when it is not a count. */
const limitOf = (raw: string | undefined, fallback: number): number | string => {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  return Number.isSafeInteger(n) && n >= 1 && n <= MAX_LIMIT
    ? n
    : `limit: got ${JSON.stringify(raw)}, expected an integer from 1 to ${MAX_LIMIT}`;
};
const limitQuery = { type: "integer", minimum: 1, maximum: MAX_LIMIT } as const;
const tags = ["postings"];

export const registerPostingRoutes = (app: FastifyInstance, deps: PostingService): void => {
  const { ledger } = deps;

  app.get(
    "/v1/postings/summary",
    {
      schema: {
        tags,
        summary: "Postings per target and region: acked, pending, retrying, dead; the circuit breaker",
        description:
          "pending = waiting for a first attempt or in flight (`inFlight`) plus the events of the region the " +
          "target's worker has not read yet (`queued`, sampled every second: some may not concern the target). " +
          "retrying = an attempt failed and the next is scheduled (`nextAttemptAt`; while the breaker is open, " +
          "its next trial call). dead = waiting for an operator (`stockline dlq list`). During an ERP outage the " +
          "breaker is `open` and pending and retrying grow; nothing is dead-lettered for unavailability.",
        response: { 200: { ...summarySchema, examples: [summaryExample] } },
      },
    },
    async () => deps.summary(),
  );

  app.get<{ Querystring: { target?: string; limit?: string } }>(
    "/v1/postings/dead-letters",
    {
      schema: {
        tags,
        summary: "Dead-lettered postings",
        description: "Postings the target refused, or that failed past their last attempt, oldest first.",
        querystring: {
          type: "object",
          properties: { target: { type: "string" }, limit: { ...limitQuery, default: 500 } },
        },
        response: {
          200: {
            type: "object",
            properties: { deadLetters: { type: "array", items: postingSchema } },
            examples: [{ deadLetters: [deadLetterExample] }],
          },
          400: errorSchema,
        },
      },
    },
    async (req, reply) => {
      const limit = limitOf(req.query.limit, 500);
      if (typeof limit === "string") return fail(reply, 400, "bad_request", limit);
      return {
        deadLetters: ledger.list({
          status: "dead",
          ...(req.query.target ? { target: req.query.target } : {}),
          limit,
        }),
      };
    },
  );

  app.get<{ Params: { id: string } }>(
    "/v1/postings/dead-letters/:id",
    {
      schema: {
        tags,
        summary: "One posting with its attempts, operator actions and event",
        params: { type: "object", properties: { id: { type: "integer" } }, required: ["id"] },
        response: {
          200: {
            type: "object",
            properties: {
              posting: postingSchema,
              attempts: { type: "array", items: { type: "object", additionalProperties: true } },
              actions: { type: "array", items: { type: "object", additionalProperties: true } },
              event: { type: "object", additionalProperties: true },
            },
            examples: [
              {
                posting: deadLetterExample,
                attempts: [
                  {
                    attempt: 0,
                    at: "2026-12-06T02:14:03.120Z",
                    outcome: "failed (rejected)",
                    error: "400 M7/021 Deficit of SL Unrestricted-use 4 EA : DL-1 1010 0001",
                    callMs: 41,
                  },
                ],
                actions: [],
                event: { eventId: "…", type: "ShipmentPosted" },
              },
            ],
          },
          404: errorSchema,
        },
      },
    },
    async (req, reply) => {
      const id = Number(req.params.id);
      const posting = Number.isSafeInteger(id) ? ledger.byId(id) : undefined;
      if (!posting)
        return fail(
          reply,
          404,
          "not_found",
          `no posting ${JSON.stringify(req.params.id)}: see GET /v1/postings`,
        );
      return {
        posting,
        attempts: ledger.attemptsOf(id),
        actions: ledger.actionsOf(id),
        event: ledger.eventOf(id),
      };
    },
  );

  const replayAnswer = {
    type: "object",
    properties: {
      outcome: { type: "string", enum: ["acked", "failed"] },
      duplicate: { type: "boolean" },
      posting: postingSchema,
      retriedBy: { type: "string" },
      retriedAt: { type: "string", format: "date-time" },
      error: { type: "string" },
      message: { type: "string" },
    },
  } as const;

  app.post<{ Params: { id: string } }>(
    "/v1/postings/dead-letters/:id/retry",
    {
      schema: {
        tags,
        summary: "Replay a dead letter (posts once: the target's idempotency key is the event's)",
        description:
          "One call through the target's circuit breaker. 200: the target acknowledged it (`duplicate`: it had " +
          "applied it already). 502: the target failed again; the posting stays dead. Recorded on the posting " +
          "(`actions`) with the caller's key name.",
        params: { type: "object", properties: { id: { type: "integer" } }, required: ["id"] },
        response: {
          200: {
            ...replayAnswer,
            examples: [
              {
                outcome: "acked",
                duplicate: false,
                posting: postingExample,
                retriedBy: "ops-jane",
                retriedAt: "2026-12-06T02:20:11.000Z",
              },
            ],
          },
          404: errorSchema,
          409: {
            type: "object",
            properties: {
              error: { type: "string" },
              message: { type: "string" },
              posting: postingSchema,
            },
            examples: [{ error: "not_dead", message: "posting 17 is acked: nothing to replay" }],
          },
          502: {
            ...replayAnswer,
            examples: [
              {
                error: "posting_failed",
                message: "sap did not acknowledge posting 17: 503 Service Unavailable",
                outcome: "failed",
                posting: deadLetterExample,
                retriedBy: "ops-jane",
                retriedAt: "2026-12-06T02:20:11.000Z",
              },
            ],
          },
        },
      },
    },
    async (req, reply) => {
      const id = Number(req.params.id);
      const result = await deps.retry(Number.isSafeInteger(id) ? id : -1, req.caller?.name ?? "operator");
      switch (result.outcome) {
        case "unknown":
          return fail(reply, 404, "not_found", `no posting ${JSON.stringify(req.params.id)} with a worker`);
        case "not-dead":
          return fail(
            reply,
            409,
            "not_dead",
            `posting ${id} is ${result.posting.status}: nothing to replay`,
            { posting: result.posting },
          );
        case "failed":
          return fail(
            reply,
            502,
            "posting_failed",
            `${result.posting.target} did not acknowledge posting ${id}: ${result.error}`,
            {
              outcome: result.outcome,
              posting: result.posting,
              retriedBy: result.retriedBy,
              retriedAt: result.retriedAt,
            },
          );
        case "acked":
          return result;
      }
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
    {
      schema: {
        tags,
        summary: "Postings by target, status, correlation id or event key",
        querystring: {
          type: "object",
          properties: {
            target: { type: "string" },
            status: { type: "string", enum: [...STATUSES] },
            correlationId: { type: "string" },
            eventKey: { type: "string" },
            limit: { ...limitQuery, default: 1000 },
          },
        },
        response: {
          200: {
            type: "object",
            properties: { postings: { type: "array", items: postingSchema } },
            examples: [{ postings: [postingExample] }],
          },
          400: errorSchema,
        },
      },
    },
    async (req, reply) => {
      const q = req.query;
      if (q.status && !STATUSES.includes(q.status as PostingStatus))
        return fail(
          reply,
          400,
          "bad_request",
          `status: got ${JSON.stringify(q.status)}, expected one of ${STATUSES.join(", ")}`,
        );
      const limit = limitOf(q.limit, 1000);
      if (typeof limit === "string") return fail(reply, 400, "bad_request", limit);
      return {
        postings: ledger.list({
          ...(q.target ? { target: q.target } : {}),
          ...(q.status ? { status: q.status as PostingStatus } : {}),
          ...(q.correlationId ? { correlationId: q.correlationId } : {}),
          ...(q.eventKey ? { eventKey: q.eventKey } : {}),
          limit,
        }),
      };
    },
  );
};
