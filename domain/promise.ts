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
 * location id); with `partial` it is lines, earliest first (on a day the location with most to sell
 * first), each location's later lines counting what its earlier ones took as reserved there and as
 * the channel's use on their days ("8 now, 4 on the 12th"; a day quota renews the next day). Pure.
 */
import {
  availableToSell,
  type ChannelAvailability,
  type ChannelRules,
  type ChannelUsage,
  recordUse,
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

/** What earlier lines of a partial promise took at a location, by day. */
type Taken = readonly { readonly date: string; readonly quantity: number }[];

/**
 * The channel's figure at `s` on day `dayIndex`, with what earlier lines took there counted as if
 * reserved: out of ATP, and as the channel's use on their days (a day quota renews the next day,
 * an `untilRevoked` one does not).
 */
const figureOn = (
  s: PromiseSource,
  dayIndex: number,
  channel: string,
  taken: Taken = [],
): ChannelAvailability => {
  let arrived = 0;
  for (let d = 0; d <= dayIndex && d < s.days.length; d++) arrived += s.days[d]?.incoming ?? 0;
  const b = atpBreakdown({
    available: s.breakdown.available + arrived,
    reserved: s.breakdown.reserved + taken.reduce((n, t) => n + t.quantity, 0),
    safetyStock: s.breakdown.safetyStock,
    lifecycle: s.breakdown.lifecycle,
  });
  const usage = taken.reduce((u, t) => recordUse(u, channel, t.date, t.quantity), s.usage ?? {});
  return availableToSell(b, s.rules ?? {}, channel, {
    position: s.position,
    ...(s.category !== undefined ? { category: s.category } : {}),
    day: s.days[dayIndex]?.date ?? "",
    usage,
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
  const taken = new Map<string, { date: string; quantity: number }[]>();
  const lines: PromiseLine[] = [];
  let left = req.quantity;
  for (let d = 0; d < dayCount && left > 0; d++) {
    if (!req.partial) {
      const best = candidates
        .filter((s) => d < s.days.length)
        .map((s) => ({ s, a: figureOn(s, d, req.channel) }))
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
    // What each location may still sell that day, given what earlier lines took there; fewest
    // lines: the location with most first.
    const figures = candidates
      .filter((s) => d < s.days.length)
      .map((s) => ({ s, a: figureOn(s, d, req.channel, taken.get(keyOf(s.position))) }))
      .sort((x, y) => y.a.quantity - x.a.quantity);
    for (const { s, a } of figures) {
      const take = Math.min(left, a.quantity);
      if (take <= 0) continue;
      const date = s.days[d]?.date ?? "";
      const k = keyOf(s.position);
      taken.set(k, [...(taken.get(k) ?? []), { date, quantity: take }]);
      left -= take;
      lines.push({ date, position: s.position, quantity: take, availability: a });
      if (left === 0) break;
    }
  }
  if (left === 0 && lines.length > 0) {
    return { kind: "promised", date: lines[lines.length - 1]?.date ?? "", lines };
  }
  return { kind: "short", promised: req.quantity - left, short: left, lines: req.partial ? lines : [] };
};
