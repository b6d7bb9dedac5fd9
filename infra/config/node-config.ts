/**
 * Configuration of a regional node: a JSON file, then `STOCKLINE_*` environment overrides, then
 * explicit overrides (CLI flags), validated with io-ts. Errors name the field, the value and what
 * was expected, so a typo in a deployment fails at start with a readable message.
 *
 * Environment overrides (all optional):
 *   STOCKLINE_REGION, STOCKLINE_NATS_SERVERS (comma separated), STOCKLINE_DATA_DIR,
 *   STOCKLINE_STORE_KIND (sqlite|eventstoredb|postgres), STOCKLINE_STORE_PATH, STOCKLINE_STORE_SYNCHRONOUS,
 *   STOCKLINE_STORE_URL, STOCKLINE_STORE_SCHEMA, STOCKLINE_HTTP_HOST, STOCKLINE_HTTP_PORT, STOCKLINE_SNAPSHOT_EVERY,
 *   STOCKLINE_ACTOR_CACHE_MAX, STOCKLINE_ACTOR_IDLE_MS, STOCKLINE_PARK_TIMEOUT_MS,
 *   STOCKLINE_COMMIT_MAX_BATCH, STOCKLINE_RELAY_WINDOW, STOCKLINE_STREAM_PREFIX, STOCKLINE_ANCHOR_DIR,
 *   STOCKLINE_ANCHOR_EVERY_MS, STOCKLINE_ANCHOR_KEY_FILE (the anchor key itself: STOCKLINE_ANCHOR_KEY),
 *   STOCKLINE_NATS_USER, STOCKLINE_NATS_PASSWORD_FILE, STOCKLINE_NATS_TOKEN_FILE,
 *   STOCKLINE_NATS_NKEY_SEED_FILE, STOCKLINE_NATS_CREDS_FILE, STOCKLINE_NATS_TLS_{CA,CERT,KEY}_FILE.
 * Numbers from the environment are parsed as JSON numbers; anything else is kept as a string, so that
 * the codec reports it (`"abc"`, expected a positive integer).
 */
import path from "node:path";
import * as E from "fp-ts/lib/Either.js";
import * as t from "io-ts";
import { toDecodeErrors } from "../../domain/decode-errors.ts";
import { DEFAULT_COMMAND_PAYLOAD_BYTES } from "../../domain/limits.ts";
import { decodeMasterData, type MasterData, MasterDataC } from "../../domain/master-data.ts";
import {
  decodeOwnershipPolicy,
  type OwnershipPolicy,
  OwnershipPolicyC,
} from "../../domain/ownership-policy.ts";
import {
  NonEmptyStringC,
  NonNegativeIntC,
  PositiveIntC,
  RegionC,
  ReservationTtlSecondsC,
} from "../../domain/scalars.ts";
import { EACH_ONLY, type UnitMaster, UnitMasterC } from "../../domain/units.ts";
import { ApiKeyC, type ApiKeyConfig, resolveApiKeys } from "../http/api-keys.ts";
import {
  applyEnv,
  ConfigError,
  type EnvOverride,
  isPlainObject,
  PortC,
  readConfigFile,
} from "./config-loading.ts";
import { type NatsAuth, NatsConfigC, natsAuthEnvPaths, natsAuthOf } from "./nats-auth.ts";
import { defaultPostgresSchema, PostgresStoreC } from "./postgres-store-config.ts";

export { ConfigError } from "./config-loading.ts";

const SqliteStoreC = t.intersection([
  t.type({ kind: t.literal("sqlite") }),
  t.partial({
    /** Event store file; default `<dataDir>/events.db`. */
    path: NonEmptyStringC,
    synchronous: t.keyof(
      { OFF: null, NORMAL: null, FULL: null, EXTRA: null },
      '"OFF" | "NORMAL" | "FULL" | "EXTRA"',
    ),
  }),
]);
const EsdbStoreC = t.type({ kind: t.literal("eventstoredb"), url: NonEmptyStringC });
const StoreC = t.union(
  [SqliteStoreC, EsdbStoreC, PostgresStoreC],
  'a store { kind: "sqlite", path?, synchronous? } | { kind: "eventstoredb", url } | { kind: "postgres", url, schema? }',
);

/** Node id of a multi-node region: a KV key and a consumer-safe token. */
const NodeIdC = t.refinement(
  t.string,
  (s): boolean => /^[A-Za-z0-9_-]{1,64}$/.test(s),
  "a node id of 1 to 64 letters, digits, '_' or '-'",
);

export const PartitioningC = t.partial({
  enabled: t.boolean,
  /** This process's id (also `--node-id`, STOCKLINE_NODE_ID); unique among the region's nodes. */
  nodeId: NodeIdC,
  /** The partitions (locations) of the region; default: the master data's locations of this region. */
  locations: t.array(NonEmptyStringC),
  /** Locations this node takes first and gives back last. */
  preferred: t.array(NonEmptyStringC),
  /** A lease not renewed for this long may be taken by another node (default 5000). */
  leaseTtlMs: PositiveIntC,
  /** How often leases are renewed and the assignment looked at (default 1000). */
  renewEveryMs: PositiveIntC,
});

/** The file's shape: everything but `region` has a default. */
export const NodeConfigFileC = t.intersection([
  t.type({ region: RegionC }),
  t.partial({
    /** Servers, client name, credentials and TLS (infra/config/nats-auth.ts). */
    nats: NatsConfigC,
    /** Folder of the node's own files (`node.db`; `events.db` by default). */
    dataDir: NonEmptyStringC,
    store: StoreC,
    http: t.partial({ host: NonEmptyStringC, port: PortC, enabled: t.boolean }),
    /** Keys of `POST /v1/commands` (infra/http/api-keys.ts); none: every `/v1` call is a 401. */
    apiKeys: t.array(ApiKeyC),
    /** Snapshot a position every this many events. */
    snapshotEvery: PositiveIntC,
    actorCache: t.partial({ max: PositiveIntC, idleMs: PositiveIntC }),
    /** Idempotency keys remembered per position (the most recent ones). */
    idempotencyKeysPerPosition: PositiveIntC,
    /** How long a command waits for a gap in its source sequence before it is applied and flagged. */
    parkTimeoutMs: PositiveIntC,
    ownership: OwnershipPolicyC,
    /**
     * Units of measure. Without it: the units of `masterData`'s products when master data is given,
     * else `EA` only. Given together with `masterData`, this one wins (an explicit override).
     */
    units: UnitMasterC,
    /**
     * Master data (domain/master-data.ts; `stockline up` passes the distributor configuration's
     * locations, products and statuses). With it, intake fills `position.region` and a transfer's
     * `destination.region` from the location, maps each source's own status codes to the canonical
     * statuses, and dead-letters a location not listed (`unknownLocation`) or a SKU not in a closed
     * catalogue (`unknownSku`). Without it, commands must carry regions and canonical statuses.
     */
    masterData: MasterDataC,
    commit: t.partial({ maxBatch: PositiveIntC, maxRetries: NonNegativeIntC }),
    relay: t.partial({ window: PositiveIntC, batch: PositiveIntC, checkpointEveryMs: PositiveIntC }),
    intake: t.partial({
      /** Commands in flight from JetStream (max_ack_pending of the durable consumer). */
      maxInFlight: PositiveIntC,
      maxPayloadBytes: PositiveIntC,
      maxJsonDepth: PositiveIntC,
      /** Redelivery delay of an unacknowledged command (e.g. after a crash); keep it above the worst queueing time. */
      ackWaitMs: PositiveIntC,
      /** Serve `inv.req.<r>` request/reply. */
      requestReply: t.boolean,
    }),
    /**
     * Prefix of stream and durable names (tests that share one nats-server); subjects are not
     * prefixed, so use it only on a server without another node of the same region.
     */
    streamPrefix: t.string,
    defaultReservationTtlSeconds: ReservationTtlSecondsC,
    countVarianceTolerance: NonNegativeIntC,
    /**
     * Several nodes per region (docs/scale-out.md): each node decides only the locations whose lease
     * it holds in the KV bucket `leases_<r>`; the relay runs on one node at a time. Needs a shared store.
     */
    partitioning: PartitioningC,
    /** Head anchoring (services/regional-node/head-anchorer.ts); the key comes from `keyFile` or `keyEnv`. */
    anchor: t.partial({
      enabled: t.boolean,
      dir: NonEmptyStringC,
      everyMs: PositiveIntC,
      keyFile: NonEmptyStringC,
      keyEnv: NonEmptyStringC,
      /** Also copy every line to the append-only stream INV_ANCHOR_<R> (infra/anchor/anchor-stream.ts). */
      jetstream: t.boolean,
    }),
  }),
]);
export type NodeConfigFile = t.TypeOf<typeof NodeConfigFileC>;

/** The resolved configuration with every default filled in. */
export interface NodeConfig {
  readonly region: string;
  readonly nats: { readonly servers: string[]; readonly name: string; readonly auth: NatsAuth };
  readonly dataDir: string;
  readonly store:
    | {
        readonly kind: "sqlite";
        readonly path: string;
        readonly synchronous: "OFF" | "NORMAL" | "FULL" | "EXTRA";
      }
    | { readonly kind: "eventstoredb"; readonly url: string }
    | { readonly kind: "postgres"; readonly url: string; readonly schema: string };
  readonly http: { readonly enabled: boolean; readonly host: string; readonly port: number };
  readonly apiKeys: readonly ApiKeyConfig[];
  readonly snapshotEvery: number;
  readonly actorCache: { readonly max: number; readonly idleMs: number };
  readonly idempotencyKeysPerPosition: number;
  readonly parkTimeoutMs: number;
  readonly ownership: OwnershipPolicy;
  readonly units: UnitMaster;
  /** Indexed master data, when configured (see `NodeConfigFileC.masterData`). */
  readonly masterData: MasterData | undefined;
  readonly commit: { readonly maxBatch: number; readonly maxRetries: number };
  readonly relay: { readonly window: number; readonly batch: number; readonly checkpointEveryMs: number };
  readonly intake: {
    readonly maxInFlight: number;
    readonly maxPayloadBytes: number;
    readonly maxJsonDepth: number;
    readonly ackWaitMs: number;
    readonly requestReply: boolean;
  };
  readonly streamPrefix: string;
  readonly defaultReservationTtlSeconds: number;
  readonly countVarianceTolerance: number;
  /** Multi-node region (docs/scale-out.md); `undefined`: this node alone decides the whole region. */
  readonly partitioning:
    | {
        readonly nodeId: string;
        readonly locations: readonly string[];
        readonly preferred: readonly string[];
        readonly leaseTtlMs: number;
        readonly renewEveryMs: number;
      }
    | undefined;
  /** Default dir `<dataDir>/anchors`: point it at another volume (RUNBOOK "Anchors"). */
  readonly anchor: {
    readonly enabled: boolean;
    readonly dir: string;
    readonly everyMs: number;
    readonly keyFile: string | undefined;
    readonly keyEnv: string;
    readonly jetstream: boolean;
  };
}

const ENV_PATHS: readonly EnvOverride[] = [
  ["STOCKLINE_REGION", ["region"], "string"],
  ["STOCKLINE_NATS_SERVERS", ["nats", "servers"], "list"],
  ...natsAuthEnvPaths("STOCKLINE_NATS", ["nats"]),
  ["STOCKLINE_DATA_DIR", ["dataDir"], "string"],
  ["STOCKLINE_STORE_KIND", ["store", "kind"], "string"],
  ["STOCKLINE_STORE_PATH", ["store", "path"], "string"],
  ["STOCKLINE_STORE_SYNCHRONOUS", ["store", "synchronous"], "string"],
  ["STOCKLINE_STORE_URL", ["store", "url"], "string"],
  ["STOCKLINE_STORE_SCHEMA", ["store", "schema"], "string"],
  ["STOCKLINE_HTTP_HOST", ["http", "host"], "string"],
  ["STOCKLINE_HTTP_PORT", ["http", "port"], "number"],
  ["STOCKLINE_SNAPSHOT_EVERY", ["snapshotEvery"], "number"],
  ["STOCKLINE_ACTOR_CACHE_MAX", ["actorCache", "max"], "number"],
  ["STOCKLINE_ACTOR_IDLE_MS", ["actorCache", "idleMs"], "number"],
  ["STOCKLINE_PARK_TIMEOUT_MS", ["parkTimeoutMs"], "number"],
  ["STOCKLINE_COMMIT_MAX_BATCH", ["commit", "maxBatch"], "number"],
  ["STOCKLINE_RELAY_WINDOW", ["relay", "window"], "number"],
  ["STOCKLINE_STREAM_PREFIX", ["streamPrefix"], "string"],
  ["STOCKLINE_ANCHOR_DIR", ["anchor", "dir"], "string"],
  ["STOCKLINE_ANCHOR_EVERY_MS", ["anchor", "everyMs"], "number"],
  ["STOCKLINE_ANCHOR_KEY_FILE", ["anchor", "keyFile"], "string"],
  ["STOCKLINE_NODE_ID", ["partitioning", "nodeId"], "string"],
];

/** Applies `STOCKLINE_*` variables onto a raw (undecoded) configuration object. */
export const applyEnvOverrides = (
  raw: Record<string, unknown>,
  env: NodeJS.ProcessEnv,
): Record<string, unknown> => {
  const out = applyEnv(raw, env, ENV_PATHS);
  // Choosing ESDB by environment alone should not leave a sqlite `path` behind, and vice versa.
  if (isPlainObject(out.store) && (out.store.kind === "eventstoredb" || out.store.kind === "postgres")) {
    delete out.store.path;
    delete out.store.synchronous;
    if (out.store.kind === "eventstoredb") delete out.store.schema;
  } else if (isPlainObject(out.store) && out.store.kind === "sqlite") {
    delete out.store.url;
    delete out.store.schema;
  }
  return out;
};

/** Decodes a raw object (file + env already merged) and fills the defaults. */
export const resolveNodeConfig = (
  raw: unknown,
  source = "configuration",
  keyOpts: { env?: NodeJS.ProcessEnv; allowClearKeys?: boolean } = {},
): NodeConfig => {
  const decoded = NodeConfigFileC.decode(raw);
  if (E.isLeft(decoded)) throw new ConfigError(source, toDecodeErrors(decoded.left));
  const f = decoded.right;
  if (f.ownership) {
    const policy = decodeOwnershipPolicy(f.ownership);
    if (E.isLeft(policy))
      throw new ConfigError(
        source,
        policy.left.map((e) => ({ ...e, path: `ownership.${e.path}`, message: `ownership.${e.message}` })),
      );
  }
  let masterData: MasterData | undefined;
  if (f.masterData) {
    const md = decodeMasterData(f.masterData);
    if (E.isLeft(md))
      throw new ConfigError(
        source,
        md.left.map((e) => ({ ...e, path: `masterData.${e.path}`, message: `masterData.${e.message}` })),
      );
    masterData = md.right;
  }
  const keys = resolveApiKeys(f.apiKeys ?? [], {
    env: keyOpts.env ?? process.env,
    allowClear: keyOpts.allowClearKeys ?? true,
  });
  if (keys.errors.length > 0) throw new ConfigError(source, keys.errors);
  const dataDir = path.resolve(f.dataDir ?? path.join(".data", f.region));
  const store: NodeConfig["store"] =
    f.store?.kind === "eventstoredb"
      ? { kind: "eventstoredb", url: f.store.url }
      : f.store?.kind === "postgres"
        ? { kind: "postgres", url: f.store.url, schema: f.store.schema ?? defaultPostgresSchema(f.region) }
        : {
            kind: "sqlite",
            path: path.resolve(
              dataDir,
              f.store?.kind === "sqlite" && f.store.path ? f.store.path : "events.db",
            ),
            synchronous: (f.store?.kind === "sqlite" && f.store.synchronous) || "FULL",
          };
  return {
    region: f.region,
    nats: {
      servers: f.nats?.servers ?? ["nats://127.0.0.1:4222"],
      name: f.nats?.name ?? `stockline-node-${f.region}`,
      auth: natsAuthOf(f.nats, source),
    },
    dataDir,
    store,
    http: { enabled: f.http?.enabled ?? true, host: f.http?.host ?? "127.0.0.1", port: f.http?.port ?? 0 },
    apiKeys: keys.keys,
    snapshotEvery: f.snapshotEvery ?? 100,
    actorCache: { max: f.actorCache?.max ?? 100_000, idleMs: f.actorCache?.idleMs ?? 5 * 60_000 },
    idempotencyKeysPerPosition: f.idempotencyKeysPerPosition ?? 1024,
    parkTimeoutMs: f.parkTimeoutMs ?? 60_000,
    ownership: f.ownership ?? { rules: [], otherwise: "allow" },
    units: f.units ?? masterData?.units ?? EACH_ONLY,
    masterData,
    commit: { maxBatch: f.commit?.maxBatch ?? 1000, maxRetries: f.commit?.maxRetries ?? 5 },
    relay: {
      window: f.relay?.window ?? 2048,
      batch: f.relay?.batch ?? 1000,
      checkpointEveryMs: f.relay?.checkpointEveryMs ?? 100,
    },
    intake: {
      maxInFlight: f.intake?.maxInFlight ?? 10_000,
      maxPayloadBytes: f.intake?.maxPayloadBytes ?? DEFAULT_COMMAND_PAYLOAD_BYTES,
      maxJsonDepth: f.intake?.maxJsonDepth ?? 32,
      ackWaitMs: f.intake?.ackWaitMs ?? 30_000,
      requestReply: f.intake?.requestReply ?? true,
    },
    streamPrefix: f.streamPrefix ?? "",
    defaultReservationTtlSeconds: f.defaultReservationTtlSeconds ?? 15 * 60,
    countVarianceTolerance: f.countVarianceTolerance ?? 0,
    partitioning: resolvePartitioning(f, store, masterData, source),
    anchor: {
      enabled: f.anchor?.enabled ?? true,
      dir: path.resolve(f.anchor?.dir ?? path.join(dataDir, "anchors")),
      everyMs: f.anchor?.everyMs ?? 1000,
      keyFile: f.anchor?.keyFile === undefined ? undefined : path.resolve(f.anchor.keyFile),
      keyEnv: f.anchor?.keyEnv ?? "STOCKLINE_ANCHOR_KEY",
      jetstream: f.anchor?.jetstream ?? false,
    },
  };
};

const resolvePartitioning = (
  f: NodeConfigFile,
  store: NodeConfig["store"],
  masterData: MasterData | undefined,
  source: string,
): NodeConfig["partitioning"] => {
  const p = f.partitioning;
  if (!p?.enabled) return undefined;
  const fail = (field: string, value: unknown, message: string): never => {
    throw new ConfigError(source, [
      {
        path: `partitioning.${field}`,
        value,
        expected: message,
        message: `partitioning.${field}: ${message}`,
      },
    ]);
  };
  if (store.kind === "sqlite")
    fail(
      "enabled",
      true,
      'several nodes per region need a shared store: store.kind "postgres" or "eventstoredb"',
    );
  if (p.nodeId === undefined)
    fail("nodeId", undefined, "a node id (--node-id or STOCKLINE_NODE_ID) when partitioning is enabled");
  const locations = p.locations ?? (masterData ? masterData.locationsOf(f.region).map((l) => l.id) : []);
  if (locations.length === 0)
    fail("locations", p.locations, "the locations of the region (or master data listing them)");
  const leaseTtlMs = p.leaseTtlMs ?? 5_000;
  const renewEveryMs = p.renewEveryMs ?? 1_000;
  if (renewEveryMs * 3 > leaseTtlMs)
    fail(
      "renewEveryMs",
      renewEveryMs,
      `at most a third of leaseTtlMs (${leaseTtlMs}), so a lease survives a missed renewal`,
    );
  return {
    nodeId: p.nodeId!,
    locations: [...new Set(locations)].sort(),
    preferred: p.preferred ?? [],
    leaseTtlMs,
    renewEveryMs,
  };
};

/**
 * Loads a node configuration: the JSON file (optional), `STOCKLINE_*` variables, then `overrides`
 * (e.g. `--region` from the command line, which wins over both).
 */
export const loadNodeConfig = (opts: {
  file?: string | undefined;
  env?: NodeJS.ProcessEnv;
  overrides?: Record<string, unknown>;
}): NodeConfig => {
  const { source, raw: fromFile } = readConfigFile(
    opts.file,
    "node configuration",
    (source, errors) => new ConfigError(source, errors),
  );
  const raw = applyEnvOverrides(fromFile, opts.env ?? process.env);
  for (const [key, value] of Object.entries(opts.overrides ?? {})) if (value !== undefined) raw[key] = value;
  // A key in clear only in a configuration built in-process, never in a file.
  return resolveNodeConfig(raw, source, { env: opts.env ?? process.env, allowClearKeys: !opts.file });
};
