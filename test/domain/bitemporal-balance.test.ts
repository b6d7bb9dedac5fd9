import { describe, expect, it } from "vitest";
import {
  applyCount,
  applyDelta,
  type BitemporalBalance,
  balanceAsOf,
  balanceEntries,
  emptyBalance,
  withinHorizon,
} from "../../domain/bitemporal-balance.ts";

const delta = (b: BitemporalBalance, t: number, d: number, limit = 100) => applyDelta(b, t, d, limit);
const count = (b: BitemporalBalance, t: number, n: number, limit = 100) => applyCount(b, t, n, limit);

describe("bitemporal balance", () => {
  it("a count anchors the balance at its time; later moves add to it", () => {
    let b = delta(emptyBalance(), 0, 10);
    b = delta(b, 20, -3);
    b = count(b, 10, 9);
    expect(b.current).toBe(6);
    expect(balanceAsOf(b, 5)).toBe(10);
    expect(balanceAsOf(b, 10)).toBe(9);
    expect(balanceAsOf(b, 20)).toBe(6);
  });

  it("a count covers moves at its own instant; a later count at the same instant wins", () => {
    let b = count(emptyBalance(), 10, 5);
    b = delta(b, 10, 3);
    expect(b.current).toBe(5);
    b = count(b, 10, 7);
    expect(b.current).toBe(7);
    expect(balanceAsOf(b, 10)).toBe(7);
  });

  it("history is bounded: older entries fold into the base, counts before it cannot be placed", () => {
    let b = count(emptyBalance(), 10, 5, 2);
    b = delta(b, 20, 1, 2);
    b = delta(b, 30, 1, 2);
    b = delta(b, 40, 1, 2);
    expect(balanceEntries(b)).toHaveLength(2);
    expect(b.base).toEqual({ t: 20, balance: 6, lastCountT: 10 });
    expect(withinHorizon(b, 19)).toBe(false);
    expect(balanceAsOf(b, 19)).toBeUndefined();
    expect(balanceAsOf(b, 20)).toBe(6);
    expect(() => applyCount(b, 5, 1, 2)).toThrow(RangeError);
  });

  it("a late move before the horizon is applied exactly: covered by a folded count, or not", () => {
    let b = count(emptyBalance(), 10, 5, 2);
    b = delta(b, 20, 1, 2);
    b = delta(b, 30, 1, 2);
    b = delta(b, 40, 1, 2);
    const covered = delta(b, 5, 100, 2);
    expect(covered.current).toBe(8);
    expect(balanceAsOf(covered, 20)).toBe(6);
    const uncovered = delta(b, 15, 100, 2);
    expect(uncovered.current).toBe(108);
    expect(balanceAsOf(uncovered, 20)).toBe(106);
  });
});
