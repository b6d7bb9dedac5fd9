/**
 * Schema versions where the node reads its own store (DESIGN §3.16): a stream written before versions
 * (no `schemaVersion`) loads and audits as before; an event of a version newer than this build (a
 * rollback after a newer build wrote the stream) fails the load as a replay failure naming the
 * version, never folded in as if it were understood.
 */
import pino from "pino";
import { describe, expect, it } from "vitest";
import { positionStreamId } from "../../domain/ids.ts";
import { openSqliteEventStore } from "../../infra/event-store/sqlite-event-store.ts";
import { replayPosition } from "../../services/audit/replay.ts";
import { DecisionFailure } from "../../services/regional-node/handle-result.ts";
import { loadPositionActor } from "../../services/regional-node/position-loader.ts";
import { adjust, given, POS, receive } from "../domain/position-spec.ts";

const deps = (store: ReturnType<typeof openSqliteEventStore>) => ({
  store,
  nodeDb: { loadSnapshotSync: () => null },
  limits: undefined as never,
  logger: pino({ level: "silent" }),
});

describe("schema versions in the node's replay", () => {
  const streamId = positionStreamId(POS);
  const history = given(receive(10), adjust(-3)).history;

  it("a stream without schemaVersion loads and verifies as it always did", async () => {
    const store = openSqliteEventStore({ path: ":memory:" });
    await store.appendToStream(
      streamId,
      history.map((e) => ({ eventId: e.eventId, type: e.type, data: e })),
      { expectedRevision: -1 },
    );
    expect(history.every((e) => !("schemaVersion" in e))).toBe(true);
    const actor = await loadPositionActor(deps(store), streamId, POS, () => {});
    expect(actor.getSnapshot().context.revision).toBe(1);
    actor.stop();
    const audit = await replayPosition(store, POS, { verify: true });
    expect(audit?.verification).toMatchObject({ ok: true, eventsChecked: 2, issues: [] });
    expect(audit?.revision).toBe(1);
    store.close();
  });

  it("an event of a newer version than the build fails the load as a replay failure", async () => {
    const store = openSqliteEventStore({ path: ":memory:" });
    const [first, second] = history;
    const newer = { ...second!, schemaVersion: 5 };
    await store.appendToStream(
      streamId,
      [first!, newer].map((e) => ({ eventId: e!.eventId, type: e!.type, data: e })),
      { expectedRevision: -1 },
    );
    const load = loadPositionActor(deps(store), streamId, POS, () => {});
    await expect(load).rejects.toBeInstanceOf(DecisionFailure);
    await expect(load).rejects.toThrow(/version 5 of StockAdjusted is newer than this build reads \(1\)/);
    store.close();
  });
});
