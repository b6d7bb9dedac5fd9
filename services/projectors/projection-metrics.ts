/** Metrics every projector reports, labelled by projector (`regional`, `global`) and region. */
import { counter, gauge, histogram } from "../../infra/metrics.ts";

export const projectionMetrics = {
  events: counter("stockline_projection_events_total", "Events seen by a projector, by result", [
    "projector",
    "region",
    "result",
  ]),
  latency: histogram(
    "stockline_projection_latency_seconds",
    "From an event's recorded time to the projector having stored its effect",
    ["projector", "region"],
    [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
  ),
  pending: gauge(
    "stockline_projection_consumer_pending",
    "Messages the projector's consumer has not delivered",
    ["projector", "region"],
  ),
};

export type ProjectionLabels = { readonly projector: string; readonly region: string };

/** Observes, once a batch's effects are stored, the latency of each applied event (recorded times in ms). */
export const observeProjectionLatency = (
  labels: ProjectionLabels,
  recordedTimes: readonly number[],
): void => {
  const now = Date.now();
  for (const t of recordedTimes) projectionMetrics.latency.observe(labels, Math.max(0, now - t) / 1000);
};
