/**
 * The notifier (issue 12): polls the condition sources every `alerts.pollMs`, runs the pure engine
 * (grouping, dedupe, resolution: alert-engine.ts) and each receiver's outbox (severity, rate limit:
 * receiver-outbox.ts), and delivers over HTTP with retries (p-retry: network errors, 5xx, 408 and 429
 * are retried with backoff; another 4xx is not, the receiver refused the body).
 *
 * `startAlerting(config, deps)` runs it in any process that has what the sources read: give it the
 * dead-letter desks, the postings ledger, the reconciliation store, a freshness view (GlobalProjector or
 * GlobalAtpReader) and a metrics registry; a source is only built for what is given.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import pRetry, { AbortError } from "p-retry";
import type { Logger } from "pino";
import type { Registry } from "prom-client";
import { ALERT_DEFAULTS, type AlertReceiver, type AlertsConfig } from "../../infra/config/alerts-config.ts";
import type { DistributorConfig } from "../../infra/config/distributor-config.ts";
import type { CommandDeadLetterDesk } from "../dead-letters/command-dead-letters.ts";
import type { PostingsLedger } from "../postings/postings-ledger.ts";
import type { ReconciliationStore } from "../reconciliation/reconciliation-store.ts";
import { type ChannelContext, slackBody, webhookBody } from "./alert-channels.ts";
import {
  type AlertState,
  type EngineState,
  emptyEngineState,
  observe,
  openAlerts,
  tick,
} from "./alert-engine.ts";
import type { AlertNotification } from "./alert-model.ts";
import {
  breakerSource,
  type ConditionSource,
  commandDeadLetterSource,
  driftSource,
  type FreshnessView,
  postingDeadLetterSource,
  staleRegionSource,
} from "./condition-sources.ts";
import { drain, emptyOutbox, enqueue, type OutboxState, type ReceiverPolicy } from "./receiver-outbox.ts";
import { sloSource } from "./slo-source.ts";

export interface AlertingDeps {
  readonly logger: Logger;
  readonly desks?: Iterable<CommandDeadLetterDesk>;
  readonly ledger?: PostingsLedger;
  readonly reconciliation?: ReconciliationStore;
  readonly freshness?: FreshnessView;
  /** The registry holding `stockline_sync_latency_seconds` (for the SLO; needs `alerts.slo`). */
  readonly registry?: Registry;
  /** More sources (or instead of the above). */
  readonly sources?: readonly ConditionSource[];
  readonly env?: NodeJS.ProcessEnv;
  /** Relative `urlFile`s are read from here (default the working directory). */
  readonly baseDir?: string;
  readonly now?: () => number;
  /** Delivery retries (default 4, first after 500 ms, doubling). */
  readonly retry?: { readonly retries?: number; readonly minTimeoutMs?: number };
  /** Without a timer: the caller calls `pollOnce` (tests). */
  readonly manual?: boolean;
}

export interface Alerting {
  /** Reads every source once, notifies what is due, waits for the deliveries. */
  pollOnce(): Promise<void>;
  /** Alerts notified open. */
  open(): AlertState[];
  readonly sources: readonly string[];
  stop(): Promise<void>;
}

/** The receiver's URL from its variable or file; the error names the field. */
export const receiverUrl = (r: AlertReceiver, env: NodeJS.ProcessEnv, baseDir: string): string => {
  if (r.urlEnv !== undefined) {
    const v = env[r.urlEnv]?.trim();
    if (!v)
      throw new Error(
        `alerts receiver ${r.name}: urlEnv ${r.urlEnv} is not set (expected the receiver's URL)`,
      );
    return v;
  }
  if (r.urlFile !== undefined) {
    const file = path.resolve(baseDir, r.urlFile);
    try {
      return readFileSync(file, "utf8").trim();
    } catch (err) {
      throw new Error(
        `alerts receiver ${r.name}: urlFile ${file} cannot be read (${(err as Error).message})`,
      );
    }
  }
  throw new Error(`alerts receiver ${r.name}: expected urlEnv or urlFile`);
};

/** The sources for what the process has. */
export const alertSourcesOf = (d: DistributorConfig, deps: AlertingDeps): ConditionSource[] => {
  const out: ConditionSource[] = [];
  if (deps.desks) out.push(commandDeadLetterSource(deps.desks));
  if (deps.ledger) out.push(postingDeadLetterSource(deps.ledger), breakerSource(deps.ledger));
  if (deps.reconciliation) out.push(driftSource(deps.reconciliation));
  if (deps.freshness) {
    const byRegion = new Map<string, string[]>();
    for (const l of d.file.locations) byRegion.set(l.region, [...(byRegion.get(l.region) ?? []), l.id]);
    out.push(staleRegionSource(deps.freshness, (r) => byRegion.get(r) ?? []));
  }
  const slo = d.file.alerts?.slo;
  if (deps.registry && slo) out.push(sloSource(deps.registry, slo));
  out.push(...(deps.sources ?? []));
  return out;
};

interface Receiver {
  readonly spec: AlertReceiver;
  readonly url: string;
  readonly policy: ReceiverPolicy;
  outbox: OutboxState;
  delivering: Promise<void>;
}

const post = async (url: string, body: unknown, retry: AlertingDeps["retry"]): Promise<void> => {
  await pRetry(
    async () => {
      const res = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(10_000),
      });
      const text = await res.text().catch(() => "");
      if (res.ok) return;
      const msg = `receiver answered ${res.status}: ${text.slice(0, 200)}`;
      if (res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 429)
        throw new AbortError(msg);
      throw new Error(msg);
    },
    { retries: retry?.retries ?? 4, minTimeout: retry?.minTimeoutMs ?? 500, factor: 2 },
  );
};

export const startAlerting = (config: DistributorConfig, deps: AlertingDeps): Alerting => {
  const a: AlertsConfig = config.file.alerts ?? { receivers: [] };
  const log = deps.logger.child({ component: "alerting" });
  const now = deps.now ?? Date.now;
  const groupWindowMs = a.groupWindowMs ?? ALERT_DEFAULTS.groupWindowMs;
  const channel: ChannelContext = {
    distributor: config.id,
    runbookBaseUrl: a.runbookBaseUrl ?? ALERT_DEFAULTS.runbookBaseUrl,
  };
  const receivers: Receiver[] = a.receivers.map((spec) => ({
    spec,
    url: receiverUrl(spec, deps.env ?? process.env, deps.baseDir ?? process.cwd()),
    policy: {
      rateLimit: a.rateLimit ?? ALERT_DEFAULTS.rateLimit,
      ...(spec.minSeverity ? { minSeverity: spec.minSeverity } : {}),
    },
    outbox: emptyOutbox(),
    delivering: Promise.resolve(),
  }));
  const sources = alertSourcesOf(config, deps);
  let engine: EngineState = emptyEngineState();

  const deliver = (r: Receiver, n: AlertNotification): Promise<void> => {
    const body = r.spec.kind === "slack" ? slackBody(n, channel) : webhookBody(n, channel);
    return post(r.url, body, deps.retry).then(
      () =>
        log.info({ receiver: r.spec.name, alert: n.id, status: n.status, update: n.update }, "alert sent"),
      (err: unknown) =>
        log.warn({ err, receiver: r.spec.name, alert: n.id, status: n.status }, "alert not delivered"),
    );
  };

  const dispatch = (notifications: readonly AlertNotification[]): Promise<void>[] =>
    receivers.map((r) => {
      for (const n of notifications) r.outbox = enqueue(r.outbox, n, r.policy);
      const { state, send } = drain(r.outbox, now(), r.policy);
      r.outbox = state;
      // One delivery at a time per receiver, in order: an opening is delivered before its resolution.
      r.delivering = r.delivering.then(async () => {
        for (const n of send) await deliver(r, n);
      });
      return r.delivering;
    });

  let polling: Promise<void> | undefined;
  const pollOnce = (): Promise<void> => {
    polling ??= (async () => {
      const notifications: AlertNotification[] = [];
      for (const s of sources) {
        let signals: Awaited<ReturnType<ConditionSource["poll"]>>;
        try {
          signals = await s.poll(now());
        } catch (err) {
          // No observation: nothing of this source is resolved on a failed read.
          log.warn({ err, source: s.name }, "alert source not read");
          continue;
        }
        const step = observe(engine, { kinds: s.kinds, signals, at: now() }, { groupWindowMs });
        engine = step.state;
        notifications.push(...step.notifications);
      }
      const due = tick(engine, now(), { groupWindowMs });
      engine = due.state;
      notifications.push(...due.notifications);
      await Promise.all(dispatch(notifications));
    })().finally(() => {
      polling = undefined;
    });
    return polling;
  };

  const timer = deps.manual
    ? undefined
    : setInterval(() => void pollOnce(), a.pollMs ?? ALERT_DEFAULTS.pollMs);
  log.info(
    { receivers: receivers.map((r) => r.spec.name), sources: sources.map((s) => s.name) },
    "alerting started",
  );
  return {
    pollOnce,
    open: () => openAlerts(engine),
    sources: sources.map((s) => s.name),
    async stop() {
      if (timer) clearInterval(timer);
      await polling;
      await Promise.all(receivers.map((r) => r.delivering));
    },
  };
};
