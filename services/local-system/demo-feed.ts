/**
 * A realistic day of commands for a running stockline: opening stock at every location, then web-shop
 * reservations through the API and what follows from them — the WMS picks each kept cart within
 * seconds and ships it, the ERP orders where a shelf runs low and the WMS receives the goods after
 * a lead time — with transfers (now and then across regions), cycle counts, an occasional ERP
 * receipt at a DC (refused: the WMS owns receipts there, a dead letter) and an occasional malformed
 * message (a dead letter). Some carts are abandoned: released by the shop or left to expire.
 *
 * The feed speaks to the system through a narrow input only (feed-world.ts): the world's regions and
 * locations, publishing as a source system, and the public HTTP API. When it acts is the scheduler's
 * (feed-scheduler.ts); what is on the shelves, the shelf model's (feed-shelves.ts).
 */

import { ea, erpReceiptAtDc, expectReceipt, malformed } from "./feed-commands.ts";
import {
  ABANDONED,
  type Cart,
  type Due,
  type FeedKind,
  FeedScheduler,
  LEAD_TIME,
  PICK_AFTER,
  RELEASED_WHEN_ABANDONED,
  SHIP_AFTER,
  SPONTANEOUS,
  SPONTANEOUS_TOTAL,
  TRANSIT,
  TRANSIT_ACROSS,
} from "./feed-scheduler.ts";
import type { Shelf } from "./feed-shelves.ts";
import type { FeedRegion } from "./feed-world.ts";

export type { Catalog, CatalogItem } from "./feed-catalog.ts";
export { loadCatalog, seededRandom, UCI_ATTRIBUTION, UCI_SAMPLE } from "./feed-catalog.ts";
export type { DemoFeedOptions, FeedKind, FeedStats } from "./feed-scheduler.ts";
export type { Shelf } from "./feed-shelves.ts";
export { inventoryPosition } from "./feed-shelves.ts";
export type { FeedRegion, FeedTransport, FeedWorld } from "./feed-world.ts";
export { httpFeedApi } from "./feed-world.ts";

/** Reservation requests the shops have open at once, at most. */
const MAX_UNANSWERED_CARTS = 32;

export class DemoFeed extends FeedScheduler {
  private reserving = 0;
  private picksDue = 0;

  /** Kept carts waiting for their pick (scheduled, not yet done). */
  get awaitingPick(): number {
    return this.picksDue;
  }

  /** Orders at once (the command goes out as due work) when the shelf fell below its reorder point. */
  private replenishIfLow(shelf: Shelf): void {
    const quantity = this.model.orderQuantity(shelf);
    if (quantity <= 0) return;
    shelf.onOrder += quantity;
    this.due.push(this.clock(), { kind: "purchase order", shelf, quantity });
  }

  // --- due work -----------------------------------------------------------------------------------------

  protected async runDue(work: Due, now: number): Promise<void> {
    switch (work.kind) {
      case "pick":
        return this.pickCart(work.cart, now);
      case "release":
        return this.release(work.cart);
      case "shipment":
        return this.ship(work.cart, work.quantity);
      case "purchase order":
        return this.purchaseOrder(work.shelf, work.quantity);
      case "receipt":
        return this.receive(work.shelf, work.quantity, work.po);
      case "transfer in":
        return this.transferIn(work.transferOrder, work.to, work.quantity);
    }
  }

  private async pickCart(cart: Cart, now: number): Promise<void> {
    this.picksDue--;
    // Past its time to live the reservation has expired: the WMS would not get the task.
    if (now >= cart.at + this.ttlMs - Math.min(2_000, this.ttlMs / 10)) {
      this.stats.reservations.missed++;
      this.lapses.push(cart.at + this.ttlMs, cart);
      return;
    }
    const shelf = cart.shelf;
    // A WMS picks what is there: a count may have found less than was reserved.
    const quantity = Math.min(cart.quantity, Math.max(0, shelf.onHand));
    shelf.reserved -= cart.quantity;
    if (quantity < cart.quantity) {
      // The rest goes back to ATP at once rather than at the time to live.
      this.count("release");
      this.track(this.transport.releaseReservation(cart.id).then(() => {}));
    }
    if (quantity === 0) return;
    shelf.onHand -= quantity;
    shelf.picked += quantity;
    this.stats.reservations.picked++;
    this.due.push(now + this.between(SHIP_AFTER), { kind: "shipment", cart, quantity });
    const task = this.next("PT-");
    await this.send(
      "pick",
      shelf,
      this.wms(shelf, "confirmPick", { type: "pickTask", id: task }, cart.order, {
        quantity: ea(quantity),
        reservationId: cart.id,
        documents: { order: cart.order },
      }),
    );
  }

  private async release(cart: Cart): Promise<void> {
    this.count("release");
    const out = await this.transport.releaseReservation(cart.id);
    cart.shelf.reserved -= cart.quantity;
    if (out.kind === "released") this.stats.reservations.released++;
    else if (out.kind === "failed") {
      this.stats.reservations.failed++;
      this.stats.lastError = out.message;
    }
  }

  private async ship(cart: Cart, quantity: number): Promise<void> {
    const shelf = cart.shelf;
    shelf.picked -= quantity;
    await this.send(
      "shipment",
      shelf,
      this.wms(shelf, "postShipment", { type: "delivery", id: this.next("80", 8) }, cart.order, {
        quantity: ea(quantity),
        documents: { order: cart.order },
      }),
    );
    this.stats.tracedOrder ??= {
      order: cart.order,
      region: shelf.region,
      location: shelf.location,
      sku: shelf.sku,
    };
  }

  /** The ERP orders from a supplier; the WMS receives the goods after the lead time. */
  private async purchaseOrder(shelf: Shelf, quantity: number): Promise<void> {
    const po = this.next("4500", 6);
    const region = this.regionOf(shelf);
    // The supplier's date, days ahead (time-phased ATP shows it); the demo's goods come sooner.
    const expectedAt = new Date(
      this.clock() + (2 + Math.floor(this.random() * 9)) * 86_400_000,
    ).toISOString();
    this.due.push(this.clock() + this.between(LEAD_TIME), { kind: "receipt", shelf, quantity, po });
    await this.send(
      "purchase order",
      shelf,
      expectReceipt(region, shelf, this.iso(), po, quantity, expectedAt),
      region.erp,
    );
  }

  private async receive(shelf: Shelf, quantity: number, po: string): Promise<void> {
    shelf.onOrder -= quantity;
    shelf.onHand += quantity;
    const asn = `ASN-${po}`;
    await this.send(
      "receipt",
      shelf,
      this.wms(shelf, "receiveGoods", { type: "ASN", id: asn }, `PO-${po}`, {
        quantity: ea(quantity),
        documents: { po, asn },
      }),
    );
  }

  private async transferIn(transferOrder: string, to: Shelf, quantity: number): Promise<void> {
    to.inbound -= quantity;
    to.onHand += quantity;
    await this.send(
      "transfer in",
      to,
      this.wms(to, "receiveTransfer", { type: "transferReceipt", id: this.next("TR-") }, transferOrder, {
        quantity: ea(quantity),
        documents: { transferOrder },
      }),
    );
  }

  // --- what happens of its own accord ----------------------------------------------------------------

  protected spontaneous(now: number): Promise<void> {
    let r = this.random() * SPONTANEOUS_TOTAL;
    let kind: FeedKind = "reservation";
    for (const [k, w] of SPONTANEOUS) {
      r -= w;
      if (r < 0) {
        kind = k;
        break;
      }
    }
    switch (kind) {
      case "cycle count":
        return this.cycleCount();
      case "purchase order": {
        // A planning run: the emptiest of a few shelves is ordered up to its target.
        const shelf = this.model.reviewCandidate(this.random);
        const quantity = shelf ? this.model.orderQuantity(shelf, true) : 0;
        if (!shelf || quantity <= 0) return Promise.resolve();
        shelf.onOrder += quantity;
        return this.purchaseOrder(shelf, quantity);
      }
      case "transfer out":
        return this.transferOut(now);
      case "ERP receipt at DC": {
        const shelf = this.draw(this.model.shelves) as Shelf;
        const region = this.regionOf(shelf);
        return this.send(
          kind,
          shelf,
          erpReceiptAtDc(region, shelf, this.iso(), this.next("5000", 6)),
          region.erp,
        );
      }
      case "malformed": {
        const shelf = this.draw(this.model.shelves) as Shelf;
        const doc = this.next("BAD-");
        return this.send(
          kind,
          shelf,
          malformed(this.regionOf(shelf), shelf, this.iso(), doc, this.random() < 0.5),
        );
      }
      default:
        return this.reserve();
    }
  }

  private async reserve(): Promise<void> {
    // A shop waits for its answer: with this many carts unanswered, the next customer does not come.
    if (this.reserving >= MAX_UNANSWERED_CARTS) return;
    const region = this.draw(this.world.regions) as FeedRegion;
    const item = this.popularItem();
    const quantity = Math.min(12, this.draw(item.orderQuantities) ?? 1);
    const order = this.next(`ORD-${region.region.toUpperCase()}-`);
    this.count("reservation");
    // Its time to live runs from the request, however long the answer takes.
    const at = this.clock();
    this.reserving++;
    const out = await this.transport
      .placeReservation({
        sku: item.sku,
        region: region.region,
        quantity,
        channel: `webshop-${region.region}`,
        ttlSeconds: this.ttlMs / 1000,
        order,
        idempotencyKey: order,
      })
      .finally(() => this.reserving--);
    if (out.kind === "short") {
      this.stats.reservations.short++;
      return;
    }
    if (out.kind === "failed") {
      this.stats.reservations.failed++;
      this.stats.lastError = out.message;
      return;
    }
    // Where the system placed it: the one thing the feed learns from the system's answer.
    const shelf = this.model.find(region.region, out.location, item.sku);
    if (!shelf) {
      this.stats.reservations.failed++;
      this.stats.lastError = `reservation ${out.reservationId} placed at unknown location ${out.location}`;
      return;
    }
    this.stats.reservations.confirmed++;
    const cart: Cart = { id: out.reservationId, order, shelf, quantity, at };
    shelf.reserved += quantity;
    if (this.random() < ABANDONED) {
      this.stats.reservations.abandoned++;
      if (this.random() < RELEASED_WHEN_ABANDONED)
        this.due.push(at + Math.round(this.ttlMs * (0.2 + 0.4 * this.random())), { kind: "release", cart });
      else this.lapses.push(at + this.ttlMs, cart);
    } else {
      // Picked well within the time to live, however short it is.
      const after = Math.min(this.between(PICK_AFTER), Math.round(this.ttlMs * 0.4));
      this.picksDue++;
      this.due.push(this.clock() + after, { kind: "pick", cart });
    }
    this.replenishIfLow(shelf);
  }

  private async cycleCount(): Promise<void> {
    const shelf = this.draw(this.model.shelves) as Shelf;
    // Most counts confirm the book; some find a unit or three more or fewer.
    const variance =
      this.random() < 0.8 ? 0 : (this.random() < 0.5 ? -1 : 1) * (1 + Math.floor(this.random() * 3));
    shelf.onHand = Math.max(0, shelf.onHand + variance);
    const doc = this.next("CC-");
    this.replenishIfLow(shelf);
    await this.send(
      "cycle count",
      shelf,
      this.wms(shelf, "recordCount", { type: "cycleCount", id: doc }, doc, {
        counted: ea(shelf.onHand),
        status: "available",
      }),
    );
  }

  private async transferOut(now: number): Promise<void> {
    // About one transfer in three crosses regions.
    const across = this.random() < 0.35 && this.world.regions.length > 1;
    const t = this.model.transfer(this.random, across);
    if (!t) return;
    const { from, to, quantity } = t;
    const transferOrder = this.next("TO-");
    from.onHand -= quantity;
    to.inbound += quantity;
    this.due.push(now + this.between(across ? TRANSIT_ACROSS : TRANSIT), {
      kind: "transfer in",
      transferOrder,
      to,
      quantity,
    });
    this.replenishIfLow(from);
    await this.send(
      "transfer out",
      from,
      this.wms(from, "shipTransfer", { type: "transferOrder", id: transferOrder }, transferOrder, {
        quantity: ea(quantity),
        destination: { region: to.region, location: to.location },
        documents: { transferOrder },
        // The carrier's estimate: a day within the region, three across the ocean.
        eta: new Date(this.clock() + (across ? 3 : 1) * 86_400_000).toISOString(),
      }),
    );
    if (across)
      this.stats.crossRegionTransfer ??= {
        transferOrder,
        from: `${from.region}/${from.location}`,
        to: `${to.region}/${to.location}`,
        sku: from.sku,
      };
  }
}
