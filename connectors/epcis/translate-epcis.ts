/**
 * GS1 EPCIS 2.0 JSON / JSON-LD to canonical commands (issue 11; mapping in connectors/epcis/README.md).
 *
 * Takes an EPCISDocument (`epcisBody.eventList`), an EPCISQueryDocument
 * (`epcisBody.queryResults.resultsBody.eventList`) or a single event, as parsed JSON or as text. The
 * document is validated against GS1's EPCIS JSON Schema first: a violation inside an event makes
 * that event untranslatable (its eventID and the JSON path named), the other events are translated;
 * a violation outside the events makes the whole document untranslatable.
 *
 * Keys: every command of an event is keyed `<system>:<eventID>:<line>`, its correlation id the eventID.
 * An event without eventID (optional in EPCIS) is named `sha256:<hex>`, the SHA-256 of its canonical
 * JSON (keys sorted) without `recordTime` (set by the repository that stored it) and `errorDeclaration`
 * (so that a declaration of an event without eventID names the same event): the same event sent twice
 * yields the same keys.
 */
import { canonicalJson, sha256Hex } from "../../domain/canonical-json.ts";
import type { Command } from "../../domain/commands.ts";
import {
  type Translation,
  type TranslationContext,
  translation,
  type UntranslatablePart,
  unreadable,
} from "../translation.ts";
import type { EpcisSchema, SchemaProblem } from "./epcis-schema.ts";
import { reversals } from "./error-declaration.ts";
import { type EpcisEvent, eventCommands } from "./event-commands.ts";
import { namesTradeItems } from "./event-items.ts";

export interface EpcisTranslationContext extends TranslationContext {
  /** GS1's EPCIS JSON Schema, compiled once by the caller (`compileEpcisSchema`). */
  readonly schema: EpcisSchema;
}

const DOCUMENT_TYPES = new Set(["EPCISDocument", "EPCISQueryDocument"]);
const EVENT_TYPES = new Set([
  "ObjectEvent",
  "AggregationEvent",
  "TransactionEvent",
  "TransformationEvent",
  "AssociationEvent",
]);

/** The key of an event: its eventID, or the hash of its canonical JSON. */
export const eventKeyOf = (event: Readonly<Record<string, unknown>>): string => {
  if (typeof event.eventID === "string" && event.eventID.length > 0) return event.eventID;
  const { recordTime: _r, errorDeclaration: _e, ...rest } = event;
  return `sha256:${sha256Hex(canonicalJson(rest))}`;
};

const isObject = (u: unknown): u is Record<string, unknown> =>
  typeof u === "object" && u !== null && !Array.isArray(u);

/** Where the events of a document are: [JSON pointer of the list, JSON path of the list, the list]. */
const eventsOf = (
  doc: Record<string, unknown>,
): { pointer: string[]; path: string; events: unknown[] } | undefined => {
  const body = isObject(doc.epcisBody) ? doc.epcisBody : undefined;
  if (doc.type === "EPCISDocument" && body && Array.isArray(body.eventList))
    return { pointer: ["epcisBody", "eventList"], path: "$.epcisBody.eventList", events: body.eventList };
  const results =
    isObject(body?.queryResults) && isObject(body.queryResults.resultsBody)
      ? body.queryResults.resultsBody
      : undefined;
  if (doc.type === "EPCISQueryDocument" && results && Array.isArray(results.eventList))
    return {
      pointer: ["epcisBody", "queryResults", "resultsBody", "eventList"],
      path: "$.epcisBody.queryResults.resultsBody.eventList",
      events: results.eventList,
    };
  return undefined;
};

const startsWith = (pointer: readonly string[], prefix: readonly string[]) =>
  prefix.every((s, i) => pointer[i] === s);

const parse = (input: unknown): { ok: true; value: unknown } | { ok: false; reason: string } => {
  if (typeof input !== "string" && !(input instanceof Uint8Array)) return { ok: true, value: input };
  try {
    return {
      ok: true,
      value: JSON.parse(typeof input === "string" ? input : new TextDecoder().decode(input)),
    };
  } catch (e) {
    return { ok: false, reason: `JSON (an EPCIS 2.0 JSON or JSON-LD document): ${(e as Error).message}` };
  }
};

export const translateEpcis = (input: unknown, ctx: EpcisTranslationContext): Translation => {
  const parsed = parse(input);
  if (!parsed.ok) return unreadable({ type: "EPCIS" }, "$", parsed.reason);
  const doc = parsed.value;
  const docType = isObject(doc) && typeof doc.type === "string" ? doc.type : undefined;
  const document = {
    type: `EPCIS ${docType ?? "document"}`,
    ...(isObject(doc) && typeof doc.id === "string" ? { id: doc.id } : {}),
  };
  const known = docType !== undefined && (EVENT_TYPES.has(docType) || DOCUMENT_TYPES.has(docType));
  if (isObject(doc) && !known)
    return unreadable(
      document,
      "$.type",
      "an EPCISDocument, an EPCISQueryDocument or an EPCIS 2.0 event",
      docType,
    );
  const problems = ctx.schema.validate(doc);
  if (!isObject(doc) || docType === undefined || (!EVENT_TYPES.has(docType) && !eventsOf(doc)))
    return problems.length > 0
      ? translation(
          [],
          problems.map((p) => ({ document, at: p.at, reason: p.reason })),
        )
      : unreadable(
          document,
          "$.type",
          "an EPCISDocument, an EPCISQueryDocument or an EPCIS 2.0 event",
          docType,
        );

  const list = EVENT_TYPES.has(docType)
    ? { pointer: [], path: "$", events: [doc], single: true }
    : { ...eventsOf(doc)!, single: false };
  const eventPointer = (i: number) => (list.single ? [] : [...list.pointer, String(i)]);
  // A violation outside every event: the document cannot be read.
  const outside = problems.filter((p) => !list.events.some((_, i) => startsWith(p.pointer, eventPointer(i))));
  if (outside.length > 0)
    return translation(
      [],
      outside.map((p) => ({ document, at: p.at, reason: p.reason })),
    );

  const commands: Command[] = [];
  const untranslatable: UntranslatablePart[] = [];
  list.events.forEach((raw, i) => {
    const path = list.single ? "$" : `${list.path}[${i}]`;
    const event = (isObject(raw) ? raw : {}) as EpcisEvent;
    const key = eventKeyOf(event);
    const eventDoc = { type: `EPCIS ${typeof event.type === "string" ? event.type : "event"}`, id: key };
    const mine: readonly SchemaProblem[] = problems.filter((p) => startsWith(p.pointer, eventPointer(i)));
    if (mine.length > 0) {
      for (const p of mine)
        untranslatable.push({
          document: eventDoc,
          at: p.at,
          reason: `valid EPCIS 2.0 (GS1 EPCIS JSON Schema): ${p.reason}`,
        });
      return;
    }
    const r = translateEvent(event, path, key, ctx);
    commands.push(...r.commands);
    for (const p of r.problems) untranslatable.push({ document: eventDoc, ...p });
  });
  return translation(commands, untranslatable);
};

/** The translator with its schema bound, in the shape every connector has (`(input, ctx) => Translation`). */
export const epcisTranslator =
  (schema: EpcisSchema) =>
  (input: unknown, ctx: TranslationContext): Translation =>
    translateEpcis(input, { ...ctx, schema });

const NOT_A_MOVEMENT: Readonly<Record<string, string>> = {
  AggregationEvent:
    "an AggregationEvent records what is packed in what (parentID, childEPCs), not a movement of stock: stockline takes movements from ObjectEvents and TransformationEvents of the same objects",
  TransactionEvent:
    "a TransactionEvent links objects to a business transaction, not a movement of stock: stockline takes movements from ObjectEvents and TransformationEvents of the same objects",
  AssociationEvent:
    "an AssociationEvent links objects to an asset (sensors, returnable assets), not a movement of stock",
};

const translateEvent = (
  event: EpcisEvent,
  path: string,
  key: string,
  ctx: EpcisTranslationContext,
): { commands: readonly Command[]; problems: readonly { at: string; value?: unknown; reason: string }[] } => {
  const notAMovement = NOT_A_MOVEMENT[event.type];
  if (notAMovement !== undefined) {
    // Nothing when it names no trade item (a patient's GSRN, a rail vehicle's GIAI): no stock is concerned.
    const tradeItems =
      namesTradeItems(event.epcList, event.quantityList) ||
      namesTradeItems(event.childEPCs, event.childQuantityList);
    return tradeItems
      ? { commands: [], problems: [{ at: path, value: event.type, reason: notAMovement }] }
      : { commands: [], problems: [] };
  }
  if (event.type !== "ObjectEvent" && event.type !== "TransformationEvent")
    return {
      commands: [],
      problems: [
        {
          at: `${path}.type`,
          value: event.type,
          reason: "an EPCIS 2.0 event type (ObjectEvent, TransformationEvent, ...)",
        },
      ],
    };
  const r = eventCommands({ system: ctx.system, md: ctx.masterData, key, path, event });
  if (!event.errorDeclaration) return r;
  const back = reversals(r.commands, event.errorDeclaration.reason, () => `${path}.errorDeclaration`);
  return { commands: back.commands, problems: [...r.problems, ...back.problems] };
};
