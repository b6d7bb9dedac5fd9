/**
 * The live topics of the dashboards that the API part feeds besides `atp` (api-server.ts): sampled
 * every 2 s while someone follows them, pushed only when the answer changed.
 * - `status` (operations): pipeline health per region (pipeline-health.ts).
 * - `dead-letters` (operations, warehouse): per region, the dead letters in `INV_DLQ_<R>`, open and resolved.
 * - `postings` (operations): the postings summary per target (backlog, retrying, dead, breaker).
 */
import type { CommandDeadLetterDesk } from "../dead-letters/command-dead-letters.ts";
import { type LiveTopics, sampledTopic } from "./live-routes.ts";
import type { PipelineHealthReader } from "./pipeline-health.ts";

export const LIVE_SAMPLE_MS = 2_000;

export const dashboardLiveTopics = (deps: {
  readonly health: PipelineHealthReader;
  readonly desks: ReadonlyMap<string, CommandDeadLetterDesk>;
  readonly postingsSummary: () => unknown | Promise<unknown>;
}): LiveTopics => ({
  status: sampledTopic({
    roles: ["operations"],
    description: "pipeline health per region, as `GET /v1/pipeline/health` (every 2 s: ages move)",
    everyMs: LIVE_SAMPLE_MS,
    read: () => deps.health.read(),
  }),
  "dead-letters": sampledTopic({
    roles: ["operations", "warehouse"],
    description:
      "dead letters per region `{ regions: [{ region, messages, open, resolved }] }` (when they change)",
    everyMs: LIVE_SAMPLE_MS,
    read: async () => ({
      regions: await Promise.all(
        [...deps.desks].map(async ([region, desk]) => ({ region, ...(await desk.depth()) })),
      ),
    }),
  }),
  postings: sampledTopic({
    roles: ["operations"],
    description: "the postings summary per target, as `GET /v1/postings/summary` (when it changes)",
    everyMs: LIVE_SAMPLE_MS,
    read: async () => deps.postingsSummary(),
  }),
});
