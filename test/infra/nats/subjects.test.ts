import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  atpBucketName,
  cmdStreamName,
  cmdSubject,
  cmdWildcard,
  dlqStreamName,
  dlqSubject,
  dlqWildcard,
  evtLocationWildcard,
  evtSkuWildcard,
  evtStreamName,
  evtSubject,
  evtWildcard,
  InvalidRegionIdError,
  parseCmdSubject,
  parseDlqSubject,
  parseEvtSubject,
  parseReqSubjectSystem,
  reqSubject,
  sourceCmdSubject,
  sourceCmdWildcard,
  sourceReqSubject,
} from "../../../infra/nats/subjects.ts";

// NATS subject matching, as the server does it: `*` is one token, a trailing `>` is one or more tokens.
const matches = (filter: string, subject: string): boolean => {
  const f = filter.split(".");
  const s = subject.split(".");
  for (let i = 0; i < f.length; i++) {
    if (f[i] === ">") return s.length > i;
    if (i >= s.length) return false;
    if (f[i] !== "*" && f[i] !== s[i]) return false;
  }
  return f.length === s.length;
};

const nasty = fc.constantFrom(".", "*", ">", " ", "\t", "%", "%2E", "é", "🐱", "-", "_", "~", "a", "Z", "0");
// Ids from foreign systems: any code point, plus strings made mostly of characters that are special in subjects.
const foreignId = fc.oneof(
  fc.string({ unit: "binary", minLength: 1, maxLength: 20 }),
  fc.string({ unit: nasty, minLength: 1, maxLength: 12 }),
);
const regionId = fc.string({
  unit: fc.constantFrom(..."abcdefghijklmnopqrstuvwxyz0123456789-".split("")),
  minLength: 1,
  maxLength: 12,
});

const validToken = (t: string) => t.length > 0 && !/[\s*>.]/u.test(t);

describe("subjects", () => {
  it("event and command subjects round-trip any location and SKU, with five safe tokens", () => {
    fc.assert(
      fc.property(regionId, foreignId, foreignId, (region, location, sku) => {
        for (const [build, parse] of [
          [evtSubject, parseEvtSubject],
          [cmdSubject, parseCmdSubject],
        ] as const) {
          const subject = build(region, location, sku);
          const tokens = subject.split(".");
          expect(tokens).toHaveLength(5);
          expect(tokens.every(validToken)).toBe(true);
          expect(parse(subject)).toEqual({ region, location, sku });
        }
        expect(parseEvtSubject(cmdSubject(region, location, sku))).toBeUndefined();
        expect(parseCmdSubject(evtSubject(region, location, sku))).toBeUndefined();
      }),
      { numRuns: 500 },
    );
  });

  it("distinct positions never share a subject", () => {
    fc.assert(
      fc.property(regionId, foreignId, foreignId, foreignId, foreignId, (region, l1, s1, l2, s2) => {
        fc.pre(l1 !== l2 || s1 !== s2);
        expect(evtSubject(region, l1, s1)).not.toBe(evtSubject(region, l2, s2));
      }),
      { numRuns: 500 },
    );
  });

  it("dead-letter subjects round-trip any reason", () => {
    fc.assert(
      fc.property(regionId, foreignId, (region, reason) => {
        const subject = dlqSubject(region, reason);
        expect(subject.split(".")).toHaveLength(4);
        expect(parseDlqSubject(subject)).toEqual({ region, reason });
        expect(matches(dlqWildcard(region), subject)).toBe(true);
      }),
    );
  });

  it("wildcards select exactly the region, SKU or location they name", () => {
    fc.assert(
      fc.property(
        regionId,
        regionId,
        foreignId,
        foreignId,
        foreignId,
        (region, otherRegion, location, sku, otherSku) => {
          const subject = evtSubject(region, location, sku);
          expect(matches(evtWildcard(region), subject)).toBe(true);
          expect(matches(cmdWildcard(region), cmdSubject(region, location, sku))).toBe(true);
          expect(matches(evtWildcard(otherRegion), subject)).toBe(region === otherRegion);
          expect(matches(evtSkuWildcard(region, sku), subject)).toBe(true);
          expect(matches(evtSkuWildcard(region, otherSku), subject)).toBe(sku === otherSku);
          expect(matches(evtLocationWildcard(region, location), subject)).toBe(true);
          expect(matches(cmdWildcard(region), subject)).toBe(false);
        },
      ),
    );
  });

  it("stream and bucket names are valid, upper-cased and distinct per region", () => {
    fc.assert(
      fc.property(regionId, regionId, (a, b) => {
        for (const name of [cmdStreamName(a), evtStreamName(a), dlqStreamName(a)]) {
          expect(name).toMatch(/^INV_(CMD|EVT|DLQ)_[A-Z0-9_]+$/);
        }
        expect(atpBucketName(a)).toMatch(/^atp_[a-z0-9-]+$/);
        expect(evtStreamName(a) === evtStreamName(b)).toBe(a === b);
      }),
    );
    expect(cmdStreamName("eu-west")).toBe("INV_CMD_EU_WEST");
    expect(evtStreamName("us")).toBe("INV_EVT_US");
    expect(dlqStreamName("us")).toBe("INV_DLQ_US");
    expect(atpBucketName("eu-west")).toBe("atp_eu-west");
    expect(reqSubject("eu")).toBe("inv.req.eu");
  });

  it("rejects region ids outside [a-z0-9-]+", () => {
    for (const bad of ["", "EU", "eu.west", "eu*", "eu>", "eu west", "eu_west", "é"]) {
      expect(() => evtSubject(bad, "l", "s")).toThrow(InvalidRegionIdError);
      expect(() => cmdStreamName(bad)).toThrow(InvalidRegionIdError);
      expect(() => reqSubject(bad)).toThrow(InvalidRegionIdError);
    }
  });

  it("parsers refuse subjects that are not canonical", () => {
    for (const s of [
      "inv.evt.eu.a",
      "inv.evt.eu.a.b.c",
      "inv.evt.EU.a.b",
      "inv.evt.eu.%61.b", // `a` encoded needlessly: not how we would have built it
      "inv.evt.eu.%E0%A4%A.b", // broken percent-encoding
      "inv.evt.eu.*.b",
      "inv.evt.eu..b",
      "foo.evt.eu.a.b",
    ]) {
      expect(parseEvtSubject(s)).toBeUndefined();
    }
    expect(parseDlqSubject("inv.dlq.eu")).toBeUndefined();
    expect(parseDlqSubject("inv.dlq.eu.a.b")).toBeUndefined();
  });
});

describe("per-source subjects (issue 9)", () => {
  it("round-trip the sending system, stay in the region's command stream and in the source's permission only", () => {
    const ids = fc.string({ minLength: 1, maxLength: 20 });
    fc.assert(
      fc.property(ids, ids, ids, (system, location, sku) => {
        const s = sourceCmdSubject("eu", system, location, sku);
        expect(parseCmdSubject(s)).toEqual({ region: "eu", system, location, sku });
        expect(matches(cmdWildcard("eu"), s)).toBe(true);
        expect(matches(sourceCmdWildcard("eu", system), s)).toBe(true);
        // The node's own (5-token) commands are not in any source's permission, and vice versa.
        expect(matches(sourceCmdWildcard("eu", system), cmdSubject("eu", location, sku))).toBe(false);
        expect(matches("inv.cmd.*.*.*", s)).toBe(false);
        expect(parseReqSubjectSystem(sourceReqSubject("eu", system))).toBe(system);
      }),
    );
    expect(parseCmdSubject(cmdSubject("eu", "DC1", "A"))).toEqual({
      region: "eu",
      location: "DC1",
      sku: "A",
    });
    expect(parseReqSubjectSystem(reqSubject("eu"))).toBeUndefined();
    expect(matches(sourceCmdWildcard("eu", "wms"), sourceCmdSubject("eu", "sap", "DC1", "A"))).toBe(false);
  });
});
