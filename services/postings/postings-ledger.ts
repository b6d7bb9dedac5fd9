/**
 * The postings ledger: for every (event, target) the worker handled, its status, the target's
 * document id, attempts, latency and last error, plus every attempt. Its own SQLite file
 * (better-sqlite3, WAL). The reconciler reads it to know what each target acknowledged and when.
 *
 * Statuses: `pending` (waiting for its first attempt, or in flight), `failed` (an attempt failed,
 * the next one is scheduled: `next_attempt_at`), `acked` (the target answered with a document),
 * `dead` (dead-lettered, waiting for an operator), `skipped` (routed but nothing to post, or an
 * echo suppressed; the reason is in `last_error`).
 *
 * Several processes open the same file (a posting worker per target, the API, the reconciler):
 * WAL lets readers go on while one writes, and `busy_timeout` makes a writer wait for another's
 * lock instead of failing with SQLITE_BUSY. The workers also write what only they know (the
 * state of each target's circuit breaker, the events not yet read from JetStream) into
 * `posting_targets` and `posting_backlog`, so that any process can answer the summary
 * (postings-summary.ts).
 */
import Database from "better-sqlite3";
import type { CanonicalEvent } from "../../domain/canonical-event.ts";

import {
  ADDED_COLUMNS,
  type BacklogRecord,
  type BreakerRecord,
  type BreakerState,
  INDEXES_AFTER_COLUMNS,
  type PostingAction,
  type PostingAttempt,
  type PostingRow,
  type PostingStatus,
  type Raw,
  SCHEMA,
  type StatusFigure,
  toRow,
} from "./postings-ledger-rows.ts";

export type {
  BacklogRecord,
  BreakerRecord,
  BreakerState,
  PostingAction,
  PostingAttempt,
  PostingRow,
  PostingStatus,
  StatusFigure,
} from "./postings-ledger-rows.ts";

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
    // First the wait for others' locks, so that even switching to WAL and creating tables wait.
    this.db.pragma("busy_timeout = 5000");
    this.db.pragma("journal_mode = WAL");
    this.db.pragma("synchronous = NORMAL");
    this.db.exec(SCHEMA);
    for (const [table, column, type] of ADDED_COLUMNS) {
      const columns = this.db.pragma(`table_info(${table})`) as { name: string }[];
      if (!columns.some((c) => c.name === column))
        this.db.exec(`ALTER TABLE ${table} ADD COLUMN ${column} ${type}`);
    }
    this.db.exec(INDEXES_AFTER_COLUMNS);
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
             latency_ms = ?, acked_at = ?, updated_at = ?, last_error = NULL, error_class = NULL,
             next_attempt_at = NULL WHERE id = ?`,
        )
        .run(input.documentId, input.callMs, Date.parse(at) - Date.parse(row.businessTime), at, at, id);
      this.attempt(id, input.duplicate ? "acked (duplicate)" : "acked", null, input.callMs);
    });
    // IMMEDIATE: it reads, then writes. A deferred one would start as a reader and, when another
    // process wrote meanwhile, fail with SQLITE_BUSY at its first write without waiting.
    tx.immediate();
    return this.byId(id)!;
  }

  /**
   * One failed call: `charged` failures count towards the event's attempt limit; `nextAttemptAt` is
   * when the worker will try again (unknown when it is not retrying, e.g. a replay).
   */
  markFailed(
    id: number,
    input: {
      error: string;
      errorClass: string;
      callMs: number | null;
      charged: boolean;
      nextAttemptAt?: string;
    },
  ): PostingRow {
    const tx = this.db.transaction(() => {
      this.db
        .prepare(
          `UPDATE postings SET status = 'failed', attempts = attempts + 1, charged_failures = charged_failures + ?,
             last_call_ms = ?, last_error = ?, error_class = ?, next_attempt_at = ?, updated_at = ? WHERE id = ?`,
        )
        .run(
          input.charged ? 1 : 0,
          input.callMs,
          input.error,
          input.errorClass,
          input.nextAttemptAt ?? null,
          this.now(),
          id,
        );
      this.attempt(id, `failed (${input.errorClass})`, input.error, input.callMs);
    });
    // IMMEDIATE: it reads, then writes. A deferred one would start as a reader and, when another
    // process wrote meanwhile, fail with SQLITE_BUSY at its first write without waiting.
    tx.immediate();
    return this.byId(id)!;
  }

  markDead(id: number, input: { error: string; errorClass: string }): PostingRow {
    const at = this.now();
    this.db
      .prepare(
        "UPDATE postings SET status = 'dead', last_error = ?, error_class = ?, dead_at = ?, updated_at = ?, next_attempt_at = NULL WHERE id = ?",
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

  /** Postings per target, region and status, with the oldest first seen and the next attempt due. */
  statusFigures(): StatusFigure[] {
    const counts = this.db
      .prepare(
        "SELECT status, target, region, COUNT(*) AS count FROM postings GROUP BY status, target, region",
      )
      .all() as Raw[];
    // Only what waits needs its oldest and next attempt: a seek, not a read of every acked row.
    const waiting = new Map(
      (
        this.db
          .prepare(
            `SELECT status, target, region, MIN(first_seen) AS oldest, MIN(next_attempt_at) AS next FROM postings
               WHERE status IN ('pending', 'failed') GROUP BY status, target, region`,
          )
          .all() as Raw[]
      ).map((r) => [`${r.status}|${r.target}|${r.region}`, r]),
    );
    return counts.map((r) => {
      const w = waiting.get(`${r.status}|${r.target}|${r.region}`);
      return {
        target: r.target as string,
        region: r.region as string,
        status: r.status as PostingStatus,
        count: r.count as number,
        oldestFirstSeen: (w?.oldest as string | undefined) ?? null,
        nextAttemptAt: (w?.next as string | null | undefined) ?? null,
      };
    });
  }

  /** Writes a target's breaker state; `since` moves only when the state changes. */
  recordBreaker(target: string, state: BreakerState, nextTrialAt: string | null): void {
    const at = this.now();
    this.db
      .prepare(
        `INSERT INTO posting_targets (target, breaker, since, next_trial_at, updated_at) VALUES (?,?,?,?,?)
         ON CONFLICT (target) DO UPDATE SET
           since = CASE WHEN breaker = excluded.breaker THEN since ELSE excluded.since END,
           breaker = excluded.breaker, next_trial_at = excluded.next_trial_at, updated_at = excluded.updated_at`,
      )
      .run(target, state, at, nextTrialAt, at);
  }

  breakers(): BreakerRecord[] {
    return (this.db.prepare("SELECT * FROM posting_targets ORDER BY target").all() as Raw[]).map((r) => ({
      target: r.target as string,
      state: r.breaker as BreakerState,
      since: r.since as string,
      nextTrialAt: (r.next_trial_at as string | null) ?? null,
      updatedAt: r.updated_at as string,
    }));
  }

  recordBacklog(
    target: string,
    region: string,
    input: { queued: number; oldestQueuedAt: string | null },
  ): void {
    this.db
      .prepare(
        `INSERT INTO posting_backlog (target, region, queued, oldest_queued_at, sampled_at) VALUES (?,?,?,?,?)
         ON CONFLICT (target, region) DO UPDATE SET queued = excluded.queued,
           oldest_queued_at = excluded.oldest_queued_at, sampled_at = excluded.sampled_at`,
      )
      .run(target, region, input.queued, input.oldestQueuedAt, this.now());
  }

  backlogs(): BacklogRecord[] {
    return (this.db.prepare("SELECT * FROM posting_backlog ORDER BY target, region").all() as Raw[]).map(
      (r) => ({
        target: r.target as string,
        region: r.region as string,
        queued: r.queued as number,
        oldestQueuedAt: (r.oldest_queued_at as string | null) ?? null,
        sampledAt: r.sampled_at as string,
      }),
    );
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

  /** How long a write waits for another process's lock before SQLITE_BUSY. */
  busyTimeoutMs(): number {
    return this.db.pragma("busy_timeout", { simple: true }) as number;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
