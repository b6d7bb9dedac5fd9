/**
 * X12 sets the samples lack (945, 947, 846, 856 happy paths) and the envelope and syntax errors,
 * in documents constructed here (the samples folder has no such files). Expected commands are
 * written out by hand from the segments above them.
 */
import { describe, expect, it } from "vitest";
import { translateX12 } from "../../connectors/x12/translate-x12.ts";
import { ctx, expectCanonical, GLN_DC_ATL, GLN_DC_CHI, interchange } from "./x12-fixture.ts";

const ack = (text: string) => text.split(/~\n?/).filter((s) => s !== "");

const common = (
  set: string,
  id: string,
  line: string,
  sku: string,
  location: string,
  businessTime: string,
  system = "acme-3pl",
) => ({
  idempotencyKey: `${system}:X12 ${set}:${id}:${line}`,
  source: { system, document: { type: `X12 ${set}`, id, line } },
  businessTime,
  correlationId: id,
  position: { sku, location, region: location === "DC-CHI" ? "us-central" : "us-east" },
});

const WH = "N1*WH*ACME WAREHOUSE*9*1234567890001";

describe("X12 945 shipping advice", () => {
  const doc = interchange(
    [
      [
        "945",
        "W06*F*ORD-77*20260715*SHP-9**PO-5",
        WH,
        "G62*11*20260715*W*1430",
        "LX*1",
        "W12*CC*24*24*0*EA**VN*ITEM123",
        "LX*2",
        "W12*CC*2*2*0*CA**VN*ITEM123",
        "LX*3",
        "W12*CC*5*5*0*EA**VN*LOTITEM*LOT-A",
        "LX*4",
        "W12*DE*3*0*3*EA**VN*ITEM123",
        "W03*31",
      ],
    ],
    { functionalId: "SW" },
  );

  it("a confirmPick and a postShipment per W12 that shipped, in the W12's unit, with its lot, when G62*11 says", () => {
    const { translation, acknowledgment } = translateX12(doc, ctx());
    expectCanonical(translation.commands);
    const at = "2026-07-15T14:30:00Z";
    const pickAndShip = (line: string, sku: string, quantity: object, lot?: string) => {
      const base = common("945", "SHP-9", line, sku, "ACME-WH", at);
      const moved = { quantity, ...(lot ? { lot } : {}), documents: { order: "ORD-77", po: "PO-5" } };
      return [
        { kind: "confirmPick", ...base, idempotencyKey: `${base.idempotencyKey}:pick`, ...moved },
        { kind: "postShipment", ...base, ...moved },
      ];
    };
    expect(translation.commands).toEqual([
      ...pickAndShip("1", "SKU-123", { value: 24, uom: "EA" }),
      ...pickAndShip("2", "SKU-123", { value: 2, uom: "CA" }),
      ...pickAndShip("3", "SKU-LOT", { value: 5, uom: "EA" }, "LOT-A"),
    ]);
    // The line that shipped nothing is accounted for, not dropped; the set is accepted.
    expect(translation.untranslatable).toEqual([
      expect.objectContaining({ document: { type: "X12 945", id: "SHP-9" }, at: "W12-03", value: "0" }),
    ]);
    expect(translation.untranslatable[0]?.reason).toContain("moves nothing");
    expect(ack(acknowledgment)).toEqual(
      expect.arrayContaining(["AK1*SW*905", "AK2*945*0001", "AK5*A", "AK9*A*1*1*1"]),
    );
  });

  it("a lot-tracked item without its lot is untranslatable at W12-09", () => {
    const d = interchange([["945", "W06*F*ORD-78*20260715", WH, "W12*CC*5*5*0*EA**VN*LOTITEM"]]);
    const { translation } = translateX12(d, ctx());
    expect(translation.commands).toEqual([]);
    expect(translation.untranslatable.map((p) => [p.at, p.reason.split(" (")[0]])).toEqual([
      ["W12-09", "SKU SKU-LOT is lot-tracked: its lot number is missing"],
    ]);
  });
});

describe("X12 947 inventory adjustment advice", () => {
  const doc = interchange(
    [
      [
        "947",
        "W15*20260716*ADJ-3",
        WH,
        "W19*AU*-5*EA**VN*ITEM123",
        "W19*56*2*CA**VN*ITEM123",
        "W19*05*10*EA**VN*ITEM123",
        "W19*88*-3*EA**VN*LOTITEM***LOT-B",
        "W19*AA*0*EA**VN*ITEM123",
      ],
    ],
    { functionalId: "AW" },
  );

  it("W19 reason and signed quantity: adjustments, and status moves for hold and inspection codes", () => {
    const { translation } = translateX12(doc, ctx());
    expectCanonical(translation.commands);
    const at = "2026-07-16T00:00:00Z";
    expect(translation.commands).toEqual([
      {
        kind: "adjustStock",
        ...common("947", "ADJ-3", "1", "SKU-123", "ACME-WH", at),
        quantity: { value: -5, uom: "EA" },
        reasonCode: "AU",
      },
      {
        kind: "adjustStock",
        ...common("947", "ADJ-3", "2", "SKU-123", "ACME-WH", at),
        quantity: { value: 2, uom: "CA" },
        reasonCode: "56",
      },
      {
        kind: "changeStatus",
        ...common("947", "ADJ-3", "3", "SKU-123", "ACME-WH", at),
        quantity: { value: 10, uom: "EA" },
        fromStatus: "available",
        toStatus: "blocked",
      },
      {
        kind: "changeStatus",
        ...common("947", "ADJ-3", "4", "SKU-LOT", "ACME-WH", at),
        quantity: { value: 3, uom: "EA" },
        fromStatus: "inspection",
        toStatus: "available",
        lot: "LOT-B",
      },
    ]);
    expect(translation.untranslatable).toEqual([expect.objectContaining({ at: "W19-02", value: "0" })]);
    expect(translation.untranslatable[0]?.reason).toContain("an adjustment of 0 changes nothing");
  });
});

describe("X12 846 inventory advice (a balance snapshot)", () => {
  const doc = interchange(
    [
      [
        "846",
        "BIA*00*SI*INV-20260714*20260714*1800",
        WH,
        "LIN*1*VN*ITEM123",
        "QTY*33*40*EA",
        "QTY*QH*2*CA",
        "QTY*17*42*EA",
        "LIN*2*VN*LOTITEM*LT*L1",
        "QTY*33*7*EA",
        "LIN*3*VN*LOTITEM*LT*L2",
        "QTY*33*5*EA",
        "LIN*4*VN*NOPE",
        "QTY*33*1*EA",
      ],
    ],
    { functionalId: "IB" },
  );

  it("recordCount per SKU, location and status as of BIA-04/05 (bitemporal); lots of one SKU added", () => {
    const { translation } = translateX12(doc, ctx());
    expectCanonical(translation.commands);
    const at = "2026-07-14T18:00:00Z";
    expect(translation.commands).toEqual([
      {
        kind: "recordCount",
        ...common("846", "INV-20260714", "SKU-123@ACME-WH:available", "SKU-123", "ACME-WH", at),
        counted: { value: 40, uom: "EA" },
        status: "available",
      },
      {
        kind: "recordCount",
        ...common("846", "INV-20260714", "SKU-123@ACME-WH:blocked", "SKU-123", "ACME-WH", at),
        counted: { value: 2, uom: "CA" },
        status: "blocked",
      },
      {
        kind: "recordCount",
        ...common("846", "INV-20260714", "SKU-LOT@ACME-WH:available", "SKU-LOT", "ACME-WH", at),
        counted: { value: 12, uom: "EA" },
        status: "available",
      },
    ]);
    // QTY*17 (on hand) is no status of this source's vocabulary; VN NOPE is no product: both named.
    expect(translation.untranslatable.map((p) => [p.at, p.value])).toEqual([
      ["QTY-01", "17"],
      ["LIN-03", "NOPE"],
    ]);
  });
});

describe("X12 846: a level is all or nothing", () => {
  it("a level one of whose quantities cannot be read is not recorded (a part of it would be a wrong count)", () => {
    const d = interchange([
      [
        "846",
        "BIA*00*SI*INV-2*20260714",
        WH,
        "LIN*1*VN*LOTITEM*LT*L1",
        "QTY*33*7*EA",
        "LIN*2*VN*LOTITEM*LT*L2",
        "QTY*33*2.5*EA",
        "LIN*3*VN*ITEM123",
        "QTY*33*0*EA",
      ],
    ]);
    const { translation } = translateX12(d, ctx());
    expect(
      translation.commands.map((c) => [
        c.kind,
        c.source.document.line,
        "counted" in c ? c.counted : undefined,
      ]),
    ).toEqual([["recordCount", "SKU-123@ACME-WH:available", { value: 0, uom: "EA" }]]);
    expect(translation.untranslatable.map((p) => [p.at, p.value])).toEqual([
      ["QTY-02", "2.5"],
      ["QTY", undefined],
    ]);
    expect(translation.untranslatable[1]?.reason).toContain("SKU-LOT@ACME-WH:available is not recorded");
  });
});

describe("X12 856 ASN", () => {
  const asn = (shipFrom: string) =>
    interchange(
      [
        [
          "856",
          "BSN*00*ASN-1*20260714*0900",
          "HL*1**S",
          "DTM*011*20260714",
          "DTM*017*20260718*0800",
          `N1*ST*ATLANTA DC*UL*${GLN_DC_ATL}`,
          shipFrom,
          "HL*2*1*O",
          "PRF*PO-100",
          "HL*3*2*P",
          "HL*4*3*I",
          "LIN*1*VN*LOTITEM*LT*L1",
          "SN1**10*EA",
          "HL*5*3*I",
          "LIN*2*VN*LOTITEM*LT*L2",
          "SN1**5*EA",
          "DTM*036*20270101",
          "HL*6*1*O",
          "PRF*PO-200",
          "HL*7*6*I",
          "LIN*1*UP*036000291452",
          "SN1**1*EA",
        ],
      ],
      { functionalId: "SH" },
    );

  it("from a supplier: expectReceipt at the ship-to per PO and SKU (items added), expected at DTM*017", () => {
    const { translation } = translateX12(asn("N1*SF*SUPPLIER*92*SUP1"), ctx("acme-erp"));
    expectCanonical(translation.commands);
    const at = "2026-07-14T09:00:00Z";
    expect(translation.commands).toEqual([
      {
        kind: "expectReceipt",
        ...common("856", "ASN-1", "PO-100:SKU-LOT@DC-ATL", "SKU-LOT", "DC-ATL", at, "acme-erp"),
        quantity: { value: 15, uom: "EA" },
        expectedAt: "2026-07-18T08:00:00Z",
        documents: { po: "PO-100", asn: "ASN-1" },
      },
      {
        kind: "expectReceipt",
        ...common("856", "ASN-1", "PO-200:036000291452@DC-ATL", "036000291452", "DC-ATL", at, "acme-erp"),
        quantity: { value: 1, uom: "EA" },
        expectedAt: "2026-07-18T08:00:00Z",
        documents: { po: "PO-200", asn: "ASN-1" },
      },
    ]);
    expect(translation.untranslatable).toEqual([]);
  });

  it("from one of our locations: shipTransfer per item at the origin, with lots, expiry and eta", () => {
    const { translation } = translateX12(asn(`N1*SF*CHICAGO DC*UL*${GLN_DC_CHI}`), ctx("acme-erp"));
    expectCanonical(translation.commands);
    const shipped = "2026-07-14T00:00:00Z";
    const transfer = (hl: string, sku: string, po: string, value: number) => ({
      kind: "shipTransfer",
      ...common("856", "ASN-1", `HL${hl}`, sku, "DC-CHI", shipped, "acme-erp"),
      quantity: { value, uom: "EA" },
      destination: { region: "us-east", location: "DC-ATL" },
      documents: { transferOrder: po, asn: "ASN-1" },
      eta: "2026-07-18T08:00:00Z",
    });
    expect(translation.commands).toEqual([
      { ...transfer("4", "SKU-LOT", "PO-100", 10), lot: "L1" },
      { ...transfer("5", "SKU-LOT", "PO-100", 5), lot: "L2", expiry: "2027-01-01T00:00:00Z" },
      transfer("7", "036000291452", "PO-200", 1),
    ]);
  });

  it("an item level without its SN1 rejects the set, though other items have one", () => {
    const d = interchange([
      [
        "856",
        "BSN*00*ASN-3*20260714",
        "HL*1**S",
        `N1*ST*ATL*UL*${GLN_DC_ATL}`,
        "HL*2*1*O",
        "PRF*PO-1",
        "HL*3*2*I",
        "LIN**VN*ITEM123",
        "SN1**4*EA",
        "HL*4*2*I",
        "LIN**VN*ITEM123",
      ],
    ]);
    const { translation, acknowledgment } = translateX12(d, ctx("acme-erp"));
    expect(translation.commands).toEqual([]);
    expect(translation.untranslatable.map((p) => p.at)).toEqual(["SN1"]);
    expect(ack(acknowledgment)).toEqual(expect.arrayContaining(["AK3*SN1*12**3", "AK5*R*5"]));
  });

  it("an item without a ship-to above it is untranslatable, named", () => {
    const d = interchange([
      [
        "856",
        "BSN*00*ASN-2*20260714",
        "HL*1**S",
        "HL*2*1*O",
        "PRF*PO-1",
        "HL*3*2*I",
        "LIN**VN*ITEM123",
        "SN1**4*EA",
      ],
    ]);
    const { translation } = translateX12(d, ctx("acme-erp"));
    expect(translation.commands).toEqual([]);
    expect(translation.untranslatable.map((p) => p.at)).toEqual(["N1"]);
    expect(translation.untranslatable[0]?.reason).toContain("HL 3: no ship-to (N1*ST) above the item");
  });
});

describe("X12 envelopes and delimiters", () => {
  const receipt = (n: string, qty: string) => [
    "944",
    `W17*F*20260714*WR-${n}*DO-${n}`,
    WH,
    `W07*${qty}*EA**VN*ITEM123`,
  ];

  it("several ST in one GS; terminators with or without newlines, other delimiters", () => {
    const sets = [receipt("1", "3"), receipt("2", "4")];
    const variants = [
      interchange(sets),
      interchange(sets, { newline: "" }),
      interchange(sets, { newline: "\r\n" }),
      interchange(sets, { element: "|", terminator: "'", newline: "" }),
      interchange(sets, { terminator: "\n", newline: "" }),
    ];
    const results = variants.map((v) => translateX12(v, ctx()));
    for (const r of results) {
      expect(
        r.translation.commands.map((c) => [c.source.document.id, "quantity" in c ? c.quantity : undefined]),
      ).toEqual([
        ["WR-1", { value: 3, uom: "EA" }],
        ["WR-2", { value: 4, uom: "EA" }],
      ]);
      expect(r.translation.untranslatable).toEqual([]);
    }
    // The 997 speaks the sender's delimiters.
    expect(results[3]?.acknowledgment).toContain("AK9|A|2|2|2'");
  });

  it("two interchanges in one file: each translated, each answered by its own 997", () => {
    const file =
      interchange([receipt("1", "3")], { control: 11 }) + interchange([receipt("2", "4")], { control: 12 });
    const { translation, acknowledgment } = translateX12(file, ctx());
    expect(translation.commands.map((c) => c.source.document.id)).toEqual(["WR-1", "WR-2"]);
    const acks = ack(acknowledgment);
    expect(acks.filter((s) => s.startsWith("ISA")).map((s) => s.split("*")[13])).toEqual([
      "000000011",
      "000000012",
    ]);
    expect(acks.filter((s) => s.startsWith("AK1"))).toEqual(["AK1*RE*11", "AK1*RE*12"]);
  });

  it("004010 with an industry identifier (GS-08 004010VICS) is read; the 997 answers with the given control number", () => {
    const r = translateX12(interchange([receipt("1", "3")], { version: "004010VICS" }), ctx(), {
      controlNumber: "77",
    });
    expect(r.translation.commands).toHaveLength(1);
    expect(ack(r.acknowledgment)).toEqual(
      expect.arrayContaining(["AK9*A*1*1*1", "GE*1*77", "IEA*1*000000077"]),
    );
  });

  it("W07-01 'ABC': the set is rejected with AK3/AK4 and dead-lettered naming segment and element", () => {
    const { translation, acknowledgment } = translateX12(
      interchange([receipt("1", "ABC"), receipt("2", "4")]),
      ctx(),
    );
    expect(translation.commands.map((c) => c.source.document.id)).toEqual(["WR-2"]);
    expect(translation.untranslatable).toHaveLength(1);
    const [part] = translation.untranslatable;
    expect(part?.at).toBe("W07-01");
    expect(part?.value).toBe("ABC");
    expect(`${part?.at} ${part?.reason}`).toMatch(/^W07-01 quantity received: got 'ABC'/);
    expect(ack(acknowledgment)).toEqual(
      expect.arrayContaining([
        "AK2*944*0001",
        "AK3*W07*4**8",
        "AK4*1**6*ABC",
        "AK5*R*5",
        "AK2*944*0002",
        "AK5*A",
        "AK9*P*2*2*1",
      ]),
    );
  });

  it("SE count wrong: rejected 997 (AK5 code 4) and an untranslatable part at SE-01", () => {
    const { translation, acknowledgment } = translateX12(
      interchange([receipt("1", "3")], { seCount: () => "9" }),
      ctx(),
    );
    expect(translation.commands).toEqual([]);
    expect(translation.untranslatable).toEqual([expect.objectContaining({ at: "SE-01", value: "9" })]);
    expect(translation.untranslatable[0]?.reason).toContain("got '9', counted 5");
    expect(ack(acknowledgment)).toEqual(expect.arrayContaining(["AK5*R*4", "AK9*R*1*1*0"]));
  });

  it("IEA control number mismatch: every group rejected, an untranslatable part at IEA-02", () => {
    const { translation, acknowledgment } = translateX12(
      interchange([receipt("1", "3")], { ieaControl: "000000906" }),
      ctx(),
    );
    expect(translation.commands).toEqual([]);
    expect(translation.untranslatable).toEqual([
      expect.objectContaining({
        document: { type: "X12 interchange", id: "905" },
        at: "IEA-02",
        value: "906",
      }),
    ]);
    expect(ack(acknowledgment)).toEqual(expect.arrayContaining(["AK1*RE*905", "AK9*R*1*1*0"]));
    expect(acknowledgment).not.toContain("AK2");
  });

  it("a warehouse or item master data does not know: the set is accepted, the line dead-lettered", () => {
    const d = interchange([
      ["944", "W17*F*20260714*WR-5*DO-5", "N1*WH*ELSEWHERE*91*XX", "W07*3*EA**VN*ITEM123"],
      ["944", "W17*F*20260714*WR-6*DO-6", WH, "W07*3*EA**VN*NOPE"],
    ]);
    const { translation, acknowledgment } = translateX12(d, ctx());
    expect(translation.commands).toEqual([]);
    expect(translation.untranslatable.map((p) => [p.at, p.value])).toEqual([
      ["N1-04", "XX"],
      ["W07-05", "NOPE"],
    ]);
    expect(ack(acknowledgment)).toEqual(expect.arrayContaining(["AK9*A*2*2*2"]));
  });

  it("a fraction of a unit is untranslatable, never rounded; a unit the SKU does not have is named", () => {
    const d = interchange([
      [
        "944",
        "W17*F*20260714*WR-7*DO-7",
        WH,
        "W07*1.5*EA**VN*ITEM123",
        "W07*2*PL**VN*ITEM123",
        "W07*2.0*CA**VN*ITEM123",
      ],
    ]);
    const { translation } = translateX12(d, ctx());
    expect(translation.commands.map((c) => ("quantity" in c ? c.quantity : undefined))).toEqual([
      { value: 2, uom: "CA" },
    ]);
    expect(translation.untranslatable.map((p) => [p.at, p.value])).toEqual([
      ["W07-01", "1.5"],
      ["W07-02", "PL"],
    ]);
    expect(translation.untranslatable[0]?.reason).toContain("never rounded");
  });

  it("a set this connector does not read is rejected (AK5 code 1); a text that is not X12 is unreadable", () => {
    const r = translateX12(interchange([["850", "BEG*00*SA*PO1**20260714"]], { functionalId: "PO" }), ctx());
    expect(r.translation.untranslatable.map((p) => [p.at, p.value])).toEqual([["ST-01", "850"]]);
    expect(ack(r.acknowledgment)).toEqual(expect.arrayContaining(["AK5*R*1", "AK9*R*1*1*0"]));
    const bad = translateX12("hello", ctx());
    expect(bad.translation.untranslatable).toEqual([
      {
        document: { type: "X12 interchange" },
        at: "ISA",
        reason: "the document does not begin with an ISA segment",
      },
    ]);
    expect(bad.acknowledgment).toBe("");
  });

  it("a partner's 997 is named and not answered (an acknowledgment is never acknowledged)", () => {
    const r = translateX12(
      interchange([["997", "AK1*RE*905", "AK9*A*1*1*1"]], { functionalId: "FA" }),
      ctx(),
    );
    expect(r.translation.untranslatable.map((p) => [p.at, p.value])).toEqual([["GS-01", "FA"]]);
    expect(r.acknowledgment).toBe("");
  });

  it("a missing mandatory segment is AK3 code 3", () => {
    const r = translateX12(interchange([["944", WH, "W07*3*EA**VN*ITEM123"]]), ctx());
    expect(r.translation.untranslatable.map((p) => p.at)).toEqual(["W17"]);
    expect(ack(r.acknowledgment)).toEqual(expect.arrayContaining(["AK3*W17*4**3", "AK5*R*5"]));
  });
});
