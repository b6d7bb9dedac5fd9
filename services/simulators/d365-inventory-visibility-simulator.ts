/**
 * Dynamics 365 Inventory Visibility simulator: the service's HTTP API (on-hand change events, single
 * and bulk, set on-hand, index queries and soft reservations, per environment) over the stock book
 * of d365-inventory-visibility-ledger.ts, answering errors as ASP.NET problem details.
 *
 * Stock is kept as physical measures per `{organizationId, productId, dimensions}` and data source
 * (`pos.inbound`, `fno.availphysical`, `iv.softreservordered`, ...); calculated measures (for
 * example `iv.onhand`, `iv.availabletoreserve`) are sums and differences of them, configured like
 * the service's own configuration (d365-inventory-visibility-measures.ts). Every change event's `id`
 * is its idempotency key (see the ledger).
 */
import { randomUUID } from "node:crypto";
import Fastify, { type FastifyReply } from "fastify";
import type { DecodeError } from "../../domain/decode-errors.ts";
import {
  createD365Ledger,
  type D365LedgerEntry,
  type D365LedgerOptions,
  type D365QueryRow,
  type D365Result,
  type D365Stats,
} from "./d365-inventory-visibility-ledger.ts";
import { D365Refusal } from "./d365-inventory-visibility-refusal.ts";
import { type SimulatorControls, simulatorControls } from "./sim-controls.ts";
import { FaultInjector, type FaultOptions } from "./sim-faults.ts";

export type {
  D365Kind,
  D365LedgerEntry,
  D365QueryRow,
  D365Result,
  D365Row,
} from "./d365-inventory-visibility-ledger.ts";
export {
  type CalculatedMeasure,
  DEFAULT_CALCULATED_MEASURES,
  DEFAULT_DIMENSION_MAPPINGS,
  type Measures,
} from "./d365-inventory-visibility-measures.ts";

export interface D365SimulatorOptions extends FaultOptions, D365LedgerOptions {
  readonly logger?: boolean;
}

export interface D365Simulator extends SimulatorControls {
  ledger(): readonly D365LedgerEntry[];
  /** Same semantics as `POST .../onhand/indexquery`; throws on an invalid query. */
  query(envId: string, query: unknown): D365QueryRow[];
  /** One measure (`datasource.measure`, physical or calculated) summed over the rows matching the dimensions. */
  quantity(
    envId: string,
    organizationId: string,
    productId: string,
    dimensions: Record<string, string>,
    measure: string,
  ): number;
  stats(): D365Stats;
  /** Applies on-hand changes outside the sync (a store counting stock by hand); `id` optional. */
  inject(envId: string, changes: unknown): D365LedgerEntry[];
  /**
   * A fault: a bulk that contains a change for one of these products fails as a whole with 500 and
   * applies nothing (a service error on one row takes the request down). Empty to clear.
   */
  failBulksContaining(productIds: readonly string[]): void;
}

const TRACE = () => `00-${randomUUID().replace(/-/g, "")}-${randomUUID().replace(/-/g, "").slice(0, 16)}-00`;

/** ASP.NET Core problem details, the error body of the service's validation and failures. */
export const d365Problem = (
  status: number,
  title: string,
  detail?: string,
  errors?: readonly DecodeError[],
) => ({
  type: `https://tools.ietf.org/html/rfc9110#section-15.${status >= 500 ? 6 : 5}.${status >= 500 ? status - 499 : status - 399}`,
  title,
  status,
  ...(detail === undefined ? {} : { detail }),
  ...(errors === undefined
    ? {}
    : {
        errors: errors.reduce<Record<string, string[]>>((acc, e) => {
          const field = e.path === "" ? "(body)" : e.path;
          acc[field] = [...(acc[field] ?? []), e.message];
          return acc;
        }, {}),
      }),
  traceId: TRACE(),
});

export const createD365Simulator = (options: D365SimulatorOptions = {}): D365Simulator => {
  const faults = new FaultInjector(options);
  const book = createD365Ledger(options);

  const app = Fastify({ logger: options.logger ?? false });
  faults.install(app, (status, code, message) =>
    d365Problem(
      status,
      status === 503 ? "Service Unavailable" : status === 504 ? "Gateway Timeout" : "Internal Server Error",
      `${code}: ${message}`,
    ),
  );
  app.setErrorHandler((error: { statusCode?: number; message: string }, _request, reply) => {
    const status = error.statusCode ?? 500;
    reply
      .code(status)
      .send(d365Problem(status, status < 500 ? "Bad Request" : "Internal Server Error", error.message));
  });
  app.setNotFoundHandler((request, reply) => {
    reply
      .code(404)
      .send(d365Problem(404, "Not Found", `No route for ${request.method} ${request.url.split("?")[0]}`));
  });

  /** Runs `work`, persists, and answers the result or the refusal in the service's shape. */
  const answer = (
    reply: FastifyReply,
    work: () => { body: unknown; duplicate?: boolean; status?: number },
  ) => {
    try {
      const { body, duplicate, status } = work();
      book.persist();
      if (duplicate) reply.header("x-sim-duplicate", "true");
      return reply.code(status ?? 200).send(body);
    } catch (error) {
      if (!(error instanceof D365Refusal)) throw error;
      book.rejected();
      book.persist();
      return reply
        .code(error.status)
        .send(
          d365Problem(
            error.status,
            error.status === 409 ? "Conflict" : error.status === 404 ? "Not Found" : "Bad Request",
            error.message,
            error.errors,
          ),
        );
    }
  };

  type EnvParams = { Params: { envId: string } };
  const base = "/api/environment/:envId";

  app.post<EnvParams>(`${base}/onhand`, async (request, reply) =>
    answer(reply, () => {
      const { entry, duplicate } = book.applyChange(request.params.envId, request.body, "onhand", "api");
      return { body: entry.result, duplicate };
    }),
  );

  let poisonProducts = new Set<string>();
  const bulk = (envId: string, body: unknown, kind: "onhand" | "setonhand") => {
    if (!Array.isArray(body))
      throw new D365Refusal(400, "The request body must be a JSON array of on-hand change events");
    const poisoned = body.find(
      (item: unknown) =>
        typeof item === "object" &&
        item !== null &&
        poisonProducts.has(String((item as { productId?: unknown }).productId)),
    );
    if (poisoned)
      throw new Error(`simulated service error on product ${(poisoned as { productId: string }).productId}`);
    let duplicates = 0;
    const results = body.map((item: unknown): D365Result => {
      try {
        const { entry, duplicate } = book.applyChange(envId, item, kind, "api");
        if (duplicate) duplicates++;
        return entry.result;
      } catch (error) {
        if (!(error instanceof D365Refusal)) throw error;
        book.rejected();
        const id =
          typeof item === "object" && item !== null && typeof (item as { id?: unknown }).id === "string"
            ? (item as { id: string }).id
            : null;
        return { id, processingStatus: "failed", message: error.message, statusCode: error.status };
      }
    });
    return { body: results, duplicate: duplicates > 0 && duplicates === body.length };
  };

  app.post<EnvParams>(`${base}/onhand/bulk`, async (request, reply) =>
    answer(reply, () => bulk(request.params.envId, request.body, "onhand")),
  );
  app.post<{ Params: { envId: string; inventorySystem: string } }>(
    `${base}/setonhand/:inventorySystem/bulk`,
    async (request, reply) => answer(reply, () => bulk(request.params.envId, request.body, "setonhand")),
  );
  app.post<EnvParams>(`${base}/onhand/indexquery`, async (request, reply) =>
    answer(reply, () => ({ body: book.query(request.params.envId, request.body) })),
  );
  app.post<EnvParams>(`${base}/onhand/reserve`, async (request, reply) =>
    answer(reply, () => {
      const { entry, duplicate } = book.reserve(request.params.envId, request.body);
      return { body: entry.result, duplicate };
    }),
  );
  app.post<EnvParams>(`${base}/onhand/unreserve`, async (request, reply) =>
    answer(reply, () => {
      const { entry, duplicate } = book.unreserve(request.params.envId, request.body);
      return { body: entry.result, duplicate };
    }),
  );

  // Admin: never faulted, not part of the service's API.
  app.post<{ Querystring: { env?: string } }>("/_sim/inject", async (request, reply) =>
    answer(reply, () => ({
      body: { entries: book.inject(request.query.env ?? "sim", request.body) },
      status: 201,
    })),
  );
  app.get("/_sim/onhand", async () => ({ rows: book.rows() }));

  const unwrap = <A>(work: () => A): A => {
    try {
      return work();
    } catch (error) {
      if (error instanceof D365Refusal) throw new Error(`${error.status}: ${error.message}`);
      throw error;
    }
  };

  return {
    ...simulatorControls(app, faults, {
      entries: book.entries,
      stats: book.stats,
      reset: book.reset,
    }),
    ledger: book.entries,
    query: (envId, q) => unwrap(() => book.query(envId, q)),
    quantity: (envId, organizationId, productId, dimensions, measure) =>
      unwrap(() => book.quantity(envId, organizationId, productId, dimensions, measure)),
    stats: () => ({ ...book.stats() }),
    inject: (envId, changes) =>
      unwrap(() => {
        const entries = book.inject(envId, changes);
        book.persist();
        return entries;
      }),
    failBulksContaining: (productIds) => {
      poisonProducts = new Set(productIds);
    },
    reset: book.reset,
  };
};
