/**
 * Keys of the ATP read-model buckets. NATS KV keys allow only `[-/=._A-Za-z0-9]` (and no leading or
 * trailing `.`), while SKUs and location ids may contain anything. An id is percent-encoded
 * (`encodeURIComponent`, plus the characters it leaves that KV refuses) and `%` is then written `=`:
 * `encodeURIComponent` always escapes `=`, so the mapping is reversible and one id has one key.
 *
 * - `atp_<r>`: `<enc(location)>.<enc(sku)>` (one entry per position; `.` never occurs inside a part).
 * - `atp_res_<r>`: `<enc(location)>.<enc(sku)>.<enc(reservationId)>` (one key per open reservation).
 * - `atp_global`: `<enc(sku)>` (one entry per SKU).
 */

const EXTRA = /[.*!~'()]/g;

export const encodeKvKeyPart = (id: string): string => {
  if (id.length === 0) throw new Error("an empty id cannot be part of a KV key");
  return encodeURIComponent(id)
    .replace(EXTRA, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%/g, "=");
};

export const decodeKvKeyPart = (part: string): string => decodeURIComponent(part.replace(/=/g, "%"));

/** Key of a position's entry in its region's bucket `atp_<r>`. */
export const regionalAtpKey = (location: string, sku: string): string =>
  `${encodeKvKeyPart(location)}.${encodeKvKeyPart(sku)}`;

/** Inverse of `regionalAtpKey`; `undefined` for a key that is not one (wrong shape, not canonical). */
export const parseRegionalAtpKey = (key: string): { location: string; sku: string } | undefined => {
  const parts = key.split(".");
  if (parts.length !== 2 || !parts[0] || !parts[1]) return undefined;
  try {
    const location = decodeKvKeyPart(parts[0]);
    const sku = decodeKvKeyPart(parts[1]);
    return regionalAtpKey(location, sku) === key ? { location, sku } : undefined;
  } catch {
    return undefined;
  }
};

/** Key of an open reservation in its region's bucket `atp_res_<r>`: the position's key, then the id. */
export const regionalReservationKey = (location: string, sku: string, reservationId: string): string =>
  `${regionalAtpKey(location, sku)}.${encodeKvKeyPart(reservationId)}`;

/** Inverse of `regionalReservationKey`. */
export const parseRegionalReservationKey = (
  key: string,
): { location: string; sku: string; reservationId: string } | undefined => {
  const cut = key.lastIndexOf(".");
  if (cut <= 0) return undefined;
  const position = parseRegionalAtpKey(key.slice(0, cut));
  if (!position) return undefined;
  try {
    const reservationId = decodeKvKeyPart(key.slice(cut + 1));
    return encodeKvKeyPart(reservationId) === key.slice(cut + 1) ? { ...position, reservationId } : undefined;
  } catch {
    return undefined;
  }
};

/** Key of a SKU's entry in the hub bucket `atp_global`. */
export const globalAtpKey = (sku: string): string => encodeKvKeyPart(sku);

export const parseGlobalAtpKey = (key: string): string | undefined => {
  try {
    const sku = decodeKvKeyPart(key);
    return encodeKvKeyPart(sku) === key ? sku : undefined;
  } catch {
    return undefined;
  }
};

/** The hub bucket of global ATP per SKU. */
export const GLOBAL_ATP_BUCKET = "atp_global";
