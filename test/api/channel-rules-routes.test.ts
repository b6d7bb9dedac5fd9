/**
 * `POST /v1/channels/rules` and `GET /v1/channels/rules/...` (issue 14) against a real regional node
 * (nats-server processes, request/reply on `inv.req.<r>.stockline-api`, the node's SQLite store):
 * the operator is recorded in the event, the revision is the version, a resent change answers the
 * first one, a reused changeId with other rules is a 409, refused rules name the node's reason.
 */
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sha256Hex } from "../../infra/http/api-keys.ts";
import { createHttpServer } from "../../infra/http/http-server.ts";
import { createLogger } from "../../infra/logging.ts";
import { installAccessControl } from "../../services/api/access-control.ts";
import { registerChannelRulesRoutes } from "../../services/api/channel-rules-routes.ts";
import { type ApiSystem, receive, startApiSystem } from "./api-fixture.ts";

let sys: ApiSystem;
let app: FastifyInstance;
let region: string;

const RULES = {
  quotas: [{ id: "Q-AMZ", channel: "amazon", quantity: 20, period: "day" }],
  protections: [{ id: "P-B2B", channel: "b2b", quantity: 10, period: "day" }],
};

beforeAll(async () => {
  sys = await startApiSystem({
    // Allocations at LOCKED-* belong to the ERP: the API's operators are refused there.
    ownership: {
      rules: [
        {
          name: "the ERP allocates LOCKED-*",
          movements: ["allocation"],
          owners: ["erp"],
          locations: "LOCKED-*",
        },
      ],
      otherwise: "allow",
    },
  });
  region = sys.regions[0]!;
  for (const location of ["DC-1", "LOCKED-1"]) {
    const r = await sys.command(region, receive(region, location, "SKU-R", 30));
    expect(r.outcome).toBe("accepted");
  }
  app = await createHttpServer({
    title: "channel rules test",
    logger: createLogger("rules-test", { level: "silent" }),
  });
  await installAccessControl(app, {
    apiKeys: [
      { name: "ops", roles: ["operations"], keySha256: [sha256Hex("ops-key")], systems: [] },
      { name: "shop", roles: ["commerce"], keySha256: [sha256Hex("shop-key")], systems: [] },
    ],
    rateLimit: { max: 1000, windowMs: 60_000 },
  });
  registerChannelRulesRoutes(app, {
    nc: sys.hubNc,
    stores: [{ region, store: sys.parts.get(region)!.node.store }],
  });
  await app.ready();
}, 120_000);

afterAll(async () => {
  await app?.close();
  await sys?.stop();
}, 60_000);

const post = (body: Record<string, unknown>, key = "ops-key") =>
  app.inject({ method: "POST", url: "/v1/channels/rules", headers: { "x-api-key": key }, payload: body });

describe("channel rules set by an operator", () => {
  it("given a position, when ops sets rules, then ChannelRulesChanged records who, its revision the version", async () => {
    const res = await post({
      sku: "SKU-R",
      region,
      location: "DC-1",
      rules: RULES,
      changeId: "c-1",
      by: "alice",
    });
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({ outcome: "accepted", version: 1, by: "alice (key ops)" });
    expect(body.event).toMatchObject({
      type: "ChannelRulesChanged",
      rules: RULES,
      source: { system: "stockline-api", document: { type: "operator", id: "alice (key ops)" } },
    });
    const read = await app.inject({
      url: `/v1/channels/rules/${region}/DC-1/SKU-R`,
      headers: { "x-api-key": "shop-key" },
    });
    expect(read.statusCode).toBe(200);
    expect(read.json()).toMatchObject({
      rules: RULES,
      version: 1,
      by: "stockline-api:operator:alice (key ops)",
    });
  });

  it("when the same change is sent again, then the first change answers (no second version)", async () => {
    const res = await post({
      sku: "SKU-R",
      region,
      location: "DC-1",
      rules: RULES,
      changeId: "c-1",
      by: "alice",
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ outcome: "duplicate", version: 1 });
  });

  it("when a changeId is reused for other rules, then 409 names it; a new changeId is the next version", async () => {
    const other = { quotas: [{ id: "Q-AMZ", channel: "amazon", quantity: 5, period: "day" }] };
    const res = await post({
      sku: "SKU-R",
      region,
      location: "DC-1",
      rules: other,
      changeId: "c-1",
      by: "alice",
    });
    expect(res.statusCode).toBe(409);
    expect(res.json()).toMatchObject({ error: "change_id_conflict", changeId: "c-1" });
    const next = await post({
      sku: "SKU-R",
      region,
      location: "DC-1",
      rules: other,
      changeId: "c-2",
      by: "bob",
    });
    expect(next.json()).toMatchObject({ outcome: "accepted", version: 2, by: "bob (key ops)" });
  });

  it("refuses rules the node refuses (422 with its reason) and a location another system allocates", async () => {
    const twice = await post({
      sku: "SKU-R",
      region,
      location: "DC-1",
      rules: { quotas: [RULES.quotas[0]], protections: [{ ...RULES.protections[0], id: "Q-AMZ" }] },
    });
    expect(twice.statusCode).toBe(422);
    expect(twice.json()).toMatchObject({ error: "rules_refused", code: "invalidChannelRules" });
    expect(twice.json().message).toContain("Q-AMZ");
    const locked = await post({ sku: "SKU-R", region, location: "LOCKED-1", rules: RULES });
    expect(locked.statusCode).toBe(422);
    expect(locked.json()).toMatchObject({ error: "rules_refused", code: "notOwner" });
  });

  it("only operations sets rules (403); a bad body names the field (400)", async () => {
    expect(
      (await post({ sku: "SKU-R", region, location: "DC-1", rules: RULES }, "shop-key")).statusCode,
    ).toBe(403);
    const bad = await post({ sku: "SKU-R", region, location: "DC-1", rules: { quotas: [{ id: "Q" }] } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().errors[0].path).toMatch(/^rules\.quotas\.0/);
  });
});
