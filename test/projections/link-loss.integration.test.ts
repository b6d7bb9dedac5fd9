/**
 * Link loss (issue 4): cut the eu region's leaf link while both regions keep writing, then restore it.
 * While the link is down, freshness reports eu as down and (past the threshold) stale, the us figures
 * keep moving and eu's regional read model keeps up; after restore the global view catches up with
 * nothing lost and nothing counted twice.
 *
 * The outage lasts LINK_LOSS_SECONDS (default 30 s, the figure; `LINK_LOSS_SECONDS=5` for a
 * quick local run).
 */
import { jetstreamManager } from "@nats-io/jetstream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CanonicalEvent } from "../../domain/canonical-event.ts";
import { positionKey } from "../../domain/ids.ts";
import { evtStreamName } from "../../infra/nats/subjects.ts";
import { decideAll, domainAtp, REGIONS, SKUS, sampleCommands } from "./event-streams.ts";
import { type Federation, startFederation, waitFor } from "./federation-fixture.ts";

const OUTAGE_MS = Number(process.env.LINK_LOSS_SECONDS ?? 30) * 1_000;
const STALE_AFTER_MS = 2_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("link loss: a region cut off from the hub while writing", () => {
  let fed: Federation;
  beforeAll(async () => {
    fed = await startFederation(REGIONS, { staleAfterMs: STALE_AFTER_MS, probeIntervalMs: 250 });
  });
  afterAll(async () => {
    await fed?.stop();
  });

  it(
    "reports the outage while it lasts, then catches up: nothing lost, nothing counted twice",
    async () => {
      const run = decideAll(sampleCommands(Math.max(1500, OUTAGE_MS / 5), 4242));
      const events = run.events;
      let next = 0;
      const commitNext = async (n: number) => {
        const chunk = events.slice(next, next + n);
        next += chunk.length;
        await fed.commit(chunk);
        return chunk;
      };
      const lastOf = (upTo: number) => {
        const m = new Map<string, CanonicalEvent>();
        for (const e of events.slice(0, upTo)) m.set(positionKey(e.position), e);
        return m;
      };
      const globalReached = (upTo: number) =>
        [...lastOf(upTo).values()].every(
          (e) =>
            fed.global.getGlobalAvailability(e.position.sku)?.locations[
              `${e.position.region}/${e.position.location}`
            ]?.lastRevision === e.revision,
        );

      // Before: both regions in sync.
      await commitNext(Math.floor(events.length / 5));
      await waitFor("global view in sync before the cut", () => globalReached(next));
      await waitFor("both regions fresh", () => fed.global.freshness().every((f) => !f.stale), 10_000);

      await fed.topology.cutLink("eu");
      const cutAt = Date.now();
      const perTick = Math.max(1, Math.floor(((events.length * 3) / 5) * (50 / OUTAGE_MS)));
      let sawDown = false;
      let sawStale = false;
      const usEventsBefore = fed.global.freshness().find((f) => f.region === "us")!.eventsApplied;
      const euAppliedBefore = fed.projectors.eu!.stats.applied;
      const euGlobalBefore = JSON.stringify(
        SKUS.map((s) => fed.global.getGlobalAvailability(s)?.byRegion.eu),
      );
      while (Date.now() - cutAt < OUTAGE_MS) {
        await commitNext(perTick);
        const eu = fed.global.freshness().find((f) => f.region === "eu")!;
        const us = fed.global.freshness().find((f) => f.region === "us")!;
        if (eu.link === "down") sawDown = true;
        if (eu.stale) {
          sawStale = true;
          expect(eu.reasons.join("; ")).toMatch(/link down|silent/);
          // While eu is stale, the global answer for a SKU with eu figures says so.
          expect(fed.global.getGlobalAvailability(SKUS[0])?.stale).toBe(true);
          expect(fed.global.getGlobalAvailability(SKUS[0], { regions: ["us"] })?.stale).toBe(us.stale);
        }
        if (Date.now() - cutAt > STALE_AFTER_MS + 1_500) {
          expect(eu.stale).toBe(true);
          expect(us.stale).toBe(false);
        }
        await sleep(50);
      }
      expect(sawDown).toBe(true);
      expect(sawStale).toBe(true);
      // The eu figures in the global view are frozen at their last known values; eu's own read model is not.
      expect(JSON.stringify(SKUS.map((s) => fed.global.getGlobalAvailability(s)?.byRegion.eu))).toBe(
        euGlobalBefore,
      );
      expect(fed.projectors.eu!.stats.applied).toBeGreaterThan(euAppliedBefore);
      // The us region kept flowing into the global view throughout.
      expect(fed.global.freshness().find((f) => f.region === "us")!.eventsApplied).toBeGreaterThan(
        usEventsBefore,
      );

      await fed.topology.restoreLink("eu");
      await commitNext(events.length - next);
      const restoredAt = Date.now();
      await waitFor("global view to catch up after restore", () => globalReached(events.length), 30_000);
      const catchUpMs = Date.now() - restoredAt;
      await waitFor(
        "eu fresh again",
        () => !fed.global.freshness().find((f) => f.region === "eu")!.stale,
        15_000,
      );

      // Nothing lost, nothing counted twice: every event applied exactly once globally, and the mirrors
      // hold exactly what the regions hold.
      expect(fed.global.stats.applied).toBe(events.length);
      expect(fed.global.stats.skippedRevisions).toBe(0);
      const hubJsm = await jetstreamManager(fed.hubNc, { domain: "hub" });
      for (const r of REGIONS) {
        const origin = await (await jetstreamManager(fed.regionNc[r]!)).streams.info(evtStreamName(r));
        const mirror = await hubJsm.streams.info(evtStreamName(r));
        expect(mirror.state.messages).toBe(origin.state.messages);
        expect(origin.state.messages).toBe(events.filter((e) => e.position.region === r).length);
      }
      const domain = domainAtp(run);
      for (const sku of SKUS) {
        const g = fed.global.getGlobalAvailability(sku)!;
        const sumRegional = REGIONS.reduce((s, r) => s + fed.readModels[r]!.availability(sku).total.atp, 0);
        const sumDomain = [...domain.values()]
          .filter((d) => d.position.sku === sku && d.state.revision >= 0)
          .reduce((s, d) => s + d.atp.atp, 0);
        expect(g.total.atp).toBe(sumRegional);
        expect(g.total.atp).toBe(sumDomain);
        expect(g.stale).toBe(false);
      }
      expect(catchUpMs).toBeLessThan(30_000);
    },
    OUTAGE_MS + 45_000,
  );

  it("survives a hub outage: the global projector reconnects, resumes its consumers and catches up", async () => {
    const run = decideAll(sampleCommands(600, 777), undefined, new Map());
    // Fresh positions of their own would collide with the first test's streams: use its own SKU names.
    const events = run.events.map((e) => ({
      ...e,
      position: { ...e.position, sku: `hub-${e.position.sku}` },
    }));
    const half = Math.floor(events.length / 2);
    const appliedBefore = fed.global.stats.applied;
    await fed.commit(events.slice(0, half));
    await fed.topology.stopHub();
    await waitFor(
      "freshness to report every link down",
      () => fed.global.freshness().every((f) => f.link === "down"),
      5_000,
    );
    await fed.commit(events.slice(half)); // regions keep taking events while the hub is away
    await fed.topology.startHub();
    const last = new Map<string, CanonicalEvent>();
    for (const e of events) last.set(positionKey(e.position), e);
    await waitFor(
      "global view to catch up after the hub restarted",
      () =>
        [...last.values()].every(
          (e) =>
            fed.global.getGlobalAvailability(e.position.sku)?.locations[
              `${e.position.region}/${e.position.location}`
            ]?.lastRevision === e.revision,
        ),
      30_000,
    );
    expect(fed.global.stats.applied - appliedBefore).toBe(events.length);
    await waitFor(
      "regions fresh after the hub outage",
      () => fed.global.freshness().every((f) => !f.stale),
      15_000,
    );
  });
});
