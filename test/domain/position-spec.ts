/**
 * given/when/then for the position decider:
 *
 *   given(receive(10)).when(reserve("r1", 4)).then({ type: "ReservationPlaced", quantity: 4 });
 *   given().when(reserve("r1", 1)).thenRejects("insufficientAtp");
 *
 * `given` takes commands that must be accepted (their events become the history) or stored
 * events; `then` lists the expected events in order, each as a partial match.
 */
import { expect } from "vitest";
import type { CanonicalEvent, PendingEvent } from "../../domain/canonical-event.ts";
import type { Command, CommandOf } from "../../domain/commands.ts";
import type { Position } from "../../domain/ids.ts";
import {
  type DecisionEnv,
  decide,
  defaultEnv,
  evolve,
  initialPositionState,
  type Outcome,
  type PositionLimits,
  type PositionState,
  type RejectionCode,
  toCanonicalEvents,
} from "../../domain/position.decider.ts";

// Ids with the characters that break naive encodings.
export const POS: Position = { region: "eu-west", location: "DC 1.A*", sku: "SKU>1 ü" };
export const T0 = Date.parse("2024-05-01T08:00:00Z");
/** A business time `minutes` after T0. */
export const at = (minutes: number): string => new Date(T0 + minutes * 60_000).toISOString();
export const NOW = at(0);

let counter = 0;
type Common = Pick<Command, "idempotencyKey" | "source" | "businessTime" | "correlationId" | "position">;
const common = (o: Partial<Common> = {}): Common => {
  counter++;
  return {
    idempotencyKey: `key-${counter}`,
    source: { system: "wms", document: { type: "doc", id: `d-${counter}` } },
    businessTime: at(0),
    correlationId: `corr-${counter}`,
    position: POS,
    ...o,
  };
};
const ea = (value: number) => ({ value, uom: "EA" });

type Opts<K extends Command["kind"]> = Partial<Omit<CommandOf<K>, "kind">>;

export const receive = (n: number, o: Opts<"receiveGoods"> = {}): Command =>
  ({ kind: "receiveGoods", ...common(o), quantity: ea(n), ...o }) as Command;
export const pick = (n: number, o: Opts<"confirmPick"> = {}): Command =>
  ({ kind: "confirmPick", ...common(o), quantity: ea(n), ...o }) as Command;
export const reversePick = (n: number, o: Opts<"reversePick"> = {}): Command =>
  ({ kind: "reversePick", ...common(o), quantity: ea(n), ...o }) as Command;
export const ship = (n: number, o: Opts<"postShipment"> = {}): Command =>
  ({ kind: "postShipment", ...common(o), quantity: ea(n), ...o }) as Command;
export const shipTransfer = (n: number, to: string, o: Opts<"shipTransfer"> = {}): Command =>
  ({
    kind: "shipTransfer",
    ...common(o),
    quantity: ea(n),
    destination: { region: POS.region, location: "DC2" },
    documents: { transferOrder: to },
    ...o,
  }) as Command;
export const receiveTransfer = (n: number, to: string, o: Opts<"receiveTransfer"> = {}): Command =>
  ({
    kind: "receiveTransfer",
    ...common(o),
    quantity: ea(n),
    documents: { transferOrder: to },
    ...o,
  }) as Command;
export const inboundTransfer = (n: number, to: string, o: Opts<"recordInboundTransfer"> = {}): Command =>
  ({
    kind: "recordInboundTransfer",
    ...common(o),
    quantity: ea(n),
    origin: { region: POS.region, location: "DC0" },
    documents: { transferOrder: to },
    ...o,
  }) as Command;
export const expectReceipt = (
  n: number,
  po: string,
  expectedAt: string,
  o: Opts<"expectReceipt"> = {},
): Command =>
  ({
    kind: "expectReceipt",
    ...common({ source: { system: "erp", document: { type: "purchaseOrder", id: po } }, ...o }),
    quantity: ea(n),
    expectedAt,
    documents: { po },
    ...o,
  }) as Command;
export const receiveReturn = (
  n: number,
  into: "inspection" | "available",
  o: Opts<"receiveReturn"> = {},
): Command => ({ kind: "receiveReturn", ...common(o), quantity: ea(n), into, ...o }) as Command;
export const count = (n: number, o: Opts<"recordCount"> = {}): Command =>
  ({ kind: "recordCount", ...common(o), counted: ea(n), ...o }) as Command;
export const adjust = (delta: number, reasonCode = "SHRINK", o: Opts<"adjustStock"> = {}): Command =>
  ({ kind: "adjustStock", ...common(o), quantity: ea(delta), reasonCode, ...o }) as Command;
export const changeStatus = (
  n: number,
  fromStatus: CommandOf<"changeStatus">["fromStatus"],
  toStatus: CommandOf<"changeStatus">["toStatus"],
  o: Opts<"changeStatus"> = {},
): Command =>
  ({ kind: "changeStatus", ...common(o), quantity: ea(n), fromStatus, toStatus, ...o }) as Command;
export const consume = (n: number, o: Opts<"consumeForProduction"> = {}): Command =>
  ({
    kind: "consumeForProduction",
    ...common(o),
    quantity: ea(n),
    documents: { productionOrder: "MO-1" },
    ...o,
  }) as Command;
export const produce = (n: number, o: Opts<"recordProductionOutput"> = {}): Command =>
  ({
    kind: "recordProductionOutput",
    ...common(o),
    quantity: ea(n),
    documents: { productionOrder: "MO-1" },
    ...o,
  }) as Command;
export const reserve = (id: string, n: number, o: Opts<"placeReservation"> = {}): Command =>
  ({
    kind: "placeReservation",
    ...common({ source: { system: "oms", document: { type: "order", id } }, ...o }),
    quantity: ea(n),
    reservationId: id,
    channel: "web",
    ...o,
  }) as Command;
export const release = (id: string, o: Opts<"releaseReservation"> = {}): Command =>
  ({ kind: "releaseReservation", ...common(o), reservationId: id, ...o }) as Command;
export const expire = (id: string, o: Opts<"expireReservation"> = {}): Command =>
  ({ kind: "expireReservation", ...common(o), reservationId: id, ...o }) as Command;
export const safetyStock = (n: number, o: Opts<"setSafetyStock"> = {}): Command =>
  ({ kind: "setSafetyStock", ...common(o), quantity: ea(n), ...o }) as Command;
export const lifecycle = (
  action: "hold" | "releaseHold" | "discontinue",
  o: Opts<"changeLifecycle"> = {},
): Command =>
  ({ kind: "changeLifecycle", ...common(o), action, reason: `${action} for test`, ...o }) as Command;

/** Runs one command through decide, and on acceptance stores and evolves. */
export const step = (
  state: PositionState,
  command: Command,
  env: DecisionEnv = defaultEnv(NOW),
): { state: PositionState; outcome: Outcome; stored: CanonicalEvent[] } => {
  const outcome = decide(command, state, env);
  if (outcome.kind !== "accepted") return { state, outcome, stored: [] };
  const stored = toCanonicalEvents(outcome.events, {
    prevRevision: state.revision,
    prevHash: state.lastHash,
    recordedTime: env.now,
  });
  let s = state;
  for (const e of stored) s = evolve(s, e);
  return { state: s, outcome, stored };
};

export interface Scenario {
  readonly state: PositionState;
  readonly history: CanonicalEvent[];
  when(command: Command, env?: DecisionEnv): Result;
}

/** An expected event: its type plus any fields to match (deeply, partially). */
export type Expected = { readonly type: PendingEvent["type"] } & Record<string, unknown>;

export interface Result {
  readonly outcome: Outcome;
  /** State after the command's events were applied (unchanged unless accepted). */
  readonly state: PositionState;
  readonly stored: CanonicalEvent[];
  then(...expected: Expected[]): Result;
  thenRejects(code: RejectionCode, details?: Record<string, unknown>): Result;
  thenDuplicate(): Result;
  thenParks(expectedSequence: number, got: number): Result;
}

type HistoryItem = Command | CanonicalEvent;
const isEvent = (x: HistoryItem): x is CanonicalEvent => "type" in x && "hash" in x;

export const givenWith =
  (opts: { env?: DecisionEnv; limits?: PositionLimits; position?: Position } = {}) =>
  (...history: HistoryItem[]): Scenario => {
    const env = opts.env ?? defaultEnv(NOW);
    let state = initialPositionState(opts.position ?? POS, opts.limits);
    const events: CanonicalEvent[] = [];
    for (const item of history) {
      if (isEvent(item)) {
        state = evolve(state, item);
        events.push(item);
        continue;
      }
      const r = step(state, item, env);
      if (r.outcome.kind !== "accepted") {
        throw new Error(`given: ${item.kind} was not accepted: ${JSON.stringify(r.outcome)}`);
      }
      state = r.state;
      events.push(...r.stored);
    }
    return {
      state,
      history: events,
      when(command, whenEnv = env) {
        const r = step(state, command, whenEnv);
        const result: Result = {
          ...r,
          // biome-ignore lint/suspicious/noThenProperty: the given/when/then vocabulary of DESIGN §6; never awaited
          then(...expected) {
            expect(r.outcome.kind, JSON.stringify(r.outcome)).toBe("accepted");
            const got = r.outcome.kind === "accepted" ? r.outcome.events : [];
            expect(got.map((e) => e.type)).toEqual(expected.map((e) => e.type));
            for (const [i, e] of got.entries()) expect(e).toMatchObject(expected[i] as object);
            return result;
          },
          thenRejects(code, details) {
            expect(r.outcome.kind, JSON.stringify(r.outcome)).toBe("rejected");
            if (r.outcome.kind === "rejected") {
              expect(r.outcome.reason.code).toBe(code);
              expect(r.outcome.reason.message.length).toBeGreaterThan(10);
              if (details) expect(r.outcome.reason).toMatchObject(details);
            }
            return result;
          },
          thenDuplicate() {
            expect(r.outcome.kind, JSON.stringify(r.outcome)).toBe("duplicate");
            return result;
          },
          thenParks(expectedSequence, got) {
            expect(r.outcome).toMatchObject({ kind: "parked", expectedSequence, got });
            return result;
          },
        };
        return result;
      },
    };
  };

export const given = givenWith();
