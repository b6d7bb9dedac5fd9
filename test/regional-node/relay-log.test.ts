/**
 * The relay's read of the SQLite log: the stored JSON text, unparsed, with what the relay needs to
 * route it, in global order; the same events `readAll` gives.
 */
import { afterEach, describe, expect, it } from "vitest";
import { openSqliteEventStore, type SqliteEventStore } from "../../infra/event-store/sqlite-event-store.ts";

let store: SqliteEventStore | undefined;
afterEach(async () => {
  await store?.close();
  store = undefined;
});

describe("readAllRaw", () => {
  it("returns the committed JSON text of each event, in global order, like readAll", async () => {
    store = openSqliteEventStore({ path: ":memory:" });
    await store.appendMany([
      {
        streamId: "position-DC1~A",
        expectedRevision: -1,
        events: [
          { eventId: "e1", type: "GoodsReceived", data: { b: 1, a: "x", nested: { z: [1, 2], y: null } } },
          { eventId: "e2", type: "PickConfirmed", data: { q: 2 } },
        ],
      },
      { streamId: "position-DC1~B", expectedRevision: -1, events: [{ eventId: "e3", type: "T", data: "s" }] },
    ]);
    const parsed = await store.readAll({ fromPosition: 0, maxCount: 10 });
    const raw = store.readAllRaw({ fromPosition: 0, maxCount: 10 });
    expect(raw.map((r) => [r.globalPosition, r.streamId, r.revision, r.type])).toEqual(
      parsed.map((e) => [e.globalPosition, e.streamId, e.revision, e.type]),
    );
    expect(raw.map((r) => r.data)).toEqual(parsed.map((e) => JSON.stringify(e.data)));
    expect(raw[0]?.data).toBe('{"b":1,"a":"x","nested":{"z":[1,2],"y":null}}');
    expect(store.readAllRaw({ fromPosition: 1, maxCount: 1 }).map((r) => r.globalPosition)).toEqual([2]);
    expect(store.readAllRaw({ fromPosition: 3, maxCount: 10 })).toEqual([]);
  });
});
