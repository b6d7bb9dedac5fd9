/**
 * Runs the event-store contract against SQLite (in memory and on a temp file, always) and against
 * EventStoreDB when EVENTSTORE_URL is set. To run it against a real server:
 *
 *   docker run --rm -p 2113:2113 eventstore/eventstore:24.10 --insecure --run-projections=All
 *   EVENTSTORE_URL='esdb://localhost:2113?tls=false' npx vitest run test/infra/event-store
 *
 * Then the SQLite-only specifications: append-only schema, gap-free positions, two writers on one file.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ANY, NO_STREAM, WrongExpectedRevisionError } from "../../../infra/event-store/event-store.ts";
import {
  eventIdToUuid,
  openEventStoreDbEventStore,
} from "../../../infra/event-store/eventstoredb-event-store.ts";
import { measureRawSqliteAppend } from "../../../infra/event-store/raw-sqlite-baseline.ts";
import { shouldSnapshot } from "../../../infra/event-store/rehydrate.ts";
import {
  openSqliteEventStore,
  type SqliteEventStore,
} from "../../../infra/event-store/sqlite-event-store.ts";
import { describeEventStoreContract, type FullStore } from "./event-store.contract.ts";

const tempDir = () => mkdtempSync(join(tmpdir(), "stockline-es-test-"));

describeEventStoreContract("SQLite in memory", async () => {
  const store = openSqliteEventStore({ path: ":memory:" });
  return { store, dispose: () => store.close() };
});

describeEventStoreContract("SQLite file (synchronous=FULL)", async () => {
  const dir = tempDir();
  const path = join(dir, "events.db");
  let current: FullStore = openSqliteEventStore({ path });
  return {
    store: current,
    reopen: async () => {
      await current.close();
      current = openSqliteEventStore({ path });
      return current;
    },
    dispose: async () => {
      await current.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

const eventStoreUrl = process.env.EVENTSTORE_URL;
describeEventStoreContract(
  "EventStoreDB",
  async () => {
    const store = openEventStoreDbEventStore({ connectionString: eventStoreUrl ?? "" });
    return { store, dispose: () => store.close() };
  },
  { skip: eventStoreUrl === undefined, propertyRuns: 15 },
);

describe("SQLite event store specifics", () => {
  let dir: string;
  let path: string;
  let store: SqliteEventStore;
  const ev = (id: string) => ({ eventId: id, type: "T", data: { id } });

  beforeEach(() => {
    dir = tempDir();
    path = join(dir, "events.db");
    store = openSqliteEventStore({ path });
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("refuses UPDATE and DELETE of events from any client, while snapshots stay mutable", async () => {
    await store.appendToStream("position-a", [ev("a0")], { expectedRevision: NO_STREAM });
    await store.saveSnapshot("position-a", { revision: 0, version: 1, state: {} });
    const raw = new Database(path);
    try {
      expect(() => raw.prepare("UPDATE events SET data = '{}'").run()).toThrow(/append-only/);
      expect(() => raw.prepare("DELETE FROM events").run()).toThrow(/append-only/);
      expect(raw.prepare("DELETE FROM snapshots").run().changes).toBe(1);
    } finally {
      raw.close();
    }
    expect((await store.readStream("position-a"))[0]?.data).toEqual({ id: "a0" });
  });

  it("numbers the global log 1..n without gaps, also across rejected items", async () => {
    await store.appendMany([
      { streamId: "s1", events: [ev("1"), ev("2")], expectedRevision: NO_STREAM },
      { streamId: "s2", events: [ev("3")], expectedRevision: 4 },
      { streamId: "s3", events: [ev("4")], expectedRevision: NO_STREAM },
    ]);
    await store.appendToStream("s1", [ev("5")], { expectedRevision: 1 });
    const log = await store.readAll({ fromPosition: 0, maxCount: 100 });
    expect(log.map((e) => e.globalPosition)).toEqual([1, 2, 3, 4]);
    expect(log.map((e) => e.eventId)).toEqual(["1", "2", "4", "5"]);
    expect(await store.lastGlobalPosition()).toBe(4);
  });

  it("applies items of one batch in order, so the same stream may appear twice", async () => {
    const outcomes = await store.appendMany([
      { streamId: "s", events: [ev("a")], expectedRevision: NO_STREAM },
      { streamId: "s", events: [ev("b")], expectedRevision: 0 },
      { streamId: "s", events: [ev("c")], expectedRevision: 0 },
    ]);
    expect(outcomes.map((o) => o.ok)).toEqual([true, true, false]);
    expect((await store.readStream("s")).map((e) => e.eventId)).toEqual(["a", "b"]);
  });

  it("rejects a malformed batch before writing anything, naming the field", async () => {
    const bad = { eventId: "", type: "T", data: 1 };
    await expect(
      store.appendMany([
        { streamId: "ok", events: [ev("x")], expectedRevision: ANY },
        { streamId: "bad", events: [bad], expectedRevision: ANY },
      ]),
    ).rejects.toThrow(/event 0 of stream "bad": eventId/);
    await expect(
      store.appendToStream("u", [{ eventId: "u", type: "T", data: undefined }], { expectedRevision: ANY }),
    ).rejects.toThrow(/data: expected a JSON value/);
    expect(await store.readAll({ fromPosition: 0, maxCount: 10 })).toEqual([]);
  });

  it("keeps optimistic concurrency between two connections (processes) on the same file", async () => {
    const other = openSqliteEventStore({ path });
    try {
      await store.appendToStream("p", [ev("first")], { expectedRevision: NO_STREAM });
      const lost = other.appendToStream("p", [ev("second")], { expectedRevision: NO_STREAM });
      await expect(lost).rejects.toBeInstanceOf(WrongExpectedRevisionError);
      await other.appendToStream("p", [ev("second")], { expectedRevision: 0 });
      expect((await store.readStream("p")).map((e) => e.eventId)).toEqual(["first", "second"]);
    } finally {
      await other.close();
    }
  });

  it("ignores an older snapshot of the same version", async () => {
    await store.saveSnapshot("s", { revision: 10, version: "v", state: "new" });
    await store.saveSnapshot("s", { revision: 5, version: "v", state: "old" });
    expect(await store.loadSnapshot("s")).toEqual({ revision: 10, version: "v", state: "new" });
  });

  it("measures the raw SQLite baseline with the same pragmas", async () => {
    const result = await measureRawSqliteAppend({
      path: join(dir, "raw.db"),
      events: 500,
      batchSize: 100,
      payloadBytes: 64,
    });
    expect(result.events).toBe(500);
    expect(result.transactions).toBe(5);
    expect(result.perSecond).toBeGreaterThan(0);
    const raw = new Database(join(dir, "raw.db"));
    try {
      expect(raw.prepare("SELECT COUNT(*) AS n FROM raw_append_baseline").get()).toEqual({ n: 500 });
    } finally {
      raw.close();
    }
  });
});

describe("snapshot policy", () => {
  it("snapshots each time the stream crosses a multiple of `every` events", () => {
    const every = 3;
    const taken = Array.from({ length: 10 }, (_, revision) => revision).filter((r) =>
      shouldSnapshot(r, every),
    );
    expect(taken).toEqual([2, 5, 8]);
    // A batched append that jumps over a multiple still triggers once.
    expect(shouldSnapshot(6, every, 4)).toBe(true);
    expect(shouldSnapshot(7, every, 6)).toBe(false);
    expect(shouldSnapshot(3, every, null)).toBe(true);
    expect(() => shouldSnapshot(1, 0)).toThrow(RangeError);
  });
});

describe("EventStoreDB event ids", () => {
  it("keeps UUIDs and maps any other id to a stable, distinct RFC 4122 v5-layout UUID", () => {
    const uuid = "0f8fad5b-d9cb-469f-a165-70867728950e";
    expect(eventIdToUuid(uuid.toUpperCase())).toBe(uuid);
    const a = eventIdToUuid("eu:position-eu.DC1.SKU 1:0");
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(eventIdToUuid("eu:position-eu.DC1.SKU 1:0")).toBe(a);
    expect(eventIdToUuid("eu:position-eu.DC1.SKU 1:1")).not.toBe(a);
  });
});
