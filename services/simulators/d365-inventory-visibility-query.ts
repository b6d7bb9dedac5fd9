/**
 * Reading the D365 simulator's stock book: the rows of an environment that match organization,
 * product and dimension filters, their summed physical measures, and the index query
 * (`POST .../onhand/indexquery`: filters, group by, calculated measures, `returnNegative`).
 */
import { addMeasures, type MeasureModel, type Measures } from "./d365-inventory-visibility-measures.ts";
import { IndexQuery } from "./d365-inventory-visibility-payloads.ts";
import { D365Refusal, decodeOrRefuse } from "./d365-inventory-visibility-refusal.ts";

/** Physical measures of one product at one set of dimensions, in one environment. */
export interface D365Row {
  readonly envId: string;
  readonly organizationId: string;
  readonly productId: string;
  readonly dimensions: Readonly<Record<string, string>>;
  physical: Measures;
}

export interface D365QueryRow {
  readonly organizationId: string;
  readonly productId: string;
  readonly dimensions: Record<string, string>;
  readonly quantities: Measures;
}

/** The rows of `envId` matching the organizations, products (all when undefined) and dimension values. */
export const matchingRows = (
  rows: readonly D365Row[],
  envId: string,
  organizationIds: readonly string[],
  productIds: readonly string[] | undefined,
  dims: Record<string, readonly string[]>,
) =>
  rows.filter(
    (row) =>
      row.envId === envId &&
      organizationIds.includes(row.organizationId) &&
      (productIds === undefined || productIds.includes(row.productId)) &&
      Object.entries(dims).every(([name, values]) => values.includes(row.dimensions[name] ?? "\u0000")),
  );

/** Physical measures summed over rows. */
export const sumPhysical = (rows: readonly D365Row[]): Measures => {
  const sum: Measures = {};
  for (const row of rows) addMeasures(sum, row.physical);
  return sum;
};

/** `POST .../onhand/indexquery` over `rows`; throws `D365Refusal` on an invalid query. */
export const indexQuery = (
  model: MeasureModel,
  rows: readonly D365Row[],
  envId: string,
  body: unknown,
): D365QueryRow[] => {
  const { normaliseDimensions, withCalculated } = model;
  const q = decodeOrRefuse(IndexQuery, body, "index query");
  const filters = Object.fromEntries(Object.entries(q.filters).map(([k, v]) => [k.toLowerCase(), v]));
  const organizationIds = filters.organizationid;
  if (organizationIds === undefined || organizationIds.length === 0) {
    throw new D365Refusal(400, "filters.organizationId is required", [
      {
        path: "filters.organizationId",
        value: undefined,
        expected: "array of one organization id",
        message: "filters.organizationId is required",
      },
    ]);
  }
  const { organizationid: _o, productid: productIds, ...dimFilters } = filters;
  const dims: Record<string, readonly string[]> = {};
  for (const [name, values] of Object.entries(dimFilters)) {
    const [canonical = name] = Object.keys(normaliseDimensions({ [name]: "" }, q.dimensionDataSource, false));
    dims[canonical] = values;
  }
  const groupBy = (q.groupByValues ?? []).map(
    (name) => Object.keys(normaliseDimensions({ [name]: "" }, q.dimensionDataSource, false))[0] ?? name,
  );
  const groups = new Map<
    string,
    { organizationId: string; productId: string; dimensions: Record<string, string>; rows: D365Row[] }
  >();
  for (const row of matchingRows(rows, envId, organizationIds, productIds, dims)) {
    const dimensions: Record<string, string> = {};
    for (const name of groupBy) {
      const v = row.dimensions[name];
      if (v !== undefined) dimensions[name] = v;
    }
    const key = JSON.stringify([row.organizationId, row.productId, dimensions]);
    const group = groups.get(key) ?? {
      organizationId: row.organizationId,
      productId: row.productId,
      dimensions,
      rows: [],
    };
    group.rows.push(row);
    groups.set(key, group);
  }
  const out: D365QueryRow[] = [];
  for (const group of groups.values()) {
    const quantities = withCalculated(sumPhysical(group.rows));
    if (q.returnNegative === false) {
      for (const measures of Object.values(quantities))
        for (const [m, v] of Object.entries(measures)) if (v < 0) measures[m] = 0;
    }
    out.push({
      organizationId: group.organizationId,
      productId: group.productId,
      dimensions: group.dimensions,
      quantities,
    });
  }
  return out.sort((a, b) =>
    JSON.stringify([a.productId, a.dimensions]).localeCompare(JSON.stringify([b.productId, b.dimensions])),
  );
};
