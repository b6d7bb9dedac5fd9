/**
 * Runs one world over the stream and measures it the same way for both: the physical truth is kept
 * here, the world only answers what its systems do (take an order or refuse it, when each system
 * shows a movement, what each ERP's books say). Outcomes are judged against the truth at the moment:
 * an order taken beyond what was free on the shelf is an oversell, an order refused while a DC of
 * the customer's region had it free is a refusal with stock there.
 */
import { SimClock } from "./kpi-clock.ts";
import { DAY, type KpiWorld } from "./kpi-parameters.ts";
import { conserved, type OpenOrder, PhysicalStock, type PhysicalTotals } from "./kpi-physical.ts";
import { type GeneratedStream, type Line, lineKey, type StreamEvent } from "./kpi-stream.ts";

export type OrderEvent = Extract<StreamEvent, { kind: "order" }>;

export type Movement =
  | { readonly kind: "receipt"; readonly id: string; readonly line: Line; readonly quantity: number }
  | { readonly kind: "pick"; readonly order: OpenOrder }
  | {
      readonly kind: "transferShipped";
      readonly id: string;
      readonly line: Line;
      readonly to: string;
      readonly quantity: number;
    }
  | {
      readonly kind: "transferReceived";
      readonly id: string;
      readonly line: Line;
      readonly from: string;
      readonly quantity: number;
    }
  | { readonly kind: "return"; readonly id: string; readonly line: Line; readonly quantity: number }
  | {
      readonly kind: "count";
      readonly id: string;
      readonly line: Line;
      readonly writtenOff: number;
      readonly levelAfter: number;
    };
export type MovementKind = Movement["kind"];

/** An ERP's figure of one SKU-location and the part of its difference a posting on its way explains. */
export interface ErpLine {
  readonly erp: string;
  readonly line: Line;
  readonly figure: number;
  /** Units postings already under way (in flight, or waiting with a document the ERP holds) will add. */
  readonly pending: number;
}

export interface UnexplainedLine {
  readonly erp: string;
  readonly line: Line;
  /** ERP figure + pending − physical: what no posting under way will fix. */
  readonly quantity: number;
}

/** What a world's systems do; the runner keeps the truth and the score. */
export interface IntegrationWorld {
  readonly name: "today" | "stockline";
  start(clock: SimClock): void;
  /** The DC the order is taken at, or undefined when the shop refuses it. */
  placeOrder(order: OrderEvent, now: number): string | undefined;
  /** Milliseconds until every system shows the movement, or undefined when it changes no figure. */
  movement(m: Movement, now: number): number | undefined;
  /** An accepted order the shelf could not fill at its pick wave (cancelled). */
  shortPick(order: OpenOrder, now: number): void;
  erpLines(): ErpLine[];
  /** The day's unexplained lines, after they were measured (a person may book corrections). */
  endOfDay(unexplained: readonly UnexplainedLine[], now: number): void;
}

export interface DailyDrift {
  readonly day: number;
  readonly erp: string;
  /** Σ |ERP figure − physical| over the ERP's lines at the end of the day. */
  readonly driftUnits: number;
  /** Σ |unexplained| : the part no posting under way accounts for. */
  readonly unexplainedUnits: number;
  /** Lines with an unexplained difference: each one a person has to investigate. */
  readonly reconciliationItems: number;
}

export interface Percentiles {
  readonly count: number;
  readonly medianMs: number;
  readonly p95Ms: number;
  readonly maxMs: number;
}

export interface WorldFigures {
  readonly orders: number;
  readonly accepted: number;
  readonly refused: number;
  readonly oversold: number;
  readonly oversoldUnits: number;
  readonly refusedWithStock: number;
  readonly shortAtPick: number;
  /** Which orders were oversold and which refused with stock there (ids from the stream). */
  readonly oversoldOrders: readonly string[];
  readonly refusedWithStockOrders: readonly string[];
  readonly agreement: Percentiles & { readonly byKind: Partial<Record<MovementKind, Percentiles>> };
  readonly daily: readonly DailyDrift[];
  readonly unexplainedUnits: Record<string, number>;
  readonly reconciliationItems: number;
  readonly physical: PhysicalTotals;
  readonly conserved: boolean;
  /** Final physical stock per line, to compare with the worlds' own books. */
  readonly finalStock: Record<string, number>;
}

export const percentiles = (xs: readonly number[]): Percentiles => {
  const s = [...xs].sort((a, b) => a - b);
  const at = (p: number) =>
    s.length === 0 ? 0 : (s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] as number);
  return {
    count: s.length,
    medianMs: at(50),
    p95Ms: at(95),
    maxMs: s.length === 0 ? 0 : (s[s.length - 1] as number),
  };
};

export const runWorld = (
  kpiWorld: KpiWorld,
  stream: GeneratedStream,
  days: number,
  world: IntegrationWorld,
): WorldFigures => {
  const clock = new SimClock();
  const physical = new PhysicalStock(stream.opening);
  const locationsOf = new Map(kpiWorld.regions.map((r) => [r.region, r.locations]));
  const allLocations = kpiWorld.regions.flatMap((r) => r.locations);
  const f = {
    orders: 0,
    accepted: 0,
    refused: 0,
    oversold: 0,
    oversoldUnits: 0,
    refusedWithStock: 0,
    shortAtPick: 0,
  };
  const agreement: { kind: MovementKind; ms: number }[] = [];
  const oversoldOrders: string[] = [];
  const refusedWithStockOrders: string[] = [];
  const daily: DailyDrift[] = [];
  const move = (m: Movement) => {
    const ms = world.movement(m, clock.now);
    if (ms !== undefined) agreement.push({ kind: m.kind, ms });
  };

  const handle = (e: StreamEvent): void => {
    const now = clock.now;
    switch (e.kind) {
      case "order": {
        f.orders++;
        const at = world.placeOrder(e, now);
        if (at === undefined) {
          f.refused++;
          if (
            (locationsOf.get(e.region) ?? []).some(
              (location) => physical.freeOf({ location, sku: e.sku }) >= e.quantity,
            )
          ) {
            f.refusedWithStock++;
            refusedWithStockOrders.push(e.id);
          }
          return;
        }
        f.accepted++;
        if (physical.freeOf({ location: at, sku: e.sku }) < e.quantity) {
          f.oversold++;
          f.oversoldUnits += e.quantity;
          oversoldOrders.push(e.id);
        }
        physical.commit({ id: e.id, sku: e.sku, location: at, quantity: e.quantity });
        return;
      }
      case "pickWave":
        for (const location of allLocations) {
          const { picked, short } = physical.pickWave(location);
          for (const o of picked) move({ kind: "pick", order: o });
          for (const o of short) {
            f.shortAtPick++;
            world.shortPick(o, now);
          }
        }
        return;
      case "receipt":
        physical.receive(e, e.quantity);
        move({ kind: "receipt", id: e.id, line: e, quantity: e.quantity });
        return;
      case "return":
        physical.receiveReturn(e, e.quantity);
        move({ kind: "return", id: e.id, line: e, quantity: e.quantity });
        return;
      case "transferShip": {
        const line = { location: e.from, sku: e.sku };
        const quantity = physical.shipTransfer(e.id, line, e.to, e.planned);
        if (quantity > 0) move({ kind: "transferShipped", id: e.id, line, to: e.to, quantity });
        return;
      }
      case "transferArrive": {
        const arrived = physical.arriveTransfer(e.id);
        if (arrived)
          move({
            kind: "transferReceived",
            id: e.id,
            line: arrived.line,
            from: arrived.from,
            quantity: arrived.quantity,
          });
        return;
      }
      case "count": {
        const writtenOff = physical.writeOff(e, e.damaged);
        move({ kind: "count", id: e.id, line: e, writtenOff, levelAfter: physical.onHandOf(e) });
        return;
      }
    }
  };

  world.start(clock);
  for (const e of stream.events) clock.at(e.t, () => handle(e));
  for (let day = 0; day < days; day++)
    clock.at((day + 1) * DAY - 1, () => {
      const unexplained: UnexplainedLine[] = [];
      const byErp = new Map<string, { drift: number; unexplained: number; items: number }>();
      for (const l of world.erpLines()) {
        const truth = physical.onHandOf(l.line);
        const acc = byErp.get(l.erp) ?? { drift: 0, unexplained: 0, items: 0 };
        acc.drift += Math.abs(l.figure - truth);
        const u = l.figure + l.pending - truth;
        if (u !== 0) {
          acc.unexplained += Math.abs(u);
          acc.items++;
          unexplained.push({ erp: l.erp, line: l.line, quantity: u });
        }
        byErp.set(l.erp, acc);
      }
      for (const r of kpiWorld.regions) {
        const acc = byErp.get(r.erp) ?? { drift: 0, unexplained: 0, items: 0 };
        daily.push({
          day: day + 1,
          erp: r.erp,
          driftUnits: acc.drift,
          unexplainedUnits: acc.unexplained,
          reconciliationItems: acc.items,
        });
      }
      world.endOfDay(unexplained, clock.now);
    });
  clock.runUntil(days * DAY - 1);

  const unexplainedUnits: Record<string, number> = {};
  for (const d of daily) unexplainedUnits[d.erp] = (unexplainedUnits[d.erp] ?? 0) + d.unexplainedUnits;
  const byKind: Partial<Record<MovementKind, Percentiles>> = {};
  for (const kind of [...new Set(agreement.map((a) => a.kind))].sort())
    byKind[kind] = percentiles(agreement.filter((a) => a.kind === kind).map((a) => a.ms));
  const totals = physical.summary();
  return {
    ...f,
    oversoldOrders,
    refusedWithStockOrders,
    agreement: { ...percentiles(agreement.map((a) => a.ms)), byKind },
    daily,
    unexplainedUnits,
    reconciliationItems: daily.reduce((s, d) => s + d.reconciliationItems, 0),
    physical: totals,
    conserved: conserved(totals),
    finalStock: Object.fromEntries([...physical.lines()].sort(([a], [b]) => (a < b ? -1 : 1))),
  };
};

export { lineKey };
