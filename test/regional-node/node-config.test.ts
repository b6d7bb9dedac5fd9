/** The node configuration: file, then STOCKLINE_* environment, then flags; errors name field, value, expected. */
import { writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ConfigError, loadNodeConfig } from "../../infra/config/node-config.ts";
import { tempDir } from "./node-fixtures.ts";

const tmp = tempDir("config");
afterAll(() => tmp.remove());

const file = (content: unknown): string => {
  const f = path.join(tmp.dir, `c${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(f, typeof content === "string" ? content : JSON.stringify(content));
  return f;
};

describe("loadNodeConfig", () => {
  it("fills defaults: SQLite with synchronous FULL in the data folder", () => {
    const c = loadNodeConfig({ file: file({ region: "eu", dataDir: tmp.dir }), env: {} });
    expect(c.store).toEqual({ kind: "sqlite", path: path.join(tmp.dir, "events.db"), synchronous: "FULL" });
    expect(c.nats.servers).toEqual(["nats://127.0.0.1:4222"]);
    expect(c.ownership.otherwise).toBe("allow");
  });

  it("lets the environment override the file, and flags override both", () => {
    const c = loadNodeConfig({
      file: file({ region: "eu", snapshotEvery: 10, store: { kind: "sqlite", synchronous: "FULL" } }),
      env: {
        STOCKLINE_REGION: "us",
        STOCKLINE_SNAPSHOT_EVERY: "50",
        STOCKLINE_NATS_SERVERS: "nats://a:1, nats://b:2",
        STOCKLINE_STORE_KIND: "eventstoredb",
        STOCKLINE_STORE_URL: "esdb://x:2113?tls=false",
      },
      overrides: { region: "apac" },
    });
    expect(c.region).toBe("apac");
    expect(c.snapshotEvery).toBe(50);
    expect(c.nats.servers).toEqual(["nats://a:1", "nats://b:2"]);
    expect(c.store).toEqual({ kind: "eventstoredb", url: "esdb://x:2113?tls=false" });
  });

  it("reports every bad field with its value and what was expected", () => {
    let error: unknown;
    try {
      loadNodeConfig({
        file: file({ region: "EU!", http: { port: 70000 } }),
        env: { STOCKLINE_SNAPSHOT_EVERY: "often" },
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const errors = (error as ConfigError).errors;
    expect(errors.map((e) => e.path).sort()).toEqual(["http.port", "region", "snapshotEvery"]);
    expect((error as Error).message).toMatch(/snapshotEvery: got "often", expected a positive integer/);
    expect((error as Error).message).toMatch(/region: got "EU!"/);
  });

  it("rejects an ownership policy with a rule without owners, naming the rule", () => {
    expect(() =>
      loadNodeConfig({
        file: file({
          region: "eu",
          ownership: { rules: [{ name: "r", movements: ["pick"], owners: [] }], otherwise: "deny" },
        }),
        env: {},
      }),
    ).toThrow(/ownership\.rules\.0\.owners/);
  });

  it("says which file is not JSON", () => {
    const f = file("{ region: eu");
    expect(() => loadNodeConfig({ file: f, env: {} })).toThrow(new RegExp(`${path.basename(f)} is not JSON`));
  });
});
