/**
 * A realistic day of commands for the local system: opening stock at every DC, then a steady mix —
 * web-shop reservations through the API, WMS picks that consume them, shipments, replenishment
 * receipts, transfers (now and then across regions), cycle counts, an occasional ERP receipt at a DC
 * (refused: the WMS owns receipts there, a dead letter) and an occasional malformed message (a dead
 * letter). Physical moves are published to `INV_CMD_<R>` as a WMS connector would; reservations go
 * through `POST /v1/reservations` with the commerce key, as a shop would.
 *
 * SKUs and descriptions come from the UCI Online Retail sample when it is found beside the repository
 * (read at run time, never copied; CC BY 4.0), otherwise they are synthetic. Choices are drawn from a
 * seeded generator; what the system answers (and so what follows) still depends on timing.
 *
 * The feed keeps its own picture of the shelves (what it received, picked, shipped, counted) so that
 * what it reports is physically possible: a WMS does not pick what is not there.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Logger } from "pino";
import type { RegionLayout } from "./local-system.ts";

// --- catalogue ------------------------------------------------------------------------------------------

export interface CatalogItem {
  readonly sku: string;
  readonly description: string;
  /** Quantities customers ordered (from the invoices), to draw order sizes from. */
  readonly orderQuantities: readonly number[];
}

export interface Catalog {
  readonly source: "uci-online-retail" | "synthetic";
  readonly file?: string;
  readonly items: readonly CatalogItem[];
  /** To print wherever the data is shown (CC BY 4.0 asks for it). */
  readonly attribution?: string;
}

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");

/** The sample beside the repository (`../shared/samples/...`), never inside it. */
export const UCI_SAMPLE = path.resolve(
  REPO_ROOT,
  "..",
  "shared",
  "samples",
  "datasets",
  "uci-online-retail",
  "2010-12-01.csv",
);

export const UCI_ATTRIBUTION =
  "SKUs and descriptions: Online Retail data set, Daqing Chen, UCI Machine Learning Repository " +
  "(https://doi.org/10.24432/C5BW33), licensed CC BY 4.0; read at run time from ";

/** Splits one CSV line (RFC 4180 quoting, no embedded newlines: the sample has none). */
const csvFields = (line: string): string[] => {
  const out: string[] = [];
  let cur = "";
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cur += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ",") {
      out.push(cur);
      cur = "";
    } else cur += ch;
  }
  out.push(cur);
  return out;
};

/** Product stock codes (5 digits and an optional variant letter), not postage, fees or manual lines. */
const PRODUCT_CODE = /^\d{5}[A-Z]{0,2}$/;

/**
 * The `count` most ordered products of the UCI Online Retail sample, or synthetic SKUs when the file
 * is not there (or `file: null`).
 */
export const loadCatalog = (opts: { file?: string | null; count?: number } = {}): Catalog => {
  const count = opts.count ?? 100;
  const file = opts.file === null ? undefined : (opts.file ?? UCI_SAMPLE);
  if (file && existsSync(file)) {
    const lines = readFileSync(file, "utf8").split(/\r?\n/);
    const header = csvFields(lines[0] ?? "");
    const col = (name: string) => header.indexOf(name);
    const [iCode, iDesc, iQty] = [col("StockCode"), col("Description"), col("Quantity")];
    if (iCode >= 0 && iDesc >= 0 && iQty >= 0) {
      const bySku = new Map<string, { description: string; quantities: number[] }>();
      for (const line of lines.slice(1)) {
        if (!line.trim()) continue;
        const f = csvFields(line);
        const code = (f[iCode] ?? "").trim().toUpperCase();
        const qty = Number(f[iQty]);
        const description = (f[iDesc] ?? "").trim();
        if (!PRODUCT_CODE.test(code) || !Number.isInteger(qty) || qty <= 0 || !description) continue;
        const e = bySku.get(code) ?? { description, quantities: [] };
        e.quantities.push(qty);
        bySku.set(code, e);
      }
      const items = [...bySku]
        .sort((a, b) => b[1].quantities.length - a[1].quantities.length || (a[0] < b[0] ? -1 : 1))
        .slice(0, count)
        .map(([sku, e]) => ({ sku, description: e.description, orderQuantities: e.quantities }));
      if (items.length > 0)
        return { source: "uci-online-retail", file, items, attribution: `${UCI_ATTRIBUTION}${file}` };
    }
  }
  const items = Array.from({ length: count }, (_, i) => ({
    sku: `SKU-${String(1001 + i)}`,
    description: `Synthetic item ${1001 + i}`,
    orderQuantities: [1, 1, 2, 2, 3, 4, 6, 12],
  }));
  return { source: "synthetic", items };
};

// --- randomness -----------------------------------------------------------------------------------------

/** mulberry32: small, fast, seedable. */
export const seededRandom = (seed: number): (() => number) => {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
};

// --- the feed -------------------------------------------------------------------------------------------

/** What the feed needs of the running system. */
export interface FeedTarget {
  readonly apiUrl: string;
  readonly commerceKey: string;
  readonly layouts: readonly RegionLayout[];
  publish(region: string, location: string, sku: string, payload: unknown, msgId?: string): Promise<void>;
}

export interface DemoFeedOptions {
  readonly catalog: Catalog;
  /** Commands per second in the steady mix (default 50). */
  readonly rate?: number;
  readonly seed?: number;
  /** Time to live of web-shop reservations (default 30 s); some carts are abandoned and expire. */
  readonly reservationTtlSeconds?: number;
  /** Resolves when the opening stock is visible to the shops (the global view); the mix starts then. */
  readonly openingStockVisible?: () => Promise<void>;
  readonly logger?: Logger;
}

export type FeedKind =
  | "opening receipt"
  | "reservation"
  | "pick"
  | "shipment"
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
  readonly reservations: { confirmed: number; short: number; failed: number; abandoned: number };
  publishFailures: number;
  lastError?: string;
  /** An order that went reservation → pick → shipment (to trace). */
  tracedOrder?: { order: string; region: string; location: string; sku: string };
  /** A transfer that went across regions. */
  crossRegionTransfer?: { transferOrder: string; from: string; to: string; sku: string };
}

interface Shelf {
  readonly region: string;
  readonly location: string;
  readonly sku: string;
  /** Units the WMS sees in available status (reserved ones included). */
  available: number;
  /** Units held by open reservations the feed knows of. */
  reserved: number;
}

interface OpenReservation {
  readonly id: string;
  readonly order: string;
  readonly shelf: Shelf;
  readonly quantity: number;
  readonly at: number;
}

interface Picked {
  readonly order: string;
  readonly shelf: Shelf;
  readonly quantity: number;
  readonly at: number;
}

interface InTransit {
  readonly transferOrder: string;
  readonly from: Shelf;
  readonly to: Shelf;
  readonly quantity: number;
  readonly at: number;
}

const WEIGHTS: ReadonlyArray<readonly [FeedKind, number]> = [
  ["reservation", 34],
  ["pick", 24],
  ["shipment", 20],
  ["receipt", 8],
  ["purchase order", 3],
  ["cycle count", 5],
  ["transfer in", 4],
  ["transfer out", 2],
  ["ERP receipt at DC", 1.5],
  ["malformed", 1.5],
];

const ea = (value: number) => ({ value, uom: "EA" });

export class DemoFeed {
  readonly stats: FeedStats;
  private readonly random: () => number;
  private readonly rate: number;
  private readonly ttl: number;
  private readonly shelves: Shelf[] = [];
  private readonly items = new Map<string, { description: string; orderQuantities: readonly number[] }>();
  private readonly open: OpenReservation[] = [];
  private readonly picked: Picked[] = [];
  private readonly transit: InTransit[] = [];
  /** Purchase order lines the ERP announced and the WMS has not received yet. */
  private readonly openPurchaseOrders: Array<{ po: string; shelf: Shelf; quantity: number; at: number }> = [];
  private readonly inFlight = new Set<Promise<unknown>>();
  private timer: NodeJS.Timeout | undefined;
  private budget = 0;
  private lastTick = 0;
  private n = 0;
  private stopped = false;
  private started: Promise<void> | undefined;

  constructor(
    private readonly target: FeedTarget,
    private readonly opts: DemoFeedOptions,
  ) {
    this.random = seededRandom(opts.seed ?? 20101201);
    this.rate = opts.rate ?? 50;
    this.ttl = opts.reservationTtlSeconds ?? 30;
    this.stats = {
      sent: 0,
      byKind: Object.fromEntries(
        ["opening receipt", ...WEIGHTS.map(([k]) => k)].map((k) => [k, 0]),
      ) as Record<FeedKind, number>,
      reservations: { confirmed: 0, short: 0, failed: 0, abandoned: 0 },
      publishFailures: 0,
    };
    for (const it of opts.catalog.items) this.items.set(it.sku, it);
    for (const l of target.layouts)
      for (const dc of l.dcs)
        for (const it of opts.catalog.items)
          this.shelves.push({ region: l.region, location: dc.id, sku: it.sku, available: 0, reserved: 0 });
  }

  get catalog(): Catalog {
    return this.opts.catalog;
  }

  /** Number of SKU-locations fed. */
  get positions(): number {
    return this.shelves.length;
  }

  /** Sends the opening stock, waits until the shops can see it, then runs the mix until `stop`. */
  start(): Promise<void> {
    this.started ??= (async () => {
      await this.openingStock();
      if (this.stopped) return;
      await this.opts.openingStockVisible?.();
      if (this.stopped) return;
      this.lastTick = Date.now();
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
    await Promise.allSettled([...this.inFlight]);
  }

  // --- helpers ------------------------------------------------------------------------------------------

  private pick<T>(xs: readonly T[]): T | undefined {
    return xs.length === 0 ? undefined : xs[Math.floor(this.random() * xs.length)];
  }

  private int(min: number, max: number): number {
    return min + Math.floor(this.random() * (max - min + 1));
  }

  /**
   * The three best sellers are short in the last region (the container is late): they sell out there
   * within a minute, shops get 409s, and replenishment does not chase them.
   */
  private isShortItem(shelf: Shelf): boolean {
    const last = this.target.layouts[this.target.layouts.length - 1];
    const top = this.opts.catalog.items.slice(0, 3).map((i) => i.sku);
    return this.target.layouts.length > 1 && shelf.region === last?.region && top.includes(shelf.sku);
  }

  /** Items as often as customers ordered them (the catalogue is ranked by orders). */
  private popularItem(): CatalogItem {
    const items = this.opts.catalog.items;
    // Demand is skewed further towards the best sellers than the sample's line counts.
    const weight = (i: CatalogItem) => i.orderQuantities.length ** 1.5;
    const total = items.reduce((s, i) => s + weight(i), 0);
    let r = this.random() * total;
    for (const it of items) {
      r -= weight(it);
      if (r < 0) return it;
    }
    return items[items.length - 1] as CatalogItem;
  }

  private next(prefix: string, width = 6): string {
    this.n++;
    return `${prefix}${String(this.n).padStart(width, "0")}`;
  }

  private layoutOf(region: string): RegionLayout {
    return this.target.layouts.find((l) => l.region === region) as RegionLayout;
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p)).catch(() => {});
    return p;
  }

  private count(kind: FeedKind): void {
    this.stats.sent++;
    this.stats.byKind[kind]++;
  }

  private async send(
    kind: FeedKind,
    shelf: Shelf,
    command: Record<string, unknown> | Uint8Array,
    msgId?: string,
  ) {
    this.count(kind);
    try {
      await this.target.publish(shelf.region, shelf.location, shelf.sku, command, msgId);
    } catch (err) {
      this.stats.publishFailures++;
      this.stats.lastError = `${kind}: ${(err as Error).message}`;
      this.opts.logger?.warn({ err, kind }, "feed publish failed");
    }
  }

  /** A command as the region's WMS reports it. */
  private wms(
    shelf: Shelf,
    kind: string,
    doc: { type: string; id: string },
    correlationId: string,
    body: Record<string, unknown>,
  ): Record<string, unknown> {
    const system = this.layoutOf(shelf.region).wms;
    return {
      kind,
      idempotencyKey: `${system}:${doc.type}:${doc.id}`,
      source: { system, document: doc },
      businessTime: new Date().toISOString(),
      correlationId,
      position: { region: shelf.region, location: shelf.location, sku: shelf.sku },
      ...body,
    };
  }

  // --- opening stock ------------------------------------------------------------------------------------

  private async openingStock(): Promise<void> {
    for (let i = 0; i < this.shelves.length && !this.stopped; i += 100) {
      await Promise.all(
        this.shelves.slice(i, i + 100).map((shelf) => {
          const qty = this.isShortItem(shelf) ? this.int(1, 3) * 6 : 12 * this.int(5, 20);
          const asn = this.next("ASN-OPEN-");
          shelf.available += qty;
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
  }

  // --- the steady mix -----------------------------------------------------------------------------------

  private tick(): void {
    if (this.stopped) return;
    // By the clock, not by ticks: a busy event loop fires timers late, the rate should not drop.
    const now = Date.now();
    this.budget = Math.min(this.budget + (this.rate * (now - this.lastTick)) / 1000, this.rate);
    this.lastTick = now;
    // Backpressure: when the system answers slower than we send, skip rather than pile up.
    while (this.budget >= 1) {
      this.budget -= 1;
      if (this.inFlight.size > 500) continue;
      this.step();
    }
  }

  private eligible(kind: FeedKind, now: number): boolean {
    switch (kind) {
      case "pick":
        return this.open.some((r) => now - r.at > 1_500);
      case "shipment":
        return this.picked.some((p) => now - p.at > 1_500);
      case "transfer in":
        return this.transit.some((t) => now - t.at > 4_000);
      default:
        return true;
    }
  }

  private step(): void {
    const now = Date.now();
    const options = WEIGHTS.filter(([k]) => this.eligible(k, now));
    const total = options.reduce((s, [, w]) => s + w, 0);
    let r = this.random() * total;
    let kind: FeedKind = "reservation";
    for (const [k, w] of options) {
      r -= w;
      if (r < 0) {
        kind = k;
        break;
      }
    }
    const work = (() => {
      switch (kind) {
        case "reservation":
          return this.reserve();
        case "pick":
          return this.pickOrder(now);
        case "shipment":
          return this.ship(now);
        case "receipt":
          return this.replenish();
        case "purchase order":
          return this.purchaseOrder();
        case "cycle count":
          return this.cycleCount();
        case "transfer out":
          return this.transferOut();
        case "transfer in":
          return this.transferIn(now);
        case "ERP receipt at DC":
          return this.erpReceipt();
        case "malformed":
          return this.malformed();
      }
    })();
    if (work) this.track(work);
  }

  private async reserve(): Promise<void> {
    const layout = this.pick(this.target.layouts) as RegionLayout;
    const item = this.popularItem();
    const quantity = Math.min(12, this.pick(item.orderQuantities) ?? 1);
    const order = this.next(`ORD-${layout.region.toUpperCase()}-`);
    this.count("reservation");
    try {
      const res = await fetch(`${this.target.apiUrl}/v1/reservations`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-api-key": this.target.commerceKey },
        body: JSON.stringify({
          sku: item.sku,
          region: layout.region,
          quantity,
          channel: `webshop-${layout.region}`,
          ttlSeconds: this.ttl,
          order,
          correlationId: order,
          idempotencyKey: order,
        }),
        signal: AbortSignal.timeout(10_000),
      });
      const body = (await res.json().catch(() => ({}))) as {
        reservationId?: string;
        location?: string;
        message?: string;
      };
      if (res.status === 201 && body.reservationId && body.location) {
        this.stats.reservations.confirmed++;
        const shelf = this.shelves.find(
          (s) => s.region === layout.region && s.location === body.location && s.sku === item.sku,
        );
        if (!shelf) return;
        // About one cart in eight is abandoned: its reservation expires at its time to live.
        if (this.random() < 0.12) {
          this.stats.reservations.abandoned++;
          shelf.reserved += quantity;
          setTimeout(() => {
            shelf.reserved -= quantity;
          }, this.ttl * 1000).unref();
          return;
        }
        shelf.reserved += quantity;
        this.open.push({ id: body.reservationId, order, shelf, quantity, at: Date.now() });
      } else if (res.status === 409) this.stats.reservations.short++;
      else {
        this.stats.reservations.failed++;
        this.stats.lastError = `reservation ${res.status}: ${body.message ?? ""}`;
      }
    } catch (err) {
      this.stats.reservations.failed++;
      this.stats.lastError = `reservation: ${(err as Error).message}`;
    }
  }

  private takeOldest<T extends { at: number }>(xs: T[], now: number, minAgeMs: number): T | undefined {
    const i = xs.findIndex((x) => now - x.at > minAgeMs);
    return i < 0 ? undefined : xs.splice(i, 1)[0];
  }

  private async pickOrder(now: number): Promise<void> {
    const r = this.takeOldest(this.open, now, 1_500);
    if (!r) return;
    // A reservation older than its time to live has expired: the WMS would not get the task.
    if (now - r.at > (this.ttl - 2) * 1000) {
      setTimeout(() => {
        r.shelf.reserved -= r.quantity;
      }, 2_000).unref();
      return;
    }
    const task = this.next("PT-");
    r.shelf.available -= r.quantity;
    r.shelf.reserved -= r.quantity;
    this.picked.push({ order: r.order, shelf: r.shelf, quantity: r.quantity, at: Date.now() });
    await this.send(
      "pick",
      r.shelf,
      this.wms(r.shelf, "confirmPick", { type: "pickTask", id: task }, r.order, {
        quantity: ea(r.quantity),
        reservationId: r.id,
        documents: { order: r.order },
      }),
    );
  }

  private async ship(now: number): Promise<void> {
    const p = this.takeOldest(this.picked, now, 1_500);
    if (!p) return;
    const delivery = this.next("80", 8);
    await this.send(
      "shipment",
      p.shelf,
      this.wms(p.shelf, "postShipment", { type: "delivery", id: delivery }, p.order, {
        quantity: ea(p.quantity),
        documents: { order: p.order },
      }),
    );
    this.stats.tracedOrder ??= {
      order: p.order,
      region: p.shelf.region,
      location: p.shelf.location,
      sku: p.shelf.sku,
    };
  }

  /** A purchase-order receipt, mostly where the shelf runs low. */
  /** The ERP orders from a supplier: an open PO line expected at a DC in a few days. */
  private async purchaseOrder(): Promise<void> {
    const low = this.shelves.filter((s) => s.available - s.reserved < 80 && !this.isShortItem(s));
    const shelf = (this.pick(low) ?? this.pick(this.shelves)) as Shelf;
    const quantity = 12 * this.int(4, 16);
    const po = this.next("4500", 6);
    const erp = this.layoutOf(shelf.region).erpSystem;
    const expectedAt = new Date(Date.now() + this.int(2, 10) * 86_400_000).toISOString();
    this.openPurchaseOrders.push({ po, shelf, quantity, at: Date.now() });
    await this.send("purchase order", shelf, {
      kind: "expectReceipt",
      idempotencyKey: `${erp}:purchaseOrder:${po}:1`,
      source: { system: erp, document: { type: "purchaseOrder", id: po, line: "10" } },
      businessTime: new Date().toISOString(),
      correlationId: `PO-${po}`,
      position: { region: shelf.region, location: shelf.location, sku: shelf.sku },
      quantity: ea(quantity),
      expectedAt,
      documents: { po },
    });
  }

  /** The WMS receives goods: sometimes against an older open PO (which it closes), else ad hoc. */
  private async replenish(): Promise<void> {
    const ordered =
      this.random() < 0.3 ? this.takeOldest(this.openPurchaseOrders, Date.now(), 5_000) : undefined;
    const low = this.shelves.filter((s) => s.available - s.reserved < 40 && !this.isShortItem(s));
    const shelf =
      ordered?.shelf ??
      (this.random() < 0.8 ? this.pick(low) : undefined) ??
      (this.pick(this.shelves.filter((s) => !this.isShortItem(s))) as Shelf);
    const qty = ordered?.quantity ?? 12 * this.int(4, 16);
    const po = ordered?.po ?? this.next("4500", 6);
    const asn = `ASN-${po}`;
    shelf.available += qty;
    await this.send(
      "receipt",
      shelf,
      this.wms(shelf, "receiveGoods", { type: "ASN", id: asn }, `PO-${po}`, {
        quantity: ea(qty),
        documents: { po, asn },
      }),
    );
  }

  private async cycleCount(): Promise<void> {
    const shelf = this.pick(this.shelves) as Shelf;
    // Most counts confirm the book; some find a unit or three more or fewer.
    const variance = this.random() < 0.8 ? 0 : (this.random() < 0.5 ? -1 : 1) * this.int(1, 3);
    const counted = Math.max(0, shelf.available + variance);
    shelf.available = counted;
    const doc = this.next("CC-");
    await this.send(
      "cycle count",
      shelf,
      this.wms(shelf, "recordCount", { type: "cycleCount", id: doc }, doc, {
        counted: ea(counted),
        status: "available",
      }),
    );
  }

  private async transferOut(): Promise<void> {
    const candidates = this.shelves.filter((s) => s.available - s.reserved >= 40);
    const from = this.pick(candidates);
    if (!from) return;
    // About one transfer in three crosses regions.
    const across = this.random() < 0.35 && this.target.layouts.length > 1;
    const destinations = this.shelves.filter(
      (s) =>
        s.sku === from.sku &&
        s.location !== from.location &&
        (across ? s.region !== from.region : s.region === from.region),
    );
    const to = this.pick(destinations);
    if (!to) return;
    const spare = from.available - from.reserved - 10;
    const qty = Math.max(1, Math.floor(spare * (0.2 + 0.2 * this.random())));
    const transferOrder = this.next("TO-");
    from.available -= qty;
    this.transit.push({ transferOrder, from, to, quantity: qty, at: Date.now() });
    await this.send(
      "transfer out",
      from,
      this.wms(from, "shipTransfer", { type: "transferOrder", id: transferOrder }, transferOrder, {
        quantity: ea(qty),
        destination: { region: to.region, location: to.location },
        documents: { transferOrder },
        // The carrier's estimate: a day within the region, three across the ocean.
        eta: new Date(Date.now() + (across ? 3 : 1) * 86_400_000).toISOString(),
      }),
    );
    if (to.region !== from.region)
      this.stats.crossRegionTransfer ??= {
        transferOrder,
        from: `${from.region}/${from.location}`,
        to: `${to.region}/${to.location}`,
        sku: from.sku,
      };
  }

  private async transferIn(now: number): Promise<void> {
    const t = this.takeOldest(this.transit, now, 4_000);
    if (!t) return;
    const receipt = this.next("TR-");
    t.to.available += t.quantity;
    await this.send(
      "transfer in",
      t.to,
      this.wms(t.to, "receiveTransfer", { type: "transferReceipt", id: receipt }, t.transferOrder, {
        quantity: ea(t.quantity),
        documents: { transferOrder: t.transferOrder },
      }),
    );
  }

  /** The ERP books a goods receipt at a DC itself: the WMS owns receipts there, so it is refused. */
  private async erpReceipt(): Promise<void> {
    const shelf = this.pick(this.shelves) as Shelf;
    const erp = this.layoutOf(shelf.region).erpSystem;
    const doc = this.next("5000", 6);
    await this.send("ERP receipt at DC", shelf, {
      kind: "receiveGoods",
      idempotencyKey: `${erp}:materialDocument:${doc}`,
      source: { system: erp, document: { type: "materialDocument", id: doc } },
      businessTime: new Date().toISOString(),
      correlationId: `MD-${doc}`,
      position: { region: shelf.region, location: shelf.location, sku: shelf.sku },
      quantity: ea(24),
    });
  }

  /** A connector bug: cut-off JSON, or a fractional quantity. */
  private async malformed(): Promise<void> {
    const shelf = this.pick(this.shelves) as Shelf;
    const doc = this.next("BAD-");
    if (this.random() < 0.5) {
      const text = `{"kind":"receiveGoods","idempotencyKey":"${doc}","quantity":{"value":1`;
      await this.send("malformed", shelf, new TextEncoder().encode(text));
      return;
    }
    await this.send(
      "malformed",
      shelf,
      this.wms(shelf, "confirmPick", { type: "pickTask", id: doc }, doc, { quantity: ea(2.5) }),
    );
  }
}
