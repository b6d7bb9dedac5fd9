/**
 * The OpenAPI document is completed centrally (documentRoute in http-server.ts), for routes written
 * without any of it: a `/v1` route behind a key declares the key's schemes, its roles and the shared
 * errors; a public route declares no key; every response has a description and an example.
 */
import type { FastifyInstance } from "fastify";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHttpServer } from "../../../infra/http/http-server.ts";
import { installAccessControl } from "../../../services/api/access-control.ts";

let app: FastifyInstance;
// biome-ignore lint/suspicious/noExplicitAny: the document is read field by field
let doc: any;

beforeAll(async () => {
  app = await createHttpServer({ title: "doc", logger: pino({ level: "silent" }) });
  await installAccessControl(app, { apiKeys: [], rateLimit: { max: 10, windowMs: 1000 } });
  // Written as a later route would be: no schema at all.
  app.post("/v1/widgets", async () => ({ ok: true }));
  app.get("/v1/widgets/:id", { config: { roles: ["finance"] } }, async () => ({ ok: true }));
  app.get("/status", async () => ({ ok: true }));
  await app.ready();
  doc = (await app.inject("/openapi.json")).json();
});
afterAll(async () => {
  await app.close();
});

describe("documentRoute", () => {
  it("a /v1 route without a schema: the key's schemes, its roles, the shared errors, described", () => {
    const post = doc.paths["/v1/widgets"].post;
    expect(post.security).toEqual([{ apiKey: [] }, { bearer: [] }]);
    expect(post.description).toContain("Roles: operations");
    expect(Object.keys(post.responses).sort()).toEqual(
      ["200", "400", "401", "403", "404", "413", "415", "429", "500"].sort(),
    );
    expect(post.responses["200"].description).toBe("Success");
    expect(post.responses["415"].description).toContain("Content-Type: application/json");
    expect(post.responses["429"].content["application/json"].example).toMatchObject({
      error: "too_many_requests",
      retryAfterSeconds: 12,
    });
    const get = doc.paths["/v1/widgets/{id}"].get;
    expect(get.description).toContain("Roles: finance");
    // A GET has no body: no 413 or 415.
    expect(Object.keys(get.responses)).not.toContain("415");
  });

  it("a public route declares no key and no key errors", () => {
    const status = doc.paths["/status"].get;
    expect(status.security).toBeUndefined();
    expect(Object.keys(status.responses).sort()).toEqual(["200", "500"]);
  });

  it("the health, metrics and document routes stay out of the document", () => {
    expect(Object.keys(doc.paths).sort()).toEqual(["/status", "/v1/widgets", "/v1/widgets/{id}"]);
  });
});
