/**
 * What the end-to-end tests of `stockline up` share: a configuration written to a temporary folder,
 * `stockline up` started with it as a child process (as an operator starts it), readiness (the `API:`
 * line, printed once every stage is ready), the keys `up` generated (`<dataDir>/up/keys.env`), the
 * managed NATS connection details (`<dataDir>/up/nats.json`), the API and the CLI as clients, and a
 * clean stop (SIGTERM: exit 0 and `stopped`).
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import getPort from "get-port";
import { expect } from "vitest";
import type { ConnectionInfo } from "../../services/up/managed-nats.ts";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
export const CLI = path.join(ROOT, "services", "cli.ts");

// biome-ignore lint/suspicious/noExplicitAny: answers of the API, read as a client reads them
export type Json = Record<string, any>;

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export const freePort = (): Promise<number> => getPort({ host: "127.0.0.1" });

export interface UpOptions {
  /** Name of the configuration file in the temporary folder. */
  readonly file: string;
  /** The configuration, given the temporary folder and the data folder inside it. */
  readonly config: (dir: string, dataDir: string) => object;
  /** Environment of `up` (keys, secrets) besides this process's. */
  readonly env?: Record<string, string>;
  /** How long `up` may take to print its API's URL (generous: machines are shared). */
  readonly readyTimeoutMs?: number;
}

export interface RunningUp {
  readonly dir: string;
  readonly dataDir: string;
  /** The API's base URL. */
  readonly api: string;
  /** Managed NATS: servers and users (`<dataDir>/up/nats.json`). */
  readonly info: ConnectionInfo;
  /** Keys `up` generated for variables that were not set (`<dataDir>/up/keys.env`). */
  readonly keys: Readonly<Record<string, string>>;
  /** Everything `up` printed so far. */
  output(): string;
  waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs?: number): Promise<T>;
  call(
    method: "GET" | "POST",
    p: string,
    key: string,
    body?: unknown,
  ): Promise<{ status: number; json: Json }>;
  /** The CLI against the running API with `key`, as an operator runs it. */
  cli(key: string, ...args: string[]): Promise<string>;
  partsState(): { parts: { name: string; pid: number; restarts: number; ready: boolean }[] };
  /** SIGTERM; expects exit 0 and `stopped`; removes the folder unless KEEP_UP_DIR is set. */
  stop(): Promise<void>;
}

const readKeys = (file: string): Record<string, string> =>
  existsSync(file)
    ? Object.fromEntries(
        readFileSync(file, "utf8")
          .split("\n")
          .filter((l) => l.includes("="))
          .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
      )
    : {};

export const startUp = async (o: UpOptions): Promise<RunningUp> => {
  const dir = mkdtempSync(path.join(tmpdir(), "stockline-up-"));
  const dataDir = path.join(dir, "data");
  const file = path.join(dir, o.file);
  writeFileSync(file, JSON.stringify(o.config(dir, dataDir), null, 2));
  let out = "";
  const up: ChildProcess = spawn(process.execPath, ["--import", "tsx", CLI, "up", "--config", file], {
    cwd: ROOT,
    env: { ...process.env, ...o.env, LOG_LEVEL: "info" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const exited = new Promise<number | null>((resolve) => up.once("exit", (code) => resolve(code)));
  up.stdout!.on("data", (c: Buffer) => {
    out += c.toString();
  });
  up.stderr!.on("data", (c: Buffer) => {
    out += c.toString();
  });

  const waitFor = async <T>(
    what: string,
    probe: () => Promise<T | undefined>,
    timeoutMs = 30_000,
  ): Promise<T> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = await probe().catch(() => undefined);
      if (v !== undefined) return v;
      if (Date.now() > deadline)
        throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}\n${out}`);
      if (up.exitCode !== null)
        throw new Error(`stockline up exited (${up.exitCode}) while waiting for ${what}\n${out}`);
      await sleep(250);
    }
  };

  const stop = async () => {
    if (up.exitCode === null) {
      up.kill("SIGTERM");
      const code = await Promise.race([exited, sleep(40_000).then(() => "timeout" as const)]);
      if (code === "timeout") up.kill("SIGKILL");
      expect(code).toBe(0);
      expect(out).toMatch(/^stopped$/m);
    }
    if (!process.env.KEEP_UP_DIR) rmSync(dir, { recursive: true, force: true });
  };

  let api: string;
  try {
    api = await waitFor(
      "stockline up to print the API's URL",
      async () => /^API: (http:\/\/\S+)/m.exec(out)?.[1],
      o.readyTimeoutMs ?? 150_000,
    );
  } catch (err) {
    up.kill("SIGKILL");
    if (!process.env.KEEP_UP_DIR) rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const runDir = path.join(dataDir, "up");
  const info = JSON.parse(readFileSync(path.join(runDir, "nats.json"), "utf8")) as ConnectionInfo;

  const call = async (method: "GET" | "POST", p: string, key: string, body?: unknown) => {
    const res = await fetch(`${api}${p}`, {
      method,
      headers: { "x-api-key": key, ...(body ? { "content-type": "application/json" } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    return { status: res.status, json: (await res.json().catch(() => ({}))) as Json };
  };

  const cli = (key: string, ...args: string[]): Promise<string> =>
    new Promise((resolve, reject) => {
      execFile(
        process.execPath,
        ["--import", "tsx", CLI, ...args, "--api", api],
        { cwd: ROOT, env: { ...process.env, STOCKLINE_API_KEY: key }, timeout: 30_000 },
        (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout)),
      );
    });

  return {
    dir,
    dataDir,
    api,
    info,
    keys: readKeys(path.join(runDir, "keys.env")),
    output: () => out,
    waitFor,
    call,
    cli,
    partsState: () => JSON.parse(readFileSync(path.join(runDir, "state.json"), "utf8")),
    stop,
  };
};
