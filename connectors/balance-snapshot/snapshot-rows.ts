/**
 * The rows of a balance snapshot, whatever its format: CSV (csv-parse, a header row naming the
 * columns) or JSON (`{ snapshotId?, asOf?, rows: [...] }` or an array of rows). Each row keeps how
 * to name its fields for an operator: `row 17, column on_hand` (CSV: the file's line, the header
 * being row 1) or `rows[15].onHand` (JSON).
 */
import { CsvError, parse } from "csv-parse/sync";
import { isRecord, text } from "../source-values.ts";

export type SnapshotField = "item" | "location" | "onHand" | "status" | "lot" | "uom" | "asOf";

export interface SnapshotRow {
  /** The row's place, e.g. `row 17` or `rows[15]`; `at(field)` adds the column. */
  readonly row: string;
  readonly line: string;
  readonly at: (field: SnapshotField) => string;
  readonly values: Partial<Record<SnapshotField, unknown>>;
}

export interface SnapshotRows {
  readonly rows: readonly SnapshotRow[];
  readonly snapshotId?: string;
  readonly asOf?: unknown;
}

export type ReadRows =
  | { readonly ok: true; readonly value: SnapshotRows }
  | {
      readonly ok: false;
      readonly at: string;
      readonly reason: string;
      readonly value?: unknown;
    };

export const DEFAULT_COLUMNS: Readonly<Record<SnapshotField, string>> = {
  item: "item",
  location: "location",
  onHand: "on_hand",
  status: "status",
  lot: "lot",
  uom: "uom",
  asOf: "as_of",
};
const REQUIRED: readonly SnapshotField[] = ["item", "location", "onHand"];

export interface CsvOptions {
  /** Column names of the source's file (defaults: DEFAULT_COLUMNS). */
  readonly columns?: Partial<Record<SnapshotField, string>>;
  /** Field delimiter (default `,`). */
  readonly delimiter?: string;
}

export const csvRows = (csv: string, opts: CsvOptions = {}): ReadRows => {
  const names = { ...DEFAULT_COLUMNS, ...opts.columns };
  let records: { record: Record<string, string | undefined>; info: { lines: number } }[];
  try {
    records = parse(csv, {
      columns: (header: string[]) => header.map((h) => h.trim()),
      info: true,
      bom: true,
      trim: true,
      skip_empty_lines: true,
      relax_column_count: true,
      delimiter: opts.delimiter ?? ",",
    }) as typeof records;
  } catch (e) {
    if (e instanceof CsvError)
      return {
        ok: false,
        at: `row ${(e as CsvError & { lines?: number }).lines ?? "?"}`,
        reason: `readable CSV: ${e.message}`,
      };
    throw e;
  }
  const header = csv.replace(/^\uFEFF/, "").split(/\r?\n/, 1)[0] ?? "";
  const missing = REQUIRED.filter((f) => !records[0] || !(names[f] in records[0].record));
  if (records.length > 0 && missing.length > 0)
    return {
      ok: false,
      at: "row 1",
      value: header,
      reason: `a header row with the columns ${REQUIRED.map((f) => names[f]).join(", ")} (missing: ${missing.map((f) => names[f]).join(", ")})`,
    };
  return {
    ok: true,
    value: {
      rows: records.map(({ record, info }) => {
        const values: Partial<Record<SnapshotField, unknown>> = {};
        for (const f of Object.keys(names) as SnapshotField[])
          if (record[names[f]] !== undefined) values[f] = record[names[f]];
        return {
          row: `row ${info.lines}`,
          line: String(info.lines),
          at: (f: SnapshotField) => `row ${info.lines}, column ${names[f]}`,
          values,
        };
      }),
    },
  };
};

export const jsonRows = (json: unknown): ReadRows => {
  const list = Array.isArray(json) ? json : isRecord(json) ? json.rows : undefined;
  if (!Array.isArray(list))
    return {
      ok: false,
      at: "$",
      value: json,
      reason: "a snapshot { snapshotId?, asOf?, rows: [...] } or an array of rows",
    };
  const prefix = Array.isArray(json) ? "" : "rows";
  const snapshotId = isRecord(json) ? text(json.snapshotId) : undefined;
  return {
    ok: true,
    value: {
      ...(snapshotId ? { snapshotId } : {}),
      ...(isRecord(json) && json.asOf !== undefined ? { asOf: json.asOf } : {}),
      rows: list.map((r, i) => {
        const values: Partial<Record<SnapshotField, unknown>> = isRecord(r)
          ? Object.fromEntries(Object.entries(r).filter(([k]) => k in DEFAULT_COLUMNS))
          : {};
        return {
          row: `${prefix}[${i}]`,
          line: String(i),
          at: (f: SnapshotField) => `${prefix}[${i}].${f}`,
          values,
        };
      }),
    },
  };
};
