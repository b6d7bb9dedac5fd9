/**
 * HTTP routes of the exceptions an operator works through (DESIGN §5 "exceptions (DLQ and drift)
 * with retry"): one list of everything open — command dead letters per region, posting dead letters,
 * reconciliation findings — and, for command dead letters, list with filters, show and retry.
 *
 * Posting dead letters and findings come from injected functions (the postings ledger and the
 * reconciliation store own them; their own routes retry and approve). Query strings and bodies are
 * decoded with io-ts; the JSON schemas below only document the API. Roles: `/v1/exceptions` falls to
 * the `/v1/` prefix of `ROLES_BY_PREFIX` (operations).
 */
import type { FastifyInstance, FastifyReply } from "fastify";
import * as t from "io-ts";
import { decodeOr400 } from "../../infra/http/http-server.ts";
import type {
  CommandDeadLetter,
  CommandDeadLetterDesk,
  DeadLetterFilter,
  DeadLetterStatus,
} from "./command-dead-letters.ts";

export interface ExceptionRoutesDeps {
  /** One desk per region. */
  readonly desks: ReadonlyMap<string, CommandDeadLetterDesk>;
  /** Open posting dead letters (e.g. `() => ledger.list({ status: "dead" })`). */
  readonly postingDeadLetters?: () => readonly unknown[] | Promise<readonly unknown[]>;
  /** Open reconciliation findings (e.g. `() => store.findings({ status: "open" })`). */
  readonly openFindings?: () => readonly unknown[] | Promise<readonly unknown[]>;
}

// --- codecs of query strings and bodies ------------------------------------------------------------------

const PositiveIntString = new t.Type<number, string, unknown>(
  "positive integer",
  (u): u is number => typeof u === "number" && Number.isSafeInteger(u) && u > 0,
  (u, c) => {
    const n = typeof u === "string" && /^[0-9]{1,15}$/.test(u) ? Number(u) : Number.NaN;
    return Number.isSafeInteger(n) && n > 0 ? t.success(n) : t.failure(u, c);
  },
  String,
);
const NonNegativeIntString = new t.Type<number, string, unknown>(
  "non-negative integer",
  (u): u is number => typeof u === "number" && Number.isSafeInteger(u) && u >= 0,
  (u, c) => {
    const n = typeof u === "string" && /^[0-9]{1,15}$/.test(u) ? Number(u) : Number.NaN;
    return Number.isSafeInteger(n) ? t.success(n) : t.failure(u, c);
  },
  String,
);
const IsoTime = new t.Type<string, string, unknown>(
  "ISO-8601 time",
  (u): u is string => typeof u === "string",
  (u, c) => (typeof u === "string" && !Number.isNaN(Date.parse(u)) ? t.success(u) : t.failure(u, c)),
  String,
);
const StatusC = t.keyof({ open: null, retried: null, resolved: null }, '"open" | "retried" | "resolved"');

const ListQueryC = t.partial(
  {
    region: t.string,
    reason: t.string,
    sku: t.string,
    location: t.string,
    sourceSystem: t.string,
    since: IsoTime,
    status: StatusC,
    after: NonNegativeIntString,
    limit: PositiveIntString,
  },
  "dead-letter query",
);
const ExceptionsQueryC = t.partial({ region: t.string, limit: PositiveIntString }, "exceptions query");
const ParamsC = t.type({ region: t.string, seq: PositiveIntString }, "{ region, seq }");
const RetryBodyC = t.partial(
  { payload: t.unknown, by: t.string, via: t.keyof({ request: null, stream: null }, '"request" | "stream"') },
  "{ payload?, by?, via? }",
);
const ResolveBodyC = t.partial({ by: t.string, note: t.string }, "{ by?, note? }");

// --- documentation schemas -------------------------------------------------------------------------------

const regionSeqParams = {
  type: "object",
  properties: {
    region: { type: "string", description: "region id, e.g. eu" },
    seq: { type: "integer", description: "stream sequence in INV_DLQ_<R>" },
  },
  required: ["region", "seq"],
} as const;

const listQuerySchema = {
  type: "object",
  properties: {
    region: { type: "string", description: "one region (default: all)" },
    reason: {
      type: "string",
      description: "malformedJson, invalidCommand, rejected, ... (the subject's last token)",
    },
    sku: { type: "string" },
    location: { type: "string" },
    sourceSystem: { type: "string" },
    since: { type: "string", format: "date-time" },
    status: { type: "string", enum: ["open", "retried", "resolved"] },
    after: { type: "integer", description: "paging: sequences above this one (needs region)" },
    limit: { type: "integer", description: "page size (default 100, at most 1000)" },
  },
} as const;

const retryBodySchema = {
  type: "object",
  properties: {
    payload: { type: "object", description: "a corrected command (default: the original payload)" },
    by: { type: "string", description: "who retries (default: the API key's name)" },
    via: {
      type: "string",
      enum: ["request", "stream"],
      description: "request: decided now over inv.req.<r> (default); stream: republished to INV_CMD_<R>",
    },
  },
} as const;

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

const notFound = (reply: FastifyReply, message: string) =>
  reply.code(404).send({ error: "not_found", message });

export const registerExceptionRoutes = (app: FastifyInstance, deps: ExceptionRoutesDeps): void => {
  const tags = ["exceptions"];
  const regions = () => [...deps.desks.keys()];
  const unknownRegion = (reply: FastifyReply, region: string) =>
    reply.code(404).send({
      error: "not_found",
      message: `region: got ${JSON.stringify(region)}, expected one of ${regions().join(", ")}`,
    });

  app.get(
    "/v1/exceptions",
    {
      schema: {
        tags,
        summary:
          "Everything open: command dead letters per region, posting dead letters, reconciliation findings",
        querystring: {
          type: "object",
          properties: {
            region: { type: "string", description: "command dead letters of one region (default: all)" },
            limit: { type: "integer", description: "command dead letters per region (default 100)" },
          },
        },
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
      },
    },
    async (req, reply) => {
      const q = decodeOr400(ListQueryC, req.query ?? {}, reply);
      if (!q) return reply;
      if (q.region !== undefined && !deps.desks.has(q.region)) return unknownRegion(reply, q.region);
      if (q.after !== undefined && q.region === undefined)
        return reply.code(400).send({
          error: "bad_request",
          message: "after: paging by stream sequence needs a region (sequences are per region)",
        });
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
      if (!r.ok)
        return reply.code(r.status).send({
          error: r.error,
          message: r.message,
          ...(r.errors ? { errors: r.errors } : {}),
        });
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
        body: { type: "object", properties: { by: { type: "string" }, note: { type: "string" } } },
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
