/**
 * The demo feed's picture of the shelves: what is physically at each SKU-location and what is owed to
 * or from it, kept from the feed's own actions only (what it received, picked, shipped, counted,
 * transferred) plus where the system placed each reservation. It is the warehouse's truth, never
 * the system's answer: decisions (replenish, transfer) must not feed on ATP, or a drift in one would
 * grow in the other (the first feed replenished where its stale reservations made shelves look low,
 * the API placed the next carts where that stock showed, and one SKU's ATP climbed to 13,923).
 *
 * Replenishment is an order-up-to policy per shelf: when the inventory position (on hand, less what
 * is reserved, plus what is on order or in transit to it) falls below the reorder point, the ERP
 * orders up to the target. So on hand stays within [0, target] whatever the demand, and ATP with it.
 */
import type { CatalogItem } from "./feed-catalog.ts";
import type { FeedWorld } from "./feed-world.ts";

export interface Shelf {
  readonly region: string;
  readonly location: string;
  readonly sku: string;
  /** Never replenished: sells out (the container is late), the shops get 409s. */
  readonly short: boolean;
  /** Order-up-to level. */
  readonly target: number;
  /** Reorder when the inventory position falls below this. */
  readonly reorderPoint: number;
  /** Units on the shelf in available status (reserved ones included). */
  onHand: number;
  /** Units of open reservations placed here (to pick, or abandoned until they lapse). */
  reserved: number;
  /** Picked, waiting for the shipment. */
  picked: number;
  /** Open purchase order quantity. */
  onOrder: number;
  /** Transfers on their way here. */
  inbound: number;
}

/** On hand less reserved plus what is coming: what the replenishment policy looks at. */
export const inventoryPosition = (s: Shelf): number => s.onHand - s.reserved + s.onOrder + s.inbound;

export const CASE = 12;

export interface ShelfPolicy {
  /** Expected units per second reserved of an item in one region. */
  readonly demandPerRegion: (item: CatalogItem) => number;
  /** The longest purchase order lead time (ms): the reorder point covers a region's demand over it. */
  readonly maxLeadTimeMs: number;
}

const roundUp = (n: number, to: number) => Math.ceil(n / to) * to;

export class ShelfModel {
  readonly shelves: readonly Shelf[];
  private readonly byKey = new Map<string, Shelf>();

  constructor(world: FeedWorld, items: readonly CatalogItem[], policy: ShelfPolicy) {
    const last = world.regions[world.regions.length - 1]?.region;
    const top = new Set(items.slice(0, 3).map((i) => i.sku));
    const shelves: Shelf[] = [];
    for (const r of world.regions)
      for (const location of r.locations)
        for (const item of items) {
          // The API places a cart where most is available, so one DC can take its whole region's
          // demand for a while: the reorder point covers that over the longest lead time, twice.
          const leadDemand = policy.demandPerRegion(item) * (policy.maxLeadTimeMs / 1000);
          const target = Math.max(4 * CASE, roundUp(4 * leadDemand, CASE));
          const shelf: Shelf = {
            region: r.region,
            location,
            sku: item.sku,
            short: world.regions.length > 1 && r.region === last && top.has(item.sku),
            target,
            reorderPoint: Math.ceil(target / 2),
            onHand: 0,
            reserved: 0,
            picked: 0,
            onOrder: 0,
            inbound: 0,
          };
          shelves.push(shelf);
          this.byKey.set(keyOf(r.region, location, item.sku), shelf);
        }
    this.shelves = shelves;
  }

  find(region: string, location: string, sku: string): Shelf | undefined {
    return this.byKey.get(keyOf(region, location, sku));
  }

  /** Opening stock: most of the target (a few cases for the short items). */
  openingQuantity(s: Shelf, random: () => number): number {
    if (s.short) return CASE / 2 + (CASE / 2) * Math.floor(random() * 3);
    return Math.max(CASE, roundUp(s.target * (0.6 + 0.4 * random()), CASE) - CASE);
  }

  /** What to order for a shelf now (0: nothing). `review`: a planning run orders below target too. */
  orderQuantity(s: Shelf, review = false): number {
    if (s.short) return 0;
    const position = inventoryPosition(s);
    if (position >= (review ? s.target - 2 * CASE : s.reorderPoint)) return 0;
    // Whole cases, never past the target.
    return Math.floor((s.target - position) / CASE) * CASE;
  }

  /** The shelf a planning run looks at: the emptiest of a few drawn at random. */
  reviewCandidate(random: () => number): Shelf | undefined {
    let best: Shelf | undefined;
    for (let i = 0; i < 8; i++) {
      const s = this.shelves[Math.floor(random() * this.shelves.length)];
      if (!s || s.short) continue;
      if (!best || inventoryPosition(s) / s.target < inventoryPosition(best) / best.target) best = s;
    }
    return best;
  }

  /**
   * A transfer from a shelf with stock to spare to one of the same SKU with room (`across`: in
   * another region), or nothing when no pair fits.
   */
  transfer(random: () => number, across: boolean): { from: Shelf; to: Shelf; quantity: number } | undefined {
    const spare = (s: Shelf) =>
      Math.min(s.onHand - s.reserved, inventoryPosition(s) - Math.ceil(s.target * 0.6));
    const origins = this.shelves.filter((s) => spare(s) >= 2 * CASE);
    const from = origins[Math.floor(random() * origins.length)];
    if (!from) return undefined;
    const room = (s: Shelf) => s.target - inventoryPosition(s);
    const destinations = this.shelves.filter(
      (s) =>
        s.sku === from.sku &&
        s.location !== from.location &&
        !s.short &&
        room(s) >= CASE &&
        (across ? s.region !== from.region : s.region === from.region),
    );
    const to = destinations[Math.floor(random() * destinations.length)];
    if (!to) return undefined;
    const quantity = Math.min(room(to), Math.max(1, Math.floor(spare(from) * (0.3 + 0.3 * random()))));
    return { from, to, quantity };
  }
}

const keyOf = (region: string, location: string, sku: string) => `${region}\u0000${location}\u0000${sku}`;
