/**
 * `stockline demo kpi`'s model: one seeded stream of physical events, played once through today's
 * integration (world A) and once through stockline (world B), measured the same way. Pure: no I/O,
 * no clock; the same world, parameters and seed give the same report.
 */
import type { KpiParameters, KpiRegion, KpiWorld } from "./kpi-parameters.ts";
import { runWorld, type WorldFigures } from "./kpi-run.ts";
import { StocklineWorld } from "./kpi-stockline.ts";
import { generateStream, type StreamEvent } from "./kpi-stream.ts";
import { TodayWorld } from "./kpi-today.ts";

export interface KpiReport {
  readonly title: string;
  readonly distributor: string;
  readonly seed: number;
  readonly days: number;
  readonly start: string;
  readonly world: {
    readonly regions: readonly KpiRegion[];
    readonly shop: string;
    readonly skus: readonly string[];
    readonly scarceSkus: readonly string[];
  };
  readonly parameters: KpiParameters;
  /** How many events of each kind the stream held (the same for both worlds). */
  readonly stream: Record<StreamEvent["kind"], number>;
  readonly today: WorldFigures & { readonly lostPickPostings: number; readonly manualCorrections: number };
  readonly stockline: WorldFigures & {
    readonly eventsStored: number;
    readonly anomaliesRaised: number;
    readonly postings: number;
    readonly postingRetries: number;
    /** Commands the model sent that the machine did not accept for another reason than ATP. */
    readonly unexpectedOutcomes: readonly string[];
    /** Stockline's on hand equals the shelves at the end, line by line. */
    readonly ledgerEqualsShelves: boolean;
  };
}

export const simulateKpi = (world: KpiWorld, parameters: KpiParameters): KpiReport => {
  const sp = parameters.stream;
  const stream = generateStream(world, sp);
  const today = new TodayWorld(world, stream.opening, parameters.today, sp.days);
  const a = runWorld(world, stream, sp.days, today);
  const stockline = new StocklineWorld(world, stream.opening, parameters.stockline, sp.seed, sp.start);
  const b = runWorld(world, stream, sp.days, stockline);
  const ledger = stockline.ledger();
  const ledgerEqualsShelves =
    Object.keys(ledger).length >= Object.keys(b.finalStock).length &&
    Object.entries(ledger).every(([k, q]) => (b.finalStock[k] ?? 0) === q);
  const counts = {
    order: 0,
    receipt: 0,
    transferShip: 0,
    transferArrive: 0,
    return: 0,
    count: 0,
    pickWave: 0,
  };
  for (const e of stream.events) counts[e.kind]++;
  return {
    title: "stockline demo kpi: today's integration vs stockline, same physical events",
    distributor: world.distributor,
    seed: sp.seed,
    days: sp.days,
    start: sp.start,
    world: {
      regions: world.regions,
      shop: world.shop,
      skus: stream.skus,
      scarceSkus: stream.scarce,
    },
    parameters,
    stream: counts,
    today: { ...a, lostPickPostings: today.lostPostings, manualCorrections: today.corrections },
    stockline: {
      ...b,
      eventsStored: stockline.eventsStored,
      anomaliesRaised: stockline.anomalies,
      postings: stockline.postings,
      postingRetries: stockline.postingRetries,
      unexpectedOutcomes: stockline.unexpected.slice(0, 20),
      ledgerEqualsShelves,
    },
  };
};
