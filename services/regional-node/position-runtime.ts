/**
 * Position actors (DESIGN §3.6): every active SKU-location is a live XState actor of the position
 * machine. Commands to one position run one at a time (a mailbox); positions run in parallel, and
 * their appends meet in the group committer. A decision's events are fed into the actor only after
 * the store committed them; on a revision conflict (another writer) the actor is dropped, reloaded
 * from the store and the command decided again, a bounded number of times.
 *
 * Idle actors sit in a bounded LRU cache and are passivated (stopped, snapshotted) when evicted or
 * idle for too long; an actor with work in its mailbox is pinned outside the cache so it is never
 * passivated mid-command. Rehydration = latest snapshot of this machine version + the events after.
 *
 * Sequencing (domain/source-sequences.ts): a `parked` decision (gap in the source's sequence) is
 * written to the node database before it is reported, released when the command before it is
 * applied, or decided with `ignoreSequenceGap` (applied and flagged) after the park timeout; the
 * ones parked below a command so forced are then late facts and are released as well.
 */
import { LRUCache } from "lru-cache";
import type { Logger } from "pino";
import { type Actor, createActor } from "xstate";
import type { CanonicalEvent } from "../../domain/canonical-event.ts";
import type { Command } from "../../domain/commands.ts";
import { positionStreamId } from "../../domain/ids.ts";
import type { OwnershipPolicy } from "../../domain/ownership-policy.ts";
import {
  type DecisionConfig,
  type DecisionEnv,
  initialPositionState,
  type Outcome,
  type PositionState,
  type RejectionReason,
  toCanonicalEvents,
} from "../../domain/position.decider.ts";
import { POSITION_MACHINE_VERSION, positionMachine } from "../../domain/position.machine.ts";
import type { PositionLimits } from "../../domain/position-context.ts";
import type { EventStore, NewEvent } from "../../infra/event-store/event-store.ts";
import { LogLimiter } from "../../infra/logging.ts";
import { gauge } from "../../infra/metrics.ts";
import type { GroupCommitter } from "./group-committer.ts";
import type { NodeDb, ParkedRow } from "./node-db.ts";

type PositionActor = Actor<typeof positionMachine>;

/** What handling one command came to. */
export type HandleResult =
  | {
      readonly kind: "accepted";
      readonly events: readonly CanonicalEvent[];
      readonly forcedAfterGap?: boolean;
    }
  | {
      readonly kind: "duplicate";
      readonly firstRevision?: number;
      readonly lastRevision?: number;
      /** The first handling's events, when asked for (`withDuplicateEvents`). */
      readonly events?: readonly CanonicalEvent[];
    }
  | { readonly kind: "rejected"; readonly reason: RejectionReason }
  | Extract<Outcome, { kind: "parked" }>
  /**
   * Not applied: revision conflicts persisted (`retryable: false`, dead-letter it) or the store failed
   * (`retryable: true`, redeliver later).
   */
  | {
      readonly kind: "failed";
      readonly error: string;
      readonly retryable: boolean;
      /** `decisionFailed`: deciding or evolving threw (see `DecisionFailure`); dead-letter the command. */
      readonly code?: "decisionFailed";
      readonly stage?: DecisionStage;
    };

/** Where an error of the domain code met one command: deciding it, feeding its events, or rehydrating. */
export type DecisionStage = "decide" | "evolve" | "replay";
const STAGE_TEXT: Record<DecisionStage, string> = {
  decide: "deciding",
  evolve: "applying its events",
  replay: "rehydrating the position",
};

/**
 * An error thrown while deciding or evolving one command (in the machine, the decider,
 * toCanonicalEvents, JSON, hashing): the command's dead letter, never the process's crash. Anything
 * else thrown while handling (the store, the node database) is a retryable failure.
 */
export class DecisionFailure extends Error {
  constructor(
    readonly stage: DecisionStage,
    cause: unknown,
  ) {
    const inner = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause);
    super(`${STAGE_TEXT[stage]} threw ${inner}`, { cause });
    this.name = "DecisionFailure";
  }
}

/** XState reports an actor's error to its observers, or (with none) rethrows it in a timer, where
 * nothing can catch it: every actor gets this observer, and the runtime reads the error snapshot. */
const ACTOR_ERRORS_ARE_READ_FROM_THE_SNAPSHOT = { error: () => {} };

const actorError = (actor: PositionActor): unknown => {
  const s = actor.getSnapshot();
  return s.status === "error" ? (s.error ?? new Error("the position actor failed")) : undefined;
};

export interface SubmitOptions {
  /** Read the first handling's events for a duplicate (request/reply and HTTP answers). */
  readonly withDuplicateEvents?: boolean;
}

/** What the runtime tells the node about commands it handled on its own (released or timed-out parked ones). */
export type InternalOutcomeSink = (
  command: Command,
  result: HandleResult,
  origin: "released" | "parkTimeout",
) => Promise<void>;

export interface PositionRuntimeOptions {
  readonly region: string;
  readonly store: Pick<EventStore, "readStream">;
  readonly committer: GroupCommitter;
  readonly nodeDb: NodeDb;
  readonly policy: OwnershipPolicy;
  readonly decisionConfig: DecisionConfig;
  readonly limits: PositionLimits;
  readonly snapshotEvery: number;
  readonly cache: { readonly max: number; readonly idleMs: number };
  readonly maxRetries: number;
  readonly parkTimeoutMs: number;
  readonly logger: Logger;
  readonly onInternalOutcome?: InternalOutcomeSink;
}

interface Job {
  readonly command: Command;
  readonly opts: SubmitOptions;
  /** Apply even though the source sequence has a gap (park timeout). */
  readonly force?: boolean;
  readonly resolve: (r: HandleResult) => void;
}

interface Slot {
  readonly streamId: string;
  actor: PositionActor | undefined;
  readonly mailbox: Job[];
  running: boolean;
  eventsSinceSnapshot: number;
}

const activeActors = gauge("stockline_node_active_actors", "Live position actors", ["region"]);
const parkedGauge = gauge("stockline_node_parked_commands", "Commands held for a sequence gap", ["region"]);

export class PositionRuntime {
  /** Slots with work: pinned, never passivated. */
  private readonly busy = new Map<string, Slot>();
  /** Idle slots with a live actor, bounded and passivated on eviction or idleness. */
  private readonly idle: LRUCache<string, Slot>;
  private readonly pendingSnapshots = new Map<string, { revision: number; state: unknown }>();
  /** Streams with parked commands, so the release check costs a map lookup when there are none. */
  private readonly parkedStreams = new Map<string, number>();
  private readonly log: Logger;
  /** Errors of one kind in a flood are counted, not each logged. */
  private readonly limited: LogLimiter;
  /** Parked rows being handled right now (the sweep must not start them twice). */
  private readonly releasing = new Set<string>();
  private idleWaiters: Array<() => void> = [];
  private parkTimer: NodeJS.Timeout | undefined;
  private purgeTimer: NodeJS.Timeout | undefined;
  private sweeping = false;
  private parkQueue: Array<{
    row: ParkedRow;
    resolve: (added: boolean) => void;
    reject: (e: unknown) => void;
  }> = [];
  private unparkQueue: ParkedRow[] = [];
  private parkFlushScheduled = false;
  private stopped = false;
  readonly counters = { loads: 0, conflicts: 0, passivated: 0, snapshots: 0 };
  private envCache: DecisionEnv | undefined;
  private envAt = 0;
  private lastDecision: Outcome | undefined;
  private readonly onDecision = (e: { outcome: Outcome }): void => {
    this.lastDecision = e.outcome;
  };

  constructor(private readonly o: PositionRuntimeOptions) {
    this.log = o.logger;
    this.limited = new LogLimiter(o.logger);
    this.idle = new LRUCache<string, Slot>({
      max: o.cache.max,
      ttl: o.cache.idleMs,
      updateAgeOnGet: false,
      dispose: (slot, _key, reason) => {
        // `delete` is our own move of a slot to the busy map; evict/expire is passivation.
        if (reason === "delete" || reason === "set") return;
        this.passivate(slot);
      },
    });
    for (const row of o.nodeDb.expiredParked(Number.MAX_SAFE_INTEGER, 1_000_000)) {
      this.parkedStreams.set(row.streamId, (this.parkedStreams.get(row.streamId) ?? 0) + 1);
    }
    parkedGauge.set({ region: o.region }, o.nodeDb.parkedCount());
    const sweepEvery = Math.max(50, Math.min(1_000, Math.floor(o.parkTimeoutMs / 4)));
    this.parkTimer = setInterval(() => void this.sweepParked(), sweepEvery);
    this.parkTimer.unref();
    this.purgeTimer = setInterval(
      () => this.idle.purgeStale(),
      Math.max(1_000, Math.floor(o.cache.idleMs / 2)),
    );
    this.purgeTimer.unref();
  }

  get activeCount(): number {
    return this.busy.size + this.idle.size;
  }

  /** Decides one command on its position; resolves once the outcome is durable (committed or parked). */
  submit(command: Command, opts: SubmitOptions = {}): Promise<HandleResult> {
    return new Promise((resolve) => this.enqueue({ command, opts, resolve }));
  }

  /** Resolves when every mailbox is empty and the committer has written everything. */
  async drain(): Promise<void> {
    while (this.busy.size > 0) await new Promise<void>((r) => this.idleWaiters.push(r));
    await this.o.committer.drain();
    this.flushSnapshots();
  }

  /** Stops timers, passivates every actor (writing snapshots). Call after `drain`. */
  close(): void {
    this.stopped = true;
    clearInterval(this.parkTimer);
    clearInterval(this.purgeTimer);
    this.limited.stop(); // the counts of suppressed lines, before the process goes
    for (const slot of this.idle.values()) this.passivate(slot);
    this.idle.clear(); // dispose reason "delete": already passivated above
    for (const slot of this.busy.values()) slot.actor?.stop();
    this.flushSnapshots();
    const unparks = this.unparkQueue.splice(0);
    if (unparks.length > 0) this.o.nodeDb.parkMany([], unparks);
  }

  /** Writes the snapshots that became due; the committer calls this after each commit. */
  flushSnapshots(): void {
    if (this.pendingSnapshots.size === 0) return;
    const items = [...this.pendingSnapshots].map(([streamId, s]) => ({
      streamId,
      snapshot: { revision: s.revision, version: POSITION_MACHINE_VERSION, state: s.state },
    }));
    this.pendingSnapshots.clear();
    try {
      this.o.nodeDb.saveSnapshots(items);
      this.counters.snapshots += items.length;
    } catch (err) {
      this.log.warn({ err }, "could not save position snapshots (they are a cache; replay still works)");
    }
  }

  private enqueue(job: Job): void {
    const streamId = positionStreamId(job.command.position);
    let slot = this.busy.get(streamId);
    if (!slot) {
      slot = this.idle.get(streamId);
      if (slot) this.idle.delete(streamId);
      else slot = { streamId, actor: undefined, mailbox: [], running: false, eventsSinceSnapshot: 0 };
      this.busy.set(streamId, slot);
    }
    slot.mailbox.push(job);
    if (!slot.running) void this.run(slot);
  }

  private async run(slot: Slot): Promise<void> {
    slot.running = true;
    try {
      for (let job = slot.mailbox.shift(); job; job = slot.mailbox.shift()) {
        let result: HandleResult;
        try {
          result = await this.handle(slot, job);
        } catch (err) {
          // The actor may be half-way through or in an error state: the next command reloads it from the store.
          try {
            slot.actor?.stop();
          } catch {}
          slot.actor = undefined;
          const c = job.command;
          const where = {
            streamId: slot.streamId,
            correlationId: c.correlationId,
            sku: c.position.sku,
            location: c.position.location,
          };
          if (err instanceof DecisionFailure) {
            this.limited.error(
              `decision failed ${err.stage}`,
              { err, ...where },
              "command could not be decided; it is dead-lettered",
            );
            result = {
              kind: "failed",
              error: err.message,
              retryable: false,
              code: "decisionFailed",
              stage: err.stage,
            };
          } else {
            this.limited.error(
              "handling failed",
              { err, ...where },
              "command handling failed; it will be retried",
            );
            result = { kind: "failed", error: (err as Error)?.message ?? String(err), retryable: true };
          }
        }
        job.resolve(result);
      }
    } finally {
      slot.running = false;
      this.busy.delete(slot.streamId);
      if (slot.actor && !this.stopped) this.idle.set(slot.streamId, slot);
      activeActors.set({ region: this.o.region }, this.activeCount);
      if (this.busy.size === 0) for (const wake of this.idleWaiters.splice(0)) wake();
    }
  }

  /** The decision environment, made once per millisecond rather than once per command. */
  private env(): DecisionEnv {
    const t = Date.now();
    if (this.envCache === undefined || t !== this.envAt) {
      this.envAt = t;
      this.envCache = {
        now: new Date(t).toISOString(),
        policy: this.o.policy,
        config: this.o.decisionConfig,
      };
    }
    return this.envCache;
  }

  private async handle(slot: Slot, job: Job): Promise<HandleResult> {
    const { command } = job;
    for (let attempt = 0; attempt <= this.o.maxRetries; attempt++) {
      const actor = slot.actor ?? (await this.load(slot, command));
      const state = actor.getSnapshot().context;
      const outcome = this.decideLive(actor, command, job.force === true);
      switch (outcome.kind) {
        case "duplicate":
          return {
            kind: "duplicate",
            ...(outcome.firstRevision !== undefined ? { firstRevision: outcome.firstRevision } : {}),
            ...(outcome.lastRevision !== undefined ? { lastRevision: outcome.lastRevision } : {}),
            ...(job.opts.withDuplicateEvents ? { events: await this.eventsOf(slot.streamId, outcome) } : {}),
          };
        case "rejected":
          return { kind: "rejected", reason: outcome.reason };
        case "parked":
          return await this.park(slot, command, outcome);
        case "accepted": {
          let stored: CanonicalEvent[];
          let newEvents: NewEvent[];
          try {
            stored = toCanonicalEvents(outcome.events, {
              prevRevision: state.revision,
              prevHash: state.lastHash,
              recordedTime: this.env().now,
            });
            newEvents = stored.map((e) => ({ eventId: e.eventId, type: e.type, data: e }));
          } catch (err) {
            throw new DecisionFailure("decide", err);
          }
          const committed = await this.o.committer.append(slot.streamId, newEvents, state.revision);
          if (!committed.ok) {
            // Another writer got there first: our actor is stale. Reload and decide again.
            this.counters.conflicts++;
            this.log.info(
              {
                streamId: slot.streamId,
                attempt,
                err: committed.error.message,
                correlationId: command.correlationId,
              },
              "revision conflict; reloading position",
            );
            actor.stop();
            slot.actor = undefined;
            // Jittered backoff, so two writers of one hot position do not keep colliding in lock step.
            await new Promise((r) => setTimeout(r, Math.random() * Math.min(200, 2 ** attempt)));
            continue;
          }
          for (const event of stored) actor.send({ type: "EVENT", event });
          const evolveError = actorError(actor);
          if (evolveError !== undefined) {
            // Committed, so the command is accepted; the actor is dropped (no snapshot of it) and the
            // next command reloads the position (where the same error, if it is the event's, fails that load).
            this.limited.error(
              "evolve failed after commit",
              { err: evolveError, streamId: slot.streamId, correlationId: command.correlationId },
              "committed events could not be applied to the live actor; it is reloaded",
            );
            actor.stop();
            slot.actor = undefined;
          }
          slot.eventsSinceSnapshot += stored.length;
          if (slot.actor && slot.eventsSinceSnapshot >= this.o.snapshotEvery) {
            slot.eventsSinceSnapshot = 0;
            const last = stored[stored.length - 1];
            if (last)
              this.pendingSnapshots.set(slot.streamId, {
                revision: last.revision,
                state: actor.getPersistedSnapshot(),
              });
          }
          this.releaseNext(slot.streamId, command, outcome.sequenceGap !== undefined);
          return {
            kind: "accepted",
            events: stored,
            ...(outcome.sequenceGap ? { forcedAfterGap: true } : {}),
          };
        }
      }
    }
    return {
      kind: "failed",
      retryable: false,
      error: `revision conflicts on ${slot.streamId} persisted after ${this.o.maxRetries + 1} attempts`,
    };
  }

  /** `ignoreSequenceGap`: after the park timeout, decide across the gap (the outcome says if there was one). */
  private decideLive(actor: PositionActor, command: Command, ignoreSequenceGap: boolean): Outcome {
    // The actor emits synchronously into `lastDecision` (one listener per actor, set in `load`).
    this.lastDecision = undefined;
    try {
      const env = this.env();
      actor.send({ type: "COMMAND", command, env, ...(ignoreSequenceGap ? { ignoreSequenceGap } : {}) });
    } catch (err) {
      throw new DecisionFailure("decide", err);
    }
    const decision = this.lastDecision as Outcome | undefined;
    this.lastDecision = undefined;
    // A throw inside the machine leaves the actor in an error snapshot (its observer swallowed the report).
    const failed = actorError(actor);
    if (failed !== undefined) throw new DecisionFailure("decide", failed);
    if (!decision) throw new DecisionFailure("decide", new Error("the position actor emitted no decision"));
    return decision;
  }

  private async load(slot: Slot, command: Command): Promise<PositionActor> {
    this.counters.loads++;
    const position = {
      region: command.position.region,
      location: command.position.location,
      sku: command.position.sku,
    };
    let actor: PositionActor | undefined;
    let revision = -1;
    const snap = this.o.nodeDb.loadSnapshotSync(slot.streamId);
    if (snap && snap.version === POSITION_MACHINE_VERSION) {
      try {
        const persisted = snap.state as { context?: PositionState };
        if (persisted.context?.revision === snap.revision) {
          actor = createActor(positionMachine, {
            // biome-ignore lint/suspicious/noExplicitAny: a persisted snapshot is opaque to XState's types
            snapshot: persisted as any,
            input: { context: persisted.context },
          });
          actor.subscribe(ACTOR_ERRORS_ARE_READ_FROM_THE_SNAPSHOT);
          actor.start();
          const failed = actorError(actor);
          if (failed !== undefined) throw failed;
          revision = snap.revision;
        }
      } catch (err) {
        this.log.warn({ err, streamId: slot.streamId }, "ignoring unusable snapshot");
        actor?.stop();
        actor = undefined;
        revision = -1;
      }
    }
    if (!actor) {
      try {
        const context = initialPositionState(position, this.o.limits);
        actor = createActor(positionMachine, { input: { context } });
        actor.subscribe(ACTOR_ERRORS_ARE_READ_FROM_THE_SNAPSHOT);
        actor.start();
      } catch (err) {
        throw new DecisionFailure("replay", err);
      }
      const failed = actorError(actor);
      if (failed !== undefined) throw new DecisionFailure("replay", failed);
    }
    actor.on("decision", this.onDecision);
    for (;;) {
      // A store error here is retryable (thrown as is); an event the machine cannot apply is not.
      const page = await this.o.store.readStream(slot.streamId, { from: revision + 1, maxCount: 1000 });
      for (const e of page) actor.send({ type: "EVENT", event: e.data as CanonicalEvent });
      const failed = actorError(actor);
      if (failed !== undefined) {
        actor.stop();
        throw new DecisionFailure("replay", failed);
      }
      if (page.length > 0) revision = page[page.length - 1]!.revision;
      if (page.length < 1000) break;
    }
    slot.actor = actor;
    slot.eventsSinceSnapshot = 0;
    return actor;
  }

  private passivate(slot: Slot): void {
    const actor = slot.actor;
    if (!actor) return;
    this.counters.passivated++;
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

  private async eventsOf(
    streamId: string,
    d: { firstRevision?: number; lastRevision?: number },
  ): Promise<CanonicalEvent[]> {
    if (d.firstRevision === undefined || d.lastRevision === undefined) return [];
    const events = await this.o.store.readStream(streamId, {
      from: d.firstRevision,
      maxCount: d.lastRevision - d.firstRevision + 1,
    });
    return events.map((e) => e.data as CanonicalEvent);
  }

  // --- sequencing ------------------------------------------------------------------------------------

  private async park(
    slot: Slot,
    command: Command,
    outcome: Extract<Outcome, { kind: "parked" }>,
  ): Promise<HandleResult> {
    const now = Date.now();
    const added = await this.writePark({
      streamId: slot.streamId,
      system: outcome.system,
      sequence: outcome.got,
      idempotencyKey: command.idempotencyKey,
      command: JSON.stringify(command),
      parkedAt: now,
      deadline: now + this.o.parkTimeoutMs,
    });
    if (added) {
      this.parkedStreams.set(slot.streamId, (this.parkedStreams.get(slot.streamId) ?? 0) + 1);
      parkedGauge.inc({ region: this.o.region });
    }
    return {
      kind: "parked",
      system: outcome.system,
      expectedSequence: outcome.expectedSequence,
      got: outcome.got,
    };
  }

  /** Parks of one turn of the event loop share one transaction (one fsync), like the group commit. */
  private writePark(row: ParkedRow): Promise<boolean> {
    return new Promise((resolve, reject) => {
      this.parkQueue.push({ row, resolve, reject });
      this.scheduleParkFlush();
    });
  }

  private scheduleParkFlush(): void {
    if (this.parkFlushScheduled) return;
    this.parkFlushScheduled = true;
    setImmediate(() => {
      this.parkFlushScheduled = false;
      const parks = this.parkQueue.splice(0);
      const unparks = this.unparkQueue.splice(0);
      try {
        const added = this.o.nodeDb.parkMany(
          parks.map((p) => p.row),
          unparks,
        );
        for (const [i, p] of parks.entries()) p.resolve(added[i] ?? false);
      } catch (err) {
        for (const p of parks) p.reject(err);
        this.log.error({ err }, "could not write parked commands");
      }
    });
  }

  /**
   * After `command` was applied, the parked command right after it in its source's sequence may go.
   * A command forced across a gap also turns the parked ones below it into late facts: they go too.
   */
  private releaseNext(streamId: string, command: Command, forcedAcrossGap: boolean): void {
    const seq = command.source.sequence;
    const system = command.source.system;
    if (seq === undefined || !this.parkedStreams.has(streamId)) return;
    for (const row of this.o.nodeDb.parkedAt(streamId, system, seq + 1)) {
      this.unparkAndRun(row, false, "released");
    }
    if (!forcedAcrossGap) return;
    for (const row of this.o.nodeDb.parkedOf(streamId)) {
      if (row.system === system && row.sequence < seq) this.unparkAndRun(row, false, "released");
    }
  }

  private unparkAndRun(row: ParkedRow, force: boolean, origin: "released" | "parkTimeout"): void {
    const key = `${row.streamId}\u0000${row.system}\u0000${row.sequence}\u0000${row.idempotencyKey}`;
    if (this.releasing.has(key)) return;
    let command: Command;
    try {
      command = JSON.parse(row.command) as Command;
    } catch {
      this.forget(row);
      return;
    }
    this.releasing.add(key);
    // The row stays until the outcome is durable (applied, duplicate, or dead-lettered by the sink).
    const done = new Promise<HandleResult>((resolve) => this.enqueue({ command, opts: {}, force, resolve }));
    void done.then(async (result) => {
      try {
        if (result.kind === "parked") return; // still a gap before it: stays parked (same row)
        if (result.kind === "accepted" && result.forcedAfterGap) {
          this.log.warn(
            {
              region: command.position.region,
              location: command.position.location,
              sku: command.position.sku,
              correlationId: command.correlationId,
              system: row.system,
              sequence: row.sequence,
            },
            "sequence gap not filled within the park timeout; command applied and flagged",
          );
        }
        await this.o.onInternalOutcome?.(command, result, origin);
        this.forget(row);
      } catch (err) {
        // Kept parked: the next sweep tries again (a repeat is a duplicate by idempotency key).
        this.log.error({ err, correlationId: command.correlationId }, "could not settle a released command");
      } finally {
        this.releasing.delete(key);
      }
    });
  }

  private forget(row: ParkedRow): void {
    // Batched with the next parks: if the delete is lost in a crash, the command is re-applied later as a duplicate.
    this.unparkQueue.push(row);
    this.scheduleParkFlush();
    const n = (this.parkedStreams.get(row.streamId) ?? 1) - 1;
    if (n <= 0) this.parkedStreams.delete(row.streamId);
    else this.parkedStreams.set(row.streamId, n);
    parkedGauge.dec({ region: this.o.region });
  }

  private async sweepParked(): Promise<void> {
    if (this.sweeping || this.stopped || this.parkedStreams.size === 0) return;
    this.sweeping = true;
    try {
      for (const row of this.o.nodeDb.expiredParked(Date.now(), 500))
        this.unparkAndRun(row, true, "parkTimeout");
    } catch (err) {
      this.log.error({ err }, "parked-command sweep failed");
    } finally {
      this.sweeping = false;
    }
  }
}
