/**
 * The postings ledger: for every (event, target) the worker handled, its status, the target's
 * document id, attempts, latency and last error, plus every attempt. Its own SQLite file
 * (better-sqlite3, WAL). The reconciler reads it to know what each target acknowledged and when.
 *
 * Statuses: `pending` (being posted), `failed` (last attempt failed, still retrying), `acked`
 * (the target answered with a document), `dead` (dead-lettered, waiting for an operator),
 * `skipped` (routed but nothing to post, or an echo suppressed; the reason is in `last_error`).
 */
import Database from "better-sqlite3";
import type { CanonicalEvent } from "../../domain/canonical-event.ts";

export type PostingStatus = "pending" | "failed" | "acked" | "dead" | "skipped";

export interface PostingRow {
  readonly id: number;
  readonly eventKey: string;
  readonly target: string;
  readonly region: string;
  readonly location: string;
  readonly sku: string;
  readonly eventId: string;
  readonly eventType: string;
  readonly revision: number;
  readonly correlationId: string;
  readonly sourceSystem: string;
  readonly sourceDocument: string;
  readonly businessTime: string;
  readonly effect: number;
  readonly status: PostingStatus;
  readonly targetDocument: string | null;
  readonly attempts: number;
  /** Failures charged to the event (server errors), see target-connector.ts. */
  readonly chargedFailures: number;
  /** Business time to acknowledgement, ms. */
  readonly latencyMs: number | null;
  readonly lastCallMs: number | null;
  readonly lastError: string | null;
  readonly errorClass: string | null;
  readonly firstSeen: string;
  readonly updatedAt: string;
  readonly ackedAt: string | null;
  readonly deadAt: string | null;
  readonly replays: number;
}

export interface PostingAttempt {
  readonly attempt: number;
  readonly at: string;
  readonly outcome: string;
  readonly error: string | null;
  readonly callMs: number | null;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS postings (
  id               INTEGER PRIMARY KEY,
  event_key        TEXT NOT NULL,
  target           TEXT NOT NULL,
  region           TEXT NOT NULL,
  location         TEXT NOT NULL,
  sku              TEXT NOT NULL,
  event_id         TEXT NOT NULL,
  event_type       TEXT NOT NULL,
  revision         INTEGER NOT NULL,
  correlation_id   TEXT NOT NULL,
  source_system    TEXT NOT NULL,
  source_document  TEXT NOT NULL,
  business_time    TEXT NOT NULL,
  effect           INTEGER NOT NULL,
  event_json       TEXT NOT NULL,
  status           TEXT NOT NULL CHECK (status IN ('pending','failed','acked','dead','skipped')),
  target_document  TEXT,
  attempts         INTEGER NOT NULL DEFAULT 0,
  charged_failures INTEGER NOT NULL DEFAULT 0,
  latency_ms       INTEGER,
  last_call_ms     INTEGER,
  last_error       TEXT,
  error_class      TEXT,
  first_seen       TEXT NOT NULL,
  updated_at       TEXT NOT NULL,
  acked_at         TEXT,
  dead_at          TEXT,
  replays          INTEGER NOT NULL DEFAULT 0,
  UNIQUE (event_key, target)
);
CREATE INDEX IF NOT EXISTS postings_by_status ON postings (target, status);
CREATE INDEX IF NOT EXISTS postings_by_position ON postings (target, location, sku);
CREATE INDEX IF NOT EXISTS postings_by_correlation ON postings (correlation_id);
CREATE TABLE IF NOT EXISTS posting_attempts (
  posting_id INTEGER NOT NULL REFERENCES postings(id),
  attempt    INTEGER NOT NULL,
  at         TEXT NOT NULL,
  outcome    TEXT NOT NULL,
  error      TEXT,
  call_ms    INTEGER
);
CREATE INDEX IF NOT EXISTS attempts_by_posting ON posting_attempts (posting_id);
CREATE TABLE IF NOT EXISTS posting_actions (
  posting_id INTEGER NOT NULL, action TEXT NOT NULL, by TEXT NOT NULL, at TEXT NOT NULL
);
`;

export interface PostingAction {
  readonly action: string;
  readonly by: string;
  readonly at: string;
}

type Raw = Record<string, unknown>;
const toRow = (r: Raw): PostingRow => ({
  id: r.id as number,
  eventKey: r.event_key as string,
  target: r.target as string,
  region: r.region as string,
  location: r.location as string,
  sku: r.sku as string,
  eventId: r.event_id as string,
  eventType: r.event_type as string,
  revision: r.revision as number,
  correlationId: r.correlation_id as string,
  sourceSystem: r.source_system as string,
  sourceDocument: r.source_document as string,
  businessTime: r.business_time as string,
  effect: r.effect as number,
  status: r.status as PostingStatus,
  targetDocument: (r.target_document as string | null) ?? null,
  attempts: r.attempts as number,
  chargedFailures: r.charged_failures as number,
  latencyMs: (r.latency_ms as number | null) ?? null,
  lastCallMs: (r.last_call_ms as number | null) ?? null,
  lastError: (r.last_error as string | null) ?? null,
  errorClass: (r.error_class as string | null) ?? null,
  firstSeen: r.first_seen as string,
  updatedAt: r.updated_at as string,
  ackedAt: (r.acked_at as string | null) ?? null,
  deadAt: (r.dead_at as string | null) ?? null,
  replays: r.replays as number,
});

export interface ListFilter {
  readonly target?: string;
  readonly status?: PostingStatus;
  readonly correlationId?: string;
  readonly eventKey?: string;
  readonly limit?: number;
}

export class PostingsLedger {
  private readonly db: Database.Database;
  private readonly now: () => string;

  constructor(path: string, opts: { now?: () => string } = {}) {
    this.db = new Database(path);
    this.db.pragma("journal_mode = WAL");
    this.db.pragma("synchronous = NORMAL");
    this.db.pragma("busy_timeout = 5000");
    this.db.exec(SCHEMA);
    this.now = opts.now ?? (() => new Date().toISOString());
  }

  /** Creates the row (status `pending`) or returns the existing one. */
  open(input: { key: string; target: string; event: CanonicalEvent; effect: number }): PostingRow {
    const e = input.event;
    const at = this.now();
    this.db
      .prepare(
        `INSERT INTO postings (event_key, target, region, location, sku, event_id, event_type, revision, correlation_id,
           source_system, source_document, business_time, effect, event_json, status, first_seen, updated_at)
         VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,'pending',?,?) ON CONFLICT (event_key, target) DO NOTHING`,
      )
      .run(
        input.key,
        input.target,
        e.position.region,
        e.position.location,
        e.position.sku,
        e.eventId,
        e.type,
        e.revision,
        e.correlationId,
        e.source.system,
        `${e.source.document.type}:${e.source.document.id}${e.source.document.line ? `/${e.source.document.line}` : ""}`,
        e.businessTime,
        input.effect,
        JSON.stringify(e),
        at,
        at,
      );
    return this.get(input.key, input.target)!;
  }

  get(key: string, target: string): PostingRow | undefined {
    const r = this.db.prepare("SELECT * FROM postings WHERE event_key = ? AND target = ?").get(key, target) as
      | Raw
      | undefined;
    return r ? toRow(r) : undefined;
  }

  byId(id: number): PostingRow | undefined {
    const r = this.db.prepare("SELECT * FROM postings WHERE id = ?").get(id) as Raw | undefined;
    return r ? toRow(r) : undefined;
  }

  eventOf(id: number): CanonicalEvent | undefined {
    const r = this.db.prepare("SELECT event_json FROM postings WHERE id = ?").get(id) as
      | { event_json: string }
      | undefined;
    return r ? (JSON.parse(r.event_json) as CanonicalEvent) : undefined;
  }

  /** Records an operator's action on a posting (a replay of a dead letter): who (API key) and when. */
  recordAction(id: number, action: string, by: string): PostingAction {
    const at = new Date().toISOString();
    this.db
      .prepare("INSERT INTO posting_actions (posting_id, action, by, at) VALUES (?, ?, ?, ?)")
      .run(id, action, by, at);
    return { action, by, at };
  }

  actionsOf(id: number): PostingAction[] {
    return this.db
      .prepare("SELECT action, by, at FROM posting_actions WHERE posting_id = ? ORDER BY rowid")
      .all(id) as PostingAction[];
  }

  attemptsOf(id: number): PostingAttempt[] {
    return (
      this.db
        .prepare(
          "SELECT attempt, at, outcome, error, call_ms FROM posting_attempts WHERE posting_id = ? ORDER BY rowid",
        )
        .all(id) as Raw[]
    ).map((r) => ({
      attempt: r.attempt as number,
      at: r.at as string,
      outcome: r.outcome as string,
      error: (r.error as string | null) ?? null,
      callMs: (r.call_ms as number | null) ?? null,
    }));
  }

  private attempt(id: number, outcome: string, error: string | null, callMs: number | null): void {
    const row = this.db.prepare("SELECT attempts FROM postings WHERE id = ?").get(id) as { attempts: number };
    this.db
      .prepare(
        "INSERT INTO posting_attempts (posting_id, attempt, at, outcome, error, call_ms) VALUES (?,?,?,?,?,?)",
      )
      .run(id, row.attempts, this.now(), outcome, error, callMs);
  }

  markSkipped(id: number, reason: string): void {
    this.db
      .prepare("UPDATE postings SET status = 'skipped', last_error = ?, updated_at = ? WHERE id = ?")
      .run(reason, this.now(), id);
  }

  markAcked(id: number, input: { documentId: string; duplicate: boolean; callMs: number }): PostingRow {
    const at = this.now();
    const tx = this.db.transaction(() => {
      const row = this.byId(id)!;
      this.db
        .prepare(
          `UPDATE postings SET status = 'acked', target_document = ?, attempts = attempts + 1, last_call_ms = ?,
             latency_ms = ?, acked_at = ?, updated_at = ?, last_error = NULL, error_class = NULL WHERE id = ?`,
        )
        .run(input.documentId, input.callMs, Date.parse(at) - Date.parse(row.businessTime), at, at, id);
      this.attempt(id, input.duplicate ? "acked (duplicate)" : "acked", null, input.callMs);
    });
    tx();
    return this.byId(id)!;
  }

  /** One failed call: `charged` failures count towards the event's attempt limit. */
  markFailed(
    id: number,
    input: { error: string; errorClass: string; callMs: number | null; charged: boolean },
  ): PostingRow {
    const tx = this.db.transaction(() => {
      this.db
        .prepare(
          `UPDATE postings SET status = 'failed', attempts = attempts + 1, charged_failures = charged_failures + ?,
             last_call_ms = ?, last_error = ?, error_class = ?, updated_at = ? WHERE id = ?`,
        )
        .run(input.charged ? 1 : 0, input.callMs, input.error, input.errorClass, this.now(), id);
      this.attempt(id, `failed (${input.errorClass})`, input.error, input.callMs);
    });
    tx();
    return this.byId(id)!;
  }

  markDead(id: number, input: { error: string; errorClass: string }): PostingRow {
    const at = this.now();
    this.db
      .prepare(
        "UPDATE postings SET status = 'dead', last_error = ?, error_class = ?, dead_at = ?, updated_at = ? WHERE id = ?",
      )
      .run(input.error, input.errorClass, at, at, id);
    return this.byId(id)!;
  }

  /** A dead letter goes back to pending for a replay (attempt limits start over). */
  markReplaying(id: number): PostingRow {
    this.db
      .prepare(
        "UPDATE postings SET status = 'pending', replays = replays + 1, charged_failures = 0, updated_at = ? WHERE id = ? AND status = 'dead'",
      )
      .run(this.now(), id);
    return this.byId(id)!;
  }

  list(filter: ListFilter = {}): PostingRow[] {
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.target) where.push("target = ?") && args.push(filter.target);
    if (filter.status) where.push("status = ?") && args.push(filter.status);
    if (filter.correlationId) where.push("correlation_id = ?") && args.push(filter.correlationId);
    if (filter.eventKey) where.push("event_key = ?") && args.push(filter.eventKey);
    args.push(filter.limit ?? 1000);
    return (
      this.db
        .prepare(
          `SELECT * FROM postings ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY id LIMIT ?`,
        )
        .all(...args) as Raw[]
    ).map(toRow);
  }

  /** Postings of one target at one position, by event key (for reconciliation). */
  forPosition(target: string, location: string, sku: string): Map<string, PostingRow> {
    const rows = this.db
      .prepare("SELECT * FROM postings WHERE target = ? AND location = ? AND sku = ?")
      .all(target, location, sku) as Raw[];
    return new Map(rows.map((r) => [r.event_key as string, toRow(r)]));
  }

  countByStatus(): { target: string; status: PostingStatus; count: number }[] {
    return this.db
      .prepare("SELECT target, status, COUNT(*) AS count FROM postings GROUP BY target, status")
      .all() as {
      target: string;
      status: PostingStatus;
      count: number;
    }[];
  }

  deadCount(target: string): number {
    return (
      this.db
        .prepare("SELECT COUNT(*) AS n FROM postings WHERE target = ? AND status = 'dead'")
        .get(target) as {
        n: number;
      }
    ).n;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
