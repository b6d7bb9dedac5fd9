/**
 * The position machine (DESIGN §3.6): one per SKU-location.
 *
 * Two kinds of input:
 * - `{ type: "COMMAND", command, env, ignoreSequenceGap? }`: the transition only *emits* one
 *   `decision` with the outcome (accepted events, duplicate, rejected, parked). It never changes
 *   the context. `ignoreSequenceGap` decides across a gap instead of parking (park timeout).
 * - `{ type: "EVENT", event }`: a stored canonical event; the transition *assigns* the context
 *   and moves between lifecycle states. Live handling and rehydration run this same code.
 *
 * A runtime with a live actor collects the decision like this, then appends and feeds back:
 *
 *   // From a persisted snapshot (XState's types want `input` too; it is ignored when restoring),
 *   // or from a rehydrated context alone: createActor(positionMachine, { input: { context } }).
 *   const actor = createActor(positionMachine, { snapshot, input: { context: snapshot.context } }).start();
 *   let decision: Outcome | undefined;
 *   const sub = actor.on("decision", (e) => { decision = e.outcome; });
 *   actor.send({ type: "COMMAND", command, env });                    // emit is synchronous
 *   sub.unsubscribe();
 *   if (decision?.kind === "accepted") {
 *     const stored = toCanonicalEvents(decision.events, { ... });      // revision + hash chain
 *     await store.appendToStream(stream, stored, { expectedRevision }); // then, on success:
 *     for (const event of stored) actor.send({ type: "EVENT", event });
 *   }
 *   persist(actor.getPersistedSnapshot());                             // for passivation
 *
 * States: `restoring` (transient: routes to the lifecycle the context holds, so an actor can start
 * from `input`), `active`, `onHold` (requests rejected, facts still recorded) and `discontinued`
 * (no new reservations; receipts are recorded with an anomaly; stock drains).
 */
import { assign, emit, setup } from "xstate";
import type { CanonicalEvent, Lifecycle } from "./canonical-event.ts";
import type { Command } from "./commands.ts";
import { applyEvent, type PositionContext } from "./position-context.ts";
import { type DecisionEnv, decideCommand, type Outcome } from "./position-decisions.ts";

/** Bump when the machine or its context shape changes in a way persisted snapshots cannot follow. */
// 3: inbound transfers remember their origin. 4: open reservations kept in chunks. 5: applied source
// sequences as ranges per system (not the last one), and picks of reservations not yet placed.
// 6: balance history entries kept in chunks.
export const POSITION_MACHINE_VERSION = 6;

export type PositionMachineEvent =
  | {
      readonly type: "COMMAND";
      readonly command: Command;
      readonly env: DecisionEnv;
      /** Decide across a gap in the source's sequence (the park timeout ran out). */
      readonly ignoreSequenceGap?: boolean;
    }
  | { readonly type: "EVENT"; readonly event: CanonicalEvent };

export type PositionEmitted = { readonly type: "decision"; readonly outcome: Outcome };

const NO_INPUT = Object.freeze({}) as PositionContext;

export const positionMachine = setup({
  types: {
    context: {} as PositionContext,
    input: {} as { context: PositionContext },
    events: {} as PositionMachineEvent,
    emitted: {} as PositionEmitted,
  },
  actions: {
    decide: emit(({ context, event }, params: { lifecycle: Lifecycle }): PositionEmitted => {
      if (event.type !== "COMMAND") throw new Error("decide runs on commands only");
      return {
        type: "decision",
        outcome: decideCommand(context, event.command, event.env, params.lifecycle, {
          ignoreSequenceGap: event.ignoreSequenceGap === true,
        }),
      };
    }),
    apply: assign(({ context, event }) =>
      event.type === "EVENT" ? applyEvent(context, event.event) : context,
    ),
  },
  guards: {
    lifecycleIs: ({ context }, params: { lifecycle: Lifecycle }) => context.lifecycle === params.lifecycle,
    becomes: ({ event }, params: { lifecycle: Lifecycle }) =>
      event.type === "EVENT" &&
      event.event.type === "LifecycleChanged" &&
      event.event.to === params.lifecycle,
  },
}).createMachine({
  id: "position",
  // XState's pure `transition` (the decider's `decide`/`evolve`, replays) builds a throwaway actor
  // without input on every call and discards its initial snapshot. Reading `input.context` there
  // threw, and XState turned each throw into an error snapshot with a stack trace: most of a
  // replay's time. Without input the context is an empty placeholder nothing ever reads.
  context: ({ input }) => (input as typeof input | undefined)?.context ?? NO_INPUT,
  initial: "restoring",
  states: {
    restoring: {
      always: [
        { guard: { type: "lifecycleIs", params: { lifecycle: "onHold" } }, target: "onHold" },
        { guard: { type: "lifecycleIs", params: { lifecycle: "discontinued" } }, target: "discontinued" },
        { target: "active" },
      ],
    },
    active: {
      on: {
        COMMAND: { actions: { type: "decide", params: { lifecycle: "active" } } },
        EVENT: [
          { guard: { type: "becomes", params: { lifecycle: "onHold" } }, target: "onHold", actions: "apply" },
          {
            guard: { type: "becomes", params: { lifecycle: "discontinued" } },
            target: "discontinued",
            actions: "apply",
          },
          { actions: "apply" },
        ],
      },
    },
    onHold: {
      on: {
        COMMAND: { actions: { type: "decide", params: { lifecycle: "onHold" } } },
        EVENT: [
          { guard: { type: "becomes", params: { lifecycle: "active" } }, target: "active", actions: "apply" },
          {
            guard: { type: "becomes", params: { lifecycle: "discontinued" } },
            target: "discontinued",
            actions: "apply",
          },
          { actions: "apply" },
        ],
      },
    },
    discontinued: {
      on: {
        COMMAND: { actions: { type: "decide", params: { lifecycle: "discontinued" } } },
        EVENT: { actions: "apply" },
      },
    },
  },
});
