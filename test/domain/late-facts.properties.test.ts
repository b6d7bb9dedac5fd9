/**
 * The rule of DESIGN §3.12 as properties: whatever the order in which one source's messages are
 * delivered, and however often, the position ends as with in-order delivery, each message applied
 * once. Delivery goes through `SequenceDriver`, which parks and releases as the node's runtime does.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { CanonicalEvent } from "../../domain/canonical-event.ts";
import { COMMAND_KINDS, type Command } from "../../domain/commands.ts";
import { balancesOf, defaultEnv, type PositionState } from "../../domain/position.decider.ts";
import { BUCKETS } from "../../domain/statuses.ts";
import { factArb, sourcedCommandArb } from "./position-arbitraries.ts";
import { at } from "./position-spec.ts";
import { SequenceDriver } from "./sequence-driver.ts";

const ENV = defaultEnv(at(100));

/**
 * One source's messages, numbered 1..n. Every business time is made distinct (a second per
 * message), so that two counts never share an instant: of two counts at one instant the later
 * recorded wins, which is an order by definition.
 */
const sequenced = (commands: readonly Command[]): Command[] =>
  commands.map(
    (c, i) =>
      ({
        ...c,
        source: { ...c.source, system: "feed", sequence: i + 1 },
        businessTime: new Date(Date.parse(c.businessTime) + (i + 1) * 1000).toISOString(),
      }) as Command,
  );

/** A copy of a message: redelivered as is, or re-sent under a new idempotency key. */
const copyOf = (c: Command, rekey: boolean, n: number): Command =>
  (rekey ? { ...c, idempotencyKey: `${c.idempotencyKey}:again-${n}` } : structuredClone(c)) as Command;

/** Deliveries: a permutation of the messages with copies inserted anywhere. */
const deliveriesArb = (arb: fc.Arbitrary<Command>) =>
  fc.array(arb, { minLength: 1, maxLength: 25 }).chain((raw) => {
    const commands = sequenced(raw);
    return fc
      .tuple(
        fc.shuffledSubarray(commands, { minLength: commands.length, maxLength: commands.length }),
        fc.array(fc.tuple(fc.nat(), fc.nat(), fc.boolean()), { maxLength: 12 }),
      )
      .map(([order, copies]) => {
        const deliveries = order.slice();
        copies.forEach(([which, where, rekey], n) => {
          const c = commands[which % commands.length] as Command;
          deliveries.splice(where % (deliveries.length + 1), 0, copyOf(c, rekey, n));
        });
        return { commands, deliveries };
      });
  });

const balances = (s: PositionState) => ({
  ...balancesOf(s),
  onHandByBucket: Object.fromEntries(BUCKETS.map((b) => [b, s.buckets[b].current])),
});

/**
 * The facts recorded, as (sequence, event type, quantity), whichever copy of a message was applied.
 * A count by what was counted: its delta depends on what the ledger held when it was applied.
 */
const recorded = (events: readonly CanonicalEvent[]) =>
  events
    .filter((e) => e.type !== "AnomalyRaised")
    .map((e) => `${e.source.sequence}:${e.type}:${e.type === "CountRecorded" ? e.counted : e.quantity}`)
    .sort();

const numeric = (xs: readonly (number | undefined)[]) => xs.slice().sort((a, b) => (a ?? -1) - (b ?? -1));

/** The applied messages' sequences, once per command (a command may record several events). */
const appliedSequences = (d: SequenceDriver) =>
  d.log.flatMap((x) => (x.outcome.kind === "accepted" ? [x.command.source.sequence] : []));

describe("one source's deliveries in any order, with duplicates", () => {
  it("the generators cover every kind a source sends with a sequence", () => {
    const kinds = new Set(fc.sample(sourcedCommandArb, 3_000).map((c) => c.kind));
    // recordInboundTransfer is derived by the node from the origin's TransferShipped, not sent by a source.
    expect([...kinds].sort()).toEqual(COMMAND_KINDS.filter((k) => k !== "recordInboundTransfer").sort());
  });

  it("end as in-order delivery, for every command kind: same balances, same facts, each applied once", () => {
    fc.assert(
      fc.property(deliveriesArb(sourcedCommandArb), ({ commands, deliveries }) => {
        const inOrder = new SequenceDriver(ENV);
        for (const c of commands) inOrder.deliver(c);
        const shuffled = new SequenceDriver(ENV);
        for (const c of deliveries) shuffled.deliver(c);

        // Before any timeout: the same state, and the same messages waiting (after a rejected one,
        // which leaves its sequence unapplied, the rest wait for the timeout in both).
        expect(balances(shuffled.state)).toEqual(balances(inOrder.state));
        expect(recorded(shuffled.events)).toEqual(recorded(inOrder.events));
        expect(shuffled.parkedSequences()).toEqual(inOrder.parkedSequences());

        // The timeouts, in sequence order, then settle the same way.
        inOrder.drain("bySequence");
        shuffled.drain("bySequence");
        expect(balances(shuffled.state)).toEqual(balances(inOrder.state));
        expect(recorded(shuffled.events)).toEqual(recorded(inOrder.events));
        const once = appliedSequences(shuffled);
        expect(new Set(once).size).toBe(once.length);
        expect(numeric(once)).toEqual(numeric(appliedSequences(inOrder)));
        // Nothing refused for its place in the order: what was rejected, in-order delivery rejected too.
        const rejected = (d: SequenceDriver) =>
          numeric([
            ...new Set(
              d.log.flatMap((x) => (x.outcome.kind === "rejected" ? [x.command.source.sequence] : [])),
            ),
          ]);
        expect(rejected(shuffled)).toEqual(rejected(inOrder));
      }),
      { numRuns: 150 },
    );
  });

  it("facts only, with timeouts forcing parked ones before their predecessors arrive: same balances, every fact once", () => {
    fc.assert(
      fc.property(
        deliveriesArb(factArb),
        fc.array(fc.boolean(), { maxLength: 40 }),
        ({ commands, deliveries }, timeoutAfter) => {
          const inOrder = new SequenceDriver(ENV);
          for (const c of commands) inOrder.deliver(c);
          expect(inOrder.parked).toEqual([]);

          const late = new SequenceDriver(ENV);
          deliveries.forEach((c, i) => {
            late.deliver(c);
            // The park timeout of the oldest parked message, as the runtime's sweep runs it.
            if (timeoutAfter[i]) late.timeout();
          });
          late.drain("byAge");

          expect(balances(late.state)).toEqual(balances(inOrder.state));
          expect(recorded(late.events)).toEqual(recorded(inOrder.events));
          const once = appliedSequences(late);
          expect(numeric(once)).toEqual(commands.map((c) => c.source.sequence));
          expect(late.log.some((x) => x.outcome.kind === "rejected")).toBe(false);
        },
      ),
      { numRuns: 150 },
    );
  });
});
