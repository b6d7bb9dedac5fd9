/**
 * Reconciliation runs, their findings and the findings' resolutions, kept in SQLite (may share the
 * postings ledger's file: its own tables).
 */
import Database from "better-sqlite3";
import type {
  FindingClass,
  PositionReconciliation,
  Proposal,
  ReconEvent,
} from "../../projections/reconciliation.ts";

export interface RunRow {
  readonly id: string;
  readonly trigger: string;
  readonly region: string;
  readonly startedAt: string;
  readonly snapshotTime: string;
  readonly finishedAt: string | null;
  readonly status: "running" | "done" | "failed";
  readonly positionsChecked: number;
  readonly positionsInSync: number;
  readonly findings: number;
  readonly error: string | null;
  readonly report: string | null;
}

/** `awaitingSecondApproval`: a large adjustment approved once (resolution.approvals), not yet applied. */
export type FindingStatus = "open" | "awaitingSecondApproval" | "approved" | "dismissed";

export interface FindingRow {
  readonly id: string;
  readonly runId: string;
  readonly target: string;
  readonly region: string;
  readonly location: string;
  readonly sku: string;
  readonly class: FindingClass;
  readonly quantity: number;
  readonly actual: number;
  readonly canonical: number;
  readonly expectedFromAcks: number;
  readonly expectedAll: number;
  readonly explanation: string;
  readonly events: readonly ReconEvent[];
  readonly proposal: Proposal;
  readonly status: FindingStatus;
  readonly resolution: unknown;
  readonly resolvedAt: string | null;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS recon_runs (
  id TEXT PRIMARY KEY, trigger TEXT NOT NULL, region TEXT NOT NULL, started_at TEXT NOT NULL,
  snapshot_time TEXT NOT NULL, finished_at TEXT, status TEXT NOT NULL, positions_checked INTEGER NOT NULL DEFAULT 0,
  positions_in_sync INTEGER NOT NULL DEFAULT 0, findings INTEGER NOT NULL DEFAULT 0, error TEXT, report TEXT
);
CREATE TABLE IF NOT EXISTS recon_findings (
  id TEXT PRIMARY KEY, run_id TEXT NOT NULL REFERENCES recon_runs(id), target TEXT NOT NULL, region TEXT NOT NULL,
  location TEXT NOT NULL, sku TEXT NOT NULL, class TEXT NOT NULL, quantity INTEGER NOT NULL, actual INTEGER NOT NULL,
  canonical INTEGER NOT NULL, expected_acks INTEGER NOT NULL, expected_all INTEGER NOT NULL, explanation TEXT NOT NULL,
  events TEXT NOT NULL, proposal TEXT NOT NULL, status TEXT NOT NULL, resolution TEXT, resolved_at TEXT
);
CREATE INDEX IF NOT EXISTS recon_findings_by_run ON recon_findings (run_id);
CREATE INDEX IF NOT EXISTS recon_findings_by_status ON recon_findings (status);
`;

type Raw = Record<string, unknown>;
const runOf = (r: Raw): RunRow => ({
  id: r.id as string,
  trigger: r.trigger as string,
  region: r.region as string,
  startedAt: r.started_at as string,
  snapshotTime: r.snapshot_time as string,
  finishedAt: (r.finished_at as string | null) ?? null,
  status: r.status as RunRow["status"],
  positionsChecked: r.positions_checked as number,
  positionsInSync: r.positions_in_sync as number,
  findings: r.findings as number,
  error: (r.error as string | null) ?? null,
  report: (r.report as string | null) ?? null,
});
const findingOf = (r: Raw): FindingRow => ({
  id: r.id as string,
  runId: r.run_id as string,
  target: r.target as string,
  region: r.region as string,
  location: r.location as string,
  sku: r.sku as string,
  class: r.class as FindingClass,
  quantity: r.quantity as number,
  actual: r.actual as number,
  canonical: r.canonical as number,
  expectedFromAcks: r.expected_acks as number,
  expectedAll: r.expected_all as number,
  explanation: r.explanation as string,
  events: JSON.parse(r.events as string) as ReconEvent[],
  proposal: JSON.parse(r.proposal as string) as Proposal,
  status: r.status as FindingStatus,
  resolution: r.resolution ? JSON.parse(r.resolution as string) : null,
  resolvedAt: (r.resolved_at as string | null) ?? null,
});

export class ReconciliationStore {
  private readonly db: Database.Database;
  constructor(path: string) {
    this.db = new Database(path);
    this.db.pragma("journal_mode = WAL");
    this.db.pragma("busy_timeout = 5000");
    this.db.exec(SCHEMA);
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

  /** Stores the findings of one position; returns their ids in order. */
  addFindings(runId: string, rec: PositionReconciliation): string[] {
    const insert = this.db.prepare(
      `INSERT INTO recon_findings (id, run_id, target, region, location, sku, class, quantity, actual, canonical,
         expected_acks, expected_all, explanation, events, proposal, status) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,'open')`,
    );
    const ids: string[] = [];
    const tx = this.db.transaction(() => {
      const n = (
        this.db.prepare("SELECT COUNT(*) AS n FROM recon_findings WHERE run_id = ?").get(runId) as {
          n: number;
        }
      ).n;
      rec.findings.forEach((f, i) => {
        const id = `${runId}-${String(n + i + 1).padStart(3, "0")}`;
        ids.push(id);
        insert.run(
          id,
          runId,
          rec.target,
          rec.position.region,
          rec.position.location,
          rec.position.sku,
          f.class,
          f.quantity,
          rec.actual,
          rec.canonical,
          rec.expectedFromAcks,
          rec.expectedAll,
          f.explanation,
          JSON.stringify(f.events),
          JSON.stringify(f.proposal),
        );
      });
    });
    tx();
    return ids;
  }

  finishRun(
    id: string,
    r: {
      finishedAt: string;
      positionsChecked: number;
      positionsInSync: number;
      findings: number;
      report: string;
    },
  ): void {
    this.db
      .prepare(
        "UPDATE recon_runs SET status='done', finished_at=?, positions_checked=?, positions_in_sync=?, findings=?, report=? WHERE id=?",
      )
      .run(r.finishedAt, r.positionsChecked, r.positionsInSync, r.findings, r.report, id);
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

  findingsOf(runId: string): FindingRow[] {
    return (
      this.db.prepare("SELECT * FROM recon_findings WHERE run_id = ? ORDER BY id").all(runId) as Raw[]
    ).map(findingOf);
  }

  findings(filter: { status?: FindingStatus } = {}): FindingRow[] {
    const rows = filter.status
      ? this.db.prepare("SELECT * FROM recon_findings WHERE status = ? ORDER BY id").all(filter.status)
      : this.db.prepare("SELECT * FROM recon_findings ORDER BY id").all();
    return (rows as Raw[]).map(findingOf);
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

  openCount(): number {
    return (
      this.db.prepare("SELECT COUNT(*) AS n FROM recon_findings WHERE status='open'").get() as { n: number }
    ).n;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
