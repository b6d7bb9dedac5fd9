/**
 * The configuration of the simulated Inventory Visibility service: base dimensions and how each
 * data source's custom dimensions map to them, physical measures per data source, and calculated
 * measures (sums and differences of others, evaluated in declaration order). Measure and data
 * source names are compared case-insensitively and kept in lower case; dimension names are answered
 * in their canonical case (`SiteId`, `LocationId`, `ColorId`, ...).
 */
import { D365_BASE_DIMENSIONS } from "../../connectors/d365-inventory-visibility/d365-event.ts";
import { D365Refusal } from "./d365-inventory-visibility-refusal.ts";

export interface CalculatedMeasure {
  /** `datasource.measure` terms, physical or calculated (declared earlier). */
  readonly add: readonly string[];
  readonly subtract: readonly string[];
}

export interface MeasureOptions {
  /** Per data source, custom dimension name -> base dimension name (e.g. pos: PosSiteId -> SiteId). */
  readonly dimensionMappings?: Readonly<Record<string, Readonly<Record<string, string>>>>;
  /** `datasource.measure` -> formula; evaluated in declaration order. */
  readonly calculatedMeasures?: Readonly<Record<string, CalculatedMeasure>>;
}

export const DEFAULT_DIMENSION_MAPPINGS: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  pos: { PosSiteId: "SiteId", PosLocationId: "LocationId", PosColorId: "ColorId", PosSizeId: "SizeId" },
};

export const DEFAULT_CALCULATED_MEASURES: Readonly<Record<string, CalculatedMeasure>> = {
  "iv.onhand": { add: ["pos.inbound", "fno.availphysical", "fno.arrived"], subtract: ["pos.outbound"] },
  "iv.reserved": { add: ["iv.softreservordered", "iv.softreservphysical"], subtract: [] },
  "iv.availabletoreserve": { add: ["iv.onhand"], subtract: ["iv.reserved"] },
};

const BASE_BY_LOWER = new Map(D365_BASE_DIMENSIONS.map((d) => [d.toLowerCase(), d]));

/** `{ datasource: { measure: quantity } }` */
export type Measures = Record<string, Record<string, number>>;

/** The measures of one data source inside `measures`, created when missing. */
export const bucket = (measures: Measures, dataSource: string): Record<string, number> => {
  const existing = measures[dataSource];
  if (existing !== undefined) return existing;
  const created: Record<string, number> = {};
  measures[dataSource] = created;
  return created;
};

/** Adds `delta` into `target`, measure by measure. */
export const addMeasures = (target: Measures, delta: Measures): void => {
  for (const [ds, measures] of Object.entries(delta)) {
    const into = bucket(target, ds);
    for (const [m, q] of Object.entries(measures)) into[m] = (into[m] ?? 0) + q;
  }
};

/** The given quantities with data source and measure names in lower case (equal names summed). */
export const lowerMeasures = (quantities: Record<string, Record<string, number>>): Measures => {
  const out: Measures = {};
  for (const [ds, measures] of Object.entries(quantities)) {
    const target = bucket(out, ds.toLowerCase());
    for (const [m, q] of Object.entries(measures))
      target[m.toLowerCase()] = (target[m.toLowerCase()] ?? 0) + q;
  }
  return out;
};

export interface MeasureModel {
  /** Maps custom dimensions of `dataSource` to base ones and gives every name its canonical case. */
  normaliseDimensions(
    dimensions: Record<string, string>,
    dataSource: string | undefined,
    requireLocation: boolean,
  ): Record<string, string>;
  /** Physical sums plus calculated measures, by data source. */
  withCalculated(physical: Measures): Measures;
}

export const measureModel = (options: MeasureOptions = {}): MeasureModel => {
  const mappings = options.dimensionMappings ?? DEFAULT_DIMENSION_MAPPINGS;
  const calculated = Object.entries(options.calculatedMeasures ?? DEFAULT_CALCULATED_MEASURES).map(
    ([name, formula]) => ({
      name: name.toLowerCase(),
      add: formula.add.map((m) => m.toLowerCase()),
      subtract: formula.subtract.map((m) => m.toLowerCase()),
    }),
  );

  const normaliseDimensions: MeasureModel["normaliseDimensions"] = (
    dimensions,
    dataSource,
    requireLocation,
  ) => {
    const mapping = Object.entries(
      Object.entries(mappings).find(([ds]) => ds.toLowerCase() === dataSource?.toLowerCase())?.[1] ?? {},
    );
    const out: Record<string, string> = {};
    for (const [rawName, value] of Object.entries(dimensions)) {
      const mapped =
        mapping.find(([custom]) => custom.toLowerCase() === rawName.toLowerCase())?.[1] ?? rawName;
      const name =
        BASE_BY_LOWER.get(mapped.toLowerCase()) ?? mapped.charAt(0).toUpperCase() + mapped.slice(1);
      if (out[name] !== undefined) {
        throw new D365Refusal(400, `Dimension ${name} is given twice (as '${rawName}' and another spelling)`);
      }
      out[name] = value;
    }
    if (requireLocation) {
      for (const required of ["SiteId", "LocationId"]) {
        if (out[required] === undefined || out[required] === "") {
          throw new D365Refusal(
            400,
            `Dimension ${required} is required (the service partitions stock by site and location)`,
            [
              {
                path: `dimensions.${required}`,
                value: undefined,
                expected: "non-empty string",
                message: `dimensions.${required} is required`,
              },
            ],
          );
        }
      }
    }
    return out;
  };

  const withCalculated = (physical: Measures): Measures => {
    const out: Measures = Object.fromEntries(Object.entries(physical).map(([ds, m]) => [ds, { ...m }]));
    const value = (term: string) => {
      const [ds = "", m = ""] = term.split(".");
      return out[ds]?.[m] ?? 0;
    };
    for (const c of calculated) {
      const [ds = "", m = ""] = c.name.split(".");
      const total =
        c.add.reduce((s, term) => s + value(term), 0) - c.subtract.reduce((s, term) => s + value(term), 0);
      bucket(out, ds)[m] = total;
    }
    return out;
  };

  return { normaliseDimensions, withCalculated };
};
