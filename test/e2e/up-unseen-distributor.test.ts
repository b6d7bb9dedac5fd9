/**
 * Done-when of issue 10: a distributor the code has never seen (other names, THREE regions, its own
 * status codes and units) writes its configuration, starts `stockline up` with it as a child process
 * (managed, secured NATS; every part its own process), drives commands through the public intake (its
 * warehouse systems publish on NATS as their own users; its trade portal reserves through the API
 * with its channel key) and reads back positions, ATP, dead letters, postings (to an ERP simulator)
 * and reconciliation through the API and the CLI. Then one part is killed with SIGKILL and the
 * supervisor restarts it, and the system goes on; SIGTERM stops everything cleanly.
 */
import { randomBytes } from "node:crypto";
import { jetstream } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectNats, drainAndClose } from "../../infra/nats/connection.ts";
import { sourceCmdSubject } from "../../infra/nats/subjects.ts";
import { freePort, type RunningUp, startUp } from "./up-fixture.ts";

const PORTAL_KEY = `portal-${randomBytes(24).toString("base64url")}`;
const OPS_KEY = `ops-${randomBytes(24).toString("base64url")}`;

const STOCK_EVENTS = ["GoodsReceived", "ShipmentPosted", "CountRecorded", "StockAdjusted", "StatusChanged"];

/** Nordlicht Baustoffe: three regions, German warehouse systems, sacks and pallets, its own status codes. */
const configOf = (dataDir: string, apiPort: number, erpPort: number) => ({
  distributor: { name: "Nordlicht Baustoffe", id: "nordlicht" },
  version: "e2e-1",
  dataDir,
  nats: { mode: "managed", secured: true },
  regions: [{ id: "nord" }, { id: "sued" }, { id: "ost" }],
  locations: [
    { id: "LAGER-KIEL", region: "nord", codes: { ERP_ZENTRAL: { plant: "DE21", storageLocation: "1000" } } },
    { id: "LAGER-MUC", region: "sued", codes: { ERP_ZENTRAL: { plant: "DE81", storageLocation: "1000" } } },
    { id: "LAGER-DRS", region: "ost", codes: { ERP_ZENTRAL: { plant: "DE01", storageLocation: "1000" } } },
  ],
  systems: [
    { id: "LVS_NORD", kind: "wms", regions: ["nord"] },
    { id: "LVS_SUED", kind: "wms", regions: ["sued"] },
    { id: "LVS_OST", kind: "wms", regions: ["ost"] },
    { id: "ERP_ZENTRAL", kind: "erp" },
    { id: "handwerker-portal", kind: "channel" },
  ],
  statuses: {
    LVS_NORD: { FREI: "available", QS: "inspection", GESPERRT: "blocked" },
    LVS_SUED: { FREI: "available", QS: "inspection" },
    LVS_OST: { FREI: "available" },
  },
  products: {
    catalogue: "closed",
    items: [
      { sku: "ZEMENT-25", baseUom: "SACK", conversions: [{ uom: "PAL", quantity: 40, of: "SACK" }] },
      { sku: "KALK-10", baseUom: "SACK" },
    ],
  },
  ownership: {
    rules: [
      {
        name: "LVS_NORD in Kiel",
        movements: ["*"],
        locations: "LAGER-KIEL",
        owners: ["LVS_NORD", "handwerker-portal", "stockline-expiry", "ERP_ZENTRAL"],
      },
      {
        name: "LVS_SUED in Munich",
        movements: ["*"],
        locations: "LAGER-MUC",
        owners: ["LVS_SUED", "handwerker-portal", "stockline-expiry", "ERP_ZENTRAL"],
      },
      {
        name: "LVS_OST in Dresden",
        movements: ["*"],
        locations: "LAGER-DRS",
        owners: ["LVS_OST", "handwerker-portal", "stockline-expiry", "ERP_ZENTRAL"],
      },
    ],
    otherwise: "deny",
  },
  routing: {
    rules: [{ name: "all stock movements to the central ERP", target: "zentral", events: STOCK_EVENTS }],
  },
  postings: {
    targets: [
      { id: "zentral", system: "ERP_ZENTRAL", kind: "sap-s4hana", baseUrl: `http://127.0.0.1:${erpPort}` },
    ],
  },
  simulators: [{ target: "zentral", port: erpPort, allowNegativeStock: true }],
  reconciliation: { everyMs: 600_000 },
  node: { parkTimeoutMs: 2_000 },
  api: {
    http: { host: "127.0.0.1", port: apiPort },
    staleAfterMs: 10_000,
    keys: [
      { name: "portal", roles: ["commerce"], channel: "handwerker-portal", keyEnv: "NORDLICHT_PORTAL_KEY" },
      { name: "leitstand", roles: ["operations", "finance", "warehouse"], keyEnv: "NORDLICHT_OPS_KEY" },
    ],
  },
});

let up: RunningUp;
const connections = new Map<string, NatsConnection>();

const waitFor = <T>(what: string, probe: () => Promise<T | undefined>, timeoutMs?: number) =>
  up.waitFor(what, probe, timeoutMs);
const call = (method: "GET" | "POST", p: string, key: string, body?: unknown) =>
  up.call(method, p, key, body);
/** The CLI against the running API, as an operator runs it. */
const cli = (...args: string[]) => up.cli(OPS_KEY, ...args);

/** A warehouse system publishes as its own NATS user on its own subjects (no region in the command). */
const publishAs = async (system: string, region: string, location: string, sku: string, cmd: object) => {
  const auth = up.info.users[`${region}/${system}`];
  let nc = connections.get(`${region}/${system}`);
  if (!nc) {
    nc = await connectNats({
      servers: [...up.info.regions[region]!.servers],
      name: `e2e-${system}`,
      ...(auth ? { auth } : {}),
    });
    connections.set(`${region}/${system}`, nc);
  }
  await jetstream(nc).publish(sourceCmdSubject(region, system, location, sku), JSON.stringify(cmd));
};

let seq = 0;
const receipt = (
  system: string,
  location: string,
  sku: string,
  value: number,
  uom: string,
  status?: string,
) => {
  const key = `${system}-rcpt-${++seq}`;
  return {
    kind: "receiveGoods",
    idempotencyKey: key,
    source: { system, document: { type: "Wareneingang", id: `WE-${seq}` } },
    businessTime: new Date().toISOString(),
    correlationId: `corr-${key}`,
    position: { location, sku },
    quantity: { value, uom },
    ...(status ? { status } : {}),
  };
};

const atpOf = async (sku: string): Promise<number | undefined> => {
  const r = await call("GET", `/v1/availability/${sku}`, OPS_KEY);
  return r.status === 200 ? (r.json.total?.atp as number) : undefined;
};

const partsState = () => up.partsState();

beforeAll(async () => {
  const [apiPort, erpPort] = [await freePort(), await freePort()];
  up = await startUp({
    file: "nordlicht.json",
    config: (_dir, dataDir) => configOf(dataDir, apiPort, erpPort),
    env: { NORDLICHT_PORTAL_KEY: PORTAL_KEY, NORDLICHT_OPS_KEY: OPS_KEY },
    // Eleven processes start on a machine shared with other test files: generous, not a measure.
    readyTimeoutMs: 240_000,
  });
}, 250_000);

afterAll(async () => {
  for (const nc of connections.values()) await drainAndClose(nc).catch(() => {});
  await up?.stop();
}, 60_000);

describe("stockline up with a distributor the code has never seen", () => {
  it("runs every part as its own process: three nodes and projectors, global, simulator, postings, reconciler, API", () => {
    const names = partsState().parts.map((p) => p.name);
    expect(names.sort()).toEqual(
      [
        "api",
        "global",
        "node-nord",
        "node-ost",
        "node-sued",
        "postings-zentral",
        "projector-nord",
        "projector-ost",
        "projector-sued",
        "reconciler",
        "simulator-zentral",
      ].sort(),
    );
    expect(new Set(partsState().parts.map((p) => p.pid)).size).toBe(11);
  });

  it("takes commands through its intake and API and answers through the API and the CLI", async () => {
    // Its units (2 pallets = 80 sacks) and status codes (QS = inspection: not available to promise).
    await publishAs(
      "LVS_NORD",
      "nord",
      "LAGER-KIEL",
      "ZEMENT-25",
      receipt("LVS_NORD", "LAGER-KIEL", "ZEMENT-25", 2, "PAL", "FREI"),
    );
    await publishAs(
      "LVS_NORD",
      "nord",
      "LAGER-KIEL",
      "ZEMENT-25",
      receipt("LVS_NORD", "LAGER-KIEL", "ZEMENT-25", 7, "SACK", "QS"),
    );
    await publishAs(
      "LVS_SUED",
      "sued",
      "LAGER-MUC",
      "ZEMENT-25",
      receipt("LVS_SUED", "LAGER-MUC", "ZEMENT-25", 50, "SACK"),
    );
    await publishAs(
      "LVS_OST",
      "ost",
      "LAGER-DRS",
      "ZEMENT-25",
      receipt("LVS_OST", "LAGER-DRS", "ZEMENT-25", 10, "SACK"),
    );
    // A misspelt warehouse: a dead letter that names it, no position.
    await publishAs(
      "LVS_NORD",
      "nord",
      "LAGER-KEIL",
      "ZEMENT-25",
      receipt("LVS_NORD", "LAGER-KEIL", "ZEMENT-25", 1, "SACK"),
    );

    await waitFor("global ATP of 140 sacks over three regions", async () =>
      (await atpOf("ZEMENT-25")) === 140 ? true : undefined,
    );

    // The trade portal reserves with its own order-line id; its key speaks for the channel.
    const placed = await call("POST", "/v1/reservations", PORTAL_KEY, {
      sku: "ZEMENT-25",
      region: "nord",
      location: "LAGER-KIEL",
      quantity: 5,
      uom: "SACK",
      channelReservationId: "AUFTRAG-4711-1",
    });
    expect(placed.status, JSON.stringify(placed.json)).toBe(201);
    await waitFor("ATP 135 after the reservation", async () =>
      (await atpOf("ZEMENT-25")) === 135 ? true : undefined,
    );

    // An unknown SKU is unknown, not sold out.
    expect((await call("GET", "/v1/availability/BETON-99", OPS_KEY)).status).toBe(404);

    const position = await call("GET", "/v1/positions/LAGER-KIEL/ZEMENT-25", OPS_KEY);
    expect(position.status, JSON.stringify(position.json)).toBe(200);
    expect(JSON.stringify(position.json)).toContain('"inspection":7');
    const history = await call("GET", "/v1/positions/LAGER-KIEL/ZEMENT-25/history", OPS_KEY);
    expect(history.status).toBe(200);
    expect(JSON.stringify(history.json)).toContain("ReservationPlaced");

    // Dead letters through the CLI (`stockline dlq commands list`), which needed `run` before.
    const dlq = await waitFor("the dead letter of the misspelt warehouse", async () => {
      const text = await cli("dlq", "commands", "list");
      return text.includes("LAGER-KEIL") ? text : undefined;
    });
    expect(dlq).toMatch(/unknownLocation|LAGER-KIEL/);

    // Postings: the three receipts into available stock reach the ERP simulator, acknowledged; the
    // receipt into inspection (QS) moves no unrestricted stock in SAP: skipped, with its reason.
    const summary = await waitFor("three postings acknowledged by the central ERP", async () => {
      const r = await call("GET", "/v1/postings/summary", OPS_KEY);
      const t = (r.json.targets as { target: string; acked: number; skipped: number }[] | undefined)?.find(
        (x) => x.target === "zentral",
      );
      return t && t.acked >= 3 && t.skipped >= 1 ? t : undefined;
    });
    expect(summary.target).toBe("zentral");
    expect(await cli("postings", "summary")).toContain("zentral");

    // Reconciliation: the ERP's balances agree with the ledger.
    const run = await call("POST", "/v1/reconciliation/runs", OPS_KEY, {});
    expect(run.status, JSON.stringify(run.json)).toBe(201);
    expect(await cli("reconcile", "runs")).toContain(run.json.run.id as string);
  }, 90_000);

  it("restarts a part killed with SIGKILL, and the system goes on", async () => {
    const atpBefore = await atpOf("ZEMENT-25");
    const before = partsState().parts.find((p) => p.name === "projector-sued")!;
    process.kill(before.pid, "SIGKILL");
    const after = await waitFor("projector-sued restarted and ready", async () => {
      const p = partsState().parts.find((x) => x.name === "projector-sued");
      return p && p.restarts >= 1 && p.ready && p.pid !== before.pid ? p : undefined;
    });
    expect(after.restarts).toBeGreaterThanOrEqual(1);
    await publishAs(
      "LVS_SUED",
      "sued",
      "LAGER-MUC",
      "ZEMENT-25",
      receipt("LVS_SUED", "LAGER-MUC", "ZEMENT-25", 20, "SACK"),
    );
    await waitFor("ATP up by 20 sacks after a receipt in the restarted region", async () =>
      (await atpOf("ZEMENT-25")) === (atpBefore ?? 0) + 20 ? true : undefined,
    );
  }, 60_000);
});
