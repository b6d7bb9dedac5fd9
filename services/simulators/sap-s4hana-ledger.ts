/**
 * The stock book of the SAP S/4HANA simulator: material documents as SAP posts them (all items or
 * none) and the unrestricted-use stock they produce per Material / Plant / StorageLocation / Batch.
 * It knows SAP's rules (movement types, base units, M7/021 deficit, idempotency by key and body)
 * and nothing of HTTP; the OData routes are in sap-s4hana-simulator.ts.
 */
import * as t from "io-ts";
// Sorted keys, so that a retried body is recognised whatever its key order.
import { canonicalJson } from "../../domain/canonical-json.ts";
import { formatDecodeErrors, toDecodeErrors } from "../../domain/decode-errors.ts";
import { loadJsonState, saveJsonState } from "./json-file-state.ts";
import {
  MaterialDocumentHeaderInput,
  type MaterialDocumentItemInput,
  MOVEMENT_TYPES,
  unwrapDeepInsert,
} from "./sap-s4hana-payloads.ts";

export interface SapMaterialMaster {
  readonly baseUnit: string;
  /** Whole number of base units per alternative unit, e.g. `{ CS: 12 }`. */
  readonly conversions?: Readonly<Record<string, number>>;
}

export interface SapLedgerOptions {
  /** JSON file to keep the ledger and stock across restarts. */
  readonly persistPath?: string;
  /** SAP refuses issues beyond unrestricted stock (M7/021) unless negative stock is allowed. */
  readonly allowNegativeStock?: boolean;
  /** Units of measure per material; unknown materials take the unit of their first posting as base unit. */
  readonly materials?: Readonly<Record<string, SapMaterialMaster>>;
}

export interface StockKey {
  readonly Material: string;
  readonly Plant: string;
  readonly StorageLocation: string;
  readonly Batch: string;
}

export interface StockDelta extends StockKey {
  readonly delta: number;
}

export interface SapPostedItem extends Omit<MaterialDocumentItemInput, "QuantityInEntryUnit"> {
  readonly MaterialDocumentItem: string;
  readonly QuantityInEntryUnit: string;
  readonly QuantityInBaseUnit: string;
  readonly MaterialBaseUnit: string;
}

export interface SapLedgerEntry {
  readonly seq: number;
  /** `<MaterialDocument>/<MaterialDocumentYear>` */
  readonly id: string;
  readonly MaterialDocument: string;
  readonly MaterialDocumentYear: string;
  readonly idempotencyKey: string | undefined;
  readonly origin: "api" | "inject";
  readonly postedAt: string;
  readonly header: Omit<MaterialDocumentHeaderInput, "to_MaterialDocumentItem">;
  readonly items: readonly SapPostedItem[];
  readonly deltas: readonly StockDelta[];
  /** Canonical JSON of the request, to tell an honest retry from a reused key. */
  readonly fingerprint: string;
}

export interface SapStockRow extends StockKey {
  readonly quantity: number;
  readonly unit: string;
}

export interface SapStats {
  posted: number;
  duplicates: number;
  conflicts: number;
  rejected: number;
}

interface SapState {
  nextNumber: number;
  ledger: SapLedgerEntry[];
  stock: Record<string, SapStockRow>;
  baseUnits: Record<string, string>;
  stats: SapStats;
}

/** SAP refused a request: the HTTP status and the SAP message code and text (with item details). */
export class SapRefusal extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: readonly { code: string; message: string; target?: string }[] = [],
  ) {
    super(message);
  }
}

export const stockKeyOf = (k: StockKey) => JSON.stringify([k.Material, k.Plant, k.StorageLocation, k.Batch]);

export const formatQuantity = (n: number) => `${n}.000`;

const emptyState = (): SapState => ({
  nextNumber: 4900000000,
  ledger: [],
  stock: {},
  baseUnits: {},
  stats: { posted: 0, duplicates: 0, conflicts: 0, rejected: 0 },
});

export interface SapLedger {
  entries(): readonly SapLedgerEntry[];
  /** The live counters (copy them to hand them out). */
  stats(): SapStats;
  /** Validates and applies one material document (all items or none); throws `SapRefusal`. */
  post(
    rawBody: unknown,
    idempotencyKey: string | undefined,
    origin: "api" | "inject",
  ): { entry: SapLedgerEntry; duplicate: boolean };
  /** A material document, or `{Material, Plant, StorageLocation, Batch?, delta}` booked as 701/702. */
  inject(body: unknown): SapLedgerEntry;
  /** Stock rows matching the given keys, in key order. */
  stockRows(filter: Partial<StockKey>): SapStockRow[];
  /** Counts a refused request. */
  rejected(): void;
  reset(): void;
}

// A count difference booked by a user directly in SAP (MI07 posts 701/702).
const SimpleInject = t.intersection([
  t.type({ Material: t.string, Plant: t.string, StorageLocation: t.string, delta: t.Int }),
  t.partial({ Batch: t.string, EntryUnit: t.string, note: t.string }),
]);

export const createSapLedger = (options: SapLedgerOptions = {}): SapLedger => {
  let state: SapState = loadJsonState<SapState>(options.persistPath) ?? emptyState();
  const byKey = new Map<string, SapLedgerEntry>();
  const reindex = () => {
    byKey.clear();
    for (const entry of state.ledger)
      if (entry.idempotencyKey !== undefined) byKey.set(entry.idempotencyKey, entry);
  };
  reindex();
  const persist = () => saveJsonState(options.persistPath, state);

  const baseQuantity = (
    item: MaterialDocumentItemInput,
    index: number,
  ): { quantity: number; unit: string } => {
    const master = options.materials?.[item.Material];
    const baseUnit = master?.baseUnit ?? state.baseUnits[item.Material] ?? item.EntryUnit;
    if (item.EntryUnit === baseUnit) return { quantity: item.QuantityInEntryUnit, unit: baseUnit };
    const factor = master?.conversions?.[item.EntryUnit];
    if (factor === undefined || !Number.isSafeInteger(factor) || factor <= 0) {
      throw new SapRefusal(
        400,
        "SIM/UNIT",
        `Unit ${item.EntryUnit} is not defined for material ${item.Material} (base unit ${baseUnit})`,
        [
          {
            code: "SIM/UNIT",
            message: `item ${index + 1}: no whole-number conversion from ${item.EntryUnit} to ${baseUnit}`,
            target: `to_MaterialDocumentItem[${index}].EntryUnit`,
          },
        ],
      );
    }
    return { quantity: item.QuantityInEntryUnit * factor, unit: baseUnit };
  };

  const deltasOf = (item: MaterialDocumentItemInput, index: number, quantity: number): StockDelta[] => {
    const movement = MOVEMENT_TYPES[item.GoodsMovementType];
    const target = `to_MaterialDocumentItem[${index}]`;
    if (movement === undefined) {
      throw new SapRefusal(
        400,
        "SIM/MVT",
        `Movement type ${item.GoodsMovementType} is not supported by the simulator (supported: ${Object.keys(MOVEMENT_TYPES).join(", ")})`,
        [
          {
            code: "SIM/MVT",
            message: `item ${index + 1}: movement type ${item.GoodsMovementType}`,
            target: `${target}.GoodsMovementType`,
          },
        ],
      );
    }
    if (item.StorageLocation === undefined || item.StorageLocation === "") {
      throw new SapRefusal(
        400,
        "SIM/SLOC",
        `Enter a storage location for item ${index + 1} (movement type ${item.GoodsMovementType})`,
        [{ code: "SIM/SLOC", message: "StorageLocation is required", target: `${target}.StorageLocation` }],
      );
    }
    const from: StockKey = {
      Material: item.Material,
      Plant: item.Plant,
      StorageLocation: item.StorageLocation,
      Batch: item.Batch ?? "",
    };
    if (movement.effect === 1 || movement.effect === -1)
      return [{ ...from, delta: movement.effect * quantity }];
    const to: StockKey = {
      Material: item.IssgOrRcvgMaterial || item.Material,
      Plant: item.IssuingOrReceivingPlant || item.Plant,
      StorageLocation: item.IssuingOrReceivingStorageLoc || item.StorageLocation,
      Batch: item.IssgOrRcvgBatch || from.Batch,
    };
    if (stockKeyOf(to) === stockKeyOf(from)) {
      throw new SapRefusal(
        400,
        "SIM/TRANSFER",
        `Transfer posting ${item.GoodsMovementType} of item ${index + 1} needs a receiving plant or storage location different from the issuing one`,
        [
          {
            code: "SIM/TRANSFER",
            message:
              "IssuingOrReceivingPlant / IssuingOrReceivingStorageLoc missing or equal to the issuing side",
            target: `${target}.IssuingOrReceivingStorageLoc`,
          },
        ],
      );
    }
    const sign = movement.effect === "transfer" ? 1 : -1;
    return [
      { ...from, delta: -sign * quantity },
      { ...to, delta: sign * quantity },
    ];
  };

  const post: SapLedger["post"] = (rawBody, idempotencyKey, origin) => {
    const body = unwrapDeepInsert(rawBody);
    const decoded = MaterialDocumentHeaderInput.decode(body);
    if (decoded._tag === "Left") {
      const errors = toDecodeErrors(decoded.left, { arrayIndex: "brackets" });
      throw new SapRefusal(
        400,
        "SIM/INVALID_INPUT",
        `Invalid material document: ${formatDecodeErrors(errors)}`,
        errors.map((e) => ({
          code: "SIM/INVALID_INPUT",
          message: e.message,
          target: e.path === "" ? "(body)" : e.path,
        })),
      );
    }
    const fingerprint = canonicalJson(body);
    if (idempotencyKey !== undefined) {
      const first = byKey.get(idempotencyKey);
      if (first !== undefined) {
        if (first.fingerprint !== fingerprint) {
          state.stats.conflicts++;
          throw new SapRefusal(
            409,
            "SIM/IDEMPOTENCY_CONFLICT",
            `Key '${idempotencyKey}' was already used for material document ${first.id} with a different body`,
          );
        }
        state.stats.duplicates++;
        persist();
        return { entry: first, duplicate: true };
      }
    }
    const { to_MaterialDocumentItem: items, ...header } = decoded.right;
    if (items.length === 0)
      throw new SapRefusal(
        400,
        "SIM/NO_ITEMS",
        "A material document needs at least one item in to_MaterialDocumentItem",
      );
    const posted: SapPostedItem[] = [];
    const deltas: StockDelta[] = [];
    const units = new Map<string, string>();
    items.forEach((item, index) => {
      const { quantity, unit } = baseQuantity(item, index);
      const known = units.get(item.Material);
      if (known !== undefined && known !== unit)
        throw new SapRefusal(
          400,
          "SIM/UNIT",
          `Material ${item.Material} is posted in two base units (${known}, ${unit})`,
        );
      units.set(item.Material, unit);
      deltas.push(...deltasOf(item, index, quantity));
      posted.push({
        ...item,
        MaterialDocumentItem: String(index + 1),
        QuantityInEntryUnit: formatQuantity(item.QuantityInEntryUnit),
        QuantityInBaseUnit: formatQuantity(quantity),
        MaterialBaseUnit: unit,
      });
    });
    if (!options.allowNegativeStock) {
      const after = new Map<string, { key: StockKey; quantity: number }>();
      for (const d of deltas) {
        const k = stockKeyOf(d);
        const current = after.get(k) ?? { key: d, quantity: state.stock[k]?.quantity ?? 0 };
        after.set(k, { key: d, quantity: current.quantity + d.delta });
      }
      for (const { key, quantity } of after.values()) {
        if (quantity < 0) {
          const unit = units.get(key.Material) ?? "";
          throw new SapRefusal(
            400,
            "M7/021",
            `Deficit of SL Unrestricted-use ${-quantity} ${unit} : ${key.Material} ${key.Plant} ${key.StorageLocation}${key.Batch ? ` ${key.Batch}` : ""}`,
          );
        }
      }
    }
    const postingDate = header.PostingDate ?? new Date().toISOString().slice(0, 10);
    const number = ++state.nextNumber;
    const entry: SapLedgerEntry = {
      seq: state.ledger.length + 1,
      id: `${number}/${postingDate.slice(0, 4)}`,
      MaterialDocument: String(number),
      MaterialDocumentYear: postingDate.slice(0, 4),
      idempotencyKey,
      origin,
      postedAt: new Date().toISOString(),
      header: { ...header, PostingDate: postingDate, DocumentDate: header.DocumentDate ?? postingDate },
      items: posted,
      deltas,
      fingerprint,
    };
    for (const [material, unit] of units) state.baseUnits[material] ??= unit;
    for (const d of deltas) {
      const k = stockKeyOf(d);
      const row = state.stock[k];
      state.stock[k] = {
        Material: d.Material,
        Plant: d.Plant,
        StorageLocation: d.StorageLocation,
        Batch: d.Batch,
        quantity: (row?.quantity ?? 0) + d.delta,
        unit: state.baseUnits[d.Material] ?? "",
      };
    }
    state.ledger.push(entry);
    if (idempotencyKey !== undefined) byKey.set(idempotencyKey, entry);
    state.stats.posted++;
    persist();
    return { entry, duplicate: false };
  };

  const inject = (body: unknown): SapLedgerEntry => {
    const simple = SimpleInject.decode(body);
    if (simple._tag === "Right") {
      const s = simple.right;
      if (s.delta === 0) throw new SapRefusal(400, "SIM/INJECT", "delta must not be 0");
      const doc = {
        GoodsMovementCode: "05",
        MaterialDocumentHeaderText: (s.note ?? "SIM inject").slice(0, 25),
        to_MaterialDocumentItem: [
          {
            Material: s.Material,
            Plant: s.Plant,
            StorageLocation: s.StorageLocation,
            Batch: s.Batch ?? "",
            GoodsMovementType: s.delta > 0 ? "701" : "702",
            QuantityInEntryUnit: String(Math.abs(s.delta)),
            EntryUnit:
              s.EntryUnit ?? options.materials?.[s.Material]?.baseUnit ?? state.baseUnits[s.Material] ?? "PC",
          },
        ],
      };
      return post(doc, undefined, "inject").entry;
    }
    return post(body, undefined, "inject").entry;
  };

  const stockRows = (filter: Partial<StockKey>) =>
    Object.values(state.stock)
      .filter((row) =>
        (Object.entries(filter) as [keyof StockKey, string][]).every(
          ([field, value]) => value === undefined || row[field] === value,
        ),
      )
      .sort((a, b) => stockKeyOf(a).localeCompare(stockKeyOf(b)));

  return {
    entries: () => state.ledger,
    stats: () => state.stats,
    post,
    inject,
    stockRows,
    rejected: () => {
      state.stats.rejected++;
    },
    reset: () => {
      state = emptyState();
      reindex();
      persist();
    },
  };
};
