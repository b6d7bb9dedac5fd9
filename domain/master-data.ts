/**
 * Master data of a distributor (DESIGN §2, issue 10): its locations (each in one region, with the code
 * every source system uses for it), its products and their units, and each source's own stock-status
 * vocabulary mapped to the canonical statuses. Pure: decoded from the distributor configuration,
 * indexed once, asked by intake ("which region is DC-AMS in?", "is this SKU ours?") and by connectors
 * ("which location is SAP plant NL01, storage location 0001?").
 */
import * as E from "fp-ts/lib/Either.js";
import * as t from "io-ts";
import { type DecodeError, toDecodeErrors } from "./decode-errors.ts";
import { CodeC, LocationIdC, NonEmptyStringC, RegionC, SkuC, SystemIdC, TextC } from "./scalars.ts";
import { type StockStatus, StockStatusC } from "./statuses.ts";
import { type SkuUnits, UnitConversionC, type UnitMaster } from "./units.ts";

/** A GS1 Global Location Number: 13 digits whose last is the GS1 check digit of the others. */
export const isGln = (u: unknown): u is string => {
  if (typeof u !== "string" || !/^\d{13}$/.test(u)) return false;
  const digits = [...u].map(Number);
  const sum = digits.slice(0, 12).reduce((s, d, i) => s + d * (i % 2 === 0 ? 1 : 3), 0);
  return (10 - (sum % 10)) % 10 === digits[12];
};
export const GlnC = new t.Type<string, string, unknown>(
  "a GLN (13 digits with a valid GS1 check digit)",
  isGln,
  (u, c) => (isGln(u) ? t.success(u) : t.failure(u, c)),
  t.identity,
);

/**
 * How one source system names a location: its own fields, e.g. SAP `{ plant: "NL01", storageLocation:
 * "0001" }`, D365 `{ site: "NJ", warehouse: "NJ-01" }`, a WMS `{ facility: "AMS1" }`.
 */
export const SourceCodeC = t.record(NonEmptyStringC, CodeC, "a source's code { field: value, ... }");
export type SourceCode = t.TypeOf<typeof SourceCodeC>;

export const LocationC = t.intersection(
  [
    t.type({ id: LocationIdC, region: RegionC }),
    t.partial({
      name: TextC,
      gln: GlnC,
      /** Per source system (its id), the code it uses for this location. */
      codes: t.record(SystemIdC, SourceCodeC),
    }),
  ],
  "a location { id, region, name?, gln?, codes? }",
);
export type Location = t.TypeOf<typeof LocationC>;

export const ProductC = t.intersection(
  [
    t.type({ sku: SkuC, baseUom: CodeC }),
    t.partial({
      name: TextC,
      /** "1 CS = 12 EA" as `{ uom: "CS", quantity: 12, of: "EA" }`. */
      conversions: t.array(UnitConversionC),
      /** Receipts and moves of a lot-tracked product must name the lot. */
      lotTracked: t.boolean,
      /** Per source system, its own material/item number when it differs from the SKU. */
      codes: t.record(SystemIdC, CodeC),
    }),
  ],
  "a product { sku, baseUom, name?, conversions?, lotTracked?, codes? }",
);
export type Product = t.TypeOf<typeof ProductC>;

export const ProductsC = t.intersection(
  [
    t.type({ items: t.array(ProductC) }),
    t.partial({
      /**
       * `closed` (default when items are listed): a SKU not listed is unknown, its commands are
       * dead-lettered and availability answers 404. `open`: any SKU is accepted, in `defaultUnits`.
       */
      catalogue: t.keyof({ closed: null, open: null }, '"closed" | "open"'),
      /** Units of SKUs not listed, in an open catalogue (default `{ baseUom: "EA" }`). */
      defaultBaseUom: CodeC,
    }),
  ],
  "products { items, catalogue?, defaultBaseUom? }",
);
export type Products = t.TypeOf<typeof ProductsC>;

/** Per source system: its own status codes (`QI`, `BLOCKED`, `Damaged`, ...) to canonical statuses. */
export const StatusVocabulariesC = t.record(
  SystemIdC,
  t.record(NonEmptyStringC, StockStatusC),
  "status vocabularies { <system>: { <its code>: available | inspection | blocked | consigned } }",
);
export type StatusVocabularies = t.TypeOf<typeof StatusVocabulariesC>;

export const MasterDataC = t.intersection(
  [
    t.type({ locations: t.array(LocationC) }),
    t.partial({ products: ProductsC, statuses: StatusVocabulariesC }),
  ],
  "master data { locations, products?, statuses? }",
);
export type MasterDataInput = t.TypeOf<typeof MasterDataC>;

const problem = (path: string, value: unknown, expected: string): DecodeError => ({
  path,
  value,
  expected,
  message: `${path}: got ${JSON.stringify(value)}, expected ${expected}`,
});

/** The canonical form of a source code, so `{ a, b }` and `{ b, a }` are the same code. */
export const sourceCodeKey = (code: SourceCode): string =>
  Object.keys(code)
    .sort()
    .map((k) => `${k}=${code[k]}`)
    .join("&");

/** Indexed master data; build it with `decodeMasterData` (which checks it) or `indexMasterData`. */
export interface MasterData {
  readonly input: MasterDataInput;
  readonly locations: readonly Location[];
  location(id: string): Location | undefined;
  /** The location a source's code names (all its fields must match), or undefined. */
  locationByCode(system: string, code: SourceCode): Location | undefined;
  /** The location whose GLN this is. */
  locationByGln(gln: string): Location | undefined;
  /** Locations of a region, in configuration order. */
  locationsOf(region: string): readonly Location[];
  /** Whether a SKU is ours: listed, or any SKU in an open catalogue (or without a catalogue). */
  knowsSku(sku: string): boolean;
  product(sku: string): Product | undefined;
  /** The SKU a source's own item number names (`codes`), else the number itself when it is a listed SKU. */
  skuByCode(system: string, code: string): string | undefined;
  /** The canonical status of a source's status code; a canonical status passes unchanged. */
  canonicalStatus(system: string, code: string): StockStatus | undefined;
  /** The unit master the node converts quantities with. */
  readonly units: UnitMaster;
}

const CANONICAL = new Set<string>(["available", "inspection", "blocked", "consigned"]);

export const indexMasterData = (input: MasterDataInput): MasterData => {
  const byId = new Map(input.locations.map((l) => [l.id, l]));
  const byGln = new Map(input.locations.flatMap((l) => (l.gln ? [[l.gln, l] as const] : [])));
  const byCode = new Map<string, Location>();
  for (const l of input.locations)
    for (const [system, code] of Object.entries(l.codes ?? {}))
      byCode.set(`${system}\u0000${sourceCodeKey(code)}`, l);
  const byRegion = new Map<string, Location[]>();
  for (const l of input.locations) byRegion.set(l.region, [...(byRegion.get(l.region) ?? []), l]);
  const items = input.products?.items ?? [];
  const bySku = new Map(items.map((p) => [p.sku, p]));
  const skuOfCode = new Map<string, string>();
  for (const p of items)
    for (const [system, code] of Object.entries(p.codes ?? {}))
      skuOfCode.set(`${system}\u0000${code}`, p.sku);
  const open = input.products === undefined || input.products.catalogue === "open";
  const skus: Record<string, SkuUnits> = {};
  for (const p of items)
    skus[p.sku] = p.conversions ? { baseUom: p.baseUom, conversions: p.conversions } : { baseUom: p.baseUom };
  const units: UnitMaster = open
    ? { skus, default: { baseUom: input.products?.defaultBaseUom ?? "EA" } }
    : { skus };
  return {
    input,
    locations: input.locations,
    location: (id) => byId.get(id),
    locationByCode: (system, code) => byCode.get(`${system}\u0000${sourceCodeKey(code)}`),
    locationByGln: (gln) => byGln.get(gln),
    locationsOf: (region) => byRegion.get(region) ?? [],
    knowsSku: (sku) => open || bySku.has(sku),
    product: (sku) => bySku.get(sku),
    skuByCode: (system, code) =>
      skuOfCode.get(`${system}\u0000${code}`) ?? (bySku.has(code) ? code : undefined),
    canonicalStatus: (system, code) => {
      // Own keys only: a system or code from a command may be `constructor` or `toString`.
      const vocabulary =
        input.statuses && Object.hasOwn(input.statuses, system) ? input.statuses[system] : {};
      const mapped = vocabulary && Object.hasOwn(vocabulary, code) ? vocabulary[code] : undefined;
      if (mapped) return mapped;
      return CANONICAL.has(code) ? (code as StockStatus) : undefined;
    },
    units,
  };
};

/**
 * Decodes and cross-checks master data: location ids, GLNs, a source's codes and SKUs are each used
 * once; `regions`, when given, are the only regions a location may be in.
 */
export const decodeMasterData = (
  input: unknown,
  opts: { readonly regions?: readonly string[] } = {},
): E.Either<DecodeError[], MasterData> => {
  const r = MasterDataC.decode(input);
  if (E.isLeft(r)) return E.left(toDecodeErrors(r.left));
  const md = r.right;
  const problems: DecodeError[] = [];
  const ids = new Set<string>();
  const glns = new Set<string>();
  const codes = new Map<string, string>();
  md.locations.forEach((l, i) => {
    if (ids.has(l.id)) problems.push(problem(`locations.${i}.id`, l.id, "a location id used once"));
    ids.add(l.id);
    if (opts.regions && !opts.regions.includes(l.region))
      problems.push(
        problem(`locations.${i}.region`, l.region, `one of the regions (${opts.regions.join(", ")})`),
      );
    if (l.gln) {
      if (glns.has(l.gln)) problems.push(problem(`locations.${i}.gln`, l.gln, "a GLN used by one location"));
      glns.add(l.gln);
    }
    for (const [system, code] of Object.entries(l.codes ?? {})) {
      const key = `${system}\u0000${sourceCodeKey(code)}`;
      const other = codes.get(key);
      if (other !== undefined)
        problems.push(
          problem(`locations.${i}.codes.${system}`, code, `a code of ${system} not already used by ${other}`),
        );
      codes.set(key, l.id);
    }
  });
  const skus = new Set<string>();
  md.products?.items.forEach((p, i) => {
    if (skus.has(p.sku)) problems.push(problem(`products.items.${i}.sku`, p.sku, "a SKU listed once"));
    skus.add(p.sku);
  });
  return problems.length > 0 ? E.left(problems) : E.right(indexMasterData(md));
};
