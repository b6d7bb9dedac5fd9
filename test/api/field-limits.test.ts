/**
 * The API refuses what the nodes would refuse, before anything goes to NATS: a huge or malformed
 * field is a 400 naming it (the limits of limits.ts), a body over the API's limit a 413, never a
 * 500. Before, a 2 MB SKU went out in a NATS request past the max payload and answered 500.
 */
import * as E from "fp-ts/lib/Either.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ID_LIMITS, MAX_RESERVATION_TTL_SECONDS } from "../../domain/limits.ts";
import { ReservationIdC, utf8Bytes } from "../../domain/scalars.ts";
import { createHttpServer } from "../../infra/http/http-server.ts";
import { createLogger } from "../../infra/logging.ts";
import { API_BODY_LIMIT_BYTES } from "../../services/api/api-server.ts";
import { reservationIdFor } from "../../services/api/reservation-ids.ts";
import { registerPositionRoutes } from "../../services/audit/position-routes.ts";
import { buildFixture } from "../audit/audit-fixture.ts";
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

const place = (body: Record<string, unknown>, headers: Record<string, string> = {}) =>
  sys.http("POST", "/v1/reservations", {
    key: KEYS.commerce,
    body: { region, location: "DC1", quantity: 1, channel: "web", ...body },
    headers,
  });

describe("POST /v1/reservations", () => {
  it("a 2 MB SKU answers 413 (over the body limit), a 200 KB one 400 naming the SKU; neither 500", async () => {
    const huge = await place({ sku: "S".repeat(2 * 1024 * 1024) });
    expect(huge.status).toBe(413);
    expect(JSON.stringify(huge.body).length).toBeLessThan(1_000);

    const big = await place({ sku: "S".repeat(200_000) });
    expect(big.status).toBe(400);
    expect(big.body.errors).toContainEqual(expect.objectContaining({ path: "sku" }));
    expect(big.body.message).toContain("sku: got a string of 200000 characters");
    expect(big.body.message).toContain(`at most ${ID_LIMITS.sku} bytes in UTF-8`);
    // The value is not echoed whole.
    expect(JSON.stringify(big.body).length).toBeLessThan(2_000);
    expect(API_BODY_LIMIT_BYTES).toBeLessThan(1024 * 1024);
  });

  it.each([
    ["location", { sku: "S", location: "D\uD800C" }, "location", "lone surrogate"],
    ["channel", { sku: "S", channel: "c".repeat(ID_LIMITS.system + 1) }, "channel", "at most 64 bytes"],
    ["order", { sku: "S", order: "o\u0007" }, "order", "no control characters"],
    ["ttlSeconds", { sku: "S", ttlSeconds: 2 ** 53 - 1 }, "ttlSeconds", `${MAX_RESERVATION_TTL_SECONDS}`],
    ["quantity", { sku: "S", quantity: 2 ** 53 - 1 }, "quantity", "at most 1000000000000"],
    ["idempotencyKey", { sku: "S", idempotencyKey: "k".repeat(300) }, "idempotencyKey", "at most 256 bytes"],
    [
      "sourcing locations",
      { sku: "S", location: undefined, sourcing: { rule: "priority", locations: ["DC1", "L".repeat(65)] } },
      "sourcing.locations.1",
      "at most 64 bytes",
    ],
  ])("%s out of its limits: 400 naming it", async (_what, body, path, says) => {
    const r = await place(body as Record<string, unknown>);
    expect(r.status, JSON.stringify(r.body).slice(0, 300)).toBe(400);
    const e = (r.body.errors as Array<{ path: string; message: string }>).find((x) => x.path === path);
    expect(e?.message, JSON.stringify(r.body.errors)).toContain(says);
  });

  it("an Idempotency-Key header past its limit is a 400, not a command the node refuses", async () => {
    const r = await place({ sku: "S" }, { "idempotency-key": "h".repeat(1000) });
    expect(r.status).toBe(400);
    expect(r.body.message).toContain("idempotency-key");
  });

  it("the largest ids are placed and read back: the API's own reservation id stays within its limit", async () => {
    const sku = "€".repeat(Math.floor(ID_LIMITS.sku / 3));
    const location = "ü".repeat(ID_LIMITS.location / 2);
    const id = reservationIdFor({ region, location, sku }, "c".repeat(ID_LIMITS.system), "k".repeat(256));
    expect(E.isRight(ReservationIdC.decode(id))).toBe(true);
    expect(utf8Bytes(id)).toBeLessThanOrEqual(ID_LIMITS.reservationId);

    await sys.command(region, receive(region, location, sku, 5));
    await waitForAtp(sys, sku, location, 5);
    const r = await place({ sku, location, quantity: 2 });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    const got = await sys.http("GET", `/v1/reservations/${encodeURIComponent(r.body.reservationId)}`, {
      key: KEYS.commerce,
    });
    expect(got.status).toBe(200);
    expect(got.body).toMatchObject({ sku, location, quantity: 2 });
  });
});

describe("other routes decode ids with the same limits", () => {
  it("GET /v1/availability/:sku and its timeline: a SKU past 128 bytes is a 400", async () => {
    const sku = encodeURIComponent("S".repeat(ID_LIMITS.sku + 1));
    for (const path of [`/v1/availability/${sku}`, `/v1/availability/${sku}/timeline`]) {
      const r = await sys.http("GET", path, { key: KEYS.commerce });
      expect(r.status, path).toBe(400);
      expect(r.body.errors[0].path).toBe("sku");
    }
  });

  it("POST /v1/availability/query: each SKU and the date (a real calendar day)", async () => {
    const r = await sys.http("POST", "/v1/availability/query", {
      key: KEYS.commerce,
      body: { skus: ["OK", "X\uDC00"] },
    });
    expect(r.status).toBe(400);
    expect(r.body.errors[0].path).toBe("skus.1");
    const d = await sys.http("POST", "/v1/availability/query", {
      key: KEYS.commerce,
      body: { skus: ["OK"], date: "2024-02-30" },
    });
    expect(d.status).toBe(400);
    expect(d.body.errors[0].path).toBe("date");
  });

  it("GET and DELETE /v1/reservations/:id: an id past its limit is a 400", async () => {
    const id = "r".repeat(ID_LIMITS.reservationId + 1);
    for (const method of ["GET", "DELETE"]) {
      const r = await sys.http(method, `/v1/reservations/${id}`, { key: KEYS.commerce });
      expect(r.status, method).toBe(400);
      expect(r.body.errors[0].path).toBe("id");
    }
  });
});

describe("audit routes decode positions with the same limits", () => {
  it("GET /v1/positions/:location/:sku: a SKU past its limit or with a control character is a 400", async () => {
    const f = await buildFixture();
    const app = await createHttpServer({ title: "limits test", logger: createLogger("limits-test") });
    try {
      registerPositionRoutes(app, { stores: [{ region: "eu-west", store: f.eu }] });
      await app.ready();
      for (const [sku, says] of [
        ["S".repeat(ID_LIMITS.sku + 1), "at most 128 bytes"],
        ["S\u0001", "no control characters"],
      ] as const) {
        const res = await app.inject(`/v1/positions/DC1/${encodeURIComponent(sku)}`);
        expect(res.statusCode).toBe(400);
        expect(res.json().errors[0]).toMatchObject({ path: "sku", expected: expect.stringContaining(says) });
      }
    } finally {
      await app.close();
      await f.close();
    }
  });
});
