/**
 * The translator registry (services/connectors/registry.ts) hands each format's documents, as bytes,
 * to its translator: for one sample of each format in ../shared/samples the registry's answer is the
 * translator's own (so every transport yields what the translator's tests specify). Also: EPCIS's
 * schema is read from the configured file (a missing file is a configuration error), a Dynamics 365
 * payload's kind comes from the request or the file name, a snapshot is CSV or JSON by its name or its
 * first character, and bytes that are not JSON are one untranslatable part at `$`.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  translateBalanceSnapshotCsv,
  translateBalanceSnapshotJson,
} from "../../connectors/balance-snapshot/balance-snapshot.ts";
import {
  translateD365OnHandChange,
  translateD365SetOnHand,
} from "../../connectors/d365-inventory-visibility/d365-inventory-visibility.ts";
import { translateEpcis } from "../../connectors/epcis/translate-epcis.ts";
import { translateSapMaterialDocument } from "../../connectors/sap-material-document/sap-material-document.ts";
import type { TranslationContext } from "../../connectors/translation.ts";
import { translateX12 } from "../../connectors/x12/translate-x12.ts";
import { ConfigError } from "../../infra/config/config-loading.ts";
import type { ConnectorSource } from "../../infra/config/distributor-config.ts";
import { translatorOf } from "../../services/connectors/registry.ts";
import { masterData, schema } from "./epcis-fixture.ts";
import { samplePath } from "./erp-fixtures.ts";

const ctx: TranslationContext = {
  system: "src",
  masterData: masterData(),
  receivedAt: "2026-12-01T10:00:00Z",
};
const bytesOf = (...parts: string[]) => new Uint8Array(readFileSync(samplePath(...parts)));
const jsonOf = (...parts: string[]) => JSON.parse(readFileSync(samplePath(...parts), "utf8"));
const source = (
  format: ConnectorSource["format"],
  extra: Partial<ConnectorSource> = {},
): ConnectorSource => ({
  system: "src",
  format,
  ...extra,
});

describe("translator registry", () => {
  it("X12: the translation and the 997 of translateX12", () => {
    const r = translatorOf(source("x12"))({ bytes: bytesOf("x12", "944_stupidedi.edi") }, ctx);
    const direct = translateX12(readFileSync(samplePath("x12", "944_stupidedi.edi"), "utf8"), ctx);
    expect(r.translation).toEqual(direct.translation);
    expect(r.acknowledgment).toBe(direct.acknowledgment);
  });

  it("EPCIS: validated against the schema read from the configured file", () => {
    const file = samplePath("epcis", "EPCIS-JSON-Schema.json");
    const r = translatorOf(source("epcis", { epcisSchemaFile: file }))(
      { bytes: bytesOf("epcis", "Example_9.6.2-ObjectEvent.jsonld") },
      ctx,
    );
    expect(r.translation).toEqual(
      translateEpcis(jsonOf("epcis", "Example_9.6.2-ObjectEvent.jsonld"), { ...ctx, schema }),
    );
    expect(() => translatorOf(source("epcis", { epcisSchemaFile: "/nonexistent/schema.json" }))).toThrow(
      ConfigError,
    );
  });

  it("SAP: a material document; bytes that are not JSON are untranslatable at $", () => {
    const name = "material_document_create_gr_101_po.json";
    const translate = translatorOf(source("sap-material-document"));
    expect(translate({ bytes: bytesOf("payloads", "sap-s4hana", name) }, ctx).translation).toEqual(
      translateSapMaterialDocument(jsonOf("payloads", "sap-s4hana", name), ctx),
    );
    const broken = translate({ bytes: new TextEncoder().encode("{not json") }, ctx).translation;
    expect(broken.commands).toEqual([]);
    expect(broken.untranslatable).toEqual([
      expect.objectContaining({ at: "$", document: { type: "SAP material document" } }),
    ]);
  });

  it("Dynamics 365: on-hand change by default, set-on-hand by kind or by the file name", () => {
    const translate = translatorOf(source("d365-inventory-visibility"));
    const dir = ["payloads", "d365-inventory-visibility"];
    const setOnHand = jsonOf(...dir, "setonhand_bulk.json");
    const bytes = bytesOf(...dir, "setonhand_bulk.json");
    expect(translate({ bytes }, ctx).translation).toEqual(translateD365OnHandChange(setOnHand, ctx));
    expect(translate({ bytes, kind: "setonhand" }, ctx).translation).toEqual(
      translateD365SetOnHand(setOnHand, ctx),
    );
    expect(translate({ bytes, name: "drop/stock.setonhand.json" }, ctx).translation).toEqual(
      translateD365SetOnHand(setOnHand, ctx),
    );
    expect(translate({ bytes, kind: "bogus" }, ctx).translation.untranslatable[0]).toMatchObject({
      at: "kind",
      value: "bogus",
    });
  });

  it("balance snapshots: CSV or JSON by the file name (its id) or the first character", () => {
    const translate = translatorOf(source("balance-snapshot"));
    const csv = "item,location,on_hand\nSKU-1,DC-1,5\n";
    const json = { snapshotId: "S1", rows: [{ item: "SKU-1", location: "DC-1", onHand: 5 }] };
    const enc = (s: string) => new TextEncoder().encode(s);
    expect(translate({ bytes: enc(csv), name: "/in/legacy-2026-12-01.csv" }, ctx).translation).toEqual(
      translateBalanceSnapshotCsv(csv, ctx, { complete: false, documentId: "legacy-2026-12-01.csv" }),
    );
    expect(translate({ bytes: enc(JSON.stringify(json)) }, ctx).translation).toEqual(
      translateBalanceSnapshotJson(json, ctx, { complete: false }),
    );
  });
});
