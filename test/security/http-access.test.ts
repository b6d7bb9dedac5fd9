/**
 * Issue 9, HTTP on the API: reservations belong to the key that placed them, and API keys are held as
 * digests, long, rotatable and kept out of config files. Before: a commerce key could read and release
 * another caller's reservation; keys were plain strings of any length compared by map lookup.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiKeyRing, MIN_KEY_CHARS, sha256Hex } from "../../infra/http/api-keys.ts";
import { loadApiConfig, resolveApiConfig } from "../../services/api/api-config.ts";
import {
  type ApiSystem,
  KEYS as FIXTURE_KEYS,
  receive,
  startApiSystem,
  waitForAtp,
} from "../api/api-fixture.ts";

const KEYS = {
  shopA: "shop-a-key-0123456789abcdefghijklmnopqrs",
  shopB: "shop-b-key-0123456789abcdefghijklmnopqrs",
  ops: "ops-key-0123456789abcdefghijklmnopqrstuvw",
};

describe("reservations are scoped to the key that placed them", () => {
  let sys: ApiSystem;
  let region: string;
  beforeAll(async () => {
    sys = await startApiSystem({
      regions: 1,
      apiConfig: {
        apiKeys: [
          // The fixture's own reads use its operations key.
          { name: "fixture-ops", key: FIXTURE_KEYS.operations, roles: ["operations"] },
          { name: "shop-a", key: KEYS.shopA, roles: ["commerce"] },
          { name: "shop-b", key: KEYS.shopB, roles: ["commerce"] },
          { name: "ops", key: KEYS.ops, roles: ["operations"] },
        ],
      },
    });
    region = sys.regions[0]!;
  }, 60_000);
  afterAll(async () => {
    await sys?.stop();
  });

  it("another commerce key gets 404 on read and release (as for an unknown id); the owner and operations may act", async () => {
    const sku = "SCOPE-1";
    expect((await sys.command(region, receive(region, "DC1", sku, 10))).outcome).toBe("accepted");
    await waitForAtp(sys, sku, "DC1", 10);
    const placed = await sys.http("POST", "/v1/reservations", {
      key: KEYS.shopA,
      body: { region, sku, location: "DC1", quantity: 2, channel: "web" },
      headers: { "idempotency-key": "scope-1" },
    });
    expect(placed.status).toBe(201);
    const id = placed.body.reservationId as string;

    const peek = await sys.http("GET", `/v1/reservations/${id}`, { key: KEYS.shopB });
    expect(peek.status).toBe(404);
    expect(peek.body.message).toMatch(/placed by API key "shop-b"/);
    const steal = await sys.http("DELETE", `/v1/reservations/${id}`, { key: KEYS.shopB });
    expect(steal.status).toBe(404);
    // Same answer as for an id nobody placed: existence is not revealed.
    const other = id.replace(/\.[^.]+$/, ".AAAAAAAAAAAAAAAAAAAAAA");
    const unknown = await sys.http("GET", `/v1/reservations/${other}`, { key: KEYS.shopB });
    expect(unknown.status).toBe(404);
    expect(unknown.body.message.replace(other, id)).toBe(peek.body.message);

    const own = await sys.http("GET", `/v1/reservations/${id}`, { key: KEYS.shopA });
    expect(own.status).toBe(200);
    expect(own.body.status).toBe("open");

    const released = await sys.http("DELETE", `/v1/reservations/${id}`, { key: KEYS.ops });
    expect(released.status).toBe(200);
    expect(released.body).toMatchObject({ status: "released", releasedBy: "ops" });
    const after = await sys.http("GET", `/v1/reservations/${id}`, { key: KEYS.shopA });
    expect(after.body.actions).toEqual([{ action: "release", by: "ops", at: released.body.releasedAt }]);
  });
});

describe("API keys", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "stockline-keys-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const base = { regions: ["eu"] };

  it("refuses a key shorter than the minimum at config load, naming the entry but not the key", () => {
    const short = "short-secret-123";
    expect(() =>
      resolveApiConfig({ ...base, apiKeys: [{ name: "shop", key: short, roles: ["commerce"] }] }),
    ).toThrow(new RegExp(`apiKeys\\.0\\.key.*at least ${MIN_KEY_CHARS} characters`, "s"));
    try {
      resolveApiConfig({ ...base, apiKeys: [{ name: "shop", key: short, roles: ["commerce"] }] });
    } catch (err) {
      expect((err as Error).message).not.toContain(short);
    }
  });

  it("holds keys only as digests and accepts several per principal (rotation), from a file and the environment", () => {
    const oldKey = "old-key-0123456789abcdefghijklmnopqrstuv";
    const newKey = "new-key-0123456789abcdefghijklmnopqrstuv";
    const envKey = "env-key-0123456789abcdefghijklmnopqrstuv";
    const keyFile = path.join(dir, "shop.keys");
    writeFileSync(keyFile, `# shop keys\n${oldKey}\nsha256:${sha256Hex(newKey)}\n`);
    const configFile = path.join(dir, "api.json");
    writeFileSync(
      configFile,
      JSON.stringify({
        ...base,
        apiKeys: [
          { name: "shop", roles: ["commerce"], keyFile },
          { name: "ops", roles: ["operations"], keyEnv: "TEST_OPS_KEYS" },
          { name: "fin", roles: ["finance"], keySha256: [sha256Hex(`fin-${oldKey}`)] },
        ],
      }),
    );
    const config = loadApiConfig(configFile, { TEST_OPS_KEYS: envKey });
    expect(JSON.stringify(config)).not.toContain(oldKey);
    expect(JSON.stringify(config)).not.toContain(envKey);
    const ring = new ApiKeyRing(config.apiKeys, config.rateLimit);
    expect(ring.resolve(oldKey)?.name).toBe("shop");
    expect(ring.resolve(newKey)?.name).toBe("shop");
    expect(ring.resolve(envKey)?.name).toBe("ops");
    expect(ring.resolve(`fin-${oldKey}`)?.name).toBe("fin");
    expect(ring.resolve(oldKey.slice(0, -1))).toBeUndefined();
  });

  it("refuses a key in clear inside a config file, and an entry without any secret", () => {
    const configFile = path.join(dir, "inline.json");
    writeFileSync(
      configFile,
      JSON.stringify({ ...base, apiKeys: [{ name: "shop", key: KEYS.shopA, roles: ["commerce"] }] }),
    );
    expect(() => loadApiConfig(configFile, {})).toThrow(/apiKeys\.0\.key.*keyFile, keyEnv or keySha256/s);
    expect(() => resolveApiConfig({ ...base, apiKeys: [{ name: "shop", roles: ["commerce"] }] })).toThrow(
      /apiKeys\.0.*at least one secret/s,
    );
    expect(() =>
      resolveApiConfig(
        { ...base, apiKeys: [{ name: "shop", roles: ["commerce"], keyEnv: "UNSET_X" }] },
        "c",
        {
          env: {},
        },
      ),
    ).toThrow(/apiKeys\.0\.keyEnv.*UNSET_X/s);
  });
});
