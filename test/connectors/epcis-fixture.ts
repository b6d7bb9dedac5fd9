/**
 * What the EPCIS tests share: the samples folder (../shared/samples/epcis, never copied into the repo),
 * GS1's schema compiled once, and a small master data naming the samples' GLNs and GTINs.
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import * as E from "fp-ts/lib/Either.js";
import { expect } from "vitest";
import { compileEpcisSchema } from "../../connectors/epcis/epcis-schema.ts";
import { type EpcisTranslationContext, translateEpcis } from "../../connectors/epcis/translate-epcis.ts";
import { type Command, decodeCommand } from "../../domain/commands.ts";
import { decodeMasterData, type MasterData } from "../../domain/master-data.ts";

const here = path.dirname(fileURLToPath(import.meta.url));
export const SAMPLES = path.resolve(here, "../../../shared/samples/epcis");

export const sampleNames = (): string[] =>
  readdirSync(SAMPLES)
    .filter((f) => f.endsWith(".jsonld"))
    .sort();
export const sample = (name: string): Record<string, unknown> =>
  JSON.parse(readFileSync(path.join(SAMPLES, name), "utf8")) as Record<string, unknown>;

export const schema = compileEpcisSchema(
  JSON.parse(readFileSync(path.join(SAMPLES, "EPCIS-JSON-Schema.json"), "utf8")),
);

export const SYSTEM = "epcis-wms";

/** GLNs are those of the samples' SGLNs (company prefix + location reference + check digit). */
export const masterDataInput = {
  locations: [
    { id: "DC-AMS", region: "eu", gln: "0614141008889" }, // urn:epc:id:sgln:0614141.00888.0
    { id: "DC-SHIP", region: "eu", gln: "0614141073467" }, // urn:epc:id:sgln:0614141.07346.1234 (extension 1234 dropped)
    { id: "DC-RECV", region: "eu", gln: "0012345111112" }, // urn:epc:id:sgln:0012345.11111.0
    { id: "DC-NL2", region: "eu", gln: "9529999999993" }, // urn:epc:id:sgln:9529999.99999.0
    { id: "PLANT-DE", region: "eu", gln: "4012345000016" }, // urn:epc:id:sgln:4012345.00001.0
    { id: "DC-US", region: "us", gln: "0614141007776" }, // urn:epc:id:sgln:0614141.00777.0
  ],
  products: {
    items: [
      // lgtin 4012345.012345.998877 -> GTIN 04012345123456
      {
        sku: "COFFEE",
        baseUom: "GRM",
        conversions: [{ uom: "KGM", quantity: 1000, of: "GRM" }],
        codes: { [SYSTEM]: "04012345123456" },
      },
      { sku: "SUGAR", baseUom: "KGM", codes: { [SYSTEM]: "04012345111118" } }, // lgtin 4012345.011111.*
      { sku: "MILK", baseUom: "EA", codes: { [SYSTEM]: "0614141777778" } }, // lgtin 0614141.077777.* (as GTIN-13)
      { sku: "CAPS", baseUom: "EA", codes: { [SYSTEM]: "04012345666663" } }, // idpat sgtin 4012345.066666.*
      { sku: "WIDGET", baseUom: "EA", codes: { [SYSTEM]: "10614141073464" } }, // sgtin 0614141.107346.*
      { sku: "GADGET", baseUom: "EA", codes: { [SYSTEM]: "09520001123467" } }, // sgtin 9520001.012346.*
      { sku: "PART-A", baseUom: "EA", codes: { [SYSTEM]: "04012345111224" } }, // sgtin 4012345.011122.*
      { sku: "PART-B", baseUom: "EA", codes: { [SYSTEM]: "04000001654321" } }, // sgtin 4000001.065432.*
      { sku: "FINISHED", baseUom: "EA", codes: { [SYSTEM]: "04012345778892" } }, // sgtin 4012345.077889.*
    ],
  },
};

export const masterData = (input: unknown = masterDataInput): MasterData => {
  const md = decodeMasterData(input);
  if (E.isLeft(md)) throw new Error(JSON.stringify(md.left));
  return md.right;
};

export const ctx = (md: MasterData = masterData()): EpcisTranslationContext => ({
  system: SYSTEM,
  masterData: md,
  receivedAt: "2026-12-06T03:00:00Z",
  schema,
});

/** Every command passes the canonical codec as it is. */
export const expectDecodable = (commands: readonly Command[]): void => {
  for (const c of commands) expect(E.isRight(decodeCommand(c)), JSON.stringify(c)).toBe(true);
};

/** What every command of an event carries, for expected commands written out by hand. */
export const envelope = (
  eventKey: string,
  eventType: string,
  line: string,
  businessTime: string,
  position: { sku: string; location: string; region?: string },
) => ({
  idempotencyKey: `${SYSTEM}:${eventKey}:${line}`,
  source: { system: SYSTEM, document: { type: `EPCIS ${eventType}`, id: eventKey, line } },
  businessTime,
  correlationId: eventKey,
  position: { region: "eu", ...position },
});

/** Constructed documents (the samples lack them): one ObjectEvent at DC-AMS, a document of events. */
export const CONTEXT = ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"];
export const T = "2026-12-01T10:00:00Z";
export const COFFEE_LOT = "urn:epc:class:lgtin:4012345.012345.998877"; // GTIN 04012345123456 -> COFFEE (base GRM, 1 KGM = 1000 GRM)
export const COFFEE_LOT2 = "urn:epc:class:lgtin:4012345.012345.L2";
export const WIDGET = (serial: string) => `urn:epc:id:sgtin:0614141.107346.${serial}`; // -> WIDGET (EA)
export const AMS = { id: "urn:epc:id:sgln:0614141.00888.0" }; // DC-AMS
export const US = "urn:epc:id:sgln:0614141.00777.0"; // DC-US, another of our locations

export const event = (id: string, fields: Record<string, unknown>) => ({
  eventID: id,
  type: "ObjectEvent",
  eventTime: T,
  eventTimeZoneOffset: "+00:00",
  action: "OBSERVE",
  bizLocation: AMS,
  ...fields,
});
export const doc = (...events: unknown[]) => ({
  "@context": CONTEXT,
  type: "EPCISDocument",
  schemaVersion: "2.0",
  creationDate: T,
  epcisBody: { eventList: events },
});
export const run = (d: unknown, md = masterData()) => {
  const r = translateEpcis(d, ctx(md));
  expectDecodable(r.commands);
  return r;
};
export const at = (id: string, line: string, sku = "COFFEE", location = "DC-AMS", region = "eu") =>
  envelope(id, "ObjectEvent", line, T, { sku, location, region });
