import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ledgerPostingsFor, type PostingsFor, traceCorrelation } from "../../services/audit/trace.ts";
import { PostingsLedger } from "../../services/postings/postings-ledger.ts";
import {
  buildFixture,
  DESTINATION,
  eventsOf,
  type Fixture,
  ORIGIN,
  TRANSFER_CORRELATION,
} from "./audit-fixture.ts";

let f: Fixture;
beforeEach(async () => {
  f = await buildFixture();
});
afterEach(async () => {
  await f.close();
});

describe("trace by correlation id", () => {
  it("follows a transfer across regions: the shipment at the origin and the inbound it caused at the destination", async () => {
    const shipped = eventsOf(f, ORIGIN).find((e) => e.type === "TransferShipped")!;
    const inbound = eventsOf(f, DESTINATION).find((e) => e.type === "TransferInboundRecorded")!;
    const t = await traceCorrelation(TRANSFER_CORRELATION, [
      { name: "eu-west", store: f.eu },
      { name: "us-east", store: f.us },
    ]);
    expect(t.regions).toEqual(["eu-west", "us-east"]);
    expect(t.events.map((e) => [e.region, e.location, e.type, e.eventId, e.causedBy])).toEqual([
      ["eu-west", ORIGIN.location, "TransferShipped", shipped.eventId, null],
      ["us-east", DESTINATION.location, "TransferInboundRecorded", inbound.eventId, shipped.eventId],
    ]);
    expect(t.sourceDocuments).toEqual([
      { system: "wms", document: "transferOrder TO-9-out", eventIds: [shipped.eventId, inbound.eventId] },
    ]);
    expect(t.events.every((e) => e.documents.transferOrder === "TO-9")).toBe(true);
    expect(t.searched.map((s) => s.method)).toEqual(["index", "index"]);
  });

  it("finds the same events by scanning the global log when the store has no correlation index", async () => {
    const viaIndex = await traceCorrelation(TRANSFER_CORRELATION, [{ name: "eu", store: f.eu }]);
    const viaScan = await traceCorrelation(TRANSFER_CORRELATION, [
      { name: "eu", store: { readAll: (o) => f.eu.readAll(o) } },
    ]);
    expect(viaScan.events).toEqual(viaIndex.events);
    expect(viaScan.searched[0]).toMatchObject({ method: "scan", scanned: await f.eu.lastGlobalPosition() });
  });

  it("shows the postings and acknowledgements the postings ledger recorded for those events", async () => {
    const ledger = new PostingsLedger(join(f.dir, "postings.db"));
    try {
      const shipped = eventsOf(f, ORIGIN).find((e) => e.type === "TransferShipped")!;
      const inbound = eventsOf(f, DESTINATION).find((e) => e.type === "TransferInboundRecorded")!;
      const unrelated = eventsOf(f, ORIGIN)[0]!;
      const sap = ledger.open({ key: shipped.eventId, target: "sap-eu", event: shipped, effect: -20 });
      ledger.markAcked(sap.id, { documentId: "4900000123", duplicate: false, callMs: 12 });
      const d365 = ledger.open({ key: inbound.eventId, target: "d365-us", event: inbound, effect: 20 });
      ledger.markFailed(d365.id, {
        error: "503 from target",
        errorClass: "server",
        callMs: 30,
        charged: true,
      });
      ledger.open({ key: unrelated.eventId, target: "sap-eu", event: unrelated, effect: 100 });

      const asked: string[][] = [];
      const postingsFor: PostingsFor = (ids, corr) => {
        asked.push([...ids]);
        return ledgerPostingsFor(ledger)(ids, corr);
      };
      const t = await traceCorrelation(
        TRANSFER_CORRELATION,
        [
          { name: "eu-west", store: f.eu },
          { name: "us-east", store: f.us },
        ],
        postingsFor,
      );
      expect(asked).toEqual([[shipped.eventId, inbound.eventId]]);
      expect(
        t.events.map((e) => e.postings.map((p) => [p.target, p.status, p.targetDocument, p.attempts])),
      ).toEqual([[["sap-eu", "acked", "4900000123", 1]], [["d365-us", "failed", null, 1]]]);
      expect(t.postingSummary).toEqual({ acked: 1, failed: 1 });
    } finally {
      ledger.close();
    }
  });

  it("an unknown correlation id yields an empty trace", async () => {
    const t = await traceCorrelation("nobody", [{ name: "eu", store: f.eu }]);
    expect(t.events).toEqual([]);
    expect(t.sourceDocuments).toEqual([]);
  });
});
