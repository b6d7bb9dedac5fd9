/**
 * The example configurations in config/ decode, and each process's part derives from them: the demo
 * (two regions, SAP and D365 simulators), the single-region minimum, and the production shape (NATS
 * clusters, EventStoreDB, hashed keys), which is documented as a shape to copy, not run here.
 */
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { checkOwnership } from "../../domain/ownership-policy.ts";
import { loadDistributorConfig } from "../../infra/config/distributor-config.ts";
import {
  apiConfigOf,
  nodeConfigOf,
  postingTargetsOf,
  routingOf,
  securityOf,
} from "../../infra/config/distributor-parts.ts";
import { resolveNodeConfig } from "../../infra/config/node-config.ts";

const file = (name: string) =>
  path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "config", name);

describe("example configurations", () => {
  it("the demo is the demo world: eu and us, four DCs with their SAP and D365 codes", () => {
    const d = loadDistributorConfig(file("demo.json"));
    expect(d.regions).toEqual(["eu", "us"]);
    expect(d.masterData.locationsOf("eu").map((l) => l.id)).toEqual(["DC-AMS", "DC-FRA"]);
    expect(d.masterData.locationsOf("us").map((l) => l.id)).toEqual(["DC-NJ", "DC-DAL"]);
    const targets = postingTargetsOf(d);
    expect(targets.find((t) => t.id === "sap")?.locations).toEqual({
      "DC-AMS": { plant: "NL01", storageLocation: "0001" },
      "DC-FRA": { plant: "DE01", storageLocation: "0001" },
    });
    expect(targets.find((t) => t.id === "d365")?.locations).toEqual({
      "DC-NJ": { siteId: "NJ", locationId: "NJ-01" },
      "DC-DAL": { siteId: "TX", locationId: "DAL-01" },
    });
    expect(routingOf(d).targets).toEqual([
      { id: "sap", systems: ["SAP_S4"] },
      { id: "d365", systems: ["D365"] },
    ]);
    // Ownership as the demo had it: each WMS at its DCs, the ERP's receipt at a DC refused.
    const node = resolveNodeConfig(nodeConfigOf(d, "eu"), d.source);
    const at = (location: string, system: string, kind: "receiveGoods" | "placeReservation") =>
      checkOwnership(node.ownership, {
        kind,
        source: { system, document: { type: "x", id: "1" } },
        position: { sku: "S", location, region: "eu" },
      } as never).allowed;
    expect(at("DC-AMS", "WMS_EU", "receiveGoods")).toBe(true);
    expect(at("DC-AMS", "WMS_US", "receiveGoods")).toBe(false);
    expect(at("DC-AMS", "SAP_S4", "receiveGoods")).toBe(false);
    expect(at("DC-NJ", "web-shop", "placeReservation")).toBe(true);
    expect(node.dataDir).toBe(path.join(d.dataDir, "eu"));
    // No secret in the file: the demo's keys come from variables `up` fills per run.
    expect(JSON.stringify(d.file.api?.keys)).not.toMatch(/"key"/);
    expect(securityOf(d).sources.api?.systems).toContain("web-shop");
    expect(securityOf(d).sources.reconciler?.systems).toEqual(["SAP_S4", "D365"]);
    expect(Object.keys(securityOf(d).sources)).not.toContain("web-shop");
  });

  it("the minimum: one region, one location, one WMS, no ERP", () => {
    const d = loadDistributorConfig(file("minimal.json"));
    expect(d.regions).toEqual(["main"]);
    expect(postingTargetsOf(d)).toEqual([]);
    expect(apiConfigOf(d)).toMatchObject({ regions: ["main"], dataDir: path.join(d.dataDir, "api") });
  });

  it("the production shape: EventStoreDB per region, NATS clusters with creds and TLS, hashed keys", () => {
    const d = loadDistributorConfig(file("production.json"));
    expect(d.file.nats?.mode).toBe("external");
    const eu = nodeConfigOf(d, "eu");
    expect(eu.store).toEqual({ kind: "eventstoredb", url: "esdb://esdb-eu.example.net:2113?tls=true" });
    expect((eu.nats as { credsFile?: string }).credsFile).toBe("/etc/stockline/nats/node-eu.creds");
    expect(d.file.api?.keys?.every((k) => k.key === undefined)).toBe(true);
    expect(apiConfigOf(d).products).toEqual(["100-200", "300-400"]);
  });
});

describe("securityOf", () => {
  it("refuses a system whose NATS user would be one of the topology's own", async () => {
    const { resolveDistributorConfig } = await import("../../infra/config/distributor-config.ts");
    const d = resolveDistributorConfig({
      distributor: { name: "x" },
      regions: [{ id: "r1" }],
      locations: [{ id: "L1", region: "r1" }],
      systems: [{ id: "api", kind: "wms" }],
    });
    expect(() => securityOf(d)).toThrow(/systems\.0\.id.*"api".*a NATS user name of its own/);
  });
});
