/**
 * The store of an older version kept one row per finding per run, all "open" (issue 10: 106 after
 * ten minutes of the demo). Opened by this version, the file gets the lifecycle columns, old
 * in-flight rows wait, and the next run folds the duplicates into one finding and closes the rest.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import { afterAll, describe, expect, it } from "vitest";
import { reconcilePosition } from "../../projections/reconciliation.ts";
import { ReconciliationStore } from "../../services/reconciliation/reconciliation-store.ts";

const dir = mkdtempSync(path.join(tmpdir(), "stockline-recon-store-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The tables as the version before the lifecycle wrote them. */
const OLD_SCHEMA = `
CREATE TABLE recon_runs (
  id TEXT PRIMARY KEY, trigger TEXT NOT NULL, region TEXT NOT NULL, started_at TEXT NOT NULL,
  snapshot_time TEXT NOT NULL, finished_at TEXT, status TEXT NOT NULL, positions_checked INTEGER NOT NULL DEFAULT 0,
  positions_in_sync INTEGER NOT NULL DEFAULT 0, findings INTEGER NOT NULL DEFAULT 0, error TEXT, report TEXT
);
CREATE TABLE recon_findings (
  id TEXT PRIMARY KEY, run_id TEXT NOT NULL REFERENCES recon_runs(id), target TEXT NOT NULL, region TEXT NOT NULL,
  location TEXT NOT NULL, sku TEXT NOT NULL, class TEXT NOT NULL, quantity INTEGER NOT NULL, actual INTEGER NOT NULL,
  canonical INTEGER NOT NULL, expected_acks INTEGER NOT NULL, expected_all INTEGER NOT NULL, explanation TEXT NOT NULL,
  events TEXT NOT NULL, proposal TEXT NOT NULL, status TEXT NOT NULL, resolution TEXT, resolved_at TEXT
);`;

describe("a store file written before findings had a lifecycle", () => {
  it("is migrated, and the next run folds one-row-per-run duplicates into one finding", () => {
    const file = path.join(dir, "old.db");
    const old = new Database(file);
    old.exec(OLD_SCHEMA);
    const finding = old.prepare(
      `INSERT INTO recon_findings (id, run_id, target, region, location, sku, class, quantity, actual, canonical,
        expected_acks, expected_all, explanation, events, proposal, status) VALUES (?,?,'sap','eu','DC1',?,?,?,0,0,0,0,'',?,?,'open')`,
    );
    for (const [run, minute] of [
      ["run-a", "00"],
      ["run-b", "01"],
    ] as const) {
      old
        .prepare(
          "INSERT INTO recon_runs (id, trigger, region, started_at, snapshot_time, status) VALUES (?,?,?,?,?,'done')",
        )
        .run(run, "demo", "eu", `2026-01-05T10:${minute}:00.000Z`, `2026-01-05T10:${minute}:00.000Z`);
      finding.run(
        `${run}-001`,
        run,
        "S1",
        "unexplained",
        5,
        "[]",
        JSON.stringify({ kind: "adjustStock", quantity: 5, note: "" }),
      );
      finding.run(
        `${run}-002`,
        run,
        "S2",
        "inFlight",
        3,
        JSON.stringify([{ key: `eu:position-DC1~S2:${run}`, effect: 3 }]),
        JSON.stringify({ kind: "wait", note: "" }),
      );
    }
    old.close();

    const store = new ReconciliationStore(file);
    try {
      expect(store.finding("run-a-001")).toMatchObject({
        status: "open",
        timesSeen: 1,
        lastRunId: "run-a",
        firstSeenAt: "2026-01-05T10:00:00.000Z",
        closedAt: null,
      });
      expect(store.finding("run-b-002")?.status).toBe("waiting");
      expect(store.findingsOf("run-b").map((f) => f.id)).toEqual(["run-b-001", "run-b-002"]);
      expect(store.countsByStatus()).toMatchObject({ open: 2, waiting: 2 });

      // The next run: S1's drift is still there, S2's postings arrived.
      store.startRun({
        id: "run-c",
        trigger: "t",
        region: "eu",
        startedAt: "2026-01-05T10:02:00.000Z",
        snapshotTime: "2026-01-05T10:02:00.000Z",
      });
      const position = (sku: string, actual: number) =>
        reconcilePosition({
          target: "sap",
          position: { region: "eu", location: "DC1", sku },
          actual,
          canonical: 0,
          events: [],
        });
      const r = store.track({ id: "run-c", at: "2026-01-05T10:02:00.000Z" }, [
        position("S1", 5),
        position("S2", 0),
      ]);
      expect(r.seen).toMatchObject([{ id: "run-b-001", timesSeen: 2, status: "open", lastRunId: "run-c" }]);
      expect(r.closed.map((f) => [f.id, f.status, f.closeReason]).sort()).toEqual([
        ["run-a-001", "resolved", "superseded by run-b-001"],
        ["run-a-002", "cleared", "superseded by run-b-002"],
        ["run-b-002", "cleared", "no longer in flight: its postings were acknowledged"],
      ]);
      expect(r.summary).toMatchObject({ seen: 1, new: 0, cleared: 2, resolved: 1 });
      expect(store.countsByStatus()).toMatchObject({ open: 1, waiting: 0, cleared: 2, resolved: 1 });
    } finally {
      store.close();
    }
    // Opening it again changes nothing.
    const again = new ReconciliationStore(file);
    expect(again.countsByStatus()).toMatchObject({ open: 1, cleared: 2, resolved: 1 });
    again.close();
  });
});
