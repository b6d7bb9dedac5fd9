/**
 * One error shape for every HTTP answer that is not a success, ours and fastify's alike:
 *
 *   { "error": "<snake_case_code>", "message": "<a sentence for a person>", ...details }
 *
 * `error` is stable for programs (`bad_request`, `unauthorized`, `not_found`, ...), `message` says
 * what was wrong and what to do, details (`errors`, `requiredRoles`, `retryAfterSeconds`, ...) are
 * extra fields. `installErrorHandlers` puts fastify's own errors (unparsable JSON, 404 of an unknown
 * route, 413, 415, 429, 500) into this shape; routes answer with `sendError` or `errorBody`.
 */
import { STATUS_CODES } from "node:http";
import type { FastifyError, FastifyInstance, FastifyReply } from "fastify";
import { type DecodeError, formatDecodeErrors } from "../../domain/decode-errors.ts";

export interface ErrorBody {
  readonly error: string;
  readonly message: string;
  readonly [detail: string]: unknown;
}

/** `Payload Too Large` -> `payload_too_large`: the code of a status when a route names none. */
export const errorCodeFor = (status: number): string =>
  (STATUS_CODES[status] ?? `status ${status}`)
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "_")
    .replace(/^_|_$/g, "");

export const errorBody = (
  error: string,
  message: string,
  details: Record<string, unknown> = {},
): ErrorBody => ({ ...details, error, message });

/** Answers `status` with the one error shape. */
export const sendError = (
  reply: FastifyReply,
  status: number,
  error: string,
  message: string,
  details: Record<string, unknown> = {},
): FastifyReply => reply.code(status).send(errorBody(error, message, details));

/** The body of every 400 of a decoded input: each field, the value it had and what was expected. */
export interface BadRequestBody extends ErrorBody {
  readonly error: "bad_request";
  readonly errors: readonly DecodeError[];
}

export const badRequest = (errors: readonly DecodeError[]): BadRequestBody => ({
  error: "bad_request",
  message: formatDecodeErrors(errors) || "the request is not valid",
  errors,
});

// --- OpenAPI ---------------------------------------------------------------------------------------------

/** What each status means for a caller of this API (the OpenAPI description of its response). */
export const STATUS_DESCRIPTIONS: Readonly<Record<number, string>> = {
  200: "Success",
  201: "Created",
  202: "Accepted: handed over, the outcome comes later",
  204: "Done, no body",
  400: "The request is not valid: `errors` names each field, the value it had and what was expected",
  401: "No API key, or an unknown one: send it in `x-api-key` (or `Authorization: Bearer <key>`)",
  403: "The API key is known but lacks a role this operation needs (`requiredRoles`)",
  404: "Nothing found under this path",
  409: "Conflicts with the current state",
  413: "The body is larger than the server accepts",
  415: "The body is not JSON: send it with `Content-Type: application/json`",
  422: "Understood but refused by the business rules",
  429: "Rate limit of the API key exceeded: retry after `Retry-After` seconds",
  500: "Internal error (details only in the server log)",
  503: "A part behind the API did not answer; retry later",
};

export const describeStatus = (status: number | string): string =>
  STATUS_DESCRIPTIONS[Number(status)] ?? STATUS_CODES[Number(status)] ?? `Status ${status}`;

const ERROR_EXAMPLES: Readonly<Record<number, ErrorBody>> = {
  400: {
    error: "bad_request",
    message: "quantity: got -3, expected a positive integer",
    errors: [
      {
        path: "quantity",
        value: -3,
        expected: "a positive integer",
        message: "quantity: got -3, expected a positive integer",
      },
    ],
  },
  401: { error: "unauthorized", message: "an API key is required: send it in the x-api-key header" },
  403: {
    error: "forbidden",
    message: 'API key "shop" (roles commerce) may not call GET /v1/exceptions; it needs one of: operations',
    requiredRoles: ["operations"],
  },
  404: { error: "not_found", message: "no position DC1 / SKU-42" },
  413: { error: "payload_too_large", message: "the body is larger than 524288 bytes" },
  415: {
    error: "unsupported_media_type",
    message:
      'Content-Type "text/plain" is not accepted: send the body as JSON with Content-Type: application/json',
  },
  429: {
    error: "too_many_requests",
    message: 'rate limit of API key "shop" exceeded (100 requests per 60000 ms); retry after 12 s',
    retryAfterSeconds: 12,
  },
  500: {
    error: "internal_server_error",
    message: "internal error (request req-1f); the server log has the details",
  },
};

/** JSON Schema of the error shape (details are open: `additionalProperties`). */
export const errorResponseSchema = (status?: number) => ({
  type: "object",
  description: status === undefined ? "An error" : describeStatus(status),
  required: ["error", "message"],
  properties: {
    error: { type: "string", description: "stable snake_case code, e.g. bad_request, not_found" },
    message: { type: "string", description: "what was wrong and what to do, for a person" },
    errors: {
      type: "array",
      description: "400 only: one entry per invalid field",
      items: {
        type: "object",
        properties: {
          path: { type: "string" },
          value: {},
          expected: { type: "string" },
          message: { type: "string" },
        },
      },
    },
  },
  additionalProperties: true,
  examples: [
    ERROR_EXAMPLES[status ?? 400] ?? {
      error: errorCodeFor(status ?? 500),
      message: describeStatus(status ?? 500),
    },
  ],
});

/** The errors any `/v1` operation behind an API key may answer, for its OpenAPI responses. */
export const SHARED_ERROR_STATUSES = [400, 401, 403, 404, 413, 415, 429, 500] as const;

/** `{ 404: errorResponseSchema(404), ... }` for a route's `schema.response`. */
export const errorResponses = <S extends number>(
  ...statuses: S[]
): Record<S, ReturnType<typeof errorResponseSchema>> =>
  Object.fromEntries(statuses.map((s) => [s, errorResponseSchema(s)])) as Record<
    S,
    ReturnType<typeof errorResponseSchema>
  >;

// --- fastify's own errors -----------------------------------------------------------------------------

const fastifyErrorBody = (
  err: FastifyError,
  status: number,
  bodyLimitBytes: number,
  contentType: string | undefined,
): ErrorBody => {
  switch (err.code) {
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      return errorBody(
        "unsupported_media_type",
        `Content-Type ${JSON.stringify(contentType ?? "")} is not accepted: send the body as JSON with Content-Type: application/json`,
      );
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return errorBody(
        "payload_too_large",
        `the body is larger than ${bodyLimitBytes} bytes, the most this server accepts`,
        {
          limitBytes: bodyLimitBytes,
        },
      );
    case "FST_ERR_CTP_EMPTY_JSON_BODY":
      return errorBody(
        "bad_request",
        "the body is empty but Content-Type is application/json: send a JSON body, or no Content-Type",
      );
    case "FST_ERR_CTP_INVALID_JSON_BODY":
      return errorBody("bad_request", `the body is not valid JSON: ${err.message}`);
    default:
      break;
  }
  if (err.validation)
    return errorBody("bad_request", err.message, {
      errors: err.validation.map((v) => ({
        path: v.instancePath.replace(/^\//, "").replaceAll("/", "."),
        value: undefined,
        expected: v.message ?? "a valid value",
        message: `${v.instancePath || "(input)"}: ${v.message ?? "invalid"}`,
      })),
    });
  // A JSON syntax error of the body parser: its message names the position.
  if (status === 400 && err instanceof SyntaxError)
    return errorBody("bad_request", `the body is not valid JSON: ${err.message}`);
  return errorBody(errorCodeFor(status), err.message || describeStatus(status));
};

/**
 * Every error fastify raises, and every error a handler throws, answers in the one shape; a 5xx says
 * nothing of its cause to the caller (the log has it, under the request id).
 */
export const installErrorHandlers = (app: FastifyInstance, opts: { bodyLimitBytes: number }): void => {
  app.setErrorHandler((err: FastifyError, req, reply) => {
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
    if (status >= 500) {
      req.log.error({ err, reqId: req.id, url: req.url }, "request failed");
      return sendError(
        reply,
        status,
        errorCodeFor(status),
        `internal error (request ${req.id}); the server log has the details`,
      );
    }
    // A body already built in our shape (the rate limit's errorResponseBuilder) is sent as it is.
    if (!(err instanceof Error)) {
      const { statusCode: _, ...own } = err as unknown as Partial<ErrorBody> & { statusCode?: number };
      if (typeof own.error === "string" && typeof own.message === "string")
        return reply.code(status).send(own);
    }
    return reply
      .code(status)
      .send(fastifyErrorBody(err, status, opts.bodyLimitBytes, req.headers["content-type"]));
  });
  app.setNotFoundHandler((req, reply) =>
    sendError(
      reply,
      404,
      "not_found",
      `no route ${req.method} ${req.url.split("?")[0]}; the operations are listed at /openapi.json (UI at /docs)`,
    ),
  );
};
