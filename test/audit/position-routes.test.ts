import type { FastifyInstance } from "fastify";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { positionStreamId } from "../../domain/ids.ts";
import { atpOf, balancesOf } from "../../domain/position.decider.ts";
import { createHttpServer } from "../../infra/http/http-server.ts";
import { createLogger } from "../../infra/logging.ts";
import { registerPositionRoutes } from "../../services/audit/position-routes.ts";
import { at } from "../domain/position-spec.ts";
import {
  buildFixture,
  DESTINATION,
  eventsOf,
  type Fixture,
  ORIGIN,
  statesOf,
  TRANSFER_CORRELATION,
  tamper,
} from "./audit-fixture.ts";

let f: Fixture;
let app: FastifyInstance;
beforeEach(async () => {
  f = await buildFixture();
  app = await createHttpServer({ title: "audit test", logger: createLogger("audit-test") });
  registerPositionRoutes(app, {
    stores: [
      { region: "eu-west", store: f.eu },
      { region: "us-east", store: f.us },
    ],
  });
  await app.ready();
});
afterEach(async () => {
  await app.close();
  await f.close();
});

const path = (location: string, sku: string, rest = "") =>
  `/v1/positions/${encodeURIComponent(location)}/${encodeURIComponent(sku)}${rest}`;

describe("GET /v1/positions/:location/:sku", () => {
  it("answers the current state, ATP breakdown, revision and head hash, from whichever region holds it", async () => {
    const res = await app.inject(path(ORIGIN.location, ORIGIN.sku));
    expect(res.statusCode).toBe(200);
    const final = statesOf(f, ORIGIN).at(-1)!;
    const last = eventsOf(f, ORIGIN).at(-1)!;
    expect(res.json()).toMatchObject({
      position: ORIGIN,
      revision: last.revision,
      headHash: last.hash,
      balances: balancesOf(final),
      atp: atpOf(final),
    });
    const dest = await app.inject(path(DESTINATION.location, DESTINATION.sku));
    expect(dest.json().position).toEqual(DESTINATION);
  });

  it("404 for an unknown position or one outside the given region; 400 for a bad region", async () => {
    expect((await app.inject(path(ORIGIN.location, "nope"))).statusCode).toBe(404);
    expect((await app.inject(path(ORIGIN.location, ORIGIN.sku, "?region=us-east"))).statusCode).toBe(404);
    const bad = await app.inject(path(ORIGIN.location, ORIGIN.sku, "?region=EU"));
    expect(bad.statusCode).toBe(400);
    expect(bad.json().errors[0]).toMatchObject({ path: "region", value: "EU" });
  });
});

describe("GET /v1/positions/:location/:sku/history", () => {
  it("lists the events as of a business or recorded time", async () => {
    const byBusiness = await app.inject(
      path(ORIGIN.location, ORIGIN.sku, `/history?asOf=${at(15)}&by=business`),
    );
    expect(byBusiness.statusCode).toBe(200);
    expect(byBusiness.json().balances.onHand.available).toBe(90);
    const byRecorded = await app.inject(path(ORIGIN.location, ORIGIN.sku, `/history?asOf=${at(15)}`));
    expect(byRecorded.json()).toMatchObject({
      asOf: { by: "recorded" },
      balances: { onHand: { available: 100 } },
    });
    expect(byRecorded.json().events.map((e: { type: string }) => e.type)).toEqual([
      "GoodsReceived",
      "ReservationPlaced",
    ]);
  });

  it("verify=true reports the altered revision", async () => {
    tamper(
      f.paths.eu,
      "UPDATE events SET data = json_set(data, '$.businessTime', ?) WHERE stream_id = ? AND revision = 1",
      at(99),
      positionStreamId(ORIGIN),
    );
    const res = await app.inject(path(ORIGIN.location, ORIGIN.sku, "/history?verify=true"));
    expect(res.statusCode).toBe(200);
    expect(res.json().verification).toMatchObject({
      ok: false,
      issues: [{ kind: "hash", revision: 1 }],
    });
  });

  it("400 names the bad query field", async () => {
    const res = await app.inject(path(ORIGIN.location, ORIGIN.sku, "/history?asOf=tomorrow&verify=yes"));
    expect(res.statusCode).toBe(400);
    expect(
      res
        .json()
        .errors.map((e: { path: string }) => e.path)
        .sort(),
    ).toEqual(["asOf", "verify"]);
  });
});

describe("GET /v1/trace/:correlationId", () => {
  it("answers the lineage across regions, 404 when nothing has the id", async () => {
    const res = await app.inject(`/v1/trace/${TRANSFER_CORRELATION}`);
    expect(res.statusCode).toBe(200);
    expect(res.json().regions).toEqual(["eu-west", "us-east"]);
    expect(res.json().events.map((e: { type: string }) => e.type)).toEqual([
      "TransferShipped",
      "TransferInboundRecorded",
    ]);
    expect((await app.inject("/v1/trace/nobody")).statusCode).toBe(404);
  });

  it("documents the routes in OpenAPI", async () => {
    const doc = (await app.inject("/openapi.json")).json();
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        "/v1/positions/{location}/{sku}",
        "/v1/positions/{location}/{sku}/history",
        "/v1/trace/{correlationId}",
      ]),
    );
  });
});
