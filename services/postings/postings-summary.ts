/**
 * The postings summary an operator reads during an ERP outage, per target and per region: acked,
 * pending (waiting for a first attempt or in flight, plus the events the worker has not read from
 * JetStream yet), retrying (an attempt failed, the next is scheduled), dead, skipped; and the
 * target's circuit breaker. One answer for the API (`GET /v1/postings/summary`), the CLI
 * (`stockline postings`) and the status view of `make run`.
 *
 * It reads the postings ledger only: the workers write their breaker state and their backlog
 * (`num_pending` of their consumer) into it, so a process without workers (the API on its own)
 * answers the same. The backlog is a sample (`queuedSampledAt`), counting every event of the
 * region not yet read, some of which the routing may not send to this target.
 */
import type { BreakerState, PostingsLedger, StatusFigure } from "./postings-ledger.ts";

export interface PendingFigures {
  /** `inFlight + queued`. */
  readonly count: number;
  /** Read by the worker, not attempted yet or being posted. */
  readonly inFlight: number;
  /** Not yet read by the worker from `INV_EVT_<R>` (as last sampled). */
  readonly queued: number;
  readonly queuedSampledAt: string | null;
  /** The oldest waiting: first seen by the worker, or stored in the stream when not yet read. */
  readonly oldestSince: string | null;
  readonly oldestAgeMs: number | null;
}

export interface RetryingFigures {
  readonly count: number;
  /** When the oldest retrying posting was first seen by the worker. */
  readonly oldestSince: string | null;
  readonly oldestAgeMs: number | null;
  /** The next attempt due (while the breaker is open: its next trial call). */
  readonly nextAttemptAt: string | null;
}

export interface PostingFigures {
  readonly acked: number;
  readonly pending: PendingFigures;
  readonly retrying: RetryingFigures;
  readonly dead: number;
  /** Routed, but nothing to post (a count that found the book right, an echo). */
  readonly skipped: number;
}

export interface BreakerFigures {
  /** `unknown`: no worker of this target has written its breaker yet. */
  readonly state: BreakerState | "unknown";
  readonly since: string | null;
  readonly nextTrialAt: string | null;
}

export interface TargetSummary extends PostingFigures {
  readonly target: string;
  readonly breaker: BreakerFigures;
  readonly regions: readonly (PostingFigures & { readonly region: string })[];
}

export interface PostingsSummary {
  readonly at: string;
  readonly targets: readonly TargetSummary[];
}

const minIso = (xs: readonly (string | null | undefined)[]): string | null =>
  xs.reduce<string | null>((m, x) => (x && (m === null || x < m) ? x : m), null);
const ageMs = (since: string | null, now: number): number | null =>
  since === null ? null : Math.max(0, now - Date.parse(since));

interface Accumulator {
  acked: number;
  inFlight: number;
  inFlightOldest: string | null;
  queued: number;
  queuedOldest: string | null;
  queuedSampledAt: string | null;
  retrying: number;
  retryingOldest: string | null;
  nextAttemptAt: string | null;
  dead: number;
  skipped: number;
}

const empty = (): Accumulator => ({
  acked: 0,
  inFlight: 0,
  inFlightOldest: null,
  queued: 0,
  queuedOldest: null,
  queuedSampledAt: null,
  retrying: 0,
  retryingOldest: null,
  nextAttemptAt: null,
  dead: 0,
  skipped: 0,
});

const addFigure = (a: Accumulator, f: StatusFigure): void => {
  if (f.status === "acked") a.acked += f.count;
  else if (f.status === "dead") a.dead += f.count;
  else if (f.status === "skipped") a.skipped += f.count;
  else if (f.status === "pending") {
    a.inFlight += f.count;
    a.inFlightOldest = minIso([a.inFlightOldest, f.oldestFirstSeen]);
  } else {
    a.retrying += f.count;
    a.retryingOldest = minIso([a.retryingOldest, f.oldestFirstSeen]);
    a.nextAttemptAt = minIso([a.nextAttemptAt, f.nextAttemptAt]);
  }
};

const merge = (into: Accumulator, a: Accumulator): void => {
  const f = (k: keyof Accumulator) => minIso([into[k] as string | null, a[k] as string | null]);
  into.inFlightOldest = f("inFlightOldest");
  into.queuedOldest = f("queuedOldest");
  into.queuedSampledAt = f("queuedSampledAt");
  into.retryingOldest = f("retryingOldest");
  into.nextAttemptAt = f("nextAttemptAt");
  for (const k of ["acked", "inFlight", "queued", "retrying", "dead", "skipped"] as const) into[k] += a[k];
};

const figures = (a: Accumulator, breaker: BreakerFigures, now: number): PostingFigures => {
  const pendingOldest = minIso([a.inFlightOldest, a.queuedOldest]);
  // An open breaker holds every call until its trial: no attempt is due before.
  const held = breaker.state === "open" && breaker.nextTrialAt !== null;
  const nextAttemptAt =
    a.retrying === 0
      ? null
      : held && (a.nextAttemptAt === null || a.nextAttemptAt < (breaker.nextTrialAt as string))
        ? breaker.nextTrialAt
        : a.nextAttemptAt;
  return {
    acked: a.acked,
    pending: {
      count: a.inFlight + a.queued,
      inFlight: a.inFlight,
      queued: a.queued,
      queuedSampledAt: a.queuedSampledAt,
      oldestSince: pendingOldest,
      oldestAgeMs: ageMs(pendingOldest, now),
    },
    retrying: {
      count: a.retrying,
      oldestSince: a.retryingOldest,
      oldestAgeMs: ageMs(a.retryingOldest, now),
      nextAttemptAt,
    },
    dead: a.dead,
    skipped: a.skipped,
  };
};

/**
 * The summary as of `now`. `targets` names targets to show even before anything was posted to
 * them; `breakers` gives live breaker states (in the workers' process) that win over the ledger's.
 */
export const summarizePostings = (
  ledger: PostingsLedger,
  opts: {
    now?: Date;
    targets?: readonly string[];
    breakers?: ReadonlyMap<string, BreakerFigures>;
  } = {},
): PostingsSummary => {
  const now = (opts.now ?? new Date()).getTime();
  const byTarget = new Map<string, Map<string, Accumulator>>();
  const regionOf = (target: string, region: string): Accumulator => {
    const regions = byTarget.get(target) ?? new Map<string, Accumulator>();
    byTarget.set(target, regions);
    const a = regions.get(region) ?? empty();
    regions.set(region, a);
    return a;
  };
  for (const t of opts.targets ?? []) if (!byTarget.has(t)) byTarget.set(t, new Map());
  for (const f of ledger.statusFigures()) addFigure(regionOf(f.target, f.region), f);
  for (const b of ledger.backlogs()) {
    const a = regionOf(b.target, b.region);
    a.queued += b.queued;
    a.queuedOldest = minIso([a.queuedOldest, b.queued > 0 ? b.oldestQueuedAt : null]);
    a.queuedSampledAt = minIso([a.queuedSampledAt, b.sampledAt]);
  }
  const recorded = new Map(ledger.breakers().map((b) => [b.target, b]));
  for (const t of recorded.keys()) if (!byTarget.has(t)) byTarget.set(t, new Map());
  const targets = [...byTarget.keys()].sort().map((target): TargetSummary => {
    const r = recorded.get(target);
    const breaker: BreakerFigures = opts.breakers?.get(target) ??
      (r ? { state: r.state, since: r.since, nextTrialAt: r.nextTrialAt } : undefined) ?? {
        state: "unknown",
        since: null,
        nextTrialAt: null,
      };
    const total = empty();
    const regions = [...(byTarget.get(target) ?? new Map<string, Accumulator>())]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([region, a]) => {
        merge(total, a);
        return { region, ...figures(a, breaker, now) };
      });
    return { target, breaker, ...figures(total, breaker, now), regions };
  });
  return { at: new Date(now).toISOString(), targets };
};
