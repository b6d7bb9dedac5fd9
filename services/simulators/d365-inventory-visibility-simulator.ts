/**
 * Dynamics 365 Inventory Visibility simulator: on-hand change events (single and bulk), set
 * on-hand, index queries and soft reservations, per environment, with an in-memory ledger.
 *
 * Stock is kept as physical measures per `{organizationId, productId, dimensions}` and data source
 * (`pos.inbound`, `fno.availphysical`, `iv.softreservordered`, ...); calculated measures (for
 * example `iv.onhand`, `iv.availabletoreserve`) are sums and differences of them, configured like
 * the service's own configuration. Measure and data source names are compared case-insensitively
 * and answered in lower case; dimension names are mapped (per `dimensionDataSource`) to the base
 * dimensions and answered in their canonical case (`SiteId`, `LocationId`, `ColorId`, ...).
 *
 * Idempotency. Every change event carries an `id`; the API documents it as the key that keeps a
 * resubmitted event from being counted twice. The simulator remembers ids per environment and per
 * endpoint family (on-hand changes, set on-hand, reserve, unreserve; the published samples reuse
 * `Test204` across on-hand and set on-hand). A repeat with the same body answers the first result
 * without applying it again; the same id with a different body is refused with 409 (simulator
 * choice, so that connector bugs are loud).
 */
import { randomUUID } from "node:crypto";
import Fastify, { type FastifyReply } from "fastify";
import type * as t from "io-ts";
import { canonicalJson } from "../../domain/canonical-json.ts";
import { type DecodeError, formatDecodeErrors, toDecodeErrors } from "../../domain/decode-errors.ts";
import { IndexQuery, OnHandChange, Reserve, Unreserve } from "./d365-inventory-visibility-payloads.ts";
import { loadJsonState, saveJsonState } from "./json-file-state.ts";
import { type SimulatorControls, simulatorControls } from "./sim-controls.ts";
import { FaultInjector, type FaultOptions } from "./sim-faults.ts";

export interface CalculatedMeasure {
  /** `datasource.measure` terms, physical or calculated (declared earlier). */
  readonly add: readonly string[];
  readonly subtract: readonly string[];
}

export interface D365SimulatorOptions extends FaultOptions {
  readonly persistPath?: string;
  /** Per data source, custom dimension name -> base dimension name (e.g. pos: PosSiteId -> SiteId). */
  readonly dimensionMappings?: Readonly<Record<string, Readonly<Record<string, string>>>>;
  /** `datasource.measure` -> formula; evaluated in declaration order. */
  readonly calculatedMeasures?: Readonly<Record<string, CalculatedMeasure>>;
  /** Calculated measure a reservation with `ifCheckAvailForReserv` is checked against. */
  readonly availableForReservation?: string;
  readonly logger?: boolean;
}

export const DEFAULT_DIMENSION_MAPPINGS: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  pos: { PosSiteId: "SiteId", PosLocationId: "LocationId", PosColorId: "ColorId", PosSizeId: "SizeId" },
};

export const DEFAULT_CALCULATED_MEASURES: Readonly<Record<string, CalculatedMeasure>> = {
  "iv.onhand": { add: ["pos.inbound", "fno.availphysical", "fno.arrived"], subtract: ["pos.outbound"] },
  "iv.reserved": { add: ["iv.softreservordered", "iv.softreservphysical"], subtract: [] },
  "iv.availabletoreserve": { add: ["iv.onhand"], subtract: ["iv.reserved"] },
};

const BASE_DIMENSIONS = [
  "SiteId",
  "LocationId",
  "ColorId",
  "SizeId",
  "StyleId",
  "ConfigId",
  "BatchId",
  "SerialId",
  "InventStatusId",
  "LicensePlateId",
  "WMSLocationId",
  "WMSPalletId",
  "VersionId",
  "OwnerId",
];
const BASE_BY_LOWER = new Map(BASE_DIMENSIONS.map((d) => [d.toLowerCase(), d]));

export type Measures = Record<string, Record<string, number>>;

export interface D365Row {
  readonly envId: string;
  readonly organizationId: string;
  readonly productId: string;
  readonly dimensions: Readonly<Record<string, string>>;
  physical: Measures;
}

export type D365Kind = "onhand" | "setonhand" | "reserve" | "unreserve";

export interface D365Result {
  readonly id: string | null;
  readonly processingStatus: "success" | "failed";
  readonly message: string;
  readonly statusCode: number;
  readonly reservationId?: string;
}

export interface D365LedgerEntry {
  readonly seq: number;
  readonly envId: string;
  readonly kind: D365Kind;
  /** The caller's change id (the idempotency key); generated for injections without one. */
  readonly id: string;
  readonly origin: "api" | "inject";
  readonly postedAt: string;
  readonly organizationId: string;
  readonly productId: string;
  readonly dimensions: Readonly<Record<string, string>>;
  /** Physical measure changes applied: `{ datasource: { measure: delta } }` (for set on-hand, the delta to the new level). */
  readonly deltas: Measures;
  readonly reservationId?: string;
  readonly result: D365Result;
  readonly fingerprint: string;
}

interface Reservation {
  readonly envId: string;
  readonly reservationId: string;
  readonly organizationId: string;
  readonly productId: string;
  readonly dimensions: Readonly<Record<string, string>>;
  readonly dataSource: string;
  readonly modifier: string;
  readonly quantity: number;
  remaining: number;
}

interface D365State {
  rows: Record<string, D365Row>;
  ledger: D365LedgerEntry[];
  reservations: Record<string, Reservation>;
  stats: { applied: number; duplicates: number; conflicts: number; rejected: number };
}

export interface D365QueryRow {
  readonly organizationId: string;
  readonly productId: string;
  readonly dimensions: Record<string, string>;
  readonly quantities: Measures;
}

export interface D365Simulator extends SimulatorControls {
  ledger(): readonly D365LedgerEntry[];
  /** Same semantics as `POST .../onhand/indexquery`; throws on an invalid query. */
  query(envId: string, query: unknown): D365QueryRow[];
  /** One measure (`datasource.measure`, physical or calculated) summed over the rows matching the dimensions. */
  quantity(
    envId: string,
    organizationId: string,
    productId: string,
    dimensions: Record<string, string>,
    measure: string,
  ): number;
  stats(): D365State["stats"];
  /** Applies on-hand changes outside the sync (a store counting stock by hand); `id` optional. */
  inject(envId: string, changes: unknown): D365LedgerEntry[];
  /**
   * A fault: a bulk that contains a change for one of these products fails as a whole with 500 and
   * applies nothing (a service error on one row takes the request down). Empty to clear.
   */
  failBulksContaining(productIds: readonly string[]): void;
}

const TRACE = () => `00-${randomUUID().replace(/-/g, "")}-${randomUUID().replace(/-/g, "").slice(0, 16)}-00`;

/** ASP.NET Core problem details, the error body of the service's validation and failures. */
export const d365Problem = (
  status: number,
  title: string,
  detail?: string,
  errors?: readonly DecodeError[],
) => ({
  type: `https://tools.ietf.org/html/rfc9110#section-15.${status >= 500 ? 6 : 5}.${status >= 500 ? status - 499 : status - 399}`,
  title,
  status,
  ...(detail === undefined ? {} : { detail }),
  ...(errors === undefined
    ? {}
    : {
        errors: errors.reduce<Record<string, string[]>>((acc, e) => {
          const field = e.path === "" ? "(body)" : e.path;
          acc[field] = [...(acc[field] ?? []), e.message];
          return acc;
        }, {}),
      }),
  traceId: TRACE(),
});

class D365Refusal extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly errors?: readonly DecodeError[],
  ) {
    super(message);
  }
}

const emptyState = (): D365State => ({
  rows: {},
  ledger: [],
  reservations: {},
  stats: { applied: 0, duplicates: 0, conflicts: 0, rejected: 0 },
});

const decodeOrRefuse = <A>(codec: t.Decoder<unknown, A>, value: unknown, what: string): A => {
  const decoded = codec.decode(value);
  if (decoded._tag === "Right") return decoded.right;
  const errors = toDecodeErrors(decoded.left, { arrayIndex: "brackets" });
  throw new D365Refusal(400, `Invalid ${what}: ${formatDecodeErrors(errors)}`, errors);
};

/** The measures of one data source inside `measures`, created when missing. */
const bucket = (measures: Measures, dataSource: string): Record<string, number> => {
  const existing = measures[dataSource];
  if (existing !== undefined) return existing;
  const created: Record<string, number> = {};
  measures[dataSource] = created;
  return created;
};

const lowerMeasures = (quantities: Record<string, Record<string, number>>): Measures => {
  const out: Measures = {};
  for (const [ds, measures] of Object.entries(quantities)) {
    const target = bucket(out, ds.toLowerCase());
    for (const [m, q] of Object.entries(measures))
      target[m.toLowerCase()] = (target[m.toLowerCase()] ?? 0) + q;
  }
  return out;
};

export const createD365Simulator = (options: D365SimulatorOptions = {}): D365Simulator => {
  const mappings = options.dimensionMappings ?? DEFAULT_DIMENSION_MAPPINGS;
  const calculated = Object.entries(options.calculatedMeasures ?? DEFAULT_CALCULATED_MEASURES).map(
    ([name, formula]) => ({
      name: name.toLowerCase(),
      add: formula.add.map((m) => m.toLowerCase()),
      subtract: formula.subtract.map((m) => m.toLowerCase()),
    }),
  );
  const availabilityMeasure = (options.availableForReservation ?? "iv.availabletoreserve").toLowerCase();
  const faults = new FaultInjector(options);
  let state: D365State = loadJsonState<D365State>(options.persistPath) ?? emptyState();
  const persist = () => saveJsonState(options.persistPath, state);
  const byKey = new Map<string, D365LedgerEntry>();
  const reindex = () => {
    byKey.clear();
    for (const e of state.ledger)
      if (e.origin === "api") byKey.set(JSON.stringify([e.envId, e.kind, e.id]), e);
  };
  reindex();

  /** Maps custom dimensions of `dataSource` to base ones and gives every name its canonical case. */
  const normaliseDimensions = (
    dimensions: Record<string, string>,
    dataSource: string | undefined,
    requireLocation: boolean,
  ): Record<string, string> => {
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

  const rowKey = (envId: string, organizationId: string, productId: string, dims: Record<string, string>) =>
    JSON.stringify([
      envId,
      organizationId,
      productId,
      Object.entries(dims).sort(([a], [b]) => a.localeCompare(b)),
    ]);

  const rowFor = (
    envId: string,
    organizationId: string,
    productId: string,
    dimensions: Record<string, string>,
  ) => {
    const key = rowKey(envId, organizationId, productId, dimensions);
    const existing = state.rows[key];
    if (existing !== undefined) return existing;
    const row: D365Row = { envId, organizationId, productId, dimensions, physical: {} };
    state.rows[key] = row;
    return row;
  };

  const applyDeltas = (row: D365Row, deltas: Measures) => {
    for (const [ds, measures] of Object.entries(deltas)) {
      const target = bucket(row.physical, ds);
      for (const [m, q] of Object.entries(measures)) target[m] = (target[m] ?? 0) + q;
    }
  };

  /** Physical sums plus calculated measures, by data source. */
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

  const matchingRows = (
    envId: string,
    organizationIds: readonly string[],
    productIds: readonly string[] | undefined,
    dims: Record<string, readonly string[]>,
  ) =>
    Object.values(state.rows).filter(
      (row) =>
        row.envId === envId &&
        organizationIds.includes(row.organizationId) &&
        (productIds === undefined || productIds.includes(row.productId)) &&
        Object.entries(dims).every(([name, values]) => values.includes(row.dimensions[name] ?? "\u0000")),
    );

  const sumPhysical = (rows: readonly D365Row[]): Measures => {
    const sum: Measures = {};
    for (const row of rows) {
      for (const [ds, measures] of Object.entries(row.physical)) {
        const target = bucket(sum, ds);
        for (const [m, q] of Object.entries(measures)) target[m] = (target[m] ?? 0) + q;
      }
    }
    return sum;
  };

  const query = (envId: string, body: unknown): D365QueryRow[] => {
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
      const [canonical = name] = Object.keys(
        normaliseDimensions({ [name]: "" }, q.dimensionDataSource, false),
      );
      dims[canonical] = values;
    }
    const groupBy = (q.groupByValues ?? []).map(
      (name) => Object.keys(normaliseDimensions({ [name]: "" }, q.dimensionDataSource, false))[0] ?? name,
    );
    const groups = new Map<
      string,
      { organizationId: string; productId: string; dimensions: Record<string, string>; rows: D365Row[] }
    >();
    for (const row of matchingRows(envId, organizationIds, productIds, dims)) {
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

  const record = (entry: Omit<D365LedgerEntry, "seq" | "postedAt">): D365LedgerEntry => {
    const full: D365LedgerEntry = {
      seq: state.ledger.length + 1,
      postedAt: new Date().toISOString(),
      ...entry,
    };
    state.ledger.push(full);
    if (full.origin === "api") byKey.set(JSON.stringify([full.envId, full.kind, full.id]), full);
    state.stats.applied++;
    return full;
  };

  /** Returns the first result of a repeated id, refuses a reused id, or undefined for a new one. */
  const previous = (
    envId: string,
    kind: D365Kind,
    id: string,
    fingerprint: string,
  ): D365LedgerEntry | undefined => {
    const first = byKey.get(JSON.stringify([envId, kind, id]));
    if (first === undefined) return undefined;
    if (first.fingerprint !== fingerprint) {
      state.stats.conflicts++;
      throw new D365Refusal(409, `Change id '${id}' was already processed with a different body`);
    }
    state.stats.duplicates++;
    return first;
  };

  const applyChange = (
    envId: string,
    raw: unknown,
    kind: "onhand" | "setonhand",
    origin: "api" | "inject",
  ): { entry: D365LedgerEntry; duplicate: boolean } => {
    const withId =
      origin === "inject" && typeof raw === "object" && raw !== null && !("id" in raw)
        ? { ...raw, id: `inject-${randomUUID()}` }
        : raw;
    const change = decodeOrRefuse(OnHandChange, withId, kind === "onhand" ? "on-hand change" : "set on-hand");
    const fingerprint = canonicalJson(withId);
    if (origin === "api") {
      const first = previous(envId, kind, change.id, fingerprint);
      if (first !== undefined) return { entry: first, duplicate: true };
    }
    const dimensions = normaliseDimensions(change.dimensions, change.dimensionDataSource, true);
    const given = lowerMeasures(change.quantities);
    const row = rowFor(envId, change.organizationId, change.productId, dimensions);
    let deltas = given;
    if (kind === "setonhand") {
      deltas = {};
      for (const [ds, measures] of Object.entries(given)) {
        const target: Record<string, number> = {};
        for (const [m, level] of Object.entries(measures)) target[m] = level - (row.physical[ds]?.[m] ?? 0);
        deltas[ds] = target;
      }
    }
    applyDeltas(row, deltas);
    const entry = record({
      envId,
      kind,
      id: change.id,
      origin,
      organizationId: change.organizationId,
      productId: change.productId,
      dimensions,
      deltas,
      result: { id: change.id, processingStatus: "success", message: "", statusCode: 200 },
      fingerprint,
    });
    return { entry, duplicate: false };
  };

  const reserve = (envId: string, raw: unknown): { entry: D365LedgerEntry; duplicate: boolean } => {
    const r = decodeOrRefuse(Reserve, raw, "reservation");
    const fingerprint = canonicalJson(raw);
    const first = previous(envId, "reserve", r.id, fingerprint);
    if (first !== undefined) return { entry: first, duplicate: true };
    const dimensions = normaliseDimensions(r.dimensions, r.dimensionDataSource, true);
    if (r.ifCheckAvailForReserv === true) {
      const single = Object.fromEntries(Object.entries(dimensions).map(([k, v]) => [k, [v]]));
      const [ds = "", m = ""] = availabilityMeasure.split(".");
      const available =
        withCalculated(sumPhysical(matchingRows(envId, [r.organizationId], [r.productId], single)))[ds]?.[
          m
        ] ?? 0;
      if (available < r.quantity) {
        throw new D365Refusal(
          400,
          `Not enough quantity available for reservation: requested ${r.quantity}, ${availabilityMeasure} is ${available}`,
        );
      }
    }
    const dataSource = r.quantityDataSource.toLowerCase();
    const modifier = r.modifier.toLowerCase();
    applyDeltas(rowFor(envId, r.organizationId, r.productId, dimensions), {
      [dataSource]: { [modifier]: r.quantity },
    });
    const reservationId = randomUUID();
    state.reservations[JSON.stringify([envId, reservationId])] = {
      envId,
      reservationId,
      organizationId: r.organizationId,
      productId: r.productId,
      dimensions,
      dataSource,
      modifier,
      quantity: r.quantity,
      remaining: r.quantity,
    };
    const entry = record({
      envId,
      kind: "reserve",
      id: r.id,
      origin: "api",
      organizationId: r.organizationId,
      productId: r.productId,
      dimensions,
      deltas: { [dataSource]: { [modifier]: r.quantity } },
      reservationId,
      result: { reservationId, id: r.id, processingStatus: "success", message: "", statusCode: 200 },
      fingerprint,
    });
    return { entry, duplicate: false };
  };

  const unreserve = (envId: string, raw: unknown): { entry: D365LedgerEntry; duplicate: boolean } => {
    const u = decodeOrRefuse(Unreserve, raw, "unreservation");
    const fingerprint = canonicalJson(raw);
    const first = previous(envId, "unreserve", u.id, fingerprint);
    if (first !== undefined) return { entry: first, duplicate: true };
    const reservation = state.reservations[JSON.stringify([envId, u.reservationId])];
    if (reservation === undefined || reservation.organizationId !== u.organizationId) {
      throw new D365Refusal(
        404,
        `Reservation '${u.reservationId}' not found in organization '${u.organizationId}'`,
      );
    }
    const offset = u.OffsetQty ?? u.offsetQty ?? reservation.remaining;
    if (offset > reservation.remaining) {
      throw new D365Refusal(
        400,
        `OffsetQty ${offset} exceeds the ${reservation.remaining} still reserved by '${u.reservationId}'`,
      );
    }
    reservation.remaining -= offset;
    const deltas = { [reservation.dataSource]: { [reservation.modifier]: -offset } };
    applyDeltas(
      rowFor(envId, reservation.organizationId, reservation.productId, reservation.dimensions),
      deltas,
    );
    const entry = record({
      envId,
      kind: "unreserve",
      id: u.id,
      origin: "api",
      organizationId: reservation.organizationId,
      productId: reservation.productId,
      dimensions: reservation.dimensions,
      deltas,
      reservationId: u.reservationId,
      result: {
        reservationId: u.reservationId,
        id: u.id,
        processingStatus: "success",
        message: "",
        statusCode: 200,
      },
      fingerprint,
    });
    return { entry, duplicate: false };
  };

  const app = Fastify({ logger: options.logger ?? false });
  faults.install(app, (status, code, message) =>
    d365Problem(
      status,
      status === 503 ? "Service Unavailable" : status === 504 ? "Gateway Timeout" : "Internal Server Error",
      `${code}: ${message}`,
    ),
  );
  app.setErrorHandler((error: { statusCode?: number; message: string }, _request, reply) => {
    const status = error.statusCode ?? 500;
    reply
      .code(status)
      .send(d365Problem(status, status < 500 ? "Bad Request" : "Internal Server Error", error.message));
  });
  app.setNotFoundHandler((request, reply) => {
    reply
      .code(404)
      .send(d365Problem(404, "Not Found", `No route for ${request.method} ${request.url.split("?")[0]}`));
  });

  /** Runs `work`, persists, and answers the result or the refusal in the service's shape. */
  const answer = (
    reply: FastifyReply,
    work: () => { body: unknown; duplicate?: boolean; status?: number },
  ) => {
    try {
      const { body, duplicate, status } = work();
      persist();
      if (duplicate) reply.header("x-sim-duplicate", "true");
      return reply.code(status ?? 200).send(body);
    } catch (error) {
      if (!(error instanceof D365Refusal)) throw error;
      state.stats.rejected++;
      persist();
      return reply
        .code(error.status)
        .send(
          d365Problem(
            error.status,
            error.status === 409 ? "Conflict" : error.status === 404 ? "Not Found" : "Bad Request",
            error.message,
            error.errors,
          ),
        );
    }
  };

  type EnvParams = { Params: { envId: string } };
  const base = "/api/environment/:envId";

  app.post<EnvParams>(`${base}/onhand`, async (request, reply) =>
    answer(reply, () => {
      const { entry, duplicate } = applyChange(request.params.envId, request.body, "onhand", "api");
      return { body: entry.result, duplicate };
    }),
  );

  let poisonProducts = new Set<string>();
  const bulk = (envId: string, body: unknown, kind: "onhand" | "setonhand") => {
    if (!Array.isArray(body))
      throw new D365Refusal(400, "The request body must be a JSON array of on-hand change events");
    const poisoned = body.find(
      (item: unknown) =>
        typeof item === "object" &&
        item !== null &&
        poisonProducts.has(String((item as { productId?: unknown }).productId)),
    );
    if (poisoned)
      throw new Error(`simulated service error on product ${(poisoned as { productId: string }).productId}`);
    let duplicates = 0;
    const results = body.map((item: unknown): D365Result => {
      try {
        const { entry, duplicate } = applyChange(envId, item, kind, "api");
        if (duplicate) duplicates++;
        return entry.result;
      } catch (error) {
        if (!(error instanceof D365Refusal)) throw error;
        state.stats.rejected++;
        const id =
          typeof item === "object" && item !== null && typeof (item as { id?: unknown }).id === "string"
            ? (item as { id: string }).id
            : null;
        return { id, processingStatus: "failed", message: error.message, statusCode: error.status };
      }
    });
    return { body: results, duplicate: duplicates > 0 && duplicates === body.length };
  };

  app.post<EnvParams>(`${base}/onhand/bulk`, async (request, reply) =>
    answer(reply, () => bulk(request.params.envId, request.body, "onhand")),
  );
  app.post<{ Params: { envId: string; inventorySystem: string } }>(
    `${base}/setonhand/:inventorySystem/bulk`,
    async (request, reply) => answer(reply, () => bulk(request.params.envId, request.body, "setonhand")),
  );
  app.post<EnvParams>(`${base}/onhand/indexquery`, async (request, reply) =>
    answer(reply, () => ({ body: query(request.params.envId, request.body) })),
  );
  app.post<EnvParams>(`${base}/onhand/reserve`, async (request, reply) =>
    answer(reply, () => {
      const { entry, duplicate } = reserve(request.params.envId, request.body);
      return { body: entry.result, duplicate };
    }),
  );
  app.post<EnvParams>(`${base}/onhand/unreserve`, async (request, reply) =>
    answer(reply, () => {
      const { entry, duplicate } = unreserve(request.params.envId, request.body);
      return { body: entry.result, duplicate };
    }),
  );

  const inject = (envId: string, body: unknown): D365LedgerEntry[] =>
    (Array.isArray(body) ? body : [body]).map(
      (change) => applyChange(envId, change, "onhand", "inject").entry,
    );

  // Admin: never faulted, not part of the service's API.
  app.post<{ Querystring: { env?: string } }>("/_sim/inject", async (request, reply) =>
    answer(reply, () => ({
      body: { entries: inject(request.query.env ?? "sim", request.body) },
      status: 201,
    })),
  );
  app.get("/_sim/onhand", async () => ({ rows: Object.values(state.rows) }));

  const reset = () => {
    state = emptyState();
    reindex();
    persist();
  };

  const unwrap = <A>(work: () => A): A => {
    try {
      return work();
    } catch (error) {
      if (error instanceof D365Refusal) throw new Error(`${error.status}: ${error.message}`);
      throw error;
    }
  };

  return {
    ...simulatorControls(app, faults, { entries: () => state.ledger, stats: () => state.stats, reset }),
    ledger: () => state.ledger,
    query: (envId, q) => unwrap(() => query(envId, q)),
    quantity: (envId, organizationId, productId, dimensions, measure) =>
      unwrap(() => {
        const dims = Object.fromEntries(
          Object.entries(normaliseDimensions(dimensions, undefined, false)).map(([k, v]) => [k, [v]]),
        );
        const [ds = "", m = ""] = measure.toLowerCase().split(".");
        return (
          withCalculated(sumPhysical(matchingRows(envId, [organizationId], [productId], dims)))[ds]?.[m] ?? 0
        );
      }),
    stats: () => ({ ...state.stats }),
    inject: (envId, changes) =>
      unwrap(() => {
        const entries = inject(envId, changes);
        persist();
        return entries;
      }),
    failBulksContaining: (productIds) => {
      poisonProducts = new Set(productIds);
    },
    reset,
  };
};
