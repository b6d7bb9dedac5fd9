/**
 * Events handed to the commit unlinked (`toUnlinkedEvents` + `linkFrom`) are linked into the hash
 * chain by the append worker, off the main thread, or by the group committer where the store cannot
 * (issue 13). Either way the store must hold exactly what linking on the main thread stored: the same
 * text, hashes and ids, a chain that verifies, and the same events in memory and for the relay.
 */
import path from "node:path";
import * as E from "fp-ts/lib/Either.js";
import { afterEach, describe, expect, it } from "vitest";
import {
  type CanonicalEvent,
  chainEvents,
  GENESIS_HASH,
  type PendingEvent,
  verifyChain,
} from "../../domain/canonical-event.ts";
import { decodeCommand } from "../../domain/commands.ts";
import { positionStreamId } from "../../domain/ids.ts";
import {
  decide,
  defaultEnv,
  eventIdFor,
  evolve,
  initialPositionState,
  type PositionState,
  toCanonicalEvents,
  toUnlinkedEvents,
} from "../../domain/position.decider.ts";
import { type NewEvent, NO_STREAM } from "../../infra/event-store/event-store.ts";
import { openSqliteEventStore, type RawLogEvent } from "../../infra/event-store/sqlite-event-store.ts";
import { GroupCommitter } from "../../services/regional-node/group-committer.ts";
import { WorkerAppendStore } from "../../services/regional-node/worker-append-store.ts";
import { tempDir } from "./node-fixtures.ts";

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const position = { region: "eu", location: "DC-1", sku: "SKU-1" };
const streamId = positionStreamId(position);
const RECORDED = "2026-12-06T08:00:00.000Z";

/** Commands of one position: receipts and reservations, in turn. */
const commands = (n: number) =>
  Array.from({ length: n }, (_, i) => {
    const base = {
      idempotencyKey: `k-${i}`,
      businessTime: new Date(Date.parse("2025-03-03T08:00:00.000Z") + i * 60_000).toISOString(),
      correlationId: `c-${i}`,
      position,
      quantity: { value: i % 2 === 0 ? 10 : 1 + (i % 3), uom: "EA" },
    };
    const raw =
      i % 2 === 0
        ? {
            ...base,
            kind: "receiveGoods",
            source: { system: "wms", document: { type: "ASN", id: `ASN-${i}`, line: "10" } },
            documents: { asn: `ASN-${i}`, po: "PO-1" },
            lot: "L1",
          }
        : {
            ...base,
            kind: "placeReservation",
            source: { system: "shop", document: { type: "order", id: `SO-${i}` } },
            documents: { order: `SO-${i}` },
            reservationId: `R-${i}`,
            channel: "web",
            ttlSeconds: 3600,
          };
    const decoded = decodeCommand(raw);
    if (E.isLeft(decoded)) throw new Error(JSON.stringify(decoded.left));
    return decoded.right;
  });

/** The decided events of each command, with the state each was decided in. */
const decided = (n: number): { pending: readonly PendingEvent[]; state: PositionState }[] => {
  let state = initialPositionState(position);
  return commands(n).map((c) => {
    const o = decide(c, state, defaultEnv("2025-03-04T00:00:00.000Z"));
    if (o.kind !== "accepted") throw new Error(`not accepted: ${o.kind}`);
    const before = state;
    for (const e of toCanonicalEvents(o.events, {
      prevRevision: state.revision,
      prevHash: state.lastHash,
      recordedTime: RECORDED,
    }))
      state = evolve(state, e);
    return { pending: o.events, state: before };
  });
};

/** How the node placed and linked events before linking moved off the main thread. */
const placedTheOldWay = (pending: readonly PendingEvent[], state: PositionState): CanonicalEvent[] =>
  chainEvents(
    state.lastHash,
    pending.map((e, i) => {
      const revision = state.revision + 1 + i;
      return {
        ...e,
        eventId: eventIdFor(e.position.region, positionStreamId(e.position), revision),
        revision,
        recordedTime: RECORDED,
      };
    }),
  );

const asNew = (events: readonly CanonicalEvent[]): NewEvent[] =>
  events.map((e) => ({ eventId: e.eventId, type: e.type, data: e }));

const openWorkerStore = async () => {
  const tmp = tempDir("linked-append");
  cleanups.push(tmp.remove);
  const file = path.join(tmp.dir, "events.db");
  const store = new WorkerAppendStore(openSqliteEventStore({ path: file }), {
    path: file,
    synchronous: "OFF",
  });
  cleanups.push(() => store.close());
  await store.start();
  return store;
};

describe("events linked by the commit", () => {
  it("unlinked, then linked in place, equal the events placed and linked in one go", () => {
    for (const { pending, state } of decided(12)) {
      const at = { prevRevision: state.revision, prevHash: state.lastHash, recordedTime: RECORDED };
      const unlinked = toUnlinkedEvents(pending, at);
      expect(unlinked.every((e) => e.prevHash === "" && e.hash === "")).toBe(true);
      const old = placedTheOldWay(pending, state);
      const now = toCanonicalEvents(pending, at);
      expect(JSON.stringify(now)).toBe(JSON.stringify(old));
    }
  });

  it("the append worker stores the same text and hashes, fills them in, and hands the relay what it stored", async () => {
    const store = await openWorkerStore();
    const relayed: RawLogEvent[] = [];
    store.onCommitted((events) => relayed.push(...events));
    const committer = new GroupCommitter(store, { region: "eu", maxBatch: 100 });
    const expected: CanonicalEvent[] = [];
    const inMemory: CanonicalEvent[] = [];
    for (const { pending, state } of decided(9)) {
      expected.push(...placedTheOldWay(pending, state));
      const events = toUnlinkedEvents(pending, { prevRevision: state.revision, recordedTime: RECORDED });
      // A plain item in the same batch goes as text, as before.
      const other = committer.append(
        `other-${state.revision}`,
        [{ eventId: `x${state.revision}`, type: "Thing", data: { n: state.revision } }],
        -1,
      );
      const o = await committer.append(streamId, asNew(events), state.revision, state.lastHash);
      expect(o.ok).toBe(true);
      expect((await other).ok).toBe(true);
      inMemory.push(...events);
    }
    expect(JSON.stringify(inMemory)).toBe(JSON.stringify(expected));
    const raw = store.readAllRaw({ fromPosition: 0, maxCount: 1000 }).filter((e) => e.streamId === streamId);
    expect(raw.map((e) => e.data)).toEqual(expected.map((e) => JSON.stringify(e)));
    expect(relayed.filter((e) => e.streamId === streamId)).toEqual(raw);
    const stored = (await store.readStream(streamId)).map((e) => e.data as CanonicalEvent);
    expect(verifyChain(stored)).toMatchObject({ ok: true, lastHash: expected.at(-1)?.hash });
    expect(stored[0]?.prevHash).toBe(GENESIS_HASH);
  });

  it("a conflict stores nothing and leaves the events unlinked", async () => {
    const store = await openWorkerStore();
    const committer = new GroupCommitter(store, { region: "eu", maxBatch: 100 });
    const [first] = decided(1);
    if (!first) throw new Error("no events");
    const at = { prevRevision: first.state.revision, recordedTime: RECORDED };
    const ok = await committer.append(
      streamId,
      asNew(toUnlinkedEvents(first.pending, at)),
      first.state.revision,
      first.state.lastHash,
    );
    expect(ok.ok).toBe(true);
    const again = toUnlinkedEvents(first.pending, at);
    const conflict = await committer.append(
      streamId,
      asNew(again),
      first.state.revision,
      first.state.lastHash,
    );
    expect(conflict.ok).toBe(false);
    expect(again.every((e) => e.prevHash === "" && e.hash === "")).toBe(true);
    expect(await store.streamRevision(streamId)).toBe(first.pending.length - 1);
  });

  it("a store that cannot link (no worker) gets the events linked by the committer", async () => {
    const store = openSqliteEventStore({ path: ":memory:" });
    cleanups.push(() => store.close());
    const committer = new GroupCommitter(store, { region: "eu", maxBatch: 100 });
    const expected: CanonicalEvent[] = [];
    for (const { pending, state } of decided(6)) {
      expected.push(...placedTheOldWay(pending, state));
      const events = toUnlinkedEvents(pending, { prevRevision: state.revision, recordedTime: RECORDED });
      expect((await committer.append(streamId, asNew(events), state.revision, state.lastHash)).ok).toBe(true);
    }
    const raw = store.readAllRaw({ fromPosition: 0, maxCount: 1000 });
    expect(raw.map((e) => e.data)).toEqual(expected.map((e) => JSON.stringify(e)));
  });
});
