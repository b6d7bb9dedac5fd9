/** The PostgreSQL store in the node's and the distributor's configuration. */
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { resolveDistributorConfig } from "../../../infra/config/distributor-config.ts";
import { nodeConfigOf } from "../../../infra/config/distributor-parts.ts";
import { applyEnvOverrides, resolveNodeConfig } from "../../../infra/config/node-config.ts";
import { redactStoreUrl } from "../../../infra/config/postgres-store-config.ts";

describe("a postgres store in the node configuration", () => {
  it("takes a URL and a schema, defaulting the schema to stockline_<region>", () => {
    const url = "postgres://app@db.example:5432/inventory";
    expect(resolveNodeConfig({ region: "eu-west", store: { kind: "postgres", url } }).store).toEqual({
      kind: "postgres",
      url,
      schema: "stockline_eu_west",
    });
    expect(
      resolveNodeConfig({ region: "eu", store: { kind: "postgres", url, schema: "inv_eu" } }).store,
    ).toEqual({ kind: "postgres", url, schema: "inv_eu" });
  });

  it("is chosen by the environment alone, leaving no SQLite path behind", () => {
    const raw = applyEnvOverrides(
      { region: "eu", store: { kind: "sqlite", path: "events.db", synchronous: "FULL" } },
      {
        STOCKLINE_STORE_KIND: "postgres",
        STOCKLINE_STORE_URL: "postgres://127.0.0.1/test",
        STOCKLINE_STORE_SCHEMA: "s1",
      },
    );
    expect(resolveNodeConfig(raw).store).toEqual({
      kind: "postgres",
      url: "postgres://127.0.0.1/test",
      schema: "s1",
    });
  });

  it("names a bad schema, and a missing URL", () => {
    expect(() =>
      resolveNodeConfig({ region: "eu", store: { kind: "postgres", url: "postgres://h/d", schema: "Eu-1" } }),
    ).toThrow(/store\.schema.*"Eu-1".*a schema name/s);
    expect(() => resolveNodeConfig({ region: "eu", store: { kind: "postgres" } })).toThrow(/store\.url/);
  });

  it("never shows a password in logs", () => {
    expect(redactStoreUrl("postgres://app:s3cret@db:5432/inv")).toBe("postgres://app:***@db:5432/inv");
    expect(redactStoreUrl("postgres://app@db:5432/inv")).toBe("postgres://app@db:5432/inv");
  });
});

describe("a postgres store in the distributor configuration", () => {
  it("reaches the region's node configuration", () => {
    const file = JSON.parse(readFileSync(path.join("config", "minimal.json"), "utf8")) as {
      regions: Record<string, unknown>[];
    };
    file.regions[0] = { ...file.regions[0], store: { kind: "postgres", url: "postgres://127.0.0.1/test" } };
    const d = resolveDistributorConfig(file, "minimal.json");
    const node = resolveNodeConfig(nodeConfigOf(d, "main"), d.source);
    expect(node.store).toEqual({
      kind: "postgres",
      url: "postgres://127.0.0.1/test",
      schema: "stockline_main",
    });
  });
});
