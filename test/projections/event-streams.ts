/**
 * Realistic event streams for projection tests: commands over several positions (regions, locations,
 * SKUs with awkward ids) decided and evolved by the domain decider, so every event carries the
 * `balancesAfter`, revisions and hashes the real node would store.
 */
import fc from "fast-check";
import type { CanonicalEvent } from "../../domain/canonical-event.ts";
import type { Command } from "../../domain/commands.ts";
import type { Position } from "../../domain/ids.ts";
import { positionKey } from "../../domain/ids.ts";
import {
  atpOf,
  type DecisionEnv,
  defaultEnv,
  initialPositionState,
  type PositionState,
} from "../../domain/position.decider.ts";
import { STOCK_STATUSES } from "../../domain/statuses.ts";
import {
  adjust,
  at,
  changeStatus,
  count,
  expectReceipt,
  expire,
  inboundTransfer,
  lifecycle,
  pick,
  receive,
  receiveTransfer,
  release,
  reserve,
  safetyStock,
  ship,
  shipTransfer,
  step,
} from "../domain/position-spec.ts";

export const REGIONS = ["eu", "us"] as const;
export const LOCATIONS = ["DC 1", "DC.2*"] as const;
export const SKUS = ["SKU-1", "SKU >2 ü", "sku.3"] as const;
export const ALL_POSITIONS: readonly Position[] = REGIONS.flatMap((region) =>
  LOCATIONS.flatMap((location) => SKUS.map((sku) => ({ region, location, sku }))),
);

/** Few positions (two regions, two SKUs, one shared location), so each sees a long history. */
export const FEW_POSITIONS: readonly Position[] = [
  { region: "eu", location: "DC 1", sku: "SKU-1" },
  { region: "eu", location: "DC 1", sku: "SKU >2 ü" },
  { region: "us", location: "DC 1", sku: "SKU-1" },
];

export const ENV: DecisionEnv = defaultEnv(at(100));

/** A command for a position, built lazily so ids stay unique per generated command. */
export type CommandFor = (position: Position) => Command;

const time = fc.integer({ min: 0, max: 100 }).map(at);
const qty = (max: number) => fc.integer({ min: 1, max });
const resId = fc.constantFrom("r0", "r1", "r2");
const to = fc.constantFrom("TO-1", "TO-2");
const po = fc.constantFrom("PO-1", "PO-2");
const status = fc.constantFrom(...STOCK_STATUSES);

export const commandForArb: fc.Arbitrary<CommandFor> = fc.oneof(
  {
    arbitrary: fc.tuple(qty(20), time, status).map(
      ([n, t, s]) =>
        (position: Position) =>
          receive(n, { position, businessTime: t, status: s }),
    ),
    weight: 8,
  },
  {
    arbitrary: fc.tuple(qty(8), time, fc.option(resId)).map(
      ([n, t, r]) =>
        (position: Position) =>
          pick(n, { position, businessTime: t, ...(r ? { reservationId: r } : {}) }),
    ),
    weight: 3,
  },
  fc.tuple(qty(5), time).map(
    ([n, t]) =>
      (position: Position) =>
        ship(n, { position, businessTime: t }),
  ),
  fc.tuple(qty(5), time, to).map(
    ([n, t, o]) =>
      (position: Position) =>
        shipTransfer(n, o, { position, businessTime: t }),
  ),
  {
    arbitrary: fc.tuple(qty(6), time, to, fc.option(time)).map(
      ([n, t, o, eta]) =>
        (position: Position) =>
          inboundTransfer(n, o, { position, businessTime: t, ...(eta ? { eta } : {}) }),
    ),
    weight: 2,
  },
  // Purchasing announces open PO lines (0 cancels); receipts that name the PO count against them.
  fc.tuple(fc.integer({ min: 0, max: 20 }), po, time).map(
    ([n, p, t]) =>
      (position: Position) =>
        expectReceipt(n, p, t, { position, businessTime: t }),
  ),
  fc.tuple(qty(10), po, time).map(
    ([n, p, t]) =>
      (position: Position) =>
        receive(n, { position, businessTime: t, documents: { po: p } }),
  ),
  fc.tuple(qty(4), time, to).map(
    ([n, t, o]) =>
      (position: Position) =>
        receiveTransfer(n, o, { position, businessTime: t }),
  ),
  fc.tuple(fc.integer({ min: 0, max: 30 }), time, status).map(
    ([n, t, s]) =>
      (position: Position) =>
        count(n, { position, businessTime: t, status: s }),
  ),
  fc
    .tuple(
      fc.integer({ min: -5, max: 5 }).filter((n) => n !== 0),
      time,
    )
    .map(
      ([n, t]) =>
        (position: Position) =>
          adjust(n, "R", { position, businessTime: t }),
    ),
  fc
    .tuple(qty(5), time, status, status)
    .filter(([, , a, b]) => a !== b)
    .map(
      ([n, t, a, b]) =>
        (position: Position) =>
          changeStatus(n, a, b, { position, businessTime: t }),
    ),
  {
    arbitrary: fc.tuple(resId, qty(8), fc.integer({ min: 90, max: 100 })).map(
      ([r, n, t]) =>
        (position: Position) =>
          reserve(r, n, { position, businessTime: at(t), ttlSeconds: 3_600 }),
    ),
    weight: 6,
  },
  resId.map((r) => (position: Position) => release(r, { position })),
  resId.map((r) => (position: Position) => expire(r, { position })),
  fc.integer({ min: 0, max: 5 }).map((n) => (position: Position) => safetyStock(n, { position })),
  // Discontinuing is for good, so it is rare: most positions should stay alive long enough to matter.
  fc
    .integer({ min: 0, max: 19 })
    .map((n) => (n === 0 ? "discontinue" : n % 2 === 0 ? "hold" : "releaseHold"))
    .map((a) => (position: Position) => lifecycle(a, { position })),
);

/** A command for one of `positions`, by index. */
export const positionedCommandArb = (positions: readonly Position[] = ALL_POSITIONS) =>
  fc.tuple(fc.nat({ max: positions.length - 1 }), commandForArb);

export interface DecidedRun {
  /** Every stored event in commit order (interleaved over positions). */
  readonly events: CanonicalEvent[];
  /** Final decider state per position (by `positionKey`). */
  readonly states: Map<string, PositionState>;
}

/** Decides commands in order, as the regional nodes would; rejected commands leave no event. */
export const decideAll = (
  commands: ReadonlyArray<readonly [number, CommandFor]>,
  positions: readonly Position[] = ALL_POSITIONS,
  states: Map<string, PositionState> = new Map(),
): DecidedRun => {
  const events: CanonicalEvent[] = [];
  for (const [i, make] of commands) {
    const position = positions[i % positions.length]!;
    const key = positionKey(position);
    const state = states.get(key) ?? initialPositionState(position);
    const r = step(state, make(position), ENV);
    states.set(key, r.state);
    events.push(...r.stored);
  }
  return { events, states };
};

/** The ATP the domain computes for each position of a run (the reference every read model must equal). */
export const domainAtp = (run: DecidedRun) =>
  new Map([...run.states].map(([k, s]) => [k, { position: s.position, atp: atpOf(s), state: s }]));

/** Deterministic commands for integration tests (fast-check's generator with a fixed seed). */
export const sampleCommands = (n: number, seed: number, positions: readonly Position[] = ALL_POSITIONS) =>
  fc.sample(positionedCommandArb(positions), { numRuns: n, seed });
