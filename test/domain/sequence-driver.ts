/**
 * A small model of what the node's runtime does with a source's sequence (position-runtime.ts), on
 * the pure decider: a `parked` decision is held (one row per sequence and idempotency key), a command
 * applied releases the ones parked right after it, a timeout decides the oldest parked one with
 * `ignoreSequenceGap`, and a command so forced across a gap also releases the ones parked below it.
 */
import type { CanonicalEvent } from "../../domain/canonical-event.ts";
import type { Command } from "../../domain/commands.ts";
import {
  type DecisionEnv,
  decide,
  evolve,
  initialPositionState,
  type Outcome,
  type PositionState,
  toCanonicalEvents,
} from "../../domain/position.decider.ts";
import { POS } from "./position-spec.ts";

export interface Delivery {
  readonly command: Command;
  readonly outcome: Outcome;
  /** Delivered by the driver itself: released after a fill, or forced by a timeout. */
  readonly origin: "delivered" | "released" | "timeout";
}

export class SequenceDriver {
  state: PositionState;
  readonly events: CanonicalEvent[] = [];
  readonly log: Delivery[] = [];
  /** Parked commands in the order they were parked (the runtime's deadlines). */
  parked: Command[] = [];

  constructor(
    private readonly env: DecisionEnv,
    state: PositionState = initialPositionState(POS),
  ) {
    this.state = state;
  }

  /** A message from the intake. */
  deliver(command: Command): Outcome {
    return this.handle(command, false, "delivered");
  }

  /** The park timeout of the oldest parked command; false when nothing is parked. */
  timeout(): boolean {
    const oldest = this.parked.shift();
    if (!oldest) return false;
    this.handle(oldest, true, "timeout");
    return true;
  }

  /** Timeouts until nothing is parked, lowest sequence first (`byAge`: oldest parked first). */
  drain(order: "bySequence" | "byAge" = "bySequence"): void {
    if (order === "bySequence") {
      this.parked.sort((a, b) => (a.source.sequence ?? 0) - (b.source.sequence ?? 0));
    }
    while (this.timeout()) {}
  }

  parkedSequences(): number[] {
    return [...new Set(this.parked.map((c) => c.source.sequence ?? -1))].sort((a, b) => a - b);
  }

  private handle(command: Command, force: boolean, origin: Delivery["origin"]): Outcome {
    const outcome = decide(command, this.state, this.env, { ignoreSequenceGap: force });
    this.log.push({ command, outcome, origin });
    if (outcome.kind === "parked") {
      const same = (c: Command) =>
        c.idempotencyKey === command.idempotencyKey &&
        c.source.system === command.source.system &&
        c.source.sequence === command.source.sequence;
      if (!this.parked.some(same)) this.parked.push(command);
      return outcome;
    }
    if (outcome.kind !== "accepted") return outcome;
    const stored = toCanonicalEvents(outcome.events, {
      prevRevision: this.state.revision,
      prevHash: this.state.lastHash,
      recordedTime: this.env.now,
    });
    for (const e of stored) this.state = evolve(this.state, e);
    this.events.push(...stored);
    const seq = command.source.sequence;
    if (seq !== undefined) {
      const system = command.source.system;
      const released = this.parked.filter(
        (c) =>
          c.source.system === system &&
          (c.source.sequence === seq + 1 ||
            (outcome.sequenceGap !== undefined && (c.source.sequence ?? 0) < seq)),
      );
      this.parked = this.parked.filter((c) => !released.includes(c));
      for (const c of released) this.handle(c, false, "released");
    }
    return outcome;
  }
}
