/**
 * The stock book of the Dynamics 365 Inventory Visibility simulator, per environment: physical
 * measures per `{organizationId, productId, dimensions}` and data source, the change events that
 * made them (on-hand changes, set on-hand, soft reservations and their release), and the index
 * query over them. It knows the service's rules and nothing of HTTP (the routes are in
 * d365-inventory-visibility-simulator.ts).
 *
 * Idempotency. Every change event carries an `id`; the API documents it as the key that keeps a
 * resubmitted event from being counted twice. The ledger remembers ids per environment and per
 * endpoint family (on-hand changes, set on-hand, reserve, unreserve; the published samples reuse
 * `Test204` across on-hand and set on-hand). A repeat with the same body answers the first result
 * without applying it again; the same id with a different body is refused with 409 (simulator
 * choice, so that connector bugs are loud).
 */
import { randomUUID } from "node:crypto";
import { canonicalJson } from "../../domain/canonical-json.ts";
import {
  addMeasures,
  lowerMeasures,
  type MeasureOptions,
  type Measures,
  measureModel,
} from "./d365-inventory-visibility-measures.ts";
import { OnHandChange, Reserve, Unreserve } from "./d365-inventory-visibility-payloads.ts";
import {
  type D365QueryRow,
  type D365Row,
  indexQuery,
  matchingRows,
  sumPhysical,
} from "./d365-inventory-visibility-query.ts";
import { D365Refusal, decodeOrRefuse } from "./d365-inventory-visibility-refusal.ts";
import { loadJsonState, saveJsonState } from "./json-file-state.ts";

export type { D365QueryRow, D365Row } from "./d365-inventory-visibility-query.ts";

export interface D365LedgerOptions extends MeasureOptions {
  readonly persistPath?: string;
  /** Calculated measure a reservation with `ifCheckAvailForReserv` is checked against. */
  readonly availableForReservation?: string;
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

export interface D365Stats {
  applied: number;
  duplicates: number;
  conflicts: number;
  rejected: number;
}

interface D365State {
  rows: Record<string, D365Row>;
  ledger: D365LedgerEntry[];
  reservations: Record<string, Reservation>;
  stats: D365Stats;
}

type Applied = { entry: D365LedgerEntry; duplicate: boolean };

export interface D365Ledger {
  entries(): readonly D365LedgerEntry[];
  rows(): D365Row[];
  /** The live counters (copy them to hand them out). */
  stats(): D365Stats;
  /** One on-hand change (added) or set on-hand (levels); throws `D365Refusal`. */
  applyChange(envId: string, raw: unknown, kind: "onhand" | "setonhand", origin: "api" | "inject"): Applied;
  reserve(envId: string, raw: unknown): Applied;
  unreserve(envId: string, raw: unknown): Applied;
  /** `POST .../onhand/indexquery`. */
  query(envId: string, body: unknown): D365QueryRow[];
  /** One measure (`datasource.measure`, physical or calculated) summed over the rows matching the dimensions. */
  quantity(
    envId: string,
    organizationId: string,
    productId: string,
    dimensions: Record<string, string>,
    measure: string,
  ): number;
  /** On-hand change(s) outside the sync; `id` optional. Not persisted until `persist`. */
  inject(envId: string, body: unknown): D365LedgerEntry[];
  /** Counts a refused request. */
  rejected(): void;
  persist(): void;
  reset(): void;
}

const emptyState = (): D365State => ({
  rows: {},
  ledger: [],
  reservations: {},
  stats: { applied: 0, duplicates: 0, conflicts: 0, rejected: 0 },
});

const rowKey = (envId: string, organizationId: string, productId: string, dims: Record<string, string>) =>
  JSON.stringify([
    envId,
    organizationId,
    productId,
    Object.entries(dims).sort(([a], [b]) => a.localeCompare(b)),
  ]);

export const createD365Ledger = (options: D365LedgerOptions = {}): D365Ledger => {
  const model = measureModel(options);
  const { normaliseDimensions, withCalculated } = model;
  const availabilityMeasure = (options.availableForReservation ?? "iv.availabletoreserve").toLowerCase();
  let state: D365State = loadJsonState<D365State>(options.persistPath) ?? emptyState();
  const persist = () => saveJsonState(options.persistPath, state);
  const byKey = new Map<string, D365LedgerEntry>();
  const reindex = () => {
    byKey.clear();
    for (const e of state.ledger)
      if (e.origin === "api") byKey.set(JSON.stringify([e.envId, e.kind, e.id]), e);
  };
  reindex();

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
  ): Applied => {
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
    addMeasures(row.physical, deltas);
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

  const reserve = (envId: string, raw: unknown): Applied => {
    const r = decodeOrRefuse(Reserve, raw, "reservation");
    const fingerprint = canonicalJson(raw);
    const first = previous(envId, "reserve", r.id, fingerprint);
    if (first !== undefined) return { entry: first, duplicate: true };
    const dimensions = normaliseDimensions(r.dimensions, r.dimensionDataSource, true);
    if (r.ifCheckAvailForReserv === true) {
      const single = Object.fromEntries(Object.entries(dimensions).map(([k, v]) => [k, [v]]));
      const [ds = "", m = ""] = availabilityMeasure.split(".");
      const available =
        withCalculated(
          sumPhysical(
            matchingRows(Object.values(state.rows), envId, [r.organizationId], [r.productId], single),
          ),
        )[ds]?.[m] ?? 0;
      if (available < r.quantity) {
        throw new D365Refusal(
          400,
          `Not enough quantity available for reservation: requested ${r.quantity}, ${availabilityMeasure} is ${available}`,
        );
      }
    }
    const dataSource = r.quantityDataSource.toLowerCase();
    const modifier = r.modifier.toLowerCase();
    addMeasures(rowFor(envId, r.organizationId, r.productId, dimensions).physical, {
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

  const unreserve = (envId: string, raw: unknown): Applied => {
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
    addMeasures(
      rowFor(envId, reservation.organizationId, reservation.productId, reservation.dimensions).physical,
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

  return {
    entries: () => state.ledger,
    rows: () => Object.values(state.rows),
    stats: () => state.stats,
    applyChange,
    reserve,
    unreserve,
    query: (envId, body) => indexQuery(model, Object.values(state.rows), envId, body),
    quantity: (envId, organizationId, productId, dimensions, measure) => {
      const dims = Object.fromEntries(
        Object.entries(normaliseDimensions(dimensions, undefined, false)).map(([k, v]) => [k, [v]]),
      );
      const [ds = "", m = ""] = measure.toLowerCase().split(".");
      return (
        withCalculated(
          sumPhysical(matchingRows(Object.values(state.rows), envId, [organizationId], [productId], dims)),
        )[ds]?.[m] ?? 0
      );
    },
    inject: (envId, body) =>
      (Array.isArray(body) ? body : [body]).map(
        (change) => applyChange(envId, change, "onhand", "inject").entry,
      ),
    rejected: () => {
      state.stats.rejected++;
    },
    persist,
    reset: () => {
      state = emptyState();
      reindex();
      persist();
    },
  };
};
