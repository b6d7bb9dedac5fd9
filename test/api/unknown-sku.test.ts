/**
 * An unknown SKU is not a sold-out one: with a product catalogue, availability answers 404
 * `unknown_sku` and reservations are refused; without one, the answer says the SKU was never seen.
 */
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resolveApiConfig } from "../../services/api/api-config.ts";
import { type ApiServer, startApiServer } from "../../services/api/api-server.ts";
import { type ApiSystem, KEYS, receive, startApiSystem, waitForAtp } from "./api-fixture.ts";

let sys: ApiSystem;
let region: string;
/** A second API on the same hub, with a product catalogue. */
let catalogued: ApiServer;

beforeAll(async () => {
  sys = await startApiSystem({ regions: 1 });
  region = sys.regions[0]!;
  const config = resolveApiConfig({
    regions: sys.regions,
    dataDir: path.join(sys.dir, "api-catalogued"),
    apiKeys: [{ name: "ops", key: KEYS.operations, roles: ["operations"] }],
    products: ["SEEN-1", "LISTED-NEVER-SEEN"],
  });
  catalogued = await startApiServer(config, { nc: sys.hubNc, availability: sys.global });
  expect((await sys.command(region, receive(region, "DC1", "SEEN-1", 4))).outcome).toBe("accepted");
  expect((await sys.command(region, receive(region, "DC1", "SEEN-NOT-LISTED", 4))).outcome).toBe("accepted");
  await waitForAtp(sys, "SEEN-1", "DC1", 4);
  await waitForAtp(sys, "SEEN-NOT-LISTED", "DC1", 4);
});
afterAll(async () => {
  await catalogued?.close();
  await sys?.stop();
});

const viaCatalogue = async (method: string, pathname: string, body?: unknown) => {
  const res = await fetch(`${catalogued.url}${pathname}`, {
    method,
    headers: {
      "x-api-key": KEYS.operations,
      ...(body !== undefined ? { "content-type": "application/json" } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  // biome-ignore lint/suspicious/noExplicitAny: tests read response bodies field by field
  return { status: res.status, body: (await res.json()) as Record<string, any> };
};

describe("with a product catalogue", () => {
  it("availability of a SKU outside it is 404 unknown_sku; a listed SKU never seen is known zeros", async () => {
    const unknown = await viaCatalogue("GET", "/v1/availability/NOPE-1");
    expect(unknown.status).toBe(404);
    expect(unknown.body.error).toBe("unknown_sku");
    expect(unknown.body.message).toContain('"NOPE-1"');
    // The catalogue decides, even for a SKU some source sent.
    expect((await viaCatalogue("GET", "/v1/availability/SEEN-NOT-LISTED")).status).toBe(404);
    expect((await viaCatalogue("GET", "/v1/availability/NOPE-1/timeline")).status).toBe(404);

    const listed = await viaCatalogue("GET", "/v1/availability/LISTED-NEVER-SEEN");
    expect(listed.status).toBe(200);
    expect(listed.body).toMatchObject({ known: true, total: { atp: 0 } });
    const seen = await viaCatalogue("GET", "/v1/availability/SEEN-1");
    expect(seen.body).toMatchObject({ known: true, total: { atp: 4 } });

    const many = await viaCatalogue("POST", "/v1/availability/query", { skus: ["SEEN-1", "NOPE-1"] });
    expect(many.status).toBe(200);
    expect(many.body.items[0]).toMatchObject({ sku: "SEEN-1", known: true });
    expect(many.body.items[1]).toMatchObject({ sku: "NOPE-1", known: false, error: "unknown_sku" });
  });

  it("a reservation of a SKU outside it is refused with unknown_sku", async () => {
    const r = await viaCatalogue("POST", "/v1/reservations", {
      sku: "NOPE-1",
      region,
      quantity: 1,
      channel: "web",
    });
    expect(r.status).toBe(422);
    expect(r.body).toMatchObject({ error: "unknown_sku", sku: "NOPE-1" });
  });
});

describe("without a catalogue", () => {
  it("a SKU never seen answers zeros that say so (known: false); a seen one is known", async () => {
    const never = await sys.http("GET", "/v1/availability/NEVER-SEEN-1");
    expect(never.status).toBe(200);
    expect(never.body).toMatchObject({ known: false, total: { atp: 0 }, locations: [] });
    const seen = await sys.http("GET", "/v1/availability/SEEN-1");
    expect(seen.body.known).toBe(true);
  });

  it("a reservation of a SKU never seen is refused saying it was never seen", async () => {
    const r = await sys.http("POST", "/v1/reservations", {
      key: KEYS.commerce,
      body: { sku: "NEVER-SEEN-2", region, quantity: 1, channel: "web" },
    });
    expect(r.status).toBe(409);
    expect(r.body).toMatchObject({ error: "insufficient_atp", known: false });
    expect(r.body.message).toContain("never been seen");
  });
});
