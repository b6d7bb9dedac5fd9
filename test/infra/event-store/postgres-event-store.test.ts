/**
 * The event-store contract against PostgreSQL (the machine's server, a fresh schema per file, dropped
 * after), then the PostgreSQL specifics: append-only schema, the unique fence, idempotent retries,
 * migrations, LISTEN wake-ups, and the gap-free global tail under concurrent writers committing out
 * of order.
 */
import pg from "pg";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  ANY,
  NO_STREAM,
  type RecordedEvent,
  WrongExpectedRevisionError,
} from "../../../infra/event-store/event-store.ts";
import {
  openPostgresEventStore,
  type PostgresEventStore,
} from "../../../infra/event-store/postgres-event-store.ts";
import { lockKeySql, POSTGRES_SCHEMA_VERSION } from "../../../infra/event-store/postgres-schema.ts";
import { describeEventStoreContract, type FullStore } from "./event-store.contract.ts";
import { dropSchema, freshSchemaName, TEST_POSTGRES_URL, withClient } from "./postgres-fixture.ts";

const schemas: string[] = [];
const schemaFor = (label: string): string => {
  const schema = freshSchemaName(label);
  schemas.push(schema);
  return schema;
};
afterAll(async () => {
  for (const schema of schemas) await dropSchema(schema);
});

const contractSchema = schemaFor("contract");
describeEventStoreContract("PostgreSQL", async () => {
  let current: FullStore = await openPostgresEventStore({ url: TEST_POSTGRES_URL, schema: contractSchema });
  return {
    store: current,
    reopen: async () => {
      await current.close();
      current = await openPostgresEventStore({ url: TEST_POSTGRES_URL, schema: contractSchema });
      return current;
    },
    dispose: () => current.close(),
  };
});

const ev = (id: string) => ({ eventId: id, type: "T", data: { id } });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("PostgreSQL event store specifics", () => {
  let schema: string;
  let store: PostgresEventStore;
  const q = (schemaName: string) => pg.escapeIdentifier(schemaName);

  beforeEach(async () => {
    schema = schemaFor("specifics");
    store = await openPostgresEventStore({ url: TEST_POSTGRES_URL, schema });
  });
  afterEach(async () => {
    await store.close();
  });

  it("refuses UPDATE, DELETE and TRUNCATE of events from any client, while snapshots stay mutable", async () => {
    await store.appendToStream("position-a", [ev("a0")], { expectedRevision: NO_STREAM });
    await store.saveSnapshot("position-a", { revision: 0, version: 1, state: {} });
    await withClient(async (c) => {
      await expect(c.query(`UPDATE ${q(schema)}.events SET data = '{}'`)).rejects.toThrow(
        /append-only: UPDATE/,
      );
      await expect(c.query(`DELETE FROM ${q(schema)}.events`)).rejects.toThrow(/append-only: DELETE/);
      await expect(c.query(`TRUNCATE ${q(schema)}.events`)).rejects.toThrow(/append-only: TRUNCATE/);
      expect((await c.query(`DELETE FROM ${q(schema)}.snapshots`)).rowCount).toBe(1);
    });
    expect((await store.readStream("position-a"))[0]?.data).toEqual({ id: "a0" });
  });

  it("fences stream revisions with a unique index, whoever writes", async () => {
    await store.appendToStream("s", [ev("s0")], { expectedRevision: NO_STREAM });
    await withClient(async (c) => {
      await expect(
        c.query(
          `INSERT INTO ${q(schema)}.events (global_position, stream_id, revision, event_id, type, data, recorded_time)
           VALUES (99, 's', 0, 'intruder', 'T', '{}', now())`,
        ),
      ).rejects.toThrow(/unique|duplicate key/);
    });
  });

  it("numbers the global log 1..n without gaps, also across rejected items, and keeps the JSON text", async () => {
    await store.appendMany([
      { streamId: "s1", events: [ev("1"), ev("2")], expectedRevision: NO_STREAM },
      { streamId: "s2", events: [ev("3")], expectedRevision: 4 },
      {
        streamId: "s3",
        events: [{ eventId: "4", type: "T", data: { z: 1, a: 2, "1": 3 } }],
        expectedRevision: NO_STREAM,
      },
    ]);
    await store.appendToStream("s1", [ev("5")], { expectedRevision: 1 });
    const log = await store.readAll({ fromPosition: 0, maxCount: 100 });
    expect(log.map((e) => e.globalPosition)).toEqual([1, 2, 3, 4]);
    expect(log.map((e) => e.eventId)).toEqual(["1", "2", "4", "5"]);
    expect(await store.lastGlobalPosition()).toBe(4);
    const text = await withClient(
      async (c) => (await c.query(`SELECT data FROM ${q(schema)}.events WHERE event_id = '4'`)).rows[0]?.data,
    );
    expect(text).toBe('{"1":3,"z":1,"a":2}');
  });

  it("applies items of one batch in order, so the same stream may appear twice", async () => {
    const outcomes = await store.appendMany([
      { streamId: "s", events: [ev("a")], expectedRevision: NO_STREAM },
      { streamId: "s", events: [ev("b")], expectedRevision: 0 },
      { streamId: "s", events: [ev("c")], expectedRevision: 0 },
    ]);
    expect(outcomes.map((o) => o.ok)).toEqual([true, true, false]);
    expect((await store.readStream("s")).map((e) => e.eventId)).toEqual(["a", "b"]);
    // A conflicting item in between leaves the head as the earlier item made it.
    const more = await store.appendMany([
      { streamId: "s", events: [ev("d")], expectedRevision: 1 },
      { streamId: "s", events: [ev("x")], expectedRevision: 7 },
      { streamId: "t", events: [ev("t0")], expectedRevision: NO_STREAM },
      { streamId: "s", events: [ev("e"), ev("f")], expectedRevision: 2 },
    ]);
    expect(more.map((o) => o.ok)).toEqual([true, false, true, true]);
    expect(more[1]).toMatchObject({ ok: false, error: { expected: 7, actual: 2 } });
    expect(more[3]).toMatchObject({ ok: true, nextExpectedRevision: 4, lastGlobalPosition: 6 });
    expect((await store.readStream("s")).map((e) => [e.eventId, e.revision, e.globalPosition])).toEqual([
      ["a", 0, 1],
      ["b", 1, 2],
      ["d", 2, 3],
      ["e", 3, 5],
      ["f", 4, 6],
    ]);
  });

  it("makes a retried append idempotent: the same event ids at the same revisions succeed once, written once", async () => {
    const first = await store.appendToStream("p", [ev("p0"), ev("p1")], { expectedRevision: NO_STREAM });
    const retry = await store.appendToStream("p", [ev("p0"), ev("p1")], { expectedRevision: NO_STREAM });
    expect(retry).toEqual(first);
    await store.appendToStream("p", [ev("p2")], { expectedRevision: 1 });
    // Still idempotent after later appends; another id at that slot is a conflict.
    expect(await store.appendToStream("p", [ev("p2")], { expectedRevision: 1 })).toMatchObject({
      nextExpectedRevision: 2,
    });
    await expect(store.appendToStream("p", [ev("other")], { expectedRevision: 1 })).rejects.toMatchObject({
      expected: 1,
      actual: 2,
    });
    await expect(
      store.appendToStream("p", [ev("p1"), ev("p0")], { expectedRevision: NO_STREAM }),
    ).rejects.toBeInstanceOf(WrongExpectedRevisionError);
    // Any: a repeat of the stream's last events is the same append.
    const any = await store.appendToStream("p", [ev("p3")], { expectedRevision: ANY });
    expect(await store.appendToStream("p", [ev("p3")], { expectedRevision: ANY })).toEqual(any);
    expect((await store.readStream("p")).map((e) => e.eventId)).toEqual(["p0", "p1", "p2", "p3"]);
  });

  it("survives a killed connection: the pool reconnects and the append goes through once", async () => {
    await store.appendToStream("k", [ev("k0")], { expectedRevision: NO_STREAM });
    await withClient(async (c) => {
      await c.query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND datname = current_database() AND query LIKE '%append_events%'",
      );
    });
    await store.appendToStream("k", [ev("k1")], { expectedRevision: 0 });
    expect((await store.readStream("k")).map((e) => e.eventId)).toEqual(["k0", "k1"]);
  });

  it("retries an append whose connection died mid-statement, and writes it once", async () => {
    await withClient(async (holder) => {
      // Hold the store's append lock so the append waits inside its statement, then kill its backend.
      await holder.query("BEGIN");
      await holder.query(`SELECT pg_advisory_xact_lock(${lockKeySql(schema)})`);
      const append = store.appendToStream("m", [ev("m0")], { expectedRevision: NO_STREAM });
      await expect
        .poll(
          async () =>
            (
              await holder.query(
                // Exactly the backends our lock holds up, whatever their statement's text looks like.
                "SELECT pg_terminate_backend(pid) AS killed FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND pg_backend_pid() = ANY(pg_blocking_pids(pid))",
              )
            ).rowCount,
          // Under load the pool may take seconds to connect and send the statement.
          { timeout: 30_000, interval: 100 },
        )
        .toBe(1);
      await sleep(200); // the retry now waits for the lock too
      await holder.query("COMMIT");
      expect(await append).toMatchObject({ nextExpectedRevision: 0 });
    });
    expect((await store.readStream("m")).map((e) => e.eventId)).toEqual(["m0"]);
  });

  it("rejects NUL in ids naming the field, before writing anything", async () => {
    await expect(
      store.appendMany([
        { streamId: "ok", events: [ev("x")], expectedRevision: ANY },
        { streamId: "bad", events: [ev("a\u0000b")], expectedRevision: ANY },
      ]),
    ).rejects.toThrow(/event 0 of stream "bad": eventId: expected no NUL/);
    expect(await store.readAll({ fromPosition: 0, maxCount: 10 })).toEqual([]);
  });

  it("records the schema version, migrates idempotently and refuses a newer schema", async () => {
    const again = await openPostgresEventStore({ url: TEST_POSTGRES_URL, schema });
    await again.close();
    await withClient(async (c) => {
      const rows = (await c.query(`SELECT version FROM ${q(schema)}.schema_version ORDER BY version`)).rows;
      expect(rows.map((r) => r.version)).toEqual([POSTGRES_SCHEMA_VERSION]);
      await c.query(
        `INSERT INTO ${q(schema)}.schema_version (version) VALUES (${POSTGRES_SCHEMA_VERSION + 1})`,
      );
    });
    await expect(openPostgresEventStore({ url: TEST_POSTGRES_URL, schema })).rejects.toThrow(
      /schema version 2 is newer than this code \(1\)/,
    );
    await expect(openPostgresEventStore({ url: TEST_POSTGRES_URL, schema: "Bad-Name" })).rejects.toThrow(
      /schema: expected lower-case/,
    );
  });

  it("wakes listeners of another store on the same schema (another node's commits) through NOTIFY", async () => {
    const other = await openPostgresEventStore({ url: TEST_POSTGRES_URL, schema });
    try {
      const heard: number[] = [];
      other.onAppended((p) => heard.push(p));
      await sleep(300); // LISTEN is set up in the background
      const { lastGlobalPosition } = await store.appendToStream("n", [ev("n0")], {
        expectedRevision: NO_STREAM,
      });
      await expect.poll(() => heard.includes(lastGlobalPosition), { timeout: 5000 }).toBe(true);
    } finally {
      await other.close();
    }
  });

  it("finds events by correlation id (lineage), in commit order", async () => {
    await store.appendMany([
      {
        streamId: "a",
        events: [{ eventId: "a0", type: "T", data: { correlationId: "c1" } }],
        expectedRevision: ANY,
      },
      {
        streamId: "b",
        events: [{ eventId: "b0", type: "T", data: { correlationId: "c2" } }],
        expectedRevision: ANY,
      },
      {
        streamId: "b",
        events: [{ eventId: "b1", type: "T", data: { correlationId: "c1" } }],
        expectedRevision: ANY,
      },
    ]);
    expect((await store.readByCorrelationId("c1")).map((e) => e.eventId)).toEqual(["a0", "b1"]);
  });
});

describe("PostgreSQL global log under concurrent writers committing out of order", () => {
  it("a tailing reader never skips an event that later appears below its checkpoint", async () => {
    const schema = schemaFor("tail");
    const writers = await Promise.all(
      [0, 1, 2].map(() => openPostgresEventStore({ url: TEST_POSTGRES_URL, schema, maxConnections: 3 })),
    );
    const reader = await openPostgresEventStore({ url: TEST_POSTGRES_URL, schema });
    const appended = new Set<string>();
    let writing = true;
    try {
      // Store writers: group commits of several streams from several pools, with random pauses.
      const storeWriter = async (w: number, store: PostgresEventStore) => {
        for (let round = 0; round < 25; round++) {
          const batch = [0, 1, 2].map((k) => {
            const id = `w${w}r${round}k${k}`;
            return { streamId: `s${w}.${k}`, events: [ev(id)], expectedRevision: ANY };
          });
          for (const o of await store.appendMany(batch)) expect(o.ok).toBe(true);
          for (const b of batch) appended.add(b.events[0]!.eventId);
          await sleep(Math.random() * 8);
        }
      };
      // Slow transactions: the same append function, then a random wait before COMMIT, so that
      // transactions started later would commit earlier if positions were handed out at insert time.
      const slowWriter = async (w: number) =>
        withClient(async (c) => {
          for (let round = 0; round < 15; round++) {
            const id = `slow${w}r${round}`;
            await c.query("BEGIN");
            await c.query(
              `SELECT * FROM ${pg.escapeIdentifier(schema)}.append_events($1, $2, $3, $4, $5, $6, $7, $8)`,
              [[`slow${w}`], [-3], [1], [id], ["T"], [JSON.stringify({ id })], [null], [null]],
            );
            await sleep(Math.random() * 15);
            await c.query("COMMIT");
            appended.add(id);
            await sleep(Math.random() * 5);
          }
        });
      const seen: RecordedEvent[] = [];
      const tail = (async () => {
        let checkpoint = 0;
        for (;;) {
          const page = await reader.readAll({ fromPosition: checkpoint, maxCount: 7 });
          seen.push(...page);
          if (page.length > 0) checkpoint = page[page.length - 1]!.globalPosition;
          else if (!writing) return;
          else await sleep(Math.random() * 3);
        }
      })();
      await Promise.all([...writers.map((s, w) => storeWriter(w, s)), slowWriter(0), slowWriter(1)]);
      writing = false;
      await tail;

      const log = await reader.readAll({ fromPosition: 0, maxCount: 100_000 });
      expect(log).toHaveLength(3 * 25 * 3 + 2 * 15);
      expect(new Set(log.map((e) => e.eventId))).toEqual(appended);
      expect(log.map((e) => e.globalPosition)).toEqual(log.map((_, i) => i + 1));
      // What the tailer saw, page after page from its checkpoint, is the whole log in the same order.
      expect(seen.map((e) => e.globalPosition)).toEqual(log.map((e) => e.globalPosition));
      expect(seen.map((e) => e.eventId)).toEqual(log.map((e) => e.eventId));
    } finally {
      writing = false;
      for (const s of writers) await s.close();
      await reader.close();
    }
  }, 60_000);
});
