/** `GET /v1/pipeline/health` (services/api/pipeline-health.ts), as the page reads it. */
import type { ConsumerLag, RegionHealth } from "../../../../services/api/pipeline-health.ts";

export type { ConsumerLag, PipelineHealth, RegionHealth } from "../../../../services/api/pipeline-health.ts";

export const pendingOf = (r: RegionHealth, stage: ConsumerLag["stage"]): number =>
  r.consumers.filter((c) => c.stage === stage).reduce((n, c) => n + c.pending + c.ackPending, 0);
