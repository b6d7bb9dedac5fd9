import { join } from "node:path";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CanonicalEvent } from "../../domain/canonical-event.ts";
import type { Command } from "../../domain/commands.ts";
import { positionStreamId } from "../../domain/ids.ts";
import type { RoutingConfig } from "../../domain/routing-rules.ts";
import { ANY } from "../../infra/event-store/event-store.ts";
import { openSqliteEventStore, type SqliteEventStore } from "../../infra/event-store/sqlite-event-store.ts";
import { createHttpServer } from "../../infra/http/http-server.ts";
import { createD365Connector } from "../../services/postings/d365-connector.ts";
import { postingService } from "../../services/postings/posting-worker.ts";
import type { PostingsLedger } from "../../services/postings/postings-ledger.ts";
import { createSapConnector } from "../../services/postings/sap-connector.ts";
import { eventStoreLedger, Reconciler } from "../../services/reconciliation/reconciler.ts";
import { registerReconciliationRoutes } from "../../services/reconciliation/reconciliation-routes.ts";
import { ReconciliationStore } from "../../services/reconciliation/reconciliation-store.ts";
import type { D365Simulator } from "../../services/simulators/d365-inventory-visibility-simulator.ts";
import type { SapSimulator } from "../../services/simulators/sap-s4hana-simulator.ts";
import {
  type NatsFixture,
  PositionHistory,
  type PostingsRig,
  pick,
  postingsRig,
  receive,
  ship,
  waitFor,
} from "../postings/fixtures.ts";

const log = pino({ level: "silent" });
const ROUTING: RoutingConfig = {
  targets: [
    { id: "sap", systems: ["SAP_S4"] },
    { id: "d365", systems: ["D365"] },
  ],
  rules: [
    { target: "sap", events: ["*"] },
    { target: "d365", events: ["*"] },
  ],
};

let rig: PostingsRig;
let nats: NatsFixture;
let sap: SapSimulator;
let d365: D365Simulator;
let ledger: PostingsLedger;
let store: SqliteEventStore;
let recStore: ReconciliationStore;
let reconciler: Reconciler;
let d365Connector: ReturnType<typeof createD365Connector>;
const submitted: Command[] = [];

/** As the regional node does: append to the store, then the relay publishes. */
const commit = async (events: readonly CanonicalEvent[]) => {
  for (const e of events) {
    await store.appendToStream(
      positionStreamId(e.position),
      [{ eventId: e.eventId, type: e.type, data: e }],
      {
        expectedRevision: ANY,
      },
    );
  }
  await nats.publish(events);
};

const ackedCount = () => ledger.list({ status: "acked", limit: 100_000 }).length;

beforeAll(async () => {
  rig = await postingsRig("recon");
  ({ nats, sap, d365, ledger } = rig);
  store = openSqliteEventStore({ path: join(rig.dir, "events.sqlite"), synchronous: "NORMAL" });
  recStore = new ReconciliationStore(join(rig.dir, "reconciliation.sqlite"));
  const sapConnector = createSapConnector({
    kind: "sap-s4hana",
    id: "sap",
    baseUrl: rig.sapUrl,
    locations: { DC1: { plant: "1010", storageLocation: "0001" } },
  });
  d365Connector = createD365Connector({
    kind: "d365-inventory-visibility",
    id: "d365",
    baseUrl: rig.d365Url,
    environmentId: "env1",
    organizationId: "usmf",
    locations: { DC1: { siteId: "1", locationId: "11" } },
  });
  for (const c of [sapConnector, d365Connector]) {
    await rig.startWorker(c, ROUTING, {
      breaker: { resetTimeoutMs: 300 },
      worker: { backoff: { initialMs: 50, maxMs: 200 } },
    });
  }
  const service = postingService(ledger, rig.workers);
  reconciler = new Reconciler({
    region: nats.region,
    targets: [sapConnector, d365Connector],
    routing: ROUTING,
    postings: ledger,
    events: eventStoreLedger(store),
    store: recStore,
    logger: log,
    submitCommand: async (command) => {
      submitted.push(command);
      return { accepted: true };
    },
    replayPosting: (id) => service.retry(id),
  });
});

afterAll(async () => {
  await reconciler?.stop();
  recStore?.close();
  await store?.close();
  await rig?.close();
});

describe("reconciliation against the ERP simulators", () => {
  const a = () => new PositionHistory({ region: nats.region, location: "DC1", sku: "R-1" });
  let r1: PositionHistory;
  let r2: PositionHistory;

  it("finds every position in sync once every posting is acknowledged", async () => {
    r1 = a();
    r2 = new PositionHistory({ region: nats.region, location: "DC1", sku: "R-2" });
    const events = [
      ...r1.apply(receive(30)),
      ...r1.apply(pick(10)),
      ...r1.apply(ship(10)),
      ...r2.apply(receive(8)),
    ];
    await commit(events);
    await waitFor("postings acknowledged", () => (ackedCount() === 2 * 3 ? true : undefined));
    const result = await reconciler.run();
    expect(result.positions).toHaveLength(4);
    expect(result.findings).toEqual([]);
    expect(result.positions.find((p) => p.target === "sap" && p.position.sku === "R-1")).toMatchObject({
      actual: 20,
      canonical: 20,
      expectedFromAcks: 20,
    });
    expect(result.report).toContain("4 positions checked, 4 in sync, 0 finding(s)");
  });

  it("reports a change made in SAP outside the sync as unexplained, with its quantity, and approval adjusts the position", async () => {
    // A user books a 5-piece surplus straight in SAP (MI07 / 701).
    sap.inject({ Material: "R-1", Plant: "1010", StorageLocation: "0001", delta: 5, EntryUnit: "EA" });
    const result = await reconciler.run();
    expect(result.findings).toHaveLength(1);
    const [f] = result.findings;
    expect(f).toMatchObject({
      target: "sap",
      location: "DC1",
      sku: "R-1",
      class: "unexplained",
      quantity: 5,
      actual: 25,
      canonical: 20,
      expectedFromAcks: 20,
      events: [],
      proposal: { kind: "adjustStock", quantity: 5 },
    });
    expect(result.report).toMatch(/R-1\s+25\s+20\s+20\s+20\s+UNEXPLAINED \+5/);
    if (process.env.STOCKLINE_PRINT_REPORT) console.log(result.report);

    // Through the HTTP API, as an operator would.
    const app = await createHttpServer({ title: "reconciliation test", logger: log });
    registerReconciliationRoutes(app, { reconciler, store: recStore });
    const approved = await app.inject({
      method: "POST",
      url: `/v1/reconciliation/findings/${f?.id}/approve`,
      payload: { by: "ops" },
    });
    expect(approved.statusCode).toBe(200);
    expect(submitted).toHaveLength(1);
    expect(submitted[0]).toMatchObject({
      kind: "adjustStock",
      position: { region: nats.region, location: "DC1", sku: "R-1" },
      quantity: { value: 5, uom: "EA" },
      source: { system: "SAP_S4", document: { type: "reconciliationFinding", id: f?.id } },
      reasonCode: "RECONCILIATION",
      status: "available",
    });
    expect(
      (await app.inject({ method: "POST", url: `/v1/reconciliation/findings/${f?.id}/approve` })).statusCode,
    ).toBe(409);
    const listed = await app.inject({
      method: "GET",
      url: `/v1/reconciliation/runs/${result.run.id}/findings`,
    });
    expect(listed.json().findings[0]).toMatchObject({ status: "approved", resolution: { by: "ops" } });
    await app.close();

    // The command flows as an event owned by SAP: D365 gets it, SAP (which has it) does not; all in sync.
    const [adjusted] = r1.apply(submitted[0] as never, "SAP_S4");
    await commit([adjusted as CanonicalEvent]);
    const key = `${nats.region}:${positionStreamId(r1.position)}:${adjusted?.revision}`;
    await waitFor("the adjustment handled by both targets", () =>
      ledger.get(key, "d365")?.status === "acked" && ledger.get(key, "sap") ? true : undefined,
    );
    expect(ledger.get(key, "sap")).toMatchObject({
      status: "skipped",
      lastError: expect.stringMatching(/^echo:/),
    });
    const after = await reconciler.run();
    expect(after.findings).toEqual([]);
    expect(d365.quantity("env1", "usmf", "R-1", { SiteId: "1", LocationId: "11" }, "iv.onhand")).toBe(25);
  });

  it("rides out a short ERP outage while reading balances (retries with backoff), then reports in sync", async () => {
    sap.setOutage(true, { forMs: 400 });
    const result = await reconciler.run({ targets: ["sap"] });
    expect(result.positions.filter((p) => p.target === "sap").length).toBeGreaterThan(0);
    expect(result.findings).toEqual([]);
  });

  it("fails the run, naming the target, when an ERP stays down past the retries", async () => {
    sap.setOutage(true);
    try {
      await expect(reconciler.run({ targets: ["sap"] })).rejects.toThrow(/sap/);
    } finally {
      sap.setOutage(false);
    }
  });

  it("classifies a difference explained by events not yet acknowledged as in flight", async () => {
    // The D365 connector is paused (a deploy): an event committed now is not yet posted there.
    const d365Worker = rig.workers.find((w) => w.targetId === "d365")!;
    await d365Worker.stop();
    const events = r2.apply(receive(6));
    await commit(events);
    await waitFor(
      "posted to SAP",
      () =>
        ledger.get(`${nats.region}:${positionStreamId(r2.position)}:1`, "sap")?.status === "acked" ||
        undefined,
    );
    const result = await reconciler.run({ targets: ["d365"] });
    expect(result.findings).toHaveLength(1);
    expect(result.findings[0]).toMatchObject({
      target: "d365",
      sku: "R-2",
      class: "inFlight",
      quantity: 6,
      actual: 8,
      canonical: 14,
      proposal: { kind: "wait" },
      status: "waiting",
      timesSeen: 1,
    });
    expect(result.findings[0]?.events.map((e) => e.eventId)).toEqual([events[0]?.eventId]);
    expect(result.report).toContain("IN FLIGHT +6");
    if (process.env.STOCKLINE_PRINT_REPORT) console.log(result.report);
  });

  it("keeps an outstanding in-flight difference as one waiting finding, and clears it once the posting is acknowledged", async () => {
    const [inFlight] = recStore.findings({ status: "waiting" });
    const again = await reconciler.run({ targets: ["d365"] });
    expect(again.findings).toMatchObject([
      { id: inFlight?.id, status: "waiting", timesSeen: 2, lastRunId: again.run.id },
    ]);
    expect(again.summary).toMatchObject({ seen: 1, new: 0, cleared: 0 });
    expect(recStore.findings({ status: "waiting" })).toHaveLength(1);

    // The connector is back: the posting goes out and is acknowledged.
    await rig.startWorker(d365Connector, ROUTING, { worker: { backoff: { initialMs: 50, maxMs: 200 } } });
    await waitFor(
      "posted to D365",
      () =>
        ledger.get(`${nats.region}:${positionStreamId(r2.position)}:1`, "d365")?.status === "acked" ||
        undefined,
    );
    const after = await reconciler.run({ targets: ["d365"] });
    expect(after.findings).toEqual([]);
    expect(after.closed).toMatchObject([
      {
        id: inFlight?.id,
        status: "cleared",
        closedByRunId: after.run.id,
        closeReason: expect.stringMatching(/acknowledged/),
      },
    ]);
    expect(after.summary).toMatchObject({ seen: 0, cleared: 1, byStatus: { cleared: 1, waiting: 0 } });
    expect(after.run.summary).toEqual(after.summary);
    expect(recStore.findings({ status: "waiting" })).toEqual([]);
  });

  it("counts a drift once across runs; dismissed, it stays so while the figures do; other figures open a new finding; gone, it is resolved", async () => {
    const drift = (delta: number) =>
      sap.inject({ Material: "R-2", Plant: "1010", StorageLocation: "0001", delta, EntryUnit: "EA" });
    drift(-3);
    const first = await reconciler.run({ targets: ["sap"] });
    expect(first.findings).toMatchObject([
      { sku: "R-2", class: "unexplained", quantity: -3, status: "open" },
    ]);
    const id = first.findings[0]!.id;
    const second = await reconciler.run({ targets: ["sap"] });
    expect(second.findings).toMatchObject([
      { id, timesSeen: 2, firstSeenAt: first.run.snapshotTime, lastSeenAt: second.run.snapshotTime },
    ]);
    expect(second.summary).toMatchObject({ seen: 1, new: 0, byStatus: { open: 1 } });
    expect(recStore.findings({ status: "open" }).map((f) => f.id)).toEqual([id]);
    expect(second.report).toContain(`[${id}] seen 2 times since ${first.run.snapshotTime}`);

    const dismissed = reconciler.dismiss(
      id,
      { name: "ops-carl", roles: ["operations"] },
      "shrinkage, recounted on Monday",
    );
    expect(dismissed).toMatchObject({
      outcome: "dismissed",
      finding: {
        status: "dismissed",
        resolution: {
          dismissal: { by: "ops-carl", roles: ["operations"], reason: "shrinkage, recounted on Monday" },
        },
      },
    });
    expect(reconciler.dismiss(id, { name: "ops-carl", roles: [] }, "again")).toMatchObject({
      outcome: "notPending",
    });
    expect(await reconciler.approve(id, "ops")).toMatchObject({ outcome: "notPending" });
    const third = await reconciler.run({ targets: ["sap"] });
    expect(third.findings).toMatchObject([{ id, status: "dismissed", timesSeen: 3 }]);
    expect(third.summary.byStatus).toMatchObject({ open: 0, dismissed: 1 });

    drift(-2);
    const fourth = await reconciler.run({ targets: ["sap"] });
    expect(fourth.findings).toMatchObject([{ status: "open", quantity: -5, previousId: id, timesSeen: 1 }]);
    expect(fourth.closed).toMatchObject([
      { id, status: "dismissed", quantity: -3, closedByRunId: fourth.run.id },
    ]);
    const reopened = fourth.findings[0]!.id;

    drift(5);
    const fifth = await reconciler.run({ targets: ["sap"] });
    expect(fifth.findings).toEqual([]);
    expect(fifth.closed).toMatchObject([{ id: reopened, status: "resolved", closedByRunId: fifth.run.id }]);
    expect(fifth.summary).toMatchObject({ resolved: 1, byStatus: { resolved: 1 } });
    expect(recStore.findingsOf(second.run.id).map((f) => f.id)).toEqual([id]);
  });
});
