/**
 * translateEpcis on documents constructed here (the samples lack them): schema violations named by
 * eventID and JSON path, unknown GLNs, Digital Link locations, error declarations, events without eventID.
 */
import { describe, expect, it } from "vitest";
import { at, COFFEE_LOT, CONTEXT, doc, event, run, SYSTEM, sample, T, US, WIDGET } from "./epcis-fixture.ts";

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
