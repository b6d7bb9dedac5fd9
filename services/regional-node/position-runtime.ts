/**
 * Position actors (DESIGN §3.6): every active SKU-location is a live XState actor of the position
 * machine. Commands to one position run one at a time (a mailbox); positions run in parallel, and
 * their appends meet in the group committer. A decision's events are fed into the actor only after
 * the store committed them; on a revision conflict (another writer) the actor is dropped, reloaded
 * from the store and the command decided again, a bounded number of times.
 *
 * The parts: where live actors are kept and passivated (actor-cache.ts), how one is loaded from a
 * snapshot and the events after it (position-loader.ts), and the commands held for a gap in their
 * source's sequence (sequence-parking.ts). This file runs the mailboxes and decides.
 */
import type { Logger } from "pino";
import type { CanonicalEvent } from "../../domain/canonical-event.ts";
import type { Command } from "../../domain/commands.ts";
import { positionStreamId } from "../../domain/ids.ts";
import type { OwnershipPolicy } from "../../domain/ownership-policy.ts";
import {
  type DecisionConfig,
  type DecisionEnv,
  type Outcome,
  toCanonicalEvents,
} from "../../domain/position.decider.ts";
import type { PositionLimits } from "../../domain/position-context.ts";
import { upcastStoredEvent } from "../../domain/upcasters.ts";
import type { EventStore, NewEvent } from "../../infra/event-store/event-store.ts";
import { LogLimiter } from "../../infra/logging.ts";
import { ActorCache, type Slot } from "./actor-cache.ts";
import type { GroupCommitter } from "./group-committer.ts";
import { DecisionFailure, type HandleResult } from "./handle-result.ts";
import type { NodeDb } from "./node-db.ts";
import { actorError, loadPositionActor, type PositionActor } from "./position-loader.ts";
import { type InternalOutcomeSink, SequenceParking } from "./sequence-parking.ts";

export type { DecisionStage, HandleResult } from "./handle-result.ts";
export { DecisionFailure } from "./handle-result.ts";
export type { InternalOutcomeSink } from "./sequence-parking.ts";

export interface SubmitOptions {
  /** Read the first handling's events for a duplicate (request/reply and HTTP answers). */
  readonly withDuplicateEvents?: boolean;
}

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

export class PositionRuntime {
  private readonly actors: ActorCache<Job>;
  private readonly parking: SequenceParking;
  private readonly log: Logger;
  /** Errors of one kind in a flood are counted, not each logged. */
  private readonly limited: LogLimiter;
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
    this.actors = new ActorCache<Job>({
      region: o.region,
      max: o.cache.max,
      idleMs: o.cache.idleMs,
      snapshotEvery: o.snapshotEvery,
      nodeDb: o.nodeDb,
      logger: o.logger,
      counters: this.counters,
    });
    this.parking = new SequenceParking({
      region: o.region,
      nodeDb: o.nodeDb,
      parkTimeoutMs: o.parkTimeoutMs,
      logger: o.logger,
      run: (command, force) => new Promise((resolve) => this.enqueue({ command, opts: {}, force, resolve })),
      ...(o.onInternalOutcome ? { onInternalOutcome: o.onInternalOutcome } : {}),
    });
  }

  get activeCount(): number {
    return this.actors.size;
  }

  /** Decides one command on its position; resolves once the outcome is durable (committed or parked). */
  submit(command: Command, opts: SubmitOptions = {}): Promise<HandleResult> {
    return new Promise((resolve) => this.enqueue({ command, opts, resolve }));
  }

  /** Resolves when every mailbox is empty and the committer has written everything. */
  async drain(): Promise<void> {
    await this.actors.whenIdle();
    await this.o.committer.drain();
    this.flushSnapshots();
  }

  /** Drops the idle actors of the streams `matches` (partition hand-over); see `ActorCache.evictWhere`. */
  evictWhere(matches: (streamId: string) => boolean): number {
    return this.actors.evictWhere(matches);
  }

  /** Stops timers, passivates every actor (writing snapshots). Call after `drain`. */
  close(): void {
    this.parking.close();
    this.limited.stop(); // the counts of suppressed lines, before the process goes
    this.actors.close();
  }

  /** Writes the snapshots that became due; the committer calls this after each commit. */
  flushSnapshots(): void {
    this.actors.flushSnapshots();
  }

  private enqueue(job: Job): void {
    const slot = this.actors.checkOut(positionStreamId(job.command.position));
    slot.mailbox.push(job);
    if (!slot.running) void this.run(slot);
  }

  private async run(slot: Slot<Job>): Promise<void> {
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
          result = this.failure(slot, job.command, err);
        }
        job.resolve(result);
      }
    } finally {
      slot.running = false;
      this.actors.checkIn(slot);
    }
  }

  /** A throw while handling: the domain code's is the command's dead letter, anything else is retried. */
  private failure(slot: Slot<Job>, c: Command, err: unknown): HandleResult {
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
      return {
        kind: "failed",
        error: err.message,
        retryable: false,
        code: "decisionFailed",
        stage: err.stage,
      };
    }
    this.limited.error("handling failed", { err, ...where }, "command handling failed; it will be retried");
    return { kind: "failed", error: (err as Error)?.message ?? String(err), retryable: true };
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

  private async handle(slot: Slot<Job>, job: Job): Promise<HandleResult> {
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
          return await this.parking.park(slot.streamId, command, outcome);
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
          this.actors.applied(slot, stored);
          this.parking.releaseAfter(slot.streamId, command, outcome.sequenceGap !== undefined);
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

  private async load(slot: Slot<Job>, command: Command): Promise<PositionActor> {
    this.counters.loads++;
    const { region, location, sku } = command.position;
    const actor = await loadPositionActor(
      { store: this.o.store, nodeDb: this.o.nodeDb, limits: this.o.limits, logger: this.log },
      slot.streamId,
      { region, location, sku },
      this.onDecision,
    );
    slot.actor = actor;
    slot.eventsSinceSnapshot = 0;
    return actor;
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
    return events.map((e) => upcastStoredEvent(e.data) as CanonicalEvent);
  }
}
