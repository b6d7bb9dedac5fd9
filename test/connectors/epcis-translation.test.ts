/**
 * translateEpcis on documents constructed here (the samples lack them): schema violations named by
 * eventID and JSON path, unknown GLNs, the bizStep x disposition table, units and fractions, EPCs
 * that are not trade items, error declarations, events without eventID.
 */
import { describe, expect, it } from "vitest";
import { translateEpcis } from "../../connectors/epcis/translate-epcis.ts";
import {
  ctx,
  envelope,
  expectDecodable,
  masterData,
  masterDataInput,
  SYSTEM,
  sample,
} from "./epcis-fixture.ts";

const CONTEXT = ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"];
const T = "2026-12-01T10:00:00Z";
const COFFEE_LOT = "urn:epc:class:lgtin:4012345.012345.998877"; // GTIN 04012345123456 -> COFFEE (base GRM, 1 KGM = 1000 GRM)
const COFFEE_LOT2 = "urn:epc:class:lgtin:4012345.012345.L2";
const WIDGET = (serial: string) => `urn:epc:id:sgtin:0614141.107346.${serial}`; // -> WIDGET (EA)
const AMS = { id: "urn:epc:id:sgln:0614141.00888.0" }; // DC-AMS
const US = "urn:epc:id:sgln:0614141.00777.0"; // DC-US, another of our locations

const event = (id: string, fields: Record<string, unknown>) => ({
  eventID: id,
  type: "ObjectEvent",
  eventTime: T,
  eventTimeZoneOffset: "+00:00",
  action: "OBSERVE",
  bizLocation: AMS,
  ...fields,
});
const doc = (...events: unknown[]) => ({
  "@context": CONTEXT,
  type: "EPCISDocument",
  schemaVersion: "2.0",
  creationDate: T,
  epcisBody: { eventList: events },
});
const run = (d: unknown, md = masterData()) => {
  const r = translateEpcis(d, ctx(md));
  expectDecodable(r.commands);
  return r;
};
const at = (id: string, line: string, sku = "COFFEE", location = "DC-AMS", region = "eu") =>
  envelope(id, "ObjectEvent", line, T, { sku, location, region });

describe("EPCIS: schema violations are named by eventID and JSON path", () => {
  it("a quantity that is not a number and a missing eventTime: that event is untranslatable, the next one translated", () => {
    const bad = event("urn:test:e-bad", {
      bizStep: "receiving",
      quantityList: [{ epcClass: COFFEE_LOT, quantity: "12", uom: "KGM" }],
    });
    delete (bad as Record<string, unknown>).eventTime;
    const good = event("urn:test:e-good", {
      bizStep: "receiving",
      quantityList: [{ epcClass: COFFEE_LOT, quantity: 3, uom: "KGM" }],
    });
    const r = run(doc(bad, good));
    expect(r.untranslatable).toEqual([
      {
        document: { type: "EPCIS ObjectEvent", id: "urn:test:e-bad" },
        at: "$.epcisBody.eventList[0]",
        reason: "valid EPCIS 2.0 (GS1 EPCIS JSON Schema): must have the member eventTime",
      },
      {
        document: { type: "EPCIS ObjectEvent", id: "urn:test:e-bad" },
        at: "$.epcisBody.eventList[0].quantityList[0].quantity",
        reason: "valid EPCIS 2.0 (GS1 EPCIS JSON Schema): must be number",
      },
    ]);
    expect(r.commands.map((c) => c.idempotencyKey)).toEqual([`${SYSTEM}:urn:test:e-good:quantityList.0`]);
  });

  it("an unknown action and a lowercase uom are named at their paths", () => {
    const r = run(
      doc(
        event("urn:test:e1", {
          action: "MOVE",
          bizStep: "receiving",
          quantityList: [{ epcClass: COFFEE_LOT, quantity: 1, uom: "kg" }],
        }),
      ),
    );
    expect(r.commands).toEqual([]);
    expect(r.untranslatable.map((u) => [u.document.id, u.at])).toEqual([
      ["urn:test:e1", "$.epcisBody.eventList[0].quantityList[0].uom"],
      ["urn:test:e1", "$.epcisBody.eventList[0].action"],
    ]);
    expect(r.untranslatable[1]?.reason).toContain('"OBSERVE", "ADD", "DELETE"');
  });

  it("an ObjectEvent naming no objects at all says which members would do", () => {
    const e = event("urn:test:e1", { bizStep: "receiving" });
    const r = run(doc(e));
    expect(r.untranslatable).toHaveLength(1);
    expect(r.untranslatable[0]).toMatchObject({
      at: "$.epcisBody.eventList[0]",
      document: { id: "urn:test:e1" },
    });
    expect(r.untranslatable[0]?.reason).toMatch(/epcList.*quantityList/);
  });

  it("a violation outside the events makes the document untranslatable; so does a document that is not JSON", () => {
    const d = { ...doc(), epcisBody: { eventList: "none" } };
    expect(run(d).untranslatable).toEqual([
      { document: { type: "EPCIS EPCISDocument" }, at: "$.epcisBody.eventList", reason: "must be array" },
    ]);
    const r = run("{ not json");
    expect(r.commands).toEqual([]);
    expect(r.untranslatable[0]).toMatchObject({ document: { type: "EPCIS" }, at: "$" });
    expect(r.untranslatable[0]?.reason).toContain("JSON");
    expect(run({ type: "Invoice" }).untranslatable).toEqual([
      {
        document: { type: "EPCIS Invoice" },
        at: "$.type",
        value: "Invoice",
        reason: "an EPCISDocument, an EPCISQueryDocument or an EPCIS 2.0 event",
      },
    ]);
  });

  it("a single event needs its @context (the schema says so) and is translated at path $", () => {
    const e = event("urn:test:single", {
      bizStep: "receiving",
      quantityList: [{ epcClass: COFFEE_LOT, quantity: 1, uom: "KGM" }],
    });
    expect(run(e).untranslatable.map((u) => u.at)).toEqual(["$"]);
    const r = run({ "@context": CONTEXT, ...e });
    expect(r.untranslatable).toEqual([]);
    expect(r.commands).toEqual([
      {
        kind: "receiveGoods",
        quantity: { value: 1, uom: "KGM" },
        status: "available",
        lot: "998877",
        ...at("urn:test:single", "quantityList.0"),
      },
    ]);
  });
});

describe("EPCIS: locations by GLN", () => {
  it("an unknown GLN is untranslatable naming the eventID and $.epcisBody.eventList[i].bizLocation.id", () => {
    const d = sample("Example_9.6.2-ObjectEvent.jsonld") as {
      epcisBody: { eventList: Record<string, unknown>[] };
    };
    const ev = d.epcisBody.eventList[0] as Record<string, unknown>;
    ev.bizLocation = { id: "urn:epc:id:sgln:0614141.99999.0" };
    const r = run(d);
    expect(r.commands).toEqual([]);
    expect(r.untranslatable).toEqual([
      {
        document: { type: "EPCIS ObjectEvent", id: ev.eventID },
        at: "$.epcisBody.eventList[0].bizLocation.id",
        value: "urn:epc:id:sgln:0614141.99999.0",
        reason: "a location of master data with GLN 0614141999996",
      },
    ]);
  });

  it("a GS1 Digital Link GLN (/414/) and readPoint when there is no bizLocation", () => {
    const dl = event("urn:test:dl", {
      bizLocation: { id: "https://id.gs1.org/414/0614141008889/254/dock1" },
      bizStep: "receiving",
      epcList: [WIDGET("1")],
    });
    const { bizLocation: _, ...rp } = event("urn:test:rp", {
      bizStep: "receiving",
      epcList: ["https://id.gs1.org/01/10614141073464/21/2"],
      readPoint: { id: US },
    });
    const r = run(doc(dl, rp));
    expect(r.untranslatable).toEqual([]);
    expect(
      r.commands.map((c) => [c.position.sku, c.position.location, "serials" in c ? c.serials : undefined]),
    ).toEqual([
      ["WIDGET", "DC-AMS", ["1"]],
      ["WIDGET", "DC-US", ["2"]],
    ]);
  });
});

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

describe("EPCIS: error declarations and keys", () => {
  const original = event("urn:uuid:ev-1", {
    bizStep: "picking",
    epcList: [WIDGET("1")],
    quantityList: [{ epcClass: COFFEE_LOT, quantity: 2, uom: "KGM" }],
  });
  const declared = {
    ...original,
    errorDeclaration: {
      declarationTime: "2026-12-02T08:00:00Z",
      reason: "did_not_occur",
      correctiveEventIDs: ["urn:uuid:ev-2"],
    },
  };
  const corrective = event("urn:uuid:ev-2", {
    bizStep: "picking",
    quantityList: [{ epcClass: COFFEE_LOT, quantity: 1, uom: "KGM" }],
  });

  it("the declared event's commands are reversed with keys of their own, caused by the originals; the corrective event is applied", () => {
    const first = run(doc(original));
    const second = run(doc(declared, corrective));
    expect(first.commands.map((c) => c.kind)).toEqual(["confirmPick", "confirmPick"]);
    expect(second.untranslatable).toEqual([]);
    expect(second.commands).toEqual([
      {
        kind: "reversePick",
        quantity: { value: 1, uom: "EA" },
        serials: ["1"],
        ...at("urn:uuid:ev-1", "reversal.epcList.0.0", "WIDGET"),
        causationId: first.commands[0]?.idempotencyKey,
      },
      {
        kind: "reversePick",
        quantity: { value: 2, uom: "KGM" },
        lot: "998877",
        ...at("urn:uuid:ev-1", "reversal.quantityList.0"),
        causationId: first.commands[1]?.idempotencyKey,
      },
      {
        kind: "confirmPick",
        quantity: { value: 1, uom: "KGM" },
        lot: "998877",
        ...at("urn:uuid:ev-2", "quantityList.0"),
      },
    ]);
  });

  it("a declared status change goes back; a declared transfer or count cannot be reversed and says why", () => {
    const insp = event("urn:test:i", {
      bizStep: "inspecting",
      errorDeclaration: { declarationTime: T },
      epcList: [WIDGET("1")],
    });
    const count = event("urn:test:c", {
      bizStep: "cycle_counting",
      errorDeclaration: { declarationTime: T },
      quantityList: [{ epcClass: COFFEE_LOT, quantity: 1, uom: "KGM" }],
    });
    const r = run(doc(insp, count));
    expect(
      r.commands.map((c) =>
        c.kind === "changeStatus" ? [c.fromStatus, c.toStatus, c.source.document.line] : c.kind,
      ),
    ).toEqual([["inspection", "available", "reversal.epcList.0.0"]]);
    expect(r.untranslatable).toEqual([
      expect.objectContaining({
        document: { type: "EPCIS ObjectEvent", id: "urn:test:c" },
        at: "$.epcisBody.eventList[1].errorDeclaration",
        value: "recordCount",
      }),
    ]);
  });

  it("an event without eventID is keyed by the SHA-256 of its canonical JSON: the same whatever the member order or recordTime", () => {
    const { eventID: _, ...anonymous } = event("urn:test:x", {
      bizStep: "receiving",
      quantityList: [{ epcClass: COFFEE_LOT, quantity: 1, uom: "KGM" }],
    });
    const reordered = Object.fromEntries(Object.entries(anonymous).reverse());
    const a = run(doc(anonymous));
    const b = run(doc({ ...reordered, recordTime: "2026-12-03T00:00:00Z" }));
    expect(a.commands[0]?.idempotencyKey).toMatch(
      new RegExp(`^${SYSTEM}:sha256:[0-9a-f]{64}:quantityList\\.0$`),
    );
    expect(b.commands).toEqual(a.commands);
  });
});
