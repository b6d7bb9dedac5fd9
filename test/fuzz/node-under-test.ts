/**
 * The system the fuzz talks to: its own nats-server (a one-region topology, so that a hostile input
 * that makes the server drop connections harms no other test) and a regional node as a child
 * process (`services/regional-node/main.ts`, as `stockline node` runs it), so that a crash is an
 * exit we observe, not the end of the test. The harness reads what the node did from the outside:
 * its event store (SQLite, read-only), its dead letters (`INV_DLQ_<R>`) and its durable consumer.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { writeFileSync } from "node:fs";
import path from "node:path";
import {
  type ConsumerInfo,
  type JetStreamClient,
  type JetStreamManager,
  jetstream,
  jetstreamManager,
} from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import Database from "better-sqlite3";
import { connectNats } from "../../infra/nats/connection.ts";
import { cmdStreamName, dlqStreamName, evtStreamName } from "../../infra/nats/subjects.ts";
import { startTopology, type Topology } from "../../infra/nats/topology.ts";
import { tempDir } from "../regional-node/node-fixtures.ts";

export interface StoredEvent {
  readonly globalPosition: number;
  readonly streamId: string;
  readonly data: Record<string, unknown>;
}

export interface DeadLetterSeen {
  readonly reason?: string;
  readonly code?: string;
  readonly message?: string;
  readonly intake?: { via?: string; streamSequence?: number };
  readonly context?: { idempotencyKey?: string };
  readonly applied?: boolean;
  /** The original payload as text (truncated when huge). */
  readonly payload?: string;
}

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stderrTail: string;
}

const STDERR_TAIL = 8 * 1024;

/** The node's process: started, watched for exits, restarted. */
class NodeProcess {
  child: ChildProcess | undefined;
  url = "";
  exit: Exit | undefined;
  stderrLines = 0;
  stderrBytes = 0;
  private tail = "";

  constructor(
    private readonly region: string,
    private readonly configFile: string,
  ) {}

  start(): Promise<void> {
    this.exit = undefined;
    return new Promise((resolve, reject) => {
      const child = spawn(
        process.execPath,
        [
          "--import",
          "tsx",
          path.resolve("services/regional-node/main.ts"),
          "--region",
          this.region,
          "--config",
          this.configFile,
        ],
        { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, LOG_LEVEL: "warn" } },
      );
      this.child = child;
      let out = "";
      let ready = false;
      const timer = setTimeout(() => reject(new Error(`node not ready in 30 s: ${this.tail}`)), 30_000);
      child.stdout?.on("data", (d: Buffer) => {
        if (ready) return;
        out += d.toString();
        const line = out.split("\n").find((l) => l.includes('"ready":true'));
        if (line) {
          ready = true;
          clearTimeout(timer);
          this.url = (JSON.parse(line) as { url: string }).url;
          resolve();
        }
      });
      child.stderr?.on("data", (d: Buffer) => {
        const s = d.toString();
        this.stderrBytes += d.length;
        for (let i = s.indexOf("\n"); i !== -1; i = s.indexOf("\n", i + 1)) this.stderrLines++;
        this.tail = (this.tail + s).slice(-STDERR_TAIL);
      });
      child.once("exit", (code, signal) => {
        this.exit = { code, signal, stderrTail: this.tail };
        if (!ready) {
          clearTimeout(timer);
          reject(new Error(`node exited at start (${code ?? signal}): ${this.tail}`));
        }
      });
    });
  }

  get alive(): boolean {
    return this.child !== undefined && this.exit === undefined;
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child || this.exit) return;
    const exited = new Promise<void>((r) => child.once("exit", () => r()));
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
    await exited;
    clearTimeout(timer);
  }
}

export interface NodeUnderTest {
  readonly region: string;
  readonly otherRegion: string;
  readonly process: NodeProcess;
  readonly nc: NatsConnection;
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  readonly maxPayload: number;
  readonly parkTimeoutMs: number;
  /** The intake consumer's ack wait: an unacknowledged message comes back after it. */
  readonly ackWaitMs: number;
  readonly deadLetters: DeadLetterSeen[];
  /** Dead letters by the stream sequence of the command message they came from. */
  readonly deadLetterBySeq: Map<number, DeadLetterSeen>;
  /**
   * Dead letters by the payload they hold: a command sent again is dead-lettered once (its letter's
   * message id is the command's), so a repeat is accounted by the first one's letter.
   */
  readonly deadLetterByPayload: Map<string, DeadLetterSeen>;
  /** Resolves once the harness has read every dead letter in the stream now (bounded wait). */
  deadLettersRead(timeoutMs?: number): Promise<boolean>;
  /** Reads new events from the store; returns the events stored under `key` so far. */
  eventsOf(key: string): StoredEvent[];
  readonly storeHead: () => number;
  /** Every stored event so far, in store order. */
  allEvents(): readonly StoredEvent[];
  /** Whether a command with this idempotency key is parked in the node's database. */
  stillParked(key: string): boolean;
  consumer(): Promise<ConsumerInfo>;
  evtCount(): Promise<number>;
  firstUnpublished(): Promise<StoredEvent | undefined>;
  restart(): Promise<void>;
  stop(): Promise<void>;
}

const REGION = "fzz";
/** The key the harness sends on `POST /v1/commands` (the config holds only its digest). */
export const HTTP_KEY = "fuzz-harness-key-0123456789abcdefghij";
const sha256 = (s: string): string => createHash("sha256").update(s, "utf8").digest("hex");
const OTHER_REGION = "fzy";

export const startNodeUnderTest = async (
  opts: { parkTimeoutMs?: number; ackWaitMs?: number } = {},
): Promise<NodeUnderTest> => {
  const topology: Topology = await startTopology({ regions: [REGION], cuttableLinks: false });
  const tmp = tempDir("fuzz");
  const server = topology.regions[REGION];
  if (!server) throw new Error("topology without the region");
  const parkTimeoutMs = opts.parkTimeoutMs ?? 2_000;
  const ackWaitMs = opts.ackWaitMs ?? 5_000;
  const configFile = path.join(tmp.dir, "node.json");
  writeFileSync(
    configFile,
    JSON.stringify({
      region: REGION,
      dataDir: tmp.dir,
      nats: { servers: [server.url] },
      http: { enabled: true, port: 0 },
      parkTimeoutMs,
      intake: { ackWaitMs },
      // The node's HTTP intake asks who speaks (DESIGN §3.14): a key for the systems the cases use.
      apiKeys: [
        { name: "fuzz", roles: ["warehouse"], keySha256: sha256(HTTP_KEY), systems: ["wms-1", "erp", "oms"] },
      ],
    }),
  );
  const proc = new NodeProcess(REGION, configFile);
  await proc.start();
  const nc = await connectNats({ servers: [server.url], name: "fuzz-harness" });
  const js = jetstream(nc);
  const jsm = await jetstreamManager(nc);

  const deadLetters: DeadLetterSeen[] = [];
  const deadLetterBySeq = new Map<number, DeadLetterSeen>();
  const deadLetterByPayload = new Map<string, DeadLetterSeen>();
  const dlqConsumer = await js.consumers.get(dlqStreamName(REGION));
  let dlqRead = 0;
  const dlqMessages = await dlqConsumer.consume({
    callback: (m) => {
      dlqRead = m.seq;
      let dl: DeadLetterSeen;
      try {
        dl = m.json<DeadLetterSeen>();
      } catch {
        dl = { reason: "(dead letter is not JSON)" };
      }
      deadLetters.push(dl);
      const seq = dl.intake?.streamSequence;
      if (typeof seq === "number") deadLetterBySeq.set(seq, dl);
      if (typeof dl.payload === "string") deadLetterByPayload.set(dl.payload, dl);
    },
  });

  const storeFile = path.join(tmp.dir, "events.db");
  let db: Database.Database | undefined;
  let head = 0;
  const byKey = new Map<string, StoredEvent[]>();
  const all: StoredEvent[] = [];
  const refresh = () => {
    db ??= new Database(storeFile, { readonly: true, fileMustExist: true });
    const rows = db
      .prepare<[number], { global_position: number; stream_id: string; data: string }>(
        "SELECT global_position, stream_id, data FROM events WHERE global_position > ? ORDER BY global_position",
      )
      .all(head);
    for (const r of rows) {
      const e = { globalPosition: r.global_position, streamId: r.stream_id, data: JSON.parse(r.data) };
      all.push(e);
      const key = String(e.data.idempotencyKey);
      byKey.set(key, [...(byKey.get(key) ?? []), e]);
      head = r.global_position;
    }
  };

  const nodeDbFile = path.join(tmp.dir, "node.db");
  let nodeDb: Database.Database | undefined;

  return {
    region: REGION,
    otherRegion: OTHER_REGION,
    process: proc,
    nc,
    js,
    jsm,
    maxPayload: nc.info?.max_payload ?? 1024 * 1024,
    parkTimeoutMs,
    ackWaitMs,
    deadLetters,
    deadLetterBySeq,
    deadLetterByPayload,
    deadLettersRead: async (timeoutMs = 5_000) => {
      const last = (await jsm.streams.info(dlqStreamName(REGION))).state.last_seq;
      const deadline = Date.now() + timeoutMs;
      while (dlqRead < last && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      return dlqRead >= last;
    },
    eventsOf: (key) => {
      refresh();
      return byKey.get(key) ?? [];
    },
    allEvents: () => {
      refresh();
      return all;
    },
    stillParked: (key) => {
      nodeDb ??= new Database(nodeDbFile, { readonly: true, fileMustExist: true });
      return nodeDb.prepare("SELECT 1 FROM parked WHERE idempotency_key = ? LIMIT 1").get(key) !== undefined;
    },
    storeHead: () => {
      refresh();
      return head;
    },
    consumer: () => jsm.consumers.info(cmdStreamName(REGION), `stockline-node-${REGION}`),
    evtCount: async () => (await jsm.streams.info(evtStreamName(REGION))).state.messages,
    firstUnpublished: async () => {
      refresh();
      const published = (await jsm.streams.info(evtStreamName(REGION))).state.messages;
      return all[published];
    },
    restart: async () => {
      await proc.stop();
      await proc.start();
    },
    stop: async () => {
      await proc.stop();
      await dlqMessages.close().catch(() => undefined);
      await nc.close().catch(() => undefined);
      db?.close();
      nodeDb?.close();
      await topology.stop();
      tmp.remove();
    },
  };
};
