/** The chunked reservation book behaves like a plain map of open reservations, and stays chunked. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  deleteReservation,
  EMPTY_BOOK,
  type Reservation,
  type ReservationBook,
  reservationEntries,
  reservationIn,
  reservationsById,
  setReservation,
} from "../../domain/reservation-book.ts";

const r = (quantity: number): Reservation => ({
  quantity,
  channel: "web",
  expiresAt: "2024-05-01T10:00:00.000Z",
  placedAt: "2024-05-01T09:45:00.000Z",
});
// Few distinct ids so that sets, replacements and deletes of the same id interleave; some are
// named like Object.prototype members.
const id = fc.oneof(
  fc.integer({ min: 0, max: 150 }).map((i) => `R-${i}`),
  fc.constantFrom("__proto__", "constructor"),
);
const op = fc.oneof(
  fc.tuple(fc.constant("set" as const), id, fc.integer({ min: 1, max: 9 })),
  fc.tuple(fc.constant("delete" as const), id, fc.constant(0)),
);

describe("reservation book", () => {
  it("equals a Map under any sequence of sets and deletes, with no empty or oversized chunk", () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 600 }), (ops) => {
        let book: ReservationBook = EMPTY_BOOK;
        const reference = new Map<string, Reservation>();
        for (const [kind, key, q] of ops) {
          const before = book;
          const beforeContent = JSON.stringify(before);
          if (kind === "set") {
            book = setReservation(book, key, r(q));
            reference.set(key, r(q));
          } else {
            book = deleteReservation(book, key);
            reference.delete(key);
          }
          // Persistent: the previous book is untouched (contexts of earlier revisions share it).
          expect(JSON.stringify(before)).toBe(beforeContent);
        }
        expect(new Map(reservationEntries(book))).toEqual(reference);
        for (const [key, value] of reference) expect(reservationIn(book, key)).toEqual(value);
        expect(reservationIn(book, "R-999")).toBeUndefined();
        for (const chunk of book.chunks) {
          expect(Object.keys(chunk).length).toBeGreaterThan(0);
          expect(Object.keys(chunk).length).toBeLessThanOrEqual(64);
        }
        expect(Object.keys(reservationsById(book)).sort()).toEqual([...reference.keys()].sort());
      }),
      { numRuns: 100 },
    );
  });

  it("survives a JSON round trip (snapshots)", () => {
    let book = EMPTY_BOOK;
    for (let i = 0; i < 200; i++) book = setReservation(book, `R-${i}`, r(1 + (i % 5)));
    const back = JSON.parse(JSON.stringify(book)) as ReservationBook;
    expect(reservationsById(back)).toEqual(reservationsById(book));
    expect(book.chunks.length).toBe(Math.ceil(200 / 64));
  });
});
