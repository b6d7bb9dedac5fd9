/**
 * The postings ledger is opened by several processes on one machine (a posting worker per target,
 * the API, the reconciler): two ledgers on one file, one of them in a child process, write and
 * read at the same time without SQLITE_BUSY (WAL, busy_timeout), and every write is kept.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { PostingsLedger } from "../../services/postings/postings-ledger.ts";
import { writePostings } from "./ledger-load.ts";

const dirs: string[] = [];
const tempFile = () => {
  const dir = mkdtempSync(join(tmpdir(), "postings-ledger-"));
  dirs.push(dir);
  return join(dir, "postings.db");
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const N = 400;

describe("postings ledger shared by processes", () => {
  it("opens in WAL mode with a busy timeout", () => {
    const file = tempFile();
    new PostingsLedger(file).close();
    const db = new Database(file);
    expect(db.pragma("journal_mode", { simple: true })).toBe("wal");
    db.close();
    const ledger = new PostingsLedger(file);
    // busy_timeout is per connection: read it through the ledger's own.
    expect(ledger.busyTimeoutMs()).toBeGreaterThanOrEqual(5_000);
    ledger.close();
  });

  it("a child process and this one write and read the same file at once: no SQLITE_BUSY, nothing lost", async () => {
    const file = tempFile();
    const parent = new PostingsLedger(file);
    const child = spawn(
      process.execPath,
      ["--import", "tsx", resolve(__dirname, "ledger-writer-child.ts"), file, "child", String(N)],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let out = "";
    let err = "";
    child.stderr.on("data", (d) => {
      err += String(d);
    });
    const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
    await new Promise<void>((r, reject) => {
      child.stdout.on("data", (d) => {
        out += String(d);
        if (out.includes("ready")) r();
      });
      child.on("exit", () => reject(new Error(`child ended before it was ready: ${out} ${err}`)));
    });
    // Both write now: the child in its process, this one here (synchronously, as a worker does).
    const mine = writePostings(parent, "parent", N);
    const code = await exited;
    expect(out, err).toMatch(/done \d+/);
    expect(code).toBe(0);
    expect(mine.reads).toBe(N);

    const rows = parent.list({ limit: 10 * N });
    expect(rows.filter((r) => r.eventKey.startsWith("child:") && r.status === "acked")).toHaveLength(N);
    expect(rows.filter((r) => r.eventKey.startsWith("parent:") && r.status === "acked")).toHaveLength(N);
    expect(parent.attemptsOf(rows[0]!.id).map((a) => a.outcome)).toEqual(["failed (unavailable)", "acked"]);
    parent.close();
  }, 60_000);

  it("a ledger written before next_attempt_at existed opens, and its rows read with nextAttemptAt null", () => {
    const file = tempFile();
    const db = new Database(file);
    // The first release's table, without next_attempt_at.
    db.exec(`CREATE TABLE postings (
      id INTEGER PRIMARY KEY, event_key TEXT NOT NULL, target TEXT NOT NULL, region TEXT NOT NULL,
      location TEXT NOT NULL, sku TEXT NOT NULL, event_id TEXT NOT NULL, event_type TEXT NOT NULL,
      revision INTEGER NOT NULL, correlation_id TEXT NOT NULL, source_system TEXT NOT NULL,
      source_document TEXT NOT NULL, business_time TEXT NOT NULL, effect INTEGER NOT NULL,
      event_json TEXT NOT NULL, status TEXT NOT NULL, target_document TEXT,
      attempts INTEGER NOT NULL DEFAULT 0, charged_failures INTEGER NOT NULL DEFAULT 0,
      latency_ms INTEGER, last_call_ms INTEGER, last_error TEXT, error_class TEXT,
      first_seen TEXT NOT NULL, updated_at TEXT NOT NULL, acked_at TEXT, dead_at TEXT,
      replays INTEGER NOT NULL DEFAULT 0, UNIQUE (event_key, target))`);
    db.prepare(
      `INSERT INTO postings (event_key, target, region, location, sku, event_id, event_type, revision, correlation_id,
         source_system, source_document, business_time, effect, event_json, status, first_seen, updated_at)
       VALUES ('k', 'sap', 'eu', 'DC1', 'A', 'e', 'GoodsReceived', 1, 'c', 'wms', 'doc:1', 't', 1, '{}', 'failed', 't', 't')`,
    ).run();
    db.close();
    const ledger = new PostingsLedger(file);
    expect(ledger.get("k", "sap")).toMatchObject({ status: "failed", nextAttemptAt: null });
    ledger.close();
  });
});
