/**
 * Reconciliation runs, their findings and the findings' resolutions, kept in SQLite (may share the
 * postings ledger's file: its own tables). A finding lives across runs (`finding-lifecycle.ts`):
 * `track` applies one run's sightings in one transaction, and `recon_sightings` keeps which runs
 * saw which finding with what figures.
 */
import Database from "better-sqlite3";
import {
  type FindingStatus,
  PENDING_STATUSES,
  planFindingLifecycle,
  type Sighting,
  TRACKED_STATUSES,
} from "../../projections/finding-lifecycle.ts";
import type { FindingClass, PositionReconciliation } from "../../projections/reconciliation.ts";
import {
  type Dismissal,
  type FindingRow,
  findingOf,
  inList,
  migrate,
  type Raw,
  type RunRow,
  type RunSummary,
  runOf,
  SCHEMA,
  trackedOf,
  zeroCounts,
} from "./reconciliation-rows.ts";

export type { FindingStatus } from "../../projections/finding-lifecycle.ts";
export type { Dismissal, FindingRow, RunRow, RunSummary } from "./reconciliation-rows.ts";

export class ReconciliationStore {
  private readonly db: Database.Database;
  constructor(path: string) {
    this.db = new Database(path);
    this.db.pragma("journal_mode = WAL");
    this.db.pragma("busy_timeout = 5000");
    this.db.exec(SCHEMA);
    migrate(this.db);
  }

  startRun(run: {
    id: string;
    trigger: string;
    region: string;
    startedAt: string;
    snapshotTime: string;
  }): void {
    this.db
      .prepare(
        "INSERT INTO recon_runs (id, trigger, region, started_at, snapshot_time, status) VALUES (?,?,?,?,?,'running')",
      )
      .run(run.id, run.trigger, run.region, run.startedAt, run.snapshotTime);
  }

  /**
   * Applies one run's reconciled positions (every position it checked, in sync or not) to the kept
   * findings, in one transaction: new findings, findings seen again, findings it no longer sees.
   */
  track(
    run: { readonly id: string; readonly at: string },
    positions: readonly PositionReconciliation[],
  ): { seen: FindingRow[]; closed: FindingRow[]; summary: RunSummary } {
    return this.db.transaction(() => {
      const tracked = (
        this.db
          .prepare(
            `SELECT * FROM recon_findings WHERE status IN (${inList(TRACKED_STATUSES)}) AND closed_at IS NULL`,
          )
          .all() as Raw[]
      ).map((r) => trackedOf(findingOf(r)));
      const steps = planFindingLifecycle({ checked: positions, tracked });
      const seen: string[] = [];
      const closed: string[] = [];
      let fresh = 0;
      for (const step of steps) {
        if (step.kind === "new") {
          const id = `${run.id}-${String(++fresh).padStart(3, "0")}`;
          this.insert(id, run, step.sighting, step.status, step.previousId);
          seen.push(id);
        } else if (step.kind === "seen") {
          this.seenAgain(step.id, run, step.sighting, step);
          seen.push(step.id);
        } else {
          this.db
            .prepare(
              "UPDATE recon_findings SET status=?, closed_at=?, closed_by_run=?, close_reason=? WHERE id=?",
            )
            .run(step.status, run.at, run.id, step.reason, step.id);
          closed.push(step.id);
        }
      }
      const rows = (ids: string[]) => ids.map((id) => this.finding(id)!);
      const seenRows = rows(seen);
      const closedRows = rows(closed);
      const byStatus = zeroCounts();
      for (const f of [...seenRows, ...closedRows]) byStatus[f.status]++;
      return {
        seen: seenRows,
        closed: closedRows,
        summary: {
          seen: seen.length,
          new: fresh,
          cleared: closedRows.filter((f) => f.status === "cleared").length,
          resolved: closedRows.filter((f) => f.status === "resolved").length,
          byStatus,
        },
      };
    })();
  }

  private insert(
    id: string,
    run: { id: string; at: string },
    s: Sighting,
    status: FindingStatus,
    previousId: string | undefined,
  ): void {
    this.db
      .prepare(
        `INSERT INTO recon_findings (id, run_id, target, region, location, sku, class, quantity, actual, canonical,
           expected_acks, expected_all, explanation, events, proposal, status, first_seen_at, last_seen_at, last_run_id,
           times_seen, previous_id) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,1,?)`,
      )
      .run(
        id,
        run.id,
        s.target,
        s.position.region,
        s.position.location,
        s.position.sku,
        s.finding.class,
        s.finding.quantity,
        s.actual,
        s.canonical,
        s.expectedFromAcks,
        s.expectedAll,
        s.finding.explanation,
        JSON.stringify(s.finding.events),
        JSON.stringify(s.finding.proposal),
        status,
        run.at,
        run.at,
        run.id,
        previousId ?? null,
      );
    this.sighting(run.id, id, s);
  }

  private seenAgain(
    id: string,
    run: { id: string; at: string },
    s: Sighting,
    how: { status: FindingStatus; voidApprovals?: boolean; keepFigures?: boolean },
  ): void {
    this.db
      .prepare(
        "UPDATE recon_findings SET status=?, last_seen_at=?, last_run_id=?, times_seen=times_seen+1 WHERE id=?",
      )
      .run(how.status, run.at, run.id, id);
    if (!how.keepFigures)
      this.db
        .prepare(
          `UPDATE recon_findings SET quantity=?, actual=?, canonical=?, expected_acks=?, expected_all=?, explanation=?,
             events=?, proposal=? WHERE id=?`,
        )
        .run(
          s.finding.quantity,
          s.actual,
          s.canonical,
          s.expectedFromAcks,
          s.expectedAll,
          s.finding.explanation,
          JSON.stringify(s.finding.events),
          JSON.stringify(s.finding.proposal),
          id,
        );
    if (how.voidApprovals) {
      // A first approval was given for other figures: it does not carry over to these.
      const prior = this.finding(id)?.resolution as { approvals?: unknown } | null;
      this.db
        .prepare("UPDATE recon_findings SET resolution=? WHERE id=?")
        .run(
          JSON.stringify({ voidedApprovals: prior?.approvals ?? [], voidedBy: run.id, voidedAt: run.at }),
          id,
        );
    }
    this.sighting(run.id, id, s);
  }

  private sighting(runId: string, findingId: string, s: Sighting): void {
    this.db
      .prepare(
        "INSERT OR REPLACE INTO recon_sightings (run_id, finding_id, quantity, actual, canonical) VALUES (?,?,?,?,?)",
      )
      .run(runId, findingId, s.finding.quantity, s.actual, s.canonical);
  }

  finishRun(
    id: string,
    r: {
      finishedAt: string;
      positionsChecked: number;
      positionsInSync: number;
      summary: RunSummary;
      report: string;
    },
  ): void {
    this.db
      .prepare(
        "UPDATE recon_runs SET status='done', finished_at=?, positions_checked=?, positions_in_sync=?, findings=?, summary=?, report=? WHERE id=?",
      )
      .run(
        r.finishedAt,
        r.positionsChecked,
        r.positionsInSync,
        r.summary.seen,
        JSON.stringify(r.summary),
        r.report,
        id,
      );
  }

  failRun(id: string, finishedAt: string, error: string): void {
    this.db
      .prepare("UPDATE recon_runs SET status='failed', finished_at=?, error=? WHERE id=?")
      .run(finishedAt, error, id);
  }

  run(id: string): RunRow | undefined {
    const r = this.db.prepare("SELECT * FROM recon_runs WHERE id = ?").get(id) as Raw | undefined;
    return r ? runOf(r) : undefined;
  }

  runs(limit = 50): RunRow[] {
    return (
      this.db.prepare("SELECT * FROM recon_runs ORDER BY started_at DESC LIMIT ?").all(limit) as Raw[]
    ).map(runOf);
  }

  /** The findings a run saw, as they are now. */
  findingsOf(runId: string): FindingRow[] {
    return (
      this.db
        .prepare(
          "SELECT f.* FROM recon_findings f JOIN recon_sightings s ON s.finding_id = f.id WHERE s.run_id = ? ORDER BY f.id",
        )
        .all(runId) as Raw[]
    ).map(findingOf);
  }

  /** The findings a run closed (no longer seen). */
  closedBy(runId: string): FindingRow[] {
    return (
      this.db.prepare("SELECT * FROM recon_findings WHERE closed_by_run = ? ORDER BY id").all(runId) as Raw[]
    ).map(findingOf);
  }

  findings(filter: { status?: FindingStatus; limit?: number } = {}): FindingRow[] {
    const limit = filter.limit ?? -1;
    const rows = filter.status
      ? this.db
          .prepare("SELECT * FROM recon_findings WHERE status = ? ORDER BY id LIMIT ?")
          .all(filter.status, limit)
      : this.db.prepare("SELECT * FROM recon_findings ORDER BY id LIMIT ?").all(limit);
    return (rows as Raw[]).map(findingOf);
  }

  /** How many findings are in each status. */
  countsByStatus(): Record<FindingStatus, number> {
    const counts = zeroCounts();
    for (const r of this.db
      .prepare("SELECT status, COUNT(*) AS n FROM recon_findings GROUP BY status")
      .all() as { status: FindingStatus; n: number }[])
      counts[r.status] = r.n;
    return counts;
  }

  finding(id: string): FindingRow | undefined {
    const r = this.db.prepare("SELECT * FROM recon_findings WHERE id = ?").get(id) as Raw | undefined;
    return r ? findingOf(r) : undefined;
  }

  resolve(id: string, status: FindingStatus, resolution: unknown, at: string): boolean {
    return (
      this.db
        .prepare(
          "UPDATE recon_findings SET status=?, resolution=?, resolved_at=? WHERE id=? AND status IN ('open', 'awaitingSecondApproval')",
        )
        .run(status, JSON.stringify(resolution), at, id).changes === 1
    );
  }

  /** Records the first of two approvals; false when the finding was not open any more. */
  awaitSecondApproval(id: string, resolution: unknown): boolean {
    return (
      this.db
        .prepare(
          "UPDATE recon_findings SET status='awaitingSecondApproval', resolution=? WHERE id=? AND status='open'",
        )
        .run(JSON.stringify(resolution), id).changes === 1
    );
  }

  /** Dismisses a pending finding (earlier approvals stay in the resolution); false when it was not pending. */
  dismiss(id: string, dismissal: Dismissal): boolean {
    return this.db.transaction(() => {
      const f = this.finding(id);
      if (!f || !PENDING_STATUSES.includes(f.status)) return false;
      const prior = (f.resolution ?? {}) as Record<string, unknown>;
      this.db
        .prepare("UPDATE recon_findings SET status='dismissed', resolution=?, resolved_at=? WHERE id=?")
        .run(JSON.stringify({ ...prior, dismissal }), dismissal.at, id);
      return true;
    })();
  }

  /** Pending findings (open, waiting, awaiting a second approval) per class. */
  pendingByClass(): Record<FindingClass, number> {
    const counts: Record<FindingClass, number> = { inFlight: 0, missingPosting: 0, unexplained: 0 };
    for (const r of this.db
      .prepare(
        `SELECT class, COUNT(*) AS n FROM recon_findings WHERE status IN (${inList(PENDING_STATUSES)}) GROUP BY class`,
      )
      .all() as { class: FindingClass; n: number }[])
      counts[r.class] = r.n;
    return counts;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
