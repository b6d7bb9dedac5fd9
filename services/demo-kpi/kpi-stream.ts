/**
 * The seeded stream of what happens in the physical world over N days, the same for both worlds:
 * opening stock, web orders as customers place them, purchase receipts, transfers between DCs
 * (within and across regions, with transit time), returns, cycle counts (some find damage) and the
 * WMS's pick waves. What a world does with it (accept an order, which DC picks it) is the world's own.
 * Deterministic: the same world, parameters and seed give the same stream.
 */
import { seededRandom } from "../local-system/feed-catalog.ts";
import { DAY, HOUR, type KpiWorld, MINUTE, type StreamParameters } from "./kpi-parameters.ts";

export interface Line {
  readonly location: string;
  readonly sku: string;
}
export const lineKey = (l: Line): string => `${l.location}|${l.sku}`;

export type StreamEvent =
  | {
      readonly kind: "order";
      readonly t: number;
      readonly id: string;
      readonly region: string;
      readonly sku: string;
      readonly quantity: number;
    }
  | {
      readonly kind: "receipt";
      readonly t: number;
      readonly id: string;
      readonly location: string;
      readonly sku: string;
      readonly quantity: number;
    }
  | {
      readonly kind: "transferShip";
      readonly t: number;
      readonly id: string;
      readonly sku: string;
      readonly from: string;
      readonly to: string;
      /** What the plan asks for; the WMS ships what is free of open orders, at most this. */
      readonly planned: number;
      readonly arriveAt: number;
    }
  | { readonly kind: "transferArrive"; readonly t: number; readonly id: string }
  | {
      readonly kind: "return";
      readonly t: number;
      readonly id: string;
      readonly location: string;
      readonly sku: string;
      readonly quantity: number;
    }
  | {
      readonly kind: "count";
      readonly t: number;
      readonly id: string;
      readonly location: string;
      readonly sku: string;
      readonly damaged: number;
    }
  | { readonly kind: "pickWave"; readonly t: number };

export interface GeneratedStream {
  readonly skus: readonly string[];
  readonly scarce: readonly string[];
  /** Opening stock per line (`lineKey`), the same in every system at time 0. */
  readonly opening: ReadonlyMap<string, number>;
  /** Ordered by time, then by generation order. */
  readonly events: readonly StreamEvent[];
}

/** Relative demand of the hours of a day (quiet nights, busy evenings). */
const HOURLY_WEIGHT = [
  0.3, 0.2, 0.15, 0.1, 0.1, 0.2, 0.4, 0.7, 1, 1.2, 1.3, 1.3, 1.4, 1.3, 1.2, 1.2, 1.3, 1.4, 1.6, 1.8, 1.9, 1.7,
  1.2, 0.6,
];
const WEIGHT_SUM = HOURLY_WEIGHT.reduce((s, w) => s + w, 0);

/** Knuth's Poisson sampler (the rates here are small). */
const poisson = (rnd: () => number, mean: number): number => {
  const l = Math.exp(-mean);
  let k = 0;
  let p = 1;
  do {
    k++;
    p *= rnd();
  } while (p > l);
  return k - 1;
};

const pickOne = <T>(rnd: () => number, xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;

export const generateStream = (world: KpiWorld, p: StreamParameters): GeneratedStream => {
  const rnd = seededRandom(p.seed);
  const skus = Array.from({ length: p.skus }, (_, i) => `KPI-${String(i + 1).padStart(3, "0")}`);
  const scarce = skus.filter((_, i) => (i + 1) % p.scarceEvery === 0);
  // Popularity falls with rank (Zipf, exponent 0.8): a few SKUs sell most.
  const popularity = skus.map((_, i) => 1 / (i + 1) ** 0.8);
  const popSum = popularity.reduce((s, x) => s + x, 0);
  const share = popularity.map((x) => x / popSum);
  const drawSku = (): string => {
    let r = rnd();
    for (let i = 0; i < skus.length; i++) {
      r -= share[i] as number;
      if (r <= 0) return skus[i] as string;
    }
    return skus[skus.length - 1] as string;
  };
  const meanQty = p.orderQuantities.reduce((s, q) => s + q, 0) / p.orderQuantities.length;
  /** Expected units a day of a SKU at one location of a region. */
  const dailyDemand = (region: (typeof world.regions)[number], skuIndex: number): number =>
    (p.ordersPerDayPerRegion * (share[skuIndex] as number) * meanQty) / region.locations.length;

  const events: StreamEvent[] = [];
  const opening = new Map<string, number>();
  let n = 0;
  const id = (prefix: string) => `${prefix}-${String(++n).padStart(6, "0")}`;

  for (const region of world.regions)
    for (const location of region.locations)
      skus.forEach((sku, i) => {
        const cover = scarce.includes(sku) ? p.openingCoverDays.scarce : p.openingCoverDays.normal;
        opening.set(lineKey({ location, sku }), Math.round(dailyDemand(region, i) * cover));
      });

  const horizon = p.days * DAY;
  for (let day = 0; day < p.days; day++) {
    const d0 = day * DAY;
    for (const region of world.regions) {
      // Web orders, hour by hour.
      for (let h = 0; h < 24; h++) {
        const mean = (p.ordersPerDayPerRegion * (HOURLY_WEIGHT[h] as number)) / WEIGHT_SUM;
        const k = poisson(rnd, mean);
        for (let j = 0; j < k; j++)
          events.push({
            kind: "order",
            t: d0 + h * HOUR + Math.floor(rnd() * HOUR),
            id: id(`SO-${region.region}`),
            region: region.region,
            sku: drawSku(),
            quantity: pickOne(rnd, p.orderQuantities),
          });
      }
      // Returns from earlier orders, received at one of the region's DCs during the day.
      const returns = poisson(rnd, p.ordersPerDayPerRegion * p.returnShare);
      for (let j = 0; j < returns; j++)
        events.push({
          kind: "return",
          t: d0 + 9 * HOUR + Math.floor(rnd() * 8 * HOUR),
          id: id("RMA"),
          location: pickOne(rnd, region.locations),
          sku: drawSku(),
          quantity: 1,
        });
      // Purchase receipts: every few days per SKU-location, staggered, during the day shift.
      for (const [li, location] of region.locations.entries())
        for (const [si, sku] of skus.entries()) {
          if ((day + si + li) % p.replenishEveryDays !== 0) continue;
          const coverage = scarce.includes(sku) ? p.replenishCoverage.scarce : p.replenishCoverage.normal;
          const quantity = Math.round(dailyDemand(region, si) * p.replenishEveryDays * coverage);
          if (quantity > 0)
            events.push({
              kind: "receipt",
              t: d0 + 6 * HOUR + Math.floor(rnd() * 10 * HOUR),
              id: id("PO"),
              location,
              sku,
              quantity,
            });
        }
      // Cycle counts in the early shift; some find damaged units.
      for (const location of region.locations)
        for (let j = 0; j < p.countsPerLocationPerDay; j++)
          events.push({
            kind: "count",
            // Never on a pick wave's instant: a count "X at T" covers the moves at T (bitemporal-balance.ts).
            t: d0 + 6 * HOUR + 5 * MINUTE + j * 10 * MINUTE,
            id: id("CC"),
            location,
            sku: pickOne(rnd, skus),
            damaged: rnd() < p.countDamageChance ? 1 + Math.floor(rnd() * 3) : 0,
          });
    }
    // Transfers between DCs, planned from expected demand (not from any system's figure).
    const all = world.regions.flatMap((r) => r.locations.map((location) => ({ region: r, location })));
    for (let j = 0; j < p.transfersPerDay && all.length > 1; j++) {
      const from = pickOne(rnd, all);
      const inter = rnd() < p.interRegionTransferShare;
      const candidates = all.filter(
        (x) => x.location !== from.location && (inter ? x.region !== from.region : x.region === from.region),
      );
      const to =
        candidates.length > 0
          ? pickOne(rnd, candidates)
          : pickOne(
              rnd,
              all.filter((x) => x !== from),
            );
      const si = Math.floor(rnd() * skus.length);
      const t = d0 + 8 * HOUR + Math.floor(rnd() * 10 * HOUR);
      const crosses = to.region !== from.region;
      const arriveAt = t + (crosses ? p.transitHours.interRegion : p.transitHours.intraRegion) * HOUR;
      const tid = id("TO");
      events.push({
        kind: "transferShip",
        t,
        id: tid,
        sku: skus[si] as string,
        from: from.location,
        to: to.location,
        planned: Math.max(1, Math.round(dailyDemand(from.region, si) * 0.5)),
        arriveAt,
      });
      if (arriveAt < horizon) events.push({ kind: "transferArrive", t: arriveAt, id: tid });
    }
    for (let h = 0; h < 24; h += p.pickWaveHours)
      events.push({ kind: "pickWave", t: d0 + h * HOUR + 30 * MINUTE });
  }
  const order = new Map(events.map((e, i) => [e, i]));
  events.sort((a, b) => a.t - b.t || (order.get(a) as number) - (order.get(b) as number));
  return { skus, scarce, opening, events };
};
