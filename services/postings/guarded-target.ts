/**
 * A posting target behind its circuit breaker (opossum): one per target, shared by the workers of
 * all regions. It keeps the breaker's state, since when, and when an open breaker lets its next
 * trial call through (for the postings summary), and publishes the state as a gauge.
 */
import CircuitBreaker from "opossum";
import type { Logger } from "pino";
import { gauge } from "../../infra/metrics.ts";
import type { BreakerState } from "./postings-ledger.ts";
import type { ItemResult, PostingItem, TargetConnector } from "./target-connector.ts";

const breakerState = gauge(
  "stockline_circuit_breaker_state",
  "Circuit breaker per target: 0 closed, 1 half-open, 2 open",
  ["target"],
);

export interface BreakerOptions {
  /** Failure percentage over the rolling window that opens the breaker (default 50). */
  readonly errorThresholdPercentage?: number;
  /** Calls in the window before the breaker may open (default 3). */
  readonly volumeThreshold?: number;
  /** How long the breaker stays open before a trial call (default 5 s). */
  readonly resetTimeoutMs?: number;
  readonly rollingCountTimeoutMs?: number;
}

/** A target behind its circuit breaker; share one per target between the workers of all regions. */
export interface GuardedTarget {
  readonly connector: TargetConnector;
  readonly breaker: CircuitBreaker<[readonly PostingItem[]], ItemResult[]>;
  state(): BreakerState;
  /** The state, since when, and (open) when the next trial call goes out. */
  status(): { state: BreakerState; since: string; nextTrialAt: string | null };
  shutdown(): void;
}

export const guardTarget = (
  connector: TargetConnector,
  opts: BreakerOptions = {},
  logger?: Logger,
): GuardedTarget => {
  const resetTimeout = opts.resetTimeoutMs ?? 5_000;
  const breaker = new CircuitBreaker((items: readonly PostingItem[]) => connector.post(items), {
    timeout: false,
    errorThresholdPercentage: opts.errorThresholdPercentage ?? 50,
    volumeThreshold: opts.volumeThreshold ?? 3,
    resetTimeout,
    rollingCountTimeout: opts.rollingCountTimeoutMs ?? 10_000,
    name: connector.id,
  });
  const state = (): BreakerState => (breaker.opened ? "open" : breaker.halfOpen ? "halfOpen" : "closed");
  let since = new Date().toISOString();
  let nextTrialAt: string | null = null;
  const publish = () =>
    breakerState.set({ target: connector.id }, breaker.opened ? 2 : breaker.halfOpen ? 1 : 0);
  const onChange = (ev: string) => () => {
    const now = Date.now();
    since = new Date(now).toISOString();
    // opossum lets a trial call through `resetTimeout` after it opened.
    nextTrialAt = ev === "open" ? new Date(now + resetTimeout).toISOString() : null;
    publish();
    logger?.warn({ target: connector.id, breaker: ev }, `circuit breaker ${ev}`);
  };
  // Registered before any worker's listener, so that they read the new state.
  breaker.on("open", onChange("open"));
  breaker.on("halfOpen", onChange("halfOpen"));
  breaker.on("close", onChange("close"));
  publish();
  return {
    connector,
    breaker,
    state,
    status: () => ({ state: state(), since, nextTrialAt }),
    shutdown: () => breaker.shutdown(),
  };
};
