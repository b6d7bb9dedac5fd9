/**
 * Loading a position actor (DESIGN §3.6): rehydration = the latest snapshot of this machine version
 * (if usable) + the events after it, read from the store in pages. An unusable snapshot is ignored
 * (snapshots are a cache; replay still works); an event the machine cannot apply fails the load as a
 * `DecisionFailure("replay")`, while a store error is thrown as is (retryable).
 */
import type { Logger } from "pino";
import { type Actor, createActor } from "xstate";
import type { CanonicalEvent } from "../../domain/canonical-event.ts";
import type { Position } from "../../domain/ids.ts";
import { initialPositionState, type Outcome, type PositionState } from "../../domain/position.decider.ts";
import { POSITION_MACHINE_VERSION, positionMachine } from "../../domain/position.machine.ts";
import type { PositionLimits } from "../../domain/position-context.ts";
import { upcastStoredEvent } from "../../domain/upcasters.ts";
import type { EventStore } from "../../infra/event-store/event-store.ts";
import { DecisionFailure } from "./handle-result.ts";
import type { NodeDb } from "./node-db.ts";

export type PositionActor = Actor<typeof positionMachine>;

/** XState reports an actor's error to its observers, or (with none) rethrows it in a timer, where
 * nothing can catch it: every actor gets this observer, and the runtime reads the error snapshot. */
const ACTOR_ERRORS_ARE_READ_FROM_THE_SNAPSHOT = { error: () => {} };

/** The error a position actor stopped on, if it is in an error snapshot. */
export const actorError = (actor: PositionActor): unknown => {
  const s = actor.getSnapshot();
  return s.status === "error" ? (s.error ?? new Error("the position actor failed")) : undefined;
};

export interface PositionLoaderDeps {
  readonly store: Pick<EventStore, "readStream">;
  readonly nodeDb: Pick<NodeDb, "loadSnapshotSync">;
  readonly limits: PositionLimits;
  readonly logger: Logger;
}

const PAGE = 1000;

/**
 * A started actor of `streamId` at the store's latest revision, with `onDecision` listening to its
 * decisions (the runtime collects each command's outcome there).
 */
export async function loadPositionActor(
  deps: PositionLoaderDeps,
  streamId: string,
  position: Position,
  onDecision: (e: { outcome: Outcome }) => void,
): Promise<PositionActor> {
  let actor: PositionActor | undefined;
  let revision = -1;
  const snap = deps.nodeDb.loadSnapshotSync(streamId);
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
      deps.logger.warn({ err, streamId }, "ignoring unusable snapshot");
      actor?.stop();
      actor = undefined;
      revision = -1;
    }
  }
  if (!actor) {
    try {
      const context = initialPositionState(position, deps.limits);
      actor = createActor(positionMachine, { input: { context } });
      actor.subscribe(ACTOR_ERRORS_ARE_READ_FROM_THE_SNAPSHOT);
      actor.start();
    } catch (err) {
      throw new DecisionFailure("replay", err);
    }
    const failed = actorError(actor);
    if (failed !== undefined) throw new DecisionFailure("replay", failed);
  }
  actor.on("decision", onDecision);
  for (;;) {
    // A store error here is retryable (thrown as is); an event the machine cannot apply is not.
    const page = await deps.store.readStream(streamId, { from: revision + 1, maxCount: PAGE });
    for (const e of page) {
      let event: CanonicalEvent;
      try {
        event = upcastStoredEvent(e.data) as CanonicalEvent; // an older version read in the current shape
      } catch (err) {
        actor.stop();
        throw new DecisionFailure("replay", err);
      }
      actor.send({ type: "EVENT", event });
    }
    const failed = actorError(actor);
    if (failed !== undefined) {
      actor.stop();
      throw new DecisionFailure("replay", failed);
    }
    if (page.length > 0) revision = page[page.length - 1]!.revision;
    if (page.length < PAGE) break;
  }
  return actor;
}
