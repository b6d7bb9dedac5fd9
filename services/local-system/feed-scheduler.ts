/**
 * When the demo feed acts: a budget of `rate` commands per second, spent on due work first (earliest
 * first: picks, shipments, receipts, transfer arrivals, urgent orders), then on new demand (at most
 * its share of the rate; the shops also wait while 32 carts are unanswered). So picks keep pace with
 * reservations by construction; when the system is slow, fewer new carts come, not fewer picks. (The first feed drew picks at random against a backlog that grew faster than it
 * drained; once the oldest cart outlived its time to live every pick went to an expired one and
 * picking stopped while receipts went on.)
 *
 * The clock is injectable and `tick` public, so a simulation plays hours in seconds. What the feed
 * does at each turn (the story) is `DemoFeed`'s.
 */
import type { Logger } from "pino";
import { type Catalog, type CatalogItem, seededRandom } from "./feed-catalog.ts";
import { ea, wmsCommand } from "./feed-commands.ts";
import { DueQueue } from "./feed-due-queue.ts";
import { type Shelf, ShelfModel } from "./feed-shelves.ts";
import type { FeedRegion, FeedTransport, FeedWorld } from "./feed-world.ts";

export interface DemoFeedOptions {
  readonly catalog: Catalog;
  /** Commands per second (default 50). */
  readonly rate?: number;
  readonly seed?: number;
  /** Time to live of web-shop reservations (default 30 s); abandoned carts expire at it. */
  readonly reservationTtlSeconds?: number;
  /** Multiplies every delay of the physical flow (pick, ship, transit, lead time); < 1 compresses time. */
  readonly timeScale?: number;
  /** The feed's clock (default `Date.now`); a simulation calls `tick` with its own time. */
  readonly clock?: () => number;
  /** Resolves when the opening stock is visible to the shops (default: polls the availability API). */
  readonly openingStockVisible?: () => Promise<void>;
  readonly logger?: Logger;
}

export type FeedKind =
  | "opening receipt"
  | "reservation"
  | "pick"
  | "shipment"
  | "release"
  | "receipt"
  | "purchase order"
  | "transfer out"
  | "transfer in"
  | "cycle count"
  | "ERP receipt at DC"
  | "malformed";

export interface FeedStats {
  sent: number;
  readonly byKind: Record<FeedKind, number>;
  readonly reservations: {
    confirmed: number;
    short: number;
    failed: number;
    /** Carts given up: released by the shop or left to expire. */
    abandoned: number;
    picked: number;
    released: number;
    /** Kept carts the WMS reached only after their time to live (they expire unpicked). */
    missed: number;
  };
  publishFailures: number;
  lastError?: string;
  /** An order that went reservation → pick → shipment (to trace). */
  tracedOrder?: { order: string; region: string; location: string; sku: string };
  /** A transfer that went across regions. */
  crossRegionTransfer?: { transferOrder: string; from: string; to: string; sku: string };
}

export interface Cart {
  readonly id: string;
  readonly order: string;
  readonly shelf: Shelf;
  readonly quantity: number;
  readonly at: number;
}

export type Due =
  | { readonly kind: "pick"; readonly cart: Cart }
  | { readonly kind: "release"; readonly cart: Cart }
  | { readonly kind: "shipment"; readonly cart: Cart; readonly quantity: number }
  | { readonly kind: "purchase order"; readonly shelf: Shelf; readonly quantity: number }
  | { readonly kind: "receipt"; readonly shelf: Shelf; readonly quantity: number; readonly po: string }
  | {
      readonly kind: "transfer in";
      readonly transferOrder: string;
      readonly to: Shelf;
      readonly quantity: number;
    };

/** What happens of its own accord (due work comes first), by weight. */
export const SPONTANEOUS: ReadonlyArray<readonly [FeedKind, number]> = [
  ["reservation", 34],
  ["cycle count", 5],
  ["purchase order", 3],
  ["transfer out", 2],
  ["ERP receipt at DC", 1.5],
  ["malformed", 1.5],
];
export const SPONTANEOUS_TOTAL = SPONTANEOUS.reduce((s, [, w]) => s + w, 0);
/** About a third of the commands are reservations once their picks and shipments are counted. */
export const RESERVATION_SHARE = 0.32;
/** New demand and the other spontaneous kinds: their share of the rate, whatever is due. */
const SPONTANEOUS_SHARE = (RESERVATION_SHARE * SPONTANEOUS_TOTAL) / (SPONTANEOUS[0]?.[1] ?? 1);
/** Delays of the physical flow at time scale 1 (ms): [min, max]. */
export const PICK_AFTER = [1_500, 6_000] as const;
export const SHIP_AFTER = [1_500, 4_000] as const;
export const LEAD_TIME = [10_000, 30_000] as const;
export const TRANSIT = [4_000, 8_000] as const;
export const TRANSIT_ACROSS = [8_000, 15_000] as const;
export const ABANDONED = 0.12;
export const RELEASED_WHEN_ABANDONED = 0.4;

export abstract class FeedScheduler {
  readonly stats: FeedStats;
  readonly model: ShelfModel;
  protected readonly random: () => number;
  protected readonly clock: () => number;
  protected readonly rate: number;
  protected readonly ttlMs: number;
  protected readonly scale: number;
  protected readonly regions = new Map<string, FeedRegion>();
  /** Cumulative demand weights of the catalogue (best sellers weigh more). */
  protected readonly demand: Array<{ readonly item: CatalogItem; readonly upTo: number }> = [];
  protected readonly due = new DueQueue<Due>();
  /** Reserved units that stop counting when an abandoned cart lapses. */
  protected readonly lapses = new DueQueue<Cart>();
  protected readonly inFlight = new Set<Promise<unknown>>();
  protected timer: NodeJS.Timeout | undefined;
  protected budget = 0;
  /** Of it, what new demand may take (so that carts never come faster than a third of the rate). */
  protected demandBudget = 0;
  protected lastTick = 0;
  protected n = 0;
  protected stopped = false;
  protected started: Promise<void> | undefined;

  constructor(
    protected readonly world: FeedWorld,
    protected readonly transport: FeedTransport,
    protected readonly opts: DemoFeedOptions,
  ) {
    this.random = seededRandom(opts.seed ?? 20101201);
    this.clock = opts.clock ?? Date.now;
    this.rate = opts.rate ?? 50;
    this.ttlMs = (opts.reservationTtlSeconds ?? 30) * 1000;
    this.scale = opts.timeScale ?? 1;
    this.stats = {
      sent: 0,
      byKind: Object.fromEntries(
        [
          "opening receipt",
          "pick",
          "shipment",
          "release",
          "receipt",
          "transfer in",
          ...SPONTANEOUS.map(([k]) => k),
        ].map((k) => [k, 0]),
      ) as Record<FeedKind, number>,
      reservations: { confirmed: 0, short: 0, failed: 0, abandoned: 0, picked: 0, released: 0, missed: 0 },
      publishFailures: 0,
    };
    for (const r of world.regions) this.regions.set(r.region, r);
    const items = opts.catalog.items;
    const weight = (i: CatalogItem) => i.orderQuantities.length ** 1.5;
    const total = items.reduce((s, i) => s + weight(i), 0);
    let upTo = 0;
    for (const item of items) {
      upTo += weight(item) / total;
      this.demand.push({ item, upTo });
    }
    const meanQty = (i: CatalogItem) =>
      i.orderQuantities.reduce((s, q) => s + Math.min(12, q), 0) / Math.max(1, i.orderQuantities.length);
    const reservationsPerSecond = (this.rate * RESERVATION_SHARE) / Math.max(1, world.regions.length);
    this.model = new ShelfModel(world, items, {
      demandPerRegion: (i) => reservationsPerSecond * (weight(i) / total) * meanQty(i),
      maxLeadTimeMs: LEAD_TIME[1] * this.scale,
    });
  }

  get catalog(): Catalog {
    return this.opts.catalog;
  }

  /** Number of SKU-locations fed. */
  get positions(): number {
    return this.model.shelves.length;
  }

  /** Sends the opening stock, waits until the shops can see it, then runs the mix until `stop`. */
  start(): Promise<void> {
    this.started ??= (async () => {
      await this.loadOpeningStock();
      if (this.stopped) return;
      await (this.opts.openingStockVisible ?? (() => this.openingStockVisible()))();
      if (this.stopped) return;
      this.timer = setInterval(() => this.tick(), 100);
    })();
    return this.started;
  }

  /** Stops generating and waits for what was sent to be answered. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.started?.catch(() => {});
    await this.settled();
  }

  /** Resolves when everything sent so far has been answered. */
  async settled(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  /** Receives the opening stock at every shelf (most of its target). */
  async loadOpeningStock(): Promise<void> {
    const shelves = this.model.shelves;
    for (let i = 0; i < shelves.length && !this.stopped; i += 100) {
      await Promise.all(
        shelves.slice(i, i + 100).map((shelf) => {
          const qty = this.model.openingQuantity(shelf, this.random);
          const asn = this.next("ASN-OPEN-");
          shelf.onHand += qty;
          return this.send(
            "opening receipt",
            shelf,
            this.wms(shelf, "receiveGoods", { type: "ASN", id: asn }, asn, {
              quantity: ea(qty),
              documents: { asn },
            }),
          );
        }),
      );
    }
    this.lastTick = this.clock();
  }

  /** Spends the budget earned since the last tick: due work first, then new demand. */
  tick(now = this.clock()): void {
    if (this.stopped) return;
    // By the clock, not by ticks: a busy event loop fires timers late, the rate should not drop.
    const elapsed = Math.max(0, now - this.lastTick) / 1000;
    this.budget = Math.min(this.budget + this.rate * elapsed, this.rate);
    const demandRate = this.rate * SPONTANEOUS_SHARE;
    this.demandBudget = Math.min(this.demandBudget + demandRate * elapsed, demandRate);
    this.lastTick = now;
    for (let cart = this.lapses.popDue(now); cart; cart = this.lapses.popDue(now))
      cart.shelf.reserved -= cart.quantity;
    while (this.budget >= 1) {
      const work = this.due.popDue(now);
      if (!work) break;
      this.budget -= 1;
      this.track(this.runDue(work, now));
    }
    while (this.budget >= 1 && this.demandBudget >= 1) {
      this.budget -= 1;
      this.demandBudget -= 1;
      // Backpressure: when the system answers slower than we send, skip rather than pile up.
      if (this.inFlight.size > 500) continue;
      this.track(this.spontaneous(now));
    }
  }

  private async openingStockVisible(): Promise<void> {
    const expected = this.world.regions.reduce((n, r) => n + r.locations.length, 0);
    let waiting = this.opts.catalog.items.map((i) => i.sku);
    for (const deadline = Date.now() + 20_000; waiting.length > 0 && Date.now() < deadline; ) {
      const seen = await Promise.all(
        waiting.map((sku) => this.transport.availability(sku).catch(() => undefined)),
      );
      waiting = waiting.filter((_, i) => (seen[i]?.locations.length ?? 0) < expected);
      if (waiting.length > 0) await new Promise((r) => setTimeout(r, 200));
    }
  }

  // --- helpers ------------------------------------------------------------------------------------------

  protected draw<T>(xs: readonly T[]): T | undefined {
    return xs.length === 0 ? undefined : xs[Math.floor(this.random() * xs.length)];
  }

  protected between([min, max]: readonly [number, number]): number {
    return Math.round((min + (max - min) * this.random()) * this.scale);
  }

  protected next(prefix: string, width = 6): string {
    this.n++;
    return `${prefix}${String(this.n).padStart(width, "0")}`;
  }

  protected regionOf(shelf: Shelf): FeedRegion {
    return this.regions.get(shelf.region) as FeedRegion;
  }

  protected iso(): string {
    return new Date(this.clock()).toISOString();
  }

  protected track(p: Promise<void>): void {
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p)).catch(() => {});
  }

  protected count(kind: FeedKind): void {
    this.stats.sent++;
    this.stats.byKind[kind]++;
  }

  protected wms(
    shelf: Shelf,
    kind: string,
    doc: { type: string; id: string },
    corr: string,
    body: Record<string, unknown>,
  ) {
    return wmsCommand(this.regionOf(shelf), shelf, this.iso(), kind, doc, corr, body);
  }

  protected async send(
    kind: FeedKind,
    shelf: Shelf,
    payload: Record<string, unknown> | Uint8Array,
    system?: string,
  ) {
    this.count(kind);
    const to = {
      region: shelf.region,
      system: system ?? this.regionOf(shelf).wms,
      location: shelf.location,
      sku: shelf.sku,
    };
    try {
      await this.transport.publish(to, payload);
    } catch (err) {
      this.stats.publishFailures++;
      this.stats.lastError = `${kind}: ${(err as Error).message}`;
      this.opts.logger?.warn({ err, kind }, "feed publish failed");
    }
  }

  /** Items as often as customers ordered them, skewed further towards the best sellers. */
  protected popularItem(): CatalogItem {
    const r = this.random();
    return (this.demand.find((d) => r < d.upTo) ?? this.demand[this.demand.length - 1])?.item as CatalogItem;
  }

  /** Does a piece of due work. */
  protected abstract runDue(work: Due, now: number): Promise<void>;

  /** Does something of its own accord (drawn by weight): mostly a new cart. */
  protected abstract spontaneous(now: number): Promise<void>;
}
