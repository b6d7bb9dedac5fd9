/**
 * What must hold for anything the node accepted (DESIGN §3.11, §3.13), checked independently of the
 * node's own limits so that the fuzz finds what those limits miss:
 * - every string of the command is well-formed Unicode;
 * - every timestamp is a real calendar date and time (no 2024-02-30 rolled over by `Date.parse`);
 * - every subject, stream id, message id and KV key made from it can be encoded, and each fits the
 *   NATS control line together with the rest of the line; every event fits the server's max payload;
 * - the stored events say what was sent: position, idempotency key, business time, source,
 *   documents, and the quantity in base units (each-only master data: the value itself).
 * Each check returns the problems it found as sentences; none means the input was handled right.
 */
import * as E from "fp-ts/lib/Either.js";
import type * as t from "io-ts";
import { canonicalEventCodec } from "../../domain/canonical-event.ts";
import { CommandCodecs } from "../../domain/commands.ts";
import { formatDecodeErrors, toDecodeErrors } from "../../domain/decode-errors.ts";
import { positionKey, positionStreamId } from "../../domain/ids.ts";
import {
  atpBucketName,
  atpReservationsBucketName,
  cmdSubject,
  dlqSubject,
  evtSubject,
  sourceCmdSubject,
} from "../../infra/nats/subjects.ts";
import { regionalAtpKey, regionalReservationKey } from "../../projections/atp-keys.ts";

/** nats-server's default `max_control_line` and `max_payload`. */
export const NATS_CONTROL_LINE = 4096;
export const NATS_MAX_PAYLOAD = 1024 * 1024;

/** The PUB/HPUB line of a JetStream publish of `subject` (reply inbox and sizes at their longest). */
export const controlLineBytes = (subject: string): number =>
  Buffer.byteLength(`HPUB ${subject} _INBOX.${"X".repeat(22)}.${"X".repeat(22)} 9999999 99999999\r\n`);

const fitsControlLine = (what: string, subject: string): string[] => {
  const n = controlLineBytes(subject);
  return n <= NATS_CONTROL_LINE
    ? []
    : [`${what} makes a control line of ${n} bytes (server limit ${NATS_CONTROL_LINE})`];
};

const attempt = (what: string, f: () => string): { value?: string; problems: string[] } => {
  try {
    return { value: f(), problems: [] };
  } catch (err) {
    return { problems: [`${what} throws ${(err as Error).name}: ${(err as Error).message.slice(0, 120)}`] };
  }
};

const strings = (v: unknown, path: string, out: Array<[string, string]>): void => {
  if (typeof v === "string") out.push([path, v]);
  else if (Array.isArray(v)) for (const [i, x] of v.entries()) strings(x, `${path}.${i}`, out);
  else if (typeof v === "object" && v !== null)
    for (const [k, x] of Object.entries(v)) strings(x, path ? `${path}.${k}` : k, out);
};

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const DAYS = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const ISO = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?/;

/** Undefined for a real calendar date and time, else why not. */
export const calendarProblem = (iso: string): string | undefined => {
  const m = ISO.exec(iso);
  if (!m) return Number.isNaN(Date.parse(iso)) ? "not a timestamp" : undefined;
  const [y, mo, d, h, mi, s] = m.slice(1).map((x) => Number(x ?? 0)) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
  const days = mo === 2 && !leap ? 28 : (DAYS[mo - 1] ?? 0);
  if (mo < 1 || mo > 12 || d < 1 || d > days) return `no such day ${iso.slice(0, 10)}`;
  if (h > 23 || mi > 59 || s > 59) return `no such time ${iso.slice(11, 19)}`;
  return undefined;
};

const TIME_FIELDS = ["businessTime", "expiresAt", "eta", "expectedAt", "expiry"];

/**
 * The part of `value` that `type` reads: io-ts passes unknown keys through, and a command's extra
 * fields are never stored, so the rules apply to the fields the codec knows.
 */
export const knownPart = (type: t.Mixed, value: unknown): unknown => {
  const tt = type as t.Mixed & { _tag?: string; props?: t.Props; types?: t.Mixed[]; type?: t.Mixed };
  if (typeof value !== "object" || value === null) return value;
  switch (tt._tag) {
    case "InterfaceType":
    case "PartialType":
    case "StrictType": {
      const v = value as Record<string, unknown>;
      const out: Record<string, unknown> = {};
      for (const [k, p] of Object.entries(tt.props ?? {}))
        if (Object.hasOwn(v, k)) out[k] = knownPart(p, v[k]);
      return out;
    }
    case "IntersectionType":
      return Object.assign({}, ...(tt.types ?? []).map((m) => knownPart(m, value)));
    case "ArrayType":
      return Array.isArray(value) ? value.map((x) => knownPart(tt.type as t.Mixed, x)) : value;
    default:
      return value;
  }
};

/** Problems of a command that a decoder or an intake accepted. */
export const acceptedCommandProblems = (command: Record<string, unknown>): string[] => {
  const codec = (CommandCodecs as Record<string, t.Mixed>)[String(command.kind)];
  const c = (codec ? knownPart(codec, command) : command) as Record<string, unknown>;
  const problems: string[] = [];
  const all: Array<[string, string]> = [];
  strings(c, "", all);
  for (const [path, s] of all)
    if (LONE_SURROGATE.test(s))
      problems.push(`${path} is not well-formed Unicode (lone surrogate) but was accepted`);
  for (const f of TIME_FIELDS) {
    const v = c[f];
    const bad = typeof v === "string" ? calendarProblem(v) : undefined;
    if (bad) problems.push(`${f} ${JSON.stringify(v)} accepted: ${bad}`);
  }
  const pos = c.position as { region: string; location: string; sku: string } | undefined;
  if (!pos) return problems;
  const encoders: Array<[string, () => string, boolean]> = [
    ["command subject", () => cmdSubject(pos.region, pos.location, pos.sku), true],
    [
      "source's command subject",
      () =>
        sourceCmdSubject(
          pos.region,
          String((c.source as { system?: unknown } | undefined)?.system),
          pos.location,
          pos.sku,
        ),
      true,
    ],
    ["event subject", () => evtSubject(pos.region, pos.location, pos.sku), true],
    ["stream id", () => positionStreamId(pos), false],
    ["position key", () => positionKey(pos), false],
    [
      "ATP KV subject",
      () => `$KV.${atpBucketName(pos.region)}.${regionalAtpKey(pos.location, pos.sku)}`,
      true,
    ],
    ["dead-letter subject", () => dlqSubject(pos.region, "rejected"), true],
  ];
  if (typeof c.reservationId === "string") {
    const rid = c.reservationId;
    encoders.push([
      "reservation KV subject",
      () =>
        `$KV.${atpReservationsBucketName(pos.region)}.${regionalReservationKey(pos.location, pos.sku, rid)}`,
      true,
    ]);
  }
  for (const [what, f, isSubject] of encoders) {
    const r = attempt(what, f);
    problems.push(...r.problems);
    if (r.value !== undefined && isSubject) problems.push(...fitsControlLine(what, r.value));
  }
  // The relay's message id: `<region>:<streamId>:<revision>`, a header inside the payload.
  const sid = attempt("stream id", () => positionStreamId(pos));
  if (sid.value !== undefined && Buffer.byteLength(sid.value) > NATS_MAX_PAYLOAD / 4)
    problems.push(
      `stream id of ${Buffer.byteLength(sid.value)} bytes makes a message id larger than a quarter of max payload`,
    );
  return problems;
};

const PRIMARY_QUANTITY: Record<string, (c: Record<string, unknown>) => number | undefined> = {
  recordCount: () => undefined,
  releaseReservation: () => undefined,
  expireReservation: () => undefined,
  changeLifecycle: () => undefined,
};

const deepEqual = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

const pick = (o: unknown, keys: readonly string[]): Record<string, unknown> => {
  const r = (typeof o === "object" && o !== null ? o : {}) as Record<string, unknown>;
  return Object.fromEntries(keys.filter((k) => r[k] !== undefined).map((k) => [k, r[k]]));
};

/** The envelope fields of a command as the codec knows them (extra fields are not carried, rightly). */
const knownFields = (c: Record<string, unknown>): Record<string, unknown> => {
  const source = c.source as Record<string, unknown> | undefined;
  return {
    position: pick(c.position, ["region", "location", "sku"]),
    idempotencyKey: c.idempotencyKey,
    businessTime: c.businessTime,
    correlationId: c.correlationId,
    source: {
      ...pick(source, ["system", "sequence"]),
      document: pick(source?.document, ["type", "id", "line"]),
    },
    documents: pick(c.documents, ["order", "asn", "transferOrder", "rma", "po", "productionOrder"]),
  };
};

/** Same keys and values, whatever the order of keys. */
const sameJson = (a: unknown, b: unknown): boolean => deepEqual(sortKeys(a), sortKeys(b));
const sortKeys = (v: unknown): unknown =>
  typeof v !== "object" || v === null
    ? v
    : Array.isArray(v)
      ? v.map(sortKeys)
      : Object.fromEntries(
          Object.keys(v)
            .sort()
            .map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]),
        );

/** Problems of the events the node says it stored for an accepted command. */
export const storedEventProblems = (c: Record<string, unknown>, events: readonly unknown[]): string[] => {
  const problems: string[] = [];
  if (events.length === 0) return ["accepted, but no event was stored"];
  events.forEach((raw, i) => {
    const decoded = canonicalEventCodec.decode(raw);
    if (E.isLeft(decoded)) {
      problems.push(
        `event ${i} is not a canonical event: ${formatDecodeErrors(toDecodeErrors(decoded.left)).slice(0, 300)}`,
      );
      return;
    }
    const e = decoded.right as unknown as Record<string, unknown>;
    const stored = knownFields(e);
    for (const [f, v] of Object.entries(knownFields(c)))
      if (!sameJson(stored[f], v))
        problems.push(
          `event ${i} ${f} ${JSON.stringify(stored[f])?.slice(0, 80)} differs from the command's ${JSON.stringify(v)?.slice(0, 80)}`,
        );
    const size = Buffer.byteLength(JSON.stringify(raw));
    if (size > NATS_MAX_PAYLOAD) problems.push(`event ${i} is ${size} bytes, over the server's max payload`);
  });
  const first = events[0] as Record<string, unknown>;
  const q = c.quantity as { value?: unknown; uom?: unknown } | undefined;
  const expected = PRIMARY_QUANTITY[String(c.kind)]
    ? PRIMARY_QUANTITY[String(c.kind)]?.(c)
    : typeof q?.value === "number" && q.uom === "EA"
      ? q.value
      : undefined;
  if (expected !== undefined && first?.quantity !== expected)
    problems.push(`${String(first?.type)} quantity ${String(first?.quantity)}, but ${expected} EA was sent`);
  if (c.kind === "recordCount") {
    const counted = (c.counted as { value?: unknown } | undefined)?.value;
    if (first?.counted !== counted)
      problems.push(`CountRecorded counted ${String(first?.counted)}, but ${String(counted)} was sent`);
  }
  return problems;
};
