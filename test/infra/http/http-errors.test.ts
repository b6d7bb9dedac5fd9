/**
 * One error shape, `{ error: <snake_case>, message, ...details }`, for every failure of a real
 * stockline HTTP server (createHttpServer + access control), fastify's own errors included.
 */
import { createHash } from "node:crypto";
import type { FastifyInstance } from "fastify";
import * as t from "io-ts";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHttpServer, decodeOr400 } from "../../../infra/http/http-server.ts";
import { installAccessControl } from "../../../services/api/access-control.ts";

const KEY = "k-operations-0123456789abcdefghijklmnop";
const SHOP = "k-commerce-0123456789abcdefghijklmnop";
const BUSY = "k-busy-0123456789abcdefghijklmnopqrst";
let app: FastifyInstance;

beforeAll(async () => {
  app = await createHttpServer({ title: "errors", logger: pino({ level: "silent" }), bodyLimitBytes: 1000 });
  await installAccessControl(app, {
    apiKeys: [
      {
        name: "ops",
        roles: ["operations"],
        keySha256: [sha(KEY)],
        systems: [],
      },
      {
        name: "busy",
        roles: ["operations"],
        keySha256: [sha(BUSY)],
        systems: [],
        rateLimit: { max: 3, windowMs: 60_000 },
      },
      { name: "shop", roles: ["commerce"], keySha256: [sha(SHOP)], systems: [] },
    ],
    rateLimit: { max: 1000, windowMs: 60_000 },
  });
  app.post("/v1/things", async (req, reply) => {
    const body = decodeOr400(t.type({ quantity: t.number }), req.body, reply);
    if (!body) return reply;
    return { ok: true };
  });
  app.get("/v1/boom", async () => {
    throw new Error("secret connection string nats://user:pw@host");
  });
  app.get("/v1/limited", { config: { rateLimit: { max: 1, timeWindow: 60_000 } } }, async () => ({
    ok: true,
  }));
  await app.ready();
});
afterAll(async () => {
  await app.close();
});

function sha(k: string): string {
  return createHash("sha256").update(k).digest("hex");
}

const expectShape = (body: Record<string, unknown>, error: string) => {
  expect(body.error).toBe(error);
  expect(body.error).toMatch(/^[a-z]+(_[a-z]+)*$/);
  expect(typeof body.message).toBe("string");
  expect((body.message as string).length).toBeGreaterThan(5);
};

const post = (payload: string, headers: Record<string, string>, key = KEY) =>
  app.inject({ method: "POST", url: "/v1/things", payload, headers: { "x-api-key": key, ...headers } });

describe("the one error shape", () => {
  it("400: an invalid body names the field; unparsable JSON says so", async () => {
    const invalid = await post(JSON.stringify({ quantity: "x" }), { "content-type": "application/json" });
    expect(invalid.statusCode).toBe(400);
    expectShape(invalid.json(), "bad_request");
    expect(invalid.json().errors[0]).toMatchObject({ path: "quantity", value: "x" });

    const broken = await post("{not json", { "content-type": "application/json" });
    expect(broken.statusCode).toBe(400);
    expectShape(broken.json(), "bad_request");
    expect(broken.json().message).toContain("not valid JSON");
  });

  it("401 without a key or with an unknown one; 403 with a key lacking the role", async () => {
    const none = await app.inject({ method: "GET", url: "/v1/boom" });
    expect(none.statusCode).toBe(401);
    expectShape(none.json(), "unauthorized");
    expect(none.json().message).toContain("x-api-key");
    const unknown = await app.inject({
      method: "GET",
      url: "/v1/boom",
      headers: { authorization: "Bearer nope" },
    });
    expect(unknown.statusCode).toBe(401);
    expectShape(unknown.json(), "unauthorized");
    const forbidden = await app.inject({ method: "GET", url: "/v1/boom", headers: { "x-api-key": SHOP } });
    expect(forbidden.statusCode).toBe(403);
    expectShape(forbidden.json(), "forbidden");
    expect(forbidden.json().requiredRoles).toEqual(["operations"]);
  });

  it("404 of a route that does not exist points at the OpenAPI document", async () => {
    const r = await app.inject({ method: "GET", url: "/v1/nothing-here?x=1" });
    expect(r.statusCode).toBe(404);
    expectShape(r.json(), "not_found");
    expect(r.json().message).toBe(
      "no route GET /v1/nothing-here; the operations are listed at /openapi.json (UI at /docs)",
    );
  });

  it("413 names the limit; 415 says to send JSON with Content-Type: application/json", async () => {
    const big = await post(JSON.stringify({ quantity: 1, pad: "x".repeat(2000) }), {
      "content-type": "application/json",
    });
    expect(big.statusCode).toBe(413);
    expectShape(big.json(), "payload_too_large");
    expect(big.json()).toMatchObject({ limitBytes: 1000 });

    const text = await post("quantity=1", { "content-type": "text/plain; charset=utf-8" });
    expect(text.statusCode).toBe(415);
    expectShape(text.json(), "unsupported_media_type");
    expect(text.json().message).toContain("Content-Type: application/json");
    expect(text.json().message).toContain("text/plain");
    const xml = await post("<quantity>1</quantity>", { "content-type": "application/xml" });
    expect(xml.statusCode).toBe(415);
    expectShape(xml.json(), "unsupported_media_type");
  });

  it("400 for a body nested deeper than any request needs, naming where (the handler never walks it)", async () => {
    const deep = await post(`${"[".repeat(300)}${"]".repeat(300)}`, { "content-type": "application/json" });
    expect(deep.statusCode).toBe(400);
    expectShape(deep.json(), "bad_request");
    expect(deep.json().message).toMatch(/nested deeper than 32 levels \(at 0(\.0)+\)/);
  });

  it("500 says nothing of its cause, only the request id the log has", async () => {
    const r = await app.inject({ method: "GET", url: "/v1/boom", headers: { "x-api-key": KEY } });
    expect(r.statusCode).toBe(500);
    expectShape(r.json(), "internal_server_error");
    expect(r.body).not.toContain("secret");
    expect(r.body).not.toContain("nats://");
  });

  it("429 of the per-key limit and of a route's own limit (@fastify/rate-limit)", async () => {
    const busy = { "x-api-key": BUSY };
    let last = await app.inject({ method: "GET", url: "/v1/boom", headers: busy });
    for (let i = 0; i < 5 && last.statusCode !== 429; i++)
      last = await app.inject({ method: "GET", url: "/v1/boom", headers: busy });
    expect(last.statusCode).toBe(429);
    expectShape(last.json(), "too_many_requests");
    expect(last.headers["retry-after"]).toBeDefined();

    const ops = { "x-api-key": KEY };
    expect((await app.inject({ method: "GET", url: "/v1/limited", headers: ops })).statusCode).toBe(200);
    const limited = await app.inject({ method: "GET", url: "/v1/limited", headers: ops });
    expect(limited.statusCode).toBe(429);
    expectShape(limited.json(), "too_many_requests");
    expect(limited.json().retryAfterSeconds).toBeGreaterThan(0);
    expect(limited.json()).not.toHaveProperty("statusCode");
  });
});
