/**
 * SAP S/4HANA simulator: the parts of API_MATERIAL_DOCUMENT_SRV and API_MATERIAL_STOCK_SRV that an
 * inventory integration uses, with an in-memory ledger of material documents and the stock they
 * produce per Material / Plant / StorageLocation / Batch (unrestricted-use stock only).
 *
 * Idempotency. The real API_MATERIAL_DOCUMENT_SRV posts every POST it receives. Retries are made
 * safe either by SAP Gateway's repeatable requests (`Repeatability-Request-ID` +
 * `Repeatability-First-Sent` headers, OASIS Repeatable Requests, answered with
 * `Repeatability-Result: accepted`) or, in most integrations, by carrying the sender's document
 * number in the header's `ReferenceDocument` (XBLNR, "reference document number", CHAR 16) and
 * refusing to post it twice. The simulator keys a posting by the header if present, else by
 * `ReferenceDocument` (configurable: `idempotencyField`), else not at all (a repeat posts twice,
 * as SAP would). A repeat with the same key and body returns the first document; a repeat with the
 * same key and a different body is refused with 409 (simulator choice: makes connector bugs loud).
 */
import { randomUUID } from "node:crypto";
import Fastify, { type FastifyReply, type FastifyRequest } from "fastify";
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
import { type SimulatorControls, simulatorControls } from "./sim-controls.ts";
import { FaultInjector, type FaultOptions } from "./sim-faults.ts";

export const SAP_MATERIAL_DOCUMENT_SRV = "/sap/opu/odata/sap/API_MATERIAL_DOCUMENT_SRV";
export const SAP_MATERIAL_STOCK_SRV = "/sap/opu/odata/sap/API_MATERIAL_STOCK_SRV";

export interface SapMaterialMaster {
  readonly baseUnit: string;
  /** Whole number of base units per alternative unit, e.g. `{ CS: 12 }`. */
  readonly conversions?: Readonly<Record<string, number>>;
}

export interface SapSimulatorOptions extends FaultOptions {
  /** JSON file to keep the ledger and stock across restarts. */
  readonly persistPath?: string;
  /** Body field used as idempotency key when no Repeatability-Request-ID header is sent. */
  readonly idempotencyField?: "ReferenceDocument" | "MaterialDocumentHeaderText" | "none";
  /** SAP refuses issues beyond unrestricted stock (M7/021) unless negative stock is allowed. */
  readonly allowNegativeStock?: boolean;
  /** Units of measure per material; unknown materials take the unit of their first posting as base unit. */
  readonly materials?: Readonly<Record<string, SapMaterialMaster>>;
  /** Require the CSRF token dance (GET with `x-csrf-token: Fetch`, then send it on POST). */
  readonly requireCsrfToken?: boolean;
  readonly logger?: boolean;
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

interface SapState {
  nextNumber: number;
  ledger: SapLedgerEntry[];
  stock: Record<string, SapStockRow>;
  baseUnits: Record<string, string>;
  stats: { posted: number; duplicates: number; conflicts: number; rejected: number };
}

export interface SapSimulator extends SimulatorControls {
  ledger(): readonly SapLedgerEntry[];
  stock(filter?: Partial<StockKey>): SapStockRow[];
  /** Sum of unrestricted stock over the rows matching the given keys. */
  balance(filter: Partial<StockKey>): number;
  stats(): SapState["stats"];
  /** Posts a material document outside the sync (as a user in MIGO would). Throws on refusal. */
  inject(body: unknown): SapLedgerEntry;
  /**
   * A fault: documents with an item for one of these materials fail with 500 and post nothing (a
   * short dump on that material). Empty to clear.
   */
  failDocumentsFor(materials: readonly string[]): void;
}

/** The OData V2 error body SAP Gateway answers with. */
export const sapODataError = (
  code: string,
  message: string,
  details: readonly { code: string; message: string; target?: string }[] = [],
) => ({
  error: {
    code,
    message: { lang: "en", value: message },
    innererror: {
      application: {
        component_id: "MM-IM-GF",
        service_namespace: "/SAP/",
        service_id: "API_MATERIAL_DOCUMENT_SRV",
        service_version: "0001",
      },
      transactionid: randomUUID().replace(/-/g, "").toUpperCase(),
      timestamp: new Date().toISOString().replace(/[-:T]/g, "").replace("Z", ""),
      Error_Resolution: {
        SAP_Transaction: "Run transaction /IWFND/ERROR_LOG on SAP Gateway hub system (simulated)",
        SAP_Note:
          "See SAP Note 1797736 for error analysis (https://service.sap.com/sap/support/notes/1797736)",
      },
      errordetails: details.map((d) => ({
        code: d.code,
        message: d.message,
        propertyref: d.target ?? "",
        severity: "error",
        target: d.target ?? "",
      })),
    },
  },
});

class SapRefusal extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: readonly { code: string; message: string; target?: string }[] = [],
  ) {
    super(message);
  }
}

const stockKeyOf = (k: StockKey) => JSON.stringify([k.Material, k.Plant, k.StorageLocation, k.Batch]);

const emptyState = (): SapState => ({
  nextNumber: 4900000000,
  ledger: [],
  stock: {},
  baseUnits: {},
  stats: { posted: 0, duplicates: 0, conflicts: 0, rejected: 0 },
});

const formatQuantity = (n: number) => `${n}.000`;

/** Parses the subset of OData `$filter` integrations use: `Field eq 'value'` joined by `and`. */
export const parseEqFilter = (
  filter: string | undefined,
  allowed: readonly string[],
): Record<string, string> => {
  const out: Record<string, string> = {};
  if (filter === undefined || filter.trim() === "") return out;
  for (const clause of filter.trim().split(/\s+and\s+/i)) {
    const match = /^\(?\s*(\w+)\s+eq\s+(?:'((?:[^']|'')*)'|(\d+))\s*\)?$/.exec(clause.trim());
    if (match === null) {
      throw new SapRefusal(
        400,
        "SIM/FILTER",
        `Invalid or unsupported $filter clause '${clause}'; supported: Field eq 'value' [and ...]`,
      );
    }
    const [, field = "", quoted, number] = match;
    if (!allowed.includes(field)) {
      throw new SapRefusal(
        400,
        "SIM/FILTER",
        `Property '${field}' cannot be used in $filter; supported: ${allowed.join(", ")}`,
      );
    }
    out[field] = quoted !== undefined ? quoted.replace(/''/g, "'") : (number ?? "");
  }
  return out;
};

export const createSapSimulator = (options: SapSimulatorOptions = {}): SapSimulator => {
  const idempotencyField = options.idempotencyField ?? "ReferenceDocument";
  const faults = new FaultInjector(options);
  let state: SapState = loadJsonState<SapState>(options.persistPath) ?? emptyState();
  const byKey = new Map<string, SapLedgerEntry>();
  const reindex = () => {
    byKey.clear();
    for (const entry of state.ledger)
      if (entry.idempotencyKey !== undefined) byKey.set(entry.idempotencyKey, entry);
  };
  reindex();
  const csrfTokens = new Set<string>();
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

  /** Validates and applies one material document; all items or none. */
  const post = (
    rawBody: unknown,
    idempotencyKey: string | undefined,
    origin: "api" | "inject",
  ): { entry: SapLedgerEntry; duplicate: boolean } => {
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

  const documentUri = (base: string, e: SapLedgerEntry) =>
    `${base}${SAP_MATERIAL_DOCUMENT_SRV}/A_MaterialDocumentHeader(MaterialDocumentYear='${e.MaterialDocumentYear}',MaterialDocument='${e.MaterialDocument}')`;

  const documentEntity = (base: string, e: SapLedgerEntry) => ({
    __metadata: {
      id: documentUri(base, e),
      uri: documentUri(base, e),
      type: "API_MATERIAL_DOCUMENT_SRV.A_MaterialDocumentHeaderType",
    },
    MaterialDocumentYear: e.MaterialDocumentYear,
    MaterialDocument: e.MaterialDocument,
    InventoryTransactionType: "",
    DocumentDate: `/Date(${Date.parse(e.header.DocumentDate ?? e.header.PostingDate ?? e.postedAt)})/`,
    PostingDate: `/Date(${Date.parse(e.header.PostingDate ?? e.postedAt)})/`,
    CreationDate: `/Date(${Date.parse(e.postedAt.slice(0, 10))})/`,
    CreatedByUser: e.origin === "inject" ? "SIM_USER" : "STOCKLINE",
    MaterialDocumentHeaderText: e.header.MaterialDocumentHeaderText ?? "",
    ReferenceDocument: e.header.ReferenceDocument ?? "",
    GoodsMovementCode: e.header.GoodsMovementCode,
    to_MaterialDocumentItem: {
      results: e.items.map((item) => ({
        __metadata: { type: "API_MATERIAL_DOCUMENT_SRV.A_MaterialDocumentItemType" },
        MaterialDocumentYear: e.MaterialDocumentYear,
        MaterialDocument: e.MaterialDocument,
        ...item,
        Batch: item.Batch ?? "",
      })),
    },
  });

  const app = Fastify({ logger: options.logger ?? false });
  const baseUrl = (request: FastifyRequest) => `${request.protocol}://${request.host}`;
  const refuse = (reply: FastifyReply, error: unknown) => {
    if (error instanceof SapRefusal) {
      state.stats.rejected++;
      return reply.code(error.status).send(sapODataError(error.code, error.message, error.details));
    }
    throw error;
  };

  faults.install(app, (_status, code, message) => sapODataError(code, message));
  app.setErrorHandler((error: { statusCode?: number; code?: string; message: string }, _request, reply) => {
    const status = error.statusCode ?? 500;
    reply.code(status).send(sapODataError(error.code ?? "SIM/HTTP", error.message));
  });
  app.setNotFoundHandler((request, reply) => {
    reply
      .code(404)
      .send(sapODataError("SIM/NOT_FOUND", `Resource not found for segment '${request.url.split("?")[0]}'`));
  });

  // CSRF token dance of SAP Gateway, when required.
  app.addHook("onRequest", async (request, reply) => {
    if (!options.requireCsrfToken || request.url.startsWith("/_sim")) return;
    const header = request.headers["x-csrf-token"];
    if (request.method === "GET" && typeof header === "string" && header.toLowerCase() === "fetch") {
      const token = randomUUID();
      csrfTokens.add(token);
      reply.header("x-csrf-token", token);
      return;
    }
    if (request.method !== "GET" && (typeof header !== "string" || !csrfTokens.has(header))) {
      return reply
        .code(403)
        .header("x-csrf-token", "Required")
        .type("text/plain")
        .send("CSRF token validation failed");
    }
  });

  app.get(`${SAP_MATERIAL_DOCUMENT_SRV}/`, async () => ({
    d: { EntitySets: ["A_MaterialDocumentHeader", "A_MaterialDocumentItem"] },
  }));
  app.get(`${SAP_MATERIAL_STOCK_SRV}/`, async () => ({ d: { EntitySets: ["A_MatlStkInAcctMod"] } }));

  let failingMaterials = new Set<string>();
  app.post(`${SAP_MATERIAL_DOCUMENT_SRV}/A_MaterialDocumentHeader`, async (request, reply) => {
    const repeatability = request.headers["repeatability-request-id"];
    const body = request.body as Record<string, unknown> | undefined;
    const items = (body?.to_MaterialDocumentItem ?? []) as unknown;
    const failing = (Array.isArray(items) ? items : []).find((i: { Material?: unknown }) =>
      failingMaterials.has(String(i?.Material)),
    );
    if (failing)
      return reply
        .code(500)
        .send(sapODataError("SIM/DUMP", `Runtime error on material ${String(failing.Material)} (simulated)`));
    let key: string | undefined;
    if (typeof repeatability === "string" && repeatability !== "")
      key = `Repeatability-Request-ID:${repeatability}`;
    else if (idempotencyField !== "none") {
      const value = body?.[idempotencyField];
      if (typeof value === "string" && value.trim() !== "") key = `${idempotencyField}:${value}`;
    }
    try {
      const { entry, duplicate } = post(request.body, key, "api");
      if (typeof repeatability === "string") reply.header("repeatability-result", "accepted");
      if (duplicate) reply.header("x-sim-duplicate", "true");
      return reply
        .code(201)
        .header("location", documentUri(baseUrl(request), entry))
        .send({ d: documentEntity(baseUrl(request), entry) });
    } catch (error) {
      return refuse(reply, error);
    }
  });

  const HEADER_FILTER_FIELDS = [
    "MaterialDocument",
    "MaterialDocumentYear",
    "ReferenceDocument",
    "MaterialDocumentHeaderText",
    "GoodsMovementCode",
  ];
  app.get(`${SAP_MATERIAL_DOCUMENT_SRV}/A_MaterialDocumentHeader`, async (request, reply) => {
    const query = request.query as Record<string, string | undefined>;
    try {
      const filter = parseEqFilter(query.$filter, HEADER_FILTER_FIELDS);
      const rows = state.ledger
        .map((e) => documentEntity(baseUrl(request), e))
        .filter((doc) =>
          Object.entries(filter).every(
            ([field, value]) => String((doc as Record<string, unknown>)[field]) === value,
          ),
        );
      const expand = query.$expand?.includes("to_MaterialDocumentItem") ?? false;
      return {
        d: {
          results: rows.map((doc) =>
            expand
              ? doc
              : {
                  ...doc,
                  to_MaterialDocumentItem: {
                    __deferred: { uri: `${doc.__metadata.uri}/to_MaterialDocumentItem` },
                  },
                },
          ),
        },
      };
    } catch (error) {
      return refuse(reply, error);
    }
  });

  app.get(`${SAP_MATERIAL_DOCUMENT_SRV}/A_MaterialDocumentHeader(*`, async (request, reply) => {
    const match = /A_MaterialDocumentHeader\(MaterialDocumentYear='(\d{4})',MaterialDocument='(\d+)'\)/.exec(
      decodeURIComponent(request.url),
    );
    const entry = match
      ? state.ledger.find((e) => e.MaterialDocumentYear === match[1] && e.MaterialDocument === match[2])
      : undefined;
    if (entry === undefined)
      return reply
        .code(404)
        .send(
          sapODataError("SIM/NOT_FOUND", "Resource not found for segment 'A_MaterialDocumentHeaderType'"),
        );
    return { d: documentEntity(baseUrl(request), entry) };
  });

  const STOCK_FILTER_FIELDS = [
    "Material",
    "Plant",
    "StorageLocation",
    "Batch",
    "InventoryStockType",
    "MaterialBaseUnit",
  ];
  const stockRows = (filter: Partial<StockKey>) =>
    Object.values(state.stock)
      .filter((row) =>
        (Object.entries(filter) as [keyof StockKey, string][]).every(
          ([field, value]) => value === undefined || row[field] === value,
        ),
      )
      .sort((a, b) => stockKeyOf(a).localeCompare(stockKeyOf(b)));

  app.get(`${SAP_MATERIAL_STOCK_SRV}/A_MatlStkInAcctMod`, async (request, reply) => {
    const query = request.query as Record<string, string | undefined>;
    try {
      const filter = parseEqFilter(query.$filter, STOCK_FILTER_FIELDS);
      if (filter.InventoryStockType !== undefined && filter.InventoryStockType !== "01")
        return { d: { results: [] } };
      const { InventoryStockType: _stockType, MaterialBaseUnit, ...keys } = filter;
      let rows = stockRows(keys).filter(
        (row) => MaterialBaseUnit === undefined || row.unit === MaterialBaseUnit,
      );
      const skip = Number(query.$skip ?? 0);
      const top = query.$top === undefined ? undefined : Number(query.$top);
      if (!Number.isInteger(skip) || skip < 0 || (top !== undefined && (!Number.isInteger(top) || top < 0))) {
        throw new SapRefusal(
          400,
          "SIM/PAGING",
          `Invalid $top/$skip: ${query.$top ?? ""}/${query.$skip ?? ""}`,
        );
      }
      rows = rows.slice(skip, top === undefined ? undefined : skip + top);
      return {
        d: {
          results: rows.map((row) => ({
            __metadata: { type: "API_MATERIAL_STOCK_SRV.A_MatlStkInAcctModType" },
            Material: row.Material,
            Plant: row.Plant,
            StorageLocation: row.StorageLocation,
            Batch: row.Batch,
            Supplier: "",
            Customer: "",
            WBSElementInternalID: "00000000",
            SDDocument: "",
            SDDocumentItem: "000000",
            InventorySpecialStockType: "",
            InventoryStockType: "01",
            MaterialBaseUnit: row.unit,
            MatlWrhsStkQtyInMatlBaseUnit: formatQuantity(row.quantity),
          })),
        },
      };
    } catch (error) {
      return refuse(reply, error);
    }
  });

  // Admin: never faulted, not part of SAP's API.
  const SimpleInject = t.intersection([
    t.type({ Material: t.string, Plant: t.string, StorageLocation: t.string, delta: t.Int }),
    t.partial({ Batch: t.string, EntryUnit: t.string, note: t.string }),
  ]);
  const inject = (body: unknown): SapLedgerEntry => {
    const simple = SimpleInject.decode(body);
    if (simple._tag === "Right") {
      const s = simple.right;
      if (s.delta === 0) throw new SapRefusal(400, "SIM/INJECT", "delta must not be 0");
      // A count difference booked by a user directly in SAP (MI07 posts 701/702).
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
  app.post("/_sim/inject", async (request, reply) => {
    try {
      const entry = inject(request.body);
      return reply.code(201).send(entry);
    } catch (error) {
      return refuse(reply, error);
    }
  });
  app.get("/_sim/stock", async () => ({ rows: stockRows({}) }));

  const reset = () => {
    state = emptyState();
    reindex();
    persist();
  };

  return {
    ...simulatorControls(app, faults, { entries: () => state.ledger, stats: () => state.stats, reset }),
    ledger: () => state.ledger,
    stock: (filter = {}) => stockRows(filter),
    balance: (filter) => stockRows(filter).reduce((sum, row) => sum + row.quantity, 0),
    stats: () => ({ ...state.stats }),
    inject: (body) => {
      try {
        return inject(body);
      } catch (error) {
        if (error instanceof SapRefusal) throw new Error(`${error.code}: ${error.message}`);
        throw error;
      }
    },
    failDocumentsFor: (materials) => {
      failingMaterials = new Set(materials);
    },
    reset,
  };
};
