/**
 * End to end (issues 3–5): the whole local system — hub + eu/us nats-server processes, regional nodes,
 * projections, API, ERP simulators with faults (5xx and lost responses), posting workers and the
 * reconciler — fed by the demo feed for a few seconds. Once the feed stops and everything settled:
 *
 * - global ATP per SKU = the sum of the regional read models = the fold of every stored event;
 * - every dead letter has a reason, and the feed's broken and unauthorised commands are exactly the
 *   dead letters;
 * - every event routed to an ERP is acknowledged, and is in the simulator's ledger exactly once
 *   (by its idempotency key, with the document id the postings ledger recorded);
 * - a reconciliation finds every ERP balance in sync;
 * - the audit replay verifies the hash chain of every position.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CanonicalEvent } from "../../domain/canonical-event.ts";
import { positionKey } from "../../domain/ids.ts";
import { routesTo } from "../../domain/routing-rules.ts";
import { cmdStreamName, dlqStreamName } from "../../infra/nats/subjects.ts";
import { targetStockEffect } from "../../projections/reconciliation.ts";
import { applyToRegionalAtp, type RegionalAtpEntry } from "../../projections/regional-atp.projection.ts";
import { replayPosition, verifyPositions } from "../../services/audit/replay.ts";
import { localFeedInput } from "../../services/cli/run-command.ts";
import { DemoFeed, loadCatalog } from "../../services/local-system/demo-feed.ts";
import { type LocalSystem, startLocalSystem } from "../../services/local-system/local-system.ts";
import { StatusView } from "../../services/local-system/status-view.ts";
import { postingKey } from "../../services/postings/posting-worker.ts";

const FEED_MS = 10_000;

let sys: LocalSystem;
let feed: DemoFeed;
let dir: string;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

// Generous deadlines: CI shares a 2-core machine with other test files; a slow run must not fail.
const waitFor = async (what: string, check: () => boolean | Promise<boolean>, timeoutMs = 60_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(100);
  }
};

/** Every stored event of a region, in commit order. */
const storedEvents = async (region: string): Promise<CanonicalEvent[]> => {
  const store = sys.parts.get(region)!.node.store;
  const out: CanonicalEvent[] = [];
  for (let from = 0; ; ) {
    const page = await store.readAll({ fromPosition: from, maxCount: 1000 });
    if (page.length === 0) return out;
    for (const r of page) out.push(r.data as CanonicalEvent);
    from = page[page.length - 1]!.globalPosition;
  }
};

const fold = (events: readonly CanonicalEvent[]): Map<string, RegionalAtpEntry> => {
  const entries = new Map<string, RegionalAtpEntry>();
  for (const e of events) {
    const r = applyToRegionalAtp(entries.get(positionKey(e.position)), e);
    if (r.kind !== "applied") throw new Error(`fold of ${e.eventId}: ${r.kind}`);
    entries.set(positionKey(e.position), r.entry);
  }
  return entries;
};

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), "stockline-e2e-"));
  sys = await startLocalSystem({
    dataDir: dir,
    apiPort: 0,
    logger: pino({ level: "silent" }),
    // NATS secured (issue 9): every component and source system as its own user, no anonymous access.
    secured: true,
    simulatorFaults: { latencyMs: 1, jitterMs: 3, errorRate: 0.03, errorStatus: 503, lostResponseRate: 0.03 },
  });
  const catalog = loadCatalog({ count: 25 });
  const { world, transport } = localFeedInput(sys);
  feed = new DemoFeed(world, transport, {
    catalog,
    rate: 80,
    seed: 4242,
    // Nothing expires while the test compares figures.
    reservationTtlSeconds: 600,
    openingStockVisible: () =>
      waitFor("opening stock in the global view", () =>
        catalog.items.every(
          (i) => Object.keys(sys.global.getGlobalAvailability(i.sku)?.locations ?? {}).length === 4,
        ),
      ),
  });
  await feed.start();
  await sleep(FEED_MS);
  await feed.stop();
  // The feed's JetStream publishes are acknowledged once the commands are in INV_CMD_<R>, not once
  // a node decided them: on a loaded machine the nodes are still working through the tail. Nothing
  // below may compare figures before every command has an outcome.
  await waitFor(
    "every region's command consumers drained",
    async () => {
      for (const r of sys.regions) {
        const jsm = sys.parts.get(r)!.jsm;
        for await (const c of jsm.consumers.list(cmdStreamName(r)))
          if (c.num_pending > 0 || c.num_ack_pending > 0) return false;
      }
      return true;
    },
    60_000,
  );
}, 150_000);

afterAll(async () => {
  await feed?.stop();
  await sys?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
}, 30_000);

describe("the local system, end to end", () => {
  it("was fed a realistic mix through JetStream and the API", () => {
    const s = feed.stats;
    expect(s.byKind["opening receipt"]).toBe(feed.positions);
    expect(s.reservations.confirmed).toBeGreaterThan(50);
    expect(s.byKind.pick).toBeGreaterThan(20);
    expect(s.byKind.shipment).toBeGreaterThan(10);
    expect(s.reservations.failed + s.publishFailures).toBe(0);
  });

  it("converges: global ATP = sum of regional read models = fold of every stored event", async () => {
    const expected = new Map<string, RegionalAtpEntry>();
    for (const r of sys.regions) for (const [k, v] of fold(await storedEvents(r))) expected.set(k, v);
    expect(expected.size).toBe(feed.positions);

    // Settled once the read models and the hub have every position's last revision.
    await waitFor("read models and global view at every position's head", () =>
      [...expected.values()].every((e) => {
        const p = e.position;
        const regional = sys.parts.get(p.region)!.readModel.get(p.location, p.sku);
        const global = sys.global.getGlobalAvailability(p.sku)?.locations[`${p.region}/${p.location}`];
        return regional?.lastRevision === e.lastRevision && global?.lastRevision === e.lastRevision;
      }),
    );
    // No event arrived meanwhile (nothing expires, the feed stopped): the fold is still the truth.
    let stored = 0;
    for (const r of sys.regions) stored += (await storedEvents(r)).length;
    expect(stored).toBe([...expected.values()].reduce((n, e) => n + e.lastRevision + 1, 0));

    for (const e of expected.values()) {
      const p = e.position;
      expect(await sys.parts.get(p.region)!.readModel.detail(p.location, p.sku)).toEqual(e);
      expect(sys.global.getGlobalAvailability(p.sku)?.locations[`${p.region}/${p.location}`]).toMatchObject({
        atp: e.atp.atp,
        available: e.onHand.available,
      });
    }
    for (const item of feed.catalog.items) {
      const g = sys.global.getGlobalAvailability(item.sku)!;
      const regional = sys.regions.map((r) => sys.parts.get(r)!.readModel.availability(item.sku));
      const folded = [...expected.values()].filter((e) => e.position.sku === item.sku);
      expect(g.total.atp).toBe(regional.reduce((s, a) => s + a.total.atp, 0));
      expect(g.total.atp).toBe(folded.reduce((s, e) => s + e.atp.atp, 0));
      expect(g.total.reserved).toBe(regional.reduce((s, a) => s + a.total.reserved, 0));
      expect(g.total.onHand).toBe(regional.reduce((s, a) => s + a.total.onHand, 0));
      for (const a of regional) expect(g.byRegion[a.region]?.atp).toBe(a.total.atp);
    }
    expect(sys.global.freshness().every((f) => !f.stale && f.link === "up")).toBe(true);

    // Consumer lag on /metrics covers the hub's mirror consumers too (the global projector's).
    await waitFor("the hub's mirror consumers in /metrics", async () => {
      const text = await (await fetch(`${sys.apiUrl}/metrics`)).text();
      return sys.regions.every((r) =>
        text.includes(
          `stockline_consumer_pending{stream="INV_EVT_${r.toUpperCase()}",consumer="global-atp"} 0`,
        ),
      );
    });

    // What `make run` prints: per region the events committed and relayed, all of them by now.
    const view = await new StatusView(sys, feed, () => {}).render();
    for (const r of sys.regions) {
      const count = (await storedEvents(r)).length;
      const line = view.split("\n").find((l) => l.startsWith(`${r} `));
      expect(line?.replace(/(\d)[\s\u202f](?=\d{3}\b)/g, "$1")).toMatch(
        new RegExp(`^${r}\\s+${count}\\s+${count}\\s+0\\s`),
      );
    }
  }, 120_000);

  it("promises open purchase orders and transfers on their dates (time-phased ATP through the API)", async () => {
    // Entries with an open PO line, read from the regional read models (the feed announced some).
    const withPo: RegionalAtpEntry[] = [];
    for (const r of sys.regions)
      for (const item of feed.catalog.items)
        for (const l of sys.parts.get(r)!.readModel.availability(item.sku).locations) {
          const e = await sys.parts.get(r)!.readModel.detail(l.location, item.sku);
          if (e && Object.keys(e.expectedReceipts ?? {}).length > 0) withPo.push(e);
        }
    expect(feed.stats.byKind["purchase order"]).toBeGreaterThan(0);
    expect(withPo.length).toBeGreaterThan(0);
    for (const e of withPo.slice(0, 5)) {
      const last = Object.values(e.expectedReceipts!)
        .map((r) => r.expectedAt)
        .sort()
        .at(-1)!;
      const date = last.slice(0, 10);
      const res = await fetch(
        `${sys.apiUrl}/v1/availability/${encodeURIComponent(e.position.sku)}?date=${date}`,
        {
          headers: { "x-api-key": sys.keys.commerce },
        },
      );
      expect(res.status).toBe(200);
      const body = (await res.json()) as {
        locations: { region: string; location: string; atpOnDate: number }[];
      };
      const at = body.locations.find(
        (l) => l.region === e.position.region && l.location === e.position.location,
      );
      // By the last PO's date, everything announced for the position has arrived.
      const arriving =
        Object.values(e.expectedReceipts!).reduce((s, r) => s + r.quantity, 0) +
        Object.values(e.inbound)
          .filter((t) => (t.eta ?? "9999") <= last)
          .reduce((s, t) => s + t.inTransit, 0);
      expect(at?.atpOnDate).toBe(e.atp.sellable ? Math.max(0, e.atp.net + arriving) : 0);
      // Transfers carry the carrier's ETA: nothing is derived from a transit-time guess.
      for (const t of Object.values(e.inbound)) expect(t.eta).toBeDefined();

      // The whole horizon at once: each open PO line arrives on its day.
      const tl = await fetch(`${sys.apiUrl}/v1/availability/${encodeURIComponent(e.position.sku)}/timeline`, {
        headers: { "x-api-key": sys.keys.commerce },
      });
      expect(tl.status).toBe(200);
      const timeline = (await tl.json()) as {
        days: { date: string; incoming: number; atp: number }[];
        derivedEtas: number;
        locations: {
          region: string;
          location: string;
          days: { date: string; incoming: number; atp: number }[];
        }[];
      };
      const mine = timeline.locations.find(
        (l) => l.region === e.position.region && l.location === e.position.location,
      )!;
      for (const r of Object.values(e.expectedReceipts!))
        expect(mine.days.find((d) => d.date === r.expectedAt.slice(0, 10))?.incoming).toBeGreaterThanOrEqual(
          r.quantity,
        );
      expect(mine.days.find((d) => d.date === date)?.atp).toBe(at?.atpOnDate);
      expect(timeline.derivedEtas).toBe(0);
      // The total is the sum of the locations, day by day.
      for (const [i, d] of timeline.days.entries())
        expect(d.atp).toBe(timeline.locations.reduce((sum, l) => sum + l.days[i]!.atp, 0));
    }
  });

  it("dead-letters exactly the broken and unauthorised commands, each with a reason", async () => {
    const letters: { reason: string; code: string; message: string; context: Record<string, unknown> }[] = [];
    for (const r of sys.regions) {
      const jsm = sys.parts.get(r)!.jsm;
      const si = await jsm.streams.info(dlqStreamName(r));
      for (let seq = si.state.first_seq; seq <= si.state.last_seq && si.state.messages > 0; seq++) {
        const m = await jsm.streams.getMessage(dlqStreamName(r), { seq });
        if (m) letters.push(m.json());
      }
    }
    for (const d of letters) {
      expect(d.reason).toMatch(/^(malformedJson|invalidCommand|rejected)$/);
      expect(d.code.length).toBeGreaterThan(0);
      expect(d.message.length).toBeGreaterThan(10);
    }
    const rejected = letters.filter((d) => d.reason === "rejected");
    expect(rejected.length).toBe(feed.stats.byKind["ERP receipt at DC"]);
    for (const d of rejected) {
      expect(d.code).toBe("notOwner");
      expect(d.message).toMatch(/receipt at "DC-[A-Z]+" is owned by WMS_(EU|US)/);
      expect(d.context.sourceSystem).toMatch(/^(SAP_S4|D365)$/);
    }
    expect(letters.length - rejected.length).toBe(feed.stats.byKind.malformed);
  });

  it("posts every routed event to its ERP exactly once, through 5xx and lost responses", async () => {
    const expectedKeys = new Map<string, string>(); // key -> target
    for (const r of sys.regions)
      for (const e of await storedEvents(r))
        for (const t of sys.targets.map((g) => g.connector.id))
          if (routesTo(sys.routing, t, e) && targetStockEffect(e) !== 0) expectedKeys.set(postingKey(e), t);
    expect(expectedKeys.size).toBeGreaterThan(100);
    await waitFor("every routed event acknowledged", () =>
      [...expectedKeys].every(([k, t]) => sys.ledger.get(k, t)?.status === "acked"),
    );
    expect(sys.ledger.list({ status: "dead", limit: 10_000 })).toEqual([]);

    const sapEntries = sys.sap!.ledger().filter((e) => e.origin === "api");
    const d365Entries = sys.d365!.ledger().filter((e) => e.origin === "api");
    // The SAP simulator names the key with where it came from (`Repeatability-Request-ID:<key>`).
    const sapByKey = new Map(
      sapEntries.map((e) => [e.idempotencyKey?.replace(/^Repeatability-Request-ID:/, ""), e]),
    );
    const d365ByKey = new Map(d365Entries.map((e) => [e.id, e]));
    // Exactly once: one ledger entry per key, and no entry that is not a routed event.
    expect(sapByKey.size).toBe(sapEntries.length);
    expect(d365ByKey.size).toBe(d365Entries.length);
    expect(new Set([...sapByKey.keys(), ...d365ByKey.keys()])).toEqual(new Set(expectedKeys.keys()));
    for (const [k, t] of expectedKeys) {
      const row = sys.ledger.get(k, t)!;
      if (t === "sap") expect(row.targetDocument).toBe(sapByKey.get(k)?.id);
      else expect(row.targetDocument).toBe(d365ByKey.get(k)?.id);
    }
    // The faults did happen: some postings needed more than one attempt.
    const retried = sys.ledger.list({ status: "acked", limit: 100_000 }).filter((p) => p.attempts > 1);
    expect(retried.length).toBeGreaterThan(0);
  }, 120_000);

  it("reconciles every ERP balance with the event ledger", async () => {
    // The simulators inject 5xx into balance reads too: the reconciler retries them itself.
    const r = await sys.reconciler.run({ trigger: "e2e" });
    expect(r.positions.length).toBe(feed.positions);
    expect(r.findings.filter((f) => f.class === "unexplained")).toEqual([]);
    expect(r.findings).toEqual([]);
    expect(r.report).toContain(
      `${feed.positions} positions checked, ${feed.positions} in sync, 0 finding(s)`,
    );
  });

  it("replays and verifies every position's hash chain", async () => {
    for (const region of sys.regions) {
      const store = sys.parts.get(region)!.node.store;
      const all = await verifyPositions(store, { region });
      expect(all.ok).toBe(true);
      expect(all.streams).toBe(feed.positions / sys.regions.length);
    }
    const traced = feed.stats.tracedOrder!;
    expect(traced).toBeDefined();
    const store = sys.parts.get(traced.region)!.node.store;
    const replay = await replayPosition(store, traced, { verify: true });
    expect(replay?.verification?.ok).toBe(true);
    const head = fold((await storedEvents(traced.region)).filter((e) => e.position.sku === traced.sku)).get(
      positionKey({ region: traced.region, location: traced.location, sku: traced.sku }),
    );
    expect(replay?.atp.atp).toBe(head?.atp.atp);
    expect(replay?.events.some((e) => e.type === "ShipmentPosted")).toBe(true);
  });
});
