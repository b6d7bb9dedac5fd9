import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { NO_STREAM, WrongExpectedRevisionError } from "../../infra/event-store/event-store.ts";
import { openSqliteEventStore } from "../../infra/event-store/sqlite-event-store.ts";
import { WorkerAppendStore } from "../../services/regional-node/worker-append-store.ts";
import { tempDir } from "./node-fixtures.ts";

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const open = async () => {
  const tmp = tempDir("worker-append");
  cleanups.push(tmp.remove);
  const file = path.join(tmp.dir, "events.db");
  const store = new WorkerAppendStore(openSqliteEventStore({ path: file }), {
    path: file,
    synchronous: "FULL",
  });
  cleanups.push(() => store.close());
  await store.start();
  return { store, file };
};

const ev = (n: number) => ({ eventId: `e${n}`, type: "Thing", data: { n } });

describe("WorkerAppendStore (group commits in a worker thread)", () => {
  it("commits in the worker, reads on the main connection, and reports conflicts per item as the store's error", async () => {
    const { store, file } = await open();
    const heard: number[] = [];
    store.onAppended((p) => heard.push(p));
    const first = await store.appendMany([
      { streamId: "a", events: [ev(1), ev(2)], expectedRevision: NO_STREAM },
      { streamId: "b", events: [ev(3)], expectedRevision: NO_STREAM },
    ]);
    expect(first).toEqual([
      { ok: true, nextExpectedRevision: 1, lastGlobalPosition: 2 },
      { ok: true, nextExpectedRevision: 0, lastGlobalPosition: 3 },
    ]);
    const second = await store.appendMany([
      { streamId: "a", events: [ev(4)], expectedRevision: 0 }, // stale: a is at 1
      { streamId: "b", events: [ev(5)], expectedRevision: 0 },
    ]);
    expect(second[0]?.ok).toBe(false);
    const error = second[0]?.ok === false ? second[0].error : undefined;
    expect(error).toBeInstanceOf(WrongExpectedRevisionError);
    expect(error).toMatchObject({ streamId: "a", expected: 0, actual: 1 });
    expect(second[1]).toEqual({ ok: true, nextExpectedRevision: 1, lastGlobalPosition: 4 });
    await expect(store.appendToStream("a", [ev(6)], { expectedRevision: 0 })).rejects.toBeInstanceOf(
      WrongExpectedRevisionError,
    );
    await new Promise((r) => setImmediate(r));
    expect(heard).toEqual([3, 4]);
    expect((await store.readStream("b")).map((e) => e.data)).toEqual([{ n: 3 }, { n: 5 }]);
    // Durable in the file, seen by a fresh connection.
    const other = openSqliteEventStore({ path: file });
    cleanups.push(() => other.close());
    expect(await other.streamRevision("a")).toBe(1);
    expect(await other.lastGlobalPosition()).toBe(4);
  });

  it("hands each commit's events to onCommitted exactly as the log then reads, conflicts left out", async () => {
    const { store } = await open();
    const committed: unknown[] = [];
    store.onCommitted((events) => committed.push(...events));
    await store.appendMany([
      { streamId: "a", events: [ev(1), ev(2)], expectedRevision: NO_STREAM },
      { streamId: "b", events: [ev(3)], expectedRevision: NO_STREAM },
    ]);
    await store.appendMany([
      { streamId: "b", events: [ev(4), ev(5)], expectedRevision: 0 },
      { streamId: "a", events: [ev(6)], expectedRevision: 0 }, // stale: a is at 1
      { streamId: "c", events: [ev(7)], expectedRevision: NO_STREAM },
      { streamId: "a", events: [ev(8)], expectedRevision: 1 },
    ]);
    const read = store.readAllRaw({ fromPosition: 0, maxCount: 100 });
    expect(read.map((e) => JSON.parse(e.data).n)).toEqual([1, 2, 3, 4, 5, 7, 8]);
    expect(committed).toEqual(read);
  });
});
