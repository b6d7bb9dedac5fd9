/**
 * Leases of a multi-node region (docs/scale-out.md): a JetStream KV bucket `leases_<r>` holds one key
 * per partition (`p.<location>`), per region-wide singleton (`s.relay`) and per node heartbeat
 * (`n.<node>`). A lease's value is `{ owner, epoch, expiresAt }`; it is taken with `create` (a free
 * key) or `update(expected revision)` (a released or expired one), renewed with `update(expected
 * revision)` and released with `delete(previousSeq)`, so two nodes can never both believe they took it.
 *
 * Expiry is judged by observation, not by comparing clocks: a lease of another node is expired when
 * this node has seen the same revision for longer than the TTL. The owner, in turn, stops deciding a
 * partition when its last successful renewal was sent more than `ttl × safety` ago (default 0.6), which
 * is before any other node can see the lease expire. A node paused longer than that (GC, a frozen VM)
 * may still finish a command in flight: the store's expected revision fences it (docs/scale-out.md).
 *
 * Two loops: `renew` (every `renewEveryMs`, only touches leases held) and `rebalance` (reads the bucket,
 * plans with `planAssignment`, releases then acquires; acquiring and releasing run the node's callbacks,
 * which may take seconds to drain while renewals go on).
 */

import { type JetStreamManager, jetstream, jetstreamManager, StorageType } from "@nats-io/jetstream";
import { type KV, Kvm } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import pRetry from "p-retry";
import type { Logger } from "pino";
import { gauge } from "../../infra/metrics.ts";
import { type LeaseSeen, planAssignment } from "./partition-assignment.ts";

const leasesHeld = gauge("stockline_node_leases_held", "Partition and singleton leases this node holds", [
  "region",
  "kind",
]);

export interface LeaseValue {
  readonly owner: string;
  readonly epoch: number;
  /** Informational (the owner's clock); expiry is judged by observation. */
  readonly expiresAt: string;
}

export type LeaseKind = "partition" | "singleton";
export type ReleaseWhy = "rebalance" | "lost" | "stop";

export interface PartitionLeasesOptions {
  readonly nc: NatsConnection;
  readonly region: string;
  readonly nodeId: string;
  readonly partitions: readonly string[];
  readonly preferred?: readonly string[];
  readonly singletons: readonly string[];
  readonly ttlMs: number;
  readonly renewEveryMs: number;
  /** Fraction of the TTL after the last renewal sent at which the owner gives a lease up locally. */
  readonly safety?: number;
  readonly logger: Logger;
  /** Start deciding/running `name`; a throw releases the lease again. */
  readonly onAcquire: (kind: LeaseKind, name: string, epoch: number) => Promise<void>;
  /** Stop deciding/running `name`; resolves once nothing of it is in flight. */
  readonly onRelease: (kind: LeaseKind, name: string, why: ReleaseWhy) => Promise<void>;
}

/** What the bucket says of one key: its lease (if any), its revision (0: never written) and epoch. */
interface Look {
  readonly seen: LeaseSeen | undefined;
  readonly revision: number;
  readonly epoch: number;
}

interface Held {
  readonly kind: LeaseKind;
  readonly name: string;
  revision: number;
  readonly epoch: number;
  /** When the last successful renewal (or the take) was sent. */
  renewedAt: number;
  state: "active" | "releasing";
}

export const leaseBucketName = (region: string): string => `leases_${region}`;
const enc = (s: string): string => Buffer.from(s, "utf8").toString("base64url");
export const partitionKey = (location: string): string => `p.${enc(location)}`;
export const singletonKey = (name: string): string => `s.${enc(name)}`;
const nodeKey = (nodeId: string): string => `n.${enc(nodeId)}`;
const decodeKey = (key: string): string => Buffer.from(key.slice(2), "base64url").toString("utf8");

/**
 * A KV call that never holds a loop for ever: seen here, a `create` whose promise never settled left a
 * node's rebalance loop stuck (its partitions stayed free while its heartbeat went on).
 */
const within = <T>(ms: number, what: string, p: Promise<T>): Promise<T> => {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no answer from NATS within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
};

export class PartitionLeases {
  private kv: KV | undefined;
  private jsm: JetStreamManager | undefined;
  private readonly held = new Map<string, Held>();
  /** key -> the revision seen and since when (local clock), to judge expiry by observation. */
  private readonly seen = new Map<string, { revision: number; since: number }>();
  private stopped = false;
  private renewLoop: Promise<void> | undefined;
  private rebalanceLoop: Promise<void> | undefined;
  private guard: NodeJS.Timeout | undefined;
  private readonly safety: number;
  /** Bound of one KV call. */
  private readonly callMs: number;
  private readonly log: Logger;
  private wakeRebalance: (() => void) | undefined;

  constructor(private readonly o: PartitionLeasesOptions) {
    this.safety = o.safety ?? 0.6;
    this.callMs = Math.max(2_000, Math.floor(o.ttlMs / 2));
    this.log = o.logger.child({ component: "leases", node: o.nodeId });
  }

  async start(): Promise<void> {
    this.jsm = await jetstreamManager(this.o.nc);
    const kvm = new Kvm(jetstream(this.o.nc));
    this.kv = await kvm.create(leaseBucketName(this.o.region), { history: 1, storage: StorageType.File });
    await this.heartbeat();
    this.guard = setInterval(() => this.checkExpiry(), Math.max(50, Math.floor(this.o.ttlMs / 20)));
    this.renewLoop = this.loop(() => this.renewAll(), this.o.renewEveryMs);
    this.rebalanceLoop = this.loop(() => this.rebalance(), this.o.renewEveryMs, true);
  }

  /** Names of the partitions (locations) held and active. */
  partitionsHeld(): string[] {
    return [...this.held.values()].filter((h) => h.kind === "partition").map((h) => h.name);
  }

  holds(kind: LeaseKind, name: string): boolean {
    const h = this.held.get(this.keyOf({ kind, name }));
    return h !== undefined && h.state === "active";
  }

  /** Releases every lease (after the node stopped deciding them) and the heartbeat. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wakeRebalance?.();
    await this.rebalanceLoop;
    // Singletons last: the relay publishes what the partitions committed while they drained.
    const order = [...this.held.values()].sort((a, b) =>
      a.kind === b.kind ? 0 : a.kind === "partition" ? -1 : 1,
    );
    for (const h of order) await this.release(h, "stop");
    await this.renewLoop;
    if (this.guard) clearInterval(this.guard);
    await this.kv?.delete(nodeKey(this.o.nodeId)).catch(() => {});
  }

  private async loop(step: () => Promise<void>, everyMs: number, wakeable = false): Promise<void> {
    while (!this.stopped) {
      try {
        await step();
      } catch (err) {
        this.log.warn({ err: (err as Error).message }, "lease step failed; trying again");
      }
      if (this.stopped) break;
      await new Promise<void>((r) => {
        const t = setTimeout(r, everyMs);
        if (wakeable)
          this.wakeRebalance = () => {
            clearTimeout(t);
            r();
          };
      });
    }
  }

  private value(epoch: number): string {
    return JSON.stringify({
      owner: this.o.nodeId,
      epoch,
      expiresAt: new Date(Date.now() + this.o.ttlMs).toISOString(),
    } satisfies LeaseValue);
  }

  private async heartbeat(): Promise<void> {
    await within(this.callMs, "heartbeat", this.kv!.put(nodeKey(this.o.nodeId), this.value(0)));
  }

  /** The heartbeat and every lease at once: one round trip, not one per lease, however loaded NATS is. */
  private async renewAll(): Promise<void> {
    const sentAt = Date.now();
    await Promise.all([
      this.heartbeat().catch((err: unknown) =>
        this.log.warn({ err: (err as Error).message }, "heartbeat failed"),
      ),
      ...[...this.held.values()].map(async (h) => {
        try {
          const revision = await within(
            this.callMs,
            "renew",
            this.kv!.update(this.keyOf(h), this.value(h.epoch), h.revision),
          );
          if (!this.held.has(this.keyOf(h))) return;
          h.revision = revision;
          h.renewedAt = sentAt;
        } catch (err) {
          if (!this.held.has(this.keyOf(h))) return; // released or lost meanwhile
          // Another node took it (wrong last sequence), or NATS is unreachable: the guard decides.
          const msg = (err as Error).message;
          if (/wrong last sequence/i.test(msg)) await this.lose(h, msg);
          else this.log.warn({ err: msg, lease: h.name }, "lease renewal failed");
        }
      }),
    ]);
  }

  /** Gives up, locally, every lease not renewed in time: before any other node may take it. */
  private checkExpiry(): void {
    const now = Date.now();
    for (const h of this.held.values())
      if (h.state === "active" && now - h.renewedAt > this.o.ttlMs * this.safety)
        void this.lose(h, `not renewed for ${now - h.renewedAt} ms`);
  }

  private async lose(h: Held, why: string): Promise<void> {
    if (h.state !== "active") return;
    h.state = "releasing";
    this.log.warn({ lease: h.name, kind: h.kind, why }, "lease lost: stopping what it covers");
    this.held.delete(this.keyOf(h));
    this.count();
    try {
      await this.o.onRelease(h.kind, h.name, "lost");
    } catch (err) {
      this.log.error({ err, lease: h.name }, "stopping a lost lease's work failed");
    }
  }

  private keyOf(h: Pick<Held, "kind" | "name">): string {
    return h.kind === "partition" ? partitionKey(h.name) : singletonKey(h.name);
  }

  private count(): void {
    const held = [...this.held.values()];
    leasesHeld.set(
      { region: this.o.region, kind: "partition" },
      held.filter((h) => h.kind === "partition").length,
    );
    leasesHeld.set(
      { region: this.o.region, kind: "singleton" },
      held.filter((h) => h.kind === "singleton").length,
    );
  }

  /** What the bucket says of `key`: free, or owned (live or expired by observation). */
  private async look(key: string, now: number): Promise<Look> {
    const e = await within(this.callMs, "get", this.kv!.get(key));
    if (!e) return { seen: undefined, revision: 0, epoch: 0 };
    if (e.operation !== "PUT" || e.value.length === 0)
      return { seen: undefined, revision: e.revision, epoch: 0 };
    let v: Partial<LeaseValue> = {};
    try {
      v = e.json<LeaseValue>();
    } catch {
      // an unreadable value is a lease of nobody
    }
    const prev = this.seen.get(key);
    if (!prev || prev.revision !== e.revision) this.seen.set(key, { revision: e.revision, since: now });
    const since = this.seen.get(key)!.since;
    const live = v.owner === this.o.nodeId ? this.held.has(key) : now - since <= this.o.ttlMs;
    return {
      seen: typeof v.owner === "string" ? { owner: v.owner, live } : undefined,
      revision: e.revision,
      epoch: typeof v.epoch === "number" ? v.epoch : 0,
    };
  }

  private async liveNodes(now: number): Promise<string[]> {
    // The stream's subjects, in one request: KV `keys()` (an ordered consumer) was seen never to finish
    // while heartbeats were being written.
    const bucket = leaseBucketName(this.o.region);
    const info = await within(
      this.callMs,
      "heartbeats",
      this.jsm!.streams.info(`KV_${bucket}`, { subjects_filter: `$KV.${bucket}.n.>` }),
    );
    const keys = Object.keys(info.state.subjects ?? {}).map((subject) =>
      subject.slice(`$KV.${bucket}.`.length),
    );
    const looked = await Promise.all(keys.map(async (key) => [key, await this.look(key, now)] as const));
    const out = looked
      .filter(([, l]) => l.seen?.live || l.seen?.owner === this.o.nodeId)
      .map(([key]) => decodeKey(key));
    if (!out.includes(this.o.nodeId)) out.push(this.o.nodeId);
    return out;
  }

  private async rebalance(): Promise<void> {
    if (this.stopped) return;
    const now = Date.now();
    const looks = new Map<string, Look>();
    const leases = new Map<string, LeaseSeen>();
    const looked = await Promise.all(
      this.o.partitions.map(async (p) => [p, await this.look(partitionKey(p), now)] as const),
    );
    for (const [p, l] of looked) {
      looks.set(partitionKey(p), l);
      if (l.seen) leases.set(p, l.seen);
    }
    const plan = planAssignment({
      me: this.o.nodeId,
      partitions: this.o.partitions,
      leases,
      liveNodes: await this.liveNodes(now),
      ...(this.o.preferred ? { preferred: this.o.preferred } : {}),
    });
    this.log.debug(
      { owners: Object.fromEntries(leases), plan, held: [...this.held.values()].map((h) => h.name) },
      "lease round",
    );
    for (const p of plan.release) {
      const h = this.held.get(partitionKey(p));
      if (h) await this.release(h, "rebalance");
    }
    for (const p of plan.acquire) {
      if (this.stopped) return;
      await this.acquire("partition", p, looks.get(partitionKey(p))!);
    }
    // Singletons: whoever finds one free or expired takes it.
    for (const s of this.o.singletons) {
      if (this.stopped || this.held.has(singletonKey(s))) continue;
      const l = await this.look(singletonKey(s), now);
      if (!l.seen?.live) await this.acquire("singleton", s, l);
    }
  }

  private async acquire(kind: LeaseKind, name: string, l: Look): Promise<void> {
    const key = this.keyOf({ kind, name });
    const epoch = l.epoch + 1;
    const sentAt = Date.now();
    let revision: number;
    try {
      revision =
        l.revision === 0
          ? await within(this.callMs, "create", this.kv!.create(key, this.value(epoch)))
          : await within(this.callMs, "take", this.kv!.update(key, this.value(epoch), l.revision));
    } catch (err) {
      this.log.info({ lease: name, kind, err: (err as Error).message }, "lease taken by another node first");
      return;
    }
    const h: Held = { kind, name, revision, epoch, renewedAt: sentAt, state: "active" };
    this.held.set(key, h);
    this.count();
    this.log.info(
      { lease: name, kind, epoch, from: l.seen?.owner, expired: l.seen !== undefined },
      "lease acquired",
    );
    try {
      await this.o.onAcquire(kind, name, epoch);
    } catch (err) {
      this.log.error({ err, lease: name, kind }, "could not start a lease's work; releasing it");
      await this.release(h, "rebalance");
    }
  }

  private async release(h: Held, why: ReleaseWhy): Promise<void> {
    if (h.state !== "active") return;
    h.state = "releasing"; // renewals go on while its work drains
    try {
      await this.o.onRelease(h.kind, h.name, why);
    } catch (err) {
      this.log.error({ err, lease: h.name }, "stopping a lease's work failed");
    }
    const key = this.keyOf(h);
    if (!this.held.has(key)) return; // lost meanwhile
    this.held.delete(key);
    this.count();
    // A renewal in flight may move the revision under us: a few tries, then expiry frees it anyway.
    try {
      await pRetry(
        async () => {
          const e = await within(this.callMs, "get", this.kv!.get(key));
          if (e?.operation !== "PUT" || e.value.length === 0) return;
          if (e.json<Partial<LeaseValue>>().owner !== this.o.nodeId) return;
          await within(this.callMs, "release", this.kv!.delete(key, { previousSeq: e.revision }));
        },
        { retries: 3, minTimeout: 50, maxTimeout: 200 },
      );
      this.log.info({ lease: h.name, kind: h.kind, why }, "lease released");
      return;
    } catch {
      // fall through
    }
    this.log.warn({ lease: h.name }, "lease not released; it expires after its TTL");
  }
}
