/**
 * The PostgreSQL event store's schema and its migrations (postgres-event-store.ts). Every object
 * lives in one schema named per instance, so tests (and several regions on one server) are isolated.
 * Migrations are idempotent (`IF NOT EXISTS`, `CREATE OR REPLACE`), applied in order under an
 * advisory lock and recorded in `schema_version`; a database newer than the code is refused.
 * Needs PostgreSQL 14 or later (`CREATE OR REPLACE TRIGGER`).
 */
import type pg from "pg";

export const POSTGRES_SCHEMA_VERSION = 1;

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** A schema name the store accepts: lower-case letters, digits and `_`, at most 63 bytes. */
export const isSchemaName = (u: unknown): u is string => typeof u === "string" && SCHEMA_NAME.test(u);

export const checkSchemaName = (schema: string): string => {
  if (!isSchemaName(schema)) {
    throw new TypeError(
      `schema: expected lower-case letters, digits and _ (at most 63, not starting with a digit), got ${JSON.stringify(schema)}`,
    );
  }
  return schema;
};

/**
 * Key of the schema's advisory lock: the one lock every writer of the log takes (see the
 * append function). Derived from the schema name, so two schemas on one server do not wait on each
 * other (a hash collision would only serialise them, never break them).
 */
export const lockKeySql = (schema: string): string => `hashtextextended('stockline.events.${schema}', 0)`;

/** The channel NOTIFY wakes listeners on, per schema. */
export const notifyChannel = (schema: string): string => `stockline_events_${schema}`.slice(0, 63);

/**
 * `append_events`: the group commit, in one statement (one round trip, the lock held for no network
 * wait). Items are applied in order; each is checked against its stream's head as it is at that
 * point of the batch (so a stream may appear twice). Expected revisions are encoded: >= 0 a revision,
 * -1 no stream, -2 stream exists, -3 any.
 *
 * Why the global log is gap-free and never visible out of order: positions are allocated as
 * max(global_position)+1 while holding a transaction-scoped advisory lock that every appender takes
 * first, and that lock is released only after the transaction's commit is visible (PostgreSQL ends
 * the transaction in the proc array before it releases its locks). So the transaction that gets
 * position p commits after every transaction holding a lower position is visible, and a reader that
 * sees p sees everything below it: the relay may checkpoint at the last position it read. A rolled
 * back transaction gives its positions back (the next one allocates them again), so the log is
 * 1-based and gap-free like SQLite's. The lock is taken in its own statement before the reads, so
 * the reads (READ COMMITTED: a snapshot per statement) see the previous holder's rows.
 *
 * The price: appends to one store are serialised (as SQLite's write lock does), commits included.
 * A group commit carries many streams, so that is one commit per batch, not per command.
 *
 * UNIQUE (stream_id, revision) is the fence: whatever a client does, two events never share a
 * stream revision (a writer that skipped the lock fails on it instead of overwriting).
 *
 * Idempotent retry: when the revision check fails (or with any / stream exists) but the stream already
 * holds exactly these event ids where this append would have written (a retry after a lost COMMIT
 * reply), the item succeeds with the positions they have, and nothing is written twice. Only for an
 * item whose stream is not earlier in the same batch: the batch's own rows are inserted at its end.
 *
 * Cost: one read of the heads of all streams, a loop of array arithmetic, one INSERT of all rows.
 */
const appendFunction = (s: string, lockKey: string, channel: string): string => `
CREATE OR REPLACE FUNCTION ${s}.append_events(
  p_streams text[], p_expected bigint[], p_counts int[],
  p_event_ids text[], p_types text[], p_data text[], p_metadata text[], p_correlation text[]
) RETURNS TABLE (ok boolean, actual bigint, next_revision bigint, last_position bigint)
LANGUAGE plpgsql AS $fn$
DECLARE
  v_count int := coalesce(array_length(p_streams, 1), 0);
  v_pos bigint;
  v_at timestamptz;
  v_offset int := 0;
  v_n int;
  v_expected bigint;
  v_head_rev bigint;
  v_head_pos bigint;
  v_match boolean;
  v_from bigint;
  -- Heads as read before the batch, and the previous item of the same stream in this batch.
  h_rev bigint[];
  h_pos bigint[];
  h_prev int[];
  -- Each item's stream head after it (what a later item of the same stream is checked against).
  c_rev bigint[] := '{}';
  c_pos bigint[] := '{}';
  o_ok boolean[] := '{}';
  o_actual bigint[] := '{}';
  o_next bigint[] := '{}';
  o_last bigint[] := '{}';
  -- The rows to insert: event index in the p_ arrays, position, stream, revision.
  r_src int[] := '{}';
  r_pos bigint[] := '{}';
  r_stream text[] := '{}';
  r_rev bigint[] := '{}';
  r_count int := 0;
BEGIN
  PERFORM pg_advisory_xact_lock(${lockKey});
  SELECT coalesce(max(e.global_position), 0) INTO v_pos FROM ${s}.events e;
  v_at := clock_timestamp();
  SELECT array_agg(h.revision ORDER BY it.i), array_agg(h.global_position ORDER BY it.i),
         array_agg(it.prev::int ORDER BY it.i)
    INTO h_rev, h_pos, h_prev
    FROM (SELECT u.i, u.sid, lag(u.i) OVER (PARTITION BY u.sid ORDER BY u.i) AS prev
            FROM unnest(p_streams) WITH ORDINALITY AS u(sid, i)) it
    LEFT JOIN LATERAL (SELECT e.revision, e.global_position FROM ${s}.events e
                        WHERE e.stream_id = it.sid ORDER BY e.revision DESC LIMIT 1) h ON true;
  FOR i IN 1 .. v_count LOOP
    v_n := p_counts[i];
    v_expected := p_expected[i];
    IF h_prev[i] IS NULL THEN
      v_head_rev := h_rev[i];
      v_head_pos := h_pos[i];
    ELSE
      v_head_rev := c_rev[h_prev[i]];
      v_head_pos := c_pos[h_prev[i]];
    END IF;
    v_match := CASE
      WHEN v_expected = -3 THEN true
      WHEN v_expected = -2 THEN v_head_rev IS NOT NULL
      WHEN v_expected = -1 THEN v_head_rev IS NULL
      ELSE v_head_rev = v_expected
    END;
    -- A retry of an append that committed (first item of its stream in the batch only): where
    -- this append would have written (after the expected revision; for any and stream exists, the
    -- stream's last events) already holds exactly these event ids.
    v_from := CASE WHEN v_expected >= -1 THEN v_expected + 1 ELSE coalesce(v_head_rev, -1) - v_n + 1 END;
    IF (NOT v_match OR v_expected < -1) AND h_prev[i] IS NULL AND v_n > 0 AND v_head_rev IS NOT NULL
       AND v_from >= 0 AND v_head_rev >= v_from + v_n - 1
       AND (SELECT array_agg(e.event_id ORDER BY e.revision) FROM ${s}.events e
             WHERE e.stream_id = p_streams[i] AND e.revision BETWEEN v_from AND v_from + v_n - 1)
           = p_event_ids[v_offset + 1 : v_offset + v_n] THEN
      o_ok[i] := true;
      o_actual[i] := v_head_rev;
      o_next[i] := v_from + v_n - 1;
      o_last[i] := (SELECT e.global_position FROM ${s}.events e
                     WHERE e.stream_id = p_streams[i] AND e.revision = v_from + v_n - 1);
      c_rev[i] := v_head_rev;
      c_pos[i] := v_head_pos;
    ELSIF v_match THEN
      FOR g IN 1 .. v_n LOOP
        -- Subscript assignment extends the arrays in place (\`||\` would copy them each time).
        r_count := r_count + 1;
        r_src[r_count] := v_offset + g;
        r_pos[r_count] := v_pos + g;
        r_stream[r_count] := p_streams[i];
        r_rev[r_count] := coalesce(v_head_rev, -1) + g;
      END LOOP;
      o_ok[i] := true;
      o_actual[i] := v_head_rev;
      o_next[i] := coalesce(v_head_rev, -1) + v_n;
      IF v_n > 0 THEN
        v_pos := v_pos + v_n;
        o_last[i] := v_pos;
        c_rev[i] := o_next[i];
        c_pos[i] := v_pos;
      ELSE
        o_last[i] := coalesce(v_head_pos, 0);
        c_rev[i] := v_head_rev;
        c_pos[i] := v_head_pos;
      END IF;
    ELSE
      o_ok[i] := false;
      o_actual[i] := v_head_rev;
      o_next[i] := NULL;
      o_last[i] := NULL;
      c_rev[i] := v_head_rev;
      c_pos[i] := v_head_pos;
    END IF;
    v_offset := v_offset + v_n;
  END LOOP;
  IF r_count > 0 THEN
    INSERT INTO ${s}.events
      (global_position, stream_id, revision, event_id, type, data, metadata, correlation_id, recorded_time)
    SELECT r.pos, r.sid, r.rev, p_event_ids[r.src], p_types[r.src], p_data[r.src],
           p_metadata[r.src], p_correlation[r.src], v_at
      FROM unnest(r_src, r_pos, r_stream, r_rev) AS r(src, pos, sid, rev);
    PERFORM pg_notify('${channel}', v_pos::text);
  END IF;
  RETURN QUERY SELECT * FROM unnest(o_ok, o_actual, o_next, o_last);
END
$fn$;`;

/** The migrations, in order: migration i brings the schema to version i + 1. */
const migrations = (schema: string): string[] => {
  const s = `"${schema}"`;
  return [
    `
CREATE TABLE IF NOT EXISTS ${s}.events (
  global_position bigint      PRIMARY KEY CHECK (global_position > 0),
  stream_id       text        COLLATE "C" NOT NULL CHECK (length(stream_id) > 0),
  revision        bigint      NOT NULL CHECK (revision >= 0),
  event_id        text        NOT NULL,
  type            text        NOT NULL,
  data            text        NOT NULL,
  metadata        text,
  correlation_id  text,
  recorded_time   timestamptz NOT NULL,
  UNIQUE (stream_id, revision)
);
-- Lineage (audit trace): the correlationId found at the top of data at append time.
CREATE INDEX IF NOT EXISTS events_by_correlation ON ${s}.events (correlation_id)
  WHERE correlation_id IS NOT NULL;
CREATE OR REPLACE FUNCTION ${s}.events_are_append_only() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  RAISE EXCEPTION 'events are append-only: % is not allowed', TG_OP USING ERRCODE = 'restrict_violation';
END
$fn$;
CREATE OR REPLACE TRIGGER events_are_append_only BEFORE UPDATE OR DELETE ON ${s}.events
  FOR EACH ROW EXECUTE FUNCTION ${s}.events_are_append_only();
CREATE OR REPLACE TRIGGER events_are_append_only_truncate BEFORE TRUNCATE ON ${s}.events
  FOR EACH STATEMENT EXECUTE FUNCTION ${s}.events_are_append_only();
CREATE TABLE IF NOT EXISTS ${s}.snapshots (
  stream_id  text        COLLATE "C" PRIMARY KEY,
  revision   bigint      NOT NULL,
  version    text        NOT NULL,
  state      text        NOT NULL,
  saved_time timestamptz NOT NULL
);
CREATE TABLE IF NOT EXISTS ${s}.checkpoints (
  name         text        PRIMARY KEY,
  position     bigint      NOT NULL,
  updated_time timestamptz NOT NULL
);
${appendFunction(s, lockKeySql(schema), notifyChannel(schema))}`,
  ];
};

/**
 * Creates or migrates the schema. Concurrent openers (two nodes starting) wait on one advisory
 * lock, so each migration runs once.
 */
export const migrate = async (pool: pg.Pool, schema: string): Promise<number> => {
  const s = `"${schema}"`;
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    await client.query(`SELECT pg_advisory_xact_lock(hashtextextended('stockline.migrate.${schema}', 0))`);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${s}`);
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${s}.schema_version (
         version integer PRIMARY KEY, applied_time timestamptz NOT NULL DEFAULT now())`,
    );
    const found = await client.query<{ v: number | null }>(
      `SELECT max(version) AS v FROM ${s}.schema_version`,
    );
    const current = found.rows[0]?.v ?? 0;
    if (current > POSTGRES_SCHEMA_VERSION) {
      throw new Error(
        `schema ${schema}: event-store schema version ${current} is newer than this code (${POSTGRES_SCHEMA_VERSION})`,
      );
    }
    const all = migrations(schema);
    for (let v = current; v < all.length; v++) {
      await client.query(all[v]!);
      await client.query(`INSERT INTO ${s}.schema_version (version) VALUES ($1)`, [v + 1]);
    }
    await client.query("COMMIT");
    return POSTGRES_SCHEMA_VERSION;
  } catch (err) {
    await client.query("ROLLBACK").catch(() => {});
    throw err;
  } finally {
    client.release();
  }
};
