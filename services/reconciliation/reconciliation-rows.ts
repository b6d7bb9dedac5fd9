/**
 * Rows of the reconciliation store: runs, findings with their lifecycle (`finding-lifecycle.ts`),
 * the tables and the migration of files written before the lifecycle (issue 10).
 */
import type Database from "better-sqlite3";
import {
  FINDING_STATUSES,
  type FindingStatus,
  type TrackedFinding,
} from "../../projections/finding-lifecycle.ts";
import type { FindingClass, Proposal, ReconEvent } from "../../projections/reconciliation.ts";

/** What one run did to the findings: counts of those it saw or closed, by their status after it. */
export interface RunSummary {
  /** Findings the run saw (new or again). */
  readonly seen: number;
  /** Of those, first seen by this run. */
  readonly new: number;
  /** In-flight findings the run no longer saw. */
  readonly cleared: number;
  /** Drift the run no longer saw. */
  readonly resolved: number;
  readonly byStatus: Readonly<Record<FindingStatus, number>>;
}

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
  /** Findings the run saw (as `summary.seen`). */
  readonly findings: number;
  readonly summary: RunSummary | null;
  readonly error: string | null;
  readonly report: string | null;
}

export interface FindingRow {
  readonly id: string;
  /** The run that first saw it. */
  readonly runId: string;
  readonly target: string;
  readonly region: string;
  readonly location: string;
  readonly sku: string;
  readonly class: FindingClass;
  /** Latest figures (those of `lastRunId`; of the dismissal for a dismissed finding). */
  readonly quantity: number;
  readonly actual: number;
  readonly canonical: number;
  readonly expectedFromAcks: number;
  readonly expectedAll: number;
  readonly explanation: string;
  readonly events: readonly ReconEvent[];
  readonly proposal: Proposal;
  readonly status: FindingStatus;
  readonly firstSeenAt: string;
  readonly lastSeenAt: string;
  readonly lastRunId: string;
  readonly timesSeen: number;
  /** Approvals (`approvals`, `by`, ...) and a dismissal (`dismissal: { by, roles, at, reason }`). */
  readonly resolution: unknown;
  /** When it was approved or dismissed. */
  readonly resolvedAt: string | null;
  /** When a run no longer saw it (cleared, resolved, or a dismissed drift gone), which run and why. */
  readonly closedAt: string | null;
  readonly closedByRunId: string | null;
  readonly closeReason: string | null;
  /** The dismissed finding this one follows (the same drift seen again with other figures). */
  readonly previousId: string | null;
}

/** A dismissal as recorded in the finding's resolution. */
export interface Dismissal {
  readonly by: string;
  readonly roles: readonly string[];
  readonly at: string;
  readonly reason: string;
}

export const SCHEMA = `
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
CREATE TABLE IF NOT EXISTS recon_sightings (
  run_id TEXT NOT NULL, finding_id TEXT NOT NULL, quantity INTEGER NOT NULL, actual INTEGER NOT NULL,
  canonical INTEGER NOT NULL, PRIMARY KEY (run_id, finding_id)
);
CREATE INDEX IF NOT EXISTS recon_findings_by_run ON recon_findings (run_id);
CREATE INDEX IF NOT EXISTS recon_findings_by_status ON recon_findings (status);
`;

/** Columns added with the lifecycle (issue 10); older files get them and are backfilled once. */
const LIFECYCLE_COLUMNS: Record<string, string> = {
  first_seen_at: "TEXT",
  last_seen_at: "TEXT",
  last_run_id: "TEXT",
  times_seen: "INTEGER NOT NULL DEFAULT 1",
  closed_at: "TEXT",
  closed_by_run: "TEXT",
  close_reason: "TEXT",
  previous_id: "TEXT",
};

export type Raw = Record<string, unknown>;
export const runOf = (r: Raw): RunRow => ({
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
  summary: r.summary ? (JSON.parse(r.summary as string) as RunSummary) : null,
  error: (r.error as string | null) ?? null,
  report: (r.report as string | null) ?? null,
});
export const findingOf = (r: Raw): FindingRow => ({
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
  firstSeenAt: r.first_seen_at as string,
  lastSeenAt: r.last_seen_at as string,
  lastRunId: r.last_run_id as string,
  timesSeen: r.times_seen as number,
  resolution: r.resolution ? JSON.parse(r.resolution as string) : null,
  resolvedAt: (r.resolved_at as string | null) ?? null,
  closedAt: (r.closed_at as string | null) ?? null,
  closedByRunId: (r.closed_by_run as string | null) ?? null,
  closeReason: (r.close_reason as string | null) ?? null,
  previousId: (r.previous_id as string | null) ?? null,
});
export const trackedOf = (f: FindingRow): TrackedFinding => ({
  id: f.id,
  target: f.target,
  region: f.region,
  location: f.location,
  sku: f.sku,
  class: f.class,
  status: f.status,
  quantity: f.quantity,
  eventKeys: f.events.map((e) => e.key),
  lastSeenAt: f.lastSeenAt,
  closedAt: f.closedAt,
});
export const inList = (xs: readonly string[]) => xs.map((x) => `'${x}'`).join(",");
export const zeroCounts = (): Record<FindingStatus, number> =>
  Object.fromEntries(FINDING_STATUSES.map((s) => [s, 0])) as Record<FindingStatus, number>;

/** Adds the lifecycle columns to a file of an older version; each old row becomes one sighting. */
export const migrate = (db: Database.Database): void => {
  const has = (table: string) =>
    new Set((db.pragma(`table_info(${table})`) as { name: string }[]).map((c) => c.name));
  db.transaction(() => {
    if (!has("recon_runs").has("summary")) db.exec("ALTER TABLE recon_runs ADD COLUMN summary TEXT");
    const columns = has("recon_findings");
    const missing = Object.entries(LIFECYCLE_COLUMNS).filter(([c]) => !columns.has(c));
    for (const [c, type] of missing) db.exec(`ALTER TABLE recon_findings ADD COLUMN ${c} ${type}`);
    if (missing.length > 0) {
      db.exec(`
        UPDATE recon_findings SET last_run_id = run_id,
          first_seen_at = (SELECT snapshot_time FROM recon_runs r WHERE r.id = recon_findings.run_id),
          last_seen_at = (SELECT snapshot_time FROM recon_runs r WHERE r.id = recon_findings.run_id)
          WHERE last_run_id IS NULL;
        UPDATE recon_findings SET status = 'waiting' WHERE status = 'open' AND class = 'inFlight';
        INSERT OR IGNORE INTO recon_sightings (run_id, finding_id, quantity, actual, canonical)
          SELECT run_id, id, quantity, actual, canonical FROM recon_findings;`);
    }
    db.exec(
      "CREATE INDEX IF NOT EXISTS recon_findings_by_position ON recon_findings (target, location, sku)",
    );
  })();
};
