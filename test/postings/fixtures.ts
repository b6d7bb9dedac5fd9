/**
 * Shared set-up of the postings and reconciliation tests: realistic canonical events from the
 * position decider, JetStream streams with a unique region per test run on the machine's
 * nats-server, both ERP simulators over HTTP, and a way to wait for a condition.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type JetStreamManager, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { headers, type NatsConnection } from "@nats-io/transport-node";
import { pino } from "pino";
import type { CanonicalEvent } from "../../domain/canonical-event.ts";
import type { Command } from "../../domain/commands.ts";
import type { Position } from "../../domain/ids.ts";
import {
  decide,
  defaultEnv,
  evolve,
  initialPositionState,
  type PositionState,
  toCanonicalEvents,
} from "../../domain/position.decider.ts";
import type { RoutingConfig } from "../../domain/routing-rules.ts";
import { connectNats, drainAndClose } from "../../infra/nats/connection.ts";
import { ensureRegionStreams } from "../../infra/nats/streams.ts";
import { cmdStreamName, dlqStreamName, evtStreamName, evtSubject } from "../../infra/nats/subjects.ts";
import {
  type BreakerOptions,
  type GuardedTarget,
  guardTarget,
  PostingWorker,
  type PostingWorkerOptions,
  postingKey,
} from "../../services/postings/posting-worker.ts";
import { PostingsLedger } from "../../services/postings/postings-ledger.ts";
import type { TargetConnector } from "../../services/postings/target-connector.ts";
import {
  createD365Simulator,
  type D365Simulator,
} from "../../services/simulators/d365-inventory-visibility-simulator.ts";
import { createSapSimulator, type SapSimulator } from "../../services/simulators/sap-s4hana-simulator.ts";

export const NATS_URL = process.env.NATS_URL ?? "nats://127.0.0.1:4222";

/** A region id unique to this test run, so streams never collide with other runs. */
export const uniqueRegion = (prefix: string): string => `${prefix}-${randomBytes(4).toString("hex")}`;

let seq = 0;
const BASE_TIME = Date.parse("2025-03-03T08:00:00Z");

export type CommandDraft = { kind: Command["kind"] } & Record<string, unknown>;

/** One position's history: commands are decided and turned into stored, hash-chained events. */
export class PositionHistory {
  state: PositionState;
  readonly events: CanonicalEvent[] = [];
  constructor(readonly position: Position) {
    this.state = initialPositionState(position);
  }

  /** Decides a command (defaults: source `wms`, a fresh key and document); returns its events. */
  apply(draft: CommandDraft, source = "wms"): CanonicalEvent[] {
    seq++;
    const businessTime = new Date(BASE_TIME + seq * 1000).toISOString();
    const command = {
      idempotencyKey: `k-${seq}`,
      source: { system: source, document: { type: "doc", id: `D${seq}` } },
      businessTime,
      correlationId: `corr-${seq}`,
      position: this.position,
      ...draft,
    } as Command;
    const outcome = decide(command, this.state, defaultEnv(businessTime));
    if (outcome.kind !== "accepted")
      throw new Error(`command ${draft.kind} not accepted: ${JSON.stringify(outcome)}`);
    const stored = toCanonicalEvents(outcome.events, {
      prevRevision: this.state.revision,
      prevHash: this.state.lastHash,
      recordedTime: new Date().toISOString(),
    });
    for (const e of stored) {
      this.state = evolve(this.state, e);
      this.events.push(e);
    }
    return stored;
  }
}

export const ea = (value: number) => ({ value, uom: "EA" });
export const receive = (n: number, extra: Record<string, unknown> = {}): CommandDraft => ({
  kind: "receiveGoods",
  quantity: ea(n),
  ...extra,
});
export const pick = (n: number): CommandDraft => ({ kind: "confirmPick", quantity: ea(n) });
export const ship = (n: number): CommandDraft => ({ kind: "postShipment", quantity: ea(n) });
export const adjust = (n: number): CommandDraft => ({
  kind: "adjustStock",
  quantity: ea(n),
  reasonCode: "DAMAGE",
});

export interface NatsFixture {
  readonly nc: NatsConnection;
  readonly jsm: JetStreamManager;
  readonly region: string;
  publish(events: readonly CanonicalEvent[]): Promise<void>;
  close(): Promise<void>;
}

/** Streams of a fresh region on the machine's nats-server; `close` deletes them. */
export const natsFixture = async (prefix: string): Promise<NatsFixture> => {
  const nc = await connectNats({ servers: NATS_URL, name: `test-${prefix}` });
  const jsm = await jetstreamManager(nc);
  const region = uniqueRegion(prefix);
  await ensureRegionStreams(jsm, region, { duplicateWindowMs: 60_000 });
  const js = jetstream(nc);
  return {
    nc,
    jsm,
    region,
    // As the relay does: the event as JSON on its subject, `Nats-Msg-Id = <region>:<streamId>:<revision>`.
    async publish(events) {
      for (const e of events) {
        const h = headers();
        await js.publish(
          evtSubject(e.position.region, e.position.location, e.position.sku),
          JSON.stringify(e),
          {
            msgID: postingKey(e),
            headers: h,
          },
        );
      }
    },
    async close() {
      for (const s of [cmdStreamName(region), evtStreamName(region), dlqStreamName(region)]) {
        await jsm.streams.delete(s).catch(() => undefined);
      }
      await drainAndClose(nc);
    },
  };
};

/**
 * What the postings and reconciliation tests run against: the streams of a fresh region, both ERP
 * simulators listening, a postings ledger in a temporary folder, and the workers started on it.
 */
export interface PostingsRig {
  readonly nats: NatsFixture;
  readonly sap: SapSimulator;
  readonly d365: D365Simulator;
  readonly sapUrl: string;
  readonly d365Url: string;
  /** Temporary folder, removed by `close`. */
  readonly dir: string;
  readonly ledger: PostingsLedger;
  readonly workers: PostingWorker[];
  readonly guards: GuardedTarget[];
  /** Guards `connector` with a breaker and starts a worker posting the region's events to it. */
  startWorker(
    connector: TargetConnector,
    routing: RoutingConfig,
    opts?: {
      breaker?: BreakerOptions;
      worker?: Partial<Omit<PostingWorkerOptions, "nc" | "region" | "target" | "routing" | "ledger">>;
    },
  ): Promise<{ worker: PostingWorker; guard: GuardedTarget }>;
  /** Stops workers and breakers, closes the ledger, streams and simulators, removes the folder. */
  close(): Promise<void>;
}

const silent = pino({ level: "silent" });

export const postingsRig = async (prefix: string): Promise<PostingsRig> => {
  const nats = await natsFixture(prefix);
  const sap = createSapSimulator();
  const d365 = createD365Simulator();
  const [sapUrl, d365Url] = [await sap.listen(0), await d365.listen(0)];
  const dir = mkdtempSync(join(tmpdir(), `${prefix}-`));
  const ledger = new PostingsLedger(join(dir, "postings.sqlite"));
  const workers: PostingWorker[] = [];
  const guards: GuardedTarget[] = [];
  return {
    nats,
    sap,
    d365,
    sapUrl,
    d365Url,
    dir,
    ledger,
    workers,
    guards,
    async startWorker(connector, routing, opts = {}) {
      const guard = guardTarget(connector, opts.breaker);
      guards.push(guard);
      const worker = new PostingWorker({
        nc: nats.nc,
        region: nats.region,
        target: guard,
        routing,
        ledger,
        logger: silent,
        ...opts.worker,
      });
      await worker.start();
      workers.push(worker);
      return { worker, guard };
    },
    async close() {
      await Promise.all(workers.map((w) => w.stop()));
      for (const g of guards) g.shutdown();
      ledger.close();
      await nats.close();
      await Promise.all([sap.close(), d365.close()]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
};

export const waitFor = async <T>(
  what: string,
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 15_000,
): Promise<T> => {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
};
