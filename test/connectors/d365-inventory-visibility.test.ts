/**
 * Dynamics 365 Inventory Visibility: every sample of ../shared/samples/payloads/d365-inventory-visibility
 * translated, the expected commands written out by hand; constructed events for the rest of the
 * measure table, statuses, fractions and set-on-hand levels; a set-on-hand and a reserve/unreserve
 * run through the decider.
 */
import { describe, expect, it } from "vitest";
import {
  translateD365OnHandChange,
  translateD365SetOnHand,
} from "../../connectors/d365-inventory-visibility/d365-inventory-visibility.ts";
import {
  translateD365Reserve,
  translateD365Unreserve,
} from "../../connectors/d365-inventory-visibility/d365-reservations.ts";
import { atpOf, onHandOf } from "../../domain/position.decider.ts";
import { context, expectDecodable, masterData, readSample, runPosition } from "./erp-fixtures.ts";

const SYSTEM = "D365";
const RECEIVED = "2024-06-01T12:00:00Z";
const MD = masterData({
  locations: [
    { id: "STORE-11", region: "us", codes: { D365: { siteId: "1", locationId: "11" } } },
    { id: "STORE-21", region: "us", codes: { D365: { siteId: "2", locationId: "21" } } },
    {
      id: "IV-LOC",
      region: "us",
      codes: { D365: { siteId: "iv_postman_site", locationId: "iv_postman_location" } },
    },
  ],
  products: {
    items: [
      { sku: "TSHIRT-RED", baseUom: "EA", codes: { D365: "T-shirt/red" } },
      { sku: "TSHIRT-BLACK", baseUom: "EA", codes: { D365: "T-shirt/black" } },
      { sku: "MYPRODUCT-RED-L", baseUom: "EA", codes: { D365: "MyProduct/Red/Large" } },
      { sku: "IVP-RED-S", baseUom: "EA", codes: { D365: "iv_postman_product/red/small" } },
    ],
  },
  statuses: { D365: { Blocked: "blocked" } },
});
const ctx = context(SYSTEM, MD, RECEIVED);
const sample = (name: string) => readSample("payloads", "d365-inventory-visibility", name);
const CHANGE = "D365 on-hand change";
const RED_11 = { region: "us", location: "STORE-11", sku: "TSHIRT-RED" };
const change = (id: string, line: string, suffix = "") => ({
  idempotencyKey: `D365:usmf:${id}:${line}${suffix}`,
  source: { system: SYSTEM, document: { type: CHANGE, id, line } },
  businessTime: RECEIVED,
  correlationId: id,
});

describe("D365 on-hand change samples", () => {
  it("single (pos data source dimensions): pos.inbound 1 is a receipt at site 1 / location 11 of the red T-shirt", () => {
    const t = translateD365OnHandChange(sample("onhand_change_single.json"), ctx);
    expect(t.untranslatable).toEqual([]);
    expect(t.commands).toEqual([
      {
        kind: "receiveGoods",
        ...change("Test201", "pos.inbound"),
        position: RED_11,
        quantity: { value: 1, uom: "EA" },
        status: "available",
      },
    ]);
    expectDecodable(t);
  });

  it("base dimensions: the same receipt", () => {
    const t = translateD365OnHandChange(sample("onhand_change_base_dimensions.json"), ctx);
    expect(t.untranslatable).toEqual([]);
    expect(t.commands).toEqual([
      {
        kind: "receiveGoods",
        ...change("Test202", "pos.inbound"),
        position: RED_11,
        quantity: { value: 1, uom: "EA" },
        status: "available",
      },
    ]);
  });

  it("bulk: an unknown site (Site1) is named at [0].dimensions.SiteId; pos.outbound 3 is a pick and shipment", () => {
    const t = translateD365OnHandChange(sample("onhand_change_bulk.json"), ctx);
    expect(t.untranslatable).toEqual([
      {
        document: { type: CHANGE, id: "Test203" },
        at: "[0].dimensions.SiteId",
        value: "Site1",
        reason:
          "a site and location of D365 in master data (SiteId/LocationId: 1/11, 2/21, iv_postman_site/iv_postman_location); got Site1/11",
      },
    ]);
    const black = { region: "us", location: "STORE-11", sku: "TSHIRT-BLACK" };
    expect(t.commands).toEqual([
      {
        kind: "confirmPick",
        ...change("Test204", "pos.outbound", ":pick"),
        position: black,
        quantity: { value: 3, uom: "EA" },
      },
      {
        kind: "postShipment",
        ...change("Test204", "pos.outbound"),
        position: black,
        quantity: { value: 3, uom: "EA" },
      },
    ]);
    expectDecodable(t);
  });

  it("pos custom dimensions (PosSiteId, PosColorId, ...) map to base ones; Outbound in any case", () => {
    const t = translateD365OnHandChange(sample("onhand_change_pos_custom_dims.json"), ctx);
    expect(t.untranslatable).toEqual([]);
    const position = { region: "us", location: "STORE-21", sku: "MYPRODUCT-RED-L" };
    const c = (suffix: string) => ({
      idempotencyKey: `D365:usmf:demo-test-00007:pos.outbound${suffix}`,
      source: { system: SYSTEM, document: { type: CHANGE, id: "demo-test-00007", line: "pos.outbound" } },
      businessTime: RECEIVED,
      correlationId: "demo-test-00007",
      position,
      quantity: { value: 1, uom: "EA" },
    });
    expect(t.commands).toEqual([
      { kind: "confirmPick", ...c(":pick") },
      { kind: "postShipment", ...c("") },
    ]);
    expectDecodable(t);
  });
});

describe("D365 set on-hand", () => {
  it("sample: pos.inbound 100 is a count of 100 available as of the time received", () => {
    const t = translateD365SetOnHand(sample("setonhand_bulk.json"), ctx);
    expect(t.untranslatable).toEqual([]);
    expect(t.commands).toEqual([
      {
        kind: "recordCount",
        idempotencyKey: "D365:usmf:Test204:setonhand",
        source: { system: SYSTEM, document: { type: "D365 set on-hand", id: "Test204", line: "setonhand" } },
        businessTime: RECEIVED,
        correlationId: "Test204",
        position: RED_11,
        counted: { value: 100, uom: "EA" },
        status: "available",
      },
    ]);
    expectDecodable(t);
  });

  it("constructed: inbound less outbound as of modifiedDateTimeUTC, placed bitemporally by the decider", () => {
    const set = [
      {
        id: "set-1",
        organizationId: "usmf",
        productId: "T-shirt",
        dimensions: { SiteId: "1", LocationId: "11", ColorId: "red" },
        quantities: { pos: { inbound: 100, outbound: 30 } },
        modifiedDateTimeUTC: "2024-05-01T10:00:00Z",
      },
    ];
    const t = translateD365SetOnHand(set, ctx);
    expect(t.commands).toMatchObject([
      { kind: "recordCount", businessTime: "2024-05-01T10:00:00Z", counted: { value: 70, uom: "EA" } },
    ]);
    const receipt = translateD365OnHandChange(
      {
        ...set[0],
        id: "in-1",
        quantities: { pos: { inbound: 80 } },
        modifiedDateTimeUTC: "2024-04-01T00:00:00Z",
      },
      ctx,
    );
    const later = translateD365OnHandChange(
      {
        ...set[0],
        id: "in-2",
        quantities: { pos: { inbound: 5 } },
        modifiedDateTimeUTC: "2024-05-02T00:00:00Z",
      },
      ctx,
    );
    // The later receipt arrives first: the count as of May 1st still finds 80 there, not 85.
    const { state, events } = runPosition([...receipt.commands, ...later.commands, ...t.commands], MD);
    expect(events.find((e) => e.type === "CountRecorded")).toMatchObject({ quantity: -10, balanceAsOf: 80 });
    expect(onHandOf(state, "available")).toBe(75);
  });

  it("refuses a level below zero and a measure outside the table", () => {
    const t = translateD365SetOnHand(
      [
        {
          id: "set-2",
          organizationId: "usmf",
          productId: "T-shirt",
          dimensions: { SiteId: "1", LocationId: "11", ColorId: "red" },
          quantities: { pos: { outbound: 3 } },
        },
        {
          id: "set-3",
          organizationId: "usmf",
          productId: "T-shirt",
          dimensions: { SiteId: "1", LocationId: "11", ColorId: "red" },
          quantities: { iv: { onhand: 3 } },
        },
      ],
      ctx,
    );
    expect(t.commands).toEqual([]);
    expect(t.untranslatable).toEqual([
      {
        document: { type: "D365 set on-hand", id: "set-2" },
        at: "[0].quantities",
        value: { pos: { outbound: 3 } },
        reason: "levels whose on hand (inbound less outbound) is at least 0",
      },
      {
        document: { type: "D365 set on-hand", id: "set-3" },
        at: "[1].quantities.iv.onhand",
        value: 3,
        reason: "a measure of the table (fno.availphysical, fno.arrived, pos.inbound, pos.outbound)",
      },
    ]);
  });
});

describe("D365 on-hand changes (constructed): the measure table, statuses, lots, fractions", () => {
  const event = (id: string, quantities: unknown, dims: Record<string, string> = {}) => ({
    id,
    organizationId: "usmf",
    productId: "T-shirt",
    dimensions: { SiteId: "1", LocationId: "11", ColorId: "red", ...dims },
    quantities,
  });
  const t = translateD365OnHandChange(
    [
      event("c1", { fno: { availPhysical: -2 } }, { InventStatusId: "Blocked", BatchId: "L7" }),
      event("c2", { pos: { inbound: -1, outbound: 0 } }),
      event("c3", { pos: { outbound: 2 } }, { InventStatusId: "Blocked" }),
      event("c4", { fno: { arrived: 4 } }, { BatchId: "L8" }),
      event("c5", { pos: { inbound: 1.5 } }),
      event("c6", { iv: { foo: 1 }, pos: { inbound: 1 } }),
      event("c7", { pos: { inbound: "2" } }),
      event("c8", { pos: { inbound: 1 } }, { InventStatusId: "Quarantine" }),
      { ...event("c9", { pos: { inbound: 1 } }), productId: "Socks" },
    ],
    ctx,
  );
  const at = (id: string) => ({
    source: { system: SYSTEM, document: { type: CHANGE, id, line: "" } },
    correlationId: id,
  });

  it("every command passes the canonical codec", () => expectDecodable(t));

  it("yields adjustments against a measure's way, shipments only from available, receipts with the batch", () => {
    expect(
      t.commands.map((c) => ({
        ...c,
        source: { ...c.source, document: { ...c.source.document, line: "" } },
      })),
    ).toEqual([
      {
        kind: "adjustStock",
        ...at("c1"),
        idempotencyKey: "D365:usmf:c1:fno.availphysical",
        businessTime: RECEIVED,
        position: RED_11,
        quantity: { value: -2, uom: "EA" },
        reasonCode: "D365-fno.availphysical",
        status: "blocked",
      },
      {
        kind: "adjustStock",
        ...at("c2"),
        idempotencyKey: "D365:usmf:c2:pos.inbound",
        businessTime: RECEIVED,
        position: RED_11,
        quantity: { value: -1, uom: "EA" },
        reasonCode: "D365-pos.inbound",
        status: "available",
      },
      {
        kind: "adjustStock",
        ...at("c3"),
        idempotencyKey: "D365:usmf:c3:pos.outbound",
        businessTime: RECEIVED,
        position: RED_11,
        quantity: { value: -2, uom: "EA" },
        reasonCode: "D365-pos.outbound",
        status: "blocked",
      },
      {
        kind: "receiveGoods",
        ...at("c4"),
        idempotencyKey: "D365:usmf:c4:fno.arrived",
        businessTime: RECEIVED,
        position: RED_11,
        quantity: { value: 4, uom: "EA" },
        status: "available",
        lot: "L8",
      },
    ]);
  });

  it("names each part it cannot translate", () => {
    const doc = (id: string) => ({ type: CHANGE, id });
    expect(t.untranslatable).toEqual([
      {
        document: doc("c5"),
        at: "[4].quantities.pos.inbound",
        value: 1.5,
        reason: "a whole number of EA (no fractions: a fraction is never rounded)",
      },
      {
        document: doc("c6"),
        at: "[5].quantities.iv.foo",
        value: 1,
        reason: "a measure of the table (fno.availphysical, fno.arrived, pos.inbound, pos.outbound)",
      },
      { document: doc("c7"), at: "[6].quantities.pos.inbound", value: "2", reason: "a number" },
      {
        document: doc("c8"),
        at: "[7].dimensions.InventStatusId",
        value: "Quarantine",
        reason: "an inventory status of D365 in master data (statuses.D365) or a canonical status",
      },
      {
        document: doc("c9"),
        at: "[8].productId",
        value: "Socks",
        reason: "a product of D365 in master data: Socks/red",
      },
    ]);
  });
});

describe("D365 reservations", () => {
  const IV = { region: "us", location: "IV-LOC", sku: "IVP-RED-S" };
  const reserveDoc = { type: "D365 reservation", id: "reserve-0", line: "reserve" };

  it("reserve with the service's response: placeReservation under the id D365 assigned", () => {
    const t = translateD365Reserve(sample("reserve.json"), ctx, {
      response: sample("reserve.response.json"),
    });
    expect(t.untranslatable).toEqual([]);
    expect(t.commands).toEqual([
      {
        kind: "placeReservation",
        idempotencyKey: "D365:SCM_IV:reserve-0:reserve",
        source: { system: SYSTEM, document: reserveDoc },
        businessTime: RECEIVED,
        correlationId: "reserve-0",
        position: IV,
        quantity: { value: 1, uom: "EA" },
        reservationId: "RESERVATION_ID",
        channel: "D365",
      },
    ]);
    expectDecodable(t);
    // Without the response, the request's id names it.
    expect(translateD365Reserve(sample("reserve.json"), ctx).commands).toMatchObject([
      { reservationId: "reserve-0" },
    ]);
  });

  it("refuses a reserve D365 did not accept and a negative (partial take-back) quantity", () => {
    const reserve = sample("reserve.json") as Record<string, unknown>;
    const t = translateD365Reserve({ ...reserve, quantity: -1 }, ctx, {
      response: { processingStatus: "failed" },
    });
    expect(t.commands).toEqual([]);
    expect(t.untranslatable.map((p) => [p.at, p.value])).toEqual([
      ["response.processingStatus", "failed"],
      ["quantity", -1],
    ]);
  });

  it("unreserve sample: no productId (no position) and an OffsetQty, each named", () => {
    const t = translateD365Unreserve(sample("unreserve.json"), ctx);
    expect(t.commands).toEqual([]);
    const document = { type: "D365 reservation", id: "unreserve-0" };
    expect(t.untranslatable).toEqual([
      {
        document,
        at: "productId",
        reason:
          "a productId: a stockline reservation belongs to one SKU-location, which an unreserve without the product does not name",
      },
      {
        document,
        at: "OffsetQty",
        value: 1,
        reason:
          "no OffsetQty: stockline releases a reservation whole and cannot tell whether this is all of it (option unreserveReleasesWhole)",
      },
    ]);
  });

  it("reserve then unreserve (constructed with the product) through the decider: ATP back where it was", () => {
    const unreserve = {
      ...(sample("unreserve.json") as Record<string, unknown>),
      productId: "iv_postman_product",
    };
    const released = translateD365Unreserve(unreserve, ctx, { unreserveReleasesWhole: true });
    expect(released.untranslatable).toEqual([]);
    expect(released.commands).toEqual([
      {
        kind: "releaseReservation",
        idempotencyKey: "D365:SCM_IV:unreserve-0:unreserve",
        source: {
          system: SYSTEM,
          document: { type: "D365 reservation", id: "unreserve-0", line: "unreserve" },
        },
        businessTime: RECEIVED,
        correlationId: "unreserve-0",
        position: IV,
        reservationId: "RESERVATION_ID",
      },
    ]);
    expectDecodable(released);
    const stock = translateD365OnHandChange(
      {
        id: "stock-1",
        organizationId: "SCM_IV",
        productId: "iv_postman_product",
        dimensions: {
          siteId: "iv_postman_site",
          locationId: "iv_postman_location",
          colorId: "red",
          sizeId: "small",
        },
        quantities: { fno: { availphysical: 5 } },
      },
      ctx,
    );
    const reserved = translateD365Reserve(sample("reserve.json"), ctx, {
      response: sample("reserve.response.json"),
    });
    const before = runPosition(stock.commands, MD).state;
    const during = runPosition(reserved.commands, MD, before).state;
    expect(atpOf(during).atp).toBe(atpOf(before).atp - 1);
    const after = runPosition(released.commands, MD, during).state;
    expect(atpOf(after).atp).toBe(atpOf(before).atp);
    expect(atpOf(before).atp).toBe(5);
  });
});
