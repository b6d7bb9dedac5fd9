/**
 * Time-phased ATP: what can be promised on each day of a horizon, from today's net ATP plus what is
 * expected to arrive by then (inbound transfers in transit, expected receipts such as open POs/ASNs).
 *
 * Where the dates come from:
 * - An inbound transfer arrives at its `eta` when the origin's shipment gave one (`shipTransfer.eta`,
 *   carried by `TransferShipped` and `TransferInboundRecorded`); otherwise the arrival is derived from
 *   the origin's ship time (`shippedAt`) plus a configured transit time per lane
 *   (`transitDays(origin, dest)`), and counted in `derivedEtas`.
 * - Expected receipts are the open purchase order lines of the position (`ReceiptExpected` events,
 *   less the receipts that name the PO), kept in the read model; callers may add more (`receipts`).
 *
 * Rules: days are UTC calendar days, day 0 is the day of `now`. Arrivals due before today (overdue)
 * count from day 0 and are reported as `overdue`. Incoming stock first covers a negative net (reserved
 * or safety stock beyond what is on hand); a position that is not sellable (on hold, discontinued)
 * promises nothing on any day. Arrivals are assumed to be received as available stock.
 */

import type { Position } from "../domain/ids.ts";
import type { AtpBreakdown } from "../domain/position-context.ts";
import type { ExpectedReceiptView, InboundTransfer } from "./regional-atp.projection.ts";

/** The part of a position's read-model entry time-phased ATP needs. */
export interface TimePhasedPosition {
  readonly position: Position;
  /** What of the position's ATP breakdown time-phasing needs. */
  readonly atp: Pick<AtpBreakdown, "net" | "sellable">;
  readonly inbound: Readonly<Record<string, InboundTransfer>> | readonly InboundTransfer[];
  /** Open purchase order lines expected at the position (the read model's `expectedReceipts`). */
  readonly expectedReceipts?: Readonly<Record<string, ExpectedReceiptView>> | readonly ExpectedReceiptView[];
}

export interface ExpectedReceipt {
  readonly position: Position;
  readonly quantity: number;
  readonly expectedAt: string;
  /** The document it comes from (PO, ASN), for the breakdown. */
  readonly document?: string;
}

export interface TimePhasedConfig {
  /** Days after today to report (today included: `horizonDays + 1` days). */
  readonly horizonDays: number;
  /** Transit time of a lane in days (fractional allowed); `origin` is undefined if unknown. */
  readonly transitDays: (
    origin: { region: string; location: string } | undefined,
    destination: Position,
  ) => number;
}

export const DEFAULT_TIME_PHASED_CONFIG: TimePhasedConfig = {
  horizonDays: 14,
  transitDays: (origin, destination) => (origin && origin.region === destination.region ? 2 : 5),
};

export interface AtpOnDate {
  /** `YYYY-MM-DD` (UTC). */
  readonly date: string;
  /** Quantity expected to arrive on this day (overdue arrivals on day 0). */
  readonly incoming: number;
  /** What can be promised for this day. */
  readonly atp: number;
}

export interface TimePhasedAtp {
  readonly from: string;
  readonly days: readonly AtpOnDate[];
  /** Expected after the horizon (not in any day). */
  readonly beyondHorizon: number;
  /** Expected before today and not yet received (counted on day 0). */
  readonly overdue: number;
  /** Inbound transfers whose arrival was derived from ship time + transit (no ETA in the event). */
  readonly derivedEtas: number;
}

const DAY_MS = 86_400_000;
const dayIndex = (ms: number): number => Math.floor(ms / DAY_MS);
const dateOf = (day: number): string => new Date(day * DAY_MS).toISOString().slice(0, 10);

const transfersOf = (p: TimePhasedPosition): readonly InboundTransfer[] =>
  Array.isArray(p.inbound) ? p.inbound : Object.values(p.inbound as Record<string, InboundTransfer>);

const expectedOf = (p: TimePhasedPosition): readonly ExpectedReceiptView[] =>
  p.expectedReceipts === undefined
    ? []
    : Array.isArray(p.expectedReceipts)
      ? p.expectedReceipts
      : Object.values(p.expectedReceipts as Record<string, ExpectedReceiptView>);

const keyOf = (p: Position): string => `${p.region}\u0000${p.location}\u0000${p.sku}`;

/**
 * ATP by day over the horizon for the given positions (one SKU's locations, or one position),
 * summed. `now` is an ISO timestamp or epoch ms. Pure.
 */
export const timePhasedAtp = (
  positions: readonly TimePhasedPosition[],
  receipts: readonly ExpectedReceipt[],
  now: string | number,
  config: TimePhasedConfig = DEFAULT_TIME_PHASED_CONFIG,
): TimePhasedAtp => {
  const nowMs = typeof now === "number" ? now : Date.parse(now);
  const today = dayIndex(nowMs);
  const n = Math.max(0, Math.floor(config.horizonDays)) + 1;
  const totalIncoming = new Array<number>(n).fill(0);
  const atp = new Array<number>(n).fill(0);
  let beyond = 0;
  let overdue = 0;
  let derived = 0;

  const receiptsByPosition = new Map<string, ExpectedReceipt[]>();
  for (const r of receipts) {
    const k = keyOf(r.position);
    const list = receiptsByPosition.get(k);
    if (list) list.push(r);
    else receiptsByPosition.set(k, [r]);
  }

  // A receipt expected at a position without an entry yet counts as a new, empty, sellable position.
  const known = new Set(positions.map((p) => keyOf(p.position)));
  const all: TimePhasedPosition[] = [...positions];
  for (const [k, list] of receiptsByPosition) {
    if (!known.has(k))
      all.push({ position: list[0]!.position, atp: { net: 0, sellable: true }, inbound: [] });
  }

  for (const p of all) {
    const incoming = new Array<number>(n).fill(0);
    const arrive = (quantity: number, atMs: number) => {
      if (quantity <= 0 || Number.isNaN(atMs)) return;
      const d = dayIndex(atMs) - today;
      if (d >= n) {
        beyond += quantity;
        return;
      }
      if (d < 0) overdue += quantity;
      incoming[Math.max(0, d)]! += quantity;
    };
    for (const t of transfersOf(p)) {
      if (t.inTransit <= 0) continue;
      if (t.eta) {
        arrive(t.inTransit, Date.parse(t.eta));
      } else if (t.shippedAt) {
        derived++;
        arrive(t.inTransit, Date.parse(t.shippedAt) + config.transitDays(t.origin, p.position) * DAY_MS);
      } else {
        // Received before it was announced: nothing known about when the rest arrives.
        beyond += t.inTransit;
      }
    }
    for (const r of expectedOf(p)) arrive(r.quantity, Date.parse(r.expectedAt));
    for (const r of receiptsByPosition.get(keyOf(p.position)) ?? [])
      arrive(r.quantity, Date.parse(r.expectedAt));
    let cumulative = 0;
    for (let d = 0; d < n; d++) {
      cumulative += incoming[d]!;
      totalIncoming[d]! += incoming[d]!;
      atp[d]! += p.atp.sellable ? Math.max(0, p.atp.net + cumulative) : 0;
    }
  }
  return {
    from: dateOf(today),
    days: atp.map((a, d) => ({ date: dateOf(today + d), incoming: totalIncoming[d]!, atp: a })),
    beyondHorizon: beyond,
    overdue,
    derivedEtas: derived,
  };
};

/** ATP promised on a date (`YYYY-MM-DD` or ISO timestamp); `undefined` outside the horizon's days. */
export const atpOnDate = (tp: TimePhasedAtp, date: string): number | undefined =>
  tp.days.find((d) => d.date === date.slice(0, 10))?.atp;
