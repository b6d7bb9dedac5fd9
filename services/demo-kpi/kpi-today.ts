/**
 * World A, today's integration (issue 12): every system keeps its own figure on its own schedule.
 * - The WMS knows the shelves at once (the truth of its DCs).
 * - Each region's ERP is updated by postings: receipts and count write-offs some minutes later,
 *   picks only at the locations of the one ERP the WMS posts picks to, transfers (both legs) by the
 *   overnight run, returns a day later by customer service against the RMA.
 * - The web shop sells against a copy of the ERP balance taken every 15 minutes, less the orders it
 *   took itself since the copy.
 * - A person books corrections of each unexplained drift line the next morning.
 * A posting that is under way (in flight, or waiting with a document the ERP holds: the transfer
 * order, the RMA) explains its part of the drift; a pick never posted explains nothing.
 */
import type { SimClock } from "./kpi-clock.ts";
import { DAY, HOUR, type KpiWorld, MINUTE, type TodayParameters } from "./kpi-parameters.ts";
import type { OpenOrder } from "./kpi-physical.ts";
import type { ErpLine, IntegrationWorld, Movement, OrderEvent, UnexplainedLine } from "./kpi-run.ts";
import { type Line, lineKey } from "./kpi-stream.ts";

export class TodayWorld implements IntegrationWorld {
  readonly name = "today";
  private clock!: SimClock;
  private readonly erp = new Map<string, number>();
  private readonly pending = new Map<string, number>();
  private shop = new Map<string, number>();
  private readonly lines = new Map<string, Line>();
  private readonly erpOf = new Map<string, string>();
  private readonly locationsOf = new Map<string, readonly string[]>();
  private readonly copyMs: number;
  /** Picks never posted to their ERP (found by reconciliation). */
  lostPostings = 0;
  corrections = 0;

  constructor(
    world: KpiWorld,
    opening: ReadonlyMap<string, number>,
    private readonly p: TodayParameters,
    private readonly days: number,
  ) {
    for (const r of world.regions) {
      this.locationsOf.set(r.region, r.locations);
      for (const l of r.locations) this.erpOf.set(l, r.erp);
    }
    for (const [k, q] of opening) {
      const [location, sku] = k.split("|") as [string, string];
      this.lines.set(k, { location, sku });
      this.erp.set(k, q);
    }
    this.shop = new Map(this.erp);
    this.copyMs = p.shopCopyMinutes * MINUTE;
  }

  start(clock: SimClock): void {
    this.clock = clock;
    for (let t = this.copyMs; t < this.days * DAY; t += this.copyMs)
      clock.at(t, () => {
        this.shop = new Map(this.erp);
      });
  }

  /** The first shop copy after `t` (a copy at the same instant ran before what is posted then). */
  private nextCopy(t: number): number {
    return (Math.floor(t / this.copyMs) + 1) * this.copyMs;
  }

  private nextHourOfDay(t: number, hour: number): number {
    const at = Math.floor(t / DAY) * DAY + hour * HOUR;
    return at > t ? at : at + DAY;
  }

  /** Books `delta` at `at`; until then it is pending. Returns ms until ERP and shop show it. */
  private post(line: Line, delta: number, now: number, at: number): number {
    const k = lineKey(line);
    this.lines.set(k, line);
    this.pending.set(k, (this.pending.get(k) ?? 0) + delta);
    this.clock.at(at, () => {
      this.pending.set(k, (this.pending.get(k) ?? 0) - delta);
      this.erp.set(k, (this.erp.get(k) ?? 0) + delta);
    });
    return this.nextCopy(at) - now;
  }

  placeOrder(o: OrderEvent, _now: number): string | undefined {
    let best: string | undefined;
    let bestFigure = Number.NEGATIVE_INFINITY;
    for (const location of this.locationsOf.get(o.region) ?? []) {
      const fig = this.shop.get(lineKey({ location, sku: o.sku })) ?? 0;
      if (fig > bestFigure) {
        best = location;
        bestFigure = fig;
      }
    }
    if (best === undefined || bestFigure < o.quantity) return undefined;
    const k = lineKey({ location: best, sku: o.sku });
    this.shop.set(k, bestFigure - o.quantity);
    return best;
  }

  movement(m: Movement, now: number): number | undefined {
    const p = this.p;
    switch (m.kind) {
      case "receipt":
        return this.post(m.line, m.quantity, now, now + p.receiptPostingMinutes * MINUTE);
      case "pick": {
        if (this.erpOf.get(m.order.location) === p.picksPostedTo)
          return this.post(m.order, -m.order.quantity, now, now + p.pickPostingMinutes * MINUTE);
        // Never posted: the ERP shows it only once a person has corrected the line, next morning.
        this.lostPostings++;
        const corrected = Math.floor(now / DAY) * DAY + DAY + p.correctionHour * HOUR;
        return this.nextCopy(corrected) - now;
      }
      case "transferShipped":
        return this.post(m.line, -m.quantity, now, this.nextHourOfDay(now, p.transferPostingHour));
      case "transferReceived":
        return this.post(m.line, m.quantity, now, this.nextHourOfDay(now, p.transferPostingHour));
      case "return":
        return this.post(m.line, m.quantity, now, now + p.returnPostingHours * HOUR);
      case "count":
        if (m.writtenOff === 0) return undefined;
        return this.post(m.line, -m.writtenOff, now, now + p.countPostingMinutes * MINUTE);
    }
  }

  shortPick(_o: OpenOrder, _now: number): void {
    // The order is cancelled; the shop's figure is replaced by the next copy anyway.
  }

  erpLines(): ErpLine[] {
    return [...this.lines].map(([k, line]) => ({
      erp: this.erpOf.get(line.location) ?? "?",
      line,
      figure: this.erp.get(k) ?? 0,
      pending: this.pending.get(k) ?? 0,
    }));
  }

  endOfDay(unexplained: readonly UnexplainedLine[], now: number): void {
    const at = Math.floor(now / DAY) * DAY + DAY + this.p.correctionHour * HOUR;
    for (const u of unexplained)
      this.clock.at(at, () => {
        const k = lineKey(u.line);
        this.erp.set(k, (this.erp.get(k) ?? 0) - u.quantity);
        this.corrections++;
      });
  }
}
