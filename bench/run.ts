/**
 * `make bench`: one run measuring the regional node end to end (issues 3, 13), its ceiling (the null
 * pipeline) and a peer (Emmett over PostgreSQL), and the ATP read models and API (issue 4) on real
 * nats-server processes and the machine's PostgreSQL; writes `bench/results/latest.json` and
 * `latest.svg`.
 *
 * Processes: a topology (hub + one region, real nats-server, leaf link direct, no relay in this
 * process), the regional node in a child, the projectors + API + a bare fastify server in another
 * child, the null pipeline, the node on PostgreSQL (then two of them), the Emmett peer and the
 * read-model memory probe each in a child of its own; this process publishes, observes and measures.
 *
 * Phases (sizes from the environment, see bench/README.md):
 *  1. raw JetStream publish baseline (before the node runs);
 *  2. e2e max throughput: commands published as fast as the window allows to `INV_CMD_<R>`, until the
 *     last event is in `INV_EVT_<R>` (the projectors are not running yet: this measures the node);
 *     2b. the hot-SKU workload through the same node; 2c. the null pipeline (NATS hops only);
 *  3. raw JetStream publish baseline again (after), and raw SQLite batched append (FULL);
 *  4. projectors and API start and catch up; then fixed offered loads (half the e2e maximum, 1000/s,
 *     default 5k/s): publish -> event in INV_EVT (e2e p50/p99), -> regional ATP KV entry, -> global;
 *  5. HTTP: autocannon against `GET /v1/availability/:sku` and against a bare fastify route;
 *  6. the e2e workload through a node on the PostgreSQL event store;
 *     6b. the same through the region on two node processes sharing that store (partitioned by location);
 *  7. the peer: Emmett's CommandHandler over PostgreSQL, uniform and hot workloads;
 *  8. memory of the regional read model holding 1M positions (child process).
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import autocannon from "autocannon";
import { measureRawSqliteAppend } from "../infra/event-store/raw-sqlite-baseline.ts";
import { connectNats, drainAndClose } from "../infra/nats/connection.ts";
import { measureRawJetStreamPublish } from "../infra/nats/pipelined-publisher.ts";
import { ensureRegionStreams, ensureStream, regionStreamConfigs } from "../infra/nats/streams.ts";
import { atpBucketName, dlqStreamName } from "../infra/nats/subjects.ts";
import { HUB_DOMAIN, NATS_SERVER_BIN, startTopology, type Topology } from "../infra/nats/topology.ts";
import { GLOBAL_ATP_BUCKET } from "../projections/atp-keys.ts";
import { renderBenchChart } from "./bench-chart.ts";
import { type ChildHandle, forkChild } from "./child-process.ts";
import { type CpuProfileSummary, summarizeCpuProfile } from "./cpu-profile-summary.ts";
import { measureEmmett } from "./emmett-phase.ts";
import {
  CpuMeter,
  natsServerPid,
  natsServerVersion,
  percentile,
  round,
  sleep,
  waitUntil,
} from "./measure.ts";
import { measureNullPipeline } from "./null-pipeline-phase.ts";
import {
  CommandLedger,
  EventObserver,
  globalRevisions,
  KvRevisionTracker,
  matchRevisionLatencies,
  regionalRevisions,
} from "./observers.ts";
import { type LeaseShares, partitionedNodeConfig, waitForLeaseShares } from "./partitioned-nodes.ts";
import { DEFAULT_BENCH_POSTGRES_URL, postgresUnreachable, withFreshDatabase } from "./postgres-bench-db.ts";
import { publishCommands } from "./publish-commands.ts";
import { averageBytes, type BenchCommand, Workload } from "./workload.ts";

const here = path.dirname(fileURLToPath(import.meta.url));
/** Region of the node on PostgreSQL (its own streams on the bench's server); as long as the bench's. */
const PG_REGION = "pg";
/** Region of the two node processes on PostgreSQL (phase 6b); as long as the others. */
const PG2_REGION = "p2";

// --- parameters --------------------------------------------------------------------------------------

const envNumber = (name: string, fallback: number): number => {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === "") return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name}=${raw}: expected a positive number`);
  return n;
};

export const benchParams = () => {
  const scale = envNumber("BENCH_SCALE", 1);
  const scaled = (name: string, full: number, min: number) =>
    Math.max(min, Math.round(envNumber(name, full * scale)));
  return {
    scale,
    region: "eu",
    positions: scaled("BENCH_POSITIONS", 3000, 30),
    e2eCommands: scaled("BENCH_E2E_COMMANDS", 60_000, 300),
    rawMessages: scaled("BENCH_RAW_MESSAGES", 60_000, 300),
    sqliteRows: scaled("BENCH_SQLITE_ROWS", 100_000, 1000),
    sqliteBatch: Math.round(envNumber("BENCH_SQLITE_BATCH", 1000)),
    publishWindow: Math.round(envNumber("BENCH_WINDOW", 1024)),
    rate: Math.round(envNumber("BENCH_RATE", 5000)),
    latencySeconds: Math.max(1, envNumber("BENCH_LATENCY_SECONDS", 15 * scale)),
    httpSeconds: Math.max(1, Math.round(envNumber("BENCH_HTTP_SECONDS", 10 * scale))),
    httpConnections: Math.round(envNumber("BENCH_HTTP_CONNECTIONS", 10)),
    // Not scaled: loading 1M positions takes a few seconds, and the figure is only meaningful at 1M.
    readModelPositions: Math.round(envNumber("BENCH_READ_MODEL_POSITIONS", 1_000_000)),
    // The hot-SKU workload (node and peer): few positions, many commands each.
    hotPositions: Math.round(envNumber("BENCH_HOT_POSITIONS", 50)),
    hotCommandsPerPosition: scaled("BENCH_HOT_COMMANDS_PER_POSITION", 400, 10),
    // The peer (Emmett over PostgreSQL) on the uniform workload over `positions`.
    peerCommands: scaled("BENCH_PEER_COMMANDS", 10_000, 300),
    peerInFlight: Math.round(envNumber("BENCH_PEER_IN_FLIGHT", 64)),
    // The offered load the latency targets are stated at (issue 13).
    slaRate: Math.round(envNumber("BENCH_SLA_RATE", 1000)),
    postgresUrl: process.env.BENCH_POSTGRES_URL ?? DEFAULT_BENCH_POSTGRES_URL,
    profile: process.env.BENCH_PROFILE === "1",
    // Only the node's throughput phases (raw publish, e2e, hot, null): a quick check while tuning.
    nodeOnly: process.env.BENCH_NODE_ONLY === "1",
    out: process.env.BENCH_OUT ?? path.join(here, "results", "latest.json"),
  };
};
export type BenchParams = ReturnType<typeof benchParams>;

// Progress on stderr; quiet under vitest (the smoke test).
const log = (msg: string) => {
  if (!process.env.VITEST) process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
};

interface NodeStats {
  committer: { batches: number; items: number; averageBatch: number; commitMs: number };
  storeHead: number;
  relayCheckpoint: number;
  outcomes: Record<string, number>;
  rssMb: number;
  maxRssMb: number;
  cpuUserMs: number;
  cpuSystemMs: number;
}

const dlqCount = async (nc: NatsConnection, region: string): Promise<number> => {
  const jsm = await jetstreamManager(nc);
  return (await jsm.streams.info(dlqStreamName(region))).state.messages;
};

/**
 * The figures of a region's node, or of its nodes (phase 6b) added up: the store head is the highest
 * any of them saw (the PostgreSQL store tells each node of every writer's commits).
 */
const regionStats = async (nodes: readonly ChildHandle[]): Promise<NodeStats> => {
  const all = await Promise.all(nodes.map((n) => n.request<NodeStats>("stats")));
  if (all.length === 1) return all[0]!;
  const sum = (f: (s: NodeStats) => number) => all.reduce((total, s) => total + f(s), 0);
  const max = (f: (s: NodeStats) => number) => Math.max(...all.map(f));
  const outcomes: Record<string, number> = {};
  for (const s of all) for (const [k, v] of Object.entries(s.outcomes)) outcomes[k] = (outcomes[k] ?? 0) + v;
  const batches = sum((s) => s.committer.batches);
  const items = sum((s) => s.committer.items);
  return {
    committer: {
      batches,
      items,
      averageBatch: items / Math.max(1, batches),
      commitMs: sum((s) => s.committer.commitMs),
    },
    storeHead: max((s) => s.storeHead),
    relayCheckpoint: max((s) => s.relayCheckpoint),
    outcomes,
    rssMb: sum((s) => s.rssMb),
    maxRssMb: max((s) => s.maxRssMb),
    cpuUserMs: sum((s) => s.cpuUserMs),
    cpuSystemMs: sum((s) => s.cpuSystemMs),
  };
};

/**
 * Waits until every command in [from, to) has its events in INV_EVT (or is dead-lettered) and the
 * stream holds every event the store committed; returns when the last of them arrived.
 */
const waitForEvents = async (
  nc: NatsConnection,
  region: string,
  nodes: readonly ChildHandle[],
  observer: EventObserver,
  expectedCommands: number,
  timeoutMs: number,
): Promise<{ lastArrival: number; deadLettered: number; stats: NodeStats }> => {
  let deadLettered = 0;
  let lastDlqCheck = 0;
  await waitUntil(
    "every command's events in INV_EVT",
    async () => {
      if (observer.commandsSeen + deadLettered >= expectedCommands) return true;
      if (Date.now() - lastDlqCheck > 500) {
        lastDlqCheck = Date.now();
        deadLettered = await dlqCount(nc, region);
      }
      return false;
    },
    timeoutMs,
  );
  let stats = await regionStats(nodes);
  await waitUntil(
    "INV_EVT to hold every committed event",
    async () => {
      stats = await regionStats(nodes);
      return observer.count >= stats.storeHead;
    },
    timeoutMs,
  );
  return { lastArrival: observer.arrivals.data[stats.storeHead - 1]!, deadLettered, stats };
};

/**
 * One max-throughput measurement through a region's running node(s): `warm` (not measured), then
 * `cmds` published as fast as the window allows; the clock stops when the last committed event is in
 * `INV_EVT_<R>`. `pids` names the nodes `node` (or `node-<id>`: their CPU adds up per command).
 */
const maxThroughput = async (o: {
  nc: NatsConnection;
  region: string;
  nodes: readonly ChildHandle[];
  observer: EventObserver;
  ledger: CommandLedger;
  warm: readonly BenchCommand[];
  cmds: readonly BenchCommand[];
  window: number;
  pids: Record<string, number>;
}): Promise<{ perSecond: number; details: Record<string, unknown>; after: NodeStats }> => {
  const { nc, region, nodes, observer, ledger } = o;
  if (o.warm.length > 0) {
    const seen = observer.commandsSeen;
    await publishCommands(nc, ledger, o.warm, o.window);
    await waitForEvents(nc, region, nodes, observer, seen + o.warm.length, 120_000);
  }
  const from = ledger.size;
  const seenBefore = observer.commandsSeen;
  const cpu = new CpuMeter(o.pids);
  const before = await regionStats(nodes);
  const started = performance.now();
  const pub = await publishCommands(nc, ledger, o.cmds, o.window);
  const done = await waitForEvents(nc, region, nodes, observer, seenBefore + o.cmds.length, 300_000);
  const ms = done.lastArrival - started;
  const after = done.stats;
  const lat = ledger.e2eLatencies(from, ledger.size);
  const cpuMs = cpu.read();
  const nodesCpuMs = Object.entries(cpuMs)
    .filter(([name]) => name === "node" || name.startsWith("node-"))
    .reduce((total, [, ms]) => total + ms, 0);
  return {
    perSecond: Math.round((o.cmds.length / ms) * 1000),
    after,
    details: {
      commands: o.cmds.length,
      events: after.storeHead - before.storeHead,
      eventBytes: Math.round(observer.bytes / Math.max(1, observer.count)),
      deadLettered: done.deadLettered,
      publishMs: round(pub.publishMs, 0),
      totalMs: round(ms, 0),
      saturatedLatencyP50Ms: round(percentile(lat, 50)),
      saturatedLatencyP99Ms: round(percentile(lat, 99)),
      commitBatches: after.committer.batches - before.committer.batches,
      averageCommitBatch: round(
        (after.committer.items - before.committer.items) /
          Math.max(1, after.committer.batches - before.committer.batches),
      ),
      commitMs: after.committer.commitMs - before.committer.commitMs,
      cpuMs,
      cpuUsPerCommand: round((nodesCpuMs * 1000) / o.cmds.length, 0),
      nodeOutcomes: after.outcomes,
    },
  };
};

/**
 * An esbuild bundle of a child (packages left external): V8 profiles of code run through tsx show
 * anonymous functions on line 1, a plain bundle keeps names and lines (see cpu-profile-summary.ts).
 */
const bundleForProfiling = async (entry: string, outDir: string): Promise<string> => {
  const { build } = await import("esbuild");
  const outfile = path.join(outDir, `${path.basename(entry, ".ts")}.mjs`);
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: "node",
    format: "esm",
    packages: "external",
    logLevel: "warning",
  });
  return outfile;
};

// --- HTTP --------------------------------------------------------------------------------------------

interface HttpFigures {
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  non2xx: number;
  errors: number;
}

const runAutocannon = async (
  url: string,
  paths: readonly string[],
  opts: { seconds: number; connections: number; headers?: Record<string, string> },
): Promise<HttpFigures> => {
  let n = 0;
  const result = await autocannon({
    url,
    connections: opts.connections,
    duration: opts.seconds,
    headers: opts.headers ?? {},
    requests: [
      {
        method: "GET",
        setupRequest: (req) => ({ ...req, path: paths[n++ % paths.length]! }),
      },
    ],
  });
  return {
    perSecond: Math.round(result["2xx"] / result.duration),
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
  };
};

const profileSummaries = async (
  profileDir: string,
  nodeBundle: string,
  workerBundle: string | undefined,
): Promise<Record<string, unknown>> => {
  await sleep(500);
  // CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile: thread 0 is the main thread, the
  // append worker writes its own.
  const files = readdirSync(profileDir)
    .filter((f) => f.endsWith(".cpuprofile"))
    .sort((a, b) => statSync(path.join(profileDir, b)).size - statSync(path.join(profileDir, a)).size);
  const isMain = (f: string) => f.split(".")[4] === "0";
  const summary = (f: string | undefined, note: string, bundle: string | undefined) =>
    f && {
      file: path.relative(process.cwd(), path.join(profileDir, f)),
      note,
      ...summarizeCpuProfile(path.join(profileDir, f), 20, bundle),
    };
  const nodeCpuProfile = summary(
    files.find(isMain),
    "main thread of the node child, whole life (warm-up, e2e, hot SKUs, the fixed loads); idle included",
    nodeBundle,
  );
  const appendWorkerCpuProfile = summary(
    files.find((f) => !isMain(f)),
    "the node's append worker thread (group commits), whole life; idle included",
    workerBundle,
  );
  return { nodeCpuProfile, appendWorkerCpuProfile };
};

// --- the run -----------------------------------------------------------------------------------------

export const runBench = async (params: BenchParams = benchParams()): Promise<Record<string, unknown>> => {
  const p = params;
  const runId = randomBytes(3).toString("hex");
  const tmp = mkdtempSync(path.join(os.tmpdir(), "stockline-bench-"));
  const removeTmp = () => rmSync(tmp, { recursive: true, force: true });
  process.once("exit", removeTmp);
  // Inside the repository: the bundle profiled there resolves its packages from node_modules.
  const profileDir = path.join(here, "results", "profiles");
  const children: ChildHandle[] = [];
  const connections: NatsConnection[] = [];
  let topology: Topology | undefined;
  const loadStart = os.loadavg();
  const startedAt = new Date();
  const figures: Record<string, number> = {};
  const details: Record<string, unknown> = {};
  try {
    log(`params ${JSON.stringify(p)}`);
    topology = await startTopology({ regions: [p.region], cuttableLinks: false, baseDir: tmp });
    const regionUrl = topology.regions[p.region]!.url;
    const hubUrl = topology.hub.url;
    const regionNc = await connectNats({ servers: regionUrl, name: "bench-main" });
    const hubNc = await connectNats({ servers: hubUrl, name: "bench-main-hub" });
    connections.push(regionNc, hubNc);
    const jsm = await jetstreamManager(regionNc);
    await ensureRegionStreams(jsm, p.region);
    // Same configuration as INV_CMD_<R> (file storage, dedup window), its own subjects.
    const cmdConfig = regionStreamConfigs(p.region).cmd;
    await ensureStream(jsm, { ...cmdConfig, name: "BENCH_RAW", subjects: ["bench.raw.>"] });
    const natsPids: Record<string, number> = {};
    for (const domain of [HUB_DOMAIN, p.region]) {
      const pid = natsServerPid(path.join(topology.dir, domain, "nats-server.conf"));
      if (pid !== undefined) natsPids[`nats-${domain}`] = pid;
    }

    const workload = new Workload(p.region, p.positions, runId);
    const ledger = new CommandLedger();
    const warmCmds = workload.take(Math.min(2000, Math.ceil(p.e2eCommands / 10)));
    const e2eCmds = workload.take(p.e2eCommands);
    const commandBytes = averageBytes(e2eCmds);
    details.commandBytes = commandBytes;

    // 1. raw JetStream publish, before (after a short warm-up: JIT, stream files)
    await measureRawJetStreamPublish({
      nc: regionNc,
      subject: "bench.raw.warmup",
      count: Math.min(2000, p.rawMessages),
      payloadBytes: commandBytes,
      window: p.publishWindow,
      msgIdPrefix: `raw-${runId}-w`,
    });
    log(`raw JetStream publish: ${p.rawMessages} x ${commandBytes} B, window ${p.publishWindow}`);
    const rawBefore = await measureRawJetStreamPublish({
      nc: regionNc,
      subject: "bench.raw.before",
      count: p.rawMessages,
      payloadBytes: commandBytes,
      window: p.publishWindow,
      msgIdPrefix: `raw-${runId}-a`,
    });

    // 2. e2e max throughput
    const nodeDir = path.join(tmp, "node");
    let nodeBundle: string | undefined;
    let workerBundle: string | undefined;
    if (p.profile) {
      rmSync(profileDir, { recursive: true, force: true });
      mkdirSync(profileDir, { recursive: true });
      nodeBundle = await bundleForProfiling(path.join(here, "node-child.ts"), profileDir);
      // Beside the node's bundle, where WorkerAppendStore looks for it: commits stay in their worker
      // thread as in the normal configuration (and that thread writes its own profile).
      workerBundle = await bundleForProfiling(
        path.join(here, "..", "services", "regional-node", "append-worker.ts"),
        profileDir,
      );
    }
    const node = nodeBundle
      ? forkChild(nodeBundle, { tsx: false, execArgv: ["--cpu-prof", "--cpu-prof-dir", profileDir] })
      : forkChild(path.join(here, "node-child.ts"));
    children.push(node);
    await node.request("start", {
      region: p.region,
      dataDir: nodeDir,
      nats: { servers: [regionUrl], name: "bench-node" },
      http: { enabled: false },
      store: { kind: "sqlite", synchronous: "FULL" },
    });
    const observer = new EventObserver(regionNc, p.region, ledger);
    await observer.start();
    log(`e2e max throughput: ${p.e2eCommands} commands over ${p.positions} positions`);
    const nodePids = { node: node.pid, bench: process.pid, ...natsPids };
    // Warm-up (JIT, first actors, SQLite pages) not measured.
    const e2e = await maxThroughput({
      nc: regionNc,
      region: p.region,
      nodes: [node],
      observer,
      ledger,
      warm: warmCmds,
      cmds: e2eCmds,
      window: p.publishWindow,
      pids: nodePids,
    });
    figures.e2e_commands_per_s = e2e.perSecond;
    details.e2e = e2e.details;
    figures.cpu_us_per_command = e2e.details.cpuUsPerCommand as number;
    const after = e2e.after;
    figures.rss_mb = round(after.maxRssMb);

    // 2b. the hot-SKU workload through the same node (no warm-up: the node is warm)
    const hotCount = p.hotPositions * p.hotCommandsPerPosition;
    log(`e2e hot SKUs: ${hotCount} commands over ${p.hotPositions} positions`);
    const hotWorkload = new Workload(p.region, p.hotPositions, `${runId}h`);
    const hot = await maxThroughput({
      nc: regionNc,
      region: p.region,
      nodes: [node],
      observer,
      ledger,
      warm: [],
      cmds: hotWorkload.take(hotCount),
      window: p.publishWindow,
      pids: nodePids,
    });
    figures.e2e_commands_per_s_hot = hot.perSecond;
    details.e2eHot = { positions: p.hotPositions, ...hot.details };

    // 2c. the null pipeline: the same commands' NATS hops and nothing else, in a child like the node
    log(`null pipeline: ${p.e2eCommands} commands through NATS hops only`);
    const nullPipeline = await measureNullPipeline({
      nc: regionNc,
      serverUrl: regionUrl,
      positions: p.positions,
      runId,
      commands: p.e2eCommands,
      warmup: warmCmds.length,
      publishWindow: p.publishWindow,
      eventBytes: (details.e2e as { eventBytes: number }).eventBytes,
      natsPids,
    });
    figures.null_pipeline_per_s = nullPipeline.perSecond;
    details.nullPipeline = nullPipeline;
    if (p.nodeOnly) {
      await node.stop();
      if (nodeBundle) Object.assign(details, await profileSummaries(profileDir, nodeBundle, workerBundle));
      figures.e2e_vs_null = round(figures.e2e_commands_per_s / figures.null_pipeline_per_s, 2);
      return { ...figures, nodeOnly: true, context: { date: startedAt.toISOString(), params: p }, details };
    }

    // 3. raw baselines after
    log("raw JetStream publish again, raw SQLite append");
    const rawAfter = await measureRawJetStreamPublish({
      nc: regionNc,
      subject: "bench.raw.after",
      count: p.rawMessages,
      payloadBytes: commandBytes,
      window: p.publishWindow,
      msgIdPrefix: `raw-${runId}-b`,
    });
    // Conservative for the ratio: the better of the two baselines.
    figures.raw_js_publish_per_s = Math.max(rawBefore.perSecond, rawAfter.perSecond);
    details.rawJsPublish = {
      before: rawBefore.perSecond,
      after: rawAfter.perSecond,
      window: p.publishWindow,
    };
    const eventBytes = (details.e2e as { eventBytes: number }).eventBytes;
    const rawSqlite = await measureRawSqliteAppend({
      path: path.join(tmp, "raw-sqlite.db"),
      events: p.sqliteRows,
      batchSize: p.sqliteBatch,
      payloadBytes: eventBytes,
      synchronous: "FULL",
    });
    figures.raw_sqlite_append_per_s = rawSqlite.perSecond;
    details.rawSqlite = { rows: p.sqliteRows, batch: p.sqliteBatch, payloadBytes: eventBytes };

    // 4. projectors, API; fixed offered load
    log("projectors and API: start and catch up");
    const regional = new KvRevisionTracker(regionNc, p.region, atpBucketName(p.region), regionalRevisions);
    const global = new KvRevisionTracker(hubNc, HUB_DOMAIN, GLOBAL_ATP_BUCKET, globalRevisions(p.region));
    await regional.start();
    await global.start();
    const services = forkChild(path.join(here, "services-child.ts"));
    children.push(services);
    const apiKey = `bench-${runId}-${randomBytes(24).toString("base64url")}`;
    const urls = await services.request<{ apiUrl: string; bareUrl: string }>("start", {
      region: p.region,
      regionUrl,
      hubUrl,
      storePath: path.join(nodeDir, "events.db"),
      dataDir: path.join(tmp, "services"),
      apiKey,
    });
    const catchUpStart = performance.now();
    await waitUntil(
      "the projectors to catch up with the e2e phase",
      () => regional.caughtUpWith(observer.maxRevision) && global.caughtUpWith(observer.maxRevision),
      300_000,
    );
    details.projectorCatchUp = {
      events: observer.count,
      ms: round(performance.now() - catchUpStart, 0),
    };

    const fixedLoad = async (rate: number, seconds: number) => {
      const count = Math.max(1, Math.round(rate * seconds));
      log(`fixed load: ${rate} commands/s for ${seconds} s (${count} commands)`);
      const cmds = workload.take(count);
      const from = ledger.size;
      const seenBefore = observer.commandsSeen;
      const meter = new CpuMeter({ node: node.pid, services: services.pid, bench: process.pid, ...natsPids });
      const startAt = performance.now() + 20;
      const pub = await publishCommands(
        regionNc,
        ledger,
        cmds,
        p.publishWindow,
        (i) => startAt + (i * 1000) / rate,
      );
      const to = ledger.size;
      const done = await waitForEvents(
        regionNc,
        p.region,
        [node],
        observer,
        seenBefore + cmds.length,
        300_000,
      );
      const target = new Map<string, number>();
      for (let i = from; i < to; i++) {
        const key = ledger.position[i];
        const rev = ledger.lastRevision[i];
        if (key !== undefined && rev !== undefined && (target.get(key) ?? -1) < rev) target.set(key, rev);
      }
      await waitUntil(
        "regional and global ATP to show the fixed-load commands",
        () => regional.caughtUpWith(target) && global.caughtUpWith(target),
        300_000,
      ).catch((err: unknown) => log(String(err)));
      const lat = ledger.e2eLatencies(from, to);
      const reg = matchRevisionLatencies(ledger, regional, from, to);
      const glo = matchRevisionLatencies(ledger, global, from, to);
      return {
        offeredPerS: rate,
        seconds,
        achievedPublishPerS: Math.round((cmds.length / pub.publishMs) * 1000),
        commands: cmds.length,
        withEvent: lat.length,
        deadLettered: done.deadLettered,
        e2eP50Ms: round(percentile(lat, 50)),
        e2eP99Ms: round(percentile(lat, 99)),
        e2eMaxMs: round(percentile(lat, 100)),
        regionalP50Ms: round(percentile(reg.latencies, 50)),
        regionalP99Ms: round(percentile(reg.latencies, 99)),
        globalP50Ms: round(percentile(glo.latencies, 50)),
        globalP99Ms: round(percentile(glo.latencies, 99)),
        regionalMissing: reg.missing,
        globalMissing: glo.missing,
        cpuMs: meter.read(),
      };
    };
    // A load the node sustains (half its measured maximum): the pipeline's own latency, no backlog.
    const halfRate = Math.max(50, Math.round(figures.e2e_commands_per_s! / 2));
    const half = await fixedLoad(halfRate, Math.max(1, p.latencySeconds / 2));
    // The load the latency targets are stated at (1000 commands/s).
    const sla = await fixedLoad(p.slaRate, p.latencySeconds);
    figures.sla_rate_per_s = p.slaRate;
    figures.e2e_p99_ms_at_1000_per_s = sla.e2eP99Ms;
    figures.regional_atp_p99_ms_at_1000_per_s = sla.regionalP99Ms;
    figures.global_atp_p99_ms_at_1000_per_s = sla.globalP99Ms;
    details.slaLoad = sla;
    // The load the issues name (default 5k/s): above the node's maximum, latencies are queueing.
    const main = await fixedLoad(p.rate, p.latencySeconds);
    figures.e2e_p50_ms = main.e2eP50Ms;
    figures.e2e_p99_ms = main.e2eP99Ms;
    figures.regional_atp_p50_ms = main.regionalP50Ms;
    figures.regional_atp_p99_ms = main.regionalP99Ms;
    figures.global_atp_p50_ms = main.globalP50Ms;
    figures.global_atp_p99_ms = main.globalP99Ms;
    figures.half_max_rate_per_s = halfRate;
    figures.e2e_p99_ms_at_half_max = half.e2eP99Ms;
    figures.regional_atp_p99_ms_at_half_max = half.regionalP99Ms;
    figures.global_atp_p99_ms_at_half_max = half.globalP99Ms;
    details.fixedLoad = main;
    details.halfMaxLoad = half;
    details.kvEntriesSeen = { regional: regional.entries, global: global.entries };
    await regional.stop();
    await global.stop();

    // 5. HTTP
    const skuPaths = workload.skus.map((s) => `/v1/availability/${encodeURIComponent(s)}`);
    const sample = await fetch(`${urls.apiUrl}${skuPaths[0]}`, { headers: { "x-api-key": apiKey } });
    if (!sample.ok) throw new Error(`availability answered ${sample.status}: ${await sample.text()}`);
    const body = await sample.text();
    await services.request("setBareBody", body);
    const barePaths = workload.skus.map((s) => `/bare/${encodeURIComponent(s)}`);
    const http = { seconds: p.httpSeconds, connections: p.httpConnections };
    log(
      `HTTP: autocannon ${p.httpConnections} connections, ${p.httpSeconds} s per route (after 1 s warm-up each)`,
    );
    await runAutocannon(urls.bareUrl, barePaths, { ...http, seconds: 1 });
    await runAutocannon(urls.apiUrl, skuPaths, { ...http, seconds: 1, headers: { "x-api-key": apiKey } });
    const httpMeter = () => new CpuMeter({ server: services.pid, autocannon: process.pid });
    const bareMeter = httpMeter();
    const bare = { ...(await runAutocannon(urls.bareUrl, barePaths, http)), cpuMs: bareMeter.read() };
    const atpMeter = httpMeter();
    const atp = {
      ...(await runAutocannon(urls.apiUrl, skuPaths, { ...http, headers: { "x-api-key": apiKey } })),
      cpuMs: atpMeter.read(),
    };
    figures.atp_query_per_s = atp.perSecond;
    figures.atp_query_p99_ms = atp.p99Ms;
    figures.bare_route_per_s = bare.perSecond;
    details.http = { responseBytes: Buffer.byteLength(body), connections: p.httpConnections, atp, bare };

    const servicesStats = await services.request<Record<string, unknown>>("stats");
    details.services = servicesStats;
    await services.stop();
    const nodeFinal = await node.request<NodeStats>("stats");
    details.nodeFinal = { maxRssMb: round(nodeFinal.maxRssMb), committer: nodeFinal.committer };
    await node.stop();

    // 6. the same e2e workload with the node on the PostgreSQL event store (a node of its own region's
    //    streams on the same server, so its events never meet the SQLite node's), then the peer
    const pgReason = await postgresUnreachable(p.postgresUrl);
    /**
     * The phase-2 workload (same count, warm-up, window, clock) through region `region` on a fresh
     * PostgreSQL database: one node, or (`nodeIds`) one process per id, partitioned by location, the
     * clock started once the leases have settled. The nodes stop before the database is dropped.
     */
    const e2eOnPostgres = (o: {
      region: string;
      database: string;
      workloadId: string;
      nodeIds?: readonly string[];
    }) =>
      withFreshDatabase(p.postgresUrl, `stockline_bench_${runId}_${o.database}`, log, async (pgUrl) => {
        const pgWorkload = new Workload(o.region, p.positions, o.workloadId);
        const nodeIds = o.nodeIds ?? [];
        const nodes = (nodeIds.length > 0 ? nodeIds : ["node"]).map(() =>
          forkChild(path.join(here, "node-child.ts")),
        );
        children.push(...nodes);
        try {
          const dataDir = path.join(tmp, `node-${o.region}`);
          let leases: { shares: LeaseShares; settleMs: number } | undefined;
          if (nodeIds.length === 0)
            await nodes[0]!.request("start", {
              region: o.region,
              dataDir,
              nats: { servers: [regionUrl], name: "bench-node-pg" },
              http: { enabled: false },
              store: { kind: "postgres", url: pgUrl, schema: "stockline_bench" },
            });
          else {
            const settleStart = performance.now();
            // One after the other, as nodes are added to a region (the scale-out tests do the same).
            for (const [i, nodeId] of nodeIds.entries())
              await nodes[i]!.request(
                "start",
                partitionedNodeConfig({
                  region: o.region,
                  nodeId,
                  dataDir,
                  servers: [regionUrl],
                  pgUrl,
                  schema: "stockline_bench",
                  locations: pgWorkload.locations,
                }),
              );
            const shares = await waitForLeaseShares(
              regionNc,
              o.region,
              nodeIds,
              pgWorkload.locations,
              60_000,
            );
            leases = { shares, settleMs: round(performance.now() - settleStart, 0) };
            log(`leases settled in ${leases.settleMs} ms: ${JSON.stringify(shares)}`);
          }
          const pgLedger = new CommandLedger();
          const pgObserver = new EventObserver(regionNc, o.region, pgLedger);
          await pgObserver.start();
          const pids: Record<string, number> =
            nodeIds.length === 0
              ? { node: nodes[0]!.pid }
              : Object.fromEntries(nodeIds.map((id, i) => [`node-${id}`, nodes[i]!.pid]));
          const run = await maxThroughput({
            nc: regionNc,
            region: o.region,
            nodes,
            observer: pgObserver,
            ledger: pgLedger,
            warm: pgWorkload.take(warmCmds.length),
            cmds: pgWorkload.take(p.e2eCommands),
            window: p.publishWindow,
            pids: { ...pids, bench: process.pid, ...natsPids },
          });
          await pgObserver.stop();
          if (nodeIds.length === 0) return { region: o.region, ...run };
          // Warm-up included: how the work was split between the nodes.
          const perNode = await Promise.all(nodes.map((n) => n.request<NodeStats>("stats")));
          const nodeOutcomesByNode = Object.fromEntries(nodeIds.map((id, i) => [id, perNode[i]!.outcomes]));
          return { region: o.region, ...run, leases, nodeOutcomesByNode };
        } finally {
          // WITH (FORCE) would end their connections under them.
          await Promise.all(nodes.map((n) => n.stop()));
        }
      });

    // 6. the same e2e workload with the node on the PostgreSQL event store (a node of its own region's
    //    streams on the same server, so its events never meet the SQLite node's)
    // 6b. the same again through the region on two node processes sharing one PostgreSQL store
    if (pgReason) {
      log(`skipping the PostgreSQL phases: ${pgReason}`);
      details.e2ePostgres = { skipped: pgReason };
      details.e2ePostgres2Nodes = { skipped: pgReason };
    } else {
      log(`e2e on PostgreSQL: ${p.e2eCommands} commands over ${p.positions} positions`);
      const one = await e2eOnPostgres({ region: PG_REGION, database: "node", workloadId: `${runId}p` });
      figures.e2e_commands_per_s_postgres = one.perSecond;
      details.e2ePostgres = { region: one.region, ...one.details };
      log(`e2e on PostgreSQL, 2 node processes: ${p.e2eCommands} commands over ${p.positions} positions`);
      const two = await e2eOnPostgres({
        region: PG2_REGION,
        database: "nodes2",
        workloadId: `${runId}q`,
        nodeIds: ["n1", "n2"],
      });
      figures.e2e_commands_per_s_postgres_2_nodes = two.perSecond;
      details.e2ePostgres2Nodes = {
        region: two.region,
        nodes: 2,
        ...("leases" in two ? { leases: two.leases, nodeOutcomesByNode: two.nodeOutcomesByNode } : {}),
        ...two.details,
      };
    }
    const peer = await measureEmmett({
      adminUrl: p.postgresUrl,
      region: p.region,
      runId,
      inFlight: p.peerInFlight,
      uniform: { positions: p.positions, commands: p.peerCommands, warmup: Math.min(500, p.peerCommands) },
      hot: { positions: p.hotPositions, commands: hotCount, warmup: 0 },
      log,
    });
    if ("skipped" in peer) log(`skipping the Emmett peer: ${peer.skipped}`);
    else {
      figures.peer_emmett_pg_commands_per_s = peer.uniform.perSecond;
      figures.peer_emmett_pg_commands_per_s_hot = peer.hot.perSecond;
    }
    details.peerEmmett = peer;

    // 8. read model memory
    log(`read model memory: ${p.readModelPositions} positions in a child process`);
    const memChild = forkChild(path.join(here, "read-model-memory-child.ts"), { execArgv: ["--expose-gc"] });
    children.push(memChild);
    const mem = await memChild.request<{
      positions: number;
      loadMs: number;
      rssBeforeMb: number;
      rssAfterMb: number;
      heapAfterMb: number;
      maxRssMb: number;
    }>("load", { positions: p.readModelPositions, region: p.region }, 600_000);
    await memChild.stop();
    // Measured at 1M unless the run was scaled down; then the model's own growth is scaled to 1M.
    const perPosition = (mem.rssAfterMb - mem.rssBeforeMb) / mem.positions;
    figures.rss_1m_positions_mb = round(
      mem.positions === 1_000_000 ? mem.rssAfterMb : mem.rssBeforeMb + perPosition * 1_000_000,
    );
    details.readModelMemory = {
      ...Object.fromEntries(Object.entries(mem).map(([k, v]) => [k, round(v)])),
      bytesPerPosition: round(perPosition * 1e6, 0),
      extrapolatedTo1M: mem.positions !== 1_000_000,
    };

    if (nodeBundle) Object.assign(details, await profileSummaries(profileDir, nodeBundle, workerBundle));
  } finally {
    for (const c of children.reverse()) await c.stop(10_000).catch(() => {});
    for (const nc of connections) await drainAndClose(nc, 2_000).catch(() => {});
    await topology?.stop().catch(() => {});
    removeTmp();
    process.removeListener("exit", removeTmp);
  }

  figures.e2e_vs_raw_js = round(figures.e2e_commands_per_s! / figures.raw_js_publish_per_s!, 2);
  figures.e2e_vs_null = round(figures.e2e_commands_per_s! / figures.null_pipeline_per_s!, 2);
  const ratio = (a: number | undefined, b: number | undefined) =>
    a === undefined || b === undefined ? null : round(a / b, 2);
  const vsEmmett = ratio(figures.e2e_commands_per_s, figures.peer_emmett_pg_commands_per_s);
  const vsEmmettHot = ratio(figures.e2e_commands_per_s_hot, figures.peer_emmett_pg_commands_per_s_hot);
  const peerSkipped = (details.peerEmmett as { skipped?: string }).skipped;
  const pgSkipped = (details.e2ePostgres as { skipped?: string }).skipped;
  const scaleOut = ratio(figures.e2e_commands_per_s_postgres_2_nodes, figures.e2e_commands_per_s_postgres);
  figures.atp_query_vs_bare = round(figures.atp_query_per_s! / figures.bare_route_per_s!, 2);
  const check = (value: number, op: "<" | "<=" | ">=", limit: number) => ({
    value,
    target: `${op} ${limit}`,
    pass: op === "<" ? value < limit : op === "<=" ? value <= limit : value >= limit,
  });
  const notMeasured = (target: string, reason: string | undefined) => ({
    value: null,
    target,
    pass: null,
    reason: reason ?? "not measured",
  });
  const targets = {
    e2e_vs_raw_js: check(figures.e2e_vs_raw_js, ">=", 1.0),
    e2e_vs_null: check(figures.e2e_vs_null, ">=", 0.6),
    e2e_vs_emmett: vsEmmett === null ? notMeasured(">= 5", peerSkipped) : check(vsEmmett, ">=", 5),
    e2e_vs_emmett_hot: vsEmmettHot === null ? notMeasured(">= 5", peerSkipped) : check(vsEmmettHot, ">=", 5),
    regional_atp_p99_ms_at_1000_per_s: check(figures.regional_atp_p99_ms_at_1000_per_s!, "<", 50),
    global_atp_p99_ms_at_1000_per_s: check(figures.global_atp_p99_ms_at_1000_per_s!, "<", 250),
    regional_atp_p99_ms: check(figures.regional_atp_p99_ms!, "<", 50),
    global_atp_p99_ms: check(figures.global_atp_p99_ms!, "<", 250),
    atp_query_vs_bare: check(figures.atp_query_vs_bare, ">=", 0.5),
    atp_query_p99_ms: check(figures.atp_query_p99_ms!, "<", 5),
    rss_1m_positions_mb: check(figures.rss_1m_positions_mb!, "<=", 1000),
  };
  return {
    ...figures,
    // null (with the reason in `skipped`) when PostgreSQL was not reachable
    e2e_commands_per_s_postgres: figures.e2e_commands_per_s_postgres ?? null,
    e2e_commands_per_s_postgres_2_nodes: figures.e2e_commands_per_s_postgres_2_nodes ?? null,
    scale_out_2_nodes_vs_1: scaleOut,
    peer_emmett_pg_commands_per_s: figures.peer_emmett_pg_commands_per_s ?? null,
    peer_emmett_pg_commands_per_s_hot: figures.peer_emmett_pg_commands_per_s_hot ?? null,
    e2e_vs_emmett: vsEmmett,
    e2e_vs_emmett_hot: vsEmmettHot,
    skipped: {
      ...(pgSkipped
        ? {
            e2e_commands_per_s_postgres: pgSkipped,
            e2e_commands_per_s_postgres_2_nodes: pgSkipped,
            scale_out_2_nodes_vs_1: pgSkipped,
          }
        : {}),
      ...(peerSkipped
        ? {
            peer_emmett_pg_commands_per_s: peerSkipped,
            peer_emmett_pg_commands_per_s_hot: peerSkipped,
          }
        : {}),
    },
    targets,
    context: {
      date: startedAt.toISOString(),
      durationS: round((Date.now() - startedAt.getTime()) / 1000),
      node: process.version,
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model,
      loadAvgStart: loadStart.map((l) => round(l, 2)),
      loadAvgEnd: os.loadavg().map((l) => round(l, 2)),
      natsServer: natsServerVersion(NATS_SERVER_BIN),
      params: p,
    },
    details,
  };
};

const printTable = (r: Record<string, unknown>) => {
  const targets = (r.targets ?? {}) as Record<string, { target: string; pass: boolean | null }>;
  const skipped = (r.skipped ?? {}) as Record<string, string>;
  const rows = Object.entries(r)
    .filter(([, v]) => typeof v === "number" || v === null)
    .map(([metric, value]) => ({
      metric,
      value: value ?? "skipped",
      target: targets[metric]?.target ?? "",
      pass: targets[metric]
        ? targets[metric].pass === null
          ? "-"
          : targets[metric].pass
            ? "yes"
            : "NO"
        : "",
    }));
  console.table(rows);
  for (const [metric, reason] of Object.entries(skipped)) console.log(`${metric} skipped: ${reason}`);
};

/** With BENCH_PROFILE=1: where the node's CPU went (main thread and append worker), by stage. */
const printProfiles = (r: Record<string, unknown>) => {
  const details = r.details as Record<
    string,
    (CpuProfileSummary & { file: string; note: string }) | undefined
  >;
  for (const key of ["nodeCpuProfile", "appendWorkerCpuProfile"]) {
    const s = details[key];
    if (!s) continue;
    console.log(`\n${key}: ${s.note} (${s.file}), ${s.totalMs} ms sampled`);
    console.table(
      Object.entries(s.byCategory).map(([stage, ms]) => ({
        stage,
        ms,
        share: `${round((100 * ms) / Math.max(1, s.totalMs))} %`,
      })),
    );
    console.table(s.topFunctions.slice(0, 12));
  }
};

const isMain =
  process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  const params = benchParams();
  const stop = () => {
    log("interrupted");
    process.exit(130);
  };
  process.once("SIGINT", stop);
  runBench(params).then(
    async (result) => {
      mkdirSync(path.dirname(params.out), { recursive: true });
      writeFileSync(params.out, `${JSON.stringify(result, null, 2)}\n`);
      printProfiles(result);
      printTable(result);
      if (params.nodeOnly) {
        console.log(`written to ${path.relative(process.cwd(), params.out)} (node phases only)`);
        process.exit(0);
      }
      const svg = `${params.out.replace(/\.json$/, "")}.svg`;
      writeFileSync(svg, await renderBenchChart(result));
      console.log(`chart written to ${path.relative(process.cwd(), svg)}`);
      console.log(`written to ${path.relative(process.cwd(), params.out)}`);
      // nats.js status iterators and autocannon timers may linger; the run is over.
      process.exit(0);
    },
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
