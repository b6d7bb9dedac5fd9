/**
 * The physical truth of one world: units on the shelves per SKU-location, units on the road, and
 * the accepted orders the warehouse still has to pick. Both worlds keep their own (what is picked
 * depends on what each accepted); both change it only through these methods, so conservation is
 * checked once for both: opening + received + returned = on hand + in transit + shipped + written off.
 */
import { type Line, lineKey } from "./kpi-stream.ts";

export interface OpenOrder {
  readonly id: string;
  readonly sku: string;
  readonly location: string;
  readonly quantity: number;
}

export interface PhysicalTotals {
  readonly opening: number;
  readonly received: number;
  readonly returned: number;
  readonly shipped: number;
  readonly writtenOff: number;
  /** Of what was written off, units accepted orders were waiting for: their picks can come up short. */
  readonly promisedWrittenOff: number;
  readonly onHand: number;
  readonly inTransit: number;
}

export class PhysicalStock {
  private readonly onHand = new Map<string, number>();
  private readonly committed = new Map<string, number>();
  private readonly open = new Map<string, OpenOrder[]>();
  private readonly transit = new Map<string, { sku: string; from: string; to: string; quantity: number }>();
  private totals = { opening: 0, received: 0, returned: 0, shipped: 0, writtenOff: 0, promisedWrittenOff: 0 };

  constructor(opening: ReadonlyMap<string, number>) {
    for (const [k, q] of opening) {
      this.onHand.set(k, q);
      this.totals.opening += q;
    }
  }

  onHandOf(l: Line): number {
    return this.onHand.get(lineKey(l)) ?? 0;
  }

  /** On hand less what accepted orders not yet picked will take. */
  freeOf(l: Line): number {
    return this.onHandOf(l) - (this.committed.get(lineKey(l)) ?? 0);
  }

  lines(): IterableIterator<[string, number]> {
    return this.onHand.entries();
  }

  private add(l: Line, delta: number): void {
    const k = lineKey(l);
    const next = (this.onHand.get(k) ?? 0) + delta;
    if (next < 0) throw new Error(`physical stock of ${k} would go to ${next}`);
    this.onHand.set(k, next);
  }

  receive(l: Line, quantity: number): void {
    this.add(l, quantity);
    this.totals.received += quantity;
  }

  receiveReturn(l: Line, quantity: number): void {
    this.add(l, quantity);
    this.totals.returned += quantity;
  }

  /** An accepted order waits for the next pick wave at its DC. */
  commit(order: OpenOrder): void {
    const k = lineKey(order);
    this.committed.set(k, (this.committed.get(k) ?? 0) + order.quantity);
    const q = this.open.get(order.location) ?? [];
    q.push(order);
    this.open.set(order.location, q);
  }

  /**
   * A pick wave at one DC: the open orders in the order they were accepted; each is picked and
   * shipped when the shelf holds it, otherwise it is short (cancelled, the customer is told).
   */
  pickWave(location: string): { picked: OpenOrder[]; short: OpenOrder[] } {
    const orders = this.open.get(location) ?? [];
    this.open.set(location, []);
    const picked: OpenOrder[] = [];
    const short: OpenOrder[] = [];
    for (const o of orders) {
      const k = lineKey(o);
      this.committed.set(k, (this.committed.get(k) ?? 0) - o.quantity);
      if (this.onHandOf(o) >= o.quantity) {
        this.add(o, -o.quantity);
        this.totals.shipped += o.quantity;
        picked.push(o);
      } else short.push(o);
    }
    return { picked, short };
  }

  /** Ships what is free of open orders, at most `planned`; returns what left. */
  shipTransfer(id: string, from: Line, to: string, planned: number): number {
    const quantity = Math.max(0, Math.min(planned, this.freeOf(from)));
    if (quantity === 0) return 0;
    this.add(from, -quantity);
    this.transit.set(id, { sku: from.sku, from: from.location, to, quantity });
    return quantity;
  }

  /** The goods of a transfer arrive (nothing when nothing was shipped). */
  arriveTransfer(id: string): { line: Line; from: string; quantity: number } | undefined {
    const t = this.transit.get(id);
    if (!t) return undefined;
    this.transit.delete(id);
    const line = { location: t.to, sku: t.sku };
    this.add(line, t.quantity);
    return { line, from: t.from, quantity: t.quantity };
  }

  /** A count finds `damaged` units (at most what is there) and writes them off. */
  writeOff(l: Line, damaged: number): number {
    const quantity = Math.min(damaged, this.onHandOf(l));
    if (quantity > 0) {
      this.add(l, -quantity);
      this.totals.writtenOff += quantity;
      const promisedShort = (this.committed.get(lineKey(l)) ?? 0) - this.onHandOf(l);
      this.totals.promisedWrittenOff += Math.min(quantity, Math.max(0, promisedShort));
    }
    return quantity;
  }

  summary(): PhysicalTotals {
    let onHand = 0;
    for (const q of this.onHand.values()) onHand += q;
    let inTransit = 0;
    for (const t of this.transit.values()) inTransit += t.quantity;
    return { ...this.totals, onHand, inTransit };
  }
}

/** Conservation: nothing appears or disappears that the stream did not bring or take. */
export const conserved = (t: PhysicalTotals): boolean =>
  t.opening + t.received + t.returned === t.onHand + t.inTransit + t.shipped + t.writtenOff;
