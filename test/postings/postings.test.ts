import Fastify from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CanonicalEvent } from "../../domain/canonical-event.ts";
import type { RoutingConfig } from "../../domain/routing-rules.ts";
import { dlqStreamName, evtStreamName } from "../../infra/nats/subjects.ts";
import { createD365Connector } from "../../services/postings/d365-connector.ts";
import { registerPostingRoutes } from "../../services/postings/posting-routes.ts";
import {
  type GuardedTarget,
  laneOf,
  postingKey,
  postingService,
} from "../../services/postings/posting-worker.ts";
import type { PostingsLedger } from "../../services/postings/postings-ledger.ts";
import { createSapConnector } from "../../services/postings/sap-connector.ts";
import type { D365Simulator } from "../../services/simulators/d365-inventory-visibility-simulator.ts";
import type { SapSimulator } from "../../services/simulators/sap-s4hana-simulator.ts";
import {
  adjust,
  type NatsFixture,
  PositionHistory,
  type PostingsRig,
  pick,
  postingsRig,
  receive,
  ship,
  waitFor,
} from "./fixtures.ts";

const ROUTING: RoutingConfig = {
  targets: [
    { id: "sap", systems: ["SAP_S4"] },
    { id: "d365", systems: ["D365"] },
  ],
  rules: [
    { target: "sap", events: ["*"], locations: "DC*" },
    { target: "d365", events: ["*"], locations: "*" },
  ],
};

let rig: PostingsRig;
let nats: NatsFixture;
let sap: SapSimulator;
let d365: D365Simulator;
let ledger: PostingsLedger;

beforeAll(async () => {
  rig = await postingsRig("postings");
  ({ nats, sap, d365, ledger } = rig);
});

afterAll(async () => {
  await rig?.close();
});

const startWorkers = async (opts: { maxAttempts?: number } = {}) => {
  const breaker = { resetTimeoutMs: 300, volumeThreshold: 3 };
  const worker = {
    maxAttempts: opts.maxAttempts ?? 4,
    backoff: { initialMs: 50, maxMs: 300 },
    ackWaitMs: 5_000,
  };
  const { guard: sapGuard } = await rig.startWorker(
    createSapConnector({
      kind: "sap-s4hana",
      id: "sap",
      baseUrl: rig.sapUrl,
      locations: {
        DC1: { plant: "1010", storageLocation: "0001" },
        DC2: { plant: "1010", storageLocation: "0002" },
      },
      timeoutMs: 2_000,
    }),
    ROUTING,
    { breaker, worker },
  );
  const { guard: d365Guard } = await rig.startWorker(
    createD365Connector({
      kind: "d365-inventory-visibility",
      id: "d365",
      baseUrl: rig.d365Url,
      environmentId: "env1",
      organizationId: "usmf",
      locations: {
        DC1: { siteId: "1", locationId: "11" },
        DC2: { siteId: "1", locationId: "12" },
        STORE9: { siteId: "2", locationId: "21" },
      },
      timeoutMs: 2_000,
    }),
    ROUTING,
    { breaker, worker },
  );
  return { sapGuard, d365Guard };
};

describe("outbound postings", () => {
  let guardsStarted: { sapGuard: GuardedTarget; d365Guard: GuardedTarget };
  beforeAll(async () => {
    guardsStarted = await startWorkers();
  });

  it("a target down for a while: the breaker opens, postings wait, nothing is lost, each event is posted once", async () => {
    const { sapGuard } = guardsStarted;
    const opened: string[] = [];
    sapGuard.breaker.on("open", () => opened.push("open"));
    sap.setOutage(true, { mode: "drop" });
    // D365 stays up but loses its answers (applied, but we never hear): in-doubt retries.
    d365.setFaults({ lostResponseRate: 1 });

    const histories = ["A-1", "A-2", "A-3"].map(
      (sku) => new PositionHistory({ region: nats.region, location: "DC1", sku }),
    );
    const events: CanonicalEvent[] = [];
    for (const h of histories) {
      events.push(...h.apply(receive(20, { documents: { po: "4500000001" } })));
      events.push(...h.apply(pick(5)));
      events.push(...h.apply(ship(5)));
      events.push(...h.apply(adjust(-2)));
    }
    await nats.publish(events);
    // Picks move nothing SAP or D365 keep: 3 events per position are posted.
    const posted = events.filter((e) => e.type !== "PickConfirmed");

    await waitFor("the SAP breaker to open", () => opened.length > 0 || undefined);
    await new Promise((r) => setTimeout(r, 1_000));
    expect(sap.ledger()).toHaveLength(0);
    expect(ledger.list({ target: "sap", status: "acked" })).toHaveLength(0);
    expect(ledger.list({ target: "sap", status: "dead" })).toHaveLength(0);
    const waiting = await nats.jsm.consumers.info(evtStreamName(nats.region), "postings-sap");
    expect(waiting.num_ack_pending + waiting.num_pending).toBeGreaterThan(0);

    sap.setOutage(false);
    d365.setFaults({ lostResponseRate: 0 });
    await waitFor(
      "every posting acknowledged",
      () => {
        const s = ledger.list({ target: "sap", status: "acked" }).length;
        const d = ledger.list({ target: "d365", status: "acked" }).length;
        return s === posted.length && d === posted.length ? true : undefined;
      },
      20_000,
    );

    // Exactly once in SAP: one material document per event key, and it is the one our ledger names.
    const sapDocs = sap.ledger().filter((e) => e.origin === "api");
    expect(sapDocs).toHaveLength(posted.length);
    const keys = posted.map((e) => `Repeatability-Request-ID:${postingKey(e)}`);
    expect(new Set(sapDocs.map((d) => d.idempotencyKey))).toEqual(new Set(keys));
    for (const row of ledger.list({ target: "sap", status: "acked" })) {
      expect(sapDocs.find((d) => d.idempotencyKey === `Repeatability-Request-ID:${row.eventKey}`)?.id).toBe(
        row.targetDocument,
      );
    }
    // Exactly once in D365 despite lost answers: one applied change per event key, answered as duplicates.
    const d365Changes = d365.ledger().filter((e) => e.origin === "api");
    expect(d365Changes.map((c) => c.id).sort()).toEqual(
      ledger
        .list({ target: "d365", status: "acked" })
        .map((r) => r.eventKey)
        .sort(),
    );
    expect(d365.faults.counters.lostResponses).toBeGreaterThan(0);
    expect(d365.stats().duplicates).toBeGreaterThan(0);
    // Balances agree with the canonical positions: 20 received, 5 shipped, 2 written off.
    for (const h of histories) {
      expect(sap.balance({ Material: h.position.sku, Plant: "1010", StorageLocation: "0001" })).toBe(13);
      expect(
        d365.quantity("env1", "usmf", h.position.sku, { SiteId: "1", LocationId: "11" }, "fno.availphysical"),
      ).toBe(13);
    }
    // Nothing left unacknowledged in JetStream.
    await waitFor("the consumer to be drained", async () => {
      const info = await nats.jsm.consumers.info(evtStreamName(nats.region), "postings-sap");
      return info.num_ack_pending === 0 && info.num_pending === 0 ? true : undefined;
    });
    expect(ledger.list({ target: "sap", status: "acked" }).every((r) => r.attempts >= 1)).toBe(true);
    expect(Math.max(...ledger.list({ target: "sap" }).map((r) => r.attempts))).toBeGreaterThan(1);
  });

  it("never posts a movement back to the system that owns it (no echo)", async () => {
    const h = new PositionHistory({ region: nats.region, location: "DC2", sku: "ECHO-1" });
    // Reported by SAP itself (a goods receipt booked in SAP): goes to D365, not back to SAP.
    const fromSap = h.apply(receive(7), "SAP_S4");
    // Reported by the WMS: goes to both.
    const fromWms = h.apply(receive(3));
    await nats.publish([...fromSap, ...fromWms]);
    await waitFor("both events handled by both targets", () => {
      const rows = ledger.list({ limit: 100_000 }).filter((r) => r.sku === "ECHO-1");
      return rows.filter((r) => r.status === "acked" || r.status === "skipped").length === 4
        ? rows
        : undefined;
    });
    const rows = ledger.list({ limit: 100_000 }).filter((r) => r.sku === "ECHO-1");
    const sapRow = rows.find((r) => r.target === "sap" && r.eventId === fromSap[0]?.eventId);
    expect(sapRow?.status).toBe("skipped");
    expect(sapRow?.lastError).toMatch(/^echo: GoodsReceived was reported by SAP_S4/);
    expect(rows.find((r) => r.target === "d365" && r.eventId === fromSap[0]?.eventId)?.status).toBe("acked");
    expect(sap.balance({ Material: "ECHO-1" })).toBe(3);
    expect(sap.ledger().filter((d) => d.items.some((i) => i.Material === "ECHO-1"))).toHaveLength(1);
    expect(
      d365.quantity("env1", "usmf", "ECHO-1", { SiteId: "1", LocationId: "12" }, "fno.availphysical"),
    ).toBe(10);
  });

  it("dead-letters a refused posting with its business context, and a replay posts it exactly once", async () => {
    const h = new PositionHistory({ region: nats.region, location: "DC1", sku: "DL-1" });
    // The receipt is SAP's own (not posted back), the pick and shipment come from the WMS; SAP
    // never saw the receipt because it was booked in another client: the 601 finds no stock.
    h.apply(receive(4), "SAP_S4");
    h.apply(pick(4));
    const [shipped] = h.apply(ship(4));
    await nats.publish(h.events);
    const dead = await waitFor("the dead letter", () =>
      ledger.list({ target: "sap", status: "dead" }).find((r) => r.eventId === shipped?.eventId),
    );
    expect(dead.errorClass).toBe("rejected");
    expect(dead.lastError).toMatch(/M7\/021/);
    expect(dead.attempts).toBe(1);

    // In the dead-letter stream, with what an operator needs to act.
    const dlq = await nats.jsm.streams.getMessage(dlqStreamName(nats.region), {
      last_by_subj: `inv.dlq.${nats.region}.posting-failed`,
    });
    const body = dlq!.json<Record<string, unknown>>();
    expect(body).toMatchObject({
      reason: "posting-failed",
      target: "sap",
      eventKey: dead.eventKey,
      eventType: "ShipmentPosted",
      position: { sku: "DL-1", location: "DC1" },
      errorClass: "rejected",
    });
    expect(String(body.error)).toMatch(/Deficit/);

    const sapWorker = rig.workers.find((w) => w.targetId === "sap")!;
    // The operator books the missing stock in SAP, then replays; the answer is lost once (504).
    sap.inject({ Material: "DL-1", Plant: "1010", StorageLocation: "0001", delta: 4, EntryUnit: "EA" });
    sap.setFaults({ lostResponseRate: 1 });
    const first = await sapWorker.replay(dead.id);
    expect(first).toMatchObject({ outcome: "failed" });
    const applied = sap
      .ledger()
      .filter((d) => d.idempotencyKey === `Repeatability-Request-ID:${dead.eventKey}`);
    expect(applied).toHaveLength(1); // SAP posted it, we did not hear
    expect(ledger.byId(dead.id)?.status).toBe("dead");

    sap.setFaults({ lostResponseRate: 0 });
    // Through the API, as `stockline dlq list|show|retry` does.
    const app = Fastify();
    registerPostingRoutes(app, postingService(ledger, rig.workers));
    const list = (await app.inject({ method: "GET", url: "/v1/postings/dead-letters?target=sap" })).json();
    expect(list.deadLetters.map((d: { id: number }) => d.id)).toContain(dead.id);
    const shown = (await app.inject({ method: "GET", url: `/v1/postings/dead-letters/${dead.id}` })).json();
    expect(shown.event.eventId).toBe(shipped?.eventId);
    expect(shown.attempts.map((a: { outcome: string }) => a.outcome)).toEqual([
      "failed (rejected)",
      "failed (unavailable)",
    ]);
    const retried = await app.inject({ method: "POST", url: `/v1/postings/dead-letters/${dead.id}/retry` });
    expect(retried.statusCode).toBe(200);
    const second = retried.json();
    expect(second).toMatchObject({ outcome: "acked", duplicate: true, retriedBy: "operator" });
    expect(second.posting.targetDocument).toBe(applied[0]?.id);
    // Who replayed it (the API key's name; "operator" on routes without keys) and when, on the posting.
    const after = (await app.inject({ method: "GET", url: `/v1/postings/dead-letters/${dead.id}` })).json();
    expect(after.actions).toEqual([{ action: "retry", by: "operator", at: second.retriedAt }]);
    expect(
      sap.ledger().filter((d) => d.idempotencyKey === `Repeatability-Request-ID:${dead.eventKey}`),
    ).toHaveLength(1);
    expect(sap.balance({ Material: "DL-1" })).toBe(0);
    // A third replay has nothing to do.
    expect(
      (await app.inject({ method: "POST", url: `/v1/postings/dead-letters/${dead.id}/retry` })).statusCode,
    ).toBe(409);
    await app.close();
    expect(ledger.byId(dead.id)?.replays).toBe(2);
  });

  it("dead-letters after the last attempt when the target keeps failing with server errors", async () => {
    const h = new PositionHistory({ region: nats.region, location: "STORE9", sku: "F-1" });
    d365.setFaults({ errorRate: 1, errorStatus: 500 });
    try {
      const [received] = h.apply(receive(2));
      await nats.publish(h.events);
      const dead = await waitFor(
        "the dead letter after retries",
        () => ledger.list({ target: "d365", status: "dead" }).find((r) => r.eventId === received?.eventId),
        20_000,
      );
      expect(dead.errorClass).toBe("failed");
      expect(dead.chargedFailures).toBe(4);
      // Every attempt failed; 4 were charged (one more if it first went out in a bulk with others, split).
      const attempts = ledger.attemptsOf(dead.id).map((a) => a.outcome);
      expect(attempts.length).toBeGreaterThanOrEqual(4);
      expect(new Set(attempts)).toEqual(new Set(["failed (failed)"]));
      expect(d365.ledger().filter((c) => c.productId === "F-1")).toHaveLength(0);
    } finally {
      d365.setFaults({ errorRate: 0 });
    }
  });

  it("a bulk that fails as a whole is split: only the bad change is dead-lettered, the others are posted", async () => {
    // All in the lane of the bad one, so that they go out in one bulk with it.
    const sameLane = Array.from({ length: 60 }, (_, i) => `B-${i}`)
      .filter((sku) => laneOf(sku, 4) === laneOf("B-POISON", 4))
      .slice(0, 4);
    const skus = [sameLane[0]!, sameLane[1]!, "B-POISON", sameLane[2]!, sameLane[3]!];
    const histories = skus.map(
      (sku) => new PositionHistory({ region: nats.region, location: "STORE9", sku }),
    );
    d365.failBulksContaining(["B-POISON"]);
    try {
      const events = histories.flatMap((h) => h.apply(receive(3)));
      // One publish burst: the worker fetches them together and posts them in one bulk first.
      await nats.publish(events);
      const poison = events.find((e) => e.position.sku === "B-POISON")!;
      const dead = await waitFor(
        "the bad change dead-lettered",
        () => ledger.list({ target: "d365", status: "dead" }).find((r) => r.eventId === poison.eventId),
        20_000,
      );
      expect(dead.chargedFailures).toBe(4);
      for (const e of events.filter((x) => x !== poison))
        await waitFor(
          `${e.position.sku} acknowledged`,
          () => ledger.get(postingKey(e), "d365")?.status === "acked",
        );
      const posted = d365.ledger().filter((c) => c.origin === "api" && skus.includes(c.productId));
      expect(posted.map((c) => c.productId).sort()).toEqual([...sameLane].sort());
      // The good ones went through more than one call (the first bulk failed as a whole).
      expect(ledger.get(postingKey(events[0]!), "d365")!.attempts).toBeGreaterThan(1);
    } finally {
      d365.failBulksContaining([]);
    }
  });

  it("a document the ERP keeps refusing holds only its lane: SKUs of other lanes are posted meanwhile", async () => {
    const poisonSku = "L-POISON";
    const others = Array.from({ length: 40 }, (_, i) => `L-${i}`)
      .filter((sku) => laneOf(sku, 4) !== laneOf(poisonSku, 4))
      .slice(0, 4);
    expect(others).toHaveLength(4);
    sap.failDocumentsFor([poisonSku]);
    try {
      const [poison] = new PositionHistory({ region: nats.region, location: "DC1", sku: poisonSku }).apply(
        receive(2),
      );
      const later = others.map(
        (sku) => new PositionHistory({ region: nats.region, location: "DC1", sku }).apply(receive(3))[0]!,
      );
      // The refused document comes first in the stream.
      await nats.publish([poison!, ...later]);
      for (const e of later)
        await waitFor(
          `${e.position.sku} acknowledged by SAP`,
          () => ledger.get(postingKey(e), "sap")?.status === "acked",
        );
      // By then the refused one is still being retried (sequential posting would have waited for its last attempt).
      expect(ledger.get(postingKey(poison!), "sap")?.status).not.toBe("dead");
      await waitFor(
        "the refused document dead-lettered after its attempts",
        () => ledger.get(postingKey(poison!), "sap")?.status === "dead",
        20_000,
      );
    } finally {
      sap.failDocumentsFor([]);
    }
  });
});
