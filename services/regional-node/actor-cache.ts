/**
 * Where the live position actors live (DESIGN §3.6). A position with work in its mailbox is pinned
 * (busy) so it is never passivated mid-command; an idle one sits in a bounded LRU cache and is
 * passivated (stopped, snapshotted) when evicted or idle for too long. Snapshots are a cache of the
 * store: they are collected here and written in one batch after each group commit.
 */
import { LRUCache } from "lru-cache";
import type { Logger } from "pino";
import { POSITION_MACHINE_VERSION } from "../../domain/position.machine.ts";
import { gauge } from "../../infra/metrics.ts";
import type { NodeDb } from "./node-db.ts";
import type { PositionActor } from "./position-loader.ts";

/** One position: its live actor (if loaded) and the jobs waiting for it, handled one at a time. */
export interface Slot<Job> {
  readonly streamId: string;
  actor: PositionActor | undefined;
  readonly mailbox: Job[];
  running: boolean;
  eventsSinceSnapshot: number;
}

export interface ActorCacheOptions {
  readonly region: string;
  readonly max: number;
  readonly idleMs: number;
  /** A snapshot is due after this many events applied to a live actor. */
  readonly snapshotEvery: number;
  readonly nodeDb: Pick<NodeDb, "saveSnapshots">;
  readonly logger: Logger;
  /** Counted into the runtime's counters. */
  readonly counters: { passivated: number; snapshots: number };
}

const activeActors = gauge("stockline_node_active_actors", "Live position actors", ["region"]);

export class ActorCache<Job> {
  /** Slots with work: pinned, never passivated. */
  private readonly busy = new Map<string, Slot<Job>>();
  /** Idle slots with a live actor, bounded and passivated on eviction or idleness. */
  private readonly idle: LRUCache<string, Slot<Job>>;
  private readonly pendingSnapshots = new Map<string, { revision: number; state: unknown }>();
  private idleWaiters: Array<() => void> = [];
  private readonly purgeTimer: NodeJS.Timeout;
  private stopped = false;

  constructor(private readonly o: ActorCacheOptions) {
    this.idle = new LRUCache<string, Slot<Job>>({
      max: o.max,
      ttl: o.idleMs,
      updateAgeOnGet: false,
      dispose: (slot, _key, reason) => {
        // `delete` is our own move of a slot to the busy map; evict/expire is passivation.
        if (reason === "delete" || reason === "set") return;
        this.passivate(slot);
      },
    });
    this.purgeTimer = setInterval(() => this.idle.purgeStale(), Math.max(1_000, Math.floor(o.idleMs / 2)));
    this.purgeTimer.unref();
  }

  /** Positions with a live actor or work. */
  get size(): number {
    return this.busy.size + this.idle.size;
  }

  /** The slot of a stream, pinned as busy (taken out of the idle cache, or new and empty). */
  checkOut(streamId: string): Slot<Job> {
    let slot = this.busy.get(streamId);
    if (!slot) {
      slot = this.idle.get(streamId);
      if (slot) this.idle.delete(streamId);
      else slot = { streamId, actor: undefined, mailbox: [], running: false, eventsSinceSnapshot: 0 };
      this.busy.set(streamId, slot);
    }
    return slot;
  }

  /** A slot whose mailbox ran empty: back to the idle cache if its actor is live, else forgotten. */
  checkIn(slot: Slot<Job>): void {
    this.busy.delete(slot.streamId);
    if (slot.actor && !this.stopped) this.idle.set(slot.streamId, slot);
    activeActors.set({ region: this.o.region }, this.size);
    if (this.busy.size === 0) for (const wake of this.idleWaiters.splice(0)) wake();
  }

  /** Resolves when no slot is busy. */
  async whenIdle(): Promise<void> {
    while (this.busy.size > 0) await new Promise<void>((r) => this.idleWaiters.push(r));
  }

  /** Committed events were fed into the slot's live actor: a snapshot becomes due every `snapshotEvery`. */
  applied(slot: Slot<Job>, events: readonly { readonly revision: number }[]): void {
    slot.eventsSinceSnapshot += events.length;
    const actor = slot.actor;
    if (actor && slot.eventsSinceSnapshot >= this.o.snapshotEvery) {
      slot.eventsSinceSnapshot = 0;
      const last = events[events.length - 1];
      if (last)
        this.pendingSnapshots.set(slot.streamId, {
          revision: last.revision,
          state: actor.getPersistedSnapshot(),
        });
    }
  }

  /** Writes the snapshots that became due. */
  flushSnapshots(): void {
    if (this.pendingSnapshots.size === 0) return;
    const items = [...this.pendingSnapshots].map(([streamId, s]) => ({
      streamId,
      snapshot: { revision: s.revision, version: POSITION_MACHINE_VERSION, state: s.state },
    }));
    this.pendingSnapshots.clear();
    try {
      this.o.nodeDb.saveSnapshots(items);
      this.o.counters.snapshots += items.length;
    } catch (err) {
      this.o.logger.warn({ err }, "could not save position snapshots (they are a cache; replay still works)");
    }
  }

  /**
   * Passivates the idle actors whose stream `matches` (a partition handed over to or from another
   * node: the next command reloads the position from the store). Returns how many.
   */
  evictWhere(matches: (streamId: string) => boolean): number {
    let n = 0;
    for (const [streamId, slot] of [...this.idle.entries()]) {
      if (!matches(streamId)) continue;
      this.passivate(slot);
      this.idle.delete(streamId); // dispose reason "delete": already passivated
      n++;
    }
    activeActors.set({ region: this.o.region }, this.size);
    return n;
  }

  /** Passivates every idle actor (writing snapshots) and stops the busy ones. */
  close(): void {
    this.stopped = true;
    clearInterval(this.purgeTimer);
    for (const slot of this.idle.values()) this.passivate(slot);
    this.idle.clear(); // dispose reason "delete": already passivated above
    for (const slot of this.busy.values()) slot.actor?.stop();
    this.flushSnapshots();
  }

  private passivate(slot: Slot<Job>): void {
    const actor = slot.actor;
    if (!actor) return;
    this.o.counters.passivated++;
    if (slot.eventsSinceSnapshot > 0) {
      const ctx = actor.getSnapshot().context;
      this.pendingSnapshots.set(slot.streamId, {
        revision: ctx.revision,
        state: actor.getPersistedSnapshot(),
      });
    }
    actor.stop();
    slot.actor = undefined;
  }
}
