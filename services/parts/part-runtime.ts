/**
 * What every `stockline part <name>` process shares: it reads the one distributor configuration
 * (exit 2 with field, value and expectation when it is wrong), logs with pino (stdout, and a file
 * with `--log-file`), connects to NATS as the user it is given, prints one ready line on stdout
 * (`{"ready":true,"part":...}`, what `stockline up` waits for), and stops what it started in reverse
 * order on SIGTERM/SIGINT (exit 0; a second signal exits at once).
 *
 * Credentials: a part connects to a server (`hub` or a region id) with, first, what the file named by
 * `STOCKLINE_PART_CREDENTIALS` holds for it (`{ "<server>" | "<server>:<role>": NatsAuth }`, written by
 * `stockline up` for a managed topology), else the configuration's own block (`regions[].nats` for a
 * region; `api.nats` for the API's hub connection; `nats.hub` otherwise).
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import type { NatsConnection } from "@nats-io/transport-node";
import { type Logger, pino } from "pino";
import { ConfigError } from "../../infra/config/config-loading.ts";
import {
  type DistributorConfig,
  loadDistributorConfig,
  resolveDistributorConfig,
} from "../../infra/config/distributor-config.ts";
import { type NatsAuth, natsAuthOf, resolveNatsAuth } from "../../infra/config/nats-auth.ts";
import { REDACT } from "../../infra/logging.ts";
import { connectNats, drainAndClose } from "../../infra/nats/connection.ts";

export const PART_CREDENTIALS_ENV = "STOCKLINE_PART_CREDENTIALS";
export const DEFAULT_NATS = "nats://127.0.0.1:4222";

export interface PartOptions {
  readonly config: string;
  readonly dataDir?: string;
  readonly logFile?: string;
}

export interface PartContext {
  readonly d: DistributorConfig;
  readonly log: Logger;
  /** Connects to `server` (`hub` or a region) as the part's user there (`role` picks another one on the hub). */
  connect(server: string, name: string, role?: string): Promise<NatsConnection>;
  /** Servers of a region or the hub, from the configuration. */
  serversOf(server: string): string[];
  /** The part's credentials on `server` (and `role` on the hub). */
  authOf(server: string, role?: string): NatsAuth;
  /** Registers something to stop; stops run in reverse order of registration. */
  defer(what: string, stop: () => unknown): void;
}

/** A flag of `stockline part` that does not fit the configuration (exit 2, like a wrong file). */
export const flagError = (flag: string, value: unknown, expected: string): ConfigError =>
  new ConfigError(
    "command line",
    [{ path: flag, value, expected, message: `${flag}: got ${JSON.stringify(value)}, expected ${expected}` }],
    "part options",
  );

/** A part's configuration, with `--data-dir` overriding the file's `dataDir`. */
export const loadPartConfig = (opts: PartOptions): DistributorConfig => {
  const d = loadDistributorConfig(opts.config);
  if (!opts.dataDir) return d;
  return resolveDistributorConfig({ ...d.file, dataDir: path.resolve(opts.dataDir) }, d.source);
};

const partLogger = (part: string, file: string | undefined): { log: Logger; flush: () => void } => {
  const options = {
    name: part,
    level: process.env.LOG_LEVEL ?? "info",
    base: { pid: process.pid, part },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: REDACT,
  };
  if (!file) return { log: pino(options), flush: () => {} };
  const dest = pino.destination({ dest: file, mkdir: true, sync: false });
  const log = pino(options, pino.multistream([{ stream: process.stdout }, { stream: dest }]));
  return { log, flush: () => dest.flushSync() };
};

const readCredentials = (env: NodeJS.ProcessEnv): Record<string, NatsAuth> => {
  const file = env[PART_CREDENTIALS_ENV];
  if (!file) return {};
  const raw = JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
  return Object.fromEntries(
    Object.entries(raw).map(([k, v]) => [
      k,
      resolveNatsAuth(v as NatsAuth, file, `${PART_CREDENTIALS_ENV}.${k}`),
    ]),
  );
};

/** The configuration's NATS block for `server` (and `role` on the hub). */
const configuredNats = (d: DistributorConfig, server: string, role?: string) => {
  if (server === "hub") return role === "api" ? (d.file.api?.nats ?? d.file.nats?.hub) : d.file.nats?.hub;
  return d.file.regions.find((r) => r.id === server)?.nats;
};

/** Exits with a one-line message: 2 for a configuration that is wrong, 1 for anything else. */
const fail = (part: string, err: unknown): never => {
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`stockline part ${part}: ${message}\n`);
  process.exit(err instanceof ConfigError ? 2 : 1);
};

/**
 * Runs a part: `start` builds it (registering stops with `ctx.defer`) and returns what the ready line
 * reports (e.g. `{ url }`). Resolves once the part is running; the process lives until a signal.
 */
export const runPart = async (
  part: string,
  opts: PartOptions,
  start: (ctx: PartContext) => Promise<Record<string, unknown>>,
): Promise<void> => {
  let d: DistributorConfig;
  let credentials: Record<string, NatsAuth>;
  try {
    d = loadPartConfig(opts);
    credentials = readCredentials(process.env);
  } catch (err) {
    return fail(part, err);
  }
  const { log, flush } = partLogger(part, opts.logFile);
  const stops: Array<{ what: string; stop: () => unknown }> = [];
  const stopAll = async () => {
    for (const s of stops.splice(0).reverse()) {
      try {
        await s.stop();
      } catch (err) {
        log.warn({ err, component: s.what }, "error while stopping");
      }
    }
  };
  const serversOf = (server: string): string[] => {
    const servers = server === "hub" ? d.file.nats?.hub?.servers : configuredNats(d, server)?.servers;
    return servers && servers.length > 0 ? [...servers] : [DEFAULT_NATS];
  };
  const authOf = (server: string, role?: string): NatsAuth =>
    credentials[role ? `${server}:${role}` : server] ??
    natsAuthOf(configuredNats(d, server, role), d.source, `${server}.nats`);
  const ctx: PartContext = {
    d,
    log,
    serversOf,
    authOf,
    defer: (what, stop) => stops.push({ what, stop }),
    connect: async (server, name, role) => {
      const auth = authOf(server, role);
      const servers =
        role === "api" && d.file.api?.nats?.servers ? d.file.api.nats.servers : serversOf(server);
      const nc = await connectNats({ servers, name, auth, logger: log });
      stops.push({ what: `connection ${name}`, stop: () => drainAndClose(nc) });
      return nc;
    },
  };
  let ready: Record<string, unknown>;
  try {
    ready = await start(ctx);
  } catch (err) {
    log.error({ err }, `${part} failed to start`);
    await stopAll();
    flush();
    return fail(part, err);
  }
  let signals = 0;
  const onSignal = (signal: string) => {
    signals++;
    if (signals > 1) {
      log.warn({ signal }, "second signal: exiting without stopping");
      flush();
      process.exit(1);
    }
    log.info({ signal }, `${part}: stopping`);
    void stopAll().then(() => {
      log.info(`${part} stopped`);
      flush();
      process.exit(0);
    });
  };
  process.on("SIGTERM", () => onSignal("SIGTERM"));
  process.on("SIGINT", () => onSignal("SIGINT"));
  // Under `stockline up`: its supervisor gone (the pipe on stdin closed), stop rather than run orphaned.
  if (process.env.STOCKLINE_SUPERVISED === "1") {
    process.stdin.on("end", () => onSignal("supervisor gone"));
    process.stdin.resume();
  }
  log.info({ ...ready, distributor: d.id, version: d.version }, `${part} started`);
  process.stdout.write(`${JSON.stringify({ ready: true, part, pid: process.pid, ...ready })}\n`);
};
