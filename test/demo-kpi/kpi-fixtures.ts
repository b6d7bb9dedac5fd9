/**
 * A tiny distributor for the KPI model's specifications: region eu (DC-A1, DC-A2, booked in SAP,
 * the ERP today's WMS posts picks to) and region us (DC-B, booked in D365), one web shop, one SKU,
 * and a hand-built stream of physical events at given minutes of the simulated days.
 */
import { ALLOW_ALL } from "../../domain/ownership-policy.ts";
import {
  DAY,
  DEFAULT_STOCKLINE,
  defaultToday,
  type KpiWorld,
  MINUTE,
} from "../../services/demo-kpi/kpi-parameters.ts";
import { runWorld, type WorldFigures } from "../../services/demo-kpi/kpi-run.ts";
import { StocklineWorld } from "../../services/demo-kpi/kpi-stockline.ts";
import type { GeneratedStream, StreamEvent } from "../../services/demo-kpi/kpi-stream.ts";
import { TodayWorld } from "../../services/demo-kpi/kpi-today.ts";

const posting = (target: string) => ({ target, latencyMs: 3, errorRate: 0, lostResponseRate: 0 });

export const TINY: KpiWorld = {
  distributor: "tiny",
  shop: "shop",
  policy: ALLOW_ALL,
  regions: [
    { region: "eu", locations: ["DC-A1", "DC-A2"], wms: "WMS_EU", erp: "SAP", posting: posting("sap") },
    { region: "us", locations: ["DC-B"], wms: "WMS_US", erp: "D365", posting: posting("d365") },
  ],
  routing: {
    targets: [
      { id: "sap", systems: ["SAP"] },
      { id: "d365", systems: ["D365"] },
    ],
    rules: [
      { target: "sap", regions: ["eu"], events: ["*"] },
      { target: "d365", regions: ["us"], events: ["*"] },
    ],
  },
};

export const SKU = "SKU-1";
export const START = "2026-01-05T00:00:00.000Z";
/** `day` (0-based) and minute of that day, in simulation milliseconds. */
export const at = (day: number, minute: number): number => day * DAY + minute * MINUTE;

type Draft = StreamEvent extends infer E
  ? E extends { t: number }
    ? Omit<E, "t"> & { t: number }
    : never
  : never;

export const streamOf = (opening: Record<string, number>, events: Draft[]): GeneratedStream => ({
  skus: [SKU],
  scarce: [],
  opening: new Map(Object.entries(opening).map(([location, q]) => [`${location}|${SKU}`, q])),
  events: [...events].sort((a, b) => a.t - b.t) as StreamEvent[],
});

/** Pick waves every two hours at half past, as the generator makes them. */
export const waves = (days: number): Draft[] =>
  Array.from({ length: days * 12 }, (_, i) => ({
    kind: "pickWave" as const,
    t: i * 2 * 60 * MINUTE + 30 * MINUTE,
  }));

export const runToday = (s: GeneratedStream, days: number): WorldFigures =>
  runWorld(TINY, s, days, new TodayWorld(TINY, s.opening, defaultToday("SAP"), days));

export const runStockline = (s: GeneratedStream, days: number) => {
  const w = new StocklineWorld(TINY, s.opening, DEFAULT_STOCKLINE, 1, START);
  const figures = runWorld(TINY, s, days, w);
  return { figures, world: w };
};
