import fc from "fast-check";
import * as E from "fp-ts/lib/Either.js";
import { describe, expect, it } from "vitest";
import {
  type CanonicalEvent,
  computeEventHash,
  decodeCanonicalEvent,
  GENESIS_HASH,
  verifyChain,
} from "../../domain/canonical-event.ts";
import { canonicalJson } from "../../domain/canonical-json.ts";
import { COMMAND_KINDS, decodeCommand, formatDecodeErrors } from "../../domain/commands.ts";
import {
  decodeSubjectToken,
  encodeSubjectToken,
  parsePositionKey,
  parsePositionStreamId,
  positionKey,
  positionStreamId,
} from "../../domain/ids.ts";
import {
  checkOwnership,
  decodeOwnershipPolicy,
  type OwnershipPolicy,
} from "../../domain/ownership-policy.ts";
import { toBaseQuantity, type UnitMaster } from "../../domain/units.ts";
import { given, POS, receive, reserve, shipTransfer } from "./position-spec.ts";

const anyId = fc.string({ minLength: 1, maxLength: 20, unit: "grapheme" });
const region = fc.stringMatching(/^[a-z0-9-]{1,10}$/);

describe("ids", () => {
  it("stream ids and position keys round-trip and never collide", () => {
    fc.assert(
      fc.property(region, anyId, anyId, anyId, anyId, (r, l1, s1, l2, s2) => {
        const a = { region: r, location: l1, sku: s1 };
        const sid = positionStreamId(a);
        expect(sid.startsWith("position-")).toBe(true);
        expect(parsePositionStreamId(sid)).toEqual({ location: l1, sku: s1 });
        expect(parsePositionKey(positionKey(a))).toEqual(a);
        expect(encodeSubjectToken(l1)).not.toMatch(/[.*>\s]/);
        expect(decodeSubjectToken(encodeSubjectToken(l1))).toBe(l1);
        if (l1 !== l2 || s1 !== s2) expect(positionStreamId({ location: l2, sku: s2 })).not.toBe(sid);
      }),
      { numRuns: 300 },
    );
    expect(positionStreamId({ location: "a~b", sku: "c" })).not.toBe(
      positionStreamId({ location: "a", sku: "b~c" }),
    );
    expect(parsePositionStreamId("order-1")).toBeUndefined();
  });

  // Ids rich in the characters the encoding escapes, or must not confuse: separators, `%`, escapes.
  const nastyId = fc.string({
    minLength: 1,
    maxLength: 12,
    unit: fc.oneof(
      fc.constantFrom("~", "-", "%", ".", " ", "*", "/", ":", "%7E", "%2D", "%25", "position-", "\t"),
      fc.string({ minLength: 1, maxLength: 1, unit: "grapheme" }),
    ),
  });

  it("stream ids of ids with ~ - % . and spaces round-trip, split at the one ~, and stay on one line", () => {
    fc.assert(
      fc.property(nastyId, nastyId, nastyId, nastyId, (l1, s1, l2, s2) => {
        const sid = positionStreamId({ location: l1, sku: s1 });
        expect(parsePositionStreamId(sid)).toEqual({ location: l1, sku: s1 });
        const body = sid.slice("position-".length);
        expect(body.split("~")).toHaveLength(2);
        expect(body).not.toMatch(/[\s:/]/);
        if (l1 !== l2 || s1 !== s2) expect(positionStreamId({ location: l2, sku: s2 })).not.toBe(sid);
      }),
      { numRuns: 500 },
    );
  });

  it("stream ids read like the ids they hold", () => {
    expect(positionStreamId({ location: "DC-Hamburg", sku: "WATER-1.5L" })).toBe(
      "position-DC-Hamburg~WATER-1.5L",
    );
    expect(positionStreamId({ location: "DC 1.A*", sku: "a~b%" })).toBe("position-DC%201.A*~a%7Eb%25");
    expect(parsePositionStreamId("position-DC-Hamburg~WATER-1.5L")).toEqual({
      location: "DC-Hamburg",
      sku: "WATER-1.5L",
    });
    // Only the canonical spelling names a position: the old escapes would name a stream no one writes.
    expect(parsePositionStreamId("position-DC%2DHamburg~WATER%2D1%2E5L")).toBeUndefined();
    expect(parsePositionStreamId("position-a~b~c")).toBeUndefined();
    expect(() => positionStreamId({ location: "", sku: "x" })).toThrow(/empty/);
  });
});

describe("units", () => {
  const master: UnitMaster = {
    skus: {
      BOTTLE: {
        baseUom: "EA",
        conversions: [
          { uom: "CS", quantity: 12, of: "EA" },
          { uom: "PAL", quantity: 40, of: "CS" },
        ],
      },
      // Base unit larger than some units: 1 CS = 6 EA, base CS.
      CRATE: { baseUom: "CS", conversions: [{ uom: "CS", quantity: 6, of: "EA" }] },
    },
  };
  it("converts through chains in both directions", () => {
    expect(toBaseQuantity(master, "BOTTLE", { value: 1, uom: "PAL" })).toEqual(E.right(480));
    expect(toBaseQuantity(master, "BOTTLE", { value: -2, uom: "CS" })).toEqual(E.right(-24));
    expect(toBaseQuantity(master, "CRATE", { value: 18, uom: "EA" })).toEqual(E.right(3));
  });
  it("rejects what would need a fraction, and unknown units or SKUs, with a reason", () => {
    const frac = toBaseQuantity(master, "CRATE", { value: 7, uom: "EA" });
    expect(frac).toMatchObject({ _tag: "Left", left: { code: "fractionalQuantity", baseUom: "CS" } });
    if (E.isLeft(frac)) expect(frac.left.message).toContain("7 EA");
    expect(toBaseQuantity(master, "BOTTLE", { value: 1, uom: "KG" })).toMatchObject({
      left: { code: "unknownUom" },
    });
    expect(toBaseQuantity(master, "NOPE", { value: 1, uom: "EA" })).toMatchObject({
      left: { code: "unknownSku" },
    });
  });
  it("integral results are exact (no floating point), also for large values", () => {
    fc.assert(
      fc.property(fc.integer({ min: -1e9, max: 1e9 }), (n) => {
        expect(toBaseQuantity(master, "BOTTLE", { value: n, uom: "PAL" })).toEqual(E.right(n * 480));
        const r = toBaseQuantity(master, "CRATE", { value: n, uom: "EA" });
        if (n % 6 === 0) expect(r).toEqual(E.right(n / 6));
        else expect(E.isLeft(r)).toBe(true);
      }),
    );
  });
});

describe("command decoding", () => {
  const valid = {
    kind: "receiveGoods",
    idempotencyKey: "k1",
    source: { system: "wms", document: { type: "GR", id: "1" } },
    businessTime: "2024-05-01T10:00:00Z",
    correlationId: "c1",
    position: { sku: "S", location: "L", region: "eu" },
    quantity: { value: 3, uom: "EA" },
  };
  it("accepts a valid command", () => {
    expect(E.isRight(decodeCommand(valid))).toBe(true);
  });
  it("errors name the field path, the value and what was expected", () => {
    const r = decodeCommand({
      ...valid,
      quantity: { value: -3.5, uom: "EA" },
      position: { ...valid.position, region: "EU" },
    });
    expect(E.isLeft(r)).toBe(true);
    if (E.isLeft(r)) {
      const msg = formatDecodeErrors(r.left);
      expect(msg).toContain("quantity.value: got -3.5, expected a positive integer");
      expect(msg).toContain('position.region: got "EU", expected a region');
    }
    const bad = decodeCommand({ ...valid, kind: "teleport" });
    if (E.isLeft(bad))
      expect(bad.left[0]?.message).toMatch(/^kind: got "teleport", expected one of "receiveGoods"/);
    const missing = decodeCommand({ ...valid, businessTime: undefined });
    if (E.isLeft(missing)) expect(missing.left[0]?.message).toContain("businessTime: got nothing (missing)");
    const notObject = decodeCommand(42);
    expect(E.isLeft(notObject)).toBe(true);
  });
  it("knows every command kind", () => {
    expect(COMMAND_KINDS).toHaveLength(20);
    expect(COMMAND_KINDS).toContain("expectReceipt");
  });
});

describe("ownership policy", () => {
  const policy: OwnershipPolicy = {
    rules: [
      { name: "wms-dc", movements: ["receipt", "pick", "count"], locations: "DC-*", owners: ["wms"] },
      { name: "oms-reservations", movements: ["reservation"], owners: ["oms", "shop"] },
    ],
    otherwise: "deny",
  };
  it("the first matching rule decides; unmatched commands follow `otherwise`", () => {
    const at = (location: string) => ({ ...POS, location });
    expect(checkOwnership(policy, { ...receive(1), position: at("DC-1") })).toMatchObject({
      allowed: true,
      rule: "wms-dc",
    });
    expect(
      checkOwnership(policy, {
        ...receive(1, { source: { system: "erp", document: { type: "x", id: "1" } } }),
        position: at("DC-1"),
      }),
    ).toMatchObject({ allowed: false, rule: "wms-dc" });
    expect(checkOwnership(policy, { ...reserve("r", 1), position: at("anything") })).toMatchObject({
      allowed: true,
    });
    const denied = checkOwnership(policy, { ...receive(1), position: at("STORE-1") });
    expect(denied).toMatchObject({ allowed: false, rule: "(otherwise)" });
    expect(checkOwnership(policy, { ...shipTransfer(1, "T"), position: at("DC-1") })).toMatchObject({
      allowed: false,
    });
  });
  it("validates its configuration with readable errors", () => {
    expect(E.isRight(decodeOwnershipPolicy(policy))).toBe(true);
    const r = decodeOwnershipPolicy({
      rules: [{ name: "x", movements: ["teleport"], owners: [] }],
      otherwise: "maybe",
    });
    expect(E.isLeft(r)).toBe(true);
    if (E.isLeft(r)) {
      const msg = formatDecodeErrors(r.left);
      expect(msg).toContain('rules.0.movements.0: got "teleport"');
      expect(msg).toContain('otherwise: got "maybe"');
    }
    const empty = decodeOwnershipPolicy({
      rules: [{ name: "x", movements: ["pick"], owners: [] }],
      otherwise: "deny",
    });
    if (E.isLeft(empty))
      expect(formatDecodeErrors(empty.left)).toContain("rules.0.owners: got [], expected at least one");
    else expect.fail("an ownerless rule must be rejected");
  });
});

describe("canonical events and the audit hash chain", () => {
  const history = (): CanonicalEvent[] => given(receive(10), reserve("r1", 2), receive(3)).history;

  it("stored events decode with the canonical codec and survive a JSON round trip", () => {
    for (const e of history()) {
      const back = decodeCanonicalEvent(JSON.parse(JSON.stringify(e)));
      expect(back).toEqual(E.right(e));
    }
    expect(E.isLeft(decodeCanonicalEvent({ ...history()[0], revision: -1 }))).toBe(true);
  });

  it("the chain verifies, starting from the genesis hash", () => {
    const h = history();
    expect(h[0]?.prevHash).toBe(GENESIS_HASH);
    expect(verifyChain(h)).toEqual({ ok: true, lastHash: h.at(-1)?.hash, lastRevision: 2 });
    expect(verifyChain(h.slice(1), { prevHash: h[0]?.hash as string, prevRevision: 0 })).toMatchObject({
      ok: true,
    });
  });

  it("any tampering is found at the first bad revision", () => {
    const h = history();
    const tampered = h.map((e) => (e.revision === 1 ? { ...e, quantity: e.quantity + 1 } : e));
    expect(verifyChain(tampered)).toMatchObject({ ok: false, revision: 1, problem: "hash" });
    const rehashed = h.map((e) => (e.revision === 1 ? { ...e, quantity: 99, hash: "" } : e));
    const r1 = rehashed[1] as CanonicalEvent;
    rehashed[1] = { ...r1, hash: computeEventHash(r1) };
    expect(verifyChain(rehashed)).toMatchObject({ ok: false, revision: 2, problem: "prevHash" });
    expect(verifyChain([h[0] as CanonicalEvent, h[2] as CanonicalEvent])).toMatchObject({
      ok: false,
      revision: 2,
      problem: "revision",
    });
  });

  it("the hash does not depend on key order", () => {
    const e = history()[0] as CanonicalEvent;
    const reordered = Object.fromEntries(Object.entries(e).reverse()) as CanonicalEvent;
    expect(computeEventHash(reordered)).toBe(e.hash);
    expect(canonicalJson({ b: 1, a: [1, { d: undefined, c: 2 }] })).toBe('{"a":[1,{"c":2}],"b":1}');
  });
});
