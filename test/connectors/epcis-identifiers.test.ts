/** GS1 identifiers as EPCIS writes them: EPC URNs and Digital Link URIs to GTIN-14, lot, serial and GLN. */
import { describe, expect, it } from "vitest";
import {
  cbvWord,
  glnOfLocation,
  gs1CheckDigit,
  gtinSpellings,
  tradeItemOfClass,
  tradeItemOfEpc,
} from "../../connectors/epcis/identifiers.ts";
import { isGln } from "../../domain/master-data.ts";

describe("EPCIS identifiers", () => {
  it("check digits: the GS1 examples GTIN 04012345123456 and GTIN 10614141073464", () => {
    expect(gs1CheckDigit("0401234512345")).toBe(6);
    expect(gs1CheckDigit("1061414107346")).toBe(4);
  });

  it("SGTIN URN and Digital Link to GTIN-14 and serial; other EPCs are not trade items", () => {
    expect(tradeItemOfEpc("urn:epc:id:sgtin:0614141.107346.2017")).toEqual({
      ok: true,
      value: { gtin: "10614141073464", serial: "2017" },
    });
    expect(tradeItemOfEpc("https://id.gs1.org/01/10614141073464/10/L%2F1/21/2017")).toEqual({
      ok: true,
      value: { gtin: "10614141073464", lot: "L/1", serial: "2017" },
    });
    expect(tradeItemOfEpc("https://id.gs1.org/01/10614141073465/21/1")).toMatchObject({ ok: false });
    expect(tradeItemOfEpc("urn:epc:id:sgtin:0614141.10734.1")).toMatchObject({ ok: false });
    expect(tradeItemOfEpc("urn:epc:id:sscc:0614141.1234567890")).toBeUndefined();
    expect(tradeItemOfEpc("urn:epc:id:giai:4000001.111")).toBeUndefined();
  });

  it("LGTIN, idpat and Digital Link classes", () => {
    expect(tradeItemOfClass("urn:epc:class:lgtin:4012345.012345.998877")).toEqual({
      ok: true,
      value: { gtin: "04012345123456", lot: "998877" },
    });
    expect(tradeItemOfClass("urn:epc:idpat:sgtin:4012345.066666.*")).toEqual({
      ok: true,
      value: { gtin: "04012345666663" },
    });
    expect(tradeItemOfClass("https://example.com/dl/01/4012345123456/10/ABC")).toEqual({
      ok: true,
      value: { gtin: "04012345123456", lot: "ABC" },
    });
    expect(tradeItemOfClass("urn:epc:idpat:grai:4012345.55555.*")).toBeUndefined();
  });

  it("SGLN and /414/ to a GLN that master data accepts; the extension is dropped", () => {
    const urn = glnOfLocation("urn:epc:id:sgln:0614141.07346.1234");
    expect(urn).toEqual({ ok: true, value: "0614141073467" });
    expect(urn.ok && isGln(urn.value)).toBe(true);
    expect(glnOfLocation("https://id.gs1.org/414/0614141073467/254/1234")).toEqual({
      ok: true,
      value: "0614141073467",
    });
    expect(glnOfLocation("https://id.gs1.org/414/0614141073468")).toMatchObject({ ok: false });
    expect(glnOfLocation("urn:epc:id:pgln:4000001.00012")).toMatchObject({ ok: false });
  });

  it("GTIN spellings and CBV words", () => {
    expect(gtinSpellings("00614141777778")).toEqual(["00614141777778", "0614141777778", "614141777778"]);
    expect(gtinSpellings("10614141073464")).toEqual(["10614141073464"]);
    expect(cbvWord("https://ref.gs1.org/cbv/BizStep-receiving", "BizStep")).toBe("receiving");
    expect(cbvWord("urn:epcglobal:cbv:disp:in_transit", "Disp")).toBe("in_transit");
    expect(cbvWord("urn:acme:step:x", "BizStep")).toBe("urn:acme:step:x");
  });
});
