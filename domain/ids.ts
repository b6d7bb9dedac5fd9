/**
 * Identifiers of the inventory domain and their encodings.
 *
 * Ids come from many systems and may contain anything (`.`, `*`, `>`, spaces, unicode). They are
 * kept verbatim in events; where they must become part of a NATS subject or an event-store stream
 * name they are encoded reversibly here, in one place. The codecs (scalars.ts, limits.ts) admit only
 * ids that these encodings accept and whose encodings fit the server's limits.
 */
import { MAX_REGION_CHARS } from "./limits.ts";

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
/** Regions are ours and short (limits.ts: `MAX_REGION_CHARS`), so they fit every subject and stream name. */
export const isRegion = (s: string): boolean => s.length <= MAX_REGION_CHARS && REGION_PATTERN.test(s);

/** Stream category of positions in the event store (EventStoreDB reads the category up to the first `-`). */
export const POSITION_STREAM_CATEGORY = "position";

/**
 * Encode an id for a stream name, readable for operators: `encodeURIComponent` (which leaves
 * letters, digits and `-_.!~*'()` as they are) with only `~`, our separator, escaped as `%7E`.
 * `-` needs no escape (EventStoreDB's category ends at the first `-`, which is the one after
 * `position`), nor do `.` and `*` (a stream id is never a subject token). `%` itself is escaped,
 * so decoding is exact: `DC-Hamburg`, `WATER-1.5L` → `position-DC-Hamburg~WATER-1.5L`.
 */
const encodeStreamPart = (id: string): string => {
  if (id.length === 0) throw new Error("an empty id cannot be part of a stream id");
  return encodeURIComponent(id).replace(/~/g, "%7E");
};

/**
 * Event-store stream of one SKU-location: `position-<enc(location)>~<enc(sku)>`. The region is not
 * part of it: a stream lives in its region's store. Use `positionKey` where regions mix.
 */
export const positionStreamId = (p: Pick<Position, "location" | "sku">): string =>
  `${POSITION_STREAM_CATEGORY}-${encodeStreamPart(p.location)}~${encodeStreamPart(p.sku)}`;

/**
 * Inverse of `positionStreamId`; `undefined` for a stream that is not a position stream, including
 * one not in the canonical encoding (e.g. `%2D` for `-`, as stream ids were written before), so
 * that a parsed position always names the very stream it was parsed from.
 */
export const parsePositionStreamId = (streamId: string): { location: LocationId; sku: Sku } | undefined => {
  const prefix = `${POSITION_STREAM_CATEGORY}-`;
  if (!streamId.startsWith(prefix)) return undefined;
  const parts = streamId.slice(prefix.length).split("~");
  if (parts.length !== 2 || !parts[0] || !parts[1]) return undefined;
  try {
    const p = { location: decodeURIComponent(parts[0]), sku: decodeURIComponent(parts[1]) };
    return positionStreamId(p) === streamId ? p : undefined;
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
