/**
 * `POST /v1/promise` and `POST /v1/channels/:channel/availability` (issue 14) over positions stored
 * in a real SQLite event store, as the regional node stores them.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { ChannelRules } from "../../domain/channel-rules.ts";
import type { Command } from "../../domain/commands.ts";
import { type Position, positionStreamId } from "../../domain/ids.ts";
import { defaultEnv, initialPositionState, type PositionState } from "../../domain/position.decider.ts";
import { openSqliteEventStore, type SqliteEventStore } from "../../infra/event-store/sqlite-event-store.ts";
import { sha256Hex } from "../../infra/http/api-keys.ts";
import { createHttpServer } from "../../infra/http/http-server.ts";
import { createLogger } from "../../infra/logging.ts";
import { installAccessControl } from "../../services/api/access-control.ts";
import { MAX_BULK_SKUS, registerChannelRoutes } from "../../services/api/channel-routes.ts";
import { registerPromiseRoutes } from "../../services/api/promise-routes.ts";
import { reserveAs, setRules } from "../domain/channel-spec.ts";
import { at, expectReceipt, NOW, POS, receive, step } from "../domain/position-spec.ts";

const RULES: ChannelRules = {
  protections: [{ id: "P-B2B", channel: "b2b", quantity: 20, period: "day" }],
  quotas: [{ id: "Q-AMZ", channel: "amazon", quantity: 50, period: "day" }],
  buffers: [
    { id: "B-AMZ", channel: "amazon", scope: { level: "channel" }, amount: { percent: 10 }, priority: 1 },
  ],
};
const DC2: Position = { ...POS, location: "DC-2" };
const OTHER_SKU: Position = { ...POS, sku: "SKU-2" };
/** Three days after NOW: the PO's day. */
const PO_DAY = at(3 * 24 * 60).slice(0, 10);
const TOMORROW = at(24 * 60).slice(0, 10);

const steps = (line: { availability: { explanation: { rule: string; after: number }[] } }) =>
  line.availability.explanation.map((s) => [s.rule, s.after]);

let dir: string;
let store: SqliteEventStore;
let app: FastifyInstance;

const submit = async (state: PositionState, command: Command): Promise<PositionState> => {
  const r = step(state, command, defaultEnv(NOW));
  if (r.outcome.kind !== "accepted") throw new Error(JSON.stringify(r.outcome));
  await store.appendToStream(
    positionStreamId(state.position),
    r.stored.map((e) => ({ eventId: e.eventId, type: e.type, data: e })),
    { expectedRevision: state.revision },
  );
  return r.state;
};

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "stockline-promise-"));
  store = openSqliteEventStore({ path: join(dir, "eu-west.db"), synchronous: "OFF" });
  let s = initialPositionState(POS);
  // DC 1: ATP 100 (received 138, amazon reserved 38): amazon may sell 12 today (quota 50 − 38).
  // PO-1 brings 40 on PO_DAY, a new day of amazon's quota.
  for (const c of [
    receive(138),
    setRules(RULES),
    reserveAs("amazon", "a1", 38),
    expectReceipt(40, "PO-1", at(3 * 24 * 60)),
  ])
    s = await submit(s, c);
  await submit(initialPositionState(DC2), receive(5, { position: DC2 }));
  await submit(initialPositionState(OTHER_SKU), receive(7, { position: OTHER_SKU }));
  app = await createHttpServer({ title: "promise test", logger: createLogger("promise-test") });
  await installAccessControl(app, {
    apiKeys: [
      { name: "ops", roles: ["operations"], keySha256: [sha256Hex("ops-key")], systems: [] },
      {
        name: "amazon",
        roles: ["commerce"],
        keySha256: [sha256Hex("amazon-key")],
        systems: ["amazon"],
        channel: "amazon",
      },
    ],
    rateLimit: { max: 1000, windowMs: 60_000 },
  });
  const deps = {
    stores: [{ region: POS.region, store }],
    locationsOf: async (sku: string) =>
      sku === POS.sku
        ? [
            { region: POS.region, location: POS.location },
            { region: POS.region, location: DC2.location },
          ]
        : sku === OTHER_SKU.sku
          ? [{ region: POS.region, location: POS.location }]
          : [],
    now: () => NOW,
  };
  registerChannelRoutes(app, deps);
  registerPromiseRoutes(app, deps);
  await app.ready();
});
afterEach(async () => {
  await app.close();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

const promise = (body: Record<string, unknown>, key = "amazon-key") =>
  app.inject({ method: "POST", url: "/v1/promise", headers: { "x-api-key": key }, payload: body });

describe("POST /v1/promise", () => {
  it("given 12 for amazon today, when 20 are asked, then tomorrow (a fresh day's quota) from DC 1, explained", async () => {
    const res = await promise({ sku: POS.sku, quantity: 20, channel: "amazon" });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({ promised: true, date: TOMORROW, promisedQuantity: 20, short: 0 });
    expect(body.lines).toHaveLength(1);
    expect(body.lines[0]).toMatchObject({ date: TOMORROW, location: POS.location, quantity: 20 });
    // ATP 100, 20 held for b2b, 10% buffer (10), tomorrow's quota 50 unused.
    expect(steps(body.lines[0])).toEqual([
      ["atp", 100],
      ["protection:P-B2B", 80],
      ["buffer:B-AMZ", 70],
      ["quota:Q-AMZ", 50],
    ]);
    expect(body.summary[0]).toContain(`20 on ${TOMORROW} from ${POS.region}/${POS.location}`);
  });

  it("given web may sell 80 at DC 1 and 5 at DC 2, when 100 are asked, then the PO's day (ATP 140)", async () => {
    const body = (await promise({ sku: POS.sku, quantity: 100, channel: "web" }, "ops-key")).json();
    expect(body).toMatchObject({ promised: true, date: PO_DAY });
    expect(body.lines.map((l: { location: string }) => l.location)).toEqual([POS.location]);
    expect(steps(body.lines[0])).toEqual([
      ["atp", 140],
      ["protection:P-B2B", 120],
    ]);
  });

  it("given allowPartial, when 20 are asked, then 12 and 5 now and 3 tomorrow", async () => {
    const body = (
      await promise({ sku: POS.sku, quantity: 20, channel: "amazon", allowPartial: true })
    ).json();
    expect(body.promised).toBe(true);
    expect(body.date).toBe(TOMORROW);
    expect(
      body.lines.map((l: { date: string; location: string; quantity: number }) => [
        l.date,
        l.location,
        l.quantity,
      ]),
    ).toEqual([
      [NOW.slice(0, 10), POS.location, 12],
      [NOW.slice(0, 10), DC2.location, 5],
      [TOMORROW, POS.location, 3],
    ]);
  });

  it("a quantity beyond the horizon: promised false, with the shortfall (partial: what can be)", async () => {
    const whole = (await promise({ sku: POS.sku, quantity: 1000, channel: "amazon" })).json();
    expect(whole).toMatchObject({ promised: false, promisedQuantity: 0, short: 1000, lines: [] });
    const partial = (
      await promise({ sku: POS.sku, quantity: 1000, channel: "amazon", allowPartial: true })
    ).json();
    const sum = partial.lines.reduce((s: number, l: { quantity: number }) => s + l.quantity, 0);
    expect(partial.promisedQuantity).toBe(sum);
    expect(partial.short).toBe(1000 - sum);
    expect(partial.summary.at(-1)).toContain(`${1000 - sum} of 1000 cannot be promised`);
  });

  it("another region's delivery: nothing held there", async () => {
    const body = (
      await promise({ sku: POS.sku, quantity: 1, channel: "amazon", deliveryRegion: "us" })
    ).json();
    expect(body).toMatchObject({ promised: false, short: 1, deliveryRegion: "us" });
  });

  it("refuses another channel for a bound key (403) and names a bad field (400)", async () => {
    expect((await promise({ sku: POS.sku, quantity: 1, channel: "web" })).statusCode).toBe(403);
    const bad = await promise({ sku: POS.sku, quantity: 0, channel: "amazon" });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().errors[0].path).toBe("quantity");
  });
});

describe("POST /v1/channels/:channel/availability (bulk)", () => {
  const bulk = (body: Record<string, unknown>, key = "ops-key") =>
    app.inject({
      method: "POST",
      url: "/v1/channels/amazon/availability",
      headers: { "x-api-key": key },
      payload: body,
    });

  it("answers each SKU as the single route does, in the order asked", async () => {
    const res = await bulk({ skus: [OTHER_SKU.sku, POS.sku, "NEVER-SEEN"] });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.skus.map((s: { sku: string }) => s.sku)).toEqual([OTHER_SKU.sku, POS.sku, "NEVER-SEEN"]);
    for (const sku of [OTHER_SKU.sku, POS.sku]) {
      const single = await app.inject({
        url: `/v1/channels/amazon/availability/${encodeURIComponent(sku)}`,
        headers: { "x-api-key": "ops-key" },
      });
      expect(body.skus.find((s: { sku: string }) => s.sku === sku)).toEqual(single.json());
    }
    expect(body.skus.map((s: { quantity: number }) => s.quantity)).toEqual([7, 17, 0]);
  });

  it(`more than ${MAX_BULK_SKUS} SKUs is a 400 naming the limit; another channel's key a 403`, async () => {
    const res = await bulk({ skus: Array.from({ length: MAX_BULK_SKUS + 1 }, (_, i) => `S-${i}`) });
    expect(res.statusCode).toBe(400);
    expect(res.json().message).toContain(`at most ${MAX_BULK_SKUS}`);
    expect(res.json().errors[0].path).toBe("skus");
    const other = await app.inject({
      method: "POST",
      url: "/v1/channels/web/availability",
      headers: { "x-api-key": "amazon-key" },
      payload: { skus: [POS.sku] },
    });
    expect(other.statusCode).toBe(403);
  });
});
