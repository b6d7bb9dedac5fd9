/**
 * The one HTTP server shape of every stockline process (DESIGN §5): versioned JSON routes under
 * `/v1`, OpenAPI served at `/openapi.json` (UI at `/docs`), `/healthz`, `/readyz` and `/metrics`.
 *
 * Request bodies are decoded with io-ts in the handlers (`decodeOr400`), the single validator of
 * every boundary; route JSON schemas are documentation for OpenAPI only, never enforced twice.
 */
import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  LogController,
} from "fastify";
import * as E from "fp-ts/lib/Either.js";
import type * as t from "io-ts";
import { type DecodeError, formatDecodeErrors, toDecodeErrors } from "../../domain/decode-errors.ts";
import type { Logger } from "../logging.ts";
import { metricsRegistry } from "../metrics.ts";

export type ReadinessCheck = () => Promise<{ ok: boolean; detail?: string }>;

export interface HttpServerOptions {
  readonly title: string;
  readonly version?: string;
  readonly logger: Logger;
  /** Named checks behind `/readyz`; the process is ready when all pass. */
  readonly readiness?: Record<string, ReadinessCheck>;
  readonly bodyLimitBytes?: number;
}

export const createHttpServer = async (opts: HttpServerOptions): Promise<FastifyInstance> => {
  const app = Fastify({
    // pino's Logger is a FastifyBaseLogger; the cast keeps the instance type the plain one routes expect.
    loggerInstance: opts.logger as FastifyBaseLogger,
    // Access logs per request would drown the structured domain logs; metrics cover request rates.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: opts.bodyLimitBytes ?? 10 * 1024 * 1024,
    // Path parameters are ids (limits.ts): the longest, percent-encoded, is 3 * 640 characters.
    maxParamLength: 2048,
  });
  // Schemas document the API; io-ts decodes it (see header comment).
  app.setValidatorCompiler(() => () => true);

  await app.register(swagger, {
    openapi: {
      openapi: "3.0.3",
      info: { title: opts.title, version: opts.version ?? "1" },
      components: {
        securitySchemes: { apiKey: { type: "apiKey", in: "header", name: "x-api-key" } },
      },
    },
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

/** The body of every 400: each field, the value it had and what was expected. */
export interface BadRequestBody {
  readonly error: "bad_request";
  readonly message: string;
  readonly errors: readonly DecodeError[];
}

export const badRequest = (errors: readonly DecodeError[]): BadRequestBody => ({
  error: "bad_request",
  message: formatDecodeErrors(errors),
  errors,
});

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
