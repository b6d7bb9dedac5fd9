/**
 * The limits of every value that enters from outside (DESIGN §3.13), in one place. Codecs name
 * them in their decoding errors; tests prove that the largest allowed ids still make subjects,
 * message ids and KV keys that the NATS server accepts.
 *
 * Ids are limited in UTF-8 bytes, the unit the server counts. An id becomes a subject token or a
 * KV key part by percent-encoding, which writes each UTF-8 byte as at most 3 characters, so an id
 * of n bytes takes at most 3n bytes of a subject. The control line of a NATS message (verb,
 * subject, reply subject, sizes) is limited to 4096 bytes by default (`max_control_line`); our
 * subjects and KV subjects stay within `MAX_SUBJECT_BYTES` so that the reply subject and the rest
 * of the line fit in what remains.
 */

/** nats-server's default `max_control_line`. */
export const NATS_MAX_CONTROL_LINE_BYTES = 4096;
/** The longest subject (or `$KV.<bucket>.<key>`) that the largest allowed ids may produce. */
export const MAX_SUBJECT_BYTES = 3072;
/** nats-server's default `max_payload`: every message (command, event, dead letter) stays below it. */
export const NATS_MAX_PAYLOAD_BYTES = 1024 * 1024;
/**
 * The node's default limit of one command's JSON (`intake.maxPayloadBytes`): the largest command
 * the codecs admit, every id at its limit and every character escaped in JSON, stays below it.
 */
export const DEFAULT_COMMAND_PAYLOAD_BYTES = 64 * 1024;

/** Region ids are ours: `[a-z0-9-]`, at most this many characters. */
export const MAX_REGION_CHARS = 32;

/** Limits of ids, in UTF-8 bytes (an ASCII character is one byte; others take 2 to 4). */
export const ID_LIMITS = {
  /** A SKU: part of every command and event subject and of every KV key. */
  sku: 128,
  /** A location: part of every command and event subject and of every KV key. */
  location: 64,
  /** A source system, channel or API caller name. */
  system: 64,
  /** Short codes: units of measure, document types and lines, reason codes. */
  code: 64,
  /**
   * Business document ids (order, PO, ASN, transfer order, ...), lots. As long as a reservation
   * id: the API names its reservations as their source document.
   */
  document: 640,
  /** One serial number. */
  serial: 64,
  /**
   * A reservation id: part of the KV key of an open reservation. The API's ids carry their
   * position (base64 of region, location and SKU), up to about 600 bytes for the largest ids.
   */
  reservationId: 640,
  /** Idempotency keys, correlation and causation ids, event ids (stockline derives some from others). */
  key: 1024,
  /** An idempotency key given to the API: stockline prefixes it with the caller and the location. */
  clientKey: 256,
  /** Free text: a lifecycle change's reason, an anomaly's message. */
  text: 4096,
} as const;
export type IdKind = keyof typeof ID_LIMITS;

/** Serials one command may carry (more go in several commands: see DEFAULT_COMMAND_PAYLOAD_BYTES). */
export const MAX_SERIALS = 250;

/**
 * The largest quantity of one movement, count or level, in the source's unit and in the base unit
 * after conversion: 10^12 (a trillion screws).
 */
export const MAX_QUANTITY = 1_000_000_000_000;
/**
 * The largest magnitude of any balance of a position (on hand per bucket, at any business time;
 * reserved; inbound in transit; safety stock): 10^13. Far inside safe integers (about 9 * 10^15),
 * so that ATP (available - reserved - safety stock) and totals over up to 900 positions of a SKU
 * (global ATP) stay exact.
 */
export const MAX_BALANCE = 10_000_000_000_000;

/** The longest a reservation may be held: 366 days (`ttlSeconds`, or `expiresAt` after business time). */
export const MAX_RESERVATION_TTL_SECONDS = 366 * 24 * 60 * 60;

/** Timestamps (business times, expiries, ETAs) lie in these years, inclusive. */
export const MIN_TIMESTAMP_YEAR = 1970;
export const MAX_TIMESTAMP_YEAR = 2999;

/**
 * The JSON Schema of an id, for OpenAPI. `maxLength` counts characters, so the byte limit that the
 * codecs enforce is said in the description.
 */
export const idJsonSchema = (kind: IdKind, description?: string) =>
  ({
    type: "string",
    minLength: 1,
    maxLength: ID_LIMITS[kind],
    description: `${description ? `${description}; ` : ""}at most ${ID_LIMITS[kind]} bytes in UTF-8, well-formed Unicode, no control characters`,
  }) as const;
