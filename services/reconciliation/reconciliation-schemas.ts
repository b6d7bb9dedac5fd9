/**
 * OpenAPI of the reconciliation routes (documentation and response serialisation; bodies are
 * decoded with io-ts in the handlers, see http-server.ts). Response schemas name every field they
 * return: Fastify serialises only what a schema declares.
 */
import { FINDING_STATUSES } from "../../projections/finding-lifecycle.ts";

const free = { type: "object", additionalProperties: true } as const;
const nullableString = (description: string) => ({ type: "string", nullable: true, description }) as const;

/** Every error body: a snake_case code and a sentence (400s add the fields at fault). */
export const errorSchema = {
  type: "object",
  additionalProperties: true,
  properties: {
    error: { type: "string", description: "snake_case code" },
    message: { type: "string", description: "what went wrong, for a person" },
    errors: {
      type: "array",
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
  required: ["error", "message"],
} as const;

const statusCounts = {
  type: "object",
  properties: Object.fromEntries(FINDING_STATUSES.map((s) => [s, { type: "integer" }])),
} as const;

const EXAMPLE_FINDING = {
  id: "rec-20260105101500-a1b2-001",
  runId: "rec-20260105101500-a1b2",
  target: "sap",
  region: "eu",
  location: "DC1",
  sku: "R-1",
  class: "unexplained",
  quantity: 5,
  actual: 25,
  canonical: 20,
  expectedFromAcks: 20,
  expectedAll: 20,
  explanation:
    "sap holds 25, +5 against the 20 it acknowledged or reported itself; no event explains it (changed outside the sync)",
  events: [],
  proposal: {
    kind: "adjustStock",
    quantity: 5,
    note: "adopt sap's change: adjust the canonical position by +5",
  },
  status: "dismissed",
  firstSeenAt: "2026-01-05T10:15:00.000Z",
  lastSeenAt: "2026-01-05T10:45:00.000Z",
  lastRunId: "rec-20260105104500-c3d4",
  timesSeen: 3,
  resolution: {
    dismissal: {
      by: "ops-carl",
      roles: ["operations"],
      at: "2026-01-05T10:50:00.000Z",
      reason: "consignment stock booked in SAP only",
    },
  },
  resolvedAt: "2026-01-05T10:50:00.000Z",
  closedAt: null,
  closedByRunId: null,
  closeReason: null,
  previousId: null,
};

export const findingSchema = {
  type: "object",
  description: "one drift of one target at one position, kept across runs",
  properties: {
    id: { type: "string" },
    runId: { type: "string", description: "the run that first saw it" },
    target: { type: "string" },
    region: { type: "string" },
    location: { type: "string" },
    sku: { type: "string" },
    class: { type: "string", enum: ["inFlight", "missingPosting", "unexplained"] },
    quantity: { type: "integer", description: "latest figure of the difference" },
    actual: { type: "integer", description: "what the target held" },
    canonical: { type: "integer" },
    expectedFromAcks: { type: "integer" },
    expectedAll: { type: "integer" },
    explanation: { type: "string" },
    events: { type: "array", items: free },
    proposal: free,
    status: {
      type: "string",
      enum: FINDING_STATUSES,
      description:
        "open (current drift), waiting (in flight), awaitingSecondApproval, approved, dismissed, cleared (in flight, acknowledged since), resolved (drift gone)",
    },
    firstSeenAt: { type: "string", format: "date-time" },
    lastSeenAt: { type: "string", format: "date-time" },
    lastRunId: { type: "string" },
    timesSeen: { type: "integer" },
    resolution: { description: "approvals and a dismissal ({ by, roles, at, reason }), or null" },
    resolvedAt: nullableString("when it was approved or dismissed"),
    closedAt: nullableString("when a run no longer saw it"),
    closedByRunId: nullableString("the run that no longer saw it"),
    closeReason: nullableString("why it was closed"),
    previousId: nullableString("the dismissed finding this one follows (same drift, other figures)"),
  },
  examples: [EXAMPLE_FINDING],
} as const;

const runSchema = {
  type: "object",
  properties: {
    id: { type: "string" },
    trigger: { type: "string" },
    region: { type: "string" },
    startedAt: { type: "string" },
    snapshotTime: { type: "string" },
    finishedAt: nullableString("when it ended"),
    status: { type: "string", enum: ["running", "done", "failed"] },
    positionsChecked: { type: "integer" },
    positionsInSync: { type: "integer" },
    findings: { type: "integer", description: "findings the run saw" },
    summary: {
      type: "object",
      nullable: true,
      description:
        "what the run did to the findings; byStatus: findings it saw or closed, by status after it",
      properties: {
        seen: { type: "integer" },
        new: { type: "integer" },
        cleared: { type: "integer" },
        resolved: { type: "integer" },
        byStatus: statusCounts,
      },
    },
    error: nullableString("why it failed"),
  },
} as const;

const findingList = { type: "array", items: findingSchema } as const;
const idParams = (what: string) =>
  ({ type: "object", properties: { id: { type: "string", description: what } }, required: ["id"] }) as const;
const security = [{ apiKey: [] }];
const tags = ["reconciliation"];

export const RUN_SCHEMA = {
  tags,
  security,
  summary: "Run a reconciliation now",
  description:
    "Reads each ERP's balances, compares them with the event ledger and the postings, and applies the run to the kept findings: new, seen again (one finding per drift, not one per run), cleared (in flight, acknowledged since) or resolved (drift gone).",
  body: {
    type: "object",
    properties: {
      locations: { type: "array", items: { type: "string" }, description: "location globs" },
      targets: { type: "array", items: { type: "string" }, description: "target ids" },
    },
    examples: [{ locations: ["DC1"], targets: ["sap"] }],
  },
  response: {
    201: {
      type: "object",
      properties: {
        run: runSchema,
        findings: { ...findingList, description: "findings the run saw" },
        closed: { ...findingList, description: "findings the run no longer saw" },
        report: { type: "string" },
      },
    },
    400: errorSchema,
    502: {
      ...errorSchema,
      description: "a target's balances could not be read (the run is recorded as failed)",
    },
  },
} as const;

export const RUNS_SCHEMA = {
  tags,
  security,
  summary: "Reconciliation runs, newest first",
  description: "Each run with its summary (findings new, cleared, resolved, and counts by status).",
  querystring: { type: "object", properties: { limit: { type: "integer", minimum: 1, default: 50 } } },
  response: {
    200: { type: "object", properties: { runs: { type: "array", items: runSchema } } },
    400: errorSchema,
  },
} as const;

export const RUN_DETAIL_SCHEMA = {
  tags,
  security,
  summary: "A run and its findings",
  description: "The findings the run saw and those it closed, as they are now.",
  params: idParams("run id"),
  response: {
    200: { type: "object", properties: { run: runSchema, findings: findingList, closed: findingList } },
    404: errorSchema,
  },
} as const;

export const RUN_FINDINGS_SCHEMA = {
  ...RUN_DETAIL_SCHEMA,
  summary: "A run's findings",
  response: {
    200: { type: "object", properties: { findings: findingList, closed: findingList } },
    404: errorSchema,
  },
} as const;

export const RUN_REPORT_SCHEMA = {
  tags,
  security,
  summary: "A run's report as text",
  description: "The report for people: summary, then per target and location each position.",
  params: idParams("run id"),
  response: { 200: { type: "string" }, 404: errorSchema },
} as const;

export const FINDINGS_SCHEMA = {
  tags,
  security,
  summary: "Findings, optionally of one status",
  description:
    "Kept findings (oldest first) and how many there are in each status. `open` is current drift that needs a decision; `waiting` is in flight and clears by itself.",
  querystring: {
    type: "object",
    properties: {
      status: { type: "string", enum: FINDING_STATUSES },
      limit: { type: "integer", minimum: 1 },
    },
  },
  response: {
    200: {
      type: "object",
      properties: {
        findings: findingList,
        counts: { ...statusCounts, description: "all findings by status" },
      },
    },
    400: errorSchema,
  },
} as const;

export const FINDING_SCHEMA = {
  tags,
  security,
  summary: "One finding",
  description:
    "A finding with its lifecycle: first and last seen, times seen, and how it was decided or closed.",
  params: idParams("finding id"),
  response: { 200: { type: "object", properties: { finding: findingSchema } }, 404: errorSchema },
} as const;

export const APPROVE_SCHEMA = {
  tags,
  security,
  summary: "Approve a finding's proposal (adjustStock command or replay of postings)",
  description:
    "An unexplained finding becomes a compensating adjustStock booked as the ERP's own movement; a missing posting is replayed. An adjustment above secondApprovalAbove units answers 202 and waits for a second approval by another person of another role. The approver is the API key's name.",
  params: idParams("finding id"),
  body: {
    type: "object",
    properties: { by: { type: "string", description: "only where the API runs without keys" } },
  },
  response: {
    200: {
      type: "object",
      properties: { finding: findingSchema, command: free, outcome: { description: "the node's answer" } },
    },
    202: {
      type: "object",
      properties: {
        finding: findingSchema,
        awaitingSecondApproval: { type: "boolean" },
        message: { type: "string" },
      },
    },
    400: errorSchema,
    404: errorSchema,
    409: errorSchema,
  },
} as const;

export const DISMISS_SCHEMA = {
  tags,
  security,
  summary: "Dismiss a finding, with a reason",
  description:
    "Records who (the API key's name and roles), when and why. A dismissed finding covers the same drift while the figures stay the same; a later run that sees other figures opens a new finding (previousId names the dismissed one).",
  params: idParams("finding id"),
  body: {
    type: "object",
    required: ["reason"],
    properties: {
      reason: { type: "string", minLength: 1, maxLength: 4096 },
      by: { type: "string", description: "only where the API runs without keys" },
    },
    examples: [{ reason: "consignment stock booked in SAP only" }],
  },
  response: {
    200: { type: "object", properties: { finding: findingSchema } },
    400: errorSchema,
    404: errorSchema,
    409: errorSchema,
  },
} as const;
