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
