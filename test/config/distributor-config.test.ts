import { readFileSync } from "node:fs";
import path from "node:path";
import * as E from "fp-ts/lib/Either.js";
import { describe, expect, it } from "vitest";
import { decodeMasterData, isGln } from "../../domain/master-data.ts";
import { ConfigError } from "../../infra/config/config-loading.ts";
import {
  configFields,
  FIELD_DOCS,
  mustBeDocumented,
  renderConfigReference,
} from "../../infra/config/config-reference.ts";
import { resolveDistributorConfig } from "../../infra/config/distributor-config.ts";

/** A small distributor the code has no knowledge of. */
const nordic = () => ({
  distributor: { name: "Nordic Tools AB" },
  version: "2026-12-01",
  regions: [{ id: "se" }, { id: "fi" }],
  locations: [
    {
      id: "WH-GBG",
      region: "se",
      gln: "7350000000016",
      codes: { ASTRO: { plant: "SE10", storageLocation: "A1" } },
    },
    { id: "WH-HEL", region: "fi", codes: { ASTRO: { plant: "FI10", storageLocation: "A1" } } },
  ],
  systems: [
    { id: "ASTRO", kind: "erp" },
    { id: "KARDEX", kind: "wms" },
    { id: "NORDSHOP", kind: "channel" },
  ],
  statuses: { KARDEX: { Q: "inspection", SKADAD: "blocked" } },
  products: {
    items: [{ sku: "HAMMER-1", baseUom: "ST", conversions: [{ uom: "KRT", quantity: 6, of: "ST" }] }],
  },
  ownership: {
    rules: [{ name: "KARDEX owns the shelves", movements: ["receipt", "pick"], owners: ["KARDEX"] }],
    otherwise: "deny",
  },
  postings: {
    targets: [{ id: "astro", system: "ASTRO", kind: "sap-s4hana", baseUrl: "http://127.0.0.1:1" }],
  },
  routing: { rules: [{ target: "astro", events: ["GoodsReceived"] }] },
});

const errorsOf = (raw: unknown): { path: string; expected: string }[] => {
  try {
    resolveDistributorConfig(raw);
  } catch (err) {
    if (err instanceof ConfigError) return err.errors.map((e) => ({ path: e.path, expected: e.expected }));
    throw err;
  }
  return [];
};

describe("the distributor configuration", () => {
  it("resolves a distributor with its own names, regions, statuses and units", () => {
    const d = resolveDistributorConfig(nordic(), "nordic.json", { baseDir: "/srv/stockline" });
    expect(d.id).toBe("nordic-tools-ab");
    expect(d.regions).toEqual(["se", "fi"]);
    expect(d.dataDir).toBe(path.join("/srv/stockline", ".data", "nordic-tools-ab"));
    expect(d.version).toMatch(/^2026-12-01\+[0-9a-f]{12}$/);
    expect(d.masterData.location("WH-HEL")?.region).toBe("fi");
    expect(d.masterData.locationByCode("ASTRO", { storageLocation: "A1", plant: "SE10" })?.id).toBe("WH-GBG");
    expect(d.masterData.canonicalStatus("KARDEX", "SKADAD")).toBe("blocked");
    expect(d.masterData.canonicalStatus("KARDEX", "available")).toBe("available");
    expect(d.masterData.canonicalStatus("KARDEX", "QI")).toBeUndefined();
    expect(d.masterData.knowsSku("HAMMER-1")).toBe(true);
    expect(d.masterData.knowsSku("HAMMER-2")).toBe(false);
    expect(d.masterData.units.skus["HAMMER-1"]?.baseUom).toBe("ST");
  });

  it("changes its version with any edit, and only then", () => {
    const a = resolveDistributorConfig(nordic());
    const b = resolveDistributorConfig(nordic());
    const edited = nordic();
    edited.locations[1]!.codes.ASTRO.storageLocation = "A2";
    expect(b.version).toBe(a.version);
    expect(resolveDistributorConfig(edited).version).not.toBe(a.version);
    const elsewhere = {
      ...nordic(),
      dataDir: "/srv/x",
      nats: { mode: "external", hub: { servers: ["nats://h:4222"] } },
    };
    expect(resolveDistributorConfig(elsewhere).version).toBe(a.version);
  });

  it("names every broken reference between sections: field, value and what was expected", () => {
    const raw = nordic() as Record<string, unknown> & ReturnType<typeof nordic>;
    raw.locations.push({ id: "WH-GBG", region: "no", codes: { WMS_X: { facility: "1" } } } as never);
    raw.ownership.rules.push({ name: "ghost", movements: ["pick"], owners: ["GHOST"] });
    raw.routing.rules.push({ target: "nowhere", events: ["*"] } as never);
    raw.statuses = { ...raw.statuses, NOBODY: { X: "blocked" } } as never;
    const errors = errorsOf(raw);
    expect(errors).toEqual(
      expect.arrayContaining([
        { path: "locations.2.codes.WMS_X", expected: "a system listed under systems" },
        {
          path: "ownership.rules.1.owners.0",
          expected: expect.stringContaining("a system listed under systems"),
        },
        { path: "routing.rules.1.target", expected: "a posting target (astro)" },
        { path: "statuses.NOBODY", expected: "a system listed under systems" },
        { path: "locations.2.id", expected: "a location id used once" },
        { path: "locations.2.region", expected: "one of the regions (se, fi)" },
      ]),
    );
  });

  it("refuses a status that is not canonical, a posting target that is not an ERP, and a bad GLN", () => {
    const raw = nordic();
    (raw.statuses.KARDEX as Record<string, string>).Q = "quarantine";
    raw.postings.targets[0]!.system = "KARDEX";
    raw.locations[0]!.gln = "7350000000018";
    const paths = errorsOf(raw).map((e) => e.path);
    expect(paths).toContain("statuses.KARDEX.Q");
    const notErp = nordic();
    notErp.postings.targets[0]!.system = "KARDEX";
    expect(errorsOf(notErp).map((e) => e.path)).toEqual(["postings.targets.0.system"]);
    const badGln = nordic();
    badGln.locations[0]!.gln = "7350000000018";
    expect(errorsOf(badGln).map((e) => e.path)).toEqual(["locations.0.gln"]);
  });

  it("knows two locations cannot share one source code", () => {
    const r = decodeMasterData({
      locations: [
        { id: "A", region: "se", codes: { ERP: { plant: "1" } } },
        { id: "B", region: "se", codes: { ERP: { plant: "1" } } },
      ],
    });
    expect(E.isLeft(r) && r.left.map((e) => e.path)).toEqual(["locations.1.codes.ERP"]);
  });

  it("checks GS1 check digits", () => {
    expect(isGln("7350000000016")).toBe(true);
    expect(isGln("4000001000005")).toBe(true);
    expect(isGln("4000001000006")).toBe(false);
    expect(isGln("400000100000")).toBe(false);
  });

  it("decodes the example configurations in config/", () => {
    for (const file of ["demo.json", "minimal.json", "production.json"]) {
      const raw = JSON.parse(readFileSync(path.join("config", file), "utf8"));
      expect(() => resolveDistributorConfig(raw, file), file).not.toThrow();
    }
  });
});

describe("the configuration reference", () => {
  const paths = new Set(configFields().map((f) => f.path.replace(/ \(.*\)$/, "")));

  it("describes only fields the codecs have", () => {
    expect(Object.keys(FIELD_DOCS).filter((p) => !paths.has(p))).toEqual([]);
  });

  it("describes every section and every field of the first two levels", () => {
    const missing = configFields()
      .filter(mustBeDocumented)
      .filter((f) => FIELD_DOCS[f.path.replace(/ \(.*\)$/, "")] === undefined)
      .map((f) => f.path);
    expect(missing).toEqual([]);
  });

  it("is committed as generated (run `stockline config reference > docs/configuration.md`)", () => {
    expect(readFileSync("docs/configuration.md", "utf8")).toBe(renderConfigReference());
  });
});
