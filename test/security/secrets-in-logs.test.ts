/**
 * Issue 9: secrets never in logs. The loggers censor API keys, passwords, tokens, authorization
 * headers and NATS credentials; and a run of the local system, called with its keys (header and
 * Bearer) and with a wrong key, leaves none of them in any log file it wrote.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import { pino } from "pino";
import { afterAll, describe, expect, it } from "vitest";
import { REDACT } from "../../infra/logging.ts";
import { type LocalSystem, startLocalSystem } from "../../services/local-system/local-system.ts";

const SECRET = "a-secret-value-0123456789abcdefghijklmn";

describe("log redaction", () => {
  it("censors keys, passwords, tokens, authorization headers and NATS credentials", () => {
    let out = "";
    const sink = new Writable({
      write(chunk, _enc, cb) {
        out += String(chunk);
        cb();
      },
    });
    const log = pino({ redact: REDACT }, sink);
    log.info({ req: { headers: { "x-api-key": SECRET, authorization: `Bearer ${SECRET}` } } }, "request");
    log.info({ headers: { "x-api-key": SECRET } }, "headers");
    log.info({ apiKey: SECRET, config: { apiKeys: [{ name: "shop", key: SECRET }] } }, "config");
    log.info({ nats: { auth: { user: "wms", pass: SECRET, token: SECRET, seed: SECRET } } }, "nats");
    log.info({ password: SECRET, db: { password: SECRET } }, "password");
    expect(out.split("\n").filter(Boolean)).toHaveLength(5);
    expect(out).not.toContain(SECRET);
    expect(out).toContain("[redacted]");
    expect(out).toContain('"user":"wms"');
  });
});

describe("a run of the local system", () => {
  let sys: LocalSystem | undefined;
  const dir = mkdtempSync(path.join(tmpdir(), "stockline-logs-"));
  const level = process.env.LOG_LEVEL;
  afterAll(async () => {
    await sys?.stop();
    if (level === undefined) delete process.env.LOG_LEVEL;
    else process.env.LOG_LEVEL = level;
    rmSync(dir, { recursive: true, force: true });
  });

  const filesUnder = (d: string): string[] =>
    readdirSync(d).flatMap((n) => {
      const p = path.join(d, n);
      return statSync(p).isDirectory() ? filesUnder(p) : [p];
    });

  it("writes none of its API keys (nor a wrong one) to its logs", async () => {
    process.env.LOG_LEVEL = "debug"; // as much as the system ever writes
    sys = await startLocalSystem({ dataDir: dir, apiPort: 0, regions: ["eu"], keepNatsData: true });
    const wrong = "wrong-key-0123456789abcdefghijklmnopqrstu";
    const call = (p: string, headers: Record<string, string>, init: RequestInit = {}) =>
      fetch(`${sys!.apiUrl}${p}`, { ...init, headers: { ...headers, ...(init.headers ?? {}) } });
    for (const key of Object.values(sys.keys)) {
      await call("/v1/availability/LOG-1", { "x-api-key": key });
      await call("/v1/availability/LOG-1", { authorization: `Bearer ${key}` });
    }
    expect((await call("/v1/availability/LOG-1", { "x-api-key": wrong })).status).toBe(401);
    await call(
      "/v1/reservations",
      { "x-api-key": sys.keys.commerce, "content-type": "application/json" },
      {
        method: "POST",
        body: JSON.stringify({ region: "eu", sku: "LOG-1", quantity: 1, channel: "web" }),
      },
    );
    await sys.stop();
    const logs = filesUnder(dir).filter((f) => f.endsWith(".log"));
    const own = logs.find((f) => f.endsWith("stockline.log"));
    expect(own).toBeDefined();
    const text = logs.map((f) => readFileSync(f, "utf8")).join("\n");
    expect(readFileSync(own!, "utf8").length).toBeGreaterThan(0);
    for (const secret of [...Object.values(sys.keys), wrong]) expect(text).not.toContain(secret);
  }, 120_000);
});
