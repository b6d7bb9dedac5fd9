import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import Fastify from "fastify";
import { describe, expect, it } from "vitest";
import { resolveDistributorConfig } from "../../infra/config/distributor-config.ts";
import { registerReferenceRoutes } from "../../services/reference/reference-routes.ts";

const run = promisify(execFile);

const raw = {
  distributor: { name: "Kiwi Hardware Ltd" },
  version: "v7",
  regions: [{ id: "nz-north" }, { id: "nz-south" }],
  locations: [
    { id: "AKL-1", region: "nz-north", codes: { MOXIE: { facility: "A1" } } },
    { id: "CHC-1", region: "nz-south", gln: "9400000000016" },
  ],
  systems: [{ id: "MOXIE", kind: "wms", nats: { user: "moxie", passwordFile: "/secret" } }],
  statuses: { MOXIE: { HOLD: "blocked" } },
  products: { items: [{ sku: "NAIL-50", baseUom: "BOX" }] },
};

describe("reference data through the API", () => {
  it("shows the version, locations per region, systems with their vocabularies (never credentials) and products", async () => {
    const config = resolveDistributorConfig(raw);
    const app = Fastify();
    registerReferenceRoutes(app, config);
    const summary = (await app.inject({ url: "/v1/reference" })).json();
    expect(summary).toMatchObject({
      distributor: "Kiwi Hardware Ltd",
      version: config.version,
      regions: ["nz-north", "nz-south"],
      locations: 2,
      products: 1,
      catalogue: "closed",
    });
    expect(summary.version).toMatch(/^v7\+/);
    const south = (await app.inject({ url: "/v1/reference/locations?region=nz-south" })).json();
    expect(south).toEqual([{ id: "CHC-1", region: "nz-south", gln: "9400000000016" }]);
    const systems = (await app.inject({ url: "/v1/reference/systems" })).json();
    expect(systems).toEqual([{ id: "MOXIE", kind: "wms", statuses: { HOLD: "blocked" } }]);
    const products = (await app.inject({ url: "/v1/reference/products" })).json();
    expect(products).toEqual([{ sku: "NAIL-50", baseUom: "BOX" }]);
    await app.close();
  });
});

describe("stockline config check", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "stockline-config-"));
  const cli = (file: string) =>
    run(process.execPath, ["--import", "tsx", "services/cli.ts", "config", "check", file]).then(
      (r) => ({ code: 0, out: r.stdout }),
      (e: { code: number; stdout: string }) => ({ code: e.code, out: e.stdout }),
    );

  it("summarises a valid configuration", async () => {
    const file = path.join(dir, "ok.json");
    writeFileSync(file, JSON.stringify(raw));
    const r = await cli(file);
    expect(r.code).toBe(0);
    expect(r.out).toContain("Kiwi Hardware Ltd (kiwi-hardware-ltd), configuration v7+");
    expect(r.out).toContain("region nz-south: 1 location(s) CHC-1");
  });

  it("exits 2 naming each wrong field, its value and what was expected", async () => {
    const file = path.join(dir, "bad.json");
    writeFileSync(file, JSON.stringify({ ...raw, locations: [{ id: "AKL-1", region: "au" }] }));
    const r = await cli(file);
    expect(r.code).toBe(2);
    expect(r.out).toContain('locations.0.region: got "au", expected one of the regions (nz-north, nz-south)');
  });
});
