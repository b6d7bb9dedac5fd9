/**
 * The reconciler (issue 5): on demand and on a schedule per location class, reads each target's
 * balances, rebuilds what the target should hold from the event ledger and the postings ledger
 * (`projections/reconciliation.ts` classifies the difference), keeps runs and findings across
 * runs (`projections/finding-lifecycle.ts`: one finding per drift, in-flight ones cleared, drift
 * that went away resolved), and turns an approved finding into a canonical command
 * (`submitCommand`, wired to NATS request/reply by the node) or a replay of dead-lettered
 * postings; a dismissal records who, when and why.
 */
import { randomBytes } from "node:crypto";
import pRetry from "p-retry";
import type { Logger } from "pino";
import { type CanonicalEvent, decodeCanonicalEvent } from "../../domain/canonical-event.ts";
import type { Command } from "../../domain/commands.ts";
import { formatDecodeErrors } from "../../domain/decode-errors.ts";
import { type Position, parsePositionStreamId, positionStreamId } from "../../domain/ids.ts";
import { matchesGlob } from "../../domain/ownership-policy.ts";
import { isOwnMovement, type RoutingConfig, routesTo, targetOf } from "../../domain/routing-rules.ts";
import type { EventStore } from "../../infra/event-store/event-store.ts";
import { gauge } from "../../infra/metrics.ts";
import {
  canonicalTargetFigure,
  eventStateFor,
  type PositionReconciliation,
  type ReconEvent,
  reconcilePosition,
  targetStockEffect,
} from "../../projections/reconciliation.ts";
import type { PostingsLedger } from "../postings/postings-ledger.ts";
import type { TargetConnector } from "../postings/target-connector.ts";
import {
  type ApproveOutcome,
  type Approver,
  approveFinding,
  type DismissOutcome,
  dismissFinding,
} from "./finding-decisions.ts";
import { renderReport } from "./reconciliation-report.ts";
import type { FindingRow, ReconciliationStore, RunRow, RunSummary } from "./reconciliation-store.ts";

const openFindings = gauge(
  "stockline_open_findings",
  "Reconciliation findings pending (open, waiting, awaiting a second approval)",
  ["class"],
);

/** Read access to a region's event ledger. */
export interface EventLedger {
  /** SKUs with a position stream at the location. */
  skusAt(location: string): Promise<string[]>;
  /** The position's events in revision order. */
  eventsOf(position: Position): Promise<CanonicalEvent[]>;
}

/** The event ledger over an event store whose events' `data` are canonical events. */
export const eventStoreLedger = (store: Pick<EventStore, "listStreams" | "readStream">): EventLedger => ({
  async skusAt(location) {
    // `position-<loc>~<sku>`: the prefix up to and including `~` selects the location.
    const probe = positionStreamId({ location, sku: "x" });
    const prefix = probe.slice(0, -1);
    const streams = await store.listStreams({ prefix });
    return streams.flatMap((s) => {
      const p = parsePositionStreamId(s);
      return p && p.location === location ? [p.sku] : [];
    });
  },
  async eventsOf(position) {
    const recorded = await store.readStream(positionStreamId(position));
    return recorded.map((r) => {
      const d = decodeCanonicalEvent(r.data);
      if (d._tag === "Left")
        throw new Error(
          `${r.streamId}@${r.revision} is not a canonical event: ${formatDecodeErrors(d.left)}`,
        );
      return d.right;
    });
  },
});

export interface LocationClass {
  readonly name: string;
  readonly intervalMs: number;
  /** Globs over location ids. */
  readonly locations: readonly string[];
}

export interface ReconcilerDeps {
  readonly region: string;
  readonly targets: readonly TargetConnector[];
  readonly routing: RoutingConfig;
  readonly postings: PostingsLedger;
  readonly events: EventLedger;
  readonly store: ReconciliationStore;
  readonly logger: Logger;
  /** Retries of one target's balance read before the run fails (default 4, with backoff). */
  readonly readRetries?: number;
  /** Sends an approved compensating command into the system (NATS request/reply in the node). */
  readonly submitCommand: (command: Command) => Promise<unknown>;
  /** Replays a dead-lettered posting (PostingService.retry). */
  readonly replayPosting?: (postingId: number) => Promise<unknown>;
  /** How long an event without a posting record counts as in flight (default 5 min). */
  readonly graceMs?: number;
  readonly baseUomOf?: (sku: string) => string;
  /**
   * Region of a target location, when one reconciler covers several regions (`events` then answers
   * for all of them); default: every location is in `region`.
   */
  readonly regionOf?: (location: string) => string;
  readonly now?: () => Date;
  /**
   * A compensating adjustment of more than this many units needs two approvals, by two people of
   * different roles (default 100).
   */
  readonly secondApprovalAbove?: number;
}

export type { ApprovalRecord, ApproveOutcome, Approver, DismissOutcome } from "./finding-decisions.ts";

export interface RunResult {
  readonly run: RunRow;
  readonly positions: readonly PositionReconciliation[];
  /** Findings the run saw (new or again), as they are after it. */
  readonly findings: readonly FindingRow[];
  /** Findings the run no longer saw: cleared, resolved (or a dismissed drift gone). */
  readonly closed: readonly FindingRow[];
  readonly summary: RunSummary;
  readonly report: string;
}

export class Reconciler {
  private readonly now: () => Date;
  private timers: NodeJS.Timeout[] = [];
  private running: Promise<unknown> = Promise.resolve();

  constructor(private readonly deps: ReconcilerDeps) {
    this.now = deps.now ?? (() => new Date());
  }

  /** Runs one reconciliation; runs are serialised (a scheduled run waits for a manual one). */
  run(
    opts: { trigger?: string; locations?: readonly string[]; targets?: readonly string[] } = {},
  ): Promise<RunResult> {
    const next = this.running.then(() => this.runNow(opts));
    this.running = next.catch(() => undefined);
    return next;
  }

  private async runNow(opts: {
    trigger?: string;
    locations?: readonly string[];
    targets?: readonly string[];
  }): Promise<RunResult> {
    const d = this.deps;
    const started = this.now();
    const id = `rec-${started
      .toISOString()
      .replace(/[-:.TZ]/g, "")
      .slice(0, 14)}-${randomBytes(2).toString("hex")}`;
    d.store.startRun({
      id,
      trigger: opts.trigger ?? "manual",
      region: d.region,
      startedAt: started.toISOString(),
      snapshotTime: started.toISOString(),
    });
    const positions: PositionReconciliation[] = [];
    try {
      for (const target of d.targets) {
        if (opts.targets && !opts.targets.includes(target.id)) continue;
        const routingTarget = targetOf(d.routing, target.id);
        if (!routingTarget) throw new Error(`target ${target.id} is not in the routing configuration`);
        for (const location of target.locations) {
          if (opts.locations && !opts.locations.some((g) => matchesGlob(g, location))) continue;
          // The snapshot time is taken before the read: an ack after it may or may not be in the
          // figure we read, so such events count as in flight (the classification allows for it).
          const snapshot = this.now().toISOString();
          // One failed read (a 5xx, a lost answer) must not fail the whole run: retry with backoff.
          const balances = await pRetry(() => target.readBalances(location), {
            retries: d.readRetries ?? 4,
            minTimeout: 100,
            maxTimeout: 2_000,
            onFailedAttempt: (e) =>
              d.logger.warn(
                { target: target.id, location, attempt: e.attemptNumber, err: e.message },
                "balance read failed; retrying",
              ),
          });
          const skus = new Set([...(await d.events.skusAt(location)), ...balances.keys()]);
          for (const sku of [...skus].sort()) {
            const position: Position = { region: d.regionOf?.(location) ?? d.region, location, sku };
            const history = await d.events.eventsOf(position);
            const postings = d.postings.forPosition(target.id, location, sku);
            const events: ReconEvent[] = [];
            for (const e of history) {
              const effect = targetStockEffect(e);
              const key = `${position.region}:${positionStreamId(position)}:${e.revision}`;
              const p = postings.get(key);
              const state = eventStateFor({
                ownedByTarget: isOwnMovement(routingTarget, e),
                routed: routesTo(d.routing, target.id, e),
                effect,
                posting: p ? { status: p.status, ...(p.ackedAt ? { ackedAt: p.ackedAt } : {}) } : undefined,
                recordedTime: e.recordedTime,
                snapshotTime: snapshot,
                graceMs: d.graceMs ?? 5 * 60_000,
              });
              if (state === undefined) continue;
              events.push({
                key,
                eventId: e.eventId,
                type: e.type,
                revision: e.revision,
                effect,
                state,
                businessTime: e.businessTime,
                sourceDocument: `${e.source.system} ${e.source.document.type}:${e.source.document.id}`,
                ...(p?.targetDocument ? { targetDocument: p.targetDocument } : {}),
              });
            }
            const last = history.at(-1);
            positions.push(
              reconcilePosition({
                target: target.id,
                position,
                actual: balances.get(sku) ?? 0,
                canonical: last ? canonicalTargetFigure(last.balancesAfter) : 0,
                events,
              }),
            );
          }
        }
      }
      const { seen: findings, closed, summary } = d.store.track({ id, at: started.toISOString() }, positions);
      const report = renderReport(d.store.run(id)!, positions, findings, summary);
      d.store.finishRun(id, {
        finishedAt: this.now().toISOString(),
        positionsChecked: positions.length,
        positionsInSync: positions.filter((p) => p.findings.length === 0).length,
        summary,
        report,
      });
      this.publishPendingFindings();
      const run = d.store.run(id)!;
      d.logger.info(
        { runId: id, region: d.region, positions: positions.length, ...summary },
        "reconciliation done",
      );
      return { run, positions, findings, closed, summary, report };
    } catch (err) {
      d.store.failRun(id, this.now().toISOString(), (err as Error).message);
      d.logger.error({ runId: id, err }, "reconciliation failed");
      throw err;
    }
  }

  /**
   * Approves a finding's proposal (decided by `finding-decisions.ts`). Serialised with runs: a run
   * must not resolve or change the finding while its command is on the way.
   */
  approve(findingId: string, approver: string | Approver = "operator"): Promise<ApproveOutcome> {
    const who: Approver = typeof approver === "string" ? { name: approver, roles: [] } : approver;
    const next = this.running.then(async () => {
      const r = await approveFinding({ ...this.deps, now: this.now }, findingId, who);
      this.publishPendingFindings();
      return r;
    });
    this.running = next.catch(() => undefined);
    return next;
  }

  /** Dismisses a pending finding with a reason (who, when and why are recorded). */
  dismiss(findingId: string, who: Approver, reason: string): DismissOutcome {
    const r = dismissFinding({ store: this.deps.store, now: this.now }, findingId, who, reason);
    this.publishPendingFindings();
    return r;
  }

  /** Starts one timer per location class; `stop` clears them. */
  schedule(classes: readonly LocationClass[]): void {
    for (const c of classes) {
      const timer = setInterval(() => {
        this.run({ trigger: `schedule:${c.name}`, locations: c.locations }).catch((err) =>
          this.deps.logger.error({ err, class: c.name }, "scheduled reconciliation failed"),
        );
      }, c.intervalMs);
      timer.unref();
      this.timers.push(timer);
    }
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    await this.running;
  }

  private publishPendingFindings(): void {
    for (const [c, n] of Object.entries(this.deps.store.pendingByClass())) openFindings.set({ class: c }, n);
  }
}
