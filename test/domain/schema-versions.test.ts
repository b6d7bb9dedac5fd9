/**
 * Schema versions and upcasters (DESIGN §3.16): events written before versions existed keep their
 * bytes and hashes; an old version is read through its upcaster before the codec; a version newer
 * than the build, or one no upcaster reads, is refused naming `schemaVersion`; a command hashes the
 * same with or without the version it was written at.
 *
 * No published shape of this project has changed yet (every type is at version 1; the history of
 * domain/canonical-event.ts and domain/commands.ts only added optional fields and tightened id
 * bounds), so the upcasters here are registered by the test: StockAdjusted "v1" with `reason` read
 * as the current shape's `reasonCode`, and receiveGoods "v1" with a flat `qty`/`uom`.
 */
import * as E from "fp-ts/lib/Either.js";
import { describe, expect, it } from "vitest";
import {
  type CanonicalEvent,
  computeEventHash,
  decodeCanonicalEvent,
  GENESIS_HASH,
  hashEvent,
  verifyChain,
} from "../../domain/canonical-event.ts";
import { type Command, decodeCommand } from "../../domain/commands.ts";
import { commandHashOf } from "../../domain/position.decider.ts";
import {
  COMMAND_SCHEMA_VERSIONS,
  EVENT_SCHEMA_VERSIONS,
  stampEventVersion,
} from "../../domain/schema-versions.ts";
import { type SchemaGovernance, upcastCommand, upcastEvent } from "../../domain/upcasters.ts";
import { parseCommandValue } from "../../services/regional-node/command-intake.ts";
import { adjust, given, receive } from "./position-spec.ts";

/** An event as a build before schema versions wrote it; its hash was computed by that build (HEAD 14a980a). */
const OLD_EVENT = {
  type: "GoodsReceived",
  status: "available",
  position: { sku: "SKU-1", location: "DC-1", region: "eu" },
  quantity: 5,
  source: { system: "ERP", document: { type: "GR", id: "GR-1" } },
  documents: { po: "PO-1" },
  businessTime: "2026-01-01T10:00:00Z",
  correlationId: "c-1",
  causationId: "c-1",
  idempotencyKey: "k-1",
  commandHash: "a".repeat(64),
  balancesAfter: {
    onHand: { available: 5, inspection: 0, blocked: 0, consigned: 0, picked: 0 },
    reserved: 0,
    safetyStock: 0,
    inboundInTransit: 0,
    atp: 5,
    lifecycle: "active",
  },
  eventId: "ev-1",
  revision: 0,
  recordedTime: "2026-01-01T10:00:01Z",
};
const OLD_HASH = "7c82e19f327e89d1d6afa500c9f298b685f5a815234a68754b02b3b11c5b42ae";

const stockAdjustedV2: SchemaGovernance = {
  versions: { ...EVENT_SCHEMA_VERSIONS, StockAdjusted: 2 },
  upcasters: {
    StockAdjusted: {
      1: ({ reason, ...rest }) => ({ ...rest, reasonCode: reason }),
    },
  },
};

describe("schema versions", () => {
  it("every command kind and event type has a positive integer version", () => {
    for (const v of [...Object.values(COMMAND_SCHEMA_VERSIONS), ...Object.values(EVENT_SCHEMA_VERSIONS)])
      expect(Number.isInteger(v) && v >= 1).toBe(true);
  });

  it("an event written before versions keeps its hash, verifies and decodes; new version-1 events carry no field", () => {
    const rehashed = hashEvent(GENESIS_HASH, OLD_EVENT as never);
    expect(rehashed.hash).toBe(OLD_HASH);
    expect("schemaVersion" in rehashed).toBe(false);
    const stored = { ...OLD_EVENT, prevHash: GENESIS_HASH, hash: OLD_HASH };
    expect(verifyChain([stored as CanonicalEvent]).ok).toBe(true);
    const decoded = decodeCanonicalEvent(stored);
    expect(E.isRight(decoded) && decoded.right.schemaVersion).toBe(undefined);
    expect(E.isRight(decoded)).toBe(true);
    // The decider's events too: no `schemaVersion` while every type is at 1.
    for (const e of given(receive(5), adjust(-1)).history) expect("schemaVersion" in e).toBe(false);
  });

  it("a type above 1 is written with its version, and the hash covers it", () => {
    const stamped = stampEventVersion(OLD_EVENT, { GoodsReceived: 2 });
    expect(stamped.schemaVersion).toBe(2);
    expect(stampEventVersion(OLD_EVENT)).toBe(OLD_EVENT); // version 1: the same object, no copy
    const e = { ...stamped, prevHash: GENESIS_HASH, hash: "" };
    e.hash = computeEventHash(e as never);
    expect(e.hash).not.toBe(OLD_HASH);
    const { schemaVersion: _, ...stripped } = e;
    expect(verifyChain([stripped as never]).ok).toBe(false);
  });
});

describe("event upcasters", () => {
  it("read a stored old version in the current shape; the stored event and its chain stay as they were", () => {
    const chain = given(receive(10), adjust(-3, "DAMAGE")).history;
    const storedV1 = chain.map((e) => {
      if (e.type !== "StockAdjusted") return e;
      // The "old" shape, hashed as the old build would have: `reason`, no `reasonCode`.
      const { reasonCode, hash: _h, prevHash, ...rest } = e;
      return hashEvent(prevHash, { ...rest, reason: reasonCode } as never);
    });
    const frozen = JSON.stringify(storedV1);
    expect(verifyChain(storedV1).ok).toBe(true);
    // Without the upcaster the current codec refuses the old shape, naming the field.
    const plain = decodeCanonicalEvent(storedV1[1]);
    expect(E.isLeft(plain) && plain.left.map((x) => x.path)).toContain("reasonCode");
    const decoded = decodeCanonicalEvent(storedV1[1], stockAdjustedV2);
    expect(E.isRight(decoded)).toBe(true);
    if (E.isRight(decoded) && decoded.right.type === "StockAdjusted") {
      expect(decoded.right.reasonCode).toBe("DAMAGE");
      expect(decoded.right.schemaVersion).toBe(2);
      expect("reason" in decoded.right).toBe(false);
      expect(decoded.right.hash).toBe(storedV1[1]?.hash); // the stored event's identity
    }
    // Other types are untouched (same object), and nothing stored was changed.
    const first = upcastEvent(storedV1[0], stockAdjustedV2);
    expect(first.ok && first.value).toBe(storedV1[0]);
    expect(JSON.stringify(storedV1)).toBe(frozen);
  });

  it("refuse a version newer than the build, one no upcaster reads, and a version that is no number", () => {
    const current = { ...OLD_EVENT, prevHash: GENESIS_HASH, hash: OLD_HASH };
    const newer = decodeCanonicalEvent({ ...current, schemaVersion: 3 });
    expect(E.isLeft(newer) && newer.left[0]).toMatchObject({
      path: "schemaVersion",
      value: 3,
      message: expect.stringContaining("version 3 of GoodsReceived is newer than this build reads (1)"),
    });
    const gap = decodeCanonicalEvent(current, {
      versions: { ...EVENT_SCHEMA_VERSIONS, GoodsReceived: 3 },
      upcasters: { GoodsReceived: { 2: (r) => r } },
    });
    expect(E.isLeft(gap) && gap.left[0]?.message).toContain("no upcaster reads version 1 of GoodsReceived");
    const text = decodeCanonicalEvent({ ...current, schemaVersion: "1" });
    expect(E.isLeft(text) && text.left[0]?.message).toContain('expected a positive integer, got "1"');
    // An explicit current version is read as it is.
    expect(E.isRight(decodeCanonicalEvent({ ...current, schemaVersion: 1 }))).toBe(true);
  });
});

describe("command versions", () => {
  const cmd = receive(4) as Extract<Command, { kind: "receiveGoods" }>;

  it("absent means current; the current version written or not decodes to the same command and hash", () => {
    const withVersion = decodeCommand({ ...cmd, schemaVersion: 1 });
    const without = decodeCommand(cmd);
    expect(E.isRight(withVersion) && E.isRight(without)).toBe(true);
    if (E.isRight(withVersion) && E.isRight(without)) {
      expect("schemaVersion" in withVersion.right).toBe(false);
      expect(commandHashOf(withVersion.right)).toBe(commandHashOf(without.right));
    }
    const newer = decodeCommand({ ...cmd, schemaVersion: 2 });
    expect(E.isLeft(newer) && newer.left[0]?.message).toContain(
      "version 2 of receiveGoods is newer than this build reads (1)",
    );
  });

  it("an old command is upcast before decoding, and then hashes like one sent in the current shape", () => {
    const g: SchemaGovernance = {
      versions: { ...COMMAND_SCHEMA_VERSIONS, receiveGoods: 2 },
      upcasters: {
        receiveGoods: { 1: ({ qty, uom, ...rest }) => ({ ...rest, quantity: { value: qty, uom } }) },
      },
    };
    const { quantity, ...rest } = cmd;
    const old = { ...rest, qty: quantity.value, uom: quantity.uom, schemaVersion: 1 };
    const up = upcastCommand(old, g);
    expect(up.ok && up.value).toEqual(cmd);
    const decoded = decodeCommand(old, g);
    expect(E.isRight(decoded) && commandHashOf(decoded.right)).toBe(commandHashOf(cmd));
  });

  it("the intake refuses a command of a newer version as invalidCommand/schemaVersion, and reads the current one", () => {
    const limits = { maxPayloadBytes: 65_536, maxJsonDepth: 32, region: cmd.position.region };
    const refused = parseCommandValue({ ...cmd, schemaVersion: 7 }, limits);
    expect(refused).toMatchObject({ ok: false, reason: "invalidCommand", code: "schemaVersion" });
    expect(!refused.ok && refused.message).toContain("version 7 of receiveGoods is newer");
    const accepted = parseCommandValue({ ...cmd, schemaVersion: 1 }, limits);
    expect(accepted.ok && "schemaVersion" in accepted.command).toBe(false);
    expect(accepted.ok && commandHashOf(accepted.command)).toBe(commandHashOf(cmd));
  });
});
