/**
 * The demo feed's catalogue: SKUs and descriptions from the UCI Online Retail sample when it is found
 * beside the repository (read at run time, never copied; CC BY 4.0), otherwise synthetic ones; and
 * the seeded generator the feed draws its choices from.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

export interface CatalogItem {
  readonly sku: string;
  readonly description: string;
  /** Quantities customers ordered (from the invoices), to draw order sizes from. */
  readonly orderQuantities: readonly number[];
}

export interface Catalog {
  readonly source: "uci-online-retail" | "synthetic";
  readonly file?: string;
  readonly items: readonly CatalogItem[];
  /** To print wherever the data is shown (CC BY 4.0 asks for it). */
  readonly attribution?: string;
}

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");

/** The sample beside the repository (`../shared/samples/...`), never inside it. */
export const UCI_SAMPLE = path.resolve(
  REPO_ROOT,
  "..",
  "shared",
  "samples",
  "datasets",
  "uci-online-retail",
  "2010-12-01.csv",
);

export const UCI_ATTRIBUTION =
  "SKUs and descriptions: Online Retail data set, Daqing Chen, UCI Machine Learning Repository " +
  "(https://doi.org/10.24432/C5BW33), licensed CC BY 4.0; read at run time from ";

/** Splits one CSV line (RFC 4180 quoting, no embedded newlines: the sample has none). */
const csvFields = (line: string): string[] => {
  const out: string[] = [];
  let cur = "";
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cur += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ",") {
      out.push(cur);
      cur = "";
    } else cur += ch;
  }
  out.push(cur);
  return out;
};

/** Product stock codes (5 digits and an optional variant letter), not postage, fees or manual lines. */
const PRODUCT_CODE = /^\d{5}[A-Z]{0,2}$/;

/**
 * The `count` most ordered products of the UCI Online Retail sample, or synthetic SKUs when the file
 * is not there (or `file: null`).
 */
export const loadCatalog = (opts: { file?: string | null; count?: number } = {}): Catalog => {
  const count = opts.count ?? 100;
  const file = opts.file === null ? undefined : (opts.file ?? UCI_SAMPLE);
  if (file && existsSync(file)) {
    const lines = readFileSync(file, "utf8").split(/\r?\n/);
    const header = csvFields(lines[0] ?? "");
    const col = (name: string) => header.indexOf(name);
    const [iCode, iDesc, iQty] = [col("StockCode"), col("Description"), col("Quantity")];
    if (iCode >= 0 && iDesc >= 0 && iQty >= 0) {
      const bySku = new Map<string, { description: string; quantities: number[] }>();
      for (const line of lines.slice(1)) {
        if (!line.trim()) continue;
        const f = csvFields(line);
        const code = (f[iCode] ?? "").trim().toUpperCase();
        const qty = Number(f[iQty]);
        const description = (f[iDesc] ?? "").trim();
        if (!PRODUCT_CODE.test(code) || !Number.isInteger(qty) || qty <= 0 || !description) continue;
        const e = bySku.get(code) ?? { description, quantities: [] };
        e.quantities.push(qty);
        bySku.set(code, e);
      }
      const items = [...bySku]
        .sort((a, b) => b[1].quantities.length - a[1].quantities.length || (a[0] < b[0] ? -1 : 1))
        .slice(0, count)
        .map(([sku, e]) => ({ sku, description: e.description, orderQuantities: e.quantities }));
      if (items.length > 0)
        return { source: "uci-online-retail", file, items, attribution: `${UCI_ATTRIBUTION}${file}` };
    }
  }
  const items = Array.from({ length: count }, (_, i) => ({
    sku: `SKU-${String(1001 + i)}`,
    description: `Synthetic item ${1001 + i}`,
    orderQuantities: [1, 1, 2, 2, 3, 4, 6, 12],
  }));
  return { source: "synthetic", items };
};

// --- randomness -----------------------------------------------------------------------------------------

/** mulberry32: small, fast, seedable. */
export const seededRandom = (seed: number): (() => number) => {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
};
