/**
 * The HTTP contract of the exception routes (exception-routes.ts): the io-ts codecs that decode their
 * query strings, parameters and bodies, and the OpenAPI schemas generated from them, with examples.
 */
import * as t from "io-ts";
import {
  annotateCodec,
  describeProperties,
  type JsonSchema,
  jsonSchemaOf,
  openObjects,
  withExample,
} from "../../infra/http/codec-json-schema.ts";
import { RetryAttemptC } from "./command-dead-letters.ts";

// --- codecs of query strings and bodies ------------------------------------------------------------------

export const PositiveIntString = annotateCodec(
  new t.Type<number, string, unknown>(
    "positive integer",
    (u): u is number => typeof u === "number" && Number.isSafeInteger(u) && u > 0,
    (u, c) => {
      const n = typeof u === "string" && /^[0-9]{1,15}$/.test(u) ? Number(u) : Number.NaN;
      return Number.isSafeInteger(n) && n > 0 ? t.success(n) : t.failure(u, c);
    },
    String,
  ),
  { type: "integer", minimum: 1 },
);
export const NonNegativeIntString = annotateCodec(
  new t.Type<number, string, unknown>(
    "non-negative integer",
    (u): u is number => typeof u === "number" && Number.isSafeInteger(u) && u >= 0,
    (u, c) => {
      const n = typeof u === "string" && /^[0-9]{1,15}$/.test(u) ? Number(u) : Number.NaN;
      return Number.isSafeInteger(n) ? t.success(n) : t.failure(u, c);
    },
    String,
  ),
  { type: "integer", minimum: 0 },
);
export const IsoTime = annotateCodec(
  new t.Type<string, string, unknown>(
    "ISO-8601 time",
    (u): u is string => typeof u === "string",
    (u, c) => (typeof u === "string" && !Number.isNaN(Date.parse(u)) ? t.success(u) : t.failure(u, c)),
    String,
  ),
  { type: "string", format: "date-time", example: "2026-05-01T00:00:00Z" },
);
export const StatusC = t.keyof(
  { open: null, retried: null, resolved: null },
  '"open" | "retried" | "resolved"',
);

export const ListQueryC = t.partial(
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
export const ExceptionsQueryC = t.partial({ region: t.string, limit: PositiveIntString }, "exceptions query");
export const ParamsC = t.type({ region: t.string, seq: PositiveIntString }, "{ region, seq }");
export const RetryBodyC = t.partial(
  { payload: t.unknown, by: t.string, via: t.keyof({ request: null, stream: null }, '"request" | "stream"') },
  "{ payload?, by?, via? }",
);
export const ResolveBodyC = t.partial({ by: t.string, note: t.string }, "{ by?, note? }");

// --- OpenAPI, from the codecs above ------------------------------------------------------------------------

export const regionSeqParams = describeProperties(jsonSchemaOf(ParamsC), {
  region: "region id, e.g. eu",
  seq: "stream sequence in INV_DLQ_<R>",
});

export const listQuerySchema = describeProperties(jsonSchemaOf(ListQueryC), {
  region: "one region (default: all)",
  reason: "malformedJson, invalidCommand, rejected, ... (the subject's last token)",
  sku: "SKU of the refused command",
  location: "location of the refused command",
  sourceSystem: "source system that sent the command",
  since: "dead-lettered at or after this time",
  status: "open (default: all), retried or resolved",
  after: "paging: sequences above this one (needs region)",
  limit: "page size (default 100, at most 1000)",
});

export const exceptionsQuerySchema = describeProperties(jsonSchemaOf(ExceptionsQueryC), {
  region: "command dead letters of one region (default: all)",
  limit: "command dead letters per region (default 100)",
});

export const COMMAND_EXAMPLE = {
  kind: "receive",
  sku: "SKU-1001",
  location: "DC-BERLIN",
  quantity: { value: 40, uom: "EA" },
  source: { system: "wms-berlin", document: { type: "asn", id: "ASN-5521" } },
  businessTime: "2026-05-01T09:58:00Z",
  idempotencyKey: "wms-berlin:ASN-5521:1",
};

export const retryBodySchema = withExample(
  describeProperties(jsonSchemaOf(RetryBodyC), {
    payload: "a corrected command (default: the original payload)",
    by: "who retries (default: the API key's name)",
    via: "request: decided now over inv.req.<r> (default); stream: republished to INV_CMD_<R>",
  }),
  { payload: COMMAND_EXAMPLE, by: "maria", via: "request" },
);

export const resolveBodySchema = withExample(
  describeProperties(jsonSchemaOf(ResolveBodyC), {
    by: "who resolves (default: the API key's name)",
    note: "why no retry is needed",
  }),
  { by: "maria", note: "corrected in the WMS; the next count covers it" },
);

export const ROW_EXAMPLE = {
  region: "eu",
  seq: 17,
  status: "open",
  reason: "rejected",
  code: "unknownLocation",
  message: "location DC-BERLN is not known in region eu",
  sku: "SKU-1001",
  location: "DC-BERLN",
  sourceSystem: "wms-berlin",
  document: { type: "asn", id: "ASN-5521" },
  kind: "receive",
  correlationId: "corr-7d1e",
  idempotencyKey: "wms-berlin:ASN-5521:1",
  at: "2026-05-01T10:00:02Z",
  attempts: 0,
};
export const ATTEMPT_EXAMPLE = {
  attempt: 1,
  at: "2026-05-01T11:20:00Z",
  by: "maria (key operations)",
  via: "request",
  corrected: true,
  outcome: "accepted",
  eventIds: ["eu:position-eu-DC-BERLIN-SKU-1001:42"],
};

export const open = (description: string, properties: Record<string, JsonSchema> = {}): JsonSchema => ({
  type: "object",
  description,
  properties,
  additionalProperties: true,
});
export const rowSchema = open("a command dead letter: where, why, and its retries", {
  region: { type: "string" },
  seq: { type: "integer" },
  status: { type: "string", enum: ["open", "retried", "resolved"] },
  reason: { type: "string" },
  code: { type: "string" },
  message: { type: "string" },
  at: { type: "string", format: "date-time" },
  attempts: { type: "integer" },
});
export const attemptSchema = openObjects(
  jsonSchemaOf(RetryAttemptC, { description: "one retry and its outcome" }),
);

export const exceptionsResponse = withExample(
  open("everything open, with counts", {
    summary: open("counts: command dead letters per region, posting dead letters, findings"),
    commandDeadLetters: { type: "array", items: rowSchema },
    postingDeadLetters: { type: "array", items: open("a posting the ERP refused") },
    findings: { type: "array", items: open("an open reconciliation finding") },
  }),
  {
    summary: { commandDeadLetters: { eu: 1 }, postingDeadLetters: 0, findings: 0 },
    commandDeadLetters: [ROW_EXAMPLE],
    postingDeadLetters: [],
    findings: [],
  },
);
export const listResponse = withExample(
  open("one page of command dead letters", {
    deadLetters: { type: "array", items: rowSchema },
    next: open("per region, the `after` of the next page"),
  }),
  { deadLetters: [ROW_EXAMPLE], next: { eu: 17 } },
);
export const itemResponse = withExample(
  open("the dead letter: business context, rule or error, original payload, retries"),
  {
    region: "eu",
    seq: 17,
    subject: "inv.dlq.eu.rejected",
    reason: "rejected",
    storedAt: "2026-05-01T10:00:02Z",
    status: "open",
    deadLetter: { code: "unknownLocation", message: ROW_EXAMPLE.message, payload: COMMAND_EXAMPLE },
  },
);
export const retryResponse = (description: string, outcome: string) =>
  withExample(
    open(description, {
      repeated: { type: "boolean" },
      status: { type: "string" },
      attempt: attemptSchema,
      deadLetter: rowSchema,
    }),
    {
      repeated: false,
      status: "retried",
      attempt: { ...ATTEMPT_EXAMPLE, outcome },
      deadLetter: { ...ROW_EXAMPLE, status: "retried", attempts: 1 },
    },
  );
export const resolveResponse = withExample(
  open("the dead letter, resolved", {
    status: { type: "string" },
    deadLetter: rowSchema,
    state: open("its retries and resolution"),
  }),
  {
    status: "resolved",
    deadLetter: { ...ROW_EXAMPLE, status: "resolved" },
    state: {
      seq: 17,
      attempts: [],
      resolvedAt: "2026-05-01T11:25:00Z",
      resolvedBy: "maria (key operations)",
    },
  },
);
