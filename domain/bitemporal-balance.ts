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
  /**
   * The entries after the base in chunks of at most `CHUNK`, none empty: sorted by time, and at
   * equal times deltas come before counts (a count covers its own instant). Chunked so that a move
   * copies one chunk and the list of them, not the whole history (256 entries by default).
   */
  readonly chunks: readonly (readonly BalanceEntry[])[];
  /** Number of entries over all chunks. */
  readonly size: number;
  /** Latest count time over base and entries. */
  readonly lastCountT: number | null;
  /** Balance as of the end of time, i.e. the current balance. */
  readonly current: number;
}

const CHUNK = 32;

export const emptyBalance = (): BitemporalBalance => ({
  base: { t: null, balance: 0, lastCountT: null },
  chunks: [],
  size: 0,
  lastCountT: null,
  current: 0,
});

/** The entries after the base, in order (for tests and tools; the functions here walk the chunks). */
export const balanceEntries = (b: BitemporalBalance): BalanceEntry[] => b.chunks.flat();

const fold = (start: number, chunks: readonly (readonly BalanceEntry[])[], upTo: number): number => {
  let v = start;
  for (const chunk of chunks) {
    for (const e of chunk) {
      if (e.t > upTo) return v;
      v = e.kind === "count" ? e.value : v + e.value;
    }
  }
  return v;
};

/** Balance as of business time `t` (inclusive), or undefined when `t` is before the history horizon. */
export const balanceAsOf = (b: BitemporalBalance, t: number): number | undefined => {
  if (b.base.t !== null && t < b.base.t) return undefined;
  return fold(b.base.balance, b.chunks, t);
};

/** Whether a count as of `t` can be placed in this history. */
export const withinHorizon = (b: BitemporalBalance, t: number): boolean => b.base.t === null || t >= b.base.t;

const rank = (e: BalanceEntry): number => (e.kind === "delta" ? 0 : 1);

/** Whether `e` sorts after `prev` (so it goes after it). */
const after = (prev: BalanceEntry, e: BalanceEntry): boolean =>
  prev.t < e.t || (prev.t === e.t && rank(prev) <= rank(e));

const insert = (
  chunks: readonly (readonly BalanceEntry[])[],
  e: BalanceEntry,
): (readonly BalanceEntry[])[] => {
  const out = chunks.slice();
  // Most events arrive in time order, so search from the end: the chunk that takes `e` is the last
  // one whose first entry it sorts after (or the first chunk).
  let c = out.length - 1;
  while (c > 0 && !after((out[c] as readonly BalanceEntry[])[0] as BalanceEntry, e)) c--;
  const chunk = out[c];
  if (chunk === undefined) return [[e]];
  let i = chunk.length;
  while (i > 0 && !after(chunk[i - 1] as BalanceEntry, e)) i--;
  if (i === chunk.length && chunk.length >= CHUNK && c === out.length - 1) {
    out.push([e]);
    return out;
  }
  const changed = chunk.slice();
  changed.splice(i, 0, e);
  if (changed.length > CHUNK) {
    const half = changed.length >> 1;
    out.splice(c, 1, changed.slice(0, half), changed.slice(half));
  } else out[c] = changed;
  return out;
};

const compact = (b: BitemporalBalance, limit: number): BitemporalBalance => {
  if (b.size <= limit) return b;
  let { balance, lastCountT } = b.base;
  let baseT = b.base.t;
  const chunks = b.chunks;
  let c = 0;
  let i = 0;
  let folded = 0;
  const at = (): BalanceEntry | undefined => {
    while (c < chunks.length && i >= (chunks[c] as readonly BalanceEntry[]).length) {
      c++;
      i = 0;
    }
    return chunks[c]?.[i];
  };
  // Fold whole instants, so that `base.t` never splits entries of the same time.
  while (b.size - folded > limit) {
    const t = (at() as BalanceEntry).t;
    for (let e = at(); e !== undefined && e.t === t; e = at()) {
      if (e.kind === "count") {
        balance = e.value;
        lastCountT = e.t;
      } else balance += e.value;
      i++;
      folded++;
    }
    baseT = t;
  }
  at();
  const rest = chunks.slice(c);
  if (i > 0) rest[0] = (rest[0] as readonly BalanceEntry[]).slice(i);
  return { ...b, base: { t: baseT, balance, lastCountT }, chunks: rest, size: b.size - folded };
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
  const chunks = insert(b.chunks, { t, kind: "delta", value: delta });
  return compact({ ...b, chunks, size: b.size + 1, current }, limit);
};

/** Records a count; the caller checks `withinHorizon` first. */
export const applyCount = (
  b: BitemporalBalance,
  t: number,
  counted: number,
  limit: number,
): BitemporalBalance => {
  if (!withinHorizon(b, t)) throw new RangeError("count before the history horizon");
  const chunks = insert(b.chunks, { t, kind: "count", value: counted });
  const lastCountT = b.lastCountT === null ? t : Math.max(b.lastCountT, t);
  const current = fold(b.base.balance, chunks, Number.POSITIVE_INFINITY);
  return compact({ ...b, chunks, size: b.size + 1, lastCountT, current }, limit);
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
  const lastChunk = b.chunks[b.chunks.length - 1];
  const last = lastChunk?.[lastChunk.length - 1];
  if (!last || last.t <= t) return extreme;
  let v = b.base.balance;
  for (const chunk of b.chunks) {
    for (const e of chunk) {
      v = e.kind === "count" ? e.value : v + e.value;
      if (e.t >= t) keep(v);
    }
  }
  return extreme;
};
