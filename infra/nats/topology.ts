/**
 * Starts and stops a local NATS topology of real `nats-server` processes: one hub and N regions.
 *
 * Each region is its own JetStream domain (`jetstream { domain: <region> }`) and a leaf node of the hub
 * (`leafnodes { remotes [...] }`); the hub is JetStream domain `hub` and listens for leaf nodes. Everything
 * runs in the default global account `$G`: on nats-server 2.9.10 no `accounts` block and no
 * `system_account` are needed for cross-domain JetStream over leaf nodes; the server itself adds the
 * `$JS.<domain>.API.>` mappings and denies `$JS.API.>` across the leaf link (see the log lines
 * "Adding JetStream Domain Mapping"). A client on the hub addresses a region with
 * `jetstream(nc, { domain: region })`.
 *
 * Leaf links can be cut and restored: each region dials the hub through a small TCP relay in this
 * process. `cutLink` closes the relayed sockets and refuses new ones until `restoreLink`, which is what a
 * network partition looks like to both servers (both see the leaf connection drop; the region keeps
 * redialling every second). Region-local clients and the hub's clients stay connected throughout.
 *
 * Servers are stopped on `stop()`, on process exit, and by a per-server watchdog (`sh` reading a pipe
 * from us) if this process dies without running exit handlers (SIGKILL): no orphaned servers.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, rmSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import getPort from "get-port";
import { type Logger, pino } from "pino";
import { natsConnectAuth } from "../config/nats-auth.ts";
import { assertRegionId } from "./subjects.ts";
import { generateCredentials, type SecurityOptions, type TopologyCredentials } from "./topology-security.ts";

export type { SecurityOptions, SourceUser, TopologyCredentials } from "./topology-security.ts";

export const NATS_SERVER_BIN = process.env.NATS_SERVER_BIN ?? "/usr/sbin/nats-server";
export const HUB_DOMAIN = "hub";

export type TopologyOptions = {
  regions: readonly string[];
  /** Parent folder of the topology's temporary folder (default: the OS temp dir). */
  baseDir?: string;
  /** Keep config, logs and JetStream stores on `stop()` (default false: everything is removed). */
  keepData?: boolean;
  /** Route leaf links through a relay in this process so that `cutLink` works (default true). */
  cuttableLinks?: boolean;
  /** How long to wait for a server to be ready or a link to come up (default 20 s). */
  readyTimeoutMs?: number;
  /**
   * Users with subject permissions per role, random passwords, no anonymous access (default: none, every
   * client anonymous with every right). See topology-security.ts.
   */
  security?: SecurityOptions;
  logger?: Logger;
};

export type ServerEndpoint = {
  /** Client URL, `nats://127.0.0.1:<port>`. */
  url: string;
  /** Monitoring base URL, `http://127.0.0.1:<port>` (`/healthz`, `/leafz`, `/jsz`, ...). */
  monitorUrl: string;
  port: number;
  monitorPort: number;
  storeDir: string;
  logFile: string;
  domain: string;
};

export type HubEndpoint = ServerEndpoint & { leafPort: number };

export type LinkState = "up" | "cut" | "down";

export interface Topology {
  /** The topology's folder: configs, logs and stores. */
  readonly dir: string;
  readonly hub: HubEndpoint;
  readonly regions: Readonly<Record<string, ServerEndpoint>>;
  /** With `security`: each user's credentials (`credentials.auth("eu", "node-eu")`). */
  readonly credentials: TopologyCredentials | undefined;
  /** Stops a region's server (SIGTERM, or SIGKILL with `{ kill: true }` to simulate a crash). */
  stopRegion(region: string, opts?: { kill?: boolean }): Promise<void>;
  /** Restarts a region's server with the same ports and store; waits for its leaf link unless cut. */
  startRegion(region: string): Promise<void>;
  /** Cuts the region's leaf link to the hub (both servers keep running); needs `cuttableLinks`. */
  cutLink(region: string): Promise<void>;
  /** Restores a cut leaf link and waits until the hub reaches the region's JetStream again. */
  restoreLink(region: string): Promise<void>;
  /** What the topology believes about a link: `up`, `cut` by us, or `down` (a server is stopped). */
  linkState(region: string): LinkState;
  stopHub(opts?: { kill?: boolean }): Promise<void>;
  /** Restarts the hub with the same ports and store; waits for every link that is not cut. */
  startHub(): Promise<void>;
  /** Waits until the hub reaches every running, uncut region's JetStream domain. */
  waitForLinks(): Promise<void>;
  /** Stops every server and the link relays; removes the folder unless `keepData`. Idempotent. */
  stop(): Promise<void>;
}

// --- process management --------------------------------------------------------------------------------

const running = new Set<ChildProcess>();
/** Topology folders to remove if the process exits before `stop()`. */
const disposableDirs = new Set<string>();
let exitHookInstalled = false;
const installExitHook = () => {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once("exit", () => {
    for (const child of running) child.kill("SIGKILL");
    for (const dir of disposableDirs) rmSync(dir, { recursive: true, force: true });
  });
};

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

const tail = async (file: string, lines = 15): Promise<string> => {
  try {
    return (await readFile(file, "utf8")).split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
};

const getJson = async (url: string): Promise<unknown> => {
  const res = await fetch(url, { signal: AbortSignal.timeout(1_000) });
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return res.json();
};

class ServerProcess {
  private child: ChildProcess | undefined;
  private watchdog: ChildProcess | undefined;

  constructor(
    readonly name: string,
    readonly endpoint: ServerEndpoint,
    readonly configFile: string,
    private readonly log: Logger,
  ) {}

  get isRunning(): boolean {
    return this.child !== undefined;
  }

  async start(readyTimeoutMs: number): Promise<void> {
    if (this.child) return;
    const child = spawn(NATS_SERVER_BIN, ["-c", this.configFile], { stdio: "ignore" });
    child.unref();
    running.add(child);
    installExitHook();
    let exited: string | undefined;
    child.once("exit", (code, signal) => {
      running.delete(child);
      exited = `exited with ${signal ?? code}`;
      if (this.child === child) this.child = undefined;
    });
    child.once("error", (err) => {
      exited = `failed to start: ${err.message}`;
    });
    this.child = child;
    // If this process dies without exit handlers (SIGKILL), the pipe closes, `read` returns, the server dies.
    const watchdog = spawn("sh", ["-c", `read _; kill -9 ${child.pid} 2>/dev/null`], {
      stdio: ["pipe", "ignore", "ignore"],
    });
    watchdog.unref();
    (watchdog.stdin as unknown as net.Socket | null)?.unref();
    this.watchdog = watchdog;

    const deadline = Date.now() + readyTimeoutMs;
    for (;;) {
      if (exited !== undefined) {
        this.killWatchdog();
        throw new Error(
          `nats-server ${this.name} ${exited}; log tail:\n${await tail(this.endpoint.logFile)}`,
        );
      }
      try {
        const health = (await getJson(`${this.endpoint.monitorUrl}/healthz`)) as { status?: string };
        if (health.status === "ok") break;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) {
        await this.stop({ kill: true });
        throw new Error(
          `nats-server ${this.name} not ready after ${readyTimeoutMs} ms; log tail:\n${await tail(this.endpoint.logFile)}`,
        );
      }
      await delay(50);
    }
    this.log.debug({ server: this.name, pid: child.pid, url: this.endpoint.url }, "nats-server ready");
  }

  private killWatchdog() {
    this.watchdog?.kill("SIGKILL");
    this.watchdog = undefined;
  }

  async stop(opts: { kill?: boolean; timeoutMs?: number } = {}): Promise<void> {
    const child = this.child;
    this.killWatchdog();
    if (!child) return;
    const exited = new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve();
      else child.once("exit", () => resolve());
    });
    child.kill(opts.kill ? "SIGKILL" : "SIGTERM");
    const timeout = delay(opts.timeoutMs ?? 10_000).then(() => "timeout" as const);
    if ((await Promise.race([exited, timeout])) === "timeout") {
      child.kill("SIGKILL");
      await exited;
    }
    this.child = undefined;
    this.log.debug({ server: this.name, pid: child.pid, kill: !!opts.kill }, "nats-server stopped");
  }
}

// --- leaf link relay ------------------------------------------------------------------------------------

/** A TCP relay from a region's leaf remote to the hub's leaf port that can refuse traffic (a partition). */
class LinkRelay {
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  cut = false;

  constructor(
    readonly port: number,
    private readonly targetPort: number,
  ) {}

  async listen(): Promise<void> {
    const server = net.createServer((downstream) => {
      if (this.cut) {
        downstream.destroy();
        return;
      }
      const upstream = net.connect(this.targetPort, "127.0.0.1");
      for (const s of [downstream, upstream]) {
        this.sockets.add(s);
        s.setNoDelay(true);
        s.on("error", () => {});
        s.on("close", () => {
          this.sockets.delete(s);
          downstream.destroy();
          upstream.destroy();
        });
      }
      downstream.pipe(upstream);
      upstream.pipe(downstream);
    });
    server.unref();
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.port, "127.0.0.1", () => resolve());
    });
    this.server = server;
  }

  sever(): void {
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
  }

  async close(): Promise<void> {
    this.sever();
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

// --- configuration --------------------------------------------------------------------------------------

const q = (s: string) => JSON.stringify(s);

export const hubConfig = (e: HubEndpoint, creds?: TopologyCredentials): string => `# stockline hub (generated)
server_name: ${q(HUB_DOMAIN)}
listen: "127.0.0.1:${e.port}"
http: "127.0.0.1:${e.monitorPort}"
log_file: ${q(e.logFile)}
jetstream {
  domain: ${q(HUB_DOMAIN)}
  store_dir: ${q(e.storeDir)}
}
leafnodes {
  listen: "127.0.0.1:${e.leafPort}"
  # A solicited leaf adds the leaf URLs the hub advertises to its remote's URL list (no_advertise does
  # not stop this on 2.9.10), which would bypass the cuttable relay after a reconnect. Advertising the
  # hub's client port makes such an attempt fail at once ("connected to wrong port"), so regions always
  # come back through the URL they were configured with.
  advertise: "127.0.0.1:${e.port}"
${creds ? creds.leafAuthorizationBlock() : ""}${creds?.tls ? `  ${tlsBlock(creds.tls)}\n` : ""}}
${creds ? creds.authorizationBlock(HUB_DOMAIN) : ""}${creds?.tls ? `${tlsBlock(creds.tls)}\n` : ""}`;

/** Server side TLS: every client (or leaf) connection must use it, checked against the run's CA. */
const tlsBlock = (t: { caFile: string; certFile: string; keyFile: string }): string =>
  `tls { cert_file: ${q(t.certFile)}, key_file: ${q(t.keyFile)}, ca_file: ${q(t.caFile)}, timeout: 5 }`;

export const regionConfig = (
  region: string,
  e: ServerEndpoint,
  hubLeafPort: number,
  creds?: TopologyCredentials,
): string => `# stockline region ${region} (generated)
server_name: ${q(region)}
listen: "127.0.0.1:${e.port}"
http: "127.0.0.1:${e.monitorPort}"
log_file: ${q(e.logFile)}
jetstream {
  domain: ${q(region)}
  store_dir: ${q(e.storeDir)}
}
leafnodes {
  remotes [ ${remote(region, hubLeafPort, creds)} ]
}
${creds ? creds.authorizationBlock(region) : ""}${creds?.tls ? `${tlsBlock(creds.tls)}\n` : ""}`;

/**
 * A region's leaf remote; secured, it logs in as `leaf-<r>` and refuses unattributed requests from
 * the hub. Commands must cross leaf links (a node's derived inbound transfer into another region), so
 * they are not denied here: no hub user may publish on `inv.cmd.>` (topology-security.ts).
 */
const remote = (region: string, hubLeafPort: number, creds?: TopologyCredentials): string => {
  if (!creds) return `{ url: "nats-leaf://127.0.0.1:${hubLeafPort}" }`;
  const leaf = creds.leaf(region);
  const url = `nats-leaf://${encodeURIComponent(leaf.user)}:${encodeURIComponent(leaf.password)}@127.0.0.1:${hubLeafPort}`;
  const tls = creds.tls ? `, tls: { ca_file: ${q(creds.tls.caFile)} }` : "";
  return `{ url: ${q(url)}, deny_imports: ["inv.req.*"]${tls} }`;
};

// --- topology -------------------------------------------------------------------------------------------

const endpoint = async (dir: string, name: string): Promise<ServerEndpoint> => {
  const port = await getPort({ host: "127.0.0.1" });
  const monitorPort = await getPort({ host: "127.0.0.1" });
  return {
    url: `nats://127.0.0.1:${port}`,
    monitorUrl: `http://127.0.0.1:${monitorPort}`,
    port,
    monitorPort,
    storeDir: path.join(dir, name, "store"),
    logFile: path.join(dir, name, "nats-server.log"),
    domain: name,
  };
};

/** Number of leaf connections a server reports on `/leafz`. */
export const leafConnections = async (monitorUrl: string): Promise<number> => {
  const leafz = (await getJson(`${monitorUrl}/leafz`)) as { leafnodes?: number };
  return leafz.leafnodes ?? 0;
};

export const startTopology = async (opts: TopologyOptions): Promise<Topology> => {
  const regions = opts.regions.map(assertRegionId);
  if (new Set(regions).size !== regions.length)
    throw new Error(`duplicate region ids in ${regions.join(",")}`);
  if (regions.includes(HUB_DOMAIN)) throw new Error(`"${HUB_DOMAIN}" is the hub's domain, not a region id`);
  const log = opts.logger ?? pino({ level: process.env.LOG_LEVEL ?? "silent" });
  const readyTimeoutMs = opts.readyTimeoutMs ?? 20_000;
  const cuttable = opts.cuttableLinks ?? true;

  const base = opts.baseDir ?? tmpdir();
  await mkdir(base, { recursive: true });
  const dir = await mkdtemp(path.join(base, "stockline-nats-"));
  if (!opts.keepData) disposableDirs.add(dir);
  installExitHook();

  const credentials = opts.security
    ? await generateCredentials(dir, HUB_DOMAIN, regions, opts.security)
    : undefined;
  const hubBase = await endpoint(dir, HUB_DOMAIN);
  const hub: HubEndpoint = { ...hubBase, leafPort: await getPort({ host: "127.0.0.1" }) };
  const hubServer = new ServerProcess(HUB_DOMAIN, hub, path.join(dir, HUB_DOMAIN, "nats-server.conf"), log);
  const regionEndpoints: Record<string, ServerEndpoint> = {};
  const regionServers = new Map<string, ServerProcess>();
  const relays = new Map<string, LinkRelay>();

  const serverOf = (region: string): ServerProcess => {
    const s = regionServers.get(region);
    if (!s) throw new Error(`unknown region ${JSON.stringify(region)}; topology has ${regions.join(", ")}`);
    return s;
  };

  /** The hub reaches the region's JetStream API over the leaf link: the path mirrors use. */
  const waitForLink = async (region: string): Promise<void> => {
    const deadline = Date.now() + readyTimeoutMs;
    let lastError: unknown;
    while (Date.now() < deadline) {
      try {
        if ((await leafConnections(serverOf(region).endpoint.monitorUrl)) > 0) {
          const nc = await connect({
            servers: hub.url,
            reconnect: false,
            timeout: 1_000,
            ...natsConnectAuth(credentials?.auth(HUB_DOMAIN, "projector")),
          });
          try {
            const jsm = await jetstreamManager(nc, { domain: region, timeout: 1_000 });
            await jsm.getAccountInfo();
            return;
          } finally {
            await nc.close();
          }
        }
      } catch (err) {
        lastError = err;
      }
      await delay(100);
    }
    throw new Error(`leaf link hub <-> ${region} not up after ${readyTimeoutMs} ms (${String(lastError)})`);
  };

  const linkState = (region: string): LinkState => {
    if (relays.get(region)?.cut) return "cut";
    return hubServer.isRunning && serverOf(region).isRunning ? "up" : "down";
  };

  const waitForLinks = async (): Promise<void> => {
    await Promise.all(regions.filter((r) => linkState(r) === "up").map(waitForLink));
  };

  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await Promise.all([...regionServers.values()].map((s) => s.stop()));
    await hubServer.stop();
    await Promise.all([...relays.values()].map((r) => r.close()));
    if (!opts.keepData) {
      await rm(dir, { recursive: true, force: true });
      disposableDirs.delete(dir);
    }
    log.info({ dir, keepData: !!opts.keepData }, "nats topology stopped");
  };

  try {
    await mkdir(path.dirname(hubServer.configFile), { recursive: true });
    await writeFile(hubServer.configFile, hubConfig(hub, credentials), { mode: 0o600 });
    for (const region of regions) {
      const e = await endpoint(dir, region);
      regionEndpoints[region] = e;
      let dialPort = hub.leafPort;
      if (cuttable) {
        const relay = new LinkRelay(await getPort({ host: "127.0.0.1" }), hub.leafPort);
        await relay.listen();
        relays.set(region, relay);
        dialPort = relay.port;
      }
      const server = new ServerProcess(region, e, path.join(dir, region, "nats-server.conf"), log);
      await mkdir(path.dirname(server.configFile), { recursive: true });
      await writeFile(server.configFile, regionConfig(region, e, dialPort, credentials), { mode: 0o600 });
      regionServers.set(region, server);
    }
    await hubServer.start(readyTimeoutMs);
    await Promise.all([...regionServers.values()].map((s) => s.start(readyTimeoutMs)));
    await waitForLinks();
  } catch (err) {
    await stop();
    throw err;
  }
  log.info(
    { dir, hub: hub.url, regions: Object.fromEntries(regions.map((r) => [r, regionEndpoints[r]?.url])) },
    "nats topology started",
  );

  const requireRelay = (region: string): LinkRelay => {
    serverOf(region);
    const relay = relays.get(region);
    if (!relay) throw new Error("cutLink/restoreLink need a topology started with cuttableLinks: true");
    return relay;
  };

  return {
    dir,
    hub,
    regions: regionEndpoints,
    credentials,
    linkState,
    waitForLinks,
    stop,
    stopRegion: (region, o) => serverOf(region).stop(o),
    startRegion: async (region) => {
      const server = serverOf(region);
      if (!existsSync(server.configFile)) throw new Error(`config of ${region} is gone (topology stopped?)`);
      await server.start(readyTimeoutMs);
      if (linkState(region) === "up") await waitForLink(region);
    },
    cutLink: async (region) => {
      const relay = requireRelay(region);
      relay.cut = true;
      relay.sever();
      const server = serverOf(region);
      const deadline = Date.now() + readyTimeoutMs;
      while (server.isRunning && (await leafConnections(server.endpoint.monitorUrl)) > 0) {
        if (Date.now() > deadline) throw new Error(`leaf link of ${region} still up after cut`);
        await delay(50);
      }
      log.info({ region }, "leaf link cut");
    },
    restoreLink: async (region) => {
      const relay = requireRelay(region);
      relay.cut = false;
      if (linkState(region) === "up") await waitForLink(region);
      log.info({ region }, "leaf link restored");
    },
    stopHub: (o) => hubServer.stop(o),
    startHub: async () => {
      await hubServer.start(readyTimeoutMs);
      await waitForLinks();
    },
  };
};
