/**
 * The CLI's calls to the API say what went wrong and how to fix it: an API that cannot be reached
 * names the URL tried and `--api` / STOCKLINE_API_URL; a 401/403 names `--key` / STOCKLINE_API_KEY.
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { createServer } from "node:net";
import { promisify } from "node:util";
import type { FastifyInstance } from "fastify";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHttpServer } from "../../infra/http/http-server.ts";
import { installAccessControl } from "../../services/api/access-control.ts";
import { callApi } from "../../services/cli/api-client.ts";

const run = promisify(execFile);
const OPS = "k-operations-0123456789abcdefghijklmnop";
const SHOP = "k-commerce-0123456789abcdefghijklmnop";
const sha = (k: string) => createHash("sha256").update(k).digest("hex");

/** A port nothing listens on: bound once by us, then closed. */
const closedPort = async (): Promise<number> => {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const address = server.address();
  await new Promise<void>((r) => server.close(() => r()));
  return typeof address === "object" && address ? address.port : 1;
};

let app: FastifyInstance;
let url: string;
beforeAll(async () => {
  app = await createHttpServer({ title: "cli", logger: pino({ level: "silent" }) });
  await installAccessControl(app, {
    apiKeys: [
      { name: "ops", roles: ["operations"], keySha256: [sha(OPS)], systems: [] },
      { name: "shop", roles: ["commerce"], keySha256: [sha(SHOP)], systems: [] },
    ],
    rateLimit: { max: 1000, windowMs: 60_000 },
  });
  app.get("/v1/exceptions", async () => ({ ok: true }));
  app.get("/v1/exceptions/dead-letters", async () => ({ deadLetters: [], next: {} }));
  await app.listen({ host: "127.0.0.1", port: 0 });
  const address = app.server.address();
  url = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
});
afterAll(async () => {
  await app.close();
});

describe("callApi", () => {
  it("a closed port: the URL tried, connection refused, and how to set the URL", async () => {
    const api = `http://127.0.0.1:${await closedPort()}`;
    const err = await callApi(api, "GET", "/v1/exceptions").catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toBe(
      `cannot reach the stockline API at ${api}: connection refused: nothing listens there (is \`stockline api\` or \`stockline run\` running?); set the API's URL with --api <url> or STOCKLINE_API_URL`,
    );
  });

  it("a host that does not resolve, a URL that is not one, an API that does not answer in time", async () => {
    const dns = await callApi("http://no-such-host.invalid:8080", "GET", "/v1/x").catch((e: Error) => e);
    expect((dns as Error).message).toContain(
      "cannot reach the stockline API at http://no-such-host.invalid:8080",
    );
    expect((dns as Error).message).toContain("--api <url> or STOCKLINE_API_URL");

    await expect(callApi("localhost:8080", "GET", "/v1/x")).rejects.toThrow(
      /--api "localhost:8080" is not an http\(s\) URL .*STOCKLINE_API_URL/,
    );

    // A server that accepts the connection and never answers.
    const silent = createServer(() => {});
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
    const port = (silent.address() as { port: number }).port;
    try {
      await expect(
        callApi({ api: `http://127.0.0.1:${port}`, timeoutMs: 300 }, "GET", "/v1/x"),
      ).rejects.toThrow(
        `no answer from the stockline API at http://127.0.0.1:${port} within 0.3 s; is it the right URL? set the API's URL with --api <url> or STOCKLINE_API_URL`,
      );
    } finally {
      silent.close();
    }
  });

  it("401 and 403 say how to send a key: --key or STOCKLINE_API_KEY, and the roles needed", async () => {
    const saved = process.env.STOCKLINE_API_KEY;
    delete process.env.STOCKLINE_API_KEY;
    try {
      await expect(callApi(url, "GET", "/v1/exceptions")).rejects.toThrow(
        /^HTTP 401: an API key is required.*; no API key was sent: pass --key <key> or set STOCKLINE_API_KEY$/,
      );
      await expect(callApi({ api: url, key: "wrong" }, "GET", "/v1/exceptions")).rejects.toThrow(
        /HTTP 401: unknown API key.*; the key from --key was refused: pass another with --key <key> or STOCKLINE_API_KEY$/,
      );
      await expect(callApi({ api: url, key: SHOP }, "GET", "/v1/exceptions")).rejects.toThrow(
        /HTTP 403: .*; use a key with one of the roles operations \(--key <key> or STOCKLINE_API_KEY\)$/,
      );
      process.env.STOCKLINE_API_KEY = OPS;
      expect(await callApi(url, "GET", "/v1/exceptions")).toEqual({ status: 200, json: { ok: true } });
      expect(await callApi({ api: url, key: OPS }, "GET", "/v1/exceptions")).toEqual({
        status: 200,
        json: { ok: true },
      });
    } finally {
      if (saved === undefined) delete process.env.STOCKLINE_API_KEY;
      else process.env.STOCKLINE_API_KEY = saved;
    }
  });
});

describe("stockline dlq commands list", () => {
  it("against a closed port prints one line naming the URL, --api and STOCKLINE_API_URL, and fails", async () => {
    const api = `http://127.0.0.1:${await closedPort()}`;
    const r = await run(
      "npx",
      ["tsx", "services/cli.ts", "dlq", "commands", "list", "--api", api, "--key", OPS],
      {
        cwd: process.cwd(),
      },
    ).catch((e: { code: number; stderr: string }) => e);
    expect((r as { code: number }).code).toBe(1);
    expect((r as { stderr: string }).stderr.trim()).toBe(
      `stockline: cannot reach the stockline API at ${api}: connection refused: nothing listens there (is \`stockline api\` or \`stockline run\` running?); set the API's URL with --api <url> or STOCKLINE_API_URL`,
    );
  }, 60_000);

  it("with a key of the wrong role names --key and STOCKLINE_API_KEY", async () => {
    const r = await run(
      "npx",
      ["tsx", "services/cli.ts", "dlq", "commands", "list", "--api", url, "--key", SHOP],
      {
        cwd: process.cwd(),
      },
    ).catch((e: { code: number; stderr: string }) => e);
    expect((r as { code: number }).code).toBe(1);
    expect((r as { stderr: string }).stderr).toContain("HTTP 403");
    expect((r as { stderr: string }).stderr).toContain("(--key <key> or STOCKLINE_API_KEY)");
  }, 60_000);
});
