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
import { registerChannelRoutes } from "../../services/api/channel-routes.ts";
import { reserveAs, setRules } from "../domain/channel-spec.ts";
import { NOW, POS, receive, step } from "../domain/position-spec.ts";

const RULES: ChannelRules = {
  protections: [{ id: "P-B2B", channel: "b2b", quantity: 20, period: "day" }],
  quotas: [{ id: "Q-AMZ", channel: "amazon", quantity: 50, period: "day" }],
  buffers: [
    { id: "B-AMZ", channel: "amazon", scope: { level: "channel" }, amount: { percent: 10 }, priority: 1 },
  ],
};

let dir: string;
let store: SqliteEventStore;
let app: FastifyInstance;

/** Decides a command at the position and appends its events, as the regional node stores them. */
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
  dir = mkdtempSync(join(tmpdir(), "stockline-channels-"));
  store = openSqliteEventStore({ path: join(dir, "eu-west.db"), synchronous: "OFF" });
  let s = initialPositionState(POS);
  // ATP 100 after: received 138, amazon reserved 38.
  for (const c of [receive(138), setRules(RULES), reserveAs("amazon", "a1", 38)]) s = await submit(s, c);
  const other: Position = { ...POS, location: "DC-2" };
  await submit(initialPositionState(other), receive(5, { position: other }));
  app = await createHttpServer({ title: "channels test", logger: createLogger("channels-test") });
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
  registerChannelRoutes(app, {
    stores: [{ region: POS.region, store }],
    locationsOf: async () => [
      { region: POS.region, location: POS.location },
      { region: POS.region, location: "DC-2" },
    ],
    now: () => NOW,
  });
  await app.ready();
});
afterEach(async () => {
  await app.close();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

const url = (channel: string, sku = POS.sku) =>
  `/v1/channels/${encodeURIComponent(channel)}/availability/${encodeURIComponent(sku)}`;

describe("GET /v1/channels/:channel/availability/:sku", () => {
  it("why can Amazon sell only 12? Each location's figure, explained, and the total", async () => {
    const res = await app.inject({ url: url("amazon"), headers: { "x-api-key": "amazon-key" } });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    const dc1 = body.locations.find((l: { location: string }) => l.location === POS.location);
    // ATP 100 − 20 held for b2b − 10% buffer (10) = 70, quota 50 − 38 used = 12.
    expect(dc1.quantity).toBe(12);
    expect(dc1.explanation.map((s: { rule: string; after: number }) => [s.rule, s.after])).toEqual([
      ["atp", 100],
      ["protection:P-B2B", 80],
      ["buffer:B-AMZ", 70],
      ["quota:Q-AMZ", 12],
    ]);
    // DC-2 has no rules: amazon may sell its ATP.
    expect(body).toMatchObject({ channel: "amazon", sku: POS.sku, quantity: 17 });
  });

  it("another channel's figure, for operations", async () => {
    const res = await app.inject({ url: url("web"), headers: { "x-api-key": "ops-key" } });
    expect(res.statusCode).toBe(200);
    expect(res.json().locations.map((l: { quantity: number }) => l.quantity)).toEqual([80, 5]);
  });

  it("a key bound to a channel asks only for its own (403), unknown keys are refused (401)", async () => {
    const res = await app.inject({ url: url("web"), headers: { "x-api-key": "amazon-key" } });
    expect(res.statusCode).toBe(403);
    expect(res.json()).toMatchObject({ error: "channel_mismatch", channel: "web", keyChannel: "amazon" });
    expect((await app.inject({ url: url("amazon") })).statusCode).toBe(401);
  });

  it("names a bad parameter (400)", async () => {
    const res = await app.inject({ url: `${url("amazon")}?region=EU!`, headers: { "x-api-key": "ops-key" } });
    expect(res.statusCode).toBe(400);
  });
});
