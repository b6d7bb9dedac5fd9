/**
 * Convergence (issue 4): hub + two regions as real nats-server processes. After a random command
 * stream decided by the domain decider, committed to each region's store and relayed to INV_EVT_<R>
 * (with relay retries and some events the relay never published), global ATP = the sum of the
 * regional read models = the fold of every stored event.
 */
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CanonicalEvent } from "../../domain/canonical-event.ts";
import { type Position, positionKey } from "../../domain/ids.ts";
import { reservationsById } from "../../domain/reservation-book.ts";
import {
  atpReservationsBucketName,
  dlqStreamName,
  evtStreamName,
  evtSubject,
} from "../../infra/nats/subjects.ts";
import { regionalReservationKey } from "../../projections/atp-keys.ts";
import {
  applyToRegionalAtp,
  type RegionalAtpEntry,
  type ReservationView,
} from "../../projections/regional-atp.projection.ts";
import { GlobalProjector } from "../../services/projectors/global-projector.ts";
import type { DeadLetter } from "../../services/regional-node/dead-letters.ts";
import { ALL_POSITIONS, decideAll, domainAtp, REGIONS, SKUS, sampleCommands } from "./event-streams.ts";
import { type Federation, startFederation, waitFor } from "./federation-fixture.ts";

const fold = (events: readonly CanonicalEvent[]) => {
  const entries = new Map<string, RegionalAtpEntry>();
  for (const e of events) {
    const r = applyToRegionalAtp(entries.get(positionKey(e.position)), e);
    if (r.kind !== "applied") throw new Error(`reference fold: ${r.kind}`);
    entries.set(positionKey(e.position), r.entry);
  }
  return entries;
};

describe("convergence: global ATP = sum of regional read models = fold of every event", () => {
  let fed: Federation;
  beforeAll(async () => {
    fed = await startFederation(REGIONS);
  });
  afterAll(async () => {
    await fed?.stop();
  });

  it("converges after a random command stream with relay retries and events the relay lost", async () => {
    const run = decideAll(sampleCommands(1500, 20240501));
    const events = run.events;
    expect(events.length).toBeGreaterThan(800);
    const last = new Map<string, number>();
    for (const e of events) last.set(positionKey(e.position), e.revision);
    // The relay loses every 17th event unless it is its position's last (a later one reveals the gap).
    const lost = events.filter((e, i) => i % 17 === 5 && e.revision < last.get(positionKey(e.position))!);
    expect(lost.length).toBeGreaterThan(5);
    const lostIds = new Set(lost.map((e) => e.eventId));
    const half = Math.floor(events.length / 2);
    await fed.commit(events.slice(0, half), (e) => !lostIds.has(e.eventId));
    // A relay retry after a crash republishes a stretch it had already published (dedupe by msg id).
    await fed.republish(events.slice(half - 40, half).filter((e) => !lostIds.has(e.eventId)));
    await fed.commit(events.slice(half), (e) => !lostIds.has(e.eventId));

    const expected = fold(events);
    const domain = domainAtp(run);
    await waitFor(
      "regional read models to reach every position's last revision",
      () =>
        [...last].every(([k, rev]) => {
          const p = domain.get(k)!.position;
          return fed.readModels[p.region]!.get(p.location, p.sku)?.lastRevision === rev;
        }),
      30_000,
    );
    await waitFor(
      "global view to reach every position's last revision",
      () =>
        [...last].every(([k, rev]) => {
          const p = domain.get(k)!.position;
          const loc = fed.global.getGlobalAvailability(p.sku)?.locations[`${p.region}/${p.location}`];
          return loc?.lastRevision === rev;
        }),
      30_000,
    );

    // Regional: each stored KV entry is the fold of that position's events, gaps filled from the store.
    for (const [k, entry] of expected) {
      const p = entry.position;
      expect(await fed.readModels[p.region]!.detail(p.location, p.sku)).toEqual(entry);
      const d = domain.get(k)!.atp;
      expect(fed.readModels[p.region]!.get(p.location, p.sku)).toMatchObject({
        atp: d.atp,
        available: d.available,
        reserved: d.reserved,
        safetyStock: d.safetyStock,
        lifecycle: d.lifecycle,
      });
    }
    // Open reservations: one key each in atp_res_<r>, exactly the positions' own (gap-filled ones too).
    let openReservations = 0;
    for (const r of REGIONS) {
      const kv = await new Kvm(jetstream(fed.regionNc[r]!)).open(atpReservationsBucketName(r));
      const stored = new Map<string, ReservationView>();
      for await (const key of await kv.keys()) {
        const e = await kv.get(key);
        if (e?.operation === "PUT") stored.set(key, e.json<ReservationView>());
      }
      const expectedOpen = new Map<string, number>();
      for (const { state } of domain.values())
        if (state.position.region === r)
          for (const [id, res] of Object.entries(reservationsById(state.reservations)))
            expectedOpen.set(
              regionalReservationKey(state.position.location, state.position.sku, id),
              res.quantity,
            );
      expect(new Map([...stored].map(([k, v]) => [k, v.quantity]))).toEqual(expectedOpen);
      openReservations += stored.size;
    }
    expect(openReservations).toBeGreaterThan(5);

    const filled = REGIONS.reduce((s, r) => s + fed.projectors[r]!.stats.filledFromStore, 0);
    expect(filled).toBe(lost.length);
    const applied = REGIONS.reduce(
      (s, r) => s + fed.projectors[r]!.stats.applied + fed.projectors[r]!.stats.filledFromStore,
      0,
    );
    expect(applied).toBe(events.length); // nothing applied twice, nothing missed

    // Global = sum of the regional read models = the domain's ATP, per SKU, per region and in total.
    for (const sku of SKUS) {
      const g = fed.global.getGlobalAvailability(sku)!;
      const perRegion = REGIONS.map((r) => fed.readModels[r]!.availability(sku));
      const domainTotal = ALL_POSITIONS.filter((p) => p.sku === sku)
        .map((p) => domain.get(positionKey(p))?.atp.atp ?? 0)
        .reduce((a, b) => a + b, 0);
      expect(g.total.atp).toBe(perRegion.reduce((s, a) => s + a.total.atp, 0));
      expect(g.total.atp).toBe(domainTotal);
      expect(g.total.reserved).toBe(perRegion.reduce((s, a) => s + a.total.reserved, 0));
      expect(g.total.onHand).toBe(perRegion.reduce((s, a) => s + a.total.onHand, 0));
      for (const a of perRegion) {
        if (a.locations.length > 0) expect(g.byRegion[a.region]?.atp).toBe(a.total.atp);
      }
    }
    // The global view noticed the revisions the relay lost (harmless to its figures).
    expect(fed.global.stats.skippedRevisions).toBe(lost.length);

    await waitFor("both regions fresh", () => fed.global.freshness().every((f) => !f.stale), 10_000);
    const fresh = fed.global.freshness();
    expect(fresh.map((f) => f.link)).toEqual(["up", "up"]);
    expect(fresh.every((f) => f.lastEventRecordedTime !== undefined)).toBe(true);
  });

  it("dead-letters an event it cannot decode, with the payload, and goes on with the next ones", async () => {
    const r = REGIONS[0]!;
    const js = jetstream(fed.regionNc[r]!);
    const jsm = await jetstreamManager(fed.regionNc[r]!);
    const dlqBefore = (await jsm.streams.info(dlqStreamName(r))).state.messages;
    // Something other than the relay wrote to the event stream: cut-off JSON and JSON that is no event.
    const cut = await js.publish(evtSubject(r, "DC-X", "SKU-X"), '{"type":"GoodsReceived","quantity":');
    const alien = await js.publish(evtSubject(r, "DC-X", "SKU-X"), JSON.stringify({ type: "GoodsReceived" }));
    // A real event after them is still applied.
    const fresh: readonly Position[] = [{ region: r, location: "DC 9", sku: "SKU-AFTER" }];
    const after = decideAll(sampleCommands(10, 7, fresh), fresh).events;
    expect(after.length).toBeGreaterThan(0);
    await fed.commit(after);
    const last = after.at(-1)!;
    await waitFor(
      "the read model past the undecodable events",
      () => fed.readModels[r]!.get(last.position.location, last.position.sku)?.lastRevision === last.revision,
    );
    await waitFor(
      "two dead letters",
      async () => (await jsm.streams.info(dlqStreamName(r))).state.messages === dlqBefore + 2,
    );
    const info = await jsm.streams.info(dlqStreamName(r));
    const letters: DeadLetter[] = [];
    for (let seq = info.state.last_seq - 1; seq <= info.state.last_seq; seq++)
      letters.push((await jsm.streams.getMessage(dlqStreamName(r), { seq }))!.json<DeadLetter>());
    expect(letters.map((d) => d.reason)).toEqual(["undecodableEvent", "undecodableEvent"]);
    expect(letters.map((d) => d.code)).toEqual(["malformedJson", "decode"]);
    expect(letters.map((d) => d.intake.streamSequence)).toEqual([cut.seq, alien.seq]);
    expect(letters[0]!.payload).toBe('{"type":"GoodsReceived","quantity":');
    expect(letters[1]!.message).toContain(`${evtStreamName(r)}#${alien.seq}`);
    expect(fed.projectors[r]!.stats.rejected).toBe(2);
    // The originals stay in the event stream for the audit; the consumer moved past them.
    expect((await jsm.streams.getMessage(evtStreamName(r), { seq: cut.seq }))?.string()).toContain(
      "quantity",
    );
  });

  it("a restarted global projector takes its view from atp_global and re-applies nothing", async () => {
    const again = new GlobalProjector({
      nc: fed.hubNc,
      regions: REGIONS,
      durableName: "restart-check",
      staleAfterMs: 3_000,
      probeIntervalMs: 250,
      probeTimeoutMs: 500,
    });
    await again.start();
    try {
      // Its new durables read every mirrored event again: each one is already in the loaded view.
      const hub = await jetstreamManager(fed.hubNc, { domain: "hub" });
      await waitFor("the restarted projector through every mirrored event", async () => {
        for (const r of REGIONS) {
          const c = await hub.consumers.info(evtStreamName(r), "restart-check");
          if (c.num_pending > 0 || c.num_ack_pending > 0) return false;
        }
        return true;
      });
      expect(again.stats.duplicates).toBeGreaterThan(1000);
      expect(again.stats.applied).toBe(0);
      for (const sku of [...SKUS, "SKU-AFTER"])
        expect(again.getGlobalAvailability(sku)?.locations).toEqual(
          fed.global.getGlobalAvailability(sku)?.locations,
        );
    } finally {
      await again.stop();
    }
  });
});
