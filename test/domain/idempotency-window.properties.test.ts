/**
 * The idempotency window (position-context.ts): whatever the limit and the keys, the position
 * remembers a suffix of the keys in the order they entered it, at least limit − (generation − 1)
 * and at most limit of them, and the revisions of each. A context whose generations hold 64 keys
 * (before generations of 16) keeps working and keeps the bound of its own generation size (stored
 * snapshots of that time are ignored since POSITION_MACHINE_VERSION 6; contexts in memory are not).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { CanonicalEvent } from "../../domain/canonical-event.ts";
import {
  applyEvent,
  DEFAULT_LIMITS,
  IDEMPOTENCY_GENERATION_KEYS,
  type IdempotencyGeneration,
  type IdempotencyRecord,
  idempotencyRecordOf,
  initialPositionContext,
  type PositionContext,
} from "../../domain/position-context.ts";
import { POS } from "./position-spec.ts";

/** A stored event with no balance effect: only the bookkeeping (key, revision) changes. */
const eventWith = (key: string, revision: number): CanonicalEvent =>
  ({
    type: "ReceiptExpected",
    quantity: 1,
    position: POS,
    source: { system: "wms", document: { type: "ASN", id: "A" } },
    documents: {},
    businessTime: "2024-05-01T10:00:00.000Z",
    idempotencyKey: key,
    commandHash: `h-${key}`,
    revision,
    hash: `x${revision}`,
  }) as unknown as CanonicalEvent;

const remembered = (s: PositionContext): string[] =>
  s.idempotency.generations.flatMap((g) => Object.keys(g.keys));

const key = fc.oneof(
  fc.integer({ min: 0, max: 400 }).map((i) => `k-${i}`),
  fc.constantFrom("__proto__", "constructor"),
);

// `size: "max"`: otherwise fast-check makes at most 10 keys, too few to fill a generation of 16.
const keysArb = fc.array(key, { maxLength: 500, size: "max" });

describe("idempotency window", () => {
  it("remembers a suffix of the keys in entry order, between the bounds, with their revisions", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 80 }), keysArb, (limit, keys) => {
        let s = initialPositionContext(POS, { ...DEFAULT_LIMITS, idempotencyKeys: limit });
        const gen = Math.max(1, Math.min(IDEMPOTENCY_GENERATION_KEYS, limit));
        const entered: string[] = [];
        const first = new Map<string, number>();
        for (const [revision, k] of keys.entries()) {
          if (idempotencyRecordOf(s, k) === undefined) {
            entered.push(k);
            first.set(k, revision);
          }
          s = applyEvent(s, eventWith(k, revision));
          const held = remembered(s);
          expect(held).toHaveLength(new Set(held).size);
          expect(held.length).toBeLessThanOrEqual(Math.max(1, limit));
          expect(held.length).toBeGreaterThanOrEqual(Math.min(entered.length, Math.max(1, limit - gen + 1)));
          expect(held).toEqual(entered.slice(entered.length - held.length));
          expect(idempotencyRecordOf(s, k)).toEqual({
            commandHash: `h-${k}`,
            firstRevision: first.get(k),
            lastRevision: revision,
          } satisfies IdempotencyRecord);
          for (const g of s.idempotency.generations) {
            expect(g.size).toBe(Object.keys(g.keys).length);
            expect(g.size).toBeLessThanOrEqual(gen);
          }
        }
      }),
    );
  });

  it("a snapshot with generations of 64 keys still answers, and drops them whole as keys come", () => {
    const limit = 256;
    const generation = (from: number): IdempotencyGeneration => ({
      keys: Object.fromEntries(
        Array.from({ length: 64 }, (_, i) => [
          `old-${from + i}`,
          { commandHash: "h", firstRevision: from + i },
        ]),
      ),
      size: 64,
    });
    let s: PositionContext = {
      ...initialPositionContext(POS, { ...DEFAULT_LIMITS, idempotencyKeys: limit }),
      idempotency: { generations: [0, 64, 128, 192].map(generation) },
    };
    s = JSON.parse(JSON.stringify(s)) as PositionContext;
    expect(idempotencyRecordOf(s, "old-200")).toEqual({ commandHash: "h", firstRevision: 200 });
    for (let i = 0; i < 300; i++) {
      s = applyEvent(s, eventWith(`new-${i}`, 256 + i));
      const held = remembered(s).length;
      expect(held).toBeLessThanOrEqual(limit);
      expect(held).toBeGreaterThanOrEqual(limit - 63);
      expect(idempotencyRecordOf(s, `new-${i}`)).toBeDefined();
    }
    expect(idempotencyRecordOf(s, "old-255")).toBeUndefined();
    expect(remembered(s).length).toBeGreaterThanOrEqual(limit - IDEMPOTENCY_GENERATION_KEYS + 1);
  });
});
