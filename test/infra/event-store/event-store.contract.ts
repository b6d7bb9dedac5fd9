/**
 * The one contract of the event-store port, run against every adapter (see event-store.test.ts).
 * Streams are named under a per-test prefix and the global log is read from a position taken at the
 * start of each test, so the suite also runs against a shared, non-empty EventStoreDB server.
 */
import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  ANY,
  type CheckpointStore,
  type EventStore,
  type ExpectedRevision,
  type NewEvent,
  NO_STREAM,
  type RecordedEvent,
  type SnapshotStore,
  STREAM_EXISTS,
  WrongExpectedRevisionError,
} from "../../../infra/event-store/event-store.ts";
import { rehydrate } from "../../../infra/event-store/rehydrate.ts";

export type FullStore = EventStore & SnapshotStore & CheckpointStore;

export interface EventStoreHarness {
  store: FullStore;
  /** Closes the store and opens the same storage again (durability); absent when storage is in memory. */
  reopen?: () => Promise<FullStore>;
  /** Releases everything (closes the store, removes temp files). */
  dispose: () => Promise<void>;
}

export interface ContractOptions {
  skip?: boolean;
  /** fast-check runs of the interleaving property. */
  propertyRuns?: number;
}

let counter = 0;
const uniquePrefix = (): string =>
  `position-ct${Date.now().toString(36)}${process.pid.toString(36)}n${(counter++).toString(36)}.`;

const ev = (id: string, data: unknown = { id }, metadata?: Record<string, unknown>): NewEvent => ({
  eventId: id,
  type: "TestEvent",
  data,
  ...(metadata ? { metadata } : {}),
});

const catchError = async (promise: Promise<unknown>): Promise<unknown> => {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected the promise to reject");
};

/** Position of a fresh marker event: everything appended later in the test is after it. */
const markPosition = async (store: EventStore, prefix: string): Promise<number> =>
  (await store.appendToStream(`${prefix}marker`, [ev(`${prefix}marker`)], { expectedRevision: ANY }))
    .lastGlobalPosition;

/** The test's own events from the global log after `from`, read in pages of `pageSize`. */
const readOwnLog = async (store: EventStore, from: number, prefix: string, pageSize: number) => {
  const all: RecordedEvent[] = [];
  let position = from;
  for (;;) {
    const page = await store.readAll({ fromPosition: position, maxCount: pageSize });
    expect(page.length).toBeLessThanOrEqual(pageSize);
    if (page.length === 0) break;
    // Exclusive resumption: the first event is after `position` (this also bounds the loop).
    expect(page[0]?.globalPosition).toBeGreaterThan(position);
    all.push(...page);
    position = page[page.length - 1]?.globalPosition ?? position;
  }
  return all.filter((e) => e.streamId.startsWith(prefix) && !e.streamId.endsWith("marker"));
};

export const describeEventStoreContract = (
  name: string,
  factory: () => Promise<EventStoreHarness>,
  options: ContractOptions = {},
): void => {
  describe.skipIf(options.skip === true)(`event store contract: ${name}`, () => {
    let harness: EventStoreHarness;
    let store: FullStore;
    let prefix: string;

    beforeEach(async () => {
      harness = await factory();
      store = harness.store;
      prefix = uniquePrefix();
    });
    afterEach(async () => {
      await harness.dispose();
    });

    it("appends to a new stream and reads back revisions 0..n-1 with payload, metadata and increasing positions", async () => {
      const s = `${prefix}a`;
      const result = await store.appendToStream(
        s,
        [
          ev("e1", { qty: 5, sku: "A.1 *>" }, { correlationId: "c-1" }),
          ev("e2", [1, "two"]),
          ev("e3", "three"),
        ],
        { expectedRevision: NO_STREAM },
      );
      expect(result.nextExpectedRevision).toBe(2);
      const events = await store.readStream(s);
      expect(events.map((e) => [e.streamId, e.revision, e.eventId, e.type])).toEqual([
        [s, 0, "e1", "TestEvent"],
        [s, 1, "e2", "TestEvent"],
        [s, 2, "e3", "TestEvent"],
      ]);
      expect(events.map((e) => e.data)).toEqual([{ qty: 5, sku: "A.1 *>" }, [1, "two"], "three"]);
      expect(events[0]?.metadata).toEqual({ correlationId: "c-1" });
      expect(events[1]?.metadata ?? {}).toEqual({});
      expect(result.lastGlobalPosition).toBe(events[2]?.globalPosition);
      const positions = events.map((e) => e.globalPosition);
      expect(positions).toEqual([...positions].sort((a, b) => a - b));
      expect(new Set(positions).size).toBe(3);
      for (const e of events) expect(new Date(e.recordedTime).toISOString()).toBe(e.recordedTime);
      expect(await store.streamRevision(s)).toBe(2);
    });

    it("reports no stream as an empty read and a null revision", async () => {
      expect(await store.readStream(`${prefix}missing`)).toEqual([]);
      expect(await store.streamRevision(`${prefix}missing`)).toBeNull();
    });

    it("reads a stream from a revision, with a max count, and backwards", async () => {
      const s = `${prefix}r`;
      await store.appendToStream(
        s,
        ["0", "1", "2", "3", "4"].map((i) => ev(`r${i}`)),
        { expectedRevision: NO_STREAM },
      );
      const revs = (events: RecordedEvent[]) => events.map((e) => e.revision);
      expect(revs(await store.readStream(s, { from: 2 }))).toEqual([2, 3, 4]);
      expect(revs(await store.readStream(s, { from: 1, maxCount: 2 }))).toEqual([1, 2]);
      expect(revs(await store.readStream(s, { direction: "backwards", maxCount: 2 }))).toEqual([4, 3]);
      expect(revs(await store.readStream(s, { direction: "backwards", from: 1 }))).toEqual([1, 0]);
      expect(revs(await store.readStream(s, { from: 5 }))).toEqual([]);
    });

    it("honours the sentinels: no-stream, stream-exists, any, and an exact revision", async () => {
      const s = `${prefix}s`;
      const accepts = async (expected: ExpectedRevision, id: string) =>
        (await store.appendToStream(s, [ev(id)], { expectedRevision: expected })).nextExpectedRevision;

      expect(await catchError(accepts(STREAM_EXISTS, "x0"))).toBeInstanceOf(WrongExpectedRevisionError);
      expect(await accepts(NO_STREAM, "s0")).toBe(0);
      expect(await catchError(accepts(NO_STREAM, "x1"))).toBeInstanceOf(WrongExpectedRevisionError);
      expect(await accepts(STREAM_EXISTS, "s1")).toBe(1);
      expect(await accepts(ANY, "s2")).toBe(2);
      expect(await accepts(2, "s3")).toBe(3);
      expect(await accepts(ANY, "s4")).toBe(4);
      expect((await store.readStream(s)).map((e) => e.eventId)).toEqual(["s0", "s1", "s2", "s3", "s4"]);
      const fresh = `${prefix}any-new`;
      expect(
        (await store.appendToStream(fresh, [ev("a0")], { expectedRevision: ANY })).nextExpectedRevision,
      ).toBe(0);
    });

    it("rejects a stale revision with a typed error naming stream, expected and actual, and appends nothing", async () => {
      const s = `${prefix}c`;
      await store.appendToStream(s, [ev("c0"), ev("c1")], { expectedRevision: NO_STREAM });
      const error = await catchError(store.appendToStream(s, [ev("stale")], { expectedRevision: 0 }));
      expect(error).toBeInstanceOf(WrongExpectedRevisionError);
      expect(error).toMatchObject({ streamId: s, expected: 0, actual: 1 });
      const noStream = await catchError(
        store.appendToStream(`${prefix}absent`, [ev("x")], { expectedRevision: 3 }),
      );
      expect(noStream).toMatchObject({ streamId: `${prefix}absent`, expected: 3, actual: NO_STREAM });
      expect((await store.readStream(s)).map((e) => e.eventId)).toEqual(["c0", "c1"]);
      expect(await store.streamRevision(`${prefix}absent`)).toBeNull();
    });

    it("group-commits many streams: a conflicting item is reported in its slot and the others are committed", async () => {
      await store.appendToStream(`${prefix}g2`, [ev("g2-0")], { expectedRevision: NO_STREAM });
      await store.appendToStream(`${prefix}g3`, [ev("g3-0"), ev("g3-1")], { expectedRevision: NO_STREAM });
      const outcomes = await store.appendMany([
        { streamId: `${prefix}g1`, events: [ev("g1-0"), ev("g1-1")], expectedRevision: NO_STREAM },
        { streamId: `${prefix}g2`, events: [ev("g2-stale")], expectedRevision: NO_STREAM },
        { streamId: `${prefix}g3`, events: [ev("g3-2")], expectedRevision: 1 },
      ]);
      expect(outcomes.map((o) => o.ok)).toEqual([true, false, true]);
      expect(outcomes[0]).toMatchObject({ ok: true, nextExpectedRevision: 1 });
      expect(outcomes[2]).toMatchObject({ ok: true, nextExpectedRevision: 2 });
      const failed = outcomes[1];
      expect(failed?.ok === false && failed.error).toBeInstanceOf(WrongExpectedRevisionError);
      expect(failed?.ok === false && failed.error).toMatchObject({
        streamId: `${prefix}g2`,
        expected: NO_STREAM,
        actual: 0,
      });
      expect((await store.readStream(`${prefix}g1`)).map((e) => e.eventId)).toEqual(["g1-0", "g1-1"]);
      expect((await store.readStream(`${prefix}g2`)).map((e) => e.eventId)).toEqual(["g2-0"]);
      expect((await store.readStream(`${prefix}g3`)).map((e) => e.eventId)).toEqual(["g3-0", "g3-1", "g3-2"]);
      // Each success reports the position of its stream's last event.
      for (const [i, o] of outcomes.entries()) {
        if (!o.ok) continue;
        const last = await store.readStream(`${prefix}g${i + 1}`, { direction: "backwards", maxCount: 1 });
        expect(o.lastGlobalPosition).toBe(last[0]?.globalPosition);
      }
      expect(await store.appendMany([])).toEqual([]);
    });

    it("reads the global log in commit order and resumes exclusively from any position", async () => {
      const start = await markPosition(store, prefix);
      const expected: string[] = [];
      for (let i = 0; i < 4; i++) {
        const batch = ["x", "y", "z"].map((k) => ({
          streamId: `${prefix}${k}`,
          events: [ev(`${k}${i}`)],
          expectedRevision: i === 0 ? NO_STREAM : i - 1,
        }));
        for (const o of await store.appendMany(batch)) expect(o.ok).toBe(true);
        expected.push(...batch.map((b) => b.events[0]?.eventId ?? ""));
        // Sequential appends are ordered in the global log too (the batch items may interleave in ESDB).
      }
      const whole = await readOwnLog(store, start, prefix, 1000);
      expect([...whole.map((e) => e.eventId)].sort()).toEqual([...expected].sort());
      for (let i = 1; i < whole.length; i++) {
        expect(whole[i]?.globalPosition).toBeGreaterThan(
          whole[i - 1]?.globalPosition ?? Number.POSITIVE_INFINITY,
        );
      }
      // Batches are ordered with respect to each other.
      const batchOf = (id: string) => Number(id.slice(1));
      const order = whole.map((e) => batchOf(e.eventId));
      expect(order).toEqual([...order].sort((a, b) => a - b));
      // Paging with a small maxCount yields the same log; resuming from each event's position yields the rest.
      expect((await readOwnLog(store, start, prefix, 2)).map((e) => e.globalPosition)).toEqual(
        whole.map((e) => e.globalPosition),
      );
      const middle = whole[5];
      const rest = await readOwnLog(store, middle?.globalPosition ?? 0, prefix, 1000);
      expect(rest.map((e) => e.eventId)).toEqual(whole.slice(6).map((e) => e.eventId));
      // readAll returns the same recorded events as readStream.
      const xs = await store.readStream(`${prefix}x`);
      expect(whole.filter((e) => e.streamId === `${prefix}x`)).toEqual(xs);
    });

    it("wakes onAppended listeners after a commit and stops after unsubscribe", async () => {
      const heard: number[] = [];
      const unsubscribe = store.onAppended((p) => heard.push(p));
      const { lastGlobalPosition } = await store.appendToStream(`${prefix}w`, [ev("w0")], {
        expectedRevision: NO_STREAM,
      });
      await expect.poll(() => heard.some((p) => p >= lastGlobalPosition), { timeout: 5000 }).toBe(true);
      unsubscribe();
      const count = heard.length;
      await store.appendToStream(`${prefix}w`, [ev("w1")], { expectedRevision: 0 });
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(heard.length).toBe(count);
    });

    it("lists streams by prefix", async () => {
      await store.appendMany(
        ["eu.dc1|a", "eu.dc1|b", "eu.dc2|a", "us.dc1|a"].map((k) => ({
          streamId: `${prefix}${k}`,
          events: [ev(k)],
          expectedRevision: NO_STREAM,
        })),
      );
      const own = (ids: string[]) => ids.filter((id) => id.startsWith(prefix)).sort();
      expect(own(await store.listStreams({ prefix: `${prefix}eu.` }))).toEqual([
        `${prefix}eu.dc1|a`,
        `${prefix}eu.dc1|b`,
        `${prefix}eu.dc2|a`,
      ]);
      expect(await store.listStreams({ prefix: `${prefix}EU.` })).toEqual([]);
      expect(own(await store.listStreams())).toHaveLength(4);
    });

    it("keeps the latest snapshot per stream and checkpoints by name", async () => {
      const s = `${prefix}snap`;
      expect(await store.loadSnapshot(s)).toBeNull();
      await store.saveSnapshot(s, { revision: 9, version: "v1", state: { onHand: 10 } });
      await store.saveSnapshot(s, { revision: 19, version: "v1", state: { onHand: 20 } });
      expect(await store.loadSnapshot(s)).toEqual({ revision: 19, version: "v1", state: { onHand: 20 } });
      await store.saveSnapshot(s, { revision: 4, version: 2, state: [1] });
      expect(await store.loadSnapshot(s)).toEqual({ revision: 4, version: 2, state: [1] });

      const name = `${prefix}relay`;
      expect(await store.getCheckpoint(name)).toBeNull();
      await store.saveCheckpoint(name, 41);
      await store.saveCheckpoint(name, 42);
      expect(await store.getCheckpoint(name)).toBe(42);
      expect(await store.getCheckpoint(`${prefix}other`)).toBeNull();
    });

    it("rehydrates from the latest snapshot of the same version plus the later events, like a full replay", async () => {
      const s = `${prefix}h`;
      const deltas = [5, -2, 7, 1, -3, 4, 10];
      await store.appendToStream(
        s,
        deltas.map((d, i) => ev(`h${i}`, { delta: d })),
        { expectedRevision: NO_STREAM },
      );
      const evolve = (sum: number, e: RecordedEvent) => sum + (e.data as { delta: number }).delta;
      const base = { store, streamId: s, version: "m1", initial: () => 0, evolve, pageSize: 3 };
      const full = await rehydrate({ ...base, snapshots: store });
      expect(full).toEqual({ state: 22, revision: 6, snapshotRevision: null, eventsReplayed: 7 });

      await store.saveSnapshot(s, { revision: 3, version: "m1", state: 11 });
      const fromSnapshot = await rehydrate({ ...base, snapshots: store });
      expect(fromSnapshot).toEqual({ state: 22, revision: 6, snapshotRevision: 3, eventsReplayed: 3 });

      // A snapshot of another machine version, or one the decoder rejects, is ignored.
      await store.saveSnapshot(s, { revision: 5, version: "m0", state: 999 });
      expect((await rehydrate({ ...base, snapshots: store })).snapshotRevision).toBeNull();
      await store.saveSnapshot(s, { revision: 5, version: "m1", state: "garbage" });
      const decoded = await rehydrate({
        ...base,
        snapshots: store,
        decodeSnapshot: (state) => (typeof state === "number" ? state : null),
      });
      expect(decoded).toEqual({ state: 22, revision: 6, snapshotRevision: null, eventsReplayed: 7 });

      const none = await rehydrate({ ...base, streamId: `${prefix}none`, snapshots: store });
      expect(none).toEqual({ state: 0, revision: null, snapshotRevision: null, eventsReplayed: 0 });
    });

    it("property: any interleaving of appends gives per-stream revisions 0..n-1 and a strictly increasing log", async () => {
      const step = fc.record({
        stream: fc.integer({ min: 0, max: 3 }),
        count: fc.integer({ min: 1, max: 3 }),
        stale: fc.boolean(),
        grouped: fc.boolean(),
      });
      await fc.assert(
        fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 12 }), async (steps) => {
          const p = uniquePrefix();
          const start = await markPosition(store, p);
          const revisions = new Map<number, number>();
          const appended = new Map<number, string[]>();
          let n = 0;
          let pending: { stream: number; item: Parameters<FullStore["appendMany"]>[0][number] }[] = [];
          const flush = async () => {
            const outcomes = await store.appendMany(pending.map((x) => x.item));
            outcomes.forEach((o, i) => {
              const { stream, item } = pending[i] ?? { stream: -1, item: undefined };
              const current = revisions.get(stream);
              const stale = item?.expectedRevision !== (current ?? NO_STREAM);
              expect(o.ok).toBe(!stale);
              if (o.ok && item) {
                revisions.set(stream, o.nextExpectedRevision);
                appended.set(stream, [...(appended.get(stream) ?? []), ...item.events.map((e) => e.eventId)]);
              }
            });
            pending = [];
          };
          for (const s of steps) {
            const current = revisions.get(s.stream);
            const expectedRevision: ExpectedRevision = s.stale
              ? current === undefined
                ? 0
                : NO_STREAM
              : (current ?? NO_STREAM);
            const events = Array.from({ length: s.count }, () => ev(`${p}e${n++}`));
            // Grouped steps join the batch; a batch never holds the same stream twice (ESDB appends them in parallel).
            if (!s.grouped || pending.some((x) => x.stream === s.stream)) await flush();
            pending.push({
              stream: s.stream,
              item: { streamId: `${p}${s.stream}`, events, expectedRevision },
            });
            if (!s.grouped) await flush();
          }
          await flush();

          for (const [stream, ids] of appended) {
            const events = await store.readStream(`${p}${stream}`);
            expect(events.map((e) => e.revision)).toEqual(ids.map((_, i) => i));
            expect(events.map((e) => e.eventId)).toEqual(ids);
          }
          const log = await readOwnLog(store, start, p, 7);
          expect(log).toHaveLength([...appended.values()].flat().length);
          for (let i = 1; i < log.length; i++) {
            expect(log[i]?.globalPosition).toBeGreaterThan(
              log[i - 1]?.globalPosition ?? Number.POSITIVE_INFINITY,
            );
          }
          for (const [stream, ids] of appended) {
            expect(log.filter((e) => e.streamId === `${p}${stream}`).map((e) => e.eventId)).toEqual(ids);
          }
        }),
        { numRuns: options.propertyRuns ?? 40 },
      );
    });

    it("keeps everything across close and reopen (when the storage is durable)", async (context) => {
      if (!harness.reopen) {
        context.skip();
        return;
      }
      const s = `${prefix}d`;
      await store.appendToStream(s, [ev("d0"), ev("d1")], { expectedRevision: NO_STREAM });
      await store.appendMany([
        { streamId: `${prefix}d2`, events: [ev("d2-0")], expectedRevision: NO_STREAM },
      ]);
      await store.saveSnapshot(s, { revision: 1, version: 1, state: { kept: true } });
      await store.saveCheckpoint(`${prefix}cp`, 7);
      const before = await store.readStream(s);
      store = await harness.reopen();
      expect(await store.readStream(s)).toEqual(before);
      expect(await store.streamRevision(`${prefix}d2`)).toBe(0);
      expect(await store.loadSnapshot(s)).toEqual({ revision: 1, version: 1, state: { kept: true } });
      expect(await store.getCheckpoint(`${prefix}cp`)).toBe(7);
      expect((await store.appendToStream(s, [ev("d3")], { expectedRevision: 1 })).nextExpectedRevision).toBe(
        2,
      );
      await expect(store.appendToStream(s, [ev("dx")], { expectedRevision: 1 })).rejects.toBeInstanceOf(
        WrongExpectedRevisionError,
      );
    });
  });
};
