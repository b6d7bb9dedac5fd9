/**
 * Properties of the intake with master data (issue 10), on the intake's gate itself (no server needed):
 * whatever a source sends (regions given, left out or wrong; locations configured, misspelt or of
 * another region; SKUs listed or not; its own status codes, canonical ones or garbage; and the fuzz
 * harness's mutations), every command the intake accepts is at a configured location of the node's
 * region, any location it names is configured in the region it states, its SKU is in the catalogue and
 * its statuses are canonical. And a command that is right but for the region it leaves out is accepted.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { indexMasterData } from "../../domain/master-data.ts";
import { STOCK_STATUSES } from "../../domain/statuses.ts";
import { parseCommandValue } from "../../services/regional-node/command-intake.ts";
import { closestLocations } from "../../services/regional-node/master-data-intake.ts";
import { KEY, mutatedCommand, validCommand } from "../fuzz/command-arbitraries.ts";

const md = indexMasterData({
  locations: [
    { id: "DC1", region: "eu" },
    { id: "DC2", region: "eu" },
    { id: "DC9", region: "us" },
  ],
  products: { items: ["S1", "S2", "S3"].map((sku) => ({ sku, baseUom: "EA" })), catalogue: "closed" },
  statuses: { erp: { QI: "inspection", S: "blocked" }, "wms-1": { DMG: "blocked", FREE: "available" } },
});
const limits = { region: "eu", maxPayloadBytes: 64 * 1024, maxJsonDepth: 32, masterData: md };

type Obj = Record<string, unknown>;
const STATUS_FIELDS = ["status", "fromStatus", "toStatus", "into"] as const;

/** What a source might send instead of the canonical fields. */
const sourceEdit = fc.record({
  region: fc.constantFrom("keep", "drop", "drop", "us", "nowhere"),
  location: fc.constantFrom("keep", "keep", "DC1", "DC9", "DC-1", "dc2", "DC11", "STORE-7"),
  refRegion: fc.constantFrom("keep", "drop", "us"),
  refLocation: fc.constantFrom("keep", "DC9", "DC1", "DC99"),
  sku: fc.constantFrom("keep", "S1", "S9"),
  status: fc.constantFrom("keep", "QI", "S", "DMG", "FREE", "blocked", "XX", "Q1"),
});

type SourceEdit = typeof sourceEdit extends fc.Arbitrary<infer T> ? T : never;

const edit = (command: Obj, e: SourceEdit): Obj => {
  const out: Obj = structuredClone(command);
  const pos = out.position as Obj | undefined;
  if (pos && typeof pos === "object") {
    if (e.region === "drop") delete pos.region;
    else if (e.region !== "keep") pos.region = e.region;
    if (e.location !== "keep") pos.location = e.location;
    if (e.sku !== "keep") pos.sku = e.sku;
  }
  for (const field of ["destination", "origin"]) {
    const ref = out[field] as Obj | undefined;
    if (!ref || typeof ref !== "object") continue;
    if (e.refRegion === "drop") delete ref.region;
    else if (e.refRegion !== "keep") ref.region = e.refRegion;
    if (e.refLocation !== "keep") ref.location = e.refLocation;
  }
  for (const field of STATUS_FIELDS) if (field in out && e.status !== "keep") out[field] = e.status;
  return out;
};

const materialize = (value: unknown, i: number): unknown =>
  JSON.parse(JSON.stringify(value).replaceAll(KEY, `k-${i}`));

const anyInput: fc.Arbitrary<unknown> = fc.oneof(
  fc.tuple(validCommand("eu", "us"), sourceEdit).map(([c, e]) => edit(c, e)),
  mutatedCommand("eu", "us")
    .filter((p) => p.type === "command")
    .map((p) => (p.type === "command" ? p.value : undefined)),
);

describe("intake with master data", () => {
  it("accepts only commands at configured locations of the node's region, with known SKUs and canonical statuses", () => {
    let accepted = 0;
    let i = 0;
    fc.assert(
      fc.property(anyInput, (input) => {
        const parsed = parseCommandValue(materialize(input, i++), limits);
        if (!parsed.ok) {
          if (parsed.reason === "unknownLocation") expect(parsed.details).toHaveProperty("locations");
          return;
        }
        accepted++;
        const c = parsed.command;
        expect(md.location(c.position.location)?.region).toBe("eu");
        expect(c.position.region).toBe("eu");
        expect(md.knowsSku(c.position.sku)).toBe(true);
        for (const ref of [(c as Obj).destination, (c as Obj).origin] as Array<Obj | undefined>) {
          if (ref === undefined) continue;
          expect(md.location(ref.location as string)?.region).toBe(ref.region);
        }
        for (const field of STATUS_FIELDS) {
          const v = (c as Obj)[field];
          if (v !== undefined) expect(STOCK_STATUSES).toContain(v);
        }
      }),
      { numRuns: 1_500 },
    );
    // Not vacuous: a good share of what sources send gets through.
    expect(accepted).toBeGreaterThan(150);
  });

  it("accepts a well-formed command at a configured location whatever region fields it leaves out", () => {
    let i = 0;
    fc.assert(
      fc.property(
        validCommand("eu", "us"),
        fc.constantFrom("DC1", "DC2"),
        fc.constantFrom("S1", "S2", "S3"),
        fc.boolean(),
        (command, location, sku, dropRefRegion) => {
          const c = structuredClone(command) as Obj;
          c.position = { location, sku };
          for (const field of ["destination", "origin"]) {
            const ref = c[field] as Obj | undefined;
            if (!ref) continue;
            if (ref.location === "STORE-7") ref.location = "DC1";
            if (dropRefRegion) delete ref.region;
          }
          const parsed = parseCommandValue(materialize(c, i++), limits);
          if (!parsed.ok) throw new Error(`${parsed.reason}/${parsed.code}: ${parsed.message}`);
          expect(parsed.command.position).toEqual({ location, sku, region: "eu" });
        },
      ),
      { numRuns: 1_000 },
    );
  });

  it("reads a source's vocabulary by its own keys only (a system named constructor maps nothing)", () => {
    expect(md.canonicalStatus("constructor", "name")).toBeUndefined();
    expect(md.canonicalStatus("__proto__", "toString")).toBeUndefined();
    const c = materialize(
      {
        kind: "receiveGoods",
        idempotencyKey: KEY,
        source: { system: "constructor", document: { type: "ASN", id: "A1" } },
        businessTime: "2024-05-01T10:00:00.000Z",
        correlationId: KEY,
        position: { location: "DC1", sku: "S1" },
        quantity: { value: 1, uom: "EA" },
        status: "name",
      },
      0,
    );
    const parsed = parseCommandValue(c, limits);
    expect(parsed).toMatchObject({ ok: false, reason: "invalidCommand", code: "unknownStatusCode" });
  });

  it("suggests the known ids a misspelt one is closest to", () => {
    expect(closestLocations(md, "dc-1")).toEqual(["DC1"]);
    expect(closestLocations(md, "DC11")).toEqual(["DC1"]);
    expect(closestLocations(md, "WAREHOUSE-7")).toEqual([]);
  });
});
