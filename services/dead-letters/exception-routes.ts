/**
 * HTTP routes of the exceptions an operator works through (DESIGN §5 "exceptions (DLQ and drift)
 * with retry"): one list of everything open — command dead letters per region, posting dead letters,
 * reconciliation findings — and, for command dead letters, list with filters, show and retry.
 *
 * Posting dead letters and findings come from injected functions (the postings ledger and the
 * reconciliation store own them; their own routes retry and approve). Query strings and bodies are
 * decoded with io-ts, and their OpenAPI schemas are generated from the same codecs (`jsonSchemaOf`).
 * Roles: `/v1/exceptions` falls to the `/v1/` prefix of `ROLES_BY_PREFIX` (operations).
 */
import type { FastifyInstance, FastifyReply } from "fastify";
import { errorResponses, sendError } from "../../infra/http/http-errors.ts";
import { decodeOr400 } from "../../infra/http/http-server.ts";
import type {
  CommandDeadLetter,
  CommandDeadLetterDesk,
  DeadLetterFilter,
  DeadLetterStatus,
} from "./command-dead-letters.ts";
import {
  ExceptionsQueryC,
  exceptionsQuerySchema,
  exceptionsResponse,
  itemResponse,
  ListQueryC,
  listQuerySchema,
  listResponse,
  ParamsC,
  ResolveBodyC,
  RetryBodyC,
  regionSeqParams,
  resolveBodySchema,
  resolveResponse,
  retryBodySchema,
  retryResponse,
} from "./exception-route-schemas.ts";

export interface ExceptionRoutesDeps {
  /** One desk per region. */
  readonly desks: ReadonlyMap<string, CommandDeadLetterDesk>;
  /** Open posting dead letters (e.g. `() => ledger.list({ status: "dead" })`). */
  readonly postingDeadLetters?: () => readonly unknown[] | Promise<readonly unknown[]>;
  /** Open reconciliation findings (e.g. `() => store.findings({ status: "open" })`). */
  readonly openFindings?: () => readonly unknown[] | Promise<readonly unknown[]>;
}

// --- routes -----------------------------------------------------------------------------------------------

/** A flat row of a command dead letter, for lists. */
export const deadLetterRow = (d: CommandDeadLetter) => {
  const dl = d.deadLetter;
  const c = dl?.context ?? {};
  const attempts = d.state?.attempts ?? [];
  return {
    region: d.region,
    seq: d.seq,
    status: d.status,
    reason: d.reason,
    code: dl?.code ?? "unreadable",
    message: dl?.message ?? "dead letter body could not be read",
    ...(c.sku !== undefined ? { sku: c.sku } : {}),
    ...(c.location !== undefined ? { location: c.location } : {}),
    ...(c.sourceSystem !== undefined ? { sourceSystem: c.sourceSystem } : {}),
    ...(c.document !== undefined ? { document: c.document } : {}),
    ...(c.kind !== undefined ? { kind: c.kind } : {}),
    ...(c.correlationId !== undefined ? { correlationId: c.correlationId } : {}),
    ...(c.idempotencyKey !== undefined ? { idempotencyKey: c.idempotencyKey } : {}),
    ...(dl?.applied ? { applied: true } : {}),
    at: dl?.at ?? d.storedAt,
    attempts: attempts.length,
    ...(attempts.length > 0 ? { lastOutcome: attempts[attempts.length - 1]?.outcome } : {}),
  };
};

const notFound = (reply: FastifyReply, message: string) => sendError(reply, 404, "not_found", message);

export const registerExceptionRoutes = (app: FastifyInstance, deps: ExceptionRoutesDeps): void => {
  const tags = ["exceptions"];
  const regions = () => [...deps.desks.keys()];
  const unknownRegion = (reply: FastifyReply, region: string) =>
    sendError(
      reply,
      404,
      "not_found",
      `region: got ${JSON.stringify(region)}, expected one of ${regions().join(", ")}`,
    );

  app.get(
    "/v1/exceptions",
    {
      schema: {
        tags,
        summary:
          "Everything open: command dead letters per region, posting dead letters, reconciliation findings",
        querystring: exceptionsQuerySchema,
        response: { 200: exceptionsResponse, ...errorResponses(400, 404) },
      },
    },
    async (req, reply) => {
      const q = decodeOr400(ExceptionsQueryC, req.query ?? {}, reply);
      if (!q) return reply;
      if (q.region !== undefined && !deps.desks.has(q.region)) return unknownRegion(reply, q.region);
      const chosen = q.region !== undefined ? [q.region] : regions();
      const perRegion = await Promise.all(
        chosen.map(async (region) => {
          const desk = deps.desks.get(region) as CommandDeadLetterDesk;
          const [page, depth] = await Promise.all([
            desk.list({ status: "open", limit: q.limit ?? 100 }),
            desk.depth(),
          ]);
          return { region, page, depth };
        }),
      );
      const postings = [...((await deps.postingDeadLetters?.()) ?? [])];
      const findings = [...((await deps.openFindings?.()) ?? [])];
      return {
        summary: {
          commandDeadLetters: Object.fromEntries(perRegion.map((r) => [r.region, r.depth])),
          postingDeadLetters: postings.length,
          findings: findings.length,
        },
        commandDeadLetters: perRegion.flatMap((r) => r.page.items.map(deadLetterRow)),
        postingDeadLetters: postings,
        findings,
      };
    },
  );

  app.get(
    "/v1/exceptions/dead-letters",
    {
      schema: {
        tags,
        summary:
          "Command dead letters (INV_DLQ_<R>) by region, reason, SKU, location, source system, time, status",
        querystring: listQuerySchema,
        response: { 200: listResponse, ...errorResponses(400, 404) },
      },
    },
    async (req, reply) => {
      const q = decodeOr400(ListQueryC, req.query ?? {}, reply);
      if (!q) return reply;
      if (q.region !== undefined && !deps.desks.has(q.region)) return unknownRegion(reply, q.region);
      if (q.after !== undefined && q.region === undefined)
        return sendError(
          reply,
          400,
          "bad_request",
          "after: paging by stream sequence needs a region (sequences are per region)",
        );
      const filter: DeadLetterFilter = {
        ...(q.reason !== undefined ? { reason: q.reason } : {}),
        ...(q.sku !== undefined ? { sku: q.sku } : {}),
        ...(q.location !== undefined ? { location: q.location } : {}),
        ...(q.sourceSystem !== undefined ? { sourceSystem: q.sourceSystem } : {}),
        ...(q.since !== undefined ? { since: q.since } : {}),
        ...(q.status !== undefined ? { status: q.status as DeadLetterStatus } : {}),
        ...(q.after !== undefined ? { after: q.after } : {}),
        ...(q.limit !== undefined ? { limit: q.limit } : {}),
      };
      const chosen = q.region !== undefined ? [q.region] : regions();
      const pages = await Promise.all(
        chosen.map(async (region) => ({
          region,
          page: await (deps.desks.get(region) as CommandDeadLetterDesk).list(filter),
        })),
      );
      return {
        deadLetters: pages.flatMap((p) => p.page.items.map(deadLetterRow)),
        next: Object.fromEntries(
          pages.filter((p) => p.page.nextAfter !== undefined).map((p) => [p.region, p.page.nextAfter]),
        ),
      };
    },
  );

  app.get(
    "/v1/exceptions/dead-letters/:region/:seq",
    {
      schema: {
        tags,
        summary: "One command dead letter: business context, rule or error, original payload, retries",
        params: regionSeqParams,
        response: { 200: itemResponse, ...errorResponses(400, 404) },
      },
    },
    async (req, reply) => {
      const p = decodeOr400(ParamsC, req.params, reply);
      if (!p) return reply;
      const desk = deps.desks.get(p.region);
      if (!desk) return unknownRegion(reply, p.region);
      const item = await desk.get(p.seq);
      if (!item) return notFound(reply, `no dead letter ${p.region}/${p.seq}`);
      return item;
    },
  );

  app.post(
    "/v1/exceptions/dead-letters/:region/:seq/retry",
    {
      schema: {
        tags,
        summary:
          "Retry a command dead letter with its original or a corrected payload (checked first); applied at most once",
        params: regionSeqParams,
        body: retryBodySchema,
        response: {
          200: retryResponse(
            "applied, now or before (a repeat of a resolved dead letter returns its attempt)",
            "accepted",
          ),
          202: retryResponse(
            "handed over (via stream, or parked by the node): the outcome comes later",
            "submitted",
          ),
          ...errorResponses(400, 404),
          422: retryResponse("the node refused the command again: the attempt names why", "rejected"),
          503: retryResponse("no node answered: retry later", "unavailable"),
        },
      },
    },
    async (req, reply) => {
      const p = decodeOr400(ParamsC, req.params, reply);
      if (!p) return reply;
      const body = decodeOr400(RetryBodyC, req.body ?? {}, reply);
      if (!body) return reply;
      const desk = deps.desks.get(p.region);
      if (!desk) return unknownRegion(reply, p.region);
      const r = await desk.retry(p.seq, {
        ...(body.payload !== undefined ? { payload: body.payload } : {}),
        by: whoFrom(body.by, req.caller?.name),
        ...(body.via ? { via: body.via } : {}),
      });
      if (!r.ok) return sendError(reply, r.status, r.error, r.message, r.errors ? { errors: r.errors } : {});
      // 200: applied (now or before); 202: handed over, outcome later; 422: the node refused it again; 503: no node answered.
      const o = r.attempt.outcome;
      const code =
        o === "accepted" || o === "duplicate"
          ? 200
          : o === "submitted" || o === "parked"
            ? 202
            : o === "unavailable"
              ? 503
              : 422;
      return reply.code(code).send({
        repeated: r.repeated,
        status: r.item.status,
        attempt: r.attempt,
        deadLetter: deadLetterRow(r.item),
      });
    },
  );

  app.post(
    "/v1/exceptions/dead-letters/:region/:seq/resolve",
    {
      schema: {
        tags,
        summary: "Mark a command dead letter resolved without retrying it (fixed at the source, or a notice)",
        params: regionSeqParams,
        body: resolveBodySchema,
        response: { 200: resolveResponse, ...errorResponses(400, 404) },
      },
    },
    async (req, reply) => {
      const p = decodeOr400(ParamsC, req.params, reply);
      if (!p) return reply;
      const body = decodeOr400(ResolveBodyC, req.body ?? {}, reply);
      if (!body) return reply;
      const desk = deps.desks.get(p.region);
      if (!desk) return unknownRegion(reply, p.region);
      const r = await desk.resolve(p.seq, {
        by: whoFrom(body.by, req.caller?.name),
        ...(body.note ? { note: body.note } : {}),
      });
      if (!r.ok) return notFound(reply, r.message);
      return { status: r.item.status, deadLetter: deadLetterRow(r.item), state: r.item.state };
    },
  );
};

/** The person named in the body, and the API key it came with. */
const whoFrom = (by: string | undefined, key: string | undefined): string =>
  by && key ? `${by} (key ${key})` : (by ?? key ?? "operator");
