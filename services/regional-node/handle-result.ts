/**
 * What handling one command on its position came to (position-runtime.ts), and the error that turns
 * a throw of the domain code into that command's dead letter instead of the process's crash.
 */
import type { CanonicalEvent } from "../../domain/canonical-event.ts";
import type { Outcome, RejectionReason } from "../../domain/position.decider.ts";

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
