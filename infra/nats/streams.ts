/**
 * Idempotent set-up of stockline's JetStream streams, KV buckets and hub mirrors (DESIGN §3.4, §5).
 *
 * Retention choices:
 * - `INV_CMD_<R>` keeps commands under *limits* retention (7 days by default), not work-queue. The
 *   node's durable consumer acknowledges a command once its outcome is durable; keeping the command
 *   afterwards costs disk but lets an operator replay or trace it, and lets a second consumer (audit, a
 *   shadow node, a test probe) read the stream, which a work-queue stream refuses when filters overlap.
 *   Work-queue retention is available through `cmdRetention: "workqueue"`.
 * - `INV_EVT_<R>` keeps events without an age or size limit by default (the event store is the truth,
 *   but projectors and hub mirrors read from here and must not find holes). Deduplication by
 *   `Nats-Msg-Id` within `duplicateWindowMs` makes relay retries idempotent.
 * - `INV_DLQ_<R>` has no limits by default and, if limits are set, discards *new* messages (the
 *   publisher gets an error) instead of silently dropping old dead letters. Its duplicate window is 7
 *   days, not 2 minutes: a dead letter's id names the refused command (key, code, hash), so a command
 *   resent or redelivered within the week that `INV_CMD_<R>` keeps it is one dead letter. Chosen over
 *   a record in each node's database because all nodes of a region share the stream (a node-local
 *   record would not see the others') and it costs the node no write; the server keeps one id per
 *   dead letter of the window (on the order of 100 bytes each), small next to the letters it keeps.
 */
import {
  DiscardPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamManager,
  RetentionPolicy,
  StorageType,
  type StreamConfig,
  type StreamInfo,
} from "@nats-io/jetstream";
import type { KV, Kvm } from "@nats-io/kv";
import { nanos } from "@nats-io/transport-node";
import {
  atpBucketName,
  atpReservationsBucketName,
  cmdStreamName,
  cmdWildcard,
  dlqStreamName,
  dlqWildcard,
  domainApiPrefix,
  evtStreamName,
  evtWildcard,
} from "./subjects.ts";

export type RegionStreamOptions = {
  /** Deduplication window for `Nats-Msg-Id`, all three streams (default 2 min). */
  duplicateWindowMs?: number;
  /** Retention of `INV_CMD_<R>` (default `limits`). */
  cmdRetention?: "limits" | "workqueue";
  /** Max age of commands (default 7 days; 0 = unlimited). */
  cmdMaxAgeMs?: number;
  /** Max age of events (default 0 = unlimited). */
  evtMaxAgeMs?: number;
  /** Max bytes of the event stream (default -1 = unlimited). */
  evtMaxBytes?: number;
  /** Max bytes of the dead-letter stream (default -1; when reached, new dead letters are refused). */
  dlqMaxBytes?: number;
  /** Deduplication window of dead-letter ids (default 7 days). */
  dlqDuplicateWindowMs?: number;
  /** Replicas per stream (default 1; 3 in a production cluster). */
  replicas?: number;
};

export type EnsureOutcome = "created" | "updated" | "unchanged";
export type EnsuredStream = { name: string; outcome: EnsureOutcome; info: StreamInfo };

export const DEFAULT_DUPLICATE_WINDOW_MS = 2 * 60_000;
const DAY_MS = 24 * 3_600_000;
export const DEFAULT_DLQ_DUPLICATE_WINDOW_MS = 7 * DAY_MS;

type DesiredStream = Partial<StreamConfig> & { name: string };

/** The configurations `ensureRegionStreams` applies, for inspection and tests. */
export const regionStreamConfigs = (
  region: string,
  opts: RegionStreamOptions = {},
): { cmd: DesiredStream; evt: DesiredStream; dlq: DesiredStream } => {
  const dup = nanos(opts.duplicateWindowMs ?? DEFAULT_DUPLICATE_WINDOW_MS);
  const replicas = opts.replicas ?? 1;
  return {
    cmd: {
      name: cmdStreamName(region),
      description: `stockline commands into region ${region}`,
      subjects: [cmdWildcard(region)],
      retention: opts.cmdRetention === "workqueue" ? RetentionPolicy.Workqueue : RetentionPolicy.Limits,
      storage: StorageType.File,
      discard: DiscardPolicy.Old,
      max_age: nanos(opts.cmdMaxAgeMs ?? 7 * DAY_MS),
      duplicate_window: dup,
      num_replicas: replicas,
    },
    evt: {
      name: evtStreamName(region),
      description: `stockline committed events of region ${region} (relayed from the event store)`,
      subjects: [evtWildcard(region)],
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      discard: DiscardPolicy.Old,
      max_age: nanos(opts.evtMaxAgeMs ?? 0),
      max_bytes: opts.evtMaxBytes ?? -1,
      duplicate_window: dup,
      num_replicas: replicas,
    },
    dlq: {
      name: dlqStreamName(region),
      description: `stockline dead letters of region ${region}`,
      subjects: [dlqWildcard(region)],
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      discard: DiscardPolicy.New,
      max_age: 0,
      max_bytes: opts.dlqMaxBytes ?? -1,
      duplicate_window: nanos(opts.dlqDuplicateWindowMs ?? DEFAULT_DLQ_DUPLICATE_WINDOW_MS),
      num_replicas: replicas,
    },
  };
};

const isApiError = (err: unknown, code: number): boolean =>
  err instanceof JetStreamApiError && err.code === code;

// Fields a stream update may change on 2.9; the others are fixed at creation.
const IMMUTABLE: ReadonlyArray<keyof StreamConfig> = ["retention", "storage", "mirror"];

const sameValue = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

/**
 * Creates the stream, or brings an existing one to the desired configuration (only the fields given).
 * Throws, naming the field, when an immutable field differs.
 */
export const ensureStream = async (jsm: JetStreamManager, desired: DesiredStream): Promise<EnsuredStream> => {
  for (let attempt = 0; ; attempt++) {
    let existing: StreamInfo | undefined;
    try {
      existing = await jsm.streams.info(desired.name);
    } catch (err) {
      if (!isApiError(err, JetStreamApiCodes.StreamNotFound)) throw err;
    }
    if (!existing) {
      try {
        const info = await jsm.streams.add({ ...desired });
        return { name: desired.name, outcome: "created", info };
      } catch (err) {
        // Another process created it between our info and add: converge on it.
        if (attempt === 0 && err instanceof JetStreamApiError) continue;
        throw err;
      }
    }
    const current = existing.config as unknown as Record<string, unknown>;
    const changes: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(desired)) {
      if (key === "name" || value === undefined || sameValue(current[key], value)) continue;
      if (IMMUTABLE.includes(key as keyof StreamConfig)) {
        throw new Error(
          `stream ${desired.name}: ${key} is ${JSON.stringify(current[key])}, expected ${JSON.stringify(value)}; ` +
            "it cannot be changed in place (recreate the stream)",
        );
      }
      changes[key] = value;
    }
    if (Object.keys(changes).length === 0)
      return { name: desired.name, outcome: "unchanged", info: existing };
    const info = await jsm.streams.update(desired.name, changes);
    return { name: desired.name, outcome: "updated", info };
  }
};

/** Creates or updates `INV_CMD_<R>`, `INV_EVT_<R>` and `INV_DLQ_<R>` in the region's domain. */
export const ensureRegionStreams = async (
  jsm: JetStreamManager,
  region: string,
  opts: RegionStreamOptions = {},
): Promise<{ cmd: EnsuredStream; evt: EnsuredStream; dlq: EnsuredStream }> => {
  const cfg = regionStreamConfigs(region, opts);
  return {
    cmd: await ensureStream(jsm, cfg.cmd),
    evt: await ensureStream(jsm, cfg.evt),
    dlq: await ensureStream(jsm, cfg.dlq),
  };
};

/**
 * Creates or opens the region's ATP read-model bucket `atp_<r>` (one entry per position, last value only).
 * Pass a `Kvm` built on the region's domain: `new Kvm(jetstream(nc, { domain: region }))`.
 */
export const ensureAtpBucket = (
  kvm: Kvm,
  region: string,
  opts: { replicas?: number; history?: number } = {},
): Promise<KV> =>
  kvm.create(atpBucketName(region), {
    history: opts.history ?? 1,
    storage: StorageType.File,
    replicas: opts.replicas ?? 1,
  });

/** The bucket of a region's open reservations (`atp_res_<r>`), created if missing. */
export const ensureAtpReservationsBucket = (
  kvm: Kvm,
  region: string,
  opts: { replicas?: number } = {},
): Promise<KV> =>
  kvm.create(atpReservationsBucketName(region), {
    history: 1,
    storage: StorageType.File,
    replicas: opts.replicas ?? 1,
  });

export type HubMirrorOptions = {
  /** Max age of mirrored events on the hub (default 0 = unlimited). */
  maxAgeMs?: number;
  maxBytes?: number;
  replicas?: number;
};

/** The configuration of the hub's mirror of a region's event stream. */
export const hubMirrorConfig = (region: string, opts: HubMirrorOptions = {}): DesiredStream => ({
  name: evtStreamName(region),
  description: `stockline hub mirror of ${evtStreamName(region)} in domain ${region}`,
  retention: RetentionPolicy.Limits,
  storage: StorageType.File,
  discard: DiscardPolicy.Old,
  max_age: nanos(opts.maxAgeMs ?? 0),
  max_bytes: opts.maxBytes ?? -1,
  num_replicas: opts.replicas ?? 1,
  // Domains are separate JetStream instances, so the mirror can carry the same name as its origin.
  mirror: { name: evtStreamName(region), external: { api: domainApiPrefix(region), deliver: "" } },
});

/**
 * On the hub (a manager bound to domain `hub`), one mirror stream per region of `INV_EVT_<R>`.
 * One mirror per region rather than one stream sourcing all regions: sourcing is single-threaded on the
 * server, and mirrors keep the origin's sequence numbers (DESIGN §3.4).
 */
export const ensureHubMirrors = async (
  hubJsm: JetStreamManager,
  regions: readonly string[],
  opts: HubMirrorOptions = {},
): Promise<Record<string, EnsuredStream>> => {
  const out: Record<string, EnsuredStream> = {};
  for (const region of regions) out[region] = await ensureStream(hubJsm, hubMirrorConfig(region, opts));
  return out;
};
