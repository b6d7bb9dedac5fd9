/**
 * `GET /v1/reconciliation/drift-history`: drift over time per target ERP (drift-history.ts), for the
 * finance and control-tower dashboards, filtered by target and location. Roles: finance and operations
 * (the reconciliation's own), and commerce (the control tower's oversell and drift trends).
 */
import type { FastifyInstance } from "fastify";
import * as t from "io-ts";
import { LocationIdC, SystemIdC } from "../../domain/scalars.ts";
import { errorResponses } from "../../infra/http/http-errors.ts";
import { decodeOr400 } from "../../infra/http/http-server.ts";
import type { DriftHistory } from "./drift-history.ts";

const MAX_RUNS = 1_000;
const LimitC = new t.Type<number, string, unknown>(
  `an integer from 1 to ${MAX_RUNS}`,
  (u): u is number => typeof u === "number",
  (u, c) => {
    const n = typeof u === "string" && /^[0-9]{1,4}$/.test(u) ? Number(u) : Number.NaN;
    return n >= 1 && n <= MAX_RUNS ? t.success(n) : t.failure(u, c);
  },
  String,
);
export const DriftQueryC = t.partial({ target: SystemIdC, location: LocationIdC, limit: LimitC });

const int = { type: "integer" } as const;
const str = { type: "string" } as const;
const targetDrift = {
  type: "object",
  properties: {
    target: str,
    findings: int,
    driftUnits: {
      type: "integer",
      description: "sum of |quantity| of unexplained and missing-posting findings",
    },
    inFlightUnits: { type: "integer", description: "sum of |quantity| of in-flight findings" },
    unexplained: int,
    missingPosting: int,
    inFlight: int,
  },
} as const;

export const DRIFT_HISTORY_SCHEMA = {
  summary:
    "Drift over time: per finished reconciliation run (oldest first), the findings it saw per target ERP",
  tags: ["reconciliation"],
  security: [{ apiKey: [] }],
  querystring: {
    type: "object",
    properties: {
      target: { type: "string", description: "only this target ERP" },
      location: { type: "string", description: "only findings at this location" },
      limit: { type: "integer", minimum: 1, maximum: MAX_RUNS, description: "the latest runs (default 50)" },
    },
  },
  response: {
    200: {
      type: "object",
      properties: {
        runs: {
          type: "array",
          items: {
            type: "object",
            properties: {
              runId: str,
              at: { type: "string", description: "the run's snapshot time" },
              region: str,
              positionsChecked: int,
              positionsInSync: int,
              driftUnits: int,
              targets: { type: "array", items: targetDrift },
            },
          },
        },
        targets: { type: "array", items: str, description: "targets that ever had a finding" },
        locations: { type: "array", items: str, description: "locations that ever had a finding" },
      },
      examples: [
        {
          runs: [
            {
              runId: "run-20260501-1000",
              at: "2026-05-01T10:00:00.000Z",
              region: "eu",
              positionsChecked: 40,
              positionsInSync: 38,
              driftUnits: 7,
              targets: [
                {
                  target: "sap-eu",
                  findings: 2,
                  driftUnits: 7,
                  inFlightUnits: 0,
                  unexplained: 1,
                  missingPosting: 1,
                  inFlight: 0,
                },
              ],
            },
          ],
          targets: ["sap-eu"],
          locations: ["DC1"],
        },
      ],
    },
    ...errorResponses(400, 401, 403),
  },
} as const;

export const registerDriftHistoryRoutes = (app: FastifyInstance, deps: { history: DriftHistory }): void => {
  app.get(
    "/v1/reconciliation/drift-history",
    { config: { roles: ["finance", "operations", "commerce"] }, schema: DRIFT_HISTORY_SCHEMA },
    async (req, reply) => {
      const q = decodeOr400(DriftQueryC, req.query ?? {}, reply);
      if (!q) return reply;
      return deps.history.history(q);
    },
  );
};
