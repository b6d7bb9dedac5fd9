/**
 * Per-event cost of a position on a long stream (not a test: timings are too noisy for CI).
 *
 *   npx tsx test/domain/replay-throughput.ts [events=20000]
 *
 * Builds one position's stream of receipts with distinct idempotency keys through a live actor
 * (decide + append bookkeeping + apply, the regional node's hot path), then replays it through
 * `rehydrate` (the decider's `evolve`) and through `applyEvent` alone, once with the default
 * limits (1024 keys, 256 history entries) and once with small ones, to show what the limits cost.
 * Then the cost of a reservation while many are open (a busy web-shop SKU with a 15-minute TTL).
 */
import { createActor } from "xstate";
import type { CanonicalEvent } from "../../domain/canonical-event.ts";
import type { Command } from "../../domain/commands.ts";
import type { Position } from "../../domain/ids.ts";
import {
  defaultEnv,
  initialPositionState,
  type Outcome,
  type PositionLimits,
  rehydrate,
  toCanonicalEvents,
} from "../../domain/position.decider.ts";
import { positionMachine } from "../../domain/position.machine.ts";
import { applyEvent, DEFAULT_LIMITS } from "../../domain/position-context.ts";

const N = Number(process.argv[2] ?? 20_000);
const POS: Position = { region: "eu", location: "DC-Hamburg", sku: "WATER-1.5L" };
const T0 = Date.parse("2024-05-01T08:00:00Z");
const iso = (ms: number) => new Date(ms).toISOString();
const env = defaultEnv(iso(T0 + N * 1000));

const reservation = (i: number): Command => ({
  kind: "placeReservation",
  idempotencyKey: `res-${i}`,
  source: { system: "oms", document: { type: "order", id: `SO-${i}` } },
  businessTime: iso(T0),
  correlationId: `r-${i}`,
  position: POS,
  reservationId: `res-${i}`,
  channel: "web",
  quantity: { value: 1, uom: "EA" },
});

const receipt = (i: number): Command => ({
  kind: "receiveGoods",
  idempotencyKey: `asn-${i}`,
  source: { system: "wms", document: { type: "ASN", id: `asn-${i}` } },
  businessTime: iso(T0 + i * 1000),
  correlationId: `c-${i}`,
  position: POS,
  quantity: { value: 1, uom: "EA" },
});

const live = (
  limits: PositionLimits,
  command: (i: number) => Command = receipt,
  onProgress?: (done: number, ms: number) => void,
  n = N,
): { ms: number; events: CanonicalEvent[] } => {
  const actor = createActor(positionMachine, { input: { context: initialPositionState(POS, limits) } });
  actor.start();
  let decision: Outcome | undefined;
  actor.on("decision", (e) => {
    decision = e.outcome;
  });
  const events: CanonicalEvent[] = [];
  const t = performance.now();
  for (let i = 0; i < n; i++) {
    actor.send({ type: "COMMAND", command: command(i), env });
    if (decision?.kind !== "accepted") throw new Error(`not accepted: ${JSON.stringify(decision)}`);
    const { revision, lastHash } = actor.getSnapshot().context;
    const stored = toCanonicalEvents(decision.events, {
      prevRevision: revision,
      prevHash: lastHash,
      recordedTime: iso(T0 + i * 1000),
    });
    for (const e of stored) {
      actor.send({ type: "EVENT", event: e });
      events.push(e);
    }
    if ((i + 1) % 500 === 0) onProgress?.(i + 1, performance.now() - t);
  }
  const ms = performance.now() - t;
  actor.stop();
  return { ms, events };
};

const timed = (f: () => unknown): number => {
  const t = performance.now();
  f();
  return performance.now() - t;
};

const perEvent = (ms: number, n: number) => `${((ms * 1000) / n).toFixed(1)} µs/event`;

for (const limits of [
  { historyEntries: 256, idempotencyKeys: 1024 },
  { historyEntries: 16, idempotencyKeys: 16 },
]) {
  const { ms, events } = live(limits);
  const replay = timed(() => rehydrate(POS, events, limits));
  const apply = timed(() => {
    let s = initialPositionState(POS, limits);
    for (const e of events) s = applyEvent(s, e);
  });
  console.log(
    `limits ${JSON.stringify(limits)}, ${events.length} events:`,
    `live actor ${(ms / 1000).toFixed(2)} s (${perEvent(ms, N)} commands),`,
    `rehydrate ${(replay / 1000).toFixed(2)} s (${perEvent(replay, events.length)}),`,
    `applyEvent ${(apply / 1000).toFixed(2)} s (${perEvent(apply, events.length)})`,
  );
}

// Reservations need stock: one big receipt first, then reservations only.
let last = 0;
const open: string[] = [];
live(
  DEFAULT_LIMITS,
  (i) => (i === 0 ? { ...receipt(0), quantity: { value: 1_000_000, uom: "EA" } } : reservation(i)),
  (done, ms) => {
    if (done % 1000 === 0) open.push(`${done} open: ${(((ms - last) * 1000) / 500).toFixed(0)} µs/command`);
    last = ms;
  },
  4000,
);
console.log(`placing a reservation while N are open (last 500 commands): ${open.join(", ")}`);
