/**
 * Promise dates (issue 14): for a SKU, a quantity and a channel, the earliest day it can be
 * promised and from which location, from each position's time-phased ATP (what arrives by each day:
 * inbound transfers at their ETA, open purchase orders at their date; projections/time-phased-atp.ts
 * computes the days) and the channel's rules at that position.
 *
 * A day's figure at a location is the channel's available-to-sell over the position's ATP with the
 * day's cumulative arrivals counted as available (ATP still computed by `atpBreakdown` alone), and
 * with that day's `day` periods (a new day's quota is unused). Without `partial` the answer is one
 * location that covers the whole quantity on the earliest day (the one with most to sell, then by
 * location id); with `partial` it is lines, earliest first (on a day the location with most to sell first), each location's later lines counting
 * what its earlier ones took ("8 now, 4 on the 12th"). Pure.
 */
import {
  availableToSell,
  type ChannelAvailability,
  type ChannelRules,
  type ChannelUsage,
} from "./channel-rules.ts";
import type { Position } from "./ids.ts";
import { type AtpBreakdown, atpBreakdown } from "./position-context.ts";

/** One position that may ship: its ATP now, its arrivals by day, and its channel rules. */
export interface PromiseSource {
  readonly position: Position;
  readonly breakdown: AtpBreakdown;
  /** Days from today (`YYYY-MM-DD`, ascending), with what arrives on each (time-phased ATP's `days`). */
  readonly days: readonly { readonly date: string; readonly incoming: number }[];
  readonly rules?: ChannelRules;
  readonly category?: string;
  readonly usage?: ChannelUsage;
}

export interface PromiseRequest {
  readonly sku: string;
  readonly quantity: number;
  readonly channel: string;
  /** Only locations of this region (a delivery region). */
  readonly region?: string;
  /** Split over days and locations when no single one covers it. */
  readonly partial?: boolean;
}

export interface PromiseLine {
  readonly date: string;
  readonly position: Position;
  readonly quantity: number;
  /** The channel's figure at the location on that day, explained. */
  readonly availability: ChannelAvailability;
}

export type PromiseAnswer =
  | { readonly kind: "promised"; readonly date: string; readonly lines: readonly PromiseLine[] }
  /** Not within the days given: `lines` what can be promised (partial only), `short` the rest. */
  | {
      readonly kind: "short";
      readonly promised: number;
      readonly short: number;
      readonly lines: readonly PromiseLine[];
    };

const figureOn = (s: PromiseSource, dayIndex: number, channel: string): ChannelAvailability => {
  let arrived = 0;
  for (let d = 0; d <= dayIndex && d < s.days.length; d++) arrived += s.days[d]?.incoming ?? 0;
  const b = atpBreakdown({
    available: s.breakdown.available + arrived,
    reserved: s.breakdown.reserved,
    safetyStock: s.breakdown.safetyStock,
    lifecycle: s.breakdown.lifecycle,
  });
  return availableToSell(b, s.rules ?? {}, channel, {
    position: s.position,
    ...(s.category !== undefined ? { category: s.category } : {}),
    day: s.days[dayIndex]?.date ?? "",
    usage: s.usage ?? {},
  });
};

const keyOf = (p: Position): string => `${p.region}\u0000${p.location}`;

export const promiseDate = (req: PromiseRequest, sources: readonly PromiseSource[]): PromiseAnswer => {
  const candidates = sources
    .filter(
      (s) => s.position.sku === req.sku && (req.region === undefined || s.position.region === req.region),
    )
    .sort((a, b) =>
      keyOf(a.position) < keyOf(b.position) ? -1 : keyOf(a.position) > keyOf(b.position) ? 1 : 0,
    );
  const dayCount = Math.max(0, ...candidates.map((s) => s.days.length));
  const taken = new Map<string, number>();
  const lines: PromiseLine[] = [];
  let left = req.quantity;
  for (let d = 0; d < dayCount && left > 0; d++) {
    const figures = candidates
      .filter((s) => d < s.days.length)
      .map((s) => ({ s, a: figureOn(s, d, req.channel) }));
    if (!req.partial) {
      const best = figures
        .filter((f) => f.a.quantity >= req.quantity)
        .sort((x, y) => y.a.quantity - x.a.quantity)[0];
      if (best) {
        const date = best.s.days[d]?.date ?? "";
        return {
          kind: "promised",
          date,
          lines: [{ date, position: best.s.position, quantity: req.quantity, availability: best.a }],
        };
      }
      continue;
    }
    // Fewest lines: the location with most left to sell first.
    const spare = (f: (typeof figures)[number]) => f.a.quantity - (taken.get(keyOf(f.s.position)) ?? 0);
    for (const { s, a } of [...figures].sort((x, y) => spare(y) - spare(x))) {
      const k = keyOf(s.position);
      const take = Math.min(left, Math.max(0, a.quantity - (taken.get(k) ?? 0)));
      if (take <= 0) continue;
      taken.set(k, (taken.get(k) ?? 0) + take);
      left -= take;
      lines.push({ date: s.days[d]?.date ?? "", position: s.position, quantity: take, availability: a });
      if (left === 0) break;
    }
  }
  if (left === 0 && lines.length > 0) {
    return { kind: "promised", date: lines[lines.length - 1]?.date ?? "", lines };
  }
  return { kind: "short", promised: req.quantity - left, short: left, lines: req.partial ? lines : [] };
};
