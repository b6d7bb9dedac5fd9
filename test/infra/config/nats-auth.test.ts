/**
 * NATS credentials in every process's configuration (issue 9): the node, the API and the CLI take a
 * user/password, token, nkey seed or .creds file by reference (file or environment variable), and a
 * secured nats-server accepts them where an anonymous client is refused.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { connect } from "@nats-io/transport-node";
import getPort from "get-port";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { natsAuthFromEnv, natsConnectAuth } from "../../../infra/config/nats-auth.ts";
import { ConfigError, loadNodeConfig } from "../../../infra/config/node-config.ts";
import { connectNats, drainAndClose } from "../../../infra/nats/connection.ts";
import { NATS_SERVER_BIN } from "../../../infra/nats/topology.ts";
import { loadApiConfig } from "../../../services/api/api-config.ts";

const dir = mkdtempSync(path.join(tmpdir(), "stockline-nats-auth-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const write = (name: string, content: string): string => {
  const f = path.join(dir, name);
  writeFileSync(f, content);
  return f;
};

describe("the nats block of a configuration", () => {
  it("takes a user and a password file in the node's config, the file read only on connect", () => {
    const pw = write("pw", "s3cret-from-file\n");
    const c = loadNodeConfig({
      file: write("node.json", JSON.stringify({ region: "eu", nats: { user: "node-eu", passwordFile: pw } })),
      env: {},
    });
    expect(c.nats.auth).toEqual({ user: "node-eu", passwordFile: pw });
    expect(JSON.stringify(c)).not.toContain("s3cret");
    expect(natsConnectAuth(c.nats.auth)).toMatchObject({ user: "node-eu", pass: "s3cret-from-file" });
  });

  it("takes credentials and TLS from STOCKLINE_NATS_* and STOCKLINE_API_NATS_*", () => {
    const node = loadNodeConfig({
      env: {
        STOCKLINE_REGION: "eu",
        STOCKLINE_NATS_CREDS_FILE: "/run/secrets/node.creds",
        STOCKLINE_NATS_TLS_CA_FILE: "/etc/ca.pem",
      },
    });
    expect(node.nats.auth).toEqual({ credsFile: "/run/secrets/node.creds", tls: { caFile: "/etc/ca.pem" } });
    const api = loadApiConfig(write("api.json", JSON.stringify({ regions: ["eu"], apiKeys: [] })), {
      STOCKLINE_API_NATS_USER: "api",
      STOCKLINE_API_NATS_PASSWORD_FILE: "/run/secrets/api-pw",
    });
    expect(api.nats.auth).toEqual({ user: "api", passwordFile: "/run/secrets/api-pw" });
  });

  it("refuses two ways of authenticating, or a password without a user, naming the field", () => {
    const load = (nats: unknown) =>
      loadNodeConfig({ file: write("bad.json", JSON.stringify({ region: "eu", nats })), env: {} });
    expect(() => load({ user: "a", credsFile: "x.creds" })).toThrow(ConfigError);
    expect(() => load({ user: "a", credsFile: "x.creds" })).toThrow(/at most one of user, token/);
    expect(() => load({ passwordEnv: "PW" })).toThrow(/nats\.user/);
    expect(() => load({ tls: { certFile: "c.pem" } })).toThrow(/certFile and keyFile together/);
  });

  it("names the variable, never a value, when a secret is missing", () => {
    expect(() => natsConnectAuth({ user: "a", passwordEnv: "NO_SUCH_VAR_FOR_TEST" }, {})).toThrow(
      /NO_SUCH_VAR_FOR_TEST is not set/,
    );
    const auth = natsAuthFromEnv({
      STOCKLINE_NATS_USER: "cli",
      STOCKLINE_NATS_PASSWORD: "pw-in-env",
      STOCKLINE_NATS_INBOX_PREFIX: "_INBOX_cli",
    });
    expect(auth).toEqual({ user: "cli", passwordEnv: "STOCKLINE_NATS_PASSWORD", inboxPrefix: "_INBOX_cli" });
    expect(natsConnectAuth(auth, { STOCKLINE_NATS_PASSWORD: "pw-in-env" })).toMatchObject({
      pass: "pw-in-env",
    });
  });
});

describe("a nats-server that requires a user", () => {
  let url = "";
  let stop = () => {};
  beforeAll(async () => {
    const port = await getPort({ host: "127.0.0.1" });
    const child = spawn(
      NATS_SERVER_BIN,
      ["-a", "127.0.0.1", "-p", String(port), "--user", "u1", "--pass", "p1"],
      {
        stdio: "ignore",
      },
    );
    stop = () => child.kill("SIGKILL");
    url = `nats://127.0.0.1:${port}`;
    for (let i = 0; i < 100; i++) {
      try {
        const nc = await connect({ servers: url, user: "u1", pass: "p1", reconnect: false });
        await nc.close();
        return;
      } catch {
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  });
  afterAll(() => stop());

  it("refuses an anonymous client and accepts the configured one", async () => {
    await expect(connectNats({ servers: url, name: "anon", reconnect: false })).rejects.toThrow(
      /Authorization/i,
    );
    const pw = write("u1-pw", "p1");
    const c = loadNodeConfig({
      file: write(
        "n.json",
        JSON.stringify({ region: "eu", nats: { servers: [url], user: "u1", passwordFile: pw } }),
      ),
      env: {},
    });
    const nc = await connectNats({
      servers: c.nats.servers,
      name: c.nats.name,
      auth: c.nats.auth,
      reconnect: false,
    });
    await nc.flush();
    await drainAndClose(nc);
  });
});
