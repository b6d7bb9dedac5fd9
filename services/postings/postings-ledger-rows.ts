/**
 * The postings ledger's tables (SQLite) and how their rows read: the schema, columns added since
 * the first release, and the row types the ledger answers with (postings-ledger.ts).
 */
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
  /** When the next attempt of a `failed` posting is due. */
  readonly nextAttemptAt: string | null;
}

export interface PostingAttempt {
  readonly attempt: number;
  readonly at: string;
  readonly outcome: string;
  readonly error: string | null;
  readonly callMs: number | null;
}

export const SCHEMA = `
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
CREATE TABLE IF NOT EXISTS posting_targets (
  target        TEXT PRIMARY KEY,
  breaker       TEXT NOT NULL,
  since         TEXT NOT NULL,
  next_trial_at TEXT,
  updated_at    TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS posting_backlog (
  target           TEXT NOT NULL,
  region           TEXT NOT NULL,
  queued           INTEGER NOT NULL,
  oldest_queued_at TEXT,
  sampled_at       TEXT NOT NULL,
  PRIMARY KEY (target, region)
);
`;

/** Columns added after the first release: added to an existing file when it is opened. */
export const ADDED_COLUMNS: readonly [table: string, column: string, type: string][] = [
  ["postings", "next_attempt_at", "TEXT"],
];

/**
 * Indexes over added columns: made once those exist. The summary's covers its queries (no row is
 * read): counts scan it, the oldest and next of what waits seek to `pending` and `failed`.
 */
export const INDEXES_AFTER_COLUMNS = `
CREATE INDEX IF NOT EXISTS postings_summary ON postings (status, target, region, first_seen, next_attempt_at);
`;

export type BreakerState = "closed" | "halfOpen" | "open";

/** A target's circuit breaker as its worker last wrote it. */
export interface BreakerRecord {
  readonly target: string;
  readonly state: BreakerState;
  readonly since: string;
  /** When an open breaker lets its next trial call through. */
  readonly nextTrialAt: string | null;
  readonly updatedAt: string;
}

/** Events of a region a target's worker has not read yet (its consumer's `num_pending`), sampled. */
export interface BacklogRecord {
  readonly target: string;
  readonly region: string;
  readonly queued: number;
  readonly oldestQueuedAt: string | null;
  readonly sampledAt: string;
}

/** Postings of one target in one region and status, with the oldest and the next attempt among them. */
export interface StatusFigure {
  readonly target: string;
  readonly region: string;
  readonly status: PostingStatus;
  readonly count: number;
  /** Of `pending` and `failed` postings only (null for the others). */
  readonly oldestFirstSeen: string | null;
  readonly nextAttemptAt: string | null;
}

export interface PostingAction {
  readonly action: string;
  readonly by: string;
  readonly at: string;
}

export type Raw = Record<string, unknown>;
export const toRow = (r: Raw): PostingRow => ({
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
  nextAttemptAt: (r.next_attempt_at as string | null) ?? null,
});
