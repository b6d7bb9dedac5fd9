/**
 * Which translator reads a source's documents (issue 11): a connector source of the configuration
 * (`connectors.sources[]`: a system and its format) gives one function from the document's bytes to
 * its canonical commands and untranslatable parts, plus the 997 for X12. Every transport (the HTTP
 * endpoint, the drop folder, `stockline translate`) goes through here, so a document yields the same
 * commands whichever way it came.
 *
 * Bytes are decoded here (UTF-8 text, JSON), not in the transports: a document that is not JSON is
 * one untranslatable part at `$`, like any other problem of the document. The translators stay pure
 * (connectors/<format>/); what they need from outside (the EPCIS JSON Schema file, Shopify's
 * last-known figures) is loaded or looked up here.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import {
  translateBalanceSnapshotCsv,
  translateBalanceSnapshotJson,
} from "../../connectors/balance-snapshot/balance-snapshot.ts";
import {
  D365_CHANGE_DOCUMENT,
  translateD365OnHandChange,
  translateD365SetOnHand,
} from "../../connectors/d365-inventory-visibility/d365-inventory-visibility.ts";
import {
  translateD365Reserve,
  translateD365Unreserve,
} from "../../connectors/d365-inventory-visibility/d365-reservations.ts";
import { compileEpcisSchema, type EpcisSchema } from "../../connectors/epcis/epcis-schema.ts";
import { translateEpcis } from "../../connectors/epcis/translate-epcis.ts";
import {
  SAP_DOCUMENT_TYPE,
  translateSapMaterialDocument,
} from "../../connectors/sap-material-document/sap-material-document.ts";
import {
  translateInventoryLevelDisconnect,
  translateInventoryLevelUpdate,
} from "../../connectors/shopify/shopify-inventory-level.ts";
import { parseShopifyJson } from "../../connectors/shopify/shopify-json.ts";
import { translateOrder } from "../../connectors/shopify/shopify-order.ts";
import type { ShopifyTranslation } from "../../connectors/shopify/shopify-translation.ts";
import {
  type Translation,
  type TranslationContext,
  type UntranslatablePart,
  unreadable,
} from "../../connectors/translation.ts";
import { translateX12 } from "../../connectors/x12/translate-x12.ts";
import { ConfigError } from "../../infra/config/config-loading.ts";
import type { ConnectorSource } from "../../infra/config/distributor-config.ts";

/** One document as a transport received it. */
export interface InboundDocument {
  readonly bytes: Uint8Array;
  /** The file's name (drop folder, CLI): tells a CSV snapshot from a JSON one and names a snapshot. */
  readonly name?: string;
  /**
   * Which payload of a format with several: Dynamics 365 `onhand` (default, single or bulk),
   * `setonhand`, `reserve`, `unreserve`; Shopify the webhook's topic (`X-Shopify-Topic`:
   * `inventory_levels/update`, `inventory_levels/disconnect`, `orders/create`, `orders/cancelled`).
   * (HTTP: `?kind=` or the topic header; drop folder: the file name's `.<kind>.json` suffix; CLI: `--kind`.)
   */
  readonly kind?: string;
}

export interface InboundResult {
  readonly translation: Translation;
  /** X12: the 997 answering the interchange(s) ("" when the document is no interchange). */
  readonly acknowledgment?: string;
  /** Parts read on purpose into nothing (a Shopify echo), with the reason; neither sent nor dead-lettered. */
  readonly ignored?: readonly UntranslatablePart[];
}

export type InboundTranslator = (doc: InboundDocument, ctx: TranslationContext) => InboundResult;

export const D365_KINDS = ["onhand", "setonhand", "reserve", "unreserve"] as const;

const text = (bytes: Uint8Array): string => new TextDecoder("utf-8").decode(bytes);

const parseJson = (
  bytes: Uint8Array,
  type: string,
): { ok: true; value: unknown } | { ok: false; translation: Translation } => {
  try {
    return { ok: true, value: JSON.parse(text(bytes)) };
  } catch (err) {
    return {
      ok: false,
      translation: unreadable({ type }, "$", `a JSON document: ${(err as Error).message}`),
    };
  }
};

const json =
  (type: string, translate: (value: unknown, ctx: TranslationContext) => Translation): InboundTranslator =>
  (doc, ctx) => {
    const parsed = parseJson(doc.bytes, type);
    return { translation: parsed.ok ? translate(parsed.value, ctx) : parsed.translation };
  };

/** The kind a file's name states (`stock.setonhand.json` -> `setonhand`), if one of `kinds`. */
export const kindOfName = (name: string | undefined, kinds: readonly string[]): string | undefined => {
  const parts = path.basename(name ?? "").split(".");
  return parts.length >= 3 ? kinds.find((k) => k === parts[parts.length - 2]) : undefined;
};

const d365: InboundTranslator = (doc, ctx) => {
  const kind = doc.kind ?? kindOfName(doc.name, D365_KINDS) ?? "onhand";
  const parsed = parseJson(doc.bytes, D365_CHANGE_DOCUMENT);
  if (!parsed.ok) return { translation: parsed.translation };
  switch (kind) {
    case "onhand":
      return { translation: translateD365OnHandChange(parsed.value, ctx) };
    case "setonhand":
      return { translation: translateD365SetOnHand(parsed.value, ctx) };
    case "reserve":
      return { translation: translateD365Reserve(parsed.value, ctx) };
    case "unreserve":
      return { translation: translateD365Unreserve(parsed.value, ctx) };
    default:
      return {
        translation: unreadable(
          { type: "D365 Inventory Visibility" },
          "kind",
          `one of ${D365_KINDS.join(", ")}`,
          kind,
        ),
      };
  }
};

const looksLikeJson = (doc: InboundDocument): boolean => {
  if (doc.name) return doc.name.toLowerCase().endsWith(".json");
  const first = text(doc.bytes.subarray(0, 64)).trimStart()[0];
  return first === "{" || first === "[";
};

const snapshot =
  (complete: boolean): InboundTranslator =>
  (doc, ctx) => {
    const opts = { complete, ...(doc.name ? { documentId: path.basename(doc.name) } : {}) };
    if (!looksLikeJson(doc)) return { translation: translateBalanceSnapshotCsv(text(doc.bytes), ctx, opts) };
    const parsed = parseJson(doc.bytes, "balance snapshot");
    return {
      translation: parsed.ok ? translateBalanceSnapshotJson(parsed.value, ctx, opts) : parsed.translation,
    };
  };

export const SHOPIFY_TOPICS = [
  "inventory_levels/update",
  "inventory_levels/disconnect",
  "orders/create",
  "orders/cancelled",
  "orders/updated",
] as const;

/**
 * Shopify webhooks by topic. Ids are read without losing digits (parseShopifyJson). An inventory
 * level is compared with what stockline last pushed; the connectors part does not know that yet
 * (the outbound push does), so an edit made in Shopify is an untranslatable part naming both figures.
 */
const shopify: InboundTranslator = (doc, ctx) => {
  const type = "Shopify webhook";
  const parsed = parseShopifyJson(doc.bytes);
  if (!parsed.ok) return { translation: unreadable({ type }, "$", parsed.reason) };
  const answer = (t: ShopifyTranslation): InboundResult => ({
    translation: { commands: t.commands, untranslatable: t.untranslatable },
    ignored: t.ignored,
  });
  switch (doc.kind) {
    case "inventory_levels/update":
      return answer(translateInventoryLevelUpdate(parsed.value, ctx));
    case "inventory_levels/disconnect":
      return answer(translateInventoryLevelDisconnect(parsed.value));
    case "orders/create":
    case "orders/cancelled":
    case "orders/updated":
      return answer(translateOrder(parsed.value, ctx));
    default:
      return {
        translation: unreadable(
          { type },
          "X-Shopify-Topic",
          `a webhook topic this connector reads (${SHOPIFY_TOPICS.join(", ")})`,
          doc.kind ?? null,
        ),
      };
  }
};

/** GS1's EPCIS JSON Schema from its file, compiled once per file; a missing or bad file is a configuration error. */
const schemas = new Map<string, EpcisSchema>();
export const loadEpcisSchema = (
  file: string,
  where = "connectors.sources[].epcisSchemaFile",
): EpcisSchema => {
  const full = path.resolve(file);
  const known = schemas.get(full);
  if (known) return known;
  let schema: EpcisSchema;
  try {
    schema = compileEpcisSchema(JSON.parse(readFileSync(full, "utf8")));
  } catch (err) {
    throw new ConfigError(
      where,
      [
        {
          path: where,
          value: file,
          expected: `a readable EPCIS JSON Schema (${(err as Error).message})`,
          message: `${where}: got ${JSON.stringify(file)}, expected a readable EPCIS JSON Schema (${(err as Error).message})`,
        },
      ],
      "EPCIS JSON Schema",
    );
  }
  schemas.set(full, schema);
  return schema;
};

/** The translator of a connector source. Throws a ConfigError when what it needs (a schema file) is missing. */
export const translatorOf = (source: ConnectorSource): InboundTranslator => {
  switch (source.format) {
    case "x12":
      return (doc, ctx) => {
        const r = translateX12(text(doc.bytes), ctx);
        return { translation: r.translation, acknowledgment: r.acknowledgment };
      };
    case "epcis": {
      if (!source.epcisSchemaFile)
        throw new ConfigError(
          "connectors",
          [
            {
              path: "epcisSchemaFile",
              value: undefined,
              expected: "the path of GS1's EPCIS JSON Schema",
              message: "epcisSchemaFile: expected the path of GS1's EPCIS JSON Schema",
            },
          ],
          "connector source",
        );
      const schema = loadEpcisSchema(source.epcisSchemaFile);
      return (doc, ctx) => ({ translation: translateEpcis(doc.bytes, { ...ctx, schema }) });
    }
    case "sap-material-document":
      return json(SAP_DOCUMENT_TYPE, (v, ctx) => translateSapMaterialDocument(v, ctx));
    case "d365-inventory-visibility":
      return d365;
    case "balance-snapshot":
      return snapshot(source.complete ?? false);
    case "shopify":
      return shopify;
  }
};
