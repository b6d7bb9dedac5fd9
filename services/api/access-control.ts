/**
 * API keys, roles and rate limits.
 *
 * - Every `/v1` route declares the roles that may call it (`config: { roles }`); routes without
 *   roles (`/healthz`, `/readyz`, `/metrics`, `/openapi.json`, `/docs`) are public.
 * - The key comes in the `x-api-key` header (or `Authorization: Bearer <key>`). No key or an unknown
 *   key: `401`. A key without a role of the route: `403` naming the roles that would do.
 * - Rate limits count per API key across all routes (one bucket per key, not per route), with the
 *   key's own limit or the default; over the limit: `429` with `Retry-After` (seconds).
 */
import rateLimit from "@fastify/rate-limit";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { type ApiKeyConfig, ApiKeyRing, type Caller, type Role } from "../../infra/http/api-keys.ts";
import { type ErrorBody, errorBody } from "../../infra/http/http-errors.ts";

export { ApiKeyRing, type Caller } from "../../infra/http/api-keys.ts";

/** Who may call what. Routes of other parts of the API add their own entry in their route config. */
export const ROUTE_ROLES = {
  availability: ["commerce", "warehouse", "operations", "finance"],
  placeReservation: ["commerce", "operations"],
  readReservation: ["commerce", "warehouse", "operations"],
  releaseReservation: ["commerce", "operations"],
  degradedHolds: ["operations"],
} as const satisfies Record<string, readonly Role[]>;

/**
 * Reservations are the caller's own: `operations` may read and release any (support), `warehouse`
 * may read any (it picks against them); everyone else only those its key placed.
 */
export const reservationScope = (caller: Caller, action: "read" | "release") => ({
  caller: caller.name,
  anyCaller: caller.roles.has("operations") || (action === "read" && caller.roles.has("warehouse")),
});

/**
 * Roles of routes that other modules register without declaring any (positions, trace, postings,
 * reconciliation, command intake), by path prefix: every `/v1` route needs a key and a role.
 */
export const ROLES_BY_PREFIX: ReadonlyArray<readonly [string, readonly Role[]]> = [
  ["/v1/positions", ["warehouse", "operations", "finance"]],
  // Warehouse support traces a document across regions (the /ui warehouse view, issue 12).
  ["/v1/trace", ["warehouse", "operations", "finance"]],
  ["/v1/postings", ["operations"]],
  ["/v1/reconciliation", ["operations", "finance"]],
  ["/v1/commands", ["warehouse", "operations"]],
  ["/v1/", ["operations"]],
];

declare module "fastify" {
  interface FastifyContextConfig {
    /** Roles allowed on this route; absent: public. */
    roles?: readonly Role[];
  }
  interface FastifyRequest {
    caller?: Caller;
  }
}

const presentedKey = (req: FastifyRequest): string | undefined => {
  const header = req.headers["x-api-key"];
  if (typeof header === "string" && header.length > 0) return header;
  const auth = req.headers.authorization;
  if (typeof auth === "string" && auth.startsWith("Bearer ")) return auth.slice(7).trim() || undefined;
  return undefined;
};

export type { ErrorBody } from "../../infra/http/http-errors.ts";

const deny = (reply: FastifyReply, code: number, body: ErrorBody): FastifyReply =>
  reply.code(code).send(body);

/**
 * Installs authentication, authorisation and per-key rate limiting on `app` (call before the routes
 * are registered, so that their `roles` are seen).
 */
export const installAccessControl = async (
  app: FastifyInstance,
  config: {
    readonly apiKeys: readonly ApiKeyConfig[];
    readonly rateLimit: { readonly max: number; readonly windowMs: number };
  },
): Promise<void> => {
  const ring = new ApiKeyRing(config.apiKeys, config.rateLimit);
  app.addHook("onRoute", (route) => {
    if (route.config?.roles || !route.url.startsWith("/v1/")) return;
    const roles = ROLES_BY_PREFIX.find(([prefix]) => route.url.startsWith(prefix))?.[1];
    route.config = { ...route.config, roles };
  });
  // Limits a route may set itself (config.rateLimit) answer 429 in the one error shape too.
  await app.register(rateLimit, {
    global: false,
    errorResponseBuilder: (req, ctx) => ({
      statusCode: ctx.statusCode,
      ...errorBody(
        "too_many_requests",
        `rate limit of ${req.method} ${req.routeOptions.url} exceeded (at most ${ctx.max} requests); retry after ${ctx.after}`,
        { retryAfterSeconds: Math.max(1, Math.ceil(ctx.ttl / 1000)) },
      ),
    }),
  });
  const limiter = app.createRateLimit({
    keyGenerator: (req) => req.caller?.name ?? req.ip,
    max: (req) => req.caller?.rateLimit.max ?? config.rateLimit.max,
    timeWindow: (req) => req.caller?.rateLimit.windowMs ?? config.rateLimit.windowMs,
  });

  app.addHook("onRequest", async (req, reply) => {
    const roles = req.routeOptions.config.roles;
    if (!roles) return;
    const key = presentedKey(req);
    if (key === undefined)
      return deny(reply, 401, {
        error: "unauthorized",
        message: "an API key is required: send it in the x-api-key header (or Authorization: Bearer <key>)",
      });
    const caller = ring.resolve(key);
    if (!caller)
      return deny(reply, 401, {
        error: "unauthorized",
        message:
          "unknown API key: the key sent in x-api-key (or Authorization: Bearer) is not one of this server's",
      });
    req.caller = caller;
    if (!roles.some((r) => caller.roles.has(r)))
      return deny(reply, 403, {
        error: "forbidden",
        message: `API key ${JSON.stringify(caller.name)} (roles ${[...caller.roles].join(", ")}) may not call ${req.method} ${req.routeOptions.url}; it needs one of: ${roles.join(", ")}`,
        requiredRoles: roles,
      });
    const limit = await limiter(req);
    if (!limit.isAllowed && limit.isExceeded) {
      void reply.header("retry-after", String(Math.max(1, limit.ttlInSeconds)));
      void reply.header("x-ratelimit-limit", String(limit.max));
      void reply.header("x-ratelimit-remaining", "0");
      return deny(reply, 429, {
        error: "too_many_requests",
        message: `rate limit of API key ${JSON.stringify(caller.name)} exceeded (${limit.max} requests per ${limit.timeWindow} ms); retry after ${Math.max(1, limit.ttlInSeconds)} s`,
        retryAfterSeconds: Math.max(1, limit.ttlInSeconds),
      });
    }
    return undefined;
  });
};
