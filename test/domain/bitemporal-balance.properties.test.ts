/**
 * The chunked balance history answers exactly like the plain sorted array it replaced (kept below
 * as the reference model): same current balance, base, entries, horizon, as-of balances and
 * extremes, under any mix of in-order and late deltas and counts and any history limit.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  applyCount,
  applyDelta,
  type BalanceEntry,
  type BitemporalBalance,
  balanceAsOf,
  balanceEntries,
  emptyBalance,
  extremeFrom,
  withinHorizon,
} from "../../domain/bitemporal-balance.ts";

/** The previous implementation: one sorted array, copied on every move. */
interface Reference {
  readonly base: { readonly t: number | null; readonly balance: number; readonly lastCountT: number | null };
  readonly entries: readonly BalanceEntry[];
  readonly lastCountT: number | null;
  readonly current: number;
}

const refEmpty: Reference = {
  base: { t: null, balance: 0, lastCountT: null },
  entries: [],
  lastCountT: null,
  current: 0,
};

const refFold = (start: number, entries: readonly BalanceEntry[], upTo: number): number => {
  let v = start;
  for (const e of entries) {
    if (e.t > upTo) break;
    v = e.kind === "count" ? e.value : v + e.value;
  }
  return v;
};

const refAsOf = (b: Reference, t: number): number | undefined =>
  b.base.t !== null && t < b.base.t ? undefined : refFold(b.base.balance, b.entries, t);

const rank = (e: BalanceEntry): number => (e.kind === "delta" ? 0 : 1);

const refInsert = (entries: readonly BalanceEntry[], e: BalanceEntry): BalanceEntry[] => {
  const out = entries.slice();
  let i = out.length;
  while (i > 0) {
    const prev = out[i - 1] as BalanceEntry;
    if (prev.t < e.t || (prev.t === e.t && rank(prev) <= rank(e))) break;
    i--;
  }
  out.splice(i, 0, e);
  return out;
};

const refCompact = (b: Reference, limit: number): Reference => {
  if (b.entries.length <= limit) return b;
  let { balance, lastCountT } = b.base;
  let baseT = b.base.t;
  let i = 0;
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

const refDelta = (b: Reference, t: number, delta: number, limit: number): Reference => {
  const absorbed = b.lastCountT !== null && t <= b.lastCountT;
  const current = absorbed ? b.current : b.current + delta;
  if (b.base.t !== null && t <= b.base.t) {
    const covered = b.base.lastCountT !== null && t <= b.base.lastCountT;
    const base = covered ? b.base : { ...b.base, balance: b.base.balance + delta };
    return { ...b, base, current };
  }
  return refCompact(
    { ...b, entries: refInsert(b.entries, { t, kind: "delta", value: delta }), current },
    limit,
  );
};

const refCount = (b: Reference, t: number, counted: number, limit: number): Reference => {
  const entries = refInsert(b.entries, { t, kind: "count", value: counted });
  const lastCountT = b.lastCountT === null ? t : Math.max(b.lastCountT, t);
  const current = refFold(b.base.balance, entries, Number.POSITIVE_INFINITY);
  return refCompact({ ...b, entries, lastCountT, current }, limit);
};

const refExtremeFrom = (b: Reference, t: number): number => {
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

type Op = { kind: "delta" | "count"; late: boolean; dt: number; value: number };

const op: fc.Arbitrary<Op> = fc.record({
  kind: fc.constantFrom("delta", "delta", "delta", "count"),
  // Mostly in time order (the common case), sometimes late, often at equal instants.
  late: fc.integer({ min: 0, max: 9 }).map((x) => x < 3),
  dt: fc.integer({ min: 0, max: 3 }),
  value: fc.integer({ min: -20, max: 40 }),
});

const sameAnswers = (b: BitemporalBalance, r: Reference, probes: readonly number[]) => {
  expect(b.current).toBe(r.current);
  expect(b.base).toEqual(r.base);
  expect(b.lastCountT).toBe(r.lastCountT);
  expect(balanceEntries(b)).toEqual(r.entries);
  expect(b.size).toBe(r.entries.length);
  for (const chunk of b.chunks) expect(chunk.length).toBeGreaterThan(0);
  for (const t of probes) {
    expect(balanceAsOf(b, t)).toBe(refAsOf(r, t));
    expect(extremeFrom(b, t)).toBe(refExtremeFrom(r, t));
  }
};

// Without `size: "max"` fast-check makes arrays of at most 10 operations, which never fill a chunk
// of 32, split one or compact across chunks.
const opsArb = fc.array(op, { maxLength: 400, size: "max" });

describe("chunked balance history", () => {
  it("answers like the plain sorted array under any moves, counts and limit", () => {
    let multiChunk = 0;
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 90 }), opsArb, (limit, ops) => {
        let b = emptyBalance();
        let r = refEmpty;
        let now = 0;
        for (const o of ops) {
          now += o.dt;
          const t = o.late ? now - 1 - ((o.value + 20) % 50) : now;
          if (o.kind === "delta") {
            b = applyDelta(b, t, o.value, limit);
            r = refDelta(r, t, o.value, limit);
          } else if (withinHorizon(b, t)) {
            expect(r.base.t === null || t >= r.base.t).toBe(true);
            b = applyCount(b, t, o.value, limit);
            r = refCount(r, t, o.value, limit);
          }
        }
        sameAnswers(b, r, [-1_000, now - 60, now - 30, now - 10, now - 3, now - 1, now, now + 1]);
        for (const x of r.entries) expect(balanceAsOf(b, x.t)).toBe(refAsOf(r, x.t));
        if (b.chunks.length > 2 && b.base.t !== null) multiChunk++;
      }),
      { numRuns: 300 },
    );
    // The runs did reach several chunks and a compacted base.
    expect(multiChunk).toBeGreaterThan(30);
  });

  it("an in-order move copies one chunk and shares the others", () => {
    let b = emptyBalance();
    for (let t = 0; t < 200; t++) b = applyDelta(b, t, 1, 256);
    const next = applyDelta(b, 200, 1, 256);
    const changed = next.chunks.filter((c, i) => c !== b.chunks[i]);
    expect(changed).toHaveLength(1);
  });
});
