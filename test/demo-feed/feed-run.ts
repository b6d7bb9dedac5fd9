/**
 * Plays the demo feed against the simulated stockline for a span of simulated time, sampling every
 * SKU-location's ATP once a minute, and says what a viewer would see: how many carts were reserved,
 * picked, released and expired, and how far each shelf's ATP strayed from the feed's targets.
 */
import { atpOf, onHandOf, type PositionState } from "../../domain/position.decider.ts";
import { reservedOf } from "../../domain/position-context.ts";
import { DemoFeed, loadCatalog } from "../../services/local-system/demo-feed.ts";
import { SimulatedStockline } from "./simulated-stockline.ts";

export interface FeedRunOptions {
  readonly hours: number;
  readonly rate: number;
  readonly seed: number;
  readonly skus: number;
  readonly ttlSeconds?: number;
}

export interface ShelfTrace {
  readonly key: string;
  readonly target: number;
  readonly short: boolean;
  /** ATP once a minute. */
  readonly atp: number[];
}

export interface FeedRun {
  readonly feed: DemoFeed;
  readonly sim: SimulatedStockline;
  readonly shelves: Map<string, ShelfTrace>;
  readonly placed: number;
  readonly picked: number;
  readonly expired: number;
  readonly released: number;
  /** Reservations placed and picks confirmed in each minute. */
  readonly perMinute: { readonly placed: number[]; readonly picked: number[] };
  /** Shelves where the system's books and the feed's shelves disagree at the end. */
  readonly drifted: string[];
  readonly simulatedMs: number;
}

const TICK_MS = 100;

export const playFeed = async (o: FeedRunOptions): Promise<FeedRun> => {
  const start = Date.parse("2026-01-05T08:00:00.000Z");
  const sim = new SimulatedStockline(start);
  const feed = new DemoFeed(sim.world, sim, {
    catalog: loadCatalog({ count: o.skus }),
    rate: o.rate,
    seed: o.seed,
    reservationTtlSeconds: o.ttlSeconds ?? 30,
    clock: () => sim.now,
    openingStockVisible: async () => {},
  });
  await feed.loadOpeningStock();
  const shelves = new Map<string, ShelfTrace>();
  const keyOf = (s: { region: string; location: string; sku: string }) =>
    `${s.region}/${s.location}/${s.sku}`;
  for (const s of feed.model.shelves)
    shelves.set(keyOf(s), { key: keyOf(s), target: s.target, short: s.short, atp: [] });
  const perMinute = { placed: [] as number[], picked: [] as number[] };
  const ev = (type: string) => sim.events.get(type) ?? 0;
  let before = { placed: 0, picked: 0 };
  const end = start + o.hours * 3_600_000;
  for (let t = start + TICK_MS; t <= end; t += TICK_MS) {
    sim.advanceTo(t);
    feed.tick(t);
    await feed.settled();
    if ((t - start) % 60_000 === 0) {
      for (const s of sim.states()) shelves.get(keyOf(s.position))?.atp.push(atpOf(s).atp);
      const now = { placed: ev("ReservationPlaced"), picked: ev("PickConfirmed") };
      perMinute.placed.push(now.placed - before.placed);
      perMinute.picked.push(now.picked - before.picked);
      before = now;
    }
  }
  const states = new Map<string, PositionState>([...sim.states()].map((s) => [keyOf(s.position), s]));
  const drifted = feed.model.shelves
    .filter((shelf) => {
      const s = states.get(keyOf(shelf));
      return (
        !s ||
        onHandOf(s, "available") !== shelf.onHand ||
        onHandOf(s, "picked") !== shelf.picked ||
        reservedOf(s) !== shelf.reserved
      );
    })
    .map(keyOf);
  return {
    feed,
    sim,
    shelves,
    placed: ev("ReservationPlaced"),
    picked: ev("PickConfirmed"),
    expired: ev("ReservationExpired"),
    released: ev("ReservationReleased"),
    perMinute,
    drifted,
    simulatedMs: end - start,
  };
};
