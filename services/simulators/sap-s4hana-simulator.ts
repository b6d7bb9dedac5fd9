/**
 * SAP S/4HANA simulator: the parts of API_MATERIAL_DOCUMENT_SRV and API_MATERIAL_STOCK_SRV that an
 * inventory integration uses, as OData V2 routes over the stock book of sap-s4hana-ledger.ts (material
 * documents and the unrestricted-use stock they produce per Material / Plant / StorageLocation / Batch).
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
import {
  createSapLedger,
  formatQuantity,
  type SapLedgerEntry,
  type SapLedgerOptions,
  SapRefusal,
  type SapStats,
  type SapStockRow,
  type StockKey,
} from "./sap-s4hana-ledger.ts";
import { type SimulatorControls, simulatorControls } from "./sim-controls.ts";
import { FaultInjector, type FaultOptions } from "./sim-faults.ts";

export type {
  SapLedgerEntry,
  SapMaterialMaster,
  SapPostedItem,
  SapStockRow,
  StockDelta,
  StockKey,
} from "./sap-s4hana-ledger.ts";

export const SAP_MATERIAL_DOCUMENT_SRV = "/sap/opu/odata/sap/API_MATERIAL_DOCUMENT_SRV";
export const SAP_MATERIAL_STOCK_SRV = "/sap/opu/odata/sap/API_MATERIAL_STOCK_SRV";

export interface SapSimulatorOptions extends FaultOptions, SapLedgerOptions {
  /** Body field used as idempotency key when no Repeatability-Request-ID header is sent. */
  readonly idempotencyField?: "ReferenceDocument" | "MaterialDocumentHeaderText" | "none";
  /** Require the CSRF token dance (GET with `x-csrf-token: Fetch`, then send it on POST). */
  readonly requireCsrfToken?: boolean;
  readonly logger?: boolean;
}

export interface SapSimulator extends SimulatorControls {
  ledger(): readonly SapLedgerEntry[];
  stock(filter?: Partial<StockKey>): SapStockRow[];
  /** Sum of unrestricted stock over the rows matching the given keys. */
  balance(filter: Partial<StockKey>): number;
  stats(): SapStats;
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
  const book = createSapLedger(options);
  const csrfTokens = new Set<string>();

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
      book.rejected();
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
      const { entry, duplicate } = book.post(request.body, key, "api");
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
      const rows = book
        .entries()
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
      ? book.entries().find((e) => e.MaterialDocumentYear === match[1] && e.MaterialDocument === match[2])
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
  const stockRows = book.stockRows;

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
  app.post("/_sim/inject", async (request, reply) => {
    try {
      const entry = book.inject(request.body);
      return reply.code(201).send(entry);
    } catch (error) {
      return refuse(reply, error);
    }
  });
  app.get("/_sim/stock", async () => ({ rows: stockRows({}) }));

  return {
    ...simulatorControls(app, faults, {
      entries: book.entries,
      stats: book.stats,
      reset: book.reset,
    }),
    ledger: book.entries,
    stock: (filter = {}) => stockRows(filter),
    balance: (filter) => stockRows(filter).reduce((sum, row) => sum + row.quantity, 0),
    stats: () => ({ ...book.stats() }),
    inject: (body) => {
      try {
        return book.inject(body);
      } catch (error) {
        if (error instanceof SapRefusal) throw new Error(`${error.code}: ${error.message}`);
        throw error;
      }
    },
    failDocumentsFor: (materials) => {
      failingMaterials = new Set(materials);
    },
    reset: book.reset,
  };
};
