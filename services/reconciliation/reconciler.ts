/**
 * The reconciler (issue 5): on demand and on a schedule per location class, reads each target's
 * balances, rebuilds what the target should hold from the event ledger and the postings ledger
 * (`projections/reconciliation.ts` classifies the difference), keeps runs and findings, and turns
 * an approved finding into a canonical command (`submitCommand`, wired to NATS request/reply by
 * the node) or a replay of dead-lettered postings.
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
  compensatingAdjustment,
  eventStateFor,
  type PositionReconciliation,
  type ReconEvent,
  reconcilePosition,
  targetStockEffect,
} from "../../projections/reconciliation.ts";
import type { PostingsLedger } from "../postings/postings-ledger.ts";
import type { TargetConnector } from "../postings/target-connector.ts";
import type { FindingRow, ReconciliationStore, RunRow } from "./reconciliation-store.ts";

const openFindings = gauge("stockline_open_findings", "Reconciliation findings not yet resolved", ["class"]);

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

/** Who approves: the API key's name and roles (or a name alone, from a caller without keys). */
export interface Approver {
  readonly name: string;
  readonly roles: readonly string[];
}

/** One approval as recorded in the finding's resolution. */
export interface ApprovalRecord {
  readonly by: string;
  readonly roles: readonly string[];
  readonly at: string;
}

export interface RunResult {
  readonly run: RunRow;
  readonly positions: readonly PositionReconciliation[];
  readonly findings: readonly FindingRow[];
  readonly report: string;
}

export type ApproveResult =
  | { readonly ok: true; readonly finding: FindingRow; readonly command?: Command; readonly outcome: unknown }
  | {
      readonly ok: true;
      readonly finding: FindingRow;
      readonly awaitingSecondApproval: true;
      readonly message: string;
    }
  | { readonly ok: false; readonly status: 403 | 404 | 409; readonly message: string };

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
      for (const p of positions) if (p.findings.length > 0) d.store.addFindings(id, p);
      const findings = d.store.findingsOf(id);
      const run0 = d.store.run(id)!;
      const report = renderReport(run0, positions, findings);
      d.store.finishRun(id, {
        finishedAt: this.now().toISOString(),
        positionsChecked: positions.length,
        positionsInSync: positions.filter((p) => p.findings.length === 0).length,
        findings: findings.length,
        report,
      });
      this.publishOpenFindings();
      const run = d.store.run(id)!;
      d.logger.info(
        { runId: id, region: d.region, positions: positions.length, findings: findings.length },
        "reconciliation done",
      );
      return { run, positions, findings, report: renderReport(run, positions, findings) };
    } catch (err) {
      d.store.failRun(id, this.now().toISOString(), (err as Error).message);
      d.logger.error({ runId: id, err }, "reconciliation failed");
      throw err;
    }
  }

  /** Approves a finding: an adjustment becomes a canonical `adjustStock`; a missing posting is replayed. */
  async approve(findingId: string, approver: string | Approver = "operator"): Promise<ApproveResult> {
    const d = this.deps;
    const who: Approver = typeof approver === "string" ? { name: approver, roles: [] } : approver;
    const by = who.name;
    const f = d.store.finding(findingId);
    if (!f) return { ok: false, status: 404, message: `no finding ${findingId}` };
    if (f.status !== "open" && f.status !== "awaitingSecondApproval")
      return { ok: false, status: 409, message: `finding ${findingId} is ${f.status}` };
    const at = this.now().toISOString();
    const mine: ApprovalRecord = { by, roles: who.roles, at };
    let approvals: ApprovalRecord[] = [mine];
    if (f.proposal.kind === "adjustStock") {
      const limit = d.secondApprovalAbove ?? 100;
      if (Math.abs(f.proposal.quantity) > limit) {
        const first = (f.resolution as { approvals?: ApprovalRecord[] } | null)?.approvals?.[0];
        if (f.status === "open" || !first) {
          if (!d.store.awaitSecondApproval(f.id, { approvals, secondApprovalAbove: limit }))
            return { ok: false, status: 409, message: `finding ${findingId} changed meanwhile` };
          return {
            ok: true,
            awaitingSecondApproval: true,
            finding: d.store.finding(f.id)!,
            message: `an adjustment of ${f.proposal.quantity} is above ${limit} units: approved by ${JSON.stringify(by)}, it waits for a second approval by another person of another role than ${first?.roles.join(", ") || who.roles.join(", ") || "theirs"}`,
          };
        }
        if (first.by === by)
          return {
            ok: false,
            status: 403,
            message: `finding ${findingId} was approved by ${JSON.stringify(by)} already: the second approval must be another person's`,
          };
        if (!who.roles.some((r) => !first.roles.includes(r)))
          return {
            ok: false,
            status: 403,
            message: `finding ${findingId} was approved by ${JSON.stringify(first.by)} (${first.roles.join(", ")}): the second approval needs another role, ${JSON.stringify(by)} has ${who.roles.join(", ") || "none"}`,
          };
        approvals = [first, mine];
      }
      const target = targetOf(d.routing, f.target);
      const run = d.store.run(f.runId);
      const command = compensatingAdjustment({
        findingId: f.id,
        runId: f.runId,
        position: { region: f.region, location: f.location, sku: f.sku },
        quantity: f.proposal.quantity,
        targetSystem: target?.systems[0] ?? f.target,
        businessTime: run?.snapshotTime ?? at,
        uom: d.baseUomOf?.(f.sku) ?? "EA",
      });
      const outcome = await d.submitCommand(command);
      d.store.resolve(f.id, "approved", { by, approvals, command: command.idempotencyKey, outcome }, at);
      this.publishOpenFindings();
      return { ok: true, finding: d.store.finding(f.id)!, command, outcome };
    }
    if (f.proposal.kind === "replayPostings") {
      if (!d.replayPosting) return { ok: false, status: 409, message: "no posting service to replay with" };
      const outcomes: unknown[] = [];
      for (const key of f.proposal.eventKeys) {
        const row = d.postings.get(key, f.target);
        outcomes.push(row ? await d.replayPosting(row.id) : { key, outcome: "no posting recorded" });
      }
      d.store.resolve(f.id, "approved", { by, approvals, replays: outcomes }, at);
      this.publishOpenFindings();
      return { ok: true, finding: d.store.finding(f.id)!, outcome: outcomes };
    }
    return {
      ok: false,
      status: 409,
      message: "an in-flight finding needs no action: re-run after the postings",
    };
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

  private publishOpenFindings(): void {
    const open = this.deps.store.findings({ status: "open" });
    for (const c of ["inFlight", "missingPosting", "unexplained"] as const)
      openFindings.set({ class: c }, open.filter((f) => f.class === c).length);
  }
}

const CLASS_LABEL = {
  inFlight: "IN FLIGHT",
  missingPosting: "MISSING POSTING",
  unexplained: "UNEXPLAINED",
} as const;
const signed = (n: number) => (n > 0 ? `+${n}` : String(n));
const pad = (s: string | number, n: number) => String(s).padEnd(n);
const lpad = (s: string | number, n: number) => String(s).padStart(n);

/** A reconciliation report for people: per target and location, each position and its findings. */
export const renderReport = (
  run: RunRow,
  positions: readonly PositionReconciliation[],
  findings: readonly FindingRow[],
): string => {
  const lines: string[] = [];
  const inSync = positions.filter((p) => p.findings.length === 0).length;
  lines.push(`Reconciliation ${run.id} (${run.trigger}), region ${run.region}, snapshot ${run.snapshotTime}`);
  lines.push(
    `${positions.length} positions checked, ${inSync} in sync, ${findings.length} finding(s)` +
      (findings.length > 0
        ? `: ${(["unexplained", "missingPosting", "inFlight"] as const)
            .map((c) => `${findings.filter((f) => f.class === c).length} ${CLASS_LABEL[c].toLowerCase()}`)
            .join(", ")}`
        : ""),
  );
  const groups = new Map<string, PositionReconciliation[]>();
  for (const p of positions) {
    const k = `${p.target}\u0000${p.position.location}`;
    groups.set(k, [...(groups.get(k) ?? []), p]);
  }
  for (const [k, ps] of groups) {
    const [target, location] = k.split("\u0000");
    lines.push("");
    lines.push(`${target} @ ${location}`);
    lines.push(
      `  ${pad("SKU", 14)}${lpad("target", 8)}${lpad("canonical", 11)}${lpad("acked", 8)}${lpad("expected", 10)}  result`,
    );
    for (const p of ps) {
      const own = findings.filter(
        (f) => f.target === p.target && f.location === p.position.location && f.sku === p.position.sku,
      );
      const head = `  ${pad(p.position.sku, 14)}${lpad(p.actual, 8)}${lpad(p.canonical, 11)}${lpad(p.expectedFromAcks, 8)}${lpad(p.expectedAll, 10)}  `;
      if (own.length === 0) {
        lines.push(
          `${head}in sync${p.appliedUnacknowledged.length > 0 ? ` (${p.appliedUnacknowledged.length} applied, ack pending)` : ""}`,
        );
        continue;
      }
      own.forEach((f, i) => {
        const prefix = i === 0 ? head : " ".repeat(head.length);
        lines.push(`${prefix}${CLASS_LABEL[f.class]} ${signed(f.quantity)}  [${f.id}]`);
        lines.push(`${" ".repeat(head.length + 2)}${f.explanation}`);
        const action =
          f.proposal.kind === "adjustStock"
            ? `proposed: adjustStock ${signed(f.proposal.quantity)} (approve: stockline reconcile approve ${f.id})`
            : f.proposal.kind === "replayPostings"
              ? `proposed: replay ${f.proposal.eventKeys.length} posting(s) (approve: stockline reconcile approve ${f.id})`
              : `proposed: ${f.proposal.note}`;
        lines.push(`${" ".repeat(head.length + 2)}${action}${f.status !== "open" ? ` — ${f.status}` : ""}`);
      });
    }
  }
  return lines.join("\n");
};
