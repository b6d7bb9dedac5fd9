/**
 * A legacy ERP that publishes only balances: a snapshot of on hand per item and location (CSV or
 * JSON, snapshot-rows.ts) becomes one recordCount per item, location and status: the level as of
 * the snapshot's time. The node compares it with the position as of that time (bitemporally:
 * later movements already recorded stay on top of it) and records the difference, so the
 * snapshot itself is the document of every correction it causes.
 *
 * - item: master data `products.items[].codes.<system>` (else a listed SKU, or any in an open catalogue);
 * - location: `locations[].codes.<system> = { location: "<code>" }`, else a location id;
 * - status (optional): through `statuses.<system>`, default available. A snapshot without a status
 *   column states the available stock;
 * - lot (optional): positions are not kept per lot, so the rows of one item, location and status
 *   are summed; two rows with the same lot (or both without) are refused rather than summed;
 * - uom (optional): a unit of the product, default its base unit;
 * - as of: the row's `as_of`, else the snapshot's (`asOf` in JSON, option `asOf`), else the time received.
 *
 * `complete: true` (default false) says the snapshot lists everything at each location it names:
 * every listed product absent there gets a count of 0 in each status the snapshot uses. Without it
 * an absent item is unknown, not zero: a partial export must not empty the shelves.
 */
import type { Command } from "../../domain/commands.ts";
import { MAX_QUANTITY } from "../../domain/limits.ts";
import type { Location } from "../../domain/master-data.ts";
import type { StockStatus } from "../../domain/statuses.ts";
import { toBaseQuantity, unitsOf } from "../../domain/units.ts";
import { businessTimeOf, contentId, parseDecimal, quantityIn, skuOf, text } from "../source-values.ts";
import {
  type Translation,
  type TranslationContext,
  translation,
  type UntranslatablePart,
  unreadable,
} from "../translation.ts";
import { type CsvOptions, csvRows, jsonRows, type SnapshotRow, type SnapshotRows } from "./snapshot-rows.ts";

export const SNAPSHOT_DOCUMENT = "balance snapshot";

export interface SnapshotOptions extends CsvOptions {
  /** The snapshot's id (e.g. its file name); else JSON `snapshotId`, else a content id. */
  readonly documentId?: string;
  /** As-of time of a snapshot that carries none. */
  readonly asOf?: string;
  /** Absent items of a named location are 0 there (see above). Default false. */
  readonly complete?: boolean;
}

/** A CSV snapshot. */
export const translateBalanceSnapshotCsv = (
  csv: string,
  ctx: TranslationContext,
  opts: SnapshotOptions = {},
): Translation => {
  const read = csvRows(csv, opts);
  const id = opts.documentId ?? contentId(csv);
  if (!read.ok) return unreadable({ type: SNAPSHOT_DOCUMENT, id }, read.at, read.reason, read.value);
  return translateRows(read.value, id, ctx, opts);
};

/** A JSON snapshot: `{ snapshotId?, asOf?, rows: [{ item, location, onHand, status?, lot?, uom?, asOf? }] }`. */
export const translateBalanceSnapshotJson = (
  json: unknown,
  ctx: TranslationContext,
  opts: SnapshotOptions = {},
): Translation => {
  const read = jsonRows(json);
  const id = opts.documentId ?? (read.ok ? read.value.snapshotId : undefined) ?? contentId(json);
  if (!read.ok) return unreadable({ type: SNAPSHOT_DOCUMENT, id }, read.at, read.reason, read.value);
  return translateRows(read.value, id, ctx, opts);
};

interface Counted {
  readonly row: SnapshotRow;
  readonly location: Location;
  readonly sku: string;
  readonly status: StockStatus;
  readonly asOf: string;
  readonly lot: string | undefined;
  /** Undefined when the row's quantity could not be read (its group is then not counted). */
  readonly quantity?: { value: number; uom: string };
}

const translateRows = (
  snapshot: SnapshotRows,
  id: string,
  ctx: TranslationContext,
  opts: SnapshotOptions,
): Translation => {
  const md = ctx.masterData;
  const document = { type: SNAPSHOT_DOCUMENT, id };
  const untranslatable: UntranslatablePart[] = [];
  const part = (at: string, value: unknown, reason: string) =>
    untranslatable.push({ document, at, ...(value === undefined ? {} : { value }), reason });
  const defaultTime = snapshot.asOf ?? opts.asOf;
  const counted: Counted[] = [];
  const statusesUsed = new Set<StockStatus>();

  for (const row of snapshot.rows) {
    const v = row.values;
    const before = untranslatable.length;
    const item = text(v.item);
    const sku = item === undefined ? undefined : skuOf(md, ctx.system, item);
    if (item === undefined) part(row.at("item"), v.item, "an item number");
    else if (sku === undefined) part(row.at("item"), item, `an item of ${ctx.system} in master data`);
    const code = text(v.location);
    const location =
      code === undefined
        ? undefined
        : (md.locationByCode(ctx.system, { location: code }) ?? md.location(code));
    if (code === undefined) part(row.at("location"), v.location, "a location code");
    else if (!location) part(row.at("location"), code, `a location of ${ctx.system} in master data`);
    const statusCode = text(v.status);
    const status = statusCode === undefined ? "available" : md.canonicalStatus(ctx.system, statusCode);
    if (!status)
      part(
        row.at("status"),
        statusCode,
        `a status of ${ctx.system} in master data (statuses.${ctx.system}) or a canonical status`,
      );
    const rawTime = v.asOf ?? defaultTime;
    const time =
      rawTime === undefined ? { ok: true as const, value: ctx.receivedAt } : businessTimeOf(rawTime);
    if (!time.ok) part(row.at("asOf"), rawTime, time.reason);
    if (untranslatable.length > before || !sku || !location || !status || !time.ok) continue;
    statusesUsed.add(status);

    const uom = text(v.uom) ?? unitsOf(md.units, sku)?.baseUom ?? "";
    const amount = parseDecimal(v.onHand);
    const lot = text(v.lot);
    const base = { row, location, sku, status, asOf: time.value, lot };
    if (amount === undefined) {
      part(
        row.at("onHand"),
        v.onHand,
        "an on-hand quantity: digits, with '.' for decimals (no thousands separators)",
      );
      counted.push(base);
      continue;
    }
    if (amount.digits < 0n) {
      part(row.at("onHand"), v.onHand, "an on-hand level of at least 0");
      counted.push(base);
      continue;
    }
    const q = quantityIn(md, sku, amount, uom);
    if (!q.ok) {
      const unitProblem = text(v.uom) !== undefined && q.reason.startsWith("a unit");
      part(row.at(unitProblem ? "uom" : "onHand"), unitProblem ? v.uom : v.onHand, q.reason);
    }
    counted.push(q.ok ? { ...base, quantity: { value: q.value.value, uom: q.value.uom } } : base);
  }

  const groups = new Map<string, Counted[]>();
  for (const c of counted) {
    const key = `${c.location.id}\u0000${c.sku}\u0000${c.status}\u0000${c.asOf}`;
    groups.set(key, [...(groups.get(key) ?? []), c]);
  }
  const commands: Command[] = [];
  const countedAt = new Map<string, Set<string>>(); // location -> `${sku}\u0000${status}`
  const timesAt = new Map<string, Set<string>>();
  for (const rows of groups.values()) {
    const first = rows[0] as Counted;
    countedAt.set(
      first.location.id,
      (countedAt.get(first.location.id) ?? new Set()).add(`${first.sku}\u0000${first.status}`),
    );
    timesAt.set(first.location.id, (timesAt.get(first.location.id) ?? new Set()).add(first.asOf));
    const lots = new Map<string, SnapshotRow>();
    let duplicate = false;
    for (const r of rows) {
      const seen = lots.get(r.lot ?? "");
      if (seen) {
        duplicate = true;
        part(
          r.row.at("lot"),
          r.lot,
          `one row per item, location, status and lot: ${seen.row} gives the same${r.lot ? "" : " (no lot)"}`,
        );
      } else lots.set(r.lot ?? "", r.row);
    }
    const unread = rows.filter((r) => !r.quantity);
    if (duplicate || unread.length > 0) {
      for (const r of rows.filter((r) => r.quantity))
        part(
          r.row.row,
          undefined,
          `not counted: ${unread.map((u) => u.row.row).join(", ") || "a row"} of the same item, location and status cannot be read`,
        );
      continue;
    }
    const total = sumQuantities(ctx, first.sku, rows);
    if (!total.ok) {
      part(first.row.row, undefined, total.reason);
      continue;
    }
    commands.push(countOf(ctx, id, first, total.value, first.row.line));
  }

  if (opts.complete) {
    const statuses = statusesUsed.size > 0 ? [...statusesUsed] : (["available"] as StockStatus[]);
    for (const [locationId, present] of countedAt) {
      const times = [...(timesAt.get(locationId) ?? [])];
      const location = md.location(locationId) as Location;
      const missing = (md.input.products?.items ?? []).flatMap((p) =>
        statuses.filter((s) => !present.has(`${p.sku}\u0000${s}`)).map((s) => ({ sku: p.sku, status: s })),
      );
      if (missing.length === 0) continue;
      if (times.length !== 1) {
        part(
          `location ${locationId}`,
          times,
          "one as-of time per location of a complete snapshot: absent items cannot be given one",
        );
        continue;
      }
      for (const m of missing) {
        const uom = unitsOf(md.units, m.sku)?.baseUom ?? "EA";
        commands.push(
          countOf(
            ctx,
            id,
            { location, sku: m.sku, status: m.status, asOf: times[0] as string },
            { value: 0, uom },
            "absent",
          ),
        );
      }
    }
  }
  return translation(commands, untranslatable);
};

/** The rows' quantities summed: in their unit when they share one, else in the base unit. */
const sumQuantities = (
  ctx: TranslationContext,
  sku: string,
  rows: readonly Counted[],
): { ok: true; value: { value: number; uom: string } } | { ok: false; reason: string } => {
  const bounded = (value: number, uom: string) =>
    value <= MAX_QUANTITY
      ? { ok: true as const, value: { value, uom } }
      : { ok: false as const, reason: `a total of at most ${MAX_QUANTITY} ${uom} (got ${value})` };
  const uoms = new Set(rows.map((r) => r.quantity?.uom));
  if (uoms.size === 1) {
    const uom = rows[0]?.quantity?.uom as string;
    return bounded(
      rows.reduce((s, r) => s + (r.quantity?.value ?? 0), 0),
      uom,
    );
  }
  let total = 0;
  for (const r of rows) {
    const base = toBaseQuantity(ctx.masterData.units, sku, r.quantity as { value: number; uom: string });
    if (base._tag === "Left") return { ok: false, reason: base.left.message };
    total += base.right;
  }
  return bounded(total, unitsOf(ctx.masterData.units, sku)?.baseUom ?? "");
};

const countOf = (
  ctx: TranslationContext,
  id: string,
  c: Pick<Counted, "location" | "sku" | "status" | "asOf">,
  counted: { value: number; uom: string },
  line: string,
): Command => ({
  kind: "recordCount",
  idempotencyKey: `${ctx.system}:${id}:${c.location.id}:${c.sku}:${c.status}@${c.asOf}`,
  source: { system: ctx.system, document: { type: SNAPSHOT_DOCUMENT, id, line } },
  businessTime: c.asOf,
  correlationId: id,
  position: { region: c.location.region, location: c.location.id, sku: c.sku },
  counted,
  status: c.status,
});
