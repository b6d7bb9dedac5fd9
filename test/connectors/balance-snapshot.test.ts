/**
 * Balance snapshots of a legacy ERP (constructed here: the samples hold no balance export): CSV and
 * JSON rows become counts as of the snapshot's time, lots summed, units converted, each unreadable
 * cell named by row and column; `complete` zeroes what a location's snapshot leaves out; a count
 * placed bitemporally by the decider corrects only the difference as of its time.
 */
import { describe, expect, it } from "vitest";
import {
  translateBalanceSnapshotCsv,
  translateBalanceSnapshotJson,
} from "../../connectors/balance-snapshot/balance-snapshot.ts";
import { onHandOf } from "../../domain/position.decider.ts";
import { context, expectDecodable, masterData, runPosition } from "./erp-fixtures.ts";

const SYSTEM = "LEGACY";
const MD = masterData({
  locations: [
    { id: "W1", region: "eu", codes: { LEGACY: { location: "WH-01" } } },
    { id: "W2", region: "eu", codes: { LEGACY: { location: "WH-02" } } },
  ],
  products: {
    items: [
      { sku: "A-100", baseUom: "EA", codes: { LEGACY: "100" } },
      {
        sku: "B-200",
        baseUom: "EA",
        conversions: [{ uom: "CS", quantity: 6, of: "EA" }],
        codes: { LEGACY: "200" },
      },
      { sku: "C-300", baseUom: "EA", codes: { LEGACY: "300" } },
    ],
  },
  statuses: { LEGACY: { QC: "inspection", DMG: "blocked" } },
});
const ctx = context(SYSTEM, MD, "2024-06-01T06:00:00Z");
const DOC = "balance snapshot";
const AS_OF = "2024-05-31T23:00:00Z";
const count = (
  id: string,
  location: string,
  sku: string,
  status: string,
  counted: { value: number; uom: string },
  line: string,
  asOf = AS_OF,
) => ({
  kind: "recordCount",
  idempotencyKey: `LEGACY:${id}:${location}:${sku}:${status}@${asOf}`,
  source: { system: SYSTEM, document: { type: DOC, id, line } },
  businessTime: asOf,
  correlationId: id,
  position: { region: "eu", location, sku },
  counted,
  status,
});

// Rows are numbered as a spreadsheet shows them: the header is row 1.
const CSV = [
  "item,location,on_hand,status,lot,uom,as_of",
  `100,WH-01,12,,,,${AS_OF}`,
  `200,WH-01,2,,L1,CS,${AS_OF}`,
  `200,WH-01,5,,L2,EA,${AS_OF}`,
  `200,WH-01,3,QC,,,${AS_OF}`,
  `100,WH-02,"12,5",,,,${AS_OF}`,
  `999,WH-01,1,,,,${AS_OF}`,
  `100,WH-09,1,,,,${AS_OF}`,
  `200,WH-02,4,,L1,,${AS_OF}`,
  `200,WH-02,x,,L2,,${AS_OF}`,
  `300,WH-02,1,,L3,,${AS_OF}`,
  `300,WH-02,2,,L3,,${AS_OF}`,
  `300,WH-01,-1,,,,${AS_OF}`,
  `300,WH-01,1,HOLD,,,2024-05-31`,
  "",
].join("\n");

describe("balance snapshot (CSV)", () => {
  const id = "snap-2024-05-31.csv";
  const t = translateBalanceSnapshotCsv(CSV, ctx, { documentId: id });

  it("counts per item, location and status as of the row's time, lots summed in the base unit", () => {
    expect(t.commands).toEqual([
      count(id, "W1", "A-100", "available", { value: 12, uom: "EA" }, "2"),
      // 2 CS + 5 EA of two lots.
      count(id, "W1", "B-200", "available", { value: 17, uom: "EA" }, "3"),
      count(id, "W1", "B-200", "inspection", { value: 3, uom: "EA" }, "5"),
    ]);
    expectDecodable(t);
  });

  it("names row and column of every cell it cannot read, and the rows left uncounted because of them", () => {
    const document = { type: DOC, id };
    expect(t.untranslatable).toEqual([
      {
        document,
        at: "row 6, column on_hand",
        value: "12,5",
        reason: "an on-hand quantity: digits, with '.' for decimals (no thousands separators)",
      },
      { document, at: "row 7, column item", value: "999", reason: "an item of LEGACY in master data" },
      {
        document,
        at: "row 8, column location",
        value: "WH-09",
        reason: "a location of LEGACY in master data",
      },
      {
        document,
        at: "row 10, column on_hand",
        value: "x",
        reason: "an on-hand quantity: digits, with '.' for decimals (no thousands separators)",
      },
      { document, at: "row 13, column on_hand", value: "-1", reason: "an on-hand level of at least 0" },
      {
        document,
        at: "row 14, column status",
        value: "HOLD",
        reason: "a status of LEGACY in master data (statuses.LEGACY) or a canonical status",
      },
      {
        document,
        at: "row 9",
        reason: "not counted: row 10 of the same item, location and status cannot be read",
      },
      {
        document,
        at: "row 12, column lot",
        value: "L3",
        reason: "one row per item, location, status and lot: row 11 gives the same",
      },
      {
        document,
        at: "row 11",
        reason: "not counted: a row of the same item, location and status cannot be read",
      },
      {
        document,
        at: "row 12",
        reason: "not counted: a row of the same item, location and status cannot be read",
      },
    ]);
  });

  it("the same file again gives the same keys; without a name its content is its id", () => {
    expect(translateBalanceSnapshotCsv(CSV, ctx, { documentId: id })).toEqual(t);
    const anonymous = translateBalanceSnapshotCsv(CSV, ctx);
    expect(anonymous.commands[0]?.source.document.id).toMatch(/^sha256:[0-9a-f]{32}$/);
    expect(translateBalanceSnapshotCsv(CSV, ctx)).toEqual(anonymous);
  });

  it("complete: items of the catalogue absent at a named location are counted 0 there", () => {
    const csv = "sku;warehouse;qty\n100;WH-01;12\n";
    const complete = translateBalanceSnapshotCsv(csv, ctx, {
      documentId: "full",
      asOf: AS_OF,
      complete: true,
      delimiter: ";",
      columns: { item: "sku", location: "warehouse", onHand: "qty" },
    });
    expect(complete.untranslatable).toEqual([]);
    expect(complete.commands).toEqual([
      count("full", "W1", "A-100", "available", { value: 12, uom: "EA" }, "2"),
      count("full", "W1", "B-200", "available", { value: 0, uom: "EA" }, "absent"),
      count("full", "W1", "C-300", "available", { value: 0, uom: "EA" }, "absent"),
    ]);
    expectDecodable(complete);
    // Not complete (the default): what is absent is unknown, not zero.
    const partial = translateBalanceSnapshotCsv(csv, ctx, {
      documentId: "full",
      asOf: AS_OF,
      delimiter: ";",
      columns: { item: "sku", location: "warehouse", onHand: "qty" },
    });
    expect(partial.commands).toEqual([
      count("full", "W1", "A-100", "available", { value: 12, uom: "EA" }, "2"),
    ]);
  });

  it("refuses a file without the required columns, or one that is not CSV, as a whole", () => {
    expect(translateBalanceSnapshotCsv("item,location,qty\n100,WH-01,1\n", ctx, { documentId: "f" })).toEqual(
      {
        commands: [],
        untranslatable: [
          {
            document: { type: DOC, id: "f" },
            at: "row 1",
            value: "item,location,qty",
            reason: "a header row with the columns item, location, on_hand (missing: on_hand)",
          },
        ],
      },
    );
    const broken = translateBalanceSnapshotCsv('item,location,on_hand\n100,"WH-01,1\n', ctx, {
      documentId: "g",
    });
    expect(broken.commands).toEqual([]);
    expect(broken.untranslatable).toMatchObject([
      { at: "row 2", reason: expect.stringContaining("readable CSV") },
    ]);
  });
});

describe("balance snapshot (JSON)", () => {
  it("rows by location id or code, the snapshot's asOf, fractions refused", () => {
    const t = translateBalanceSnapshotJson(
      {
        snapshotId: "SNAP-7",
        asOf: "2024-06-01",
        rows: [
          { item: "100", location: "W1", onHand: 4 },
          { item: "200", location: "WH-02", onHand: "1.5" },
          { item: "200", location: "WH-01", onHand: "0.5", uom: "CS" },
        ],
      },
      ctx,
    );
    expect(t.commands).toEqual([
      count("SNAP-7", "W1", "A-100", "available", { value: 4, uom: "EA" }, "0", "2024-06-01T00:00:00Z"),
      count("SNAP-7", "W1", "B-200", "available", { value: 3, uom: "EA" }, "2", "2024-06-01T00:00:00Z"),
    ]);
    expect(t.untranslatable).toEqual([
      {
        document: { type: DOC, id: "SNAP-7" },
        at: "rows[1].onHand",
        value: "1.5",
        reason: "a whole number of EA (no fractions: a fraction is never rounded)",
      },
    ]);
    expectDecodable(t);
  });
});

describe("a snapshot through the decider", () => {
  it("records only the difference as of the snapshot's time; later movements stay on top", () => {
    const receipt = (key: string, at: string, value: number) => ({
      kind: "receiveGoods" as const,
      idempotencyKey: key,
      source: { system: "WMS", document: { type: "receipt", id: key } },
      businessTime: at,
      correlationId: key,
      position: { region: "eu", location: "W1", sku: "A-100" },
      quantity: { value, uom: "EA" },
    });
    const snapshot = translateBalanceSnapshotCsv(`item,location,on_hand\n100,WH-01,12\n`, ctx, {
      documentId: "s",
      asOf: AS_OF,
    });
    const { state, events } = runPosition(
      [
        receipt("r1", "2024-05-01T00:00:00Z", 10),
        receipt("r2", "2024-06-01T10:00:00Z", 5),
        ...snapshot.commands,
      ],
      MD,
    );
    // As of the snapshot the ledger said 10, the ERP 12: +2, and the receipt after it still counts.
    expect(events.find((e) => e.type === "CountRecorded")).toMatchObject({
      quantity: 2,
      balanceAsOf: 10,
      counted: 12,
    });
    expect(onHandOf(state, "available")).toBe(17);
  });
});
