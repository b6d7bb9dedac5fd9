import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { computeEventHash } from "../../domain/canonical-event.ts";
import { positionStreamId } from "../../domain/ids.ts";
import { balancesOf, bucketAsOf } from "../../domain/position.decider.ts";
import { replayPosition, verifyPositions } from "../../services/audit/replay.ts";
import { at } from "../domain/position-spec.ts";
import {
  buildFixture,
  ELSEWHERE,
  eventsOf,
  type Fixture,
  ORIGIN,
  OTHER,
  statesOf,
  tamper,
} from "./audit-fixture.ts";

let f: Fixture;
beforeEach(async () => {
  f = await buildFixture();
});
afterEach(async () => {
  await f.close();
});

const originStream = positionStreamId(ORIGIN);

describe("replay of a position from the SQLite store", () => {
  it("ends in the decider's state, and shows after each event the balances the decider stored with it", async () => {
    const r = await replayPosition(f.eu, ORIGIN, { verify: true });
    const decided = statesOf(f, ORIGIN);
    expect(r?.state).toEqual(decided[decided.length - 1]);
    const stored = eventsOf(f, ORIGIN);
    expect(r?.events.map((e) => [e.revision, e.type, e.balances])).toEqual(
      stored.map((e) => [e.revision, e.type, e.balancesAfter]),
    );
    expect(r?.headHash).toBe(stored[stored.length - 1]?.hash);
    expect(r?.verification).toMatchObject({ ok: true, issues: [], eventsChecked: stored.length });
    expect(r?.warnings).toEqual([]);
  });

  it("finds the region from the events when it is not given, and answers undefined for an unknown position", async () => {
    const r = await replayPosition(f.eu, { location: ORIGIN.location, sku: ORIGIN.sku });
    expect(r?.position).toEqual(ORIGIN);
    expect(await replayPosition(f.eu, { location: ORIGIN.location, sku: "nope" })).toBeUndefined();
  });

  it("as of a recorded time: the state the node held then (a prefix of the stream)", async () => {
    const decided = statesOf(f, ORIGIN);
    // Just after the 3rd command was recorded (the pick at 00:21), before the 4th (00:31).
    const r = await replayPosition(f.eu, ORIGIN, { asOf: { time: at(25), by: "recorded" } });
    expect(r?.state).toEqual(decided[2]);
    expect(r?.events.map((e) => e.type)).toEqual(["GoodsReceived", "ReservationPlaced", "PickConfirmed"]);
    expect(r?.headRevision).toBe(eventsOf(f, ORIGIN).length - 1);
  });

  it("as of a business time: the stock then as known now, the late count included at its business time", async () => {
    const final = statesOf(f, ORIGIN).at(-1)!;
    for (const minutes of [5, 15, 25, 35, 55]) {
      const r = await replayPosition(f.eu, ORIGIN, { asOf: { time: at(minutes), by: "business" } });
      // The domain's own bitemporal answer is the oracle.
      expect(r?.balances.onHand.available, `available as of ${minutes} min`).toBe(
        bucketAsOf(final, "available", at(minutes)),
      );
    }
    const r15 = await replayPosition(f.eu, ORIGIN, { asOf: { time: at(15), by: "business" } });
    expect(r15?.events.map((e) => e.type)).toEqual([
      "GoodsReceived",
      "ReservationPlaced",
      "CountRecorded",
      "AnomalyRaised", // the count's variance, at the count's business time
    ]);
    // Recorded-time view at 00:15 has not seen the count (sent at 00:41).
    const k15 = await replayPosition(f.eu, ORIGIN, { asOf: { time: at(15), by: "recorded" } });
    expect(k15?.balances.onHand.available).toBe(100);
    expect(r15?.balances.onHand.available).toBe(90);
  });
});

describe("verification of the hash chain", () => {
  it("names the revision whose JSON was edited in the file, and only that one", async () => {
    const changed = tamper(
      f.paths.eu,
      "UPDATE events SET data = json_set(data, '$.quantity', 95) WHERE stream_id = ? AND revision = 2",
      originStream,
    );
    expect(changed).toBe(1);
    const r = await replayPosition(f.eu, ORIGIN, { verify: true });
    expect(r?.verification?.ok).toBe(false);
    expect(r?.verification?.issues.map((i) => [i.kind, i.revision])).toEqual([["hash", 2]]);
    expect(r?.verification?.issues[0]?.message).toMatch(/revision 2 \(PickConfirmed.*altered/);
  });

  it("an edit with a recomputed hash breaks the link of the next revision", async () => {
    const row = eventsOf(f, ORIGIN)[1]!;
    const forged = { ...row, quantity: 1 };
    const rehashed = { ...forged, hash: computeEventHash(forged) };
    tamper(
      f.paths.eu,
      "UPDATE events SET data = ? WHERE stream_id = ? AND revision = 1",
      JSON.stringify(rehashed),
      originStream,
    );
    const r = await replayPosition(f.eu, ORIGIN, { verify: true });
    expect(r?.verification?.issues).toEqual([
      expect.objectContaining({
        kind: "link",
        revision: 2,
        expected: `prevHash ${rehashed.hash}`,
        actual: `prevHash ${row.hash}`,
      }),
    ]);
  });

  it("names a deleted row as a gap with the revision that was expected", async () => {
    tamper(f.paths.eu, "DELETE FROM events WHERE stream_id = ? AND revision = 3", originStream);
    const r = await replayPosition(f.eu, ORIGIN, { verify: true });
    expect(r?.verification?.issues).toEqual([
      expect.objectContaining({ kind: "gap", revision: 3, expected: "revision 3", actual: "revision 4" }),
    ]);
    expect(r?.verification?.issues[0]?.message).toBe(
      "revision 3 is missing: after revision 2 the next stored event is revision 4",
    );
  });

  it("a truncated tail is named when the store holds a later snapshot", async () => {
    const last = eventsOf(f, ORIGIN).length - 1;
    await f.eu.saveSnapshot(originStream, { revision: last, version: 1, state: {} });
    tamper(f.paths.eu, "DELETE FROM events WHERE stream_id = ? AND revision = ?", originStream, last);
    const r = await replayPosition(f.eu, ORIGIN, { verify: true });
    expect(r?.verification?.issues.map((i) => [i.kind, i.revision])).toEqual([["truncated", last]]);
  });

  it("an event rewritten to name another position is named as an envelope mismatch (and an altered hash)", async () => {
    tamper(
      f.paths.eu,
      "UPDATE events SET data = json_set(data, '$.position.sku', 'SKU-2') WHERE stream_id = ? AND revision = 0",
      originStream,
    );
    const r = await replayPosition(f.eu, ORIGIN, { verify: true });
    expect(r?.verification?.issues.map((i) => [i.kind, i.revision])).toEqual([
      ["envelope", 0],
      ["hash", 0],
    ]);
  });

  it("verifies a whole region store or one location, reports progress, and lists only the broken positions", async () => {
    const progress: number[] = [];
    const clean = await verifyPositions(f.eu, { region: "eu-west" }, (p) => progress.push(p.streamsDone));
    expect(clean).toMatchObject({ ok: true, streams: 3, failed: [] });
    const total = [ORIGIN, OTHER, ELSEWHERE].reduce((n, p) => n + eventsOf(f, p).length, 0);
    expect(clean.eventsChecked).toBe(total);
    expect(progress.at(-1)).toBe(3);

    tamper(
      f.paths.eu,
      "UPDATE events SET data = json_set(data, '$.quantity', 40) WHERE stream_id = ? AND revision = 1",
      positionStreamId(OTHER),
    );
    const broken = await verifyPositions(f.eu, { region: "eu-west" });
    expect(broken.ok).toBe(false);
    expect(broken.failed.map((s) => [s.sku, s.issues.map((i) => [i.kind, i.revision])])).toEqual([
      [OTHER.sku, [["hash", 1]]],
    ]);
    const atLocation = await verifyPositions(f.eu, { location: ELSEWHERE.location });
    expect(atLocation).toMatchObject({ ok: true, streams: 1 });
  });

  it("a position whose events name another region is flagged when the region is given", async () => {
    const r = await verifyPositions(f.eu, { region: "us-east" });
    expect(r.failed).toHaveLength(3);
    expect(r.failed[0]?.issues[0]).toMatchObject({ kind: "envelope", expected: 'position.region "us-east"' });
  });

  it("replay folds what is stored, so a tampered quantity shows in the state, with a balances warning", async () => {
    const last = eventsOf(f, ORIGIN).at(-1)!; // the receipt of 7 at 00:50
    tamper(
      f.paths.eu,
      "UPDATE events SET data = json_set(data, '$.quantity', 1000) WHERE stream_id = ? AND revision = ?",
      originStream,
      last.revision,
    );
    const r = await replayPosition(f.eu, ORIGIN, { verify: true });
    const decided = statesOf(f, ORIGIN).at(-1)!;
    expect(r?.balances.onHand.available).toBe(balancesOf(decided).onHand.available - 7 + 1000);
    expect(r?.verification?.issues.map((i) => [i.kind, i.revision])).toEqual([["hash", last.revision]]);
    expect(r?.warnings.map((w) => [w.kind, w.revision])).toEqual([["balances", last.revision]]);
  });
});
