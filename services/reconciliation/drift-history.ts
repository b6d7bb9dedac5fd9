/**
 * Drift over time (issue 12, the finance dashboard): what each finished reconciliation run saw, per
 * target ERP, from the sightings the reconciliation store keeps (`recon_sightings`: one row per
 * finding a run saw, with that run's figures). Drift is the difference nobody can explain yet
 * (`unexplained`) or a posting that never reached the ERP (`missingPosting`); in-flight differences
 * (postings not acknowledged yet) are counted apart, they clear by themselves.
 *
 * Read-only: a second connection to the store's file (`query_only`), so that the store's own
 * connection and its transactions stay as they are.
 */
import Database from "better-sqlite3";

export interface DriftFilter {
  /** Only this target (ERP), e.g. `sap-eu`. */
  readonly target?: string;
  readonly location?: string;
  /** The latest runs (default 50). */
  readonly limit?: number;
}

/** One target's drift as one run saw it. */
export interface TargetDrift {
  readonly target: string;
  /** Findings the run saw (every class). */
  readonly findings: number;
  /** Sum of |quantity| of unexplained and missing-posting findings. */
  readonly driftUnits: number;
  /** Sum of |quantity| of in-flight findings. */
  readonly inFlightUnits: number;
  readonly unexplained: number;
  readonly missingPosting: number;
  readonly inFlight: number;
}

export interface RunDrift {
  readonly runId: string;
  /** The run's snapshot time: the figures' business time. */
  readonly at: string;
  readonly region: string;
  readonly positionsChecked: number;
  readonly positionsInSync: number;
  /** Per target seen by the run (under the filter), by name; a run that saw nothing has none. */
  readonly targets: readonly TargetDrift[];
  readonly driftUnits: number;
}

export interface DriftHistoryAnswer {
  /** Oldest first, at most `limit` of the latest finished runs. */
  readonly runs: readonly RunDrift[];
  /** Targets and locations that ever had a finding (for filters). */
  readonly targets: readonly string[];
  readonly locations: readonly string[];
}

interface RunRaw {
  id: string;
  snapshot_time: string;
  region: string;
  positions_checked: number;
  positions_in_sync: number;
}
interface SightingRaw {
  run_id: string;
  target: string;
  class: string;
  n: number;
  units: number;
}

export class DriftHistory {
  private readonly db: Database.Database;

  /** `file`: the reconciliation store's SQLite file (it must exist: the store creates it). */
  constructor(file: string) {
    this.db = new Database(file, { fileMustExist: true });
    this.db.pragma("busy_timeout = 5000");
    this.db.pragma("query_only = ON");
  }

  history(filter: DriftFilter = {}): DriftHistoryAnswer {
    const runs = (
      this.db
        .prepare(
          `SELECT id, snapshot_time, region, positions_checked, positions_in_sync FROM recon_runs
           WHERE status = 'done' ORDER BY started_at DESC, id DESC LIMIT ?`,
        )
        .all(filter.limit ?? 50) as RunRaw[]
    ).reverse();
    const where: string[] = [];
    const args: string[] = [];
    if (filter.target !== undefined) {
      where.push("f.target = ?");
      args.push(filter.target);
    }
    if (filter.location !== undefined) {
      where.push("f.location = ?");
      args.push(filter.location);
    }
    const byRun = new Map<string, Map<string, TargetDrift>>();
    if (runs.length > 0) {
      const rows = this.db
        .prepare(
          `SELECT s.run_id, f.target, f.class, COUNT(*) AS n, SUM(ABS(s.quantity)) AS units
           FROM recon_sightings s JOIN recon_findings f ON f.id = s.finding_id
           WHERE s.run_id IN (${runs.map(() => "?").join(",")}) ${where.map((w) => `AND ${w}`).join(" ")}
           GROUP BY s.run_id, f.target, f.class`,
        )
        .all(...runs.map((r) => r.id), ...args) as SightingRaw[];
      for (const r of rows) {
        const targets = byRun.get(r.run_id) ?? new Map<string, TargetDrift>();
        byRun.set(r.run_id, targets);
        const t = targets.get(r.target) ?? {
          target: r.target,
          findings: 0,
          driftUnits: 0,
          inFlightUnits: 0,
          unexplained: 0,
          missingPosting: 0,
          inFlight: 0,
        };
        const drift = r.class === "inFlight" ? 0 : r.units;
        targets.set(r.target, {
          ...t,
          findings: t.findings + r.n,
          driftUnits: t.driftUnits + drift,
          inFlightUnits: t.inFlightUnits + (r.class === "inFlight" ? r.units : 0),
          unexplained: t.unexplained + (r.class === "unexplained" ? r.n : 0),
          missingPosting: t.missingPosting + (r.class === "missingPosting" ? r.n : 0),
          inFlight: t.inFlight + (r.class === "inFlight" ? r.n : 0),
        });
      }
    }
    const distinct = (column: "target" | "location") =>
      (
        this.db.prepare(`SELECT DISTINCT ${column} AS v FROM recon_findings ORDER BY v`).all() as {
          v: string;
        }[]
      ).map((r) => r.v);
    return {
      runs: runs.map((r) => {
        const targets = [...(byRun.get(r.id)?.values() ?? [])].sort((a, b) =>
          a.target.localeCompare(b.target),
        );
        return {
          runId: r.id,
          at: r.snapshot_time,
          region: r.region,
          positionsChecked: r.positions_checked,
          positionsInSync: r.positions_in_sync,
          targets,
          driftUnits: targets.reduce((s, t) => s + t.driftUnits, 0),
        };
      }),
      targets: distinct("target"),
      locations: distinct("location"),
    };
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
