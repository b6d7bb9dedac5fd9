/**
 * What the benchmark watches, with every timestamp taken in this process (`performance.now()`), so no
 * clocks of other processes are involved:
 * - `CommandLedger`: each published command's index, correlation id and publish time;
 * - `EventObserver`: an ordered consumer of `INV_EVT_<R>` (only stored messages are delivered); it
 *   notes when each command's events arrived and which position revision each command produced;
 * - `KvRevisionTracker`: a KV watch of `atp_<r>` or `atp_global` noting, per position, when each
 *   revision became visible in the bucket.
 * Latencies are matched offline at the end of a phase (`matchRevisionLatencies`).
 */
import { type ConsumerMessages, type JsMsg, jetstream, StorageType } from "@nats-io/jetstream";
import { Kvm, KvWatchInclude } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import { evtStreamName } from "../infra/nats/subjects.ts";

const td = new TextDecoder();

const posKey = (location: string, sku: string): string => `${location}|${sku}`;

class GrowableF64 {
  data = new Float64Array(1024);
  length = 0;
  push(v: number): void {
    if (this.length === this.data.length) {
      const next = new Float64Array(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.length++] = v;
  }
}

export class CommandLedger {
  private readonly byCorrelation = new Map<string, number>();
  /** Publish (or scheduled publish) time of command i. */
  readonly publishedAt = new GrowableF64();
  /** Arrival of command i's last event in INV_EVT (0: not yet). */
  readonly eventAt = new GrowableF64();
  /** Position key and revision of command i's last event. */
  readonly lastRevision: number[] = [];
  readonly position: string[] = [];

  register(correlationId: string, publishedAt: number): number {
    const i = this.publishedAt.length;
    this.byCorrelation.set(correlationId, i);
    this.publishedAt.push(publishedAt);
    this.eventAt.push(0);
    return i;
  }

  setPublishedAt(i: number, t: number): void {
    this.publishedAt.data[i] = t;
  }

  indexOf(correlationId: string): number | undefined {
    return this.byCorrelation.get(correlationId);
  }

  get size(): number {
    return this.publishedAt.length;
  }

  /** Publish-to-event latencies (ms) of commands [from, to) whose events arrived. */
  e2eLatencies(from: number, to: number): number[] {
    const out: number[] = [];
    for (let i = from; i < to; i++) {
      const e = this.eventAt.data[i]!;
      if (e > 0) out.push(e - this.publishedAt.data[i]!);
    }
    return out;
  }
}

export class EventObserver {
  private messages: ConsumerMessages | undefined;
  /** Arrival time of every stream message, in stream order. */
  readonly arrivals = new GrowableF64();
  bytes = 0;
  /** Commands that got at least one event. */
  commandsSeen = 0;
  unknownEvents = 0;
  /** Highest revision seen per position. */
  readonly maxRevision = new Map<string, number>();

  constructor(
    private readonly nc: NatsConnection,
    private readonly region: string,
    private readonly ledger: CommandLedger,
  ) {}

  async start(): Promise<void> {
    const js = jetstream(this.nc);
    const consumer = await js.consumers.get(evtStreamName(this.region));
    this.messages = await consumer.consume({ callback: (m) => this.onMessage(m), max_messages: 10_000 });
  }

  get count(): number {
    return this.arrivals.length;
  }

  private onMessage(m: JsMsg): void {
    const t = performance.now();
    this.arrivals.push(t);
    this.bytes += m.data.length;
    const e = JSON.parse(td.decode(m.data)) as {
      correlationId: string;
      revision: number;
      position: { location: string; sku: string };
    };
    const key = posKey(e.position.location, e.position.sku);
    if ((this.maxRevision.get(key) ?? -1) < e.revision) this.maxRevision.set(key, e.revision);
    const i = this.ledger.indexOf(e.correlationId);
    if (i === undefined) {
      this.unknownEvents++;
      return;
    }
    if (this.ledger.eventAt.data[i] === 0) this.commandsSeen++;
    this.ledger.eventAt.data[i] = t;
    this.ledger.lastRevision[i] = Math.max(this.ledger.lastRevision[i] ?? -1, e.revision);
    this.ledger.position[i] = key;
  }

  async stop(): Promise<void> {
    await this.messages?.close();
  }
}

type Update = { revision: number; at: number };

/** Watches an ATP bucket and notes when each position's revision became visible. */
export class KvRevisionTracker {
  readonly updates = new Map<string, Update[]>();
  readonly maxRevision = new Map<string, number>();
  entries = 0;
  private stopWatch: (() => void) | undefined;
  private loop: Promise<void> | undefined;

  constructor(
    private readonly nc: NatsConnection,
    private readonly domain: string,
    private readonly bucket: string,
    /** Positions and revisions in one entry's value. */
    private readonly revisionsOf: (value: unknown) => Array<{ key: string; revision: number }>,
  ) {}

  async start(): Promise<void> {
    const kvm = new Kvm(jetstream(this.nc, { domain: this.domain }));
    // Same settings as the projectors' own create, so whoever comes first makes the same bucket.
    const kv = await kvm.create(this.bucket, { history: 1, storage: StorageType.File, replicas: 1 });
    const iter = await kv.watch({ include: KvWatchInclude.UpdatesOnly });
    this.stopWatch = () => iter.stop();
    this.loop = (async () => {
      for await (const e of iter) {
        const at = performance.now();
        if (e.operation !== "PUT" || e.length === 0) continue;
        this.entries++;
        for (const { key, revision } of this.revisionsOf(JSON.parse(td.decode(e.value)))) {
          let list = this.updates.get(key);
          if (!list) {
            list = [];
            this.updates.set(key, list);
          }
          list.push({ revision, at });
          if ((this.maxRevision.get(key) ?? -1) < revision) this.maxRevision.set(key, revision);
        }
      }
    })();
  }

  /** True when every position of `target` is visible at (at least) its revision. */
  caughtUpWith(target: ReadonlyMap<string, number>): boolean {
    for (const [key, revision] of target) if ((this.maxRevision.get(key) ?? -1) < revision) return false;
    return true;
  }

  async stop(): Promise<void> {
    this.stopWatch?.();
    await this.loop;
  }
}

export const regionalRevisions = (value: unknown) => {
  const v = value as { position: { location: string; sku: string }; lastRevision: number };
  return [{ key: posKey(v.position.location, v.position.sku), revision: v.lastRevision }];
};

export const globalRevisions = (region: string) => (value: unknown) => {
  const v = value as {
    sku: string;
    locations: Record<string, { region: string; location: string; lastRevision: number }>;
  };
  return Object.values(v.locations)
    .filter((l) => l.region === region)
    .map((l) => ({ key: posKey(l.location, v.sku), revision: l.lastRevision }));
};

/**
 * For commands [from, to): the time from publish until the tracker first showed the command's
 * position at or beyond the command's last revision. Commands never seen are counted as `missing`.
 */
export const matchRevisionLatencies = (
  ledger: CommandLedger,
  tracker: KvRevisionTracker,
  from: number,
  to: number,
): { latencies: number[]; missing: number } => {
  const latencies: number[] = [];
  let missing = 0;
  for (let i = from; i < to; i++) {
    const key = ledger.position[i];
    const rev = ledger.lastRevision[i];
    const list = key === undefined ? undefined : tracker.updates.get(key);
    const hit = rev === undefined ? undefined : list?.find((u) => u.revision >= rev);
    if (!hit) {
      missing++;
      continue;
    }
    latencies.push(hit.at - ledger.publishedAt.data[i]!);
  }
  return { latencies, missing };
};
