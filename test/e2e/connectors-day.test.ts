/**
 * Done-when of issue 11: a day of a distributor fed through the connectors' real transports into a
 * running system (`stockline up` as a child process, managed and secured NATS). Havenstad Groothandel
 * has two regions: its 3PL (DHL) runs WH-RTM and sends ANSI X12 files into a drop folder; its own WMS
 * at DC-AMS sends GS1 EPCIS over HTTP; SAP S/4HANA at the Eindhoven plant sends material documents
 * over HTTP; its Shopify shop sends signed order webhooks. Every document is constructed here (the
 * samples hold no day of one distributor); the EPCIS JSON Schema is GS1's, read from
 * ../shared/samples/epcis at run time. The expected figures are written out by hand from the
 * documents below, and checked through the API (positions: balances and ATP; availability).
 */
import { createHmac, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createShopifySimulator,
  DEFAULT_ACCESS_TOKEN,
  type ShopifySimulator,
} from "../../services/simulators/shopify-simulator.ts";
import { interchange } from "../connectors/x12-fixture.ts";
import { freePort, type Json, ROOT, type RunningUp, startUp } from "./up-fixture.ts";

const EPCIS_SCHEMA = path.resolve(ROOT, "../shared/samples/epcis/EPCIS-JSON-Schema.json");
const SHOP_SECRET = `shpss_${randomBytes(16).toString("hex")}`;
const OPS = "HAVENSTAD_OPS_KEY";
const WMS = "HAVENSTAD_WMS_KEY";
const SAP = "HAVENSTAD_SAP_KEY";

const DHL = "dhl-3pl";
const WMS_SYS = "wms-ams";
const SAP_SYS = "sap-prod";
const SHOP = "shop-nl";
const SHOP_LOCATION = "24826418";
const SHOP_ITEMS = { MUG: "271878346596884015", TEE: "49148385" } as const;

const configOf = (
  dir: string,
  dataDir: string,
  apiPort: number,
  inboundPort: number,
  shopifyGraphql: string,
) => ({
  distributor: { name: "Havenstad Groothandel", id: "havenstad" },
  version: "e2e-connectors-1",
  dataDir,
  nats: { mode: "managed", secured: true },
  regions: [{ id: "west" }, { id: "zuid" }],
  locations: [
    // The 3PL names its warehouse by D-U-N-S+4 in N1*WH; Shopify by its location id.
    {
      id: "WH-RTM",
      region: "west",
      codes: { [DHL]: { idQualifier: "9", id: "1234567890001" }, [SHOP]: { locationId: SHOP_LOCATION } },
    },
    // The WMS's EPCIS events name DC-AMS by its GLN (urn:epc:id:sgln:0614141.00888.0).
    { id: "DC-AMS", region: "west", gln: "0614141008889" },
    { id: "PLANT-EHV", region: "zuid", codes: { [SAP_SYS]: { plant: "1010", storageLocation: "101A" } } },
  ],
  systems: [
    { id: DHL, kind: "3pl", regions: ["west"] },
    { id: WMS_SYS, kind: "wms", regions: ["west"] },
    { id: SAP_SYS, kind: "erp", regions: ["zuid"] },
    { id: SHOP, kind: "channel" },
  ],
  products: {
    catalogue: "closed",
    items: [
      {
        sku: "MUG",
        baseUom: "EA",
        conversions: [{ uom: "CA", quantity: 12, of: "EA" }],
        // urn:epc:idpat:sgtin:4012345.066666.* is GTIN 04012345666663.
        codes: {
          [DHL]: "ITEM123",
          [WMS_SYS]: "04012345666663",
          [SAP_SYS]: "TG12",
          [SHOP]: "271878346596884015",
        },
      },
      {
        sku: "TEE",
        baseUom: "EA",
        conversions: [{ uom: "CA", quantity: 6, of: "EA" }],
        // urn:epc:idpat:sgtin:0614141.107346.* is GTIN 10614141073464.
        codes: { [DHL]: "ITEM456", [WMS_SYS]: "10614141073464", [SAP_SYS]: "TG13", [SHOP]: SHOP_ITEMS.TEE },
      },
    ],
  },
  api: {
    http: { host: "127.0.0.1", port: apiPort },
    staleAfterMs: 10_000,
    keys: [
      { name: "ops", roles: ["operations", "finance", "warehouse"], keyEnv: OPS },
      { name: "wms", roles: ["warehouse"], systems: [WMS_SYS], keyEnv: WMS },
      { name: "sap", roles: ["warehouse"], systems: [SAP_SYS], keyEnv: SAP },
    ],
  },
  connectors: {
    http: { host: "127.0.0.1", port: inboundPort },
    sources: [
      { system: DHL, format: "x12", dropFolder: path.join(dir, "edi", DHL), http: false },
      { system: WMS_SYS, format: "epcis", epcisSchemaFile: EPCIS_SCHEMA },
      { system: SAP_SYS, format: "sap-material-document" },
      {
        system: SHOP,
        format: "shopify",
        shopify: {
          secretEnv: "HAVENSTAD_SHOP_SECRET",
          push: { graphqlUrl: shopifyGraphql, accessTokenEnv: "HAVENSTAD_SHOP_TOKEN" },
        },
      },
    ],
  },
});

// ---- The day's documents ----------------------------------------------------------------------

const WH = "N1*WH*DHL ROTTERDAM*9*1234567890001";
/** Opening stock at WH-RTM: MUG 120 EA, TEE 10 CA (= 60 EA). */
const X12_944_A = interchange(
  [["944", "W17*F*20261205*WR-1001*DO-1", WH, "W07*120*EA**VN*ITEM123", "W07*10*CA**VN*ITEM456", "W14*130"]],
  { control: 101 },
);
/** Two ST sets: MUG 2 CA (= 24 EA); TEE 30 EA. */
const X12_944_B = interchange(
  [
    ["944", "W17*F*20261205*WR-1002*DO-2", WH, "W07*2*CA**VN*ITEM123", "W14*2"],
    ["944", "W17*F*20261205*WR-1003*DO-3", WH, "W07*30*EA**VN*ITEM456", "W14*30"],
  ],
  { control: 102 },
);
/** Broken: W07-01 is 'ABC'. The set is rejected in the 997; nothing received from it. */
const X12_944_BAD = interchange(
  [["944", "W17*F*20261205*WR-1004*DO-4", WH, "W07*ABC*EA**VN*ITEM456", "W14*0"]],
  { control: 103 },
);
/** The 3PL ships MUG 36 EA (3 CA worth) for order ORD-501. */
const X12_945 = interchange(
  [
    [
      "945",
      "W06*F*ORD-501*20261205*SHP-2001**PO-77",
      WH,
      "G62*11*20261205*W*1600",
      "LX*1",
      "W12*CC*36*36*0*EA**VN*ITEM123",
      "W03*36",
    ],
  ],
  { functionalId: "SW", control: 104 },
);

const MUG_CLASS = "urn:epc:idpat:sgtin:4012345.066666.*";
const TEE_CLASS = "urn:epc:idpat:sgtin:0614141.107346.*";
const AMS = { id: "urn:epc:id:sgln:0614141.00888.0" };
const epcisEvent = (eventID: string, time: string, fields: Record<string, unknown>) => ({
  eventID,
  type: "ObjectEvent",
  eventTime: time,
  eventTimeZoneOffset: "+01:00",
  action: "OBSERVE",
  bizLocation: AMS,
  ...fields,
});
const epcisDoc = (...events: unknown[]) => ({
  "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
  type: "EPCISDocument",
  schemaVersion: "2.0",
  creationDate: "2026-12-05T18:00:00+01:00",
  epcisBody: { eventList: events },
});
/** Receipts at DC-AMS: MUG 200 EA, TEE 80 EA (counts of trade items, no uom: the base unit). */
const EPCIS_RECEIVING = epcisDoc(
  epcisEvent("urn:uuid:7f0c1a52-0001-4000-8000-000000000001", "2026-12-05T08:10:00+01:00", {
    bizStep: "receiving",
    disposition: "in_progress",
    quantityList: [{ epcClass: MUG_CLASS, quantity: 200 }],
    bizTransactionList: [{ type: "po", bizTransaction: "urn:epcglobal:cbv:bt:0614141000005:PO-9001" }],
  }),
  epcisEvent("urn:uuid:7f0c1a52-0001-4000-8000-000000000002", "2026-12-05T08:20:00+01:00", {
    bizStep: "receiving",
    disposition: "in_progress",
    quantityList: [{ epcClass: TEE_CLASS, quantity: 80 }],
  }),
);
/** The WMS picks and ships MUG 30 EA from DC-AMS. */
const EPCIS_SHIPPING = epcisDoc(
  epcisEvent("urn:uuid:7f0c1a52-0001-4000-8000-000000000003", "2026-12-05T13:00:00+01:00", {
    bizStep: "picking",
    quantityList: [{ epcClass: MUG_CLASS, quantity: 30 }],
  }),
  epcisEvent("urn:uuid:7f0c1a52-0001-4000-8000-000000000004", "2026-12-05T15:30:00+01:00", {
    bizStep: "shipping",
    disposition: "in_transit",
    quantityList: [{ epcClass: MUG_CLASS, quantity: 30 }],
  }),
);
/** Broken: a receipt at a GLN that is none of ours. */
const EPCIS_UNKNOWN_GLN_EVENT = "urn:uuid:7f0c1a52-0001-4000-8000-0000000000ff";
const EPCIS_BAD = epcisDoc(
  epcisEvent(EPCIS_UNKNOWN_GLN_EVENT, "2026-12-05T09:00:00+01:00", {
    bizStep: "receiving",
    bizLocation: { id: "urn:epc:id:sgln:0614141.99999.0" },
    quantityList: [{ epcClass: MUG_CLASS, quantity: 7 }],
  }),
);

/** A material document as API_MATERIAL_DOCUMENT_SRV reads it back. */
const sapDoc = (number: string, items: Record<string, unknown>[]) => ({
  MaterialDocumentYear: "2026",
  MaterialDocument: number,
  PostingDate: "2026-12-05T00:00:00",
  to_MaterialDocumentItem: items.map((fields, i) => ({
    MaterialDocumentYear: "2026",
    MaterialDocument: number,
    MaterialDocumentItem: String(i + 1).padStart(4, "0"),
    Plant: "1010",
    StorageLocation: "101A",
    InventoryStockType: "01",
    InventorySpecialStockType: "",
    ...fields,
  })),
});
/** GR for POs at PLANT-EHV: MUG 500 EA, TEE 40 CA (= 240 EA); then MUG 100 EA. */
const SAP_101_A = sapDoc("4900000101", [
  {
    Material: "TG12",
    GoodsMovementType: "101",
    GoodsMovementRefDocType: "B",
    DebitCreditCode: "S",
    PurchaseOrder: "4500001234",
    QuantityInEntryUnit: "500",
    EntryUnit: "EA",
  },
  {
    Material: "TG13",
    GoodsMovementType: "101",
    GoodsMovementRefDocType: "B",
    DebitCreditCode: "S",
    PurchaseOrder: "4500001234",
    QuantityInEntryUnit: "40.000",
    EntryUnit: "CA",
  },
]);
const SAP_101_B = sapDoc("4900000102", [
  {
    Material: "TG12",
    GoodsMovementType: "101",
    GoodsMovementRefDocType: "B",
    DebitCreditCode: "S",
    PurchaseOrder: "4500001240",
    QuantityInEntryUnit: "100",
    EntryUnit: "EA",
  },
]);
/** Issues: MUG 50 EA to production order 1000123 (261); TEE 12 EA scrapped (551). */
const SAP_ISSUE = sapDoc("4900000103", [
  {
    Material: "TG12",
    GoodsMovementType: "261",
    DebitCreditCode: "H",
    ManufacturingOrder: "1000123",
    QuantityInEntryUnit: "50",
    EntryUnit: "EA",
  },
  {
    Material: "TG13",
    GoodsMovementType: "551",
    DebitCreditCode: "H",
    QuantityInEntryUnit: "12",
    EntryUnit: "EA",
  },
]);

/** An order from the shop: 5 MUG from WH-RTM (a reservation). Created now: reservations expire. */
const shopOrder = () => ({
  id: 820982911946154500,
  name: "#1001",
  created_at: new Date().toISOString(),
  cancelled_at: null,
  location_id: Number(SHOP_LOCATION),
  line_items: [{ id: 466157049, sku: "MUG", variant_id: 39072856, quantity: 5 }],
});

/** The figures, by hand from the documents above (base unit EA). */
const EXPECTED = {
  // 944s: 120 + 2 CA x 12 = 144 available; the shop reserves 5. 945: 36 picked and shipped at goods
  // issue (a 3PL reports no picks of its own), so 108 available, nothing left picked, ATP 108 - 5 = 103.
  "WH-RTM/MUG": { available: 108, picked: 0, reserved: 5, atp: 103 },
  // 944s: 10 CA x 6 + 30 = 90 (the broken 944's TEE line received nothing).
  "WH-RTM/TEE": { available: 90, picked: 0, reserved: 0, atp: 90 },
  // EPCIS: 200 received, 30 picked and shipped (the unknown GLN's 7 received nothing).
  "DC-AMS/MUG": { available: 170, picked: 0, reserved: 0, atp: 170 },
  "DC-AMS/TEE": { available: 80, picked: 0, reserved: 0, atp: 80 },
  // SAP: 500 + 100 received, 50 consumed by production order 1000123.
  "PLANT-EHV/MUG": { available: 550, picked: 0, reserved: 0, atp: 550 },
  // SAP: 40 CA x 6 = 240 received, 12 scrapped.
  "PLANT-EHV/TEE": { available: 228, picked: 0, reserved: 0, atp: 228 },
} as const;

// ---- The running system -----------------------------------------------------------------------

let up: RunningUp;
let inbound: string;
let drop: string;
let opsKey: string;
/** The shop the connectors part pushes availability to (Shopify's cost-based throttling enforced). */
let shop: ShopifySimulator;

/** A file into the 3PL's drop folder as a careful sender writes it: under .tmp, then renamed. */
const dropFile = (name: string, text: string) => {
  const tmp = path.join(drop, `.${name}.tmp`);
  writeFileSync(tmp, text);
  renameSync(tmp, path.join(drop, name));
};

const postInbound = async (system: string, body: string, headers: Record<string, string>) => {
  const res = await fetch(`${inbound}/v1/inbound/${system}`, { method: "POST", headers, body });
  return { status: res.status, json: (await res.json().catch(() => ({}))) as Json };
};
const postAs = (system: string, keyEnv: string, doc: unknown) =>
  postInbound(system, JSON.stringify(doc), {
    "x-api-key": up.keys[keyEnv]!,
    "content-type": "application/json",
  });
const postShopify = (topic: string, body: string, signature: string) =>
  postInbound(SHOP, body, {
    "content-type": "application/json",
    "x-shopify-topic": topic,
    "x-shopify-hmac-sha256": signature,
  });
const sign = (body: string, secret: string) => createHmac("sha256", secret).update(body).digest("base64");

beforeAll(async () => {
  const [apiPort, inboundPort] = [await freePort(), await freePort()];
  shop = createShopifySimulator();
  const shopifyGraphql = `${await shop.listen(0)}/admin/api/2024-07/graphql.json`;
  up = await startUp({
    file: "havenstad.json",
    config: (dir, dataDir) => {
      drop = path.join(dir, "edi", DHL);
      mkdirSync(drop, { recursive: true });
      return configOf(dir, dataDir, apiPort, inboundPort, shopifyGraphql);
    },
    env: { HAVENSTAD_SHOP_SECRET: SHOP_SECRET, HAVENSTAD_SHOP_TOKEN: DEFAULT_ACCESS_TOKEN },
    // Seven processes on a machine shared with other test files: generous, not a measure.
    readyTimeoutMs: 200_000,
  });
  inbound = `http://127.0.0.1:${inboundPort}`;
  opsKey = up.keys[OPS]!;
}, 210_000);

afterAll(async () => {
  await up?.stop();
  await shop?.close();
}, 60_000);

describe("a distributor's day through the connectors' transports", () => {
  it("runs the connectors part beside the nodes, projectors and API; keys generated for the run", () => {
    const names = up.partsState().parts.map((p) => p.name);
    expect(names).toContain("connectors");
    expect(names).toEqual(expect.arrayContaining(["node-west", "node-zuid", "api"]));
    expect(Object.keys(up.keys).sort()).toEqual([OPS, SAP, WMS].sort());
  });

  it("takes the day's documents: EDI files in the drop folder, EPCIS and SAP over HTTP", async () => {
    // X12 into the drop folder.
    dropFile("944-wr1001.edi", X12_944_A);
    dropFile("944-wr1002-1003.edi", X12_944_B);
    dropFile("944-wr1004.edi", X12_944_BAD);
    dropFile("945-shp2001.edi", X12_945);

    // EPCIS from the WMS.
    const received = await postAs(WMS_SYS, WMS, EPCIS_RECEIVING);
    expect(received.status, JSON.stringify(received.json)).toBe(202);
    expect(received.json).toMatchObject({ commands: 2, deadLettered: 0 });
    const shipped = await postAs(WMS_SYS, WMS, EPCIS_SHIPPING);
    expect(shipped.json).toMatchObject({ commands: 2, deadLettered: 0 });
    const badGln = await postAs(WMS_SYS, WMS, EPCIS_BAD);
    expect(badGln.status).toBe(202);
    expect(badGln.json).toMatchObject({ commands: 0, deadLettered: 1 });
    expect(badGln.json.untranslatable).toEqual([
      expect.objectContaining({
        document: { type: "EPCIS ObjectEvent", id: EPCIS_UNKNOWN_GLN_EVENT },
        at: "$.epcisBody.eventList[0].bizLocation.id",
      }),
    ]);
    // A key bound to the WMS cannot speak as SAP.
    expect((await postAs(SAP_SYS, WMS, SAP_101_A)).status).toBe(403);

    // SAP material documents.
    for (const [doc, n] of [
      [SAP_101_A, 2],
      [SAP_101_B, 1],
      [SAP_ISSUE, 2],
    ] as const) {
      const r = await postAs(SAP_SYS, SAP, doc);
      expect(r.status, JSON.stringify(r.json)).toBe(202);
      expect(r.json).toMatchObject({ commands: n, deadLettered: 0 });
    }
  }, 30_000);

  it("moves the EDI files to done/ and failed/ with their 997s: accepted, and rejected for W07-01", async () => {
    const done = (f: string) => path.join(drop, "done", f);
    const failed = (f: string) => path.join(drop, "failed", f);
    await up.waitFor("the four EDI files moved", async () =>
      [
        done("944-wr1001.edi"),
        done("944-wr1002-1003.edi"),
        failed("944-wr1004.edi"),
        done("945-shp2001.edi"),
      ].every(existsSync)
        ? true
        : undefined,
    );
    const ack = (f: string) => readFileSync(`${f}.997`, "utf8");
    expect(ack(done("944-wr1001.edi"))).toMatch(/AK1\*RE\*101~[\s\S]*AK5\*A~[\s\S]*AK9\*A\*1\*1\*1~/);
    // Both sets of the two-set interchange are acknowledged.
    expect(ack(done("944-wr1002-1003.edi"))).toMatch(
      /AK2\*944\*0001~[\s\S]*AK5\*A~[\s\S]*AK2\*944\*0002~[\s\S]*AK5\*A~[\s\S]*AK9\*A\*2\*2\*2~/,
    );
    expect(ack(done("945-shp2001.edi"))).toMatch(/AK1\*SW\*104~[\s\S]*AK9\*A\*1\*1\*1~/);
    const rejected = ack(failed("944-wr1004.edi"));
    expect(rejected).toMatch(/AK5\*R/);
    expect(rejected).toMatch(/AK9\*R\*1\*1\*0/);
    const report = JSON.parse(readFileSync(`${failed("944-wr1004.edi")}.report.json`, "utf8"));
    expect(report).toMatchObject({ outcome: "failed", commands: 0, deadLettered: 1 });
    expect(report.untranslatable[0]).toMatchObject({ at: "W07-01", value: "ABC" });
    expect(readFileSync(failed("944-wr1004.edi"), "utf8")).toBe(X12_944_BAD);
  }, 60_000);

  it("takes the shop's order once the 3PL's stock is in: a forged signature is 401, the signed order a reservation", async () => {
    // A reservation is decided against ATP: the order waits for the opening stock it sells (the 944s'
    // 144, less the 945's 36 picked and shipped, which was dropped with them).
    await up.waitFor("the 944s' and the 945's MUG available at WH-RTM", async () => {
      const r = await up.call("GET", "/v1/positions/WH-RTM/MUG", opsKey);
      return r.status === 200 && r.json.balances.onHand.available === 108 ? true : undefined;
    });
    // Shopify: a forged signature is refused; the signed order becomes a reservation.
    const body = JSON.stringify(shopOrder());
    const forged = await postShopify("orders/create", body, sign(body, "not-the-shop-secret"));
    expect(forged.status).toBe(401);
    const order = await postShopify("orders/create", body, sign(body, SHOP_SECRET));
    expect(order.status, JSON.stringify(order.json)).toBe(202);
    expect(order.json).toMatchObject({ commands: 1, deadLettered: 0 });
  }, 60_000);

  it("positions and ATP through the API equal the documents' totals", async () => {
    const position = async (key: string) => {
      const [location, sku] = key.split("/") as [string, string];
      const r = await up.call("GET", `/v1/positions/${location}/${sku}`, opsKey);
      if (r.status !== 200) return undefined;
      const b = r.json.balances as Json;
      return {
        available: b.onHand.available as number,
        picked: b.onHand.picked as number,
        reserved: b.reserved as number,
        atp: r.json.atp.atp as number,
      };
    };
    for (const [key, want] of Object.entries(EXPECTED)) {
      let got: Awaited<ReturnType<typeof position>>;
      await up
        .waitFor(`${key} at ${JSON.stringify(want)}`, async () => {
          got = await position(key);
          return got && JSON.stringify(got) === JSON.stringify(want) ? got : undefined;
        })
        .catch(() => undefined);
      expect(got, key).toEqual(want);
    }
    // Availability across both regions (the global read model): the sum of the locations' ATP.
    for (const sku of ["MUG", "TEE"]) {
      const want = Object.entries(EXPECTED)
        .filter(([k]) => k.endsWith(`/${sku}`))
        .reduce((n, [, v]) => n + v.atp, 0);
      const total = await up.waitFor(`global ATP of ${sku} = ${want}`, async () => {
        const r = await up.call("GET", `/v1/availability/${sku}`, opsKey);
        return r.status === 200 && r.json.total?.atp === want ? (r.json.total.atp as number) : undefined;
      });
      expect(total).toBe(want); // MUG 103 + 170 + 550 = 823; TEE 90 + 80 + 228 = 398
    }
  }, 60_000);

  it("dead letters through `stockline dlq commands list` name the document, the place and the value", async () => {
    const text = await up.waitFor("both dead letters listed", async () => {
      const t = await up.cli(opsKey, "dlq", "commands", "list", "--reason", "untranslatable");
      return t.includes("W07-01") && t.includes(EPCIS_UNKNOWN_GLN_EVENT) ? t : undefined;
    });
    expect(text).toContain('X12 944 WR-1004 at W07-01 (value "ABC")');
    expect(text).toContain(`${EPCIS_UNKNOWN_GLN_EVENT} at $.epcisBody.eventList[0].bizLocation.id`);
  }, 60_000);

  it("the shop ends with the ATP of the locations it sells from (pushed by the connectors part)", async () => {
    // The shop sells from WH-RTM only (its one mapped location).
    for (const sku of ["MUG", "TEE"] as const) {
      const want = EXPECTED[`WH-RTM/${sku}`].atp;
      const level = await up.waitFor(`Shopify's ${sku} at ${want}`, async () =>
        shop.level(SHOP_ITEMS[sku], SHOP_LOCATION) === want ? want : undefined,
      );
      expect(level).toBe(want); // MUG 103, TEE 90
    }
    expect(shop.stats().applied).toBeGreaterThan(0);
  }, 60_000);
});
