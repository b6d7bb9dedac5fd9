/**
 * SAP S/4HANA material documents: every sample of ../shared/samples/payloads/sap-s4hana translated,
 * the expected commands written out by hand from each document; a constructed read-back document
 * (OData V2 envelope) with a line of every movement type of the table and lines that must be
 * refused; a 101 and its 102 net to zero on a position through the decider.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SAP_MOVEMENT_TYPES } from "../../connectors/sap-material-document/movement-types.ts";
import { translateSapMaterialDocument } from "../../connectors/sap-material-document/sap-material-document.ts";
import { contentId } from "../../connectors/source-values.ts";
import { onHandOf } from "../../domain/position.decider.ts";
import { BUCKETS } from "../../domain/statuses.ts";
import { context, expectDecodable, masterData, readSample, runPosition } from "./erp-fixtures.ts";

const SYSTEM = "SAP_S4";
const MD = masterData({
  locations: [
    { id: "DC-1010-A", region: "eu", codes: { SAP_S4: { plant: "1010", storageLocation: "101A" } } },
    { id: "DC-1010-B", region: "eu", codes: { SAP_S4: { plant: "1010", storageLocation: "101B" } } },
    // A plant mapped whole: every storage location of 2010 is one canonical location.
    { id: "DC-2010", region: "us", codes: { SAP_S4: { plant: "2010" } } },
  ],
  products: {
    items: [
      {
        sku: "TG12",
        baseUom: "EA",
        conversions: [
          { uom: "PC", quantity: 1, of: "EA" },
          { uom: "CS", quantity: 12, of: "EA" },
        ],
      },
      { sku: "LOT-1", baseUom: "EA", lotTracked: true, codes: { SAP_S4: "MAT-LOT" } },
    ],
  },
  statuses: { SAP_S4: { Z1: "consigned" } },
});
const ctx = context(SYSTEM, MD);
const sample = (name: string) => readSample("payloads", "sap-s4hana", name);
const DOC = "SAP material document";
const A = { region: "eu", location: "DC-1010-A", sku: "TG12" };
const B = { region: "eu", location: "DC-1010-B", sku: "TG12" };

describe("SAP material document samples", () => {
  it("101 goods receipt for a PO: receiveGoods with the PO, the batch as lot, /Date(ms)/ as business time", () => {
    const doc = sample("material_document_create_gr_101_po.json");
    const id = contentId(doc);
    const t = translateSapMaterialDocument(doc, ctx);
    expect(t.untranslatable).toEqual([]);
    expect(t.commands).toEqual([
      {
        kind: "receiveGoods",
        idempotencyKey: `SAP_S4:${id}:1`,
        source: { system: SYSTEM, document: { type: DOC, id, line: "1" } },
        businessTime: "2024-05-15T00:00:00.000Z",
        correlationId: id,
        position: A,
        quantity: { value: 10, uom: "PC" },
        status: "available",
        lot: "B0001",
        documents: { po: "4500001234" },
      },
    ]);
    expectDecodable(t);
    // The same document again: the same keys (the node sees a duplicate, not a second receipt).
    expect(translateSapMaterialDocument(structuredClone(doc), ctx)).toEqual(t);
  });

  it("an unnumbered document takes the sender's id when given one (two identical postings stay two)", () => {
    const doc = sample("material_document_create_gr_101_po.json");
    const t = translateSapMaterialDocument(doc, ctx, { documentId: "req-1" });
    expect(t.commands.map((c) => [c.idempotencyKey, c.source.document.id, c.correlationId])).toEqual([
      ["SAP_S4:req-1:1", "req-1", "req-1"],
    ]);
  });

  it("261 goods issue to a production order: consumeForProduction with the order", () => {
    const doc = sample("material_document_create_gi_261_order.CONSTRUCTED.json");
    const id = contentId(doc);
    const t = translateSapMaterialDocument(doc, ctx);
    expect(t.untranslatable).toEqual([]);
    expect(t.commands).toEqual([
      {
        kind: "consumeForProduction",
        idempotencyKey: `SAP_S4:${id}:1`,
        source: { system: SYSTEM, document: { type: DOC, id, line: "1" } },
        businessTime: "2024-05-15T00:00:00Z",
        correlationId: id,
        position: A,
        quantity: { value: 2, uom: "PC" },
        documents: { productionOrder: "1000123" },
      },
    ]);
    expectDecodable(t);
  });

  it("311 between two mapped storage locations: shipTransfer at 101A and receiveTransfer at 101B", () => {
    const doc = sample("material_document_create_transfer_311.CONSTRUCTED.json");
    const id = contentId(doc);
    const t = translateSapMaterialDocument(doc, ctx);
    expect(t.untranslatable).toEqual([]);
    const common = {
      source: { system: SYSTEM, document: { type: DOC, id, line: "1" } },
      businessTime: "2024-05-15T00:00:00Z",
      correlationId: id,
      quantity: { value: 5, uom: "PC" },
      documents: { transferOrder: `${id}:1` },
      status: "available",
    };
    expect(t.commands).toEqual([
      {
        kind: "shipTransfer",
        idempotencyKey: `SAP_S4:${id}:1`,
        ...common,
        position: A,
        destination: { region: "eu", location: "DC-1010-B" },
      },
      {
        kind: "receiveTransfer",
        idempotencyKey: `SAP_S4:${id}:1:receive`,
        ...common,
        position: B,
        origin: { region: "eu", location: "DC-1010-A" },
      },
    ]);
    expectDecodable(t);
  });

  it("311 between storage locations of one canonical location: no command", () => {
    const whole = masterData({
      locations: [{ id: "DC-1010", region: "eu", codes: { SAP_S4: { plant: "1010" } } }],
      ...(MD.input.products ? { products: MD.input.products } : {}),
    });
    const t = translateSapMaterialDocument(
      sample("material_document_create_transfer_311.CONSTRUCTED.json"),
      context(SYSTEM, whole),
    );
    expect(t).toEqual({ commands: [], untranslatable: [] });
  });

  it("262 with placeholders (SAP KBA 3027233): each unmappable field named with its value, no command", () => {
    const doc = sample("material_document_create_gi_262_reversal_kba3027233.json");
    const t = translateSapMaterialDocument(doc, ctx);
    expect(t.commands).toEqual([]);
    const document = { type: DOC, id: contentId(doc) };
    const at = (f: string) => `to_MaterialDocumentItem[0].${f}`;
    expect(t.untranslatable).toEqual([
      { document, at: at("Material"), value: "xxx", reason: "a material of SAP_S4 in master data" },
      { document, at: at("Plant"), value: "xxx", reason: "a plant of SAP_S4 in master data (1010, 2010)" },
      {
        document,
        at: at("StorageLocation"),
        value: "xxx",
        reason:
          "a storage location of SAP_S4 in master data (plant/storage location: 1010/101A, 1010/101B, 2010)",
      },
      {
        document,
        at: at("QuantityInEntryUnit"),
        value: "x",
        reason: 'a decimal number as a string (e.g. "10" or "10.000"), without separators',
      },
      {
        document,
        at: at("EntryUnit"),
        value: "xx",
        reason: "a unit of measure known to master data (EA, PC, CS)",
      },
    ]);
  });
});

/** A material document as API_MATERIAL_DOCUMENT_SRV reads it back (constructed). */
const item = (n: number, fields: Record<string, unknown>) => ({
  MaterialDocumentYear: "2024",
  MaterialDocument: "4900000101",
  MaterialDocumentItem: String(n).padStart(4, "0"),
  Material: "TG12",
  Plant: "1010",
  StorageLocation: "101A",
  InventoryStockType: "01",
  InventorySpecialStockType: "",
  EntryUnit: "PC",
  ...fields,
});
const READ_BACK = {
  d: {
    results: [
      {
        MaterialDocumentYear: "2024",
        MaterialDocument: "4900000101",
        PostingDate: "/Date(1715817600000)/",
        to_MaterialDocumentItem: {
          results: [
            item(1, {
              GoodsMovementType: "102",
              DebitCreditCode: "H",
              QuantityInEntryUnit: "10.000",
              Batch: "B0001",
              PurchaseOrder: "4500001234",
              ReversedMaterialDocumentYear: "2024",
              ReversedMaterialDocument: "4900000100",
              ReversedMaterialDocumentItem: "1",
            }),
            item(2, {
              GoodsMovementType: "201",
              DebitCreditCode: "H",
              QuantityInEntryUnit: "3",
              EntryUnit: "EA",
            }),
            item(3, {
              GoodsMovementType: "311",
              DebitCreditCode: "H",
              QuantityInEntryUnit: "1",
              EntryUnit: "CS",
              IssuingOrReceivingPlant: "1010",
              IssuingOrReceivingStorageLoc: "101B",
            }),
            // The counterpart SAP writes for the receiving side: carried by line 3.
            item(4, {
              GoodsMovementType: "311",
              DebitCreditCode: "S",
              IsAutomaticallyCreated: "X",
              StorageLocation: "101B",
              QuantityInEntryUnit: "1",
              EntryUnit: "CS",
              IssuingOrReceivingPlant: "1010",
              IssuingOrReceivingStorageLoc: "101A",
            }),
            item(5, { GoodsMovementType: "321", QuantityInEntryUnit: "4", Batch: "B7" }),
            item(6, { GoodsMovementType: "343", QuantityInEntryUnit: "1" }),
            item(7, { GoodsMovementType: "344", QuantityInEntryUnit: "1" }),
            item(8, { GoodsMovementType: "349", QuantityInEntryUnit: "1" }),
            item(9, { GoodsMovementType: "350", QuantityInEntryUnit: "1" }),
            item(10, { GoodsMovementType: "322", QuantityInEntryUnit: "1" }),
            item(11, { GoodsMovementType: "551", DebitCreditCode: "H", QuantityInEntryUnit: "2" }),
            item(12, {
              GoodsMovementType: "601",
              QuantityInEntryUnit: "5",
              SalesOrder: "SO-77",
              Delivery: "80000012",
            }),
            item(13, { GoodsMovementType: "651", QuantityInEntryUnit: "1", Delivery: "RET-1" }),
            item(14, { GoodsMovementType: "701", DebitCreditCode: "S", QuantityInEntryUnit: "6" }),
            item(15, { GoodsMovementType: "702", DebitCreditCode: "H", QuantityInEntryUnit: "2" }),
            item(16, { GoodsMovementType: "261", InventoryStockType: "02", QuantityInEntryUnit: "1" }),
            item(17, {
              GoodsMovementType: "101",
              InventoryStockType: "02",
              GoodsMovementRefDocType: "B",
              PurchaseOrder: "4500009999",
              QuantityInEntryUnit: "8",
            }),
            item(18, {
              GoodsMovementType: "101",
              GoodsMovementRefDocType: "F",
              ManufacturingOrder: "1000999",
              QuantityInEntryUnit: "3",
            }),
            item(19, { GoodsMovementType: "999", QuantityInEntryUnit: "1" }),
            item(20, { GoodsMovementType: "101", DebitCreditCode: "H", QuantityInEntryUnit: "1" }),
            item(21, { GoodsMovementType: "701", QuantityInEntryUnit: "12,5" }),
            item(22, { GoodsMovementType: "701", QuantityInEntryUnit: "2.5" }),
            item(23, { GoodsMovementType: "701", QuantityInEntryUnit: "0.5", EntryUnit: "CS" }),
            item(24, { GoodsMovementType: "101", InventorySpecialStockType: "E", QuantityInEntryUnit: "1" }),
            item(25, {
              GoodsMovementType: "101",
              Material: "MAT-LOT",
              QuantityInEntryUnit: "1",
              EntryUnit: "EA",
            }),
            item(26, { GoodsMovementType: "101", InventorySpecialStockType: "K", QuantityInEntryUnit: "2" }),
            item(27, {
              GoodsMovementType: "311",
              Plant: "2010",
              StorageLocation: "0001",
              IssuingOrReceivingStorageLoc: "0002",
              QuantityInEntryUnit: "1",
            }),
            item(28, { GoodsMovementType: "201", StorageLocation: "999X", QuantityInEntryUnit: "1" }),
            item(29, { GoodsMovementType: "101", InventoryStockType: "Z1", QuantityInEntryUnit: "1" }),
          ],
        },
      },
    ],
  },
};

describe("SAP material document read back (constructed): the movement-type table", () => {
  const t = translateSapMaterialDocument(READ_BACK, ctx);
  const ID = "4900000101/2024";
  const line = (n: number, suffix = "") => ({
    idempotencyKey: `SAP_S4:${ID}:${n}${suffix}`,
    source: { system: SYSTEM, document: { type: DOC, id: ID, line: String(n) } },
    businessTime: "2024-05-16T00:00:00.000Z",
    correlationId: ID,
  });
  const pc = (value: number, uom = "PC") => ({ value, uom });

  it("every command passes the canonical codec", () => expectDecodable(t));

  it("yields the commands of each mapped line", () => {
    expect(t.commands).toEqual([
      {
        kind: "adjustStock",
        ...line(1),
        causationId: "SAP_S4:4900000100/2024:1",
        position: A,
        quantity: pc(-10),
        reasonCode: "SAP-102",
        status: "available",
        documents: { po: "4500001234" },
      },
      {
        kind: "adjustStock",
        ...line(2),
        position: A,
        quantity: pc(-3, "EA"),
        reasonCode: "SAP-201",
        status: "available",
      },
      {
        kind: "shipTransfer",
        ...line(3),
        position: A,
        quantity: pc(1, "CS"),
        destination: { region: "eu", location: "DC-1010-B" },
        documents: { transferOrder: `${ID}:3` },
        status: "available",
      },
      {
        kind: "receiveTransfer",
        ...line(3, ":receive"),
        position: B,
        quantity: pc(1, "CS"),
        documents: { transferOrder: `${ID}:3` },
        status: "available",
        origin: { region: "eu", location: "DC-1010-A" },
      },
      {
        kind: "changeStatus",
        ...line(5),
        position: A,
        quantity: pc(4),
        fromStatus: "inspection",
        toStatus: "available",
        lot: "B7",
      },
      {
        kind: "changeStatus",
        ...line(6),
        position: A,
        quantity: pc(1),
        fromStatus: "blocked",
        toStatus: "available",
      },
      {
        kind: "changeStatus",
        ...line(7),
        position: A,
        quantity: pc(1),
        fromStatus: "available",
        toStatus: "blocked",
      },
      {
        kind: "changeStatus",
        ...line(8),
        position: A,
        quantity: pc(1),
        fromStatus: "blocked",
        toStatus: "inspection",
      },
      {
        kind: "changeStatus",
        ...line(9),
        position: A,
        quantity: pc(1),
        fromStatus: "inspection",
        toStatus: "blocked",
      },
      {
        kind: "changeStatus",
        ...line(10),
        position: A,
        quantity: pc(1),
        fromStatus: "available",
        toStatus: "inspection",
      },
      {
        kind: "adjustStock",
        ...line(11),
        position: A,
        quantity: pc(-2),
        reasonCode: "SAP-551",
        status: "available",
      },
      {
        kind: "confirmPick",
        ...line(12, ":pick"),
        position: A,
        quantity: pc(5),
        documents: { order: "SO-77" },
      },
      { kind: "postShipment", ...line(12), position: A, quantity: pc(5), documents: { order: "SO-77" } },
      {
        kind: "receiveReturn",
        ...line(13),
        position: A,
        quantity: pc(1),
        into: "inspection",
        documents: { rma: "RET-1" },
      },
      {
        kind: "adjustStock",
        ...line(14),
        position: A,
        quantity: pc(6),
        reasonCode: "SAP-701",
        status: "available",
      },
      {
        kind: "adjustStock",
        ...line(15),
        position: A,
        quantity: pc(-2),
        reasonCode: "SAP-702",
        status: "available",
      },
      {
        kind: "receiveGoods",
        ...line(17),
        position: A,
        quantity: pc(8),
        status: "inspection",
        documents: { po: "4500009999" },
      },
      {
        kind: "recordProductionOutput",
        ...line(18),
        position: A,
        quantity: pc(3),
        status: "available",
        documents: { productionOrder: "1000999" },
      },
      // 0.5 CS is no whole number of cases but is 6 EA exactly.
      {
        kind: "adjustStock",
        ...line(23),
        position: A,
        quantity: pc(6, "EA"),
        reasonCode: "SAP-701",
        status: "available",
      },
      { kind: "receiveGoods", ...line(26), position: A, quantity: pc(2), status: "consigned" },
      // Line 27: 0001 and 0002 of plant 2010 are both DC-2010: nothing moves.
      { kind: "receiveGoods", ...line(29), position: A, quantity: pc(1), status: "consigned" },
    ]);
  });

  it("names the field and value of every line it cannot translate", () => {
    const document = { type: DOC, id: ID };
    const at = (i: number, f: string) => `to_MaterialDocumentItem[${i}].${f}`;
    expect(t.untranslatable).toEqual([
      {
        document,
        at: at(15, "InventoryStockType"),
        value: "02",
        reason: "unrestricted stock: movement type 261 issues from available stock, not inspection",
      },
      {
        document,
        at: at(18, "GoodsMovementType"),
        value: "999",
        reason: expect.stringMatching(/^a movement type of the table \(101, 102, 122, .*, 708\)$/),
      },
      {
        document,
        at: at(19, "DebitCreditCode"),
        value: "H",
        reason: expect.stringContaining("S: movement type 101"),
      },
      {
        document,
        at: at(20, "QuantityInEntryUnit"),
        value: "12,5",
        reason: 'a decimal number as a string (e.g. "10" or "10.000"), without separators',
      },
      {
        document,
        at: at(21, "QuantityInEntryUnit"),
        value: "2.5",
        reason: "a whole number of PC or of the base unit EA (no fractions: a fraction is never rounded)",
      },
      {
        document,
        at: at(23, "InventorySpecialStockType"),
        value: "E",
        reason: "no special stock, or K (supplier consignment): other special stocks are not stockline's",
      },
      { document, at: at(24, "Batch"), reason: "a batch: SKU LOT-1 is lot-tracked" },
      {
        document,
        at: at(27, "StorageLocation"),
        value: "999X",
        reason:
          "a storage location of SAP_S4 in master data (plant/storage location: 1010/101A, 1010/101B, 2010)",
      },
    ]);
  });

  it("reads a bare array of headers and an OData V4 `value` the same way", () => {
    const header = READ_BACK.d.results[0];
    expect(translateSapMaterialDocument([header], ctx)).toEqual(t);
    expect(translateSapMaterialDocument({ value: [header] }, ctx)).toEqual(t);
  });

  it("refuses a document without items or with a bad posting date as a whole", () => {
    expect(
      translateSapMaterialDocument({ MaterialDocument: "1", PostingDate: "2024-05-15" }, ctx).untranslatable,
    ).toEqual([
      {
        document: { type: DOC, id: "1" },
        at: "to_MaterialDocumentItem",
        reason: "the document's items (an array, or {results: [...]}) with at least one item",
      },
    ]);
    const bad = translateSapMaterialDocument(
      {
        MaterialDocument: "2",
        PostingDate: "2024-02-30",
        to_MaterialDocumentItem: [item(1, { GoodsMovementType: "701" })],
      },
      ctx,
    );
    expect(bad.commands).toEqual([]);
    expect(bad.untranslatable).toMatchObject([{ at: "PostingDate", value: "2024-02-30" }]);
    expect(translateSapMaterialDocument("not a document", ctx).untranslatable).toMatchObject([{ at: "$" }]);
  });
});

describe("SAP reversal: a 101 and its 102 net to zero on the position", () => {
  it("through the decider, with the 102 naming the 101's line", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1_000_000 }),
        fc.constantFrom("01", "02", "07", "Z1"),
        fc.option(fc.constantFrom("B1", "B0002"), { nil: undefined }),
        fc.constantFrom("PC", "CS"),
        fc.integer({ min: 0, max: 1000 }),
        (n, stockType, batch, uom, before) => {
          const fields = {
            Material: "TG12",
            Plant: "1010",
            StorageLocation: "101A",
            InventoryStockType: stockType,
            QuantityInEntryUnit: `${n}.000`,
            EntryUnit: uom,
            PurchaseOrder: "4500000001",
            ...(batch ? { Batch: batch } : {}),
          };
          const gr = {
            MaterialDocument: "5000000001",
            MaterialDocumentYear: "2024",
            PostingDate: "2024-05-15T00:00:00",
            to_MaterialDocumentItem: [
              {
                MaterialDocumentItem: "0001",
                GoodsMovementType: "101",
                GoodsMovementRefDocType: "B",
                ...fields,
              },
            ],
          };
          const reversal = {
            MaterialDocument: "5000000002",
            MaterialDocumentYear: "2024",
            PostingDate: "2024-05-16T00:00:00",
            to_MaterialDocumentItem: [
              {
                MaterialDocumentItem: "0001",
                GoodsMovementType: "102",
                ReversedMaterialDocument: "5000000001",
                ReversedMaterialDocumentYear: "2024",
                ReversedMaterialDocumentItem: "0001",
                ...fields,
              },
            ],
          };
          const received = translateSapMaterialDocument(gr, ctx);
          const reversed = translateSapMaterialDocument(reversal, ctx);
          expect([...received.untranslatable, ...reversed.untranslatable]).toEqual([]);
          const [receipt] = received.commands;
          const [undo] = reversed.commands;
          expect(undo?.causationId).toBe(receipt?.idempotencyKey);
          // Some stock already there, so the reversal nets against the receipt, not against zero.
          const seeded = runPosition(
            [
              {
                kind: "receiveGoods",
                idempotencyKey: "seed",
                source: { system: "seed", document: { type: "seed", id: "seed" } },
                businessTime: "2024-01-01T00:00:00Z",
                correlationId: "seed",
                position: A,
                quantity: { value: before + 1, uom: "EA" },
              },
            ],
            MD,
          ).state;
          const after = runPosition([...received.commands, ...reversed.commands], MD, seeded).state;
          for (const b of BUCKETS) expect(onHandOf(after, b)).toBe(onHandOf(seeded, b));
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe("SAP reversal: every movement type of the table and its reversal net to zero", () => {
  // Pairs on one position (transfers move between two: their reversal is a transfer back).
  const pairs = Object.entries(SAP_MOVEMENT_TYPES).flatMap(([type, m]) =>
    m.reverses && SAP_MOVEMENT_TYPES[m.reverses]?.rule !== "transfer" ? [[m.reverses, type] as const] : [],
  );

  it("covers the reversals of the table", () => {
    expect(pairs.map(([, r]) => r).sort()).toEqual(
      [
        "102",
        "123",
        "202",
        "262",
        "322",
        "344",
        "350",
        "552",
        "554",
        "556",
        "602",
        "652",
        "654",
        "656",
      ].sort(),
    );
  });

  it("through the decider, each reversal naming the line it reverses", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...pairs),
        fc.integer({ min: 1, max: 100_000 }),
        fc.constantFrom("PC", "CS"),
        fc.option(fc.constantFrom("B1", "B2"), { nil: undefined }),
        ([type, reversal], n, uom, batch) => {
          const fields = {
            MaterialDocumentItem: "0003",
            Material: "TG12",
            Plant: "1010",
            StorageLocation: "101A",
            QuantityInEntryUnit: String(n),
            EntryUnit: uom,
            ...(batch ? { Batch: batch } : {}),
          };
          const doc = (number: string, movement: string, extra: Record<string, unknown> = {}) => ({
            MaterialDocument: number,
            MaterialDocumentYear: "2025",
            PostingDate: "2025-01-10T00:00:00",
            to_MaterialDocumentItem: [{ ...fields, GoodsMovementType: movement, ...extra }],
          });
          const original = translateSapMaterialDocument(doc("4900000001", type), ctx);
          const undo = translateSapMaterialDocument(
            doc("4900000002", reversal, {
              ReversedMaterialDocument: "4900000001",
              ReversedMaterialDocumentYear: "2025",
              ReversedMaterialDocumentItem: "3",
            }),
            ctx,
          );
          expect([...original.untranslatable, ...undo.untranslatable]).toEqual([]);
          expect(undo.commands.map((c) => c.causationId)).toEqual(["SAP_S4:4900000001/2025:3"]);
          expect(original.commands.at(-1)?.idempotencyKey).toBe("SAP_S4:4900000001/2025:3");
          const seeded = runPosition(
            ["available", "inspection", "blocked"].map((status) => ({
              kind: "receiveGoods" as const,
              idempotencyKey: `seed-${status}`,
              source: { system: "seed", document: { type: "seed", id: status } },
              businessTime: "2025-01-01T00:00:00Z",
              correlationId: "seed",
              position: A,
              quantity: { value: 2_000_000, uom: "EA" },
              status: status as "available" | "inspection" | "blocked",
            })),
            MD,
          ).state;
          const after = runPosition([...original.commands, ...undo.commands], MD, seeded).state;
          for (const b of BUCKETS) expect(onHandOf(after, b)).toBe(onHandOf(seeded, b));
        },
      ),
      { numRuns: 80 },
    );
  });
});

describe("SAP transfer reversal", () => {
  it("311 from 101A to 101B and its 312 leave both locations as they were", () => {
    const line = (movement: string, extra: Record<string, unknown> = {}) => ({
      MaterialDocumentItem: "0001",
      Material: "TG12",
      Plant: "1010",
      StorageLocation: "101A",
      IssuingOrReceivingPlant: "1010",
      IssuingOrReceivingStorageLoc: "101B",
      GoodsMovementType: movement,
      QuantityInEntryUnit: "7",
      EntryUnit: "PC",
      ...extra,
    });
    const moved = translateSapMaterialDocument(
      {
        MaterialDocument: "4900000011",
        MaterialDocumentYear: "2025",
        to_MaterialDocumentItem: [line("311")],
      },
      ctx,
    );
    const back = translateSapMaterialDocument(
      {
        MaterialDocument: "4900000012",
        MaterialDocumentYear: "2025",
        to_MaterialDocumentItem: [
          line("312", {
            ReversedMaterialDocument: "4900000011",
            ReversedMaterialDocumentYear: "2025",
            ReversedMaterialDocumentItem: "1",
          }),
        ],
      },
      ctx,
    );
    // 312 posts into the line's storage location (S): from 101B back to 101A.
    expect(back.commands.map((c) => [c.kind, c.position.location])).toEqual([
      ["shipTransfer", "DC-1010-B"],
      ["receiveTransfer", "DC-1010-A"],
    ]);
    const all = [...moved.commands, ...back.commands];
    for (const location of ["DC-1010-A", "DC-1010-B"]) {
      const here = all.filter((c) => c.position.location === location);
      const { state } = runPosition(here, MD);
      expect(onHandOf(state, "available")).toBe(0);
    }
  });
});
