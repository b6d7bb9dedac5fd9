/**
 * Sync-latency SLO (infra/sync-metrics.ts): of the events that reached a stage since the last poll,
 * at least `objective` must have done so within `seconds` of their business time. Read from the
 * histogram `stockline_sync_latency_seconds` of a registry (in-process: the parts that observe it).
 * A poll with fewer than `minSamples` new events keeps the last verdict; one with none clears it.
 */
import type { Registry } from "prom-client";
import { RUNBOOK, type Signal } from "./alert-model.ts";
import type { ConditionSource } from "./condition-sources.ts";

export interface SloOptions {
  /** Latency bound in seconds (compared with the histogram's largest bucket at or below it). */
  readonly seconds: number;
  /** Share of events within the bound (0..1). */
  readonly objective: number;
  /** Stages held to it (default all). */
  readonly stages?: readonly string[];
  readonly minSamples?: number;
}

export const SYNC_LATENCY_METRIC = "stockline_sync_latency_seconds";

interface Cumulative {
  readonly count: number;
  readonly within: number;
}

/** Per `stage/region`: events observed and those within `seconds`, cumulative. */
export const readSyncLatency = async (
  registry: Registry,
  seconds: number,
): Promise<Map<string, Cumulative & { stage: string; region: string }>> => {
  const metric = registry.getSingleMetric(SYNC_LATENCY_METRIC);
  const out = new Map<string, { stage: string; region: string; count: number; within: number; le: number }>();
  if (!metric) return out;
  const { values } = await metric.get();
  for (const v of values) {
    const stage = String(v.labels.stage ?? "");
    const region = String(v.labels.region ?? "");
    const key = `${stage}/${region}`;
    const e = out.get(key) ?? { stage, region, count: 0, within: 0, le: -1 };
    const name = (v as { metricName?: string }).metricName ?? "";
    if (name.endsWith("_count")) e.count = v.value;
    else if (name.endsWith("_bucket")) {
      const le = v.labels.le === "+Inf" ? Number.POSITIVE_INFINITY : Number(v.labels.le);
      if (le <= seconds && le > e.le) {
        e.le = le;
        e.within = v.value;
      }
    }
    out.set(key, e);
  }
  return out;
};

export const sloSource = (registry: Registry, opts: SloOptions): ConditionSource => {
  const previous = new Map<string, Cumulative>();
  const breached = new Map<string, Signal>();
  const minSamples = opts.minSamples ?? 20;
  return {
    name: "sync-latency SLO",
    kinds: ["sloBreach"],
    async poll() {
      for (const [key, now] of await readSyncLatency(registry, opts.seconds)) {
        if (opts.stages && !opts.stages.includes(now.stage)) continue;
        const before = previous.get(key) ?? { count: 0, within: 0 };
        const n = now.count - before.count;
        if (n >= minSamples) {
          previous.set(key, now);
          const share = (now.within - before.within) / n;
          if (share < opts.objective) breached.set(key, sloSignal(now.stage, now.region, share, n, opts));
          else breached.delete(key);
        } else if (n === 0) breached.delete(key);
      }
      return [...breached.values()];
    },
  };
};

const sloSignal = (stage: string, region: string, share: number, n: number, o: SloOptions): Signal => ({
  kind: "sloBreach",
  object: `${stage}/${region}`,
  severity: "warning",
  title: `Sync latency SLO breached in ${region} (${stage}): ${(share * 100).toFixed(1)}% within ${o.seconds} s`,
  summary: `Of ${n} events ${stage} in region ${region} since the last check, ${(share * 100).toFixed(1)}% took at most ${o.seconds} s from their business time (objective ${(o.objective * 100).toFixed(1)}%): shops and ERPs see these movements late.`,
  action: `Find the stage that waits: stockline_consumer_pending (intake), stockline_node_relay_lag_events (relay), stockline_projection_consumer_pending (projector), stockline postings (posting backlog). A late fact (a count for yesterday) also shows as latency.`,
  runbook: RUNBOOK.figuresDisagree,
  context: { region, details: { stage, share: Number(share.toFixed(4)), events: n, objective: o.objective } },
  count: 1,
});
