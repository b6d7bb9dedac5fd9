/**
 * `stockline keys hash` makes the digest a configuration holds, from a key on standard input; a short
 * key is refused. `stockline keys new` makes a key long enough.
 */
import { spawnSync } from "node:child_process";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ApiKeyRing } from "../../infra/http/api-keys.ts";
import { resolveApiConfig } from "../../services/api/api-config.ts";

const cli = (args: string[], input = "") =>
  spawnSync(process.execPath, ["--import", "tsx", path.resolve("services/cli.ts"), ...args], {
    input,
    encoding: "utf8",
    timeout: 60_000,
  });

describe("stockline keys", () => {
  it("hashes a key from standard input into a digest the configuration accepts", () => {
    const made = cli(["keys", "new"]);
    expect(made.status).toBe(0);
    const key = /key:\s+(\S+)/.exec(made.stdout)?.[1] ?? "";
    expect(key.length).toBeGreaterThanOrEqual(32);
    const hashed = cli(["keys", "hash"], `${key}\n`);
    expect(hashed.status).toBe(0);
    const digest = hashed.stdout.trim();
    expect(made.stdout).toContain(digest);
    const config = resolveApiConfig({
      regions: ["eu"],
      apiKeys: [{ name: "shop", roles: ["commerce"], keySha256: digest }],
    });
    expect(new ApiKeyRing(config.apiKeys, config.rateLimit).resolve(key)?.name).toBe("shop");
  }, 120_000);

  it("refuses a key shorter than 32 characters with exit code 2", () => {
    const r = cli(["keys", "hash"], "too-short\n");
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/9 characters; expected at least 32/);
    expect(r.stdout).toBe("");
  }, 60_000);
});
