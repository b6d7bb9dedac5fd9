/**
 * Limits at the boundary (DESIGN §3.11, §3.13; issue 8): what the codecs refuse, with messages
 * naming field, value and expectation; that the largest ids they admit still make subjects, msg
 * ids and KV keys the NATS server accepts; and that no balance leaves the representable range.
 */
import fc from "fast-check";
import * as E from "fp-ts/lib/Either.js";
import { describe, expect, it } from "vitest";
import { extremeFrom } from "../../domain/bitemporal-balance.ts";
import { canonicalEventCodec } from "../../domain/canonical-event.ts";
import { type Command, decodeCommand } from "../../domain/commands.ts";
import { type Position, positionStreamId } from "../../domain/ids.ts";
import {
  DEFAULT_COMMAND_PAYLOAD_BYTES,
  ID_LIMITS,
  MAX_BALANCE,
  MAX_QUANTITY,
  MAX_RESERVATION_TTL_SECONDS,
  MAX_SERIALS,
  MAX_SUBJECT_BYTES,
  NATS_MAX_CONTROL_LINE_BYTES,
  NATS_MAX_PAYLOAD_BYTES,
} from "../../domain/limits.ts";
import { defaultEnv } from "../../domain/position.decider.ts";
import { SkuC, timestampProblem, utf8Bytes } from "../../domain/scalars.ts";
import {
  atpBucketName,
  atpReservationsBucketName,
  cmdSubject,
  dlqSubject,
  evtSubject,
} from "../../infra/nats/subjects.ts";
import { regionalAtpKey, regionalReservationKey } from "../../projections/atp-keys.ts";
import {
  adjust,
  at,
  count,
  given,
  givenWith,
  inboundTransfer,
  NOW,
  POS,
  pick,
  receive,
  reserve,
} from "./position-spec.ts";

/** A command as it arrives (JSON) with one field replaced. */
const wire = (c: Command, patch: Record<string, unknown>): unknown => ({
  ...(JSON.parse(JSON.stringify(c)) as Record<string, unknown>),
  ...patch,
});

const errorsOf = (input: unknown) => {
  const r = decodeCommand(input);
  if (E.isRight(r)) throw new Error(`decoded although it should not: ${JSON.stringify(input).slice(0, 200)}`);
  return r.left;
};

const errorAt = (input: unknown, path: string) => {
  const e = errorsOf(input).find((x) => x.path === path);
  if (!e) throw new Error(`no error at ${path}: ${JSON.stringify(errorsOf(input))}`);
  return e;
};

describe("ids: well-formed, without control characters, within their byte limits", () => {
  it("a 5,000-character SKU is refused, the message naming field, size and limit (not the whole value)", () => {
    const e = errorAt(wire(receive(1), { position: { ...POS, sku: "S".repeat(5000) } }), "position.sku");
    expect(e.message).toMatch(/^position\.sku: got a string of 5000 characters \("S+"\.\.\.\), expected /);
    expect(e.message).toContain(`at most ${ID_LIMITS.sku} bytes in UTF-8`);
    expect(e.message.length).toBeLessThan(300);
    expect(String(e.value).length).toBeLessThan(400);
  });

  it("a lone UTF-16 surrogate in a SKU or a location is refused as not well-formed Unicode", () => {
    const sku = errorAt(wire(receive(1), { position: { ...POS, sku: "AB\uD800C" } }), "position.sku");
    expect(sku.message).toContain("well-formed Unicode (lone surrogate U+D800 at index 2)");
    const loc = errorAt(
      wire(receive(1), { position: { ...POS, location: "\uDC00DC" } }),
      "position.location",
    );
    expect(loc.message).toContain("lone surrogate U+DC00 at index 0");
    // A pair is a character like any other.
    expect(E.isRight(decodeCommand(wire(receive(1), { position: { ...POS, sku: "SKU-😀" } })))).toBe(true);
  });

  it("control characters are refused in ids, with the character and where it is", () => {
    const e = errorAt(wire(receive(1), { idempotencyKey: "k\u0000ey" }), "idempotencyKey");
    expect(e.message).toContain("no control characters (U+0000 at index 1)");
    expect(errorAt(wire(receive(1), { correlationId: "c\u009b1" }), "correlationId").message).toContain(
      "U+009B",
    );
  });

  it("every id of a command has its limit: documents, source, reservation, channel, lot, serials", () => {
    const long = (kind: keyof typeof ID_LIMITS) => "x".repeat(ID_LIMITS[kind] + 1);
    const r = reserve("R1", 1);
    const cases: Array<[unknown, string]> = [
      [wire(r, { reservationId: long("reservationId") }), "reservationId"],
      [wire(r, { channel: long("system") }), "channel"],
      [wire(r, { causationId: long("key") }), "causationId"],
      [
        wire(receive(1), { source: { system: long("system"), document: { type: "d", id: "1" } } }),
        "source.system",
      ],
      [
        wire(receive(1), { source: { system: "wms", document: { type: "d", id: long("document") } } }),
        "source.document.id",
      ],
      [wire(receive(1), { documents: { order: long("document") } }), "documents.order"],
      [wire(receive(1), { lot: long("document") }), "lot"],
      [wire(receive(1), { serials: ["ok", long("serial")] }), "serials.1"],
      [wire(receive(1), { serials: Array.from({ length: MAX_SERIALS + 1 }, (_, i) => `S${i}`) }), "serials"],
      [wire(adjust(-1), { reasonCode: long("code") }), "reasonCode"],
      [wire(receive(1), { quantity: { value: 1, uom: long("code") } }), "quantity.uom"],
    ];
    for (const [input, path] of cases) expect(errorAt(input, path).message).toMatch(/expected .*at most \d+/);
  });

  it("a multi-byte id is measured in UTF-8 bytes: 64 two-byte characters fit a SKU, 43 four-byte ones do not", () => {
    expect(E.isRight(decodeCommand(wire(receive(1), { position: { ...POS, sku: "ü".repeat(64) } })))).toBe(
      true,
    );
    const e = errorAt(wire(receive(1), { position: { ...POS, sku: "😀".repeat(33) } }), "position.sku");
    expect(e.message).toContain("(got 132 bytes)");
  });
});

describe("the id rule, against a reference", () => {
  // String.prototype.isWellFormed exists on Node 20; lib ES2023 does not type it.
  const wellFormed = (s: string) => (s as unknown as { isWellFormed(): boolean }).isWellFormed();
  const reference = (s: string, max: number) =>
    s.trim().length > 0 && wellFormed(s) && !/\p{Cc}/u.test(s) && Buffer.byteLength(s) <= max;
  const codeUnit = fc.oneof(
    fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)),
    fc.constantFrom("a", " ", "\u00a0", "\u3000", "😀", "\ud800", "\udc00", "\u0085", "\u007f"),
  );
  it("property: SkuC accepts exactly the non-blank, well-formed strings without controls of at most 128 bytes", () => {
    fc.assert(
      fc.property(fc.string({ unit: codeUnit, maxLength: 140 }), (s) => {
        expect(E.isRight(SkuC.decode(s)), JSON.stringify(s)).toBe(reference(s, ID_LIMITS.sku));
      }),
      { numRuns: 2000 },
    );
  });
});

// Ids of every kind of character the percent-encodings treat differently: ASCII kept, ASCII escaped,
// two-, three- and four-byte UTF-8. The largest ones are filled up to their byte limit.
const UNITS = ["A", ".", "%", " ", "ü", "€", "😀"];
const filled = (unit: string, maxBytes: number): string =>
  unit.repeat(Math.floor(maxBytes / utf8Bytes(unit)));
const idOf = (kind: keyof typeof ID_LIMITS) =>
  fc.oneof(
    fc.constantFrom(...UNITS.filter((u) => u !== " ")).map((u) => filled(u, ID_LIMITS[kind])),
    fc
      .array(fc.constantFrom(...UNITS, "x", "-", "~", "*", ">", "=", "é"), {
        minLength: 1,
        maxLength: ID_LIMITS[kind],
      })
      .map((cs) => cs.join(""))
      .filter((s) => utf8Bytes(s) <= ID_LIMITS[kind] && s.trim().length > 0),
  );

describe("the largest allowed ids make subjects and keys the NATS server accepts", () => {
  const region = "r".repeat(32);
  // The longest reply subject that shares a control line with ours (a JetStream ack subject with
  // a domain, stream and durable name, and 20-digit counters), plus the verb and sizes.
  const controlLine = (subject: string) =>
    `HMSG ${subject} 999999 $JS.ACK.${"d".repeat(32)}.${"h".repeat(22)}.${"S".repeat(40)}.${"c".repeat(64)}.${"9".repeat(20)}.${"9".repeat(20)}.${"9".repeat(20)}.${"9".repeat(20)}.${"9".repeat(20)}.${"9".repeat(20)} 99999999 99999999\r\n`;

  it("property: every subject, stream id, msg id and KV key fits, and none throws", () => {
    fc.assert(
      fc.property(idOf("location"), idOf("sku"), idOf("reservationId"), (location, sku, reservationId) => {
        const command = wire(reserve("R1", 1), { position: { region, location, sku }, reservationId });
        const decoded = decodeCommand(command);
        expect(E.isRight(decoded), JSON.stringify(decoded).slice(0, 300)).toBe(true);
        const subjects = [
          cmdSubject(region, location, sku),
          evtSubject(region, location, sku),
          dlqSubject(region, "quantityOutOfRange"),
          `$KV.${atpBucketName(region)}.${regionalAtpKey(location, sku)}`,
          `$KV.${atpReservationsBucketName(region)}.${regionalReservationKey(location, sku, reservationId)}`,
        ];
        for (const s of subjects) {
          expect(Buffer.byteLength(s)).toBeLessThanOrEqual(MAX_SUBJECT_BYTES);
          expect(Buffer.byteLength(controlLine(s))).toBeLessThanOrEqual(NATS_MAX_CONTROL_LINE_BYTES);
          // One token per id: no separator, wildcard or whitespace left in a token.
          expect(s).not.toMatch(/[\s*>]/);
        }
        // KV keys allow only these characters.
        expect(regionalReservationKey(location, sku, reservationId)).toMatch(/^[-/_=.a-zA-Z0-9]+$/);
        const msgId = `${region}:${positionStreamId({ location, sku })}:${Number.MAX_SAFE_INTEGER}`;
        expect(Buffer.byteLength(msgId)).toBeLessThanOrEqual(MAX_SUBJECT_BYTES);
      }),
      { numRuns: 300 },
    );
  });
});

describe("the largest command fits the intake's payload limit, its events the server's", () => {
  it("every id at its limit, every character escaped in JSON", () => {
    // `"` is one byte in UTF-8 and two in JSON: the worst case for a message's size.
    const max = (kind: keyof typeof ID_LIMITS) => '"'.repeat(ID_LIMITS[kind]);
    const doc = max("document");
    const command = wire(receive(1), {
      idempotencyKey: max("key"),
      correlationId: max("key"),
      causationId: max("key"),
      position: { region: "r".repeat(32), location: max("location"), sku: max("sku") },
      source: {
        system: max("system"),
        sequence: 1,
        document: { type: max("code"), id: doc, line: max("code") },
      },
      documents: { order: doc, asn: doc, transferOrder: doc, rma: doc, po: doc, productionOrder: doc },
      quantity: { value: MAX_QUANTITY, uom: max("code") },
      status: "inspection",
      lot: doc,
      serials: Array.from({ length: MAX_SERIALS }, () => max("serial")),
      expiry: "2999-12-31T23:59:59.999999999+14:00",
    });
    const decoded = decodeCommand(command);
    expect(E.isRight(decoded), JSON.stringify(decoded).slice(0, 300)).toBe(true);
    const commandBytes = Buffer.byteLength(JSON.stringify(command));
    // Room for the longest sequence number (16 digits) too.
    expect(commandBytes + 16).toBeLessThanOrEqual(DEFAULT_COMMAND_PAYLOAD_BYTES);

    const env = defaultEnv(NOW, {
      config: { ...defaultEnv(NOW).config, units: { skus: {}, default: { baseUom: max("code") } } },
    });
    const r = givenWith({ env, position: (command as { position: Position }).position })().when(
      E.isRight(decoded) ? decoded.right : receive(1),
    );
    expect(r.outcome.kind, JSON.stringify(r.outcome).slice(0, 300)).toBe("accepted");
    for (const e of r.stored) {
      expect(E.isRight(canonicalEventCodec.decode(e))).toBe(true);
      expect(Buffer.byteLength(JSON.stringify(e))).toBeLessThanOrEqual(NATS_MAX_PAYLOAD_BYTES / 4);
    }
  });
});

describe("quantities within 10^12 per movement and balances within 10^13", () => {
  it("a receipt of 9007199254740991 is refused at decoding, naming the limit", () => {
    const e = errorAt(
      wire(receive(1), { quantity: { value: Number.MAX_SAFE_INTEGER, uom: "EA" } }),
      "quantity.value",
    );
    expect(e.message).toContain(`at most ${MAX_QUANTITY}`);
    expect(
      errorAt(wire(count(0), { counted: { value: MAX_QUANTITY + 1, uom: "EA" } }), "counted.value"),
    ).toBeDefined();
    expect(
      errorAt(wire(adjust(-1), { quantity: { value: -MAX_QUANTITY - 1, uom: "EA" } }), "quantity.value"),
    ).toBeDefined();
  });

  it("a conversion into the base unit beyond 10^12 is refused with the unit and the result", () => {
    const env = defaultEnv(NOW, {
      config: {
        units: { skus: {}, default: { baseUom: "EA", conversions: [{ uom: "CS", quantity: 12, of: "EA" }] } },
        defaultReservationTtlSeconds: 900,
        countVarianceTolerance: 0,
      },
    });
    const r = givenWith({ env })().when(receive(1, { quantity: { value: MAX_QUANTITY, uom: "CS" } }));
    r.thenRejects("unitConversion", { error: { code: "quantityOverflow" } });
    expect(r.outcome.kind === "rejected" && r.outcome.reason.message).toContain("12000000000000 EA");
  });

  it("receipts add up to 10^13 on hand; the next one is refused as quantityOutOfRange, not recorded", () => {
    const ten = Array.from({ length: 10 }, () => receive(MAX_QUANTITY));
    const r = given(...ten).when(receive(1));
    r.thenRejects("quantityOutOfRange", {
      balance: "onHand.available",
      value: MAX_BALANCE + 1,
      limit: MAX_BALANCE,
    });
    expect(r.state.buckets.available.current).toBe(MAX_BALANCE);
  });

  it("facts may drive a balance negative, but not below -10^13", () => {
    const picks = Array.from({ length: 10 }, () => pick(MAX_QUANTITY));
    given(...picks)
      .when(pick(1))
      .thenRejects("quantityOutOfRange", { balance: "onHand.available", value: -MAX_BALANCE - 1 });
  });

  it("inbound in transit is bounded too", () => {
    const inbound = Array.from({ length: 10 }, (_, i) => inboundTransfer(MAX_QUANTITY, `TO-${i}`));
    given(...inbound)
      .when(inboundTransfer(1, "TO-X"))
      .thenRejects("quantityOutOfRange", { balance: "inboundInTransit" });
  });

  it("late receipts before a count are bounded at the time they land, though the current balance stays 0", () => {
    // The count at minute 100 covers them: current stays 0, but the balance as of minute 50..100
    // grows, and a later count as of that time is decided against it.
    const late = Array.from({ length: 10 }, (_, i) => receive(MAX_QUANTITY, { businessTime: at(50 - i) }));
    const s = given(count(0, { businessTime: at(100) }), ...late);
    expect(s.state.buckets.available.current).toBe(0);
    expect(extremeFrom(s.state.buckets.available, Date.parse(at(40)))).toBe(MAX_BALANCE);
    s.when(receive(1, { businessTime: at(30) })).thenRejects("quantityOutOfRange", {
      balance: "onHand.available",
      value: MAX_BALANCE + 1,
    });
  });
});

describe("bounded durations", () => {
  it("ttlSeconds 9007199254740991 is refused at decoding (it made Date throw in the machine)", () => {
    const e = errorAt(wire(reserve("R1", 1), { ttlSeconds: Number.MAX_SAFE_INTEGER }), "ttlSeconds");
    expect(e.message).toContain(`from 1 to ${MAX_RESERVATION_TTL_SECONDS} (366 days)`);
  });

  it("the longest ttl is decided without error; an expiresAt more than 366 days on is refused", () => {
    given(receive(5))
      .when(reserve("R1", 1, { ttlSeconds: MAX_RESERVATION_TTL_SECONDS }))
      .then({
        type: "ReservationPlaced",
        expiresAt: new Date(Date.parse(NOW) + MAX_RESERVATION_TTL_SECONDS * 1000).toISOString(),
      });
    given(receive(5))
      .when(reserve("R1", 1, { expiresAt: "2999-12-31T23:59:59Z" }))
      .thenRejects("invalidExpiry", { detail: "too far" });
  });
});

describe("real calendar timestamps", () => {
  it("businessTime 2024-02-30T00:00:00Z is refused (Date.parse rolls it over to March 1st)", () => {
    const e = errorAt(wire(receive(1), { businessTime: "2024-02-30T00:00:00Z" }), "businessTime");
    expect(e.message).toContain("a day from 01 to 29 of 2024-02");
  });

  it.each([
    ["2024-02-29T00:00:00Z", undefined],
    ["2023-02-29T00:00:00Z", "a day from 01 to 28"],
    ["1900-02-29T00:00:00Z", "a year from 1970"],
    ["2000-02-29T23:59:59.999999999+14:00", undefined],
    ["2024-04-31T00:00:00Z", "a day from 01 to 30"],
    ["2024-13-01T00:00:00Z", "a month"],
    ["2024-01-01T24:00:00Z", "a time of day"],
    ["2024-01-01T23:60:00Z", "a time of day"],
    ["2024-01-01T23:59:60Z", "a time of day"],
    ["2024-01-01T10:00:00+14:01", "an offset"],
    ["2024-01-01T10:00:00-15:00", "an offset"],
    ["2024-01-01T10:00:00+05:60", "an offset"],
    ["3000-01-01T00:00:00Z", "a year from 1970 to 2999"],
    ["2024-01-01T10:00:00", "ISO 8601"],
    ["2024-01-01T10:00Z", undefined],
  ])("%s", (iso, problem) => {
    const got = timestampProblem(iso);
    if (problem === undefined) expect(got).toBeUndefined();
    else expect(got).toContain(problem);
  });
});
