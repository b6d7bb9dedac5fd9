/**
 * The API's edges: clear 400s (field, value, expected), 401 without a key, 403 for a role outside
 * its routes, 429 with Retry-After per API key, and the OpenAPI document listing the routes.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ApiSystem, KEYS, receive, startApiSystem, waitForAtp } from "./api-fixture.ts";

let sys: ApiSystem;
let region: string;

beforeAll(async () => {
  sys = await startApiSystem({ regions: 1 });
  region = sys.regions[0]!;
});
afterAll(async () => {
  await sys?.stop();
});

describe("input validation", () => {
  it("names the field, the value and what was expected", async () => {
    const r = await sys.http("POST", "/v1/reservations", {
      key: KEYS.commerce,
      body: { sku: "S", region, quantity: 0, channel: "web" },
    });
    expect(r.status).toBe(400);
    expect(r.body.error).toBe("bad_request");
    expect(r.body.errors).toContainEqual(
      expect.objectContaining({
        path: "quantity",
        value: 0,
        expected: "a positive integer of at most 1000000000000",
      }),
    );
    expect(r.body.message).toContain("quantity");

    const missing = await sys.http("POST", "/v1/reservations", {
      key: KEYS.commerce,
      body: { sku: "S", region, quantity: 1 },
    });
    expect(missing.status).toBe(400);
    expect(missing.body.errors).toContainEqual(
      expect.objectContaining({
        path: "channel",
        expected: expect.stringContaining("required unless the API key is bound to a channel"),
      }),
    );
    expect(missing.body.message).toContain("channel: got nothing (missing)");

    const region404 = await sys.http("POST", "/v1/reservations", {
      key: KEYS.commerce,
      body: { sku: "S", region: "mars", quantity: 1, channel: "web" },
    });
    expect(region404.status).toBe(400);
    expect(region404.body.errors[0]).toMatchObject({ path: "region", value: "mars" });
    expect(region404.body.errors[0].expected).toContain(region);

    const both = await sys.http("POST", "/v1/reservations", {
      key: KEYS.commerce,
      body: {
        sku: "S",
        region,
        location: "DC1",
        sourcing: { rule: "mostAvailableFirst" },
        quantity: 1,
        channel: "web",
      },
    });
    expect(both.status).toBe(400);
    expect(both.body.errors[0].path).toBe("sourcing");

    const rule = await sys.http("POST", "/v1/reservations", {
      key: KEYS.commerce,
      body: { sku: "S", region, sourcing: { rule: "cheapest" }, quantity: 1, channel: "web" },
    });
    expect(rule.status).toBe(400);
    expect(rule.body.errors[0]).toMatchObject({ path: "sourcing" });

    const notJson = await sys.http("POST", "/v1/reservations", { key: KEYS.commerce, body: "{nope" });
    expect(notJson.status).toBe(400);
  });

  it("availability: unknown region filter, malformed or out-of-horizon date, empty query", async () => {
    const bad = await sys.http("GET", "/v1/availability/S?region=nowhere");
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0]).toMatchObject({ path: "region", value: "nowhere" });
    const date = await sys.http("GET", "/v1/availability/S?date=tomorrow");
    expect(date.status).toBe(400);
    expect(date.body.errors[0]).toMatchObject({
      path: "date",
      value: "tomorrow",
      expected: "a date YYYY-MM-DD",
    });
    const far = await sys.http("GET", "/v1/availability/S?date=2999-01-01");
    expect(far.status).toBe(400);
    expect(far.body.errors[0].expected).toContain("horizon");
    const q = await sys.http("POST", "/v1/availability/query", { body: { skus: [] } });
    expect(q.status).toBe(400);
    expect(q.body.errors[0].path).toBe("skus");
    const q2 = await sys.http("POST", "/v1/availability/query", { body: { skus: ["A", 7] } });
    expect(q2.status).toBe(400);
    expect(q2.body.errors[0]).toMatchObject({ path: "skus.1", value: 7 });
  });
});

describe("availability", () => {
  it("answers one SKU and many SKUs, per location and total, filtered by region, with freshness and time-phased ATP", async () => {
    await sys.command(region, receive(region, "DC1", "AV-1", 7));
    await sys.command(region, receive(region, "DC2", "AV-1", 5));
    await sys.command(region, receive(region, "DC1", "AV-2", 2));
    await waitForAtp(sys, "AV-1", "DC2", 5);
    await waitForAtp(sys, "AV-2", "DC1", 2);
    const one = await sys.http("GET", `/v1/availability/AV-1?region=${region}`, { key: KEYS.finance });
    expect(one.status).toBe(200);
    expect(one.headers.get("content-type")).toContain("application/json");
    expect(one.body.total).toMatchObject({ atp: 12, promisable: 12, locations: 2 });
    expect(one.body.regions[0]).toMatchObject({ region, atp: 12, stale: false });
    expect(one.body.stale).toBe(false);
    expect(typeof one.body.asOf).toBe("string");
    expect(one.body.freshness[0]).toMatchObject({ region, stale: false, link: "up" });
    const many = await sys.http("POST", "/v1/availability/query", {
      key: KEYS.warehouse,
      body: { skus: ["AV-1", "AV-2", "NEVER"] },
    });
    expect(many.status).toBe(200);
    expect(many.body.items.map((i: { sku: string; total: { atp: number } }) => [i.sku, i.total.atp])).toEqual(
      [
        ["AV-1", 12],
        ["AV-2", 2],
        ["NEVER", 0],
      ],
    );
    const today = new Date().toISOString().slice(0, 10);
    const dated = await sys.http("GET", `/v1/availability/AV-1?date=${today}`);
    expect(dated.status).toBe(200);
    expect(dated.body.total.atpOnDate).toBe(12);
  });

  it("the cache follows the read model: a change of the SKU is visible on the next read", async () => {
    await sys.command(region, receive(region, "DC1", "CACHE-1", 1));
    await waitForAtp(sys, "CACHE-1", "DC1", 1);
    const hitsBefore = sys.api.availability.stats.hits;
    await sys.http("GET", "/v1/availability/CACHE-1");
    expect(sys.api.availability.stats.hits).toBeGreaterThan(hitsBefore);
    await sys.command(region, receive(region, "DC1", "CACHE-1", 2));
    await waitForAtp(sys, "CACHE-1", "DC1", 3);
  });
});

describe("keys, roles and limits", () => {
  it("401 without a key or with an unknown key", async () => {
    const none = await sys.http("GET", "/v1/availability/S", { key: null });
    expect(none.status).toBe(401);
    const wrong = await sys.http("GET", "/v1/availability/S", { key: "guess" });
    expect(wrong.status).toBe(401);
  });

  it("403 when a role calls a route outside its own", async () => {
    const body = { sku: "S", region, location: "DC1", quantity: 1, channel: "web" };
    const cases: Array<[string, string, string, unknown?]> = [
      [KEYS.finance, "POST", "/v1/reservations", body],
      [KEYS.warehouse, "POST", "/v1/reservations", body],
      [KEYS.warehouse, "DELETE", "/v1/reservations/r1.x.y"],
      [KEYS.finance, "GET", "/v1/reservations/r1.x.y"],
      [KEYS.commerce, "GET", "/v1/degraded/holds"],
      [KEYS.finance, "POST", "/v1/degraded/reconcile"],
    ];
    for (const [key, method, path, b] of cases) {
      const r = await sys.http(method, path, { key, ...(b ? { body: b } : {}) });
      expect(r.status, `${key} ${method} ${path}`).toBe(403);
      expect(r.body.error).toBe("forbidden");
      expect(r.body.requiredRoles.length).toBeGreaterThan(0);
    }
    for (const key of [KEYS.commerce, KEYS.warehouse, KEYS.operations, KEYS.finance])
      expect((await sys.http("GET", "/v1/availability/S", { key })).status).toBe(200);
    expect((await sys.http("GET", "/v1/degraded/holds", { key: KEYS.operations })).status).toBe(200);
  });

  it("429 with Retry-After once a key exceeds its limit; other keys are unaffected", async () => {
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < 5; i++) {
      const r = await sys.http("GET", "/v1/availability/S", { key: KEYS.limited });
      statuses.push(r.status);
      if (r.status === 429) {
        retryAfter = r.headers.get("retry-after");
        expect(r.body.error).toBe("too_many_requests");
      }
    }
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
    expect(Number(retryAfter)).toBeGreaterThan(0);
    expect(Number(retryAfter)).toBeLessThanOrEqual(60);
    // Across routes: the same key is limited on reservations too.
    const res = await sys.http("POST", "/v1/reservations", {
      key: KEYS.limited,
      body: { sku: "S", region, location: "DC1", quantity: 1, channel: "web" },
    });
    expect(res.status).toBe(429);
    expect((await sys.http("GET", "/v1/availability/S", { key: KEYS.commerce })).status).toBe(200);
  });
});

describe("OpenAPI", () => {
  it("serves the document with every route, and health endpoints without a key", async () => {
    const doc = await sys.http("GET", "/openapi.json", { key: null });
    expect(doc.status).toBe(200);
    expect(doc.body.openapi).toMatch(/^3\./);
    const paths = Object.keys(doc.body.paths);
    for (const p of [
      "/v1/availability/{sku}",
      "/v1/availability/query",
      "/v1/reservations",
      "/v1/reservations/{id}",
      "/v1/degraded/holds",
    ])
      expect(paths).toContain(p);
    expect(Object.keys(doc.body.paths["/v1/reservations/{id}"])).toEqual(
      expect.arrayContaining(["get", "delete"]),
    );
    expect((await sys.http("GET", "/healthz", { key: null })).status).toBe(200);
    expect((await sys.http("GET", "/readyz", { key: null })).status).toBe(200);
  });
});
