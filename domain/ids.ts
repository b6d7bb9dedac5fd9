/**
 * Identifiers of the inventory domain and their encodings.
 *
 * Ids come from many systems and may contain anything (`.`, `*`, `>`, spaces, unicode). They are
 * kept verbatim in events; where they must become part of a NATS subject or an event-store stream
 * name they are encoded reversibly here, in one place.
 */

/** Encode an id as one NATS subject token: no `.`, `*`, `>`, whitespace; reversible; readable for plain ids. */
export const encodeSubjectToken = (id: string): string => {
  if (id.length === 0) throw new Error("an empty id cannot be a subject token");
  // encodeURIComponent escapes whitespace, `>`, `%` and non-ASCII; `.` and `*` are left as-is by it.
  return encodeURIComponent(id).replace(/\./g, "%2E").replace(/\*/g, "%2A");
};

export const decodeSubjectToken = (token: string): string => decodeURIComponent(token);

/** A stock-keeping unit id, verbatim from master data. */
export type Sku = string;
/** A location id (warehouse, DC, store, bin group), verbatim from master data. */
export type LocationId = string;
/** A region: the unit of federation (its own event store and JetStream domain). Lowercase `[a-z0-9-]+`. */
export type Region = string;

export interface Position {
  readonly region: Region;
  readonly location: LocationId;
  readonly sku: Sku;
}

const REGION_PATTERN = /^[a-z0-9-]+$/;
export const isRegion = (s: string): boolean => REGION_PATTERN.test(s);

/** Stream category of positions in the event store (EventStoreDB reads the category up to the first `-`). */
export const POSITION_STREAM_CATEGORY = "position";

/**
 * Encode an id for a stream name: the subject-token encoding plus `~` (our separator) and `-`
 * escaped, so that the stream id splits unambiguously and never collides between positions.
 */
const encodeStreamPart = (id: string): string =>
  encodeSubjectToken(id).replace(/~/g, "%7E").replace(/-/g, "%2D");

/**
 * Event-store stream of one SKU-location: `position-<enc(location)>~<enc(sku)>`. The region is not
 * part of it: a stream lives in its region's store. Use `positionKey` where regions mix.
 */
export const positionStreamId = (p: Pick<Position, "location" | "sku">): string =>
  `${POSITION_STREAM_CATEGORY}-${encodeStreamPart(p.location)}~${encodeStreamPart(p.sku)}`;

/** Inverse of `positionStreamId`; `undefined` for a stream that is not a position stream. */
export const parsePositionStreamId = (streamId: string): { location: LocationId; sku: Sku } | undefined => {
  const prefix = `${POSITION_STREAM_CATEGORY}-`;
  if (!streamId.startsWith(prefix)) return undefined;
  const parts = streamId.slice(prefix.length).split("~");
  if (parts.length !== 2 || !parts[0] || !parts[1]) return undefined;
  try {
    return { location: decodeSubjectToken(parts[0]), sku: decodeSubjectToken(parts[1]) };
  } catch {
    return undefined;
  }
};

/** A key unique across regions, for maps and caches that hold positions of several regions. */
export const positionKey = (p: Position): string => `${p.region}/${positionStreamId(p)}`;

/** Inverse of `positionKey`. */
export const parsePositionKey = (key: string): Position | undefined => {
  const slash = key.indexOf("/");
  if (slash <= 0) return undefined;
  const region = key.slice(0, slash);
  const rest = parsePositionStreamId(key.slice(slash + 1));
  return rest && isRegion(region) ? { region, ...rest } : undefined;
};
