/**
 * JSON schemas and examples of the postings routes' answers (OpenAPI, and fastify's serialiser:
 * a field missing here is missing from the answer, so they list every field of `PostingRow` and
 * of the summary).
 */
import type { PostingRow } from "./postings-ledger.ts";
import type { PostingsSummary } from "./postings-summary.ts";

const str = { type: "string" } as const;
const int = { type: "integer" } as const;
const time = { type: "string", format: "date-time" } as const;
const nullable = <S extends object>(s: S) => ({ ...s, nullable: true }) as const;

export const errorSchema = {
  type: "object",
  properties: { error: str, message: str },
  required: ["error", "message"],
} as const;

export const postingSchema = {
  type: "object",
  properties: {
    id: int,
    eventKey: { ...str, description: "`<region>:<streamId>:<revision>`, the target's idempotency key" },
    target: str,
    region: str,
    location: str,
    sku: str,
    eventId: str,
    eventType: str,
    revision: int,
    correlationId: str,
    sourceSystem: str,
    sourceDocument: str,
    businessTime: time,
    effect: { ...int, description: "change of the target's stock the event means" },
    status: { type: "string", enum: ["pending", "failed", "acked", "dead", "skipped"] },
    targetDocument: nullable(str),
    attempts: int,
    chargedFailures: int,
    latencyMs: nullable(int),
    lastCallMs: nullable(int),
    lastError: nullable(str),
    errorClass: nullable(str),
    firstSeen: time,
    updatedAt: time,
    ackedAt: nullable(time),
    deadAt: nullable(time),
    replays: int,
    nextAttemptAt: nullable(time),
  },
} as const;

const pendingSchema = {
  type: "object",
  properties: {
    count: { ...int, description: "inFlight + queued" },
    inFlight: { ...int, description: "read by the worker, not attempted yet or being posted" },
    queued: { ...int, description: "events of the region the worker has not read yet (sampled)" },
    queuedSampledAt: nullable(time),
    oldestSince: nullable(time),
    oldestAgeMs: nullable(int),
  },
} as const;
const retryingSchema = {
  type: "object",
  properties: {
    count: int,
    oldestSince: nullable(time),
    oldestAgeMs: nullable(int),
    nextAttemptAt: nullable(time),
  },
} as const;
const figures = {
  acked: int,
  pending: pendingSchema,
  retrying: retryingSchema,
  dead: int,
  skipped: { ...int, description: "routed, nothing to post (a count that found the book right, an echo)" },
} as const;

export const summarySchema = {
  type: "object",
  properties: {
    at: time,
    targets: {
      type: "array",
      items: {
        type: "object",
        properties: {
          target: str,
          breaker: {
            type: "object",
            properties: {
              state: { type: "string", enum: ["closed", "halfOpen", "open", "unknown"] },
              since: nullable(time),
              nextTrialAt: nullable(time),
            },
          },
          ...figures,
          regions: {
            type: "array",
            items: { type: "object", properties: { region: str, ...figures } },
          },
        },
      },
    },
  },
} as const;

export const postingExample: PostingRow = {
  id: 17,
  eventKey: "eu:DC-AMS|85123A:42",
  target: "sap",
  region: "eu",
  location: "DC-AMS",
  sku: "85123A",
  eventId: "0193a1d2-7c4e-7b7e-9a51-3c1f0b7d2e10",
  eventType: "ShipmentPosted",
  revision: 42,
  correlationId: "SO-100234",
  sourceSystem: "wms-ams",
  sourceDocument: "shipment:SH-88121/1",
  businessTime: "2026-12-06T02:14:02.000Z",
  effect: -4,
  status: "acked",
  targetDocument: "4900000123/2026",
  attempts: 1,
  chargedFailures: 0,
  latencyMs: 1180,
  lastCallMs: 41,
  lastError: null,
  errorClass: null,
  firstSeen: "2026-12-06T02:14:03.100Z",
  updatedAt: "2026-12-06T02:14:03.180Z",
  ackedAt: "2026-12-06T02:14:03.180Z",
  deadAt: null,
  replays: 0,
  nextAttemptAt: null,
};

export const deadLetterExample: PostingRow = {
  ...postingExample,
  status: "dead",
  targetDocument: null,
  chargedFailures: 1,
  latencyMs: null,
  lastError: "400 M7/021 Deficit of SL Unrestricted-use 4 EA : 85123A 1010 0001",
  errorClass: "rejected",
  ackedAt: null,
  deadAt: "2026-12-06T02:14:03.180Z",
};

const outageFigures = {
  acked: 1204,
  pending: {
    count: 521,
    inFlight: 12,
    queued: 509,
    queuedSampledAt: "2026-12-06T02:31:00.500Z",
    oldestSince: "2026-12-06T02:29:41.020Z",
    oldestAgeMs: 80_000,
  },
  retrying: {
    count: 88,
    oldestSince: "2026-12-06T02:29:40.310Z",
    oldestAgeMs: 80_690,
    nextAttemptAt: "2026-12-06T02:31:02.000Z",
  },
  dead: 1,
  skipped: 37,
};

export const summaryExample: PostingsSummary = {
  at: "2026-12-06T02:31:01.000Z",
  targets: [
    {
      target: "sap",
      breaker: { state: "open", since: "2026-12-06T02:30:59.000Z", nextTrialAt: "2026-12-06T02:31:02.000Z" },
      ...outageFigures,
      regions: [{ region: "eu", ...outageFigures }],
    },
  ],
};
