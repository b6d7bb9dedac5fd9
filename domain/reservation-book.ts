/**
 * The open reservations of a position. A busy web-shop SKU-location holds thousands at once (carts
 * kept 15 minutes), and the context is copied on every event; one object with every reservation made
 * each placement cost O(open) with V8's slow copies of large objects (2.5 ms per command with 4,000
 * open, measured by `test/domain/replay-throughput.ts`). So they are kept in chunks of at most
 * `CHUNK` entries: a change copies one chunk and the list of chunks. Plain JSON, like the rest of
 * the context (snapshots).
 */

export interface Reservation {
  /** Remaining reserved quantity (base unit), > 0. */
  readonly quantity: number;
  readonly channel: string;
  readonly expiresAt: string;
  readonly order?: string;
  readonly placedAt: string;
  /** The channel (`source.system`) whose use it counts as, at a position with channel rules. */
  readonly seller?: string;
}

type Chunk = Readonly<Record<string, Reservation>>;

export interface ReservationBook {
  /** Oldest chunk first; none is empty. */
  readonly chunks: readonly Chunk[];
}

const CHUNK = 64;

export const EMPTY_BOOK: ReservationBook = { chunks: [] };

/** Own entries only: ids come from outside and may be `constructor` or `__proto__`. */
const chunkOf = (book: ReservationBook, id: string): number => {
  for (let i = book.chunks.length - 1; i >= 0; i--) if (Object.hasOwn(book.chunks[i]!, id)) return i;
  return -1;
};

export const reservationIn = (book: ReservationBook, id: string): Reservation | undefined => {
  const i = chunkOf(book, id);
  return i < 0 ? undefined : book.chunks[i]![id];
};

const withChunk = (book: ReservationBook, i: number, chunk: Chunk | undefined): ReservationBook => {
  const chunks = [...book.chunks];
  if (chunk === undefined) chunks.splice(i, 1);
  else chunks[i] = chunk;
  return { chunks };
};

/** Adds or replaces a reservation. */
export const setReservation = (book: ReservationBook, id: string, r: Reservation): ReservationBook => {
  const i = chunkOf(book, id);
  if (i >= 0) return withChunk(book, i, { ...book.chunks[i]!, [id]: r });
  const last = book.chunks.length - 1;
  if (last >= 0 && Object.keys(book.chunks[last]!).length < CHUNK)
    return withChunk(book, last, { ...book.chunks[last]!, [id]: r });
  return { chunks: [...book.chunks, { [id]: r }] };
};

export const deleteReservation = (book: ReservationBook, id: string): ReservationBook => {
  const i = chunkOf(book, id);
  if (i < 0) return book;
  const { [id]: _gone, ...rest } = book.chunks[i]!;
  return withChunk(book, i, Object.keys(rest).length > 0 ? rest : undefined);
};

/** Every open reservation with its id. */
export function* reservationEntries(book: ReservationBook): IterableIterator<[string, Reservation]> {
  for (const chunk of book.chunks) for (const id of Object.keys(chunk)) yield [id, chunk[id]!];
}

/** The open reservations as one object by id (for display and comparisons). */
export const reservationsById = (book: ReservationBook): Record<string, Reservation> =>
  Object.fromEntries(reservationEntries(book));
