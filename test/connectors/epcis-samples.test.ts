/**
 * Every EPCIS 2.0 sample of ../shared/samples/epcis (GS1's own examples) through translateEpcis:
 * the expected commands are written out by hand from each document (quantities, units, lots,
 * serials, locations, documents); the events that are not stock movements yield a named
 * untranslatable part with the reason, or nothing when they name no trade item.
 */
import { describe, expect, it } from "vitest";
import { epcisTranslator, translateEpcis } from "../../connectors/epcis/translate-epcis.ts";
import { ctx, envelope, expectDecodable, SYSTEM, sample, sampleNames, schema } from "./epcis-fixture.ts";

const PO_ACME = "http://transaction.acme.com/po/12345678";
const DESADV_1152 = "urn:epcglobal:cbv:bt:0614141073467:1152";
const SHIP_EVENT =
  "ni:///sha-256;df7bb3c352fef055578554f09f5e2aa41782150ced7bd0b8af24dd3ccb30ba69?ver=CBV2.0";
const RECV_EVENT =
  "ni:///sha-256;00e1e6eba3a7cc6125be4793a631f0af50f8322e0ab5f2c0bab994a11cec1d79?ver=CBV2.0";

/** Example 9.6.1 and the query document carry the same two events: a shipment of two serials, a receipt of one. */
const shippedThenReceived = [
  {
    kind: "postShipment",
    quantity: { value: 2, uom: "EA" },
    serials: ["2017", "2018"],
    documents: { order: PO_ACME }, // po on an outbound move: the customer's order
    ...envelope(SHIP_EVENT, "ObjectEvent", "epcList.0.0", "2005-04-03T20:33:31.116000-06:00", {
      sku: "WIDGET",
      location: "DC-SHIP", // readPoint urn:epc:id:sgln:0614141.07346.1234 (no bizLocation)
    }),
  },
  {
    kind: "receiveGoods",
    quantity: { value: 1, uom: "EA" },
    status: "available", // in_progress
    serials: ["2018"],
    documents: { po: PO_ACME, asn: DESADV_1152 },
    ...envelope(RECV_EVENT, "ObjectEvent", "epcList.0.0", "2005-04-04T20:33:31.116-06:00", {
      sku: "WIDGET",
      location: "DC-RECV",
    }),
  },
];

const expected: Record<string, { commands: unknown[]; untranslatable: unknown[] }> = {
  "Example_9.6.2-ObjectEvent.jsonld": {
    commands: [
      {
        kind: "receiveGoods",
        quantity: { value: 200, uom: "KGM" },
        status: "available",
        lot: "998877",
        ...envelope(
          "ni:///sha-256;a98f08ae6ac4de3482054314d637c07010b448d3802dccb028a06aafcc6a4b10?ver=CBV2.0",
          "ObjectEvent",
          "quantityList.0",
          "2013-06-08T14:58:56.591Z",
          { sku: "COFFEE", location: "DC-AMS" },
        ),
      },
    ],
    untranslatable: [],
  },
  "Example_9.6.1-ObjectEvent-with-pseudo-SBDH-headers.jsonld": {
    commands: shippedThenReceived,
    untranslatable: [],
  },
  "EPCISQueryDocument.jsonld": { commands: shippedThenReceived, untranslatable: [] },
  "PersistentDisposition-example.jsonld": (() => {
    const serials = Array.from({ length: 10 }, (_, i) => `100000010${String(i + 1).padStart(2, "0")}`);
    const documents = {
      po: "urn:epcglobal:cbv:bt:9529999999991:XYZ567",
      asn: "urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6",
    };
    const at = { sku: "GADGET", location: "DC-NL2" };
    return {
      commands: [
        {
          kind: "receiveGoods",
          quantity: { value: 10, uom: "EA" },
          status: "available",
          serials,
          documents,
          ...envelope(
            "ni:///sha-256;56ba4f355c57456b41c3fb60b22d8342e759de503e3e618940ca3b6ad1bf9b00?ver=CBV2.0",
            "ObjectEvent",
            "epcList.0.0",
            "2020-06-07T17:10:16Z",
            at,
          ),
        },
        {
          kind: "changeStatus", // inspecting, in_progress: into inspection
          quantity: { value: 10, uom: "EA" },
          fromStatus: "available",
          toStatus: "inspection",
          serials,
          documents,
          ...envelope(
            "ni:///sha-256;dae7b481207bb87f1d981c5f169b8138368ae152a41b002eaf36eca1f67d56f5?ver=CBV2.0",
            "ObjectEvent",
            "epcList.0.0",
            "2020-06-08T18:11:16Z",
            at,
          ),
        },
      ],
      untranslatable: [],
    };
  })(),
  "Example_9.6.4-TransformationEvent.jsonld": (() => {
    const e = "ni:///sha-256;e65c3a997e77f34b58306da7a82ab0fc91c7820013287700f0b50345e5795b97?ver=CBV2.0";
    const t = "2013-10-31T14:58:56.591Z";
    const env = (line: string, sku: string) =>
      envelope(e, "TransformationEvent", line, t, { sku, location: "PLANT-DE" }); // readPoint 4012345.00001.0
    return {
      commands: [
        {
          kind: "consumeForProduction",
          quantity: { value: 1, uom: "EA" },
          serials: ["25"],
          ...env("inputEPCList.0.0", "PART-A"),
        },
        {
          kind: "consumeForProduction",
          quantity: { value: 1, uom: "EA" },
          serials: ["99886655"],
          ...env("inputEPCList.1.0", "PART-B"),
        },
        {
          kind: "consumeForProduction",
          quantity: { value: 10, uom: "KGM" },
          lot: "4444",
          ...env("inputQuantityList.0", "SUGAR"),
        },
        // no uom: a count of trade items, in the product's base unit
        {
          kind: "consumeForProduction",
          quantity: { value: 30, uom: "EA" },
          lot: "987",
          ...env("inputQuantityList.1", "MILK"),
        },
        {
          kind: "consumeForProduction",
          quantity: { value: 220, uom: "EA" },
          ...env("inputQuantityList.2", "CAPS"),
        },
        {
          kind: "recordProductionOutput",
          quantity: { value: 4, uom: "EA" },
          status: "available",
          serials: ["25", "26", "27", "28"], // ilmd example:batch is not a CBV lot: no lot
          ...env("outputEPCList.0.0", "FINISHED"),
        },
      ],
      untranslatable: [],
    };
  })(),
  // Error declaration of the event: its commands are reversed (it repeats the declared event).
  "object_event_all_possible_fields.jsonld": (() => {
    const e = "urn:uuid:374d95fc-9457-4a51-bd6a-0bba133845a8";
    const t = "2005-04-05T02:33:31.116Z";
    const documents = { po: "urn:epc:id:gdti:0614141.00001.1618034" };
    const reversal = (line: string, sku: string) => ({
      ...envelope(e, "ObjectEvent", `reversal.${line}`, t, { sku, location: "DC-RECV" }),
      causationId: `${SYSTEM}:${e}:${line}`,
    });
    return {
      commands: [
        // was receiveGoods 1 EA (lot ABC123 from ilmd, action ADD), serial 2018
        {
          kind: "adjustStock",
          quantity: { value: -1, uom: "EA" },
          reasonCode: "epcis:errorDeclaration:incorrect_data",
          status: "available",
          documents,
          ...reversal("epcList.0.0", "WIDGET"),
        },
        // was receiveGoods 200 KGM lot 998877
        {
          kind: "adjustStock",
          quantity: { value: -200, uom: "KGM" },
          reasonCode: "epcis:errorDeclaration:incorrect_data",
          status: "available",
          documents,
          ...reversal("quantityList.0", "COFFEE"),
        },
      ],
      untranslatable: [],
    };
  })(),
  "transformation_event_all_possible_fields.jsonld": (() => {
    const e = "ni:///sha-256;0bf4271d60ed65fb687e95f7216c4c0a4c1181c070f657d41385b6fbd93e97ef?ver=CBV2.0";
    const t = "2013-10-31T14:58:56.591Z";
    const documents = { po: "urn:epc:id:gdti:0614141.00001.1618034" };
    const adjust = (value: number, uom: string, line: string, sku: string) => ({
      kind: "adjustStock",
      quantity: { value, uom },
      reasonCode: "epcis:errorDeclaration:incorrect_data",
      status: "available",
      documents,
      ...envelope(e, "TransformationEvent", `reversal.${line}`, t, { sku, location: "DC-AMS" }), // bizLocation 0614141.00888.0
      causationId: `${SYSTEM}:${e}:${line}`,
    });
    return {
      commands: [
        // consumed inputs come back
        adjust(1, "EA", "inputEPCList.0.0", "PART-A"),
        adjust(1, "EA", "inputEPCList.1.0", "PART-B"),
        adjust(10, "KGM", "inputQuantityList.0", "SUGAR"),
        adjust(30, "EA", "inputQuantityList.1", "MILK"),
        adjust(220, "EA", "inputQuantityList.2", "CAPS"),
        // produced outputs go
        adjust(-4, "EA", "outputEPCList.0.0", "FINISHED"),
        adjust(-10, "KGM", "outputQuantityList.0", "SUGAR"),
        adjust(-30, "EA", "outputQuantityList.1", "MILK"),
        adjust(-220, "EA", "outputQuantityList.2", "CAPS"),
      ],
      untranslatable: [],
    };
  })(),
  "Example_9.6.3-AggregationEvent.jsonld": {
    commands: [],
    untranslatable: [
      {
        document: {
          type: "EPCIS AggregationEvent",
          id: "ni:///sha-256;87b5f18a69993f0052046d4687dfacdf48f7c988cfabda2819688c86b4066a49?ver=CBV2.0",
        },
        at: "$.epcisBody.eventList[0]",
        value: "AggregationEvent",
        reason: expect.stringContaining("not a movement of stock"),
      },
    ],
  },
  "Example-Type-sourceOrDestination_measurement_bizTransaction.jsonld": {
    commands: [],
    untranslatable: [
      {
        document: {
          type: "EPCIS AssociationEvent",
          id: "ni:///sha-256;5f7c472bc4905de27a19b2efc8e4a9c6dc195139669b80b515f12218ff07cf65?ver=CBV2.0",
        },
        at: "$.epcisBody.eventList[0]",
        value: "AssociationEvent",
        reason: expect.stringContaining("not a movement of stock"),
      },
    ],
  },
  "transaction_event_all_possible_fields.jsonld": {
    commands: [],
    untranslatable: [
      {
        document: {
          type: "EPCIS TransactionEvent",
          id: "ni:///sha-256;45a99ca926fdb62b61bb2b29620e1dcdd5b0109613700f7e179881d64d8fabf1?ver=CBV2.0",
        },
        at: "$.epcisBody.eventList[0]",
        value: "TransactionEvent",
        reason: expect.stringContaining("not a movement of stock"),
      },
    ],
  },
  // A patient's GSRN and a rail vehicle's GIAI: no trade item, no stock concerned, nothing.
  "Example-TransactionEvents-2020_07_03y.jsonld": { commands: [], untranslatable: [] },
};

describe("EPCIS 2.0 samples (../shared/samples/epcis)", () => {
  it("every sample has an expectation here and is valid against GS1's EPCIS JSON Schema", () => {
    expect(sampleNames()).toEqual(Object.keys(expected).sort());
    for (const name of sampleNames()) expect(schema.validate(sample(name)), name).toEqual([]);
  });

  for (const [name, want] of Object.entries(expected)) {
    it(`${name}: ${want.commands.length} commands, ${want.untranslatable.length} untranslatable`, () => {
      const got = translateEpcis(sample(name), ctx());
      expect(got.untranslatable).toEqual(want.untranslatable);
      expect(got.commands).toEqual(want.commands);
      expectDecodable(got.commands);
    });
  }

  it("a sample given as text translates as the parsed document, and twice to the same keys", () => {
    const text = JSON.stringify(sample("Example_9.6.2-ObjectEvent.jsonld"));
    const a = translateEpcis(text, ctx());
    const b = translateEpcis(Buffer.from(text, "utf8"), ctx());
    expect(a).toEqual(translateEpcis(sample("Example_9.6.2-ObjectEvent.jsonld"), ctx()));
    expect(b).toEqual(a);
    const { schema: _, ...plain } = ctx();
    expect(epcisTranslator(schema)(text, plain)).toEqual(a);
  });
});
