/**
 * One bucket's balance over business time (DESIGN §3.8).
 *
 * Moves are deltas at a business time; a count is an absolute level at a business time that
 * covers every move at or before it. So the balance as of T is the latest count at or before T
 * plus the deltas after that count up to T, whatever order they were recorded in:
 * - a late count never erases moves recorded after its business time, and
 * - a late delta from before the latest count never undoes that count (the count saw it).
 *
 * History is bounded: at most `limit` entries are kept; older ones are folded into `base`, the
 * balance as of `base.t`. A count as of a time before the horizon cannot be placed
 * (`balanceAsOf` returns undefined). A late delta before the horizon is still applied exactly,
 * because `base` remembers its latest count. Plain JSON, so it can live in an actor snapshot.
 */

export interface BalanceEntry {
  /** Business time, ms since the epoch. */
  readonly t: number;
  readonly kind: "delta" | "count";
  /** The delta, or the counted level. */
  readonly value: number;
}

export interface BitemporalBalance {
  /** Everything at or before `t` folded; `t` null while nothing has been folded. */
  readonly base: { readonly t: number | null; readonly balance: number; readonly lastCountT: number | null };
  /** Sorted by time; at equal times deltas come before counts (a count covers its own instant). */
  readonly entries: readonly BalanceEntry[];
  /** Latest count time over base and entries. */
  readonly lastCountT: number | null;
  /** Balance as of the end of time, i.e. the current balance. */
  readonly current: number;
}

export const emptyBalance = (): BitemporalBalance => ({
  base: { t: null, balance: 0, lastCountT: null },
  entries: [],
  lastCountT: null,
  current: 0,
});

const fold = (start: number, entries: readonly BalanceEntry[], upTo: number): number => {
  let v = start;
  for (const e of entries) {
    if (e.t > upTo) break;
    v = e.kind === "count" ? e.value : v + e.value;
  }
  return v;
};

/** Balance as of business time `t` (inclusive), or undefined when `t` is before the history horizon. */
export const balanceAsOf = (b: BitemporalBalance, t: number): number | undefined => {
  if (b.base.t !== null && t < b.base.t) return undefined;
  return fold(b.base.balance, b.entries, t);
};

/** Whether a count as of `t` can be placed in this history. */
export const withinHorizon = (b: BitemporalBalance, t: number): boolean => b.base.t === null || t >= b.base.t;

const rank = (e: BalanceEntry): number => (e.kind === "delta" ? 0 : 1);

const insert = (entries: readonly BalanceEntry[], e: BalanceEntry): BalanceEntry[] => {
  const out = entries.slice();
  let i = out.length;
  // Most events arrive in time order, so search from the end.
  while (i > 0) {
    const prev = out[i - 1] as BalanceEntry;
    if (prev.t < e.t || (prev.t === e.t && rank(prev) <= rank(e))) break;
    i--;
  }
  out.splice(i, 0, e);
  return out;
};

const compact = (b: BitemporalBalance, limit: number): BitemporalBalance => {
  if (b.entries.length <= limit) return b;
  let { balance, lastCountT } = b.base;
  let baseT = b.base.t;
  let i = 0;
  // Fold whole instants, so that `base.t` never splits entries of the same time.
  while (b.entries.length - i > limit) {
    const t = (b.entries[i] as BalanceEntry).t;
    while (i < b.entries.length && (b.entries[i] as BalanceEntry).t === t) {
      const e = b.entries[i] as BalanceEntry;
      if (e.kind === "count") {
        balance = e.value;
        lastCountT = e.t;
      } else balance += e.value;
      i++;
    }
    baseT = t;
  }
  return { ...b, base: { t: baseT, balance, lastCountT }, entries: b.entries.slice(i) };
};

export const applyDelta = (
  b: BitemporalBalance,
  t: number,
  delta: number,
  limit: number,
): BitemporalBalance => {
  const absorbed = b.lastCountT !== null && t <= b.lastCountT;
  const current = absorbed ? b.current : b.current + delta;
  if (b.base.t !== null && t <= b.base.t) {
    // Before the horizon: fold straight into the base, unless a count there already covers it.
    const covered = b.base.lastCountT !== null && t <= b.base.lastCountT;
    const base = covered ? b.base : { ...b.base, balance: b.base.balance + delta };
    return { ...b, base, current };
  }
  return compact({ ...b, entries: insert(b.entries, { t, kind: "delta", value: delta }), current }, limit);
};

/** Records a count; the caller checks `withinHorizon` first. */
export const applyCount = (
  b: BitemporalBalance,
  t: number,
  counted: number,
  limit: number,
): BitemporalBalance => {
  if (!withinHorizon(b, t)) throw new RangeError("count before the history horizon");
  const entries = insert(b.entries, { t, kind: "count", value: counted });
  const lastCountT = b.lastCountT === null ? t : Math.max(b.lastCountT, t);
  const current = fold(b.base.balance, entries, Number.POSITIVE_INFINITY);
  return compact({ ...b, entries, lastCountT, current }, limit);
};

/**
 * The balance of largest magnitude as of any business time from `t` on: what a change at `t`
 * can have moved (limits are checked there, DESIGN §3.11). In time order nothing lies after `t`,
 * and the current balance is the answer without a scan.
 */
export const extremeFrom = (b: BitemporalBalance, t: number): number => {
  let extreme = b.current;
  const keep = (v: number) => {
    if (Math.abs(v) > Math.abs(extreme)) extreme = v;
  };
  if (b.base.t !== null && t <= b.base.t) keep(b.base.balance);
  const last = b.entries[b.entries.length - 1];
  if (!last || last.t <= t) return extreme;
  let v = b.base.balance;
  for (const e of b.entries) {
    v = e.kind === "count" ? e.value : v + e.value;
    if (e.t >= t) keep(v);
  }
  return extreme;
};
