import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  createSapSimulator,
  SAP_MATERIAL_DOCUMENT_SRV,
  SAP_MATERIAL_STOCK_SRV,
  type SapSimulator,
  type SapSimulatorOptions,
} from "../../services/simulators/sap-s4hana-simulator.ts";
import { sample } from "./samples.ts";

type Doc = Record<string, unknown> & { to_MaterialDocumentItem: Record<string, unknown>[] };
const GR_101 = "sap-s4hana/material_document_create_gr_101_po.json";
const GI_261 = "sap-s4hana/material_document_create_gi_261_order.CONSTRUCTED.json";
const GI_262 = "sap-s4hana/material_document_create_gi_262_reversal_kba3027233.json";
const TR_311 = "sap-s4hana/material_document_create_transfer_311.CONSTRUCTED.json";

/** A sample with each item patched (e.g. the batch the 101 sample received into). */
const doc = (path: string, header: Record<string, unknown> = {}, item: Record<string, unknown> = {}): Doc => {
  const d = sample<Doc>(path);
  return {
    ...d,
    ...header,
    to_MaterialDocumentItem: d.to_MaterialDocumentItem.map((i) => ({ ...i, ...item })),
  };
};

const sims: SapSimulator[] = [];
const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(sims.splice(0).map((s) => s.close()));
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const make = (options: SapSimulatorOptions = {}) => {
  const sim = createSapSimulator(options);
  sims.push(sim);
  return sim;
};

const postDoc = (sim: SapSimulator, body: unknown, headers: Record<string, string> = {}) =>
  sim.app.inject({
    method: "POST",
    url: `${SAP_MATERIAL_DOCUMENT_SRV}/A_MaterialDocumentHeader`,
    payload: body as object,
    headers,
  });

const readStock = async (sim: SapSimulator, filter: string) => {
  const res = await sim.app.inject({
    method: "GET",
    url: `${SAP_MATERIAL_STOCK_SRV}/A_MatlStkInAcctMod?$filter=${encodeURIComponent(filter)}`,
  });
  expect(res.statusCode).toBe(200);
  return (res.json() as { d: { results: Record<string, string>[] } }).d.results;
};

/** Stock quantity as SAP answers it (decimal string), per storage location and batch. */
const stockBy = async (sim: SapSimulator, filter: string) =>
  Object.fromEntries(
    (await readStock(sim, filter)).map((r) => [
      `${r.StorageLocation}/${r.Batch}`,
      r.MatlWrhsStkQtyInMatlBaseUnit,
    ]),
  );

describe("SAP S/4HANA simulator: material documents from the real samples", () => {
  it("posts a 101 goods receipt and answers 201 with the document number, year and items", async () => {
    const sim = make();
    const res = await postDoc(sim, sample(GR_101));
    expect(res.statusCode).toBe(201);
    const d = (res.json() as { d: Record<string, unknown> }).d;
    expect(d.MaterialDocumentYear).toBe("2024"); // PostingDate /Date(1715731200000)/ is 2024-05-15
    expect(d.MaterialDocument).toMatch(/^49\d{8}$/);
    expect(res.headers.location).toContain(`MaterialDocument='${d.MaterialDocument}'`);
    const items = (d.to_MaterialDocumentItem as { results: Record<string, unknown>[] }).results;
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({
      Material: "TG12",
      GoodsMovementType: "101",
      QuantityInBaseUnit: "10.000",
    });
    expect(await stockBy(sim, "Material eq 'TG12' and Plant eq '1010'")).toEqual({ "101A/B0001": "10.000" });
  });

  it("books 101, 261, 262 and 311 with their signs and keeps the plant total", async () => {
    const sim = make();
    const batch = { Batch: "B0001" };
    expect((await postDoc(sim, sample(GR_101))).statusCode).toBe(201); // +10 in 101A
    expect((await postDoc(sim, doc(GI_261, {}, batch))).statusCode).toBe(201); // -2 for the order
    const reversal = doc(
      GI_262,
      {},
      {
        Material: "TG12",
        Plant: "1010",
        StorageLocation: "101A",
        ManufacturingOrder: "1000123",
        EntryUnit: "PC",
        QuantityInEntryUnit: "1",
        ...batch,
      },
    );
    expect((await postDoc(sim, reversal)).statusCode).toBe(201); // +1 back from the order
    expect((await postDoc(sim, doc(TR_311, {}, batch))).statusCode).toBe(201); // 5 from 101A to 101B
    expect(await stockBy(sim, "Material eq 'TG12' and Plant eq '1010'")).toEqual({
      "101A/B0001": "4.000",
      "101B/B0001": "5.000",
    });
    expect(sim.balance({ Material: "TG12", Plant: "1010" })).toBe(9);
    expect(await stockBy(sim, "Plant eq '1010' and StorageLocation eq '101B'")).toEqual({
      "101B/B0001": "5.000",
    });
    expect(await readStock(sim, "Plant eq '9999'")).toEqual([]);
    expect(sim.ledger().map((e) => e.items[0]?.GoodsMovementType)).toEqual(["101", "261", "262", "311"]);
  });

  it("refuses an issue beyond unrestricted stock with M7/021 and posts nothing (the 261 sample has no batch)", async () => {
    const sim = make();
    await postDoc(sim, sample(GR_101));
    const res = await postDoc(sim, sample(GI_261));
    expect(res.statusCode).toBe(400);
    const error = (res.json() as { error: { code: string; message: { lang: string; value: string } } }).error;
    expect(error.code).toBe("M7/021");
    expect(error.message.value).toBe("Deficit of SL Unrestricted-use 2 PC : TG12 1010 101A");
    expect(sim.ledger()).toHaveLength(1);
    expect(make({ allowNegativeStock: true }).inject(sample(GI_261)).deltas).toEqual([
      { Material: "TG12", Plant: "1010", StorageLocation: "101A", Batch: "", delta: -2 },
    ]);
  });

  it("answers the KBA 262 sample (placeholders) with an OData error naming field, value and expectation", async () => {
    const sim = make();
    const res = await postDoc(sim, sample(GI_262));
    expect(res.statusCode).toBe(400);
    const body = res.json() as {
      error: {
        message: { value: string };
        innererror: { errordetails: { target: string; message: string }[] };
      };
    };
    expect(body.error.message.value).toContain("to_MaterialDocumentItem[0].QuantityInEntryUnit");
    expect(body.error.message.value).toContain('"x"');
    expect(body.error.innererror.errordetails.map((d) => d.target)).toEqual([
      "to_MaterialDocumentItem[0].QuantityInEntryUnit",
    ]);
    expect(sim.ledger()).toHaveLength(0);
  });

  it("accepts the OData {results: [...]} form of the deep insert", async () => {
    const sim = make();
    const { to_MaterialDocumentItem: items, ...header } = sample<Doc>(GR_101);
    expect((await postDoc(sim, { ...header, to_MaterialDocumentItem: { results: items } })).statusCode).toBe(
      201,
    );
    expect(sim.balance({ Material: "TG12" })).toBe(10);
  });

  it("refuses unknown movement types, fractions, over-long reference fields and unsupported filters", async () => {
    const sim = make();
    const cases: [unknown, string][] = [
      [doc(GR_101, {}, { GoodsMovementType: "999" }), "Movement type 999"],
      [doc(GR_101, {}, { QuantityInEntryUnit: "2.5" }), "QuantityInEntryUnit"],
      [doc(GR_101, { ReferenceDocument: "X".repeat(17) }), "ReferenceDocument"],
      [doc(GR_101, { GoodsMovementCode: "99" }), "GoodsMovementCode"],
      [doc(GR_101, {}, { StorageLocation: undefined }), "storage location"],
      [doc(TR_311, {}, { IssuingOrReceivingStorageLoc: "101A" }), "receiving"],
    ];
    for (const [body, mention] of cases) {
      const res = await postDoc(sim, body);
      expect(res.statusCode, mention).toBe(400);
      expect((res.json() as { error: { message: { value: string } } }).error.message.value).toContain(
        mention,
      );
    }
    const bad = await sim.app.inject({
      method: "GET",
      url: `${SAP_MATERIAL_STOCK_SRV}/A_MatlStkInAcctMod?$filter=${encodeURIComponent("Plant ne '1010'")}`,
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toHaveProperty("error.code");
    expect(sim.ledger()).toHaveLength(0);
  });

  it("converts an alternative unit with master data and refuses an unknown unit", async () => {
    const sim = make({ materials: { TG12: { baseUnit: "PC", conversions: { CS: 12 } } } });
    expect(
      (await postDoc(sim, doc(GR_101, {}, { EntryUnit: "CS", QuantityInEntryUnit: "2" }))).statusCode,
    ).toBe(201);
    expect(sim.balance({ Material: "TG12" })).toBe(24);
    expect((await postDoc(sim, doc(GR_101, {}, { EntryUnit: "KG" }))).statusCode).toBe(400);
  });
});

describe("SAP S/4HANA simulator: idempotency", () => {
  it("a repeat with the same Repeatability-Request-ID returns the first document and posts once", async () => {
    const sim = make();
    const headers = {
      "repeatability-request-id": "eu:TG12@1010-101A:7",
      "repeatability-first-sent": new Date().toUTCString(),
    };
    const first = await postDoc(sim, sample(GR_101), headers);
    const again = await postDoc(sim, sample(GR_101), headers);
    expect(first.statusCode).toBe(201);
    expect(again.statusCode).toBe(201);
    expect(again.headers["repeatability-result"]).toBe("accepted");
    expect(again.json()).toEqual(first.json());
    expect(sim.ledger()).toHaveLength(1);
    expect(sim.balance({ Material: "TG12" })).toBe(10);
    expect(sim.stats()).toMatchObject({ posted: 1, duplicates: 1 });
  });

  it("without a header, the ReferenceDocument is the key; without any key SAP posts twice", async () => {
    const sim = make();
    const keyed = doc(GR_101, { ReferenceDocument: "DN-0001" });
    const a = await postDoc(sim, keyed);
    const b = await postDoc(sim, keyed);
    expect((b.json() as { d: { MaterialDocument: string } }).d.MaterialDocument).toBe(
      (a.json() as { d: { MaterialDocument: string } }).d.MaterialDocument,
    );
    expect(sim.ledger()).toHaveLength(1);
    await postDoc(sim, sample(GR_101));
    await postDoc(sim, sample(GR_101));
    expect(sim.ledger()).toHaveLength(3);
    expect(sim.balance({ Material: "TG12" })).toBe(30);
    const lookup = await sim.app.inject({
      method: "GET",
      url: `${SAP_MATERIAL_DOCUMENT_SRV}/A_MaterialDocumentHeader?$filter=${encodeURIComponent("ReferenceDocument eq 'DN-0001'")}`,
    });
    expect((lookup.json() as { d: { results: unknown[] } }).d.results).toHaveLength(1);
  });

  it("the same key with a different body is a 409 conflict and posts nothing", async () => {
    const sim = make();
    const headers = { "repeatability-request-id": "k-1" };
    await postDoc(sim, sample(GR_101), headers);
    const res = await postDoc(sim, doc(GR_101, {}, { QuantityInEntryUnit: "11" }), headers);
    expect(res.statusCode).toBe(409);
    expect(sim.ledger()).toHaveLength(1);
    expect(sim.balance({ Material: "TG12" })).toBe(10);
  });

  it("keeps ledger, stock and keys across a restart with persistence", async () => {
    const dir = mkdtempSync(join(tmpdir(), "sap-sim-"));
    dirs.push(dir);
    const persistPath = join(dir, "sap.json");
    const headers = { "repeatability-request-id": "persist-1" };
    const before = make({ persistPath });
    await postDoc(before, sample(GR_101), headers);
    await before.close();
    const after = make({ persistPath });
    expect(after.ledger()).toHaveLength(1);
    expect((await postDoc(after, sample(GR_101), headers)).headers["x-sim-duplicate"]).toBe("true");
    expect(after.balance({ Material: "TG12" })).toBe(10);
    const next = await postDoc(after, doc(GR_101, { ReferenceDocument: "DN-2" }));
    expect(Number((next.json() as { d: { MaterialDocument: string } }).d.MaterialDocument)).toBe(
      Number(after.ledger()[0]?.MaterialDocument) + 1,
    );
  });
});

describe("SAP S/4HANA simulator: faults, outages and changes outside the sync", () => {
  it("during an outage answers 503 in the OData error shape and posts nothing; afterwards it posts", async () => {
    const sim = make();
    const down = await sim.app.inject({ method: "POST", url: "/_sim/outage", payload: { down: true } });
    expect(down.json()).toMatchObject({ outage: true });
    const refused = await postDoc(sim, sample(GR_101));
    expect(refused.statusCode).toBe(503);
    expect((refused.json() as { error: { code: string } }).error.code).toBe("SIM/OUTAGE");
    expect((await sim.app.inject({ method: "GET", url: "/_sim/ledger" })).json()).toMatchObject({
      entries: [],
    });
    sim.setOutage(false);
    expect((await postDoc(sim, sample(GR_101))).statusCode).toBe(201);
    expect(sim.ledger()).toHaveLength(1);
  });

  it("an outage with forMs ends by itself, and outage windows apply only inside the window", async () => {
    let now = 1_000;
    const sim = make({ now: () => now, outageWindows: [{ from: 5_000, to: 6_000 }] });
    sim.setOutage(true, { forMs: 100 });
    expect((await postDoc(sim, sample(GR_101))).statusCode).toBe(503);
    now = 1_100;
    expect((await postDoc(sim, sample(GR_101))).statusCode).toBe(201);
    now = 5_500;
    expect((await postDoc(sim, sample(GR_101))).statusCode).toBe(503);
    now = 6_000;
    expect((await postDoc(sim, sample(GR_101))).statusCode).toBe(201);
    expect(sim.ledger()).toHaveLength(2);
  });

  it("an error rate refuses requests before posting; a lost response posts but answers 504, and the retry is deduplicated", async () => {
    const sim = make({ errorRate: 1, errorStatus: 500 });
    const failed = await postDoc(sim, sample(GR_101));
    expect(failed.statusCode).toBe(500);
    expect(failed.json()).toHaveProperty("error.message.value");
    expect(sim.ledger()).toHaveLength(0);
    sim.setFaults({ errorRate: 0, lostResponseRate: 1 });
    const headers = { "repeatability-request-id": "in-doubt-1" };
    expect((await postDoc(sim, sample(GR_101), headers)).statusCode).toBe(504);
    expect(sim.ledger()).toHaveLength(1);
    sim.setFaults({ lostResponseRate: 0 });
    const retry = await postDoc(sim, sample(GR_101), headers);
    expect(retry.statusCode).toBe(201);
    expect((retry.json() as { d: { MaterialDocument: string } }).d.MaterialDocument).toBe(
      sim.ledger()[0]?.MaterialDocument,
    );
    expect(sim.ledger()).toHaveLength(1);
    expect(sim.faults.counters).toMatchObject({ errors: 1, lostResponses: 1 });
  });

  it("adds the configured latency", async () => {
    const sim = make({ latencyMs: 60, jitterMs: 20 });
    const started = performance.now();
    await readStock(sim, "Plant eq '1010'");
    expect(performance.now() - started).toBeGreaterThanOrEqual(59);
  });

  it("a change injected outside the sync shows in stock reads and in the ledger as an injection", async () => {
    const sim = make();
    await postDoc(sim, sample(GR_101));
    const res = await sim.app.inject({
      method: "POST",
      url: "/_sim/inject",
      payload: { Material: "TG12", Plant: "1010", StorageLocation: "101A", Batch: "B0001", delta: -3 },
    });
    expect(res.statusCode).toBe(201);
    expect(await stockBy(sim, "Material eq 'TG12' and Plant eq '1010'")).toEqual({ "101A/B0001": "7.000" });
    sim.inject(
      doc(GR_101, { GoodsMovementCode: "05" }, { GoodsMovementType: "501", StorageLocation: "101C" }),
    );
    expect(await stockBy(sim, "Material eq 'TG12' and StorageLocation eq '101C'")).toEqual({
      "101C/B0001": "10.000",
    });
    const ledger = (await sim.app.inject({ method: "GET", url: "/_sim/ledger" })).json() as {
      entries: { origin: string; items: { GoodsMovementType: string }[] }[];
    };
    expect(ledger.entries.map((e) => [e.origin, e.items[0]?.GoodsMovementType])).toEqual([
      ["api", "101"],
      ["inject", "702"],
      ["inject", "501"],
    ]);
  });
});

describe("SAP S/4HANA simulator over real HTTP", () => {
  it("serves on a free port, requires the CSRF token when asked, and drops connections in a drop outage", async () => {
    const sim = make({ requireCsrfToken: true });
    const url = await sim.listen(0);
    const post = (token?: string) =>
      fetch(`${url}${SAP_MATERIAL_DOCUMENT_SRV}/A_MaterialDocumentHeader`, {
        method: "POST",
        headers: { "content-type": "application/json", ...(token ? { "x-csrf-token": token } : {}) },
        body: JSON.stringify(sample(GR_101)),
      });
    const forbidden = await post();
    expect(forbidden.status).toBe(403);
    expect(forbidden.headers.get("x-csrf-token")).toBe("Required");
    const fetched = await fetch(`${url}${SAP_MATERIAL_DOCUMENT_SRV}/`, {
      headers: { "x-csrf-token": "Fetch" },
    });
    const token = fetched.headers.get("x-csrf-token") ?? "";
    expect(token).not.toBe("");
    expect((await post(token)).status).toBe(201);
    sim.setOutage(true, { mode: "drop" });
    await expect(post(token)).rejects.toThrow();
    sim.setOutage(false);
    expect(sim.ledger()).toHaveLength(1);
  });
});
