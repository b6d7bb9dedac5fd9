/**
 * Every X12 sample of ../shared/samples/x12 is translated (issue 11), with the commands and the 997
 * written out by hand from the documents. Most samples are negative tests of the envelope: they are
 * rejected in the 997 and dead-lettered with the place named.
 */
import { readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { translateX12 } from "../../connectors/x12/translate-x12.ts";
import { ctx, expectCanonical, SAMPLES, sample } from "./x12-fixture.ts";

/** What each sample yields: commands, the places of its untranslatable parts, its AK9 (and AK5s). */
const EXPECTED: Record<
  string,
  { commands: number; at: string[]; ak9: string; ak5?: string[]; system?: string }
> = {
  "944_stupidedi.edi": { commands: 1, at: [], ak9: "AK9*A*1*1*1", ak5: ["AK5*A"] },
  "943_stupidedi.edi": { commands: 1, at: [], ak9: "AK9*A*1*1*1", ak5: ["AK5*A"], system: "acme-erp" },
  "856_node-x12_004060.edi": { commands: 0, at: ["GS-08"], ak9: "AK9*R*1*1*0*2" },
  "856_stupidedi_4010_fail_mixed_terminators.edi": {
    commands: 0,
    at: ["SE-01", "N1-04", "N1-05", "N1-09"],
    ak9: "AK9*R*1*1*0",
    ak5: ["AK5*R*4*5"],
  },
  "856_x12-types_walmart_4010.edi": { commands: 0, at: ["GE-01"], ak9: "AK9*R*2*1*0*5" },
  "940_x12-types_babelway.edi": { commands: 0, at: ["ST-01"], ak9: "AK9*A*1*1*1", ak5: ["AK5*A"] },
  "olmelabs_940.edi": { commands: 0, at: ["ST-01"], ak9: "AK9*A*1*1*1", ak5: ["AK5*A"] },
  "olmelabs_940.2.edi": { commands: 0, at: ["ST-01"], ak9: "AK9*A*1*1*1", ak5: ["AK5*A"] },
  "940_x12-types_1edisource.edi": { commands: 0, at: ["IEA-02", "GE-02"], ak9: "AK9*R*1*1*0*4" },
  "940_x12-types_generalmills_new.edi": {
    commands: 0,
    at: ["W01-15", "W01-15"],
    ak9: "AK9*R*1*1*0",
    ak5: ["AK5*R*5"],
  },
  // Empty ISA-16: the ISA's fixed positions make `~` the component separator and the line break the
  // segment terminator, so the group trailer reads `GE*1*4313~`.
  "940_x12-types_generalmills_cancel.edi": { commands: 0, at: ["GE-02"], ak9: "AK9*R*1*1*0*4" },
  "940_x12-types_generalmills_replace.edi": { commands: 0, at: ["GE-02"], ak9: "AK9*R*1*1*0*4" },
};

const segmentsOf = (ack: string): string[] => {
  const term = ack.charAt(105);
  return ack
    .split(term)
    .map((s) => s.trim())
    .filter((s) => s !== "");
};

describe("X12 samples (../shared/samples/x12)", () => {
  const files = readdirSync(SAMPLES).filter((f) => f.endsWith(".edi"));

  it("every sample has its expectation here (a new sample fails until it is read)", () => {
    expect(files.sort()).toEqual(Object.keys(EXPECTED).sort());
  });

  for (const file of files) {
    it(`${file}: commands, dead letters and a 997`, () => {
      const e = EXPECTED[file];
      if (!e) throw new Error(`no expectation for ${file}`);
      const { translation, acknowledgment } = translateX12(sample(file), ctx(e.system));
      expectCanonical(translation.commands);
      expect(translation.commands).toHaveLength(e.commands);
      expect(translation.untranslatable.map((p) => p.at)).toEqual(e.at);
      for (const p of translation.untranslatable) expect(p.reason.length).toBeGreaterThan(20);
      const segs = segmentsOf(acknowledgment);
      expect(segs[0]?.startsWith("ISA")).toBe(true);
      expect(segs.some((s) => s.startsWith("ST*997*"))).toBe(true);
      expect(segs.filter((s) => s.startsWith("AK9"))).toEqual([e.ak9]);
      if (e.ak5) expect(segs.filter((s) => s.startsWith("AK5"))).toEqual(e.ak5);
      // Translating twice gives the same commands (idempotency keys are the document's).
      expect(translateX12(sample(file), ctx(e.system)).translation).toEqual(translation);
    });
  }

  it("944: one receiveGoods per W07, written out from the document", () => {
    const { translation, acknowledgment } = translateX12(sample("944_stupidedi.edi"), ctx());
    // W17*F*20260714*WR12345*DO12345, N1*WH*...*9*1234567890001, W07*100*EA**UK*ITEM123***LOT456, N9*PO*REF789
    expect(translation.commands).toEqual([
      {
        kind: "receiveGoods",
        idempotencyKey: "acme-3pl:X12 944:WR12345:1",
        source: { system: "acme-3pl", document: { type: "X12 944", id: "WR12345", line: "1" } },
        businessTime: "2026-07-14T00:00:00Z",
        correlationId: "WR12345",
        position: { sku: "SKU-123", location: "ACME-WH", region: "us-east" },
        quantity: { value: 100, uom: "EA" },
        status: "available",
        lot: "LOT456",
        documents: { po: "REF789" },
      },
    ]);
    expect(translation.untranslatable).toEqual([]);
    // The 997: sender and receiver swapped, the group and the set accepted.
    expect(acknowledgment).toBe(
      [
        "ISA*00*          *00*          *ZZ*RECEIVER       *ZZ*SENDER         *260714*1230*U*00401*000000001*0*T*>~",
        "GS*FA*RECEIVER*SENDER*20260714*1230*1*X*004010~",
        "ST*997*0001~",
        "AK1*RE*1~",
        "AK2*944*0001~",
        "AK5*A~",
        "AK9*A*1*1*1~",
        "SE*6*0001~",
        "GE*1*1~",
        "IEA*1*000000001~",
      ].join("\n"),
    );
  });

  it("943: the depositor's transfer shipment advice is an expected receipt at its warehouse", () => {
    const { translation } = translateX12(sample("943_stupidedi.edi"), ctx("acme-erp"));
    // W06*F*DO12345*20260714, N1*WH*ACME WAREHOUSE*91*ACME01, G62*11*20260714, W04*100*EA**VN*ITEM123
    expect(translation.commands).toEqual([
      {
        kind: "expectReceipt",
        idempotencyKey: "acme-erp:X12 943:DO12345:DO12345:SKU-123@ACME-WH",
        source: {
          system: "acme-erp",
          document: { type: "X12 943", id: "DO12345", line: "DO12345:SKU-123@ACME-WH" },
        },
        businessTime: "2026-07-14T00:00:00Z",
        correlationId: "DO12345",
        position: { sku: "SKU-123", location: "ACME-WH", region: "us-east" },
        quantity: { value: 100, uom: "EA" },
        expectedAt: "2026-07-14T00:00:00Z",
        documents: { po: "DO12345" },
      },
    ]);
  });

  it("856 in version 004060: the group is rejected (AK9 code 2) and the version named", () => {
    const { translation } = translateX12(sample("856_node-x12_004060.edi"), ctx());
    expect(translation.untranslatable[0]).toMatchObject({
      document: { type: "X12 functional group", id: "SH 49" },
      at: "GS-08",
      value: "004060",
    });
    expect(translation.untranslatable[0]?.reason).toContain("reads X12 004010");
  });

  it("856 with mixed terminators: dead-lettered at SE-01 and at the N1 that swallowed the next segments", () => {
    const { translation, acknowledgment } = translateX12(
      sample("856_stupidedi_4010_fail_mixed_terminators.edi"),
      ctx(),
    );
    const [se, n1] = translation.untranslatable;
    // The document is named by its shipment id (BSN-02) even though the set is not translated.
    expect(se).toMatchObject({ document: { type: "X12 856", id: "861554" }, at: "SE-01", value: "25" });
    expect(se?.reason).toContain("counted 22");
    expect(n1?.at).toBe("N1-04");
    expect(n1?.value).toBe("010020001-ABCINC~\n\nN3");
    expect(n1?.reason).toContain("segments here end with '~' while the ISA declares '$'");
    expect(n1?.reason).toContain("segment 11 of transaction set 0000001, line 13");
    // The 997 names the segment (N1, position 11, data element errors) and the element (4, invalid character).
    expect(segmentsOf(acknowledgment)).toEqual(
      expect.arrayContaining(["AK2*856*0000001", "AK3*N1*11**8", "AK4*4**6", "AK5*R*4*5"]),
    );
  });

  it("856 (Walmart): GE-01 says 2 sets for 1, the group is rejected with AK9 code 5", () => {
    const { translation } = translateX12(sample("856_x12-types_walmart_4010.edi"), ctx());
    expect(translation.untranslatable).toEqual([
      {
        document: { type: "X12 functional group", id: "IN 000000001" },
        at: "GE-01",
        value: "2",
        reason:
          "number of transaction sets included: got '2', the group holds 1; the group's 1 transaction set(s) are rejected in the 997 and not translated",
      },
    ]);
  });

  it("940: acknowledged, not translated, with the reason (an order to ship moves no stock)", () => {
    const { translation } = translateX12(sample("olmelabs_940.edi"), ctx());
    expect(translation.untranslatable).toEqual([
      expect.objectContaining({ document: { type: "X12 940", id: "538686" }, at: "ST-01", value: "940" }),
    ]);
    expect(translation.untranslatable[0]?.reason).toContain("not an inventory movement");
  });
});
