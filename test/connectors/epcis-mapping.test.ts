/**
 * The bizStep x disposition table of connectors/epcis/README.md on constructed events, and the items:
 * units, fractions, EPCs that are not trade items, serial chunks.
 */
import { describe, expect, it } from "vitest";
import {
  AMS,
  at,
  COFFEE_LOT,
  COFFEE_LOT2,
  doc,
  event,
  masterData,
  masterDataInput,
  run,
  SYSTEM,
  US,
  WIDGET,
} from "./epcis-fixture.ts";

describe("EPCIS: bizStep x disposition (README table)", () => {
  const q = (quantity: number, uom = "KGM", epcClass = COFFEE_LOT) => ({
    quantityList: [{ epcClass, quantity, uom }],
  });

  it("picking -> confirmPick with the po as the customer's order; shipping to an outside party -> postShipment", () => {
    const bt = { bizTransactionList: [{ type: "po", bizTransaction: "urn:po:7" }] };
    const r = run(
      doc(
        event("urn:test:p", { bizStep: "picking", ...q(2), ...bt }),
        event("urn:test:s", { bizStep: "shipping", disposition: "in_transit", ...q(2), ...bt }),
      ),
    );
    expect(r.commands).toEqual([
      {
        kind: "confirmPick",
        quantity: { value: 2, uom: "KGM" },
        lot: "998877",
        documents: { order: "urn:po:7" },
        ...at("urn:test:p", "quantityList.0"),
      },
      {
        kind: "postShipment",
        quantity: { value: 2, uom: "KGM" },
        lot: "998877",
        documents: { order: "urn:po:7" },
        ...at("urn:test:s", "quantityList.0"),
      },
    ]);
  });

  it("shipping to our own location is a transfer, paired by its desadv; without one it is untranslatable", () => {
    const to = { destinationList: [{ type: "location", destination: US }] };
    const desadv = { bizTransactionList: [{ type: "desadv", bizTransaction: "urn:desadv:9" }] };
    const r = run(
      doc(
        event("urn:test:t", { bizStep: "shipping", ...q(5), ...to, ...desadv }),
        event("urn:test:t2", { bizStep: "departing", ...q(5), ...to }),
      ),
    );
    expect(r.commands).toEqual([
      {
        kind: "shipTransfer",
        quantity: { value: 5, uom: "KGM" },
        lot: "998877",
        destination: { region: "us", location: "DC-US" },
        documents: { asn: "urn:desadv:9", transferOrder: "urn:desadv:9" },
        ...at("urn:test:t", "quantityList.0"),
      },
    ]);
    expect(r.untranslatable).toEqual([
      expect.objectContaining({
        document: { type: "EPCIS ObjectEvent", id: "urn:test:t2" },
        at: "$.epcisBody.eventList[1].bizTransactionList",
      }),
    ]);
    // The receiving end: from our location DC-AMS into DC-US
    const recv = event("urn:test:r", {
      bizLocation: { id: US },
      bizStep: "receiving",
      disposition: "sellable_accessible",
      sourceList: [{ type: "location", source: AMS.id }],
      ...q(5),
      ...desadv,
    });
    expect(run(doc(recv)).commands).toEqual([
      {
        kind: "receiveTransfer",
        quantity: { value: 5, uom: "KGM" },
        status: "available",
        lot: "998877",
        origin: { region: "eu", location: "DC-AMS" },
        documents: { asn: "urn:desadv:9", transferOrder: "urn:desadv:9" },
        ...at("urn:test:r", "quantityList.0", "COFFEE", "DC-US", "us"),
      },
    ]);
  });

  it("receiving with disposition returned -> receiveReturn into inspection, with the rma; damaged -> receiveGoods blocked", () => {
    const r = run(
      doc(
        event("urn:test:ret", {
          bizStep: "receiving",
          disposition: "returned",
          ...q(1),
          bizTransactionList: [{ type: "rma", bizTransaction: "urn:rma:1" }],
        }),
        event("urn:test:dmg", { bizStep: "accepting", disposition: "damaged", ...q(1) }),
      ),
    );
    expect(r.commands).toEqual([
      {
        kind: "receiveReturn",
        quantity: { value: 1, uom: "KGM" },
        into: "inspection",
        lot: "998877",
        documents: { rma: "urn:rma:1" },
        ...at("urn:test:ret", "quantityList.0"),
      },
      {
        kind: "receiveGoods",
        quantity: { value: 1, uom: "KGM" },
        status: "blocked",
        lot: "998877",
        ...at("urn:test:dmg", "quantityList.0"),
      },
    ]);
  });

  it("inspecting with a verdict, holding damaged: status changes", () => {
    const r = run(
      doc(
        event("urn:test:pass", {
          bizStep: "inspecting",
          disposition: "sellable_accessible",
          epcList: [WIDGET("1")],
        }),
        event("urn:test:fail", {
          bizStep: "inspecting",
          disposition: "non_conformant",
          epcList: [WIDGET("2")],
        }),
        event("urn:test:hold", { bizStep: "holding", disposition: "damaged", epcList: [WIDGET("3")] }),
      ),
    );
    expect(
      r.commands.map((c) => (c.kind === "changeStatus" ? [c.fromStatus, c.toStatus, c.serials] : c.kind)),
    ).toEqual([
      ["inspection", "available", ["1"]],
      ["inspection", "blocked", ["2"]],
      ["available", "blocked", ["3"]],
    ]);
  });

  it("a source's own disposition maps through its status vocabulary in master data", () => {
    const md = masterData({
      ...masterDataInput,
      statuses: { [SYSTEM]: { "urn:acme:disp:qa_hold": "inspection" } },
    });
    const r = run(
      doc(
        event("urn:test:qa", { bizStep: "receiving", disposition: "urn:acme:disp:qa_hold", ...q(1) }),
        event("urn:test:x", { bizStep: "receiving", disposition: "urn:acme:disp:other", ...q(1) }),
      ),
      md,
    );
    expect(r.commands.map((c) => (c.kind === "receiveGoods" ? c.status : c.kind))).toEqual(["inspection"]);
    expect(r.untranslatable).toEqual([
      expect.objectContaining({
        document: { type: "EPCIS ObjectEvent", id: "urn:test:x" },
        at: "$.epcisBody.eventList[1].disposition",
        value: "urn:acme:disp:other",
      }),
    ]);
  });

  it("cycle_counting -> one recordCount per SKU, lots summed in the base unit (0 allowed)", () => {
    const r = run(
      doc(
        event("urn:test:count", {
          bizStep: "cycle_counting",
          quantityList: [
            { epcClass: COFFEE_LOT, quantity: 2, uom: "KGM" },
            { epcClass: COFFEE_LOT2, quantity: 500, uom: "GRM" },
            { epcClass: "urn:epc:idpat:sgtin:4012345.066666.*", quantity: 0 },
          ],
        }),
      ),
    );
    expect(r.commands).toEqual([
      {
        kind: "recordCount",
        counted: { value: 2500, uom: "GRM" },
        status: "available",
        ...at("urn:test:count", "quantityList.0"),
      },
      {
        kind: "recordCount",
        counted: { value: 0, uom: "EA" },
        status: "available",
        ...at("urn:test:count", "quantityList.2", "CAPS"),
      },
    ]);
  });

  it("DELETE, destroying and void_shipping -> adjustStock with the step as reason", () => {
    const r = run(
      doc(
        event("urn:test:del", {
          action: "DELETE",
          bizStep: "decommissioning",
          epcList: [WIDGET("1"), WIDGET("2")],
        }),
        event("urn:test:des", { bizStep: "destroying", disposition: "destroyed", ...q(1) }),
        event("urn:test:void", { bizStep: "void_shipping", ...q(1) }),
      ),
    );
    expect(r.commands.map((c) => (c.kind === "adjustStock" ? [c.quantity, c.reasonCode] : c.kind))).toEqual([
      [{ value: -2, uom: "EA" }, "epcis:decommissioning"],
      [{ value: -1, uom: "KGM" }, "epcis:destroying"],
      [{ value: 1, uom: "KGM" }, "epcis:void_shipping"],
    ]);
  });

  it("a step that moves nothing between positions (storing) or no bizStep: untranslatable at bizStep", () => {
    const r = run(
      doc(event("urn:test:st", { bizStep: "storing", ...q(1) }), event("urn:test:none", { ...q(1) })),
    );
    expect(r.commands).toEqual([]);
    expect(r.untranslatable.map((u) => [u.document.id, u.at, u.value])).toEqual([
      ["urn:test:st", "$.epcisBody.eventList[0].bizStep", "storing"],
      ["urn:test:none", "$.epcisBody.eventList[1].bizStep", undefined],
    ]);
  });

  it("full CBV URIs read as the bare words", () => {
    const r = run(
      doc(
        event("urn:test:uri", {
          bizStep: "https://ref.gs1.org/cbv/BizStep-receiving",
          disposition: "https://ref.gs1.org/cbv/Disp-damaged",
          ...q(1),
        }),
      ),
    );
    expect(r.commands.map((c) => (c.kind === "receiveGoods" ? c.status : c.kind))).toEqual(["blocked"]);
  });
});

describe("EPCIS: items, units and quantities", () => {
  it("a fraction of a unit becomes a whole number of the base unit, else it is untranslatable (never rounded)", () => {
    const r = run(
      doc(
        event("urn:test:frac", {
          bizStep: "receiving",
          quantityList: [
            { epcClass: COFFEE_LOT, quantity: 12.5, uom: "KGM" },
            { epcClass: COFFEE_LOT, quantity: 0.0005, uom: "KGM" },
            { epcClass: COFFEE_LOT, quantity: 1, uom: "LTR" },
            { epcClass: "urn:epc:class:lgtin:9999999.099999.X", quantity: 1 },
          ],
        }),
      ),
    );
    expect(r.commands).toEqual([
      {
        kind: "receiveGoods",
        quantity: { value: 12500, uom: "GRM" },
        status: "available",
        lot: "998877",
        ...at("urn:test:frac", "quantityList.0"),
      },
    ]);
    expect(r.untranslatable.map((u) => [u.at, u.value])).toEqual([
      ["$.epcisBody.eventList[0].quantityList[1].quantity", 0.0005],
      ["$.epcisBody.eventList[0].quantityList[2].uom", "LTR"],
      ["$.epcisBody.eventList[0].quantityList[3].epcClass", "urn:epc:class:lgtin:9999999.099999.X"],
    ]);
    expect(r.untranslatable[0]?.reason).toContain("never rounded");
    expect(r.untranslatable[1]?.reason).toBe("a unit of SKU COFFEE (GRM, KGM)");
    expect(r.untranslatable[2]?.reason).toContain("GTIN 09999999999994");
  });

  it("EPCs that are not trade items (an SSCC) are untranslatable one by one; the SGTINs are counted with their serials", () => {
    const r = run(
      doc(
        event("urn:test:mix", {
          bizStep: "receiving",
          epcList: [WIDGET("1"), "urn:epc:id:sscc:0614141.1234567890", WIDGET("2")],
        }),
      ),
    );
    expect(r.commands).toEqual([
      {
        kind: "receiveGoods",
        quantity: { value: 2, uom: "EA" },
        status: "available",
        serials: ["1", "2"],
        ...at("urn:test:mix", "epcList.0.0", "WIDGET"),
      },
    ]);
    expect(r.untranslatable).toEqual([
      expect.objectContaining({
        at: "$.epcisBody.eventList[0].epcList[1]",
        value: "urn:epc:id:sscc:0614141.1234567890",
      }),
    ]);
  });

  it("more than 250 serials of one GTIN and lot are split into commands of at most 250", () => {
    const epcs = Array.from({ length: 251 }, (_, i) => WIDGET(String(i)));
    const r = run(doc(event("urn:test:many", { bizStep: "receiving", epcList: epcs })));
    expect(r.commands.map((c) => [c.source.document.line, "quantity" in c ? c.quantity : undefined])).toEqual(
      [
        ["epcList.0.0", { value: 250, uom: "EA" }],
        ["epcList.0.1", { value: 1, uom: "EA" }],
      ],
    );
  });
});
