/**
 * The one HTTP server shape of every stockline process (DESIGN §5): versioned JSON routes under
 * `/v1`, OpenAPI served at `/openapi.json` (UI at `/docs`), `/healthz`, `/readyz` and `/metrics`.
 *
 * Request bodies are decoded with io-ts in the handlers (`decodeOr400`), the single validator of
 * every boundary; route JSON schemas are documentation for OpenAPI only, never enforced twice, and
 * are best generated from the same codecs (`jsonSchemaOf`, codec-json-schema.ts).
 *
 * The OpenAPI document is completed here for every route, those registered later included
 * (`documentRoute`): an operation behind an API key (`config.roles`, set by access control for every
 * `/v1` route) declares the key's security schemes and the shared error responses; every response
 * has a description; a body without an example gets one made from its schema. Errors of every kind
 * answer in one shape (http-errors.ts).
 */
import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifySchema,
  LogController,
  type RouteOptions,
} from "fastify";
import * as E from "fp-ts/lib/Either.js";
import type * as t from "io-ts";
import { toDecodeErrors } from "../../domain/decode-errors.ts";
import type { Logger } from "../logging.ts";
import { metricsRegistry } from "../metrics.ts";
import { exampleOf, type JsonSchema } from "./codec-json-schema.ts";
import {
  badRequest,
  describeStatus,
  errorResponseSchema,
  installErrorHandlers,
  SHARED_ERROR_STATUSES,
  sendError,
} from "./http-errors.ts";

export { type BadRequestBody, badRequest } from "./http-errors.ts";

export type ReadinessCheck = () => Promise<{ ok: boolean; detail?: string }>;

export interface HttpServerOptions {
  readonly title: string;
  readonly version?: string;
  readonly logger: Logger;
  /** Named checks behind `/readyz`; the process is ready when all pass. */
  readonly readiness?: Record<string, ReadinessCheck>;
  readonly bodyLimitBytes?: number;
}

/** The security schemes of an API key: the `x-api-key` header or `Authorization: Bearer <key>`. */
export const API_KEY_SECURITY = [{ apiKey: [] }, { bearer: [] }] as const;

const BODY_METHODS = new Set(["POST", "PUT", "PATCH"]);

// A schema holding something structuredClone refuses (a function) is copied as JSON, without it.
const copyOf = (schema: JsonSchema): JsonSchema => {
  try {
    return structuredClone(schema);
  } catch {
    return JSON.parse(JSON.stringify(schema)) as JsonSchema;
  }
};

/**
 * The OpenAPI view of one route (never its validation or serialisation: a copy is changed). A route
 * with `config.roles` is behind an API key: it declares the security schemes, its roles and the
 * shared error responses; every response gets a description and a body an example.
 */
export const documentRoute = (
  schema: FastifySchema | undefined,
  route: Pick<RouteOptions, "method" | "config">,
) => {
  const doc = copyOf((schema ?? {}) as JsonSchema);
  const roles = (route.config as { roles?: readonly string[] } | undefined)?.roles;
  const methods = [route.method].flat().map((m) => String(m).toUpperCase());
  const hasBody = methods.some((m) => BODY_METHODS.has(m));
  const response = { ...((doc.response ?? {}) as Record<string, JsonSchema>) };
  if (!Object.keys(response).some((s) => s.startsWith("2")))
    response["200"] = { description: describeStatus(200), type: "object", additionalProperties: true };
  if (roles) {
    doc.security = API_KEY_SECURITY.map((s) => ({ ...s }));
    const rolesLine = `Roles: ${roles.join(", ")} (API key in x-api-key or Authorization: Bearer).`;
    doc.description = doc.description ? `${doc.description}\n\n${rolesLine}` : rolesLine;
    for (const status of SHARED_ERROR_STATUSES) {
      if ((status === 413 || status === 415) && !hasBody) continue;
      // 400 and 404 are the route's own answers; the others come from this server's hooks and
      // handlers, so their shape is the shared one whatever the route wrote (its words are kept).
      const own = response[status];
      response[status] =
        own && (status === 400 || status === 404)
          ? own
          : { ...errorResponseSchema(status), ...(own?.description ? { description: own.description } : {}) };
    }
  } else response[500] ??= errorResponseSchema(500);
  for (const [status, r] of Object.entries(response)) {
    const described = r.description ? r : { ...r, description: describeStatus(status) };
    response[status] =
      described.type === "null" || described.examples !== undefined || described.example !== undefined
        ? described
        : { ...described, examples: [exampleOf(described, "value")] };
  }
  doc.response = response;
  const body = doc.body as JsonSchema | undefined;
  if (body && body.examples === undefined && body.example === undefined)
    doc.body = { ...(doc.body as JsonSchema), examples: [exampleOf(doc.body as JsonSchema, "body")] };
  return doc as FastifySchema;
};

/** The deepest JSON body any route accepts (a command is about 6 levels deep). */
export const MAX_BODY_DEPTH = 32;

/** The path of the first value nested deeper than `max`, found without recursion; undefined if none. */
export const nestingBeyond = (value: unknown, max: number): string | undefined => {
  const stack: Array<{ v: unknown; d: number; at: string }> = [{ v: value, d: 0, at: "(body)" }];
  while (stack.length > 0) {
    const { v, d, at } = stack.pop()!;
    if (typeof v !== "object" || v === null) continue;
    if (d >= max) return at;
    for (const [k, x] of Object.entries(v))
      stack.push({ v: x, d: d + 1, at: at === "(body)" ? k : `${at}.${k}` });
  }
  return undefined;
};

export const createHttpServer = async (opts: HttpServerOptions): Promise<FastifyInstance> => {
  const bodyLimitBytes = opts.bodyLimitBytes ?? 10 * 1024 * 1024;
  const app = Fastify({
    // pino's Logger is a FastifyBaseLogger; the cast keeps the instance type the plain one routes expect.
    loggerInstance: opts.logger as FastifyBaseLogger,
    // Access logs per request would drown the structured domain logs; metrics cover request rates.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: bodyLimitBytes,
    // Path parameters are ids (limits.ts): the longest, percent-encoded, is 3 * 640 characters.
    maxParamLength: 2048,
  });
  // Schemas document the API; io-ts decodes it (see header comment).
  app.setValidatorCompiler(() => () => true);
  // A JSON API: a text body would reach the handlers as a string and fail as "not an object"; a 415
  // that says to send JSON is the clearer answer.
  app.removeContentTypeParser("text/plain");
  installErrorHandlers(app, { bodyLimitBytes });
  // A body nested deeper than any request of ours is refused before a handler or an error message
  // walks it recursively (a 200 KB `[[[…]]]` overflowed the stack in a decoder's message: a 500).
  app.addHook("preValidation", async (req, reply) => {
    const deep = nestingBeyond(req.body, MAX_BODY_DEPTH);
    if (deep !== undefined)
      return sendError(
        reply,
        400,
        "bad_request",
        `the body is nested deeper than ${MAX_BODY_DEPTH} levels (at ${deep}); no request of this API needs that`,
      );
  });

  await app.register(swagger, {
    openapi: {
      openapi: "3.0.3",
      info: { title: opts.title, version: opts.version ?? "1" },
      components: {
        securitySchemes: {
          apiKey: { type: "apiKey", in: "header", name: "x-api-key", description: "the API key" },
          bearer: {
            type: "http",
            scheme: "bearer",
            description: "the API key as `Authorization: Bearer <key>`",
          },
        },
      },
    },
    // Read when the document is built, so routes registered after this (and their roles) count.
    transform: ({ schema, url, route }) => ({ schema: documentRoute(schema, route), url }),
  });
  await app.register(swaggerUi, { routePrefix: "/docs" });
  app.get("/openapi.json", { schema: { hide: true } }, async () => app.swagger());

  app.get("/healthz", { schema: { hide: true } }, async () => ({ status: "ok" }));
  app.get("/readyz", { schema: { hide: true } }, async (_req, reply) => {
    const checks = Object.entries(opts.readiness ?? {});
    const results = await Promise.all(
      checks.map(async ([name, check]) => {
        try {
          return [name, await check()] as const;
        } catch (err) {
          return [name, { ok: false, detail: String(err) }] as const;
        }
      }),
    );
    const ready = results.every(([, r]) => r.ok);
    return reply.code(ready ? 200 : 503).send({ ready, checks: Object.fromEntries(results) });
  });
  app.get("/metrics", { schema: { hide: true } }, async (_req, reply) =>
    reply.type(metricsRegistry.contentType).send(await metricsRegistry.metrics()),
  );
  return app;
};

/** Decode `input` with `codec`; on failure answer 400 with the field errors and return undefined. */
export const decodeOr400 = <A>(
  codec: t.Decoder<unknown, A>,
  input: unknown,
  reply: FastifyReply,
): A | undefined => {
  const result = codec.decode(input);
  if (E.isRight(result)) return result.right;
  void reply.code(400).send(badRequest(toDecodeErrors(result.left)));
  return undefined;
};
