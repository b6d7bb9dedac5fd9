/**
 * `stockline up --config <file>`: every part of a deployment on one machine, under one supervisor
 * (issue 10). In managed NATS mode it first starts the topology (services/up/managed-nats.ts); then it
 * starts each part as its own process (`stockline part ...`), stage by stage, each stage once the one
 * before is ready: the regions' nodes, their projectors and the global projector, the ERP simulators,
 * the posting workers and the reconciler, the API. A part that dies is restarted (supervisor.ts);
 * `stop()` stops the parts in reverse order, then NATS.
 *
 * API keys given by `keyEnv` whose variable is not set are generated for this run (random, 32 bytes)
 * and written to `<dataDir>/up/keys.env` (mode 0600): no key of a demo is committed or reused.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { type Logger, pino } from "pino";
import type { DistributorConfig } from "../../infra/config/distributor-config.ts";
import { loadPartConfig, PART_CREDENTIALS_ENV } from "../parts/part-runtime.ts";
import { regionsRoutedTo } from "../parts/posting-targets.ts";
import { type ManagedNats, type PartRole, startManagedNats } from "./managed-nats.ts";
import { type PartSpec, type PartState, Supervisor } from "./supervisor.ts";

export interface UpOptions {
  readonly config: string;
  readonly dataDir?: string;
  /** Lines for a person (what started, where things are). */
  readonly out?: (line: string) => void;
  readonly logger?: Logger;
  /** Supervisor timings (tests shorten the backoff). */
  readonly initialBackoffMs?: number;
  readonly readyTimeoutMs?: number;
  /** Aborted (a signal while starting): what is started is stopped and `startUp` rejects. */
  readonly signal?: AbortSignal;
}

export interface UpRun {
  readonly config: DistributorConfig;
  readonly dataDir: string;
  readonly apiUrl: string | undefined;
  /** `<dataDir>/up/`: config.json, nats.json, keys.env, state.json, credentials/. */
  readonly runDir: string;
  readonly keysFile: string | undefined;
  readonly nats: ManagedNats | undefined;
  readonly supervisor: Supervisor;
  states(): PartState[];
  stop(): Promise<void>;
}

const CLI = fileURLToPath(new URL("../cli.ts", import.meta.url));
/** tsx's loader, resolved from this package (children run the TypeScript sources as this process does). */
const TSX = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;

/** Generates the keys of `keyEnv` variables that are not set; returns them (name -> key). */
const generatedKeys = (d: DistributorConfig, env: NodeJS.ProcessEnv): Record<string, string> => {
  const out: Record<string, string> = {};
  for (const k of d.file.api?.keys ?? [])
    if (k.keyEnv && !env[k.keyEnv]) out[k.keyEnv] = `${k.name}-${randomBytes(32).toString("base64url")}`;
  return out;
};

const stages = (d: DistributorConfig): PartRole[][] => {
  const simulated = new Set((d.file.simulators ?? []).map((s) => s.target));
  const targets = (d.file.postings?.targets ?? []).map((t) => t.id);
  return [
    d.regions.map((region) => ({ kind: "node", region }) as const),
    [...d.regions.map((region) => ({ kind: "projector", region }) as const), { kind: "global" }],
    [...simulated].map(() => ({ kind: "simulator" }) as const),
    [
      ...targets.filter((t) => regionsRoutedTo(d, t).length > 0).map(() => ({ kind: "postings" }) as const),
      ...(targets.length > 0 ? [{ kind: "reconciler" } as const] : []),
    ],
    [{ kind: "api" }],
    (d.file.connectors?.sources.length ?? 0) > 0 ? [{ kind: "connectors" }] : [],
  ];
};

export const startUp = async (o: UpOptions): Promise<UpRun> => {
  const out = o.out ?? (() => {});
  const given = loadPartConfig({ config: o.config, ...(o.dataDir ? { dataDir: o.dataDir } : {}) });
  const managed = (given.file.nats?.mode ?? "managed") === "managed";
  const dataDir = given.dataDir;
  // A managed topology starts empty, so the parts start from nothing too.
  if (managed) rmSync(dataDir, { recursive: true, force: true });
  const runDir = path.join(dataDir, "up");
  mkdirSync(runDir, { recursive: true, mode: 0o700 });
  const log =
    o.logger ??
    pino(
      {
        level: process.env.LOG_LEVEL ?? "info",
        base: { upPid: process.pid },
        timestamp: pino.stdTimeFunctions.isoTime,
      },
      pino.destination({ dest: path.join(dataDir, "logs", "up.log"), mkdir: true, sync: false }),
    );
  out(
    `stockline up: ${given.file.distributor.name} (${given.version}), regions ${given.regions.join(", ")}, data in ${dataDir}`,
  );

  const keys = generatedKeys(given, process.env);
  let keysFile: string | undefined;
  if (Object.keys(keys).length > 0) {
    keysFile = path.join(runDir, "keys.env");
    writeFileSync(
      keysFile,
      Object.entries(keys)
        .map(([k, v]) => `${k}=${v}\n`)
        .join(""),
      { mode: 0o600 },
    );
    out(`API keys of this run (generated): ${keysFile}`);
  }

  let nats: ManagedNats | undefined;
  let configFile = given.source;
  if (managed) {
    nats = await startManagedNats(given, { dir: runDir, logger: log });
    configFile = nats.configFile;
    out(
      `NATS: managed, ${nats.topology.credentials ? "secured (a user per part)" : "open"}; hub ${nats.connection.hub.servers[0]}; connection details in ${nats.connectionFile}`,
    );
  } else {
    out(`NATS: external (${(given.file.nats?.hub?.servers ?? ["nats://127.0.0.1:4222"]).join(", ")})`);
  }

  const supervisor = new Supervisor({
    logDir: path.join(dataDir, "logs"),
    logger: log,
    ...(o.initialBackoffMs ? { initialBackoffMs: o.initialBackoffMs } : {}),
    ...(o.readyTimeoutMs ? { readyTimeoutMs: o.readyTimeoutMs } : {}),
    onChange: (parts) =>
      writeFileSync(
        path.join(runDir, "state.json"),
        `${JSON.stringify({ pid: process.pid, parts }, null, 2)}\n`,
      ),
  });
  const specOf = (role: PartRole, extra: string[], name: string): PartSpec => {
    const creds = nats?.credentialsOf(role);
    return {
      name,
      command: process.execPath,
      args: [
        "--import",
        TSX,
        CLI,
        "part",
        role.kind,
        "--config",
        configFile,
        "--data-dir",
        dataDir,
        ...extra,
      ],
      env: { ...keys, ...(creds ? { [PART_CREDENTIALS_ENV]: creds } : {}) },
    };
  };
  const simulators = (given.file.simulators ?? []).map((s) => s.target);
  const targets = (given.file.postings?.targets ?? [])
    .map((t) => t.id)
    .filter((t) => regionsRoutedTo(given, t).length > 0);

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      await supervisor.stop();
      await nats?.topology.stop();
      log.info("stockline up stopped");
    })());
  const onAbort = () => void stop();
  o.signal?.addEventListener("abort", onAbort, { once: true });
  try {
    for (const stage of stages(given)) {
      if (o.signal?.aborted) throw new Error("stopped while starting");
      let sim = 0;
      let post = 0;
      const specs = stage.map((role) => {
        if ("region" in role) return specOf(role, ["--region", role.region], `${role.kind}-${role.region}`);
        if (role.kind === "simulator") {
          const t = simulators[sim++]!;
          return specOf(role, ["--target", t], `simulator-${t}`);
        }
        if (role.kind === "postings") {
          const t = targets[post++]!;
          return specOf(role, ["--target", t], `postings-${t}`);
        }
        return specOf(role, [], role.kind);
      });
      const ready = await Promise.all(specs.map((s) => supervisor.start(s)));
      for (const p of ready)
        out(`  ready  ${p.name.padEnd(22)} pid ${p.pid}${p.info?.url ? `  ${String(p.info.url)}` : ""}`);
    }
  } catch (err) {
    await stop();
    throw err;
  } finally {
    o.signal?.removeEventListener("abort", onAbort);
  }
  const apiUrl = supervisor.states().find((p) => p.name === "api")?.info?.url as string | undefined;
  out(`API: ${apiUrl} (OpenAPI ${apiUrl}/openapi.json); logs in ${path.join(dataDir, "logs")}`);
  return {
    config: given,
    dataDir,
    apiUrl,
    runDir,
    keysFile,
    nats,
    supervisor,
    states: () => supervisor.states(),
    stop,
  };
};
