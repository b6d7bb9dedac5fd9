/**
 * The applied sequences of a source as ranges (domain/source-sequences.ts): equal to the set of
 * applied sequences while it fits, bounded when it does not, and where a sequence stands.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  placeOfSequence,
  SEQUENCE_RANGES_KEPT,
  type SequenceRanges,
  sequenceApplied,
  withSequence,
} from "../../domain/source-sequences.ts";

const wellFormed = (ranges: SequenceRanges) => {
  for (const [i, [from, to]] of ranges.entries()) {
    expect(from).toBeLessThanOrEqual(to);
    const prev = ranges[i - 1];
    // Sorted, disjoint, and not adjacent (adjacent ranges are merged).
    if (prev) expect(from).toBeGreaterThan(prev[1] + 1);
  }
  expect(ranges.length).toBeLessThanOrEqual(SEQUENCE_RANGES_KEPT);
};

const add = (seqs: readonly number[], start: SequenceRanges = []): SequenceRanges =>
  seqs.reduce<SequenceRanges>((r, s) => withSequence(r, s), start);

describe("applied sequences as ranges", () => {
  it("hold exactly the applied sequences, in any order, while they fit in the bound", () => {
    // 0..120 has at most 61 maximal runs: below the bound of 64 ranges.
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 120 }), { maxLength: 200 }), (seqs) => {
        const ranges = add(seqs);
        wellFormed(ranges);
        const set = new Set(seqs);
        for (let s = 0; s <= 122; s++) expect(sequenceApplied(ranges, s), `${s}`).toBe(set.has(s));
        // Applying one again changes nothing (the same array: no copy).
        for (const s of seqs.slice(0, 5)) expect(withSequence(ranges, s)).toBe(ranges);
      }),
    );
  });

  it("stay within the bound by forgetting the lowest ranges, and never invent one", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 2_000 }), { maxLength: 400 }), (seqs) => {
        const ranges = add(seqs);
        wellFormed(ranges);
        const set = new Set(seqs);
        for (const [from, to] of ranges) for (let s = from; s <= to; s++) expect(set.has(s)).toBe(true);
        // The highest applied is never forgotten.
        if (seqs.length > 0) expect(ranges.at(-1)?.[1]).toBe(Math.max(...seqs));
      }),
    );
  });

  it("in-order delivery keeps one range; each hole adds one; the 65th hole drops the lowest range", () => {
    expect(add([1, 2, 3, 4])).toEqual([[1, 4]]);
    expect(add([1, 3, 5])).toEqual([
      [1, 1],
      [3, 3],
      [5, 5],
    ]);
    expect(
      add(
        [2],
        [
          [1, 1],
          [3, 3],
        ],
      ),
    ).toEqual([[1, 3]]);
    const odd = Array.from({ length: SEQUENCE_RANGES_KEPT }, (_, i) => 2 * i + 1);
    const full = add(odd);
    expect(full).toHaveLength(SEQUENCE_RANGES_KEPT);
    const over = withSequence(full, 2 * SEQUENCE_RANGES_KEPT + 1);
    expect(over).toHaveLength(SEQUENCE_RANGES_KEPT);
    expect(over[0]).toEqual([3, 3]);
    expect(sequenceApplied(over, 1)).toBe(false);
    // Filling a hole merges two ranges: room again.
    expect(withSequence(over, 4)).toHaveLength(SEQUENCE_RANGES_KEPT - 1);
  });

  it("place a sequence: start, next, applied, late, gap", () => {
    expect(placeOfSequence(undefined, 1)).toEqual({ kind: "next" });
    expect(placeOfSequence([], 0)).toEqual({ kind: "next" });
    expect(placeOfSequence(undefined, 2)).toEqual({ kind: "gap", expected: 1 });
    const r: SequenceRanges = [
      [1, 3],
      [6, 7],
    ];
    expect(placeOfSequence(r, 8)).toEqual({ kind: "next" });
    expect(placeOfSequence(r, 10)).toEqual({ kind: "gap", expected: 8 });
    expect(placeOfSequence(r, 2)).toEqual({ kind: "applied" });
    expect(placeOfSequence(r, 7)).toEqual({ kind: "applied" });
    expect(placeOfSequence(r, 4)).toEqual({ kind: "late" });
    expect(placeOfSequence(r, 0)).toEqual({ kind: "late" });
  });
});
