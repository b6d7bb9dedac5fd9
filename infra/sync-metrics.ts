/**
 * Sync latency (issue 5, "Observability"): one histogram, `stockline_sync_latency_seconds`, with a
 * `stage` label, each stage measured from the event's business time (when the source says it
 * happened), so the stages of one event line up: `applied` (committed by the regional node),
 * `projected` (in the regional ATP read model), `posted` (acknowledged by the target ERP).
 *
 * Business time comes from the source; a late fact (a count for yesterday) shows as a long latency,
 * which is what the operator wants to see. A business time in the future (clock skew) counts as 0.
 */
import type { Histogram } from "prom-client";
import { histogram } from "./metrics.ts";

export type SyncStage = "applied" | "projected" | "posted";

export const syncLatency = histogram(
  "stockline_sync_latency_seconds",
  "From an event's business time to a stage: applied (committed by the node), projected (in the regional ATP read model), posted (acknowledged by the target)",
  ["stage", "region"],
  [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 86_400],
);

// Label children cached: `observe(labels, v)` hashes the labels on every call; the hot path is per event.
const children = new Map<string, ReturnType<Histogram<string>["labels"]>>();
const child = (stage: SyncStage, region: string) => {
  const key = `${stage}\u0000${region}`;
  let c = children.get(key);
  if (!c) {
    c = syncLatency.labels({ stage, region });
    children.set(key, c);
  }
  return c;
};

/** Observes `now - businessTime` (ISO text or epoch ms); ignores a missing or unreadable time. */
export const observeSyncLatency = (
  stage: SyncStage,
  region: string,
  businessTime: string | number | undefined,
  now = Date.now(),
): void => {
  const t = typeof businessTime === "string" ? Date.parse(businessTime) : businessTime;
  if (t === undefined || Number.isNaN(t)) return;
  child(stage, region).observe(Math.max(0, now - t) / 1000);
};

/** Observes a latency already measured from business time, in seconds. */
export const observeSyncSeconds = (stage: SyncStage, region: string, seconds: number): void => {
  if (Number.isFinite(seconds)) child(stage, region).observe(Math.max(0, seconds));
};

/** Observes each stored event's business time (`data.businessTime`, the canonical event's). */
export const observeEventsSyncLatency = (
  stage: SyncStage,
  region: string,
  events: ReadonlyArray<{ readonly data: unknown }>,
  now = Date.now(),
): void => {
  for (const e of events)
    observeSyncLatency(stage, region, (e.data as { businessTime?: string }).businessTime, now);
};
