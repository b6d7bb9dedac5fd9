/**
 * What a source sequence is for (DESIGN §3.12): a source system may number its messages per
 * position (`source.sequence`: 1, 2, 3, … per source system and SKU-location). The number does two
 * jobs and no more. It finds gaps: when 5 arrives before 4, the position parks 5 (the node holds it
 * durably) until 4 is applied, or until the park timeout, after which 5 is applied anyway and
 * flagged. And it recognises deliveries already applied: the position remembers WHICH sequences of
 * each source it applied, so a redelivery under a new idempotency key is a duplicate. It never
 * refuses a fact: a sequence below the highest applied that was never applied (the receipt that
 * arrived after its pick, a message a killed node held until its redelivery, the one a timeout
 * skipped) is recorded once, at its business time; counts are bitemporal, so a late move from
 * before a count is covered by that count and a late count does not erase later moves.
 *
 * Sequences start at 1; 0 is also accepted as a start (the codec allows it), so with nothing applied
 * yet both 0 and 1 are in order and anything higher is a gap (the first message of a source no longer
 * becomes its baseline). The applied sequences are kept as disjoint, sorted, non-adjacent inclusive
 * ranges `[from, to]`; in-order delivery keeps one range, every unfilled hole adds one. At most
 * `SEQUENCE_RANGES_KEPT` ranges are kept per source: beyond that the lowest range is forgotten, and a
 * replay of a sequence from it is then recognised only by its idempotency key (the position's window
 * of recent keys). Plain JSON, copied per applied event: a change copies one source's few ranges.
 */

/** One source's applied sequences: sorted, disjoint, non-adjacent, inclusive `[from, to]` pairs. */
export type SequenceRanges = readonly (readonly [number, number])[];

/** Ranges remembered per source; see the module comment for what forgetting the lowest one means. */
export const SEQUENCE_RANGES_KEPT = 64;

/** The first sequence of a source at a position (0 is accepted as a start as well). */
export const FIRST_SEQUENCE = 1;

/** Where a sequence stands against what the position applied from its source. */
export type SequencePlace =
  /** Applied already: a redelivery, whatever its idempotency key. */
  | { readonly kind: "applied" }
  /** The next one (or a start): apply. */
  | { readonly kind: "next" }
  /** Below the highest applied and never applied: a late fact, apply now at its business time. */
  | { readonly kind: "late" }
  /** After a gap: park until `expected` (and the ones after it) arrive, or the timeout. */
  | { readonly kind: "gap"; readonly expected: number };

export const highestSequence = (ranges: SequenceRanges): number | undefined => ranges.at(-1)?.[1];

/** Index of the range holding `seq`, or −1. Searched from the top: most sequences are recent. */
const rangeOf = (ranges: SequenceRanges, seq: number): number => {
  for (let i = ranges.length - 1; i >= 0; i--) {
    const [from, to] = ranges[i] as readonly [number, number];
    if (seq > to) return -1;
    if (seq >= from) return i;
  }
  return -1;
};

export const sequenceApplied = (ranges: SequenceRanges, seq: number): boolean => rangeOf(ranges, seq) >= 0;

export const placeOfSequence = (ranges: SequenceRanges | undefined, seq: number): SequencePlace => {
  const highest = ranges ? highestSequence(ranges) : undefined;
  if (ranges === undefined || highest === undefined) {
    return seq <= FIRST_SEQUENCE ? { kind: "next" } : { kind: "gap", expected: FIRST_SEQUENCE };
  }
  if (sequenceApplied(ranges, seq)) return { kind: "applied" };
  if (seq === highest + 1) return { kind: "next" };
  if (seq > highest + 1) return { kind: "gap", expected: highest + 1 };
  return { kind: "late" };
};

/**
 * The ranges with `seq` added (merged with its neighbours), the same array when it was there
 * already. Over `SEQUENCE_RANGES_KEPT` ranges, the lowest is dropped.
 */
export const withSequence = (ranges: SequenceRanges, seq: number): SequenceRanges => {
  const n = ranges.length;
  const last = ranges[n - 1];
  // The common case: in order, extending the top range.
  if (last && seq === last[1] + 1) {
    const out = ranges.slice();
    out[n - 1] = [last[0], seq];
    return out;
  }
  if (rangeOf(ranges, seq) >= 0) return ranges;
  // First range whose start is above seq: seq goes before it.
  let i = n;
  while (i > 0 && (ranges[i - 1] as readonly [number, number])[0] > seq) i--;
  const below = i > 0 ? ranges[i - 1] : undefined;
  const above = i < n ? ranges[i] : undefined;
  const joinsBelow = below !== undefined && below[1] + 1 === seq;
  const joinsAbove = above !== undefined && above[0] - 1 === seq;
  const out = ranges.slice();
  if (joinsBelow && joinsAbove) out.splice(i - 1, 2, [below[0], above[1]]);
  else if (joinsBelow) out[i - 1] = [below[0], seq];
  else if (joinsAbove) out[i] = [seq, above[1]];
  else out.splice(i, 0, [seq, seq]);
  if (out.length > SEQUENCE_RANGES_KEPT) out.splice(0, out.length - SEQUENCE_RANGES_KEPT);
  return out;
};
