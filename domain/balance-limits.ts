/**
 * Balances stay within `MAX_BALANCE` (limits.ts, DESIGN §3.11): a command whose effect would take
 * any balance of its position past it is refused, instead of being recorded as a number that
 * sums and ATP can no longer add exactly. Facts are recorded when they drive a balance negative,
 * not when they make it unrepresentable.
 */
import { extremeFrom } from "./bitemporal-balance.ts";
import { MAX_BALANCE } from "./limits.ts";
import type { PositionContext } from "./position-context.ts";
import { BUCKETS } from "./statuses.ts";

export interface BalanceOutOfRange {
  /** The balance, as in `balancesAfter` (`onHand.available`, `reserved`, `inboundInTransit`, ...). */
  readonly balance: string;
  readonly value: number;
  readonly limit: number;
  readonly message: string;
}

const outOfRange = (balance: string, value: number, when = ""): BalanceOutOfRange | undefined =>
  Math.abs(value) > MAX_BALANCE
    ? {
        balance,
        value,
        limit: MAX_BALANCE,
        message: `${balance} would become ${value}${when}, beyond the largest balance of ±${MAX_BALANCE}`,
      }
    : undefined;

/**
 * The first balance that `after` (the position once a command's events applied, at business time
 * `t` in ms) holds beyond the limit, or undefined. Only what the command changed is looked at;
 * on-hand buckets at every business time from `t` on, since a late count is decided against them.
 */
export const balanceOutOfRange = (
  before: PositionContext,
  after: PositionContext,
  t: number,
): BalanceOutOfRange | undefined => {
  for (const b of BUCKETS) {
    if (after.buckets[b] === before.buckets[b]) continue;
    const v = extremeFrom(after.buckets[b], t);
    const bad = outOfRange(`onHand.${b}`, v, v === after.buckets[b].current ? "" : " as of an earlier time");
    if (bad) return bad;
  }
  const bad = outOfRange("reserved", after.reserved) ?? outOfRange("safetyStock", after.safetyStock);
  if (bad) return bad;
  if (after.inbound !== before.inbound) {
    let inTransit = 0;
    for (const [order, x] of Object.entries(after.inbound)) {
      const each =
        outOfRange(`inbound transfer ${JSON.stringify(order)} shipped`, x.shipped) ??
        outOfRange(`inbound transfer ${JSON.stringify(order)} received`, x.received);
      if (each) return each;
      inTransit += Math.max(0, x.shipped - x.received);
    }
    return outOfRange("inboundInTransit", inTransit);
  }
  return undefined;
};
