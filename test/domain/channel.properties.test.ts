/**
 * Invariants of channel availability (issue 14), through the position decider:
 * - what channels with protected minimums hold never adds up to more than ATP;
 * - a channel's reservation is accepted exactly when it fits the channel's figure, so no
 *   reservation takes a channel below zero and no quota is exceeded;
 * - replay gives the same channel figures as live handling;
 * - reservations of two channels interleaved against a scarce SKU end within each quota.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { CanonicalEvent } from "../../domain/canonical-event.ts";
import { type ChannelRules, dayOf, protectionsHeld, usedIn } from "../../domain/channel-rules.ts";
import type { Command } from "../../domain/commands.ts";
import { atpOf, initialPositionState, type PositionState, rehydrate } from "../../domain/position.decider.ts";
import { channelAvailabilityOf } from "../../domain/position-channels.ts";
import { atpBreakdown } from "../../domain/position-context.ts";
import { type PromiseSource, promiseDate } from "../../domain/promise.ts";
import { reserveAs, setRules } from "./channel-spec.ts";
import { adjust, at, NOW, POS, pick, receive, release, step } from "./position-spec.ts";

const CHANNELS = ["amazon", "web", "b2b"] as const;
const channelArb = fc.constantFrom(...CHANNELS);
const periodArb = fc.constantFrom("day" as const, "untilRevoked" as const);

const rulesArb: fc.Arbitrary<ChannelRules> = fc.record({
  protections: fc
    .uniqueArray(
      fc.record({
        channel: channelArb,
        quantity: fc.integer({ min: 0, max: 30 }),
        period: periodArb,
        priority: fc.integer({ min: 0, max: 3 }),
      }),
      { maxLength: 3, selector: (r) => r.channel },
    )
    .map((xs) => xs.map((x, i) => ({ id: `P${i}`, ...x }))),
  quotas: fc
    .uniqueArray(
      fc.record({ channel: channelArb, quantity: fc.integer({ min: 0, max: 30 }), period: periodArb }),
      { maxLength: 3, selector: (r) => r.channel },
    )
    .map((xs) => xs.map((x, i) => ({ id: `Q${i}`, ...x }))),
  buffers: fc
    .array(
      fc.record({
        channel: channelArb,
        amount: fc.oneof(
          fc.integer({ min: 0, max: 10 }).map((absolute) => ({ absolute })),
          fc.integer({ min: 0, max: 100 }).map((percent) => ({ percent })),
        ),
        priority: fc.integer({ min: 0, max: 3 }),
        stack: fc.boolean(),
      }),
      { maxLength: 3 },
    )
    .map((xs) => xs.map((x, i) => ({ id: `B${i}`, scope: { level: "channel" as const }, ...x }))),
});

/** Minutes after T0 over three days, so that day periods turn over. */
const minuteArb = fc.integer({ min: 0, max: 3 * 24 * 60 });
const resId = fc.constantFrom("r1", "r2", "r3", "r4", "r5", "r6");

const opArb: fc.Arbitrary<() => Command> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.tuple(channelArb, resId, fc.integer({ min: 1, max: 12 }), minuteArb).map(
      ([c, id, n, m]) =>
        () =>
          reserveAs(c, `${c}-${id}`, n, { businessTime: at(m), ttlSeconds: 7 * 86_400 }),
    ),
  },
  {
    weight: 2,
    arbitrary: fc.tuple(channelArb, resId).map(
      ([c, id]) =>
        () =>
          release(`${c}-${id}`),
    ),
  },
  { weight: 2, arbitrary: fc.integer({ min: 1, max: 20 }).map((n) => () => receive(n)) },
  { weight: 1, arbitrary: fc.integer({ min: -15, max: -1 }).map((n) => () => adjust(n)) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 8 }).map((n) => () => pick(n)) },
  { weight: 1, arbitrary: rulesArb.map((r) => () => setRules(r)) },
);

interface Run {
  readonly state: PositionState;
  readonly history: CanonicalEvent[];
}

/** Runs the commands through the decider; `check` sees each command with the state before it. */
const run = (
  initialRules: ChannelRules,
  ops: readonly (() => Command)[],
  check: (
    before: PositionState,
    command: Command,
    accepted: boolean,
    after: PositionState,
  ) => void = () => {},
): Run => {
  let state = initialPositionState(POS);
  const history: CanonicalEvent[] = [];
  for (const command of [receive(40), setRules(initialRules), ...ops.map((f) => f())]) {
    const r = step(state, command);
    check(state, command, r.outcome.kind === "accepted", r.state);
    state = r.state;
    history.push(...r.stored);
  }
  return { state, history };
};

const figure = (s: PositionState, channel: string, when: string) =>
  channelAvailabilityOf(s, atpOf(s), channel, when).quantity;

const heldSum = (s: PositionState, when: string) =>
  protectionsHeld(atpOf(s), s.channelRules?.rules ?? {}, {
    position: s.position,
    day: dayOf(when),
    usage: s.channelUsage ?? {},
  }).reduce((sum, h) => sum + h.held, 0);

describe("channel availability: properties through the decider", () => {
  it("what channels with protected minimums hold never exceeds ATP", () => {
    fc.assert(
      fc.property(rulesArb, fc.array(opArb, { maxLength: 40 }), minuteArb, (rules, ops, m) => {
        run(rules, ops, (_b, _c, _ok, after) => {
          expect(heldSum(after, at(m))).toBeLessThanOrEqual(atpOf(after).atp);
        });
      }),
      { numRuns: 60 },
    );
  });

  it("a channel's reservation is accepted exactly when it fits the channel's figure; no quota is exceeded", () => {
    fc.assert(
      fc.property(rulesArb, fc.array(opArb, { maxLength: 40 }), (rules, ops) => {
        run(rules, ops, (before, command, accepted, after) => {
          if (command.kind !== "placeReservation") return;
          const channel = command.source.system;
          const fits =
            figure(before, channel, command.businessTime) >= command.quantity.value &&
            !before.reservations.chunks.some((c) => Object.hasOwn(c, command.reservationId));
          expect(accepted).toBe(fits);
          const day = dayOf(command.businessTime);
          for (const q of after.channelRules?.rules.quotas ?? []) {
            expect(usedIn(after.channelUsage ?? {}, q.channel, q.period, day)).toBeLessThanOrEqual(
              Math.max(q.quantity, usedIn(before.channelUsage ?? {}, q.channel, q.period, day)),
            );
          }
          // A reservation takes at most its own quantity from its channel's figure, never below 0.
          const was = figure(before, channel, command.businessTime);
          const is = figure(after, channel, command.businessTime);
          expect(is).toBeGreaterThanOrEqual(accepted ? was - command.quantity.value : was);
          expect(is).toBeGreaterThanOrEqual(0);
        });
      }),
      { numRuns: 60 },
    );
  });

  it("replay gives the same channel figures as live handling", () => {
    fc.assert(
      fc.property(rulesArb, fc.array(opArb, { maxLength: 40 }), minuteArb, (rules, ops, m) => {
        const live = run(rules, ops);
        const replayed = rehydrate(POS, live.history);
        expect(replayed).toEqual(live.state);
        for (const c of CHANNELS) {
          expect(channelAvailabilityOf(replayed, atpOf(replayed), c, at(m))).toEqual(
            channelAvailabilityOf(live.state, atpOf(live.state), c, at(m)),
          );
        }
      }),
      { numRuns: 40 },
    );
  });
});

describe("two channels compete for a scarce SKU", () => {
  const rules: ChannelRules = {
    quotas: [
      { id: "Q-AMZ", channel: "amazon", quantity: 25, period: "day" },
      { id: "Q-WEB", channel: "web", quantity: 20, period: "day" },
    ],
    protections: [{ id: "P-B2B", channel: "b2b", quantity: 10, period: "day" }],
  };

  it("100 reservations from two channels, interleaved in any order, end with each within its quota", () => {
    const requests = [
      ...Array.from({ length: 50 }, (_, i) => ({ channel: "amazon", id: `amz-${i}` })),
      ...Array.from({ length: 50 }, (_, i) => ({ channel: "web", id: `web-${i}` })),
    ];
    fc.assert(
      fc.property(
        fc.shuffledSubarray(requests, { minLength: 100, maxLength: 100 }),
        fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 100, maxLength: 100 }),
        (order, sizes) => {
          // Stock 50: less than the quotas and the protection together (25 + 20 + 10).
          let state = step(initialPositionState(POS), receive(50)).state;
          state = step(state, setRules(rules)).state;
          const accepted: Record<string, number> = { amazon: 0, web: 0 };
          order.forEach((r, i) => {
            const n = sizes[i] ?? 1;
            const out = step(state, reserveAs(r.channel, r.id, n));
            if (out.outcome.kind === "accepted") accepted[r.channel] = (accepted[r.channel] ?? 0) + n;
            else expect(out.outcome).toMatchObject({ reason: { code: "insufficientChannelAvailability" } });
            state = out.state;
          });
          expect(accepted.amazon).toBeLessThanOrEqual(25);
          expect(accepted.web).toBeLessThanOrEqual(20);
          // None oversold: b2b's protection is still whole, and ATP never went below it.
          expect(state.reserved).toBe((accepted.amazon ?? 0) + (accepted.web ?? 0));
          expect(atpOf(state).atp).toBeGreaterThanOrEqual(10);
          expect(figure(state, "b2b", NOW)).toBe(atpOf(state).atp);
          // Each channel's figure only falls, and each sent more than its quota: it ends below its
          // largest request (3), so the quotas were used, not lost.
          expect(figure(state, "amazon", NOW)).toBeLessThan(3);
          expect(figure(state, "web", NOW)).toBeLessThan(3);
        },
      ),
      { numRuns: 25 },
    );
  });
});

describe("promise dates: properties", () => {
  const DAYS = ["2024-05-01", "2024-05-02", "2024-05-03", "2024-05-04", "2024-05-05"];
  const sourceArb = (location: string): fc.Arbitrary<PromiseSource> =>
    fc
      .record({
        available: fc.integer({ min: 0, max: 60 }),
        reserved: fc.integer({ min: 0, max: 20 }),
        incoming: fc.array(fc.integer({ min: 0, max: 15 }), {
          minLength: DAYS.length,
          maxLength: DAYS.length,
        }),
        rules: rulesArb,
      })
      .map(({ available, reserved, incoming, rules }) => ({
        position: { ...POS, location },
        breakdown: atpBreakdown({ available, reserved, safetyStock: 0, lifecycle: "active" }),
        days: DAYS.map((date, i) => ({ date, incoming: incoming[i] ?? 0 })),
        rules,
      }));

  it("lines never exceed the quantity nor the channel's figure; today's lines fit today's figure", () => {
    fc.assert(
      fc.property(
        fc.tuple(sourceArb("DC-A"), sourceArb("DC-B")),
        channelArb,
        fc.integer({ min: 1, max: 80 }),
        fc.boolean(),
        (sources, channel, quantity, partial) => {
          const a = promiseDate({ sku: POS.sku, quantity, channel, partial }, sources);
          const sum = a.lines.reduce((n, l) => n + l.quantity, 0);
          expect(sum).toBeLessThanOrEqual(quantity);
          expect(a.kind === "promised" ? sum : a.promised).toBe(a.kind === "promised" ? quantity : sum);
          for (const l of a.lines) expect(l.quantity).toBeLessThanOrEqual(l.availability.quantity);
          // What is promised today at a location fits the channel's figure there today (no oversell).
          for (const s of sources) {
            const today = a.lines
              .filter((l) => l.date === DAYS[0] && l.position.location === s.position.location)
              .reduce((n, l) => n + l.quantity, 0);
            const figure = promiseDate({ sku: POS.sku, quantity: 1, channel, partial: true }, [
              { ...s, days: [{ date: DAYS[0]!, incoming: s.days[0]?.incoming ?? 0 }] },
            ]);
            expect(today).toBeLessThanOrEqual(figure.lines[0]?.availability.quantity ?? 0);
          }
          // Without partial, one line covers it all on the earliest day it can.
          if (!partial && a.kind === "promised") expect(a.lines).toHaveLength(1);
        },
      ),
      { numRuns: 100 },
    );
  });
});
