/**
 * The API's own durable records, in SQLite (`<dataDir>/api.db`, WAL, synchronous FULL):
 *
 * - `requests`: idempotency of `POST /v1/reservations` per caller and `Idempotency-Key`: the request
 *   hash, when it started (the business time of its commands, so a retry rebuilds byte-identical
 *   commands that the node answers as duplicates), the last location attempted, and the final answer.
 * - `reservations`: the index of reservations placed through this API (the position is also encoded
 *   in the id, so any instance can find a reservation without it), with their state:
 *   `confirmed` (the region accepted), `held` (degraded: accepted here within the constrained ATP,
 *   not yet sent), `compensated` (a held reservation the region refused on return), `released`,
 *   `expiredWhileHeld`.
 * - `outbox`: commands that must reach a region but could not yet (a release while the region was
 *   unreachable, the release of an attempt whose answer was lost); sent by the reconciler.
 */
import { mkdirSync } from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";

export type ReservationState = "confirmed" | "held" | "compensated" | "released" | "expiredWhileHeld";

export interface ReservationRow {
  readonly id: string;
  readonly caller: string;
  readonly region: string;
  readonly location: string;
  readonly sku: string;
  readonly quantity: number;
  readonly channel: string;
  readonly expiresAt: string;
  readonly state: ReservationState;
  /** The placeReservation command, sent verbatim (and resent verbatim when a hold is confirmed). */
  readonly command: string;
  readonly detail: string | null;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export interface ReservationAction {
  readonly action: string;
  /** The API key's name. */
  readonly by: string;
  readonly at: string;
}

export interface RequestRow {
  readonly caller: string;
  readonly idemKey: string;
  readonly requestHash: string;
  readonly startedAt: string;
  /** The last placeReservation command sent for this request (its outcome may be unknown). */
  readonly lastAttempt: string | null;
  /** The recorded outcome of a finished request (replayed to a repeat); undefined while unfinished. */
  readonly outcome: unknown;
}

/** `status_code` of a request whose `response` is the service's outcome (older rows hold HTTP answers). */
const OUTCOME_RECORDED = 0;

/** An answer recorded by an older version as HTTP status and body: placements are replayed, the rest decided anew. */
const legacyOutcome = (status: number, body: Record<string, unknown>): unknown =>
  status === 201
    ? { kind: "confirmed", reservation: body, duplicate: body.duplicate === true }
    : status === 202
      ? { kind: "held", reservation: body, message: String(body.message ?? "") }
      : undefined;

const recordedOutcome = (status: number | null, response: string | null): unknown => {
  if (status === null || response === null) return undefined;
  const parsed = JSON.parse(response) as Record<string, unknown>;
  return status === OUTCOME_RECORDED ? parsed : legacyOutcome(status, parsed);
};

export interface OutboxRow {
  readonly seq: number;
  readonly region: string;
  readonly reservationId: string;
  readonly command: string;
  readonly reason: string;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS requests (
  caller TEXT NOT NULL, idem_key TEXT NOT NULL, request_hash TEXT NOT NULL, started_at TEXT NOT NULL,
  last_attempt TEXT, status_code INTEGER, response TEXT,
  PRIMARY KEY (caller, idem_key)
);
CREATE TABLE IF NOT EXISTS reservations (
  id TEXT PRIMARY KEY, caller TEXT NOT NULL, region TEXT NOT NULL, location TEXT NOT NULL, sku TEXT NOT NULL,
  quantity INTEGER NOT NULL, channel TEXT NOT NULL, expires_at TEXT NOT NULL, state TEXT NOT NULL,
  command TEXT NOT NULL, detail TEXT, created_at TEXT NOT NULL, updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS reservations_state ON reservations (state, region);
CREATE TABLE IF NOT EXISTS reservation_actions (
  reservation_id TEXT NOT NULL, action TEXT NOT NULL, by TEXT NOT NULL, at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS reservation_actions_id ON reservation_actions (reservation_id);
CREATE TABLE IF NOT EXISTS outbox (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, region TEXT NOT NULL, reservation_id TEXT NOT NULL,
  command TEXT NOT NULL, reason TEXT NOT NULL, created_at TEXT NOT NULL
);
`;

const posKey = (region: string, location: string, sku: string): string =>
  `${region}\u0000${location}\u0000${sku}`;

export class ReservationStore {
  private readonly db: Database.Database;
  /** Held quantity per position, kept in memory for the availability hot path. */
  private readonly held = new Map<string, number>();
  private readonly listeners = new Set<(sku: string) => void>();

  constructor(file: string) {
    mkdirSync(path.dirname(file), { recursive: true });
    this.db = new Database(file);
    this.db.pragma("journal_mode = WAL");
    this.db.pragma("synchronous = FULL");
    this.db.exec(SCHEMA);
    for (const r of this.db
      .prepare(
        "SELECT region, location, sku, SUM(quantity) AS q FROM reservations WHERE state = 'held' GROUP BY 1, 2, 3",
      )
      .all() as Array<{ region: string; location: string; sku: string; q: number }>)
      this.held.set(posKey(r.region, r.location, r.sku), r.q);
  }

  close(): void {
    this.db.close();
  }

  // --- holds (degraded) ------------------------------------------------------------------------------

  heldAt(region: string, location: string, sku: string): number {
    return this.held.get(posKey(region, location, sku)) ?? 0;
  }

  onChange(listener: (sku: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private heldSum(region: string, location: string, sku: string): number {
    const row = this.db
      .prepare(
        "SELECT COALESCE(SUM(quantity), 0) AS q FROM reservations WHERE state = 'held' AND region = ? AND location = ? AND sku = ?",
      )
      .get(region, location, sku) as { q: number };
    return row.q;
  }

  private recountHeld(region: string, location: string, sku: string): void {
    const q = this.heldSum(region, location, sku);
    if (q > 0) this.held.set(posKey(region, location, sku), q);
    else this.held.delete(posKey(region, location, sku));
    for (const l of this.listeners) l(sku);
  }

  /** Inserts a new row in `state`; `onConflict` says what an existing id does. */
  private insert(
    row: Omit<ReservationRow, "state" | "detail" | "createdAt" | "updatedAt">,
    state: "held" | "confirmed",
    onConflict: string,
  ): void {
    const now = new Date().toISOString();
    this.db
      .prepare(
        `INSERT INTO reservations (id, caller, region, location, sku, quantity, channel, expires_at, state, command, detail, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?)
         ON CONFLICT (id) ${onConflict}`,
      )
      .run(
        row.id,
        row.caller,
        row.region,
        row.location,
        row.sku,
        row.quantity,
        row.channel,
        row.expiresAt,
        state,
        row.command,
        now,
        now,
      );
  }

  /**
   * Records a degraded hold if `quantity` fits within `limit` (the constrained ATP) less what is held
   * already at the position; atomic (one SQLite transaction), so concurrent holds never exceed it.
   */
  tryHold(row: Omit<ReservationRow, "state" | "detail" | "createdAt" | "updatedAt">, limit: number): boolean {
    const ok = this.db.transaction(() => {
      if (this.heldSum(row.region, row.location, row.sku) + row.quantity > limit) return false;
      this.insert(row, "held", "DO NOTHING");
      return true;
    })();
    if (ok) this.recountHeld(row.region, row.location, row.sku);
    return ok;
  }

  /** Records (or updates) a reservation the region accepted. */
  recordConfirmed(row: Omit<ReservationRow, "state" | "detail" | "createdAt" | "updatedAt">): void {
    this.insert(row, "confirmed", "DO UPDATE SET state = 'confirmed', updated_at = excluded.updated_at");
  }

  /**
   * Moves a reservation from state `from` to `to` (with a reason for an operator); false when it was
   * not in `from` any more (e.g. released by its caller while the reconciler was confirming it).
   */
  transition(id: string, from: ReservationState, to: ReservationState, detail?: string): boolean {
    const r = this.get(id);
    if (!r || r.state !== from) return false;
    const info = this.db
      .prepare("UPDATE reservations SET state = ?, detail = ?, updated_at = ? WHERE id = ? AND state = ?")
      .run(to, detail ?? null, new Date().toISOString(), id, from);
    if (info.changes === 1 && (from === "held" || to === "held"))
      this.recountHeld(r.region, r.location, r.sku);
    return info.changes === 1;
  }

  /** Records who did what to a reservation (a release by its caller or an operator), and when. */
  recordAction(id: string, action: string, by: string): ReservationAction {
    const at = new Date().toISOString();
    this.db
      .prepare("INSERT INTO reservation_actions (reservation_id, action, by, at) VALUES (?, ?, ?, ?)")
      .run(id, action, by, at);
    return { action, by, at };
  }

  actions(id: string): ReservationAction[] {
    return this.db
      .prepare("SELECT action, by, at FROM reservation_actions WHERE reservation_id = ? ORDER BY rowid")
      .all(id) as ReservationAction[];
  }

  get(id: string): ReservationRow | undefined {
    const r = this.db.prepare("SELECT * FROM reservations WHERE id = ?").get(id) as
      | Record<string, unknown>
      | undefined;
    return r ? toReservation(r) : undefined;
  }

  /** Held reservations, oldest first (optionally of one region). */
  heldReservations(region?: string): ReservationRow[] {
    const rows = (
      region
        ? this.db
            .prepare("SELECT * FROM reservations WHERE state = 'held' AND region = ? ORDER BY created_at, id")
            .all(region)
        : this.db.prepare("SELECT * FROM reservations WHERE state = 'held' ORDER BY created_at, id").all()
    ) as Record<string, unknown>[];
    return rows.map(toReservation);
  }

  /** Reservations in the given states (for the operator's view of degraded mode). */
  list(states: readonly ReservationState[], limit = 500): ReservationRow[] {
    const marks = states.map(() => "?").join(",");
    return (
      this.db
        .prepare(`SELECT * FROM reservations WHERE state IN (${marks}) ORDER BY updated_at DESC LIMIT ?`)
        .all(...states, limit) as Record<string, unknown>[]
    ).map(toReservation);
  }

  // --- idempotency of requests -----------------------------------------------------------------------

  /** Starts a request or returns the existing record of this caller's key. */
  beginRequest(caller: string, idemKey: string, requestHash: string): { row: RequestRow; created: boolean } {
    const now = new Date().toISOString();
    const info = this.db
      .prepare(
        "INSERT INTO requests (caller, idem_key, request_hash, started_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
      )
      .run(caller, idemKey, requestHash, now);
    return { row: this.request(caller, idemKey)!, created: info.changes === 1 };
  }

  request(caller: string, idemKey: string): RequestRow | undefined {
    const r = this.db
      .prepare("SELECT * FROM requests WHERE caller = ? AND idem_key = ?")
      .get(caller, idemKey) as Record<string, unknown> | undefined;
    return r
      ? {
          caller: r.caller as string,
          idemKey: r.idem_key as string,
          requestHash: r.request_hash as string,
          startedAt: r.started_at as string,
          lastAttempt: (r.last_attempt as string | null) ?? null,
          outcome: recordedOutcome(
            (r.status_code as number | null) ?? null,
            (r.response as string | null) ?? null,
          ),
        }
      : undefined;
  }

  noteAttempt(caller: string, idemKey: string, command: string): void {
    this.db
      .prepare("UPDATE requests SET last_attempt = ? WHERE caller = ? AND idem_key = ?")
      .run(command, caller, idemKey);
  }

  /** Records the final outcome of a request, replayed to every repeat. */
  finishRequest(caller: string, idemKey: string, outcome: unknown): void {
    this.db
      .prepare("UPDATE requests SET status_code = ?, response = ? WHERE caller = ? AND idem_key = ?")
      .run(OUTCOME_RECORDED, JSON.stringify(outcome), caller, idemKey);
  }

  /** Forgets an unfinished request (its outcome was not final: not decided), so that a retry starts afresh. */
  abandonRequest(caller: string, idemKey: string): void {
    this.db
      .prepare("DELETE FROM requests WHERE caller = ? AND idem_key = ? AND status_code IS NULL")
      .run(caller, idemKey);
  }

  // --- outbox ----------------------------------------------------------------------------------------

  enqueue(region: string, reservationId: string, command: string, reason: string): void {
    this.db
      .prepare(
        "INSERT INTO outbox (region, reservation_id, command, reason, created_at) VALUES (?, ?, ?, ?, ?)",
      )
      .run(region, reservationId, command, reason, new Date().toISOString());
  }

  outbox(region?: string): OutboxRow[] {
    const rows = (
      region
        ? this.db.prepare("SELECT * FROM outbox WHERE region = ? ORDER BY seq").all(region)
        : this.db.prepare("SELECT * FROM outbox ORDER BY seq").all()
    ) as Array<Record<string, unknown>>;
    return rows.map((r) => ({
      seq: r.seq as number,
      region: r.region as string,
      reservationId: r.reservation_id as string,
      command: r.command as string,
      reason: r.reason as string,
    }));
  }

  dequeue(seq: number): void {
    this.db.prepare("DELETE FROM outbox WHERE seq = ?").run(seq);
  }
}

const toReservation = (r: Record<string, unknown>): ReservationRow => ({
  id: r.id as string,
  caller: r.caller as string,
  region: r.region as string,
  location: r.location as string,
  sku: r.sku as string,
  quantity: r.quantity as number,
  channel: r.channel as string,
  expiresAt: r.expires_at as string,
  state: r.state as ReservationState,
  command: r.command as string,
  detail: (r.detail as string | null) ?? null,
  createdAt: r.created_at as string,
  updatedAt: r.updated_at as string,
});
