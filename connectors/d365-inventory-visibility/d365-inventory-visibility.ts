/**
 * Dynamics 365 Inventory Visibility to canonical commands: on-hand change events (`POST /onhand`,
 * one event; `/onhand/bulk`, an array) as movements through the measure table (d365-measures.ts),
 * and set-on-hand (`/setonhand/{inventorySystem}/bulk`) as counts: an absolute level as of its
 * `modifiedDateTimeUTC` (else the time received), which the node places bitemporally. The two have
 * the same shape, so the caller (the transport, which knows the endpoint) says which it is.
 * Reservations: d365-reservations.ts.
 *
 * Each event is translated whole or not at all; its parts are named by JSON path (`[1].dimensions.SiteId`).
 */
import type { Command } from "../../domain/commands.ts";
import { unitsOf } from "../../domain/units.ts";
import { businessTimeOf, isRecord, parseDecimal, quantityIn, type Read } from "../source-values.ts";
import {
  type Translation,
  type TranslationContext,
  translation,
  type UntranslatablePart,
  unreadable,
} from "../translation.ts";
import { type D365Event, type DimensionOptions, type Problem, readEvent } from "./d365-event.ts";
import { type D365Measure, measureTable } from "./d365-measures.ts";

export const D365_CHANGE_DOCUMENT = "D365 on-hand change";
export const D365_SET_DOCUMENT = "D365 set on-hand";

export interface D365Options extends DimensionOptions {
  /** Physical measures and their meaning (default D365_MEASURES). */
  readonly measures?: Readonly<Record<string, D365Measure>>;
}

type EventTranslator = (
  e: unknown,
  at: (path: string) => string,
  ctx: TranslationContext,
  opts: D365Options,
) => { commands: Command[]; problems: Problem[]; id?: string };

/** One event or an array of them (bulk); each event's parts prefixed with its index in a bulk. */
export const eachEvent = (
  json: unknown,
  type: string,
  ctx: TranslationContext,
  opts: D365Options,
  one: EventTranslator,
) => {
  if (!Array.isArray(json) && !isRecord(json))
    return unreadable({ type }, "$", "an Inventory Visibility event or an array of them", json);
  const events = Array.isArray(json) ? json : [json];
  const commands: Command[] = [];
  const untranslatable: UntranslatablePart[] = [];
  events.forEach((e, i) => {
    const prefix = Array.isArray(json) ? `[${i}]` : "";
    const at = (path: string) => (path === "" ? prefix || "$" : prefix ? `${prefix}.${path}` : path);
    const r = one(e, at, ctx, opts);
    commands.push(...r.commands);
    const document = { type, ...(r.id ? { id: r.id } : {}) };
    untranslatable.push(...r.problems.map((p) => ({ document, ...p })));
  });
  return translation(commands, untranslatable);
};

/** The event's quantities as `{ ds, measure, path, value }`, names in lower case; problems for non-numbers. */
const quantitiesOf = (
  raw: unknown,
  problem: (path: string, value: unknown, reason: string) => void,
): { ds: string; measure: string; path: string; raw: unknown }[] => {
  if (!isRecord(raw)) {
    problem("quantities", raw, "quantities { <datasource>: { <measure>: number } }");
    return [];
  }
  const out: { ds: string; measure: string; path: string; raw: unknown }[] = [];
  for (const [ds, measures] of Object.entries(raw)) {
    if (!isRecord(measures)) {
      problem(`quantities.${ds}`, measures, "{ <measure>: number }");
      continue;
    }
    for (const [measure, value] of Object.entries(measures))
      out.push({
        ds: ds.toLowerCase(),
        measure: measure.toLowerCase(),
        path: `quantities.${ds}.${measure}`,
        raw: value,
      });
  }
  if (out.length === 0) problem("quantities", raw, "at least one measure");
  return out;
};

const timeOf = (e: Record<string, unknown>, ctx: TranslationContext): Read<string> =>
  e.modifiedDateTimeUTC === undefined
    ? { ok: true, value: ctx.receivedAt }
    : businessTimeOf(e.modifiedDateTimeUTC);

const common = (
  ctx: TranslationContext,
  ev: D365Event,
  type: string,
  line: string,
  key: string,
  time: string,
) => ({
  idempotencyKey: key,
  source: { system: ctx.system, document: { type, id: ev.id, line } },
  businessTime: time,
  correlationId: ev.id,
  position: { region: ev.location.region, location: ev.location.id, sku: ev.sku },
});

const changeEvent: EventTranslator = (e, at, ctx, opts) => {
  const { problems, event, id } = readEvent(e, at, ctx, opts);
  const problem = (path: string, value: unknown, reason: string) =>
    problems.push({ at: at(path), ...(value === undefined ? {} : { value }), reason });
  const record = isRecord(e) ? e : {};
  const time = timeOf(record, ctx);
  if (!time.ok) problem("modifiedDateTimeUTC", record.modifiedDateTimeUTC, time.reason);
  const table = measureTable(opts.measures);
  const moves: {
    name: string;
    path: string;
    rule: D365Measure;
    amount: { value: number; uom: string };
    sign: 1 | -1;
  }[] = [];
  for (const q of quantitiesOf(record.quantities, problem)) {
    const name = `${q.ds}.${q.measure}`;
    const rule = table.get(name);
    if (!rule) {
      problem(q.path, q.raw, `a measure of the table (${[...table.keys()].join(", ")})`);
      continue;
    }
    const amount = parseDecimal(typeof q.raw === "number" ? q.raw : undefined);
    if (amount === undefined) {
      problem(q.path, q.raw, "a number");
      continue;
    }
    if (amount.digits === 0n || !event) continue; // a zero change moves nothing
    const baseUom = unitsOf(ctx.masterData.units, event.sku)?.baseUom ?? "";
    const quantity = quantityIn(ctx.masterData, event.sku, amount, baseUom);
    if (!quantity.ok) {
      problem(q.path, q.raw, quantity.reason);
      continue;
    }
    const sign = ((quantity.value.negative ? -1 : 1) * rule.onHand) as 1 | -1;
    moves.push({
      name,
      path: q.path,
      rule,
      amount: { value: quantity.value.value, uom: quantity.value.uom },
      sign,
    });
  }
  if (problems.length > 0 || !event || !time.ok) return { commands: [], problems, ...(id ? { id } : {}) };
  const commands = moves.flatMap((m): Command[] => {
    const key = `${ctx.system}:${event.organizationId}:${event.id}:${m.name}`;
    const base = (suffix = "") =>
      common(ctx, event, D365_CHANGE_DOCUMENT, m.name, `${key}${suffix}`, time.value);
    const lot = event.lot ? { lot: event.lot } : {};
    if (m.sign > 0 && m.rule.kind === "receipt")
      return [{ kind: "receiveGoods", ...base(), quantity: m.amount, status: event.status, ...lot }];
    if (m.sign < 0 && m.rule.kind === "shipment" && event.status === "available")
      return [
        { kind: "confirmPick", ...base(":pick"), quantity: m.amount, ...lot },
        { kind: "postShipment", ...base(), quantity: m.amount, ...lot },
      ];
    return [
      {
        kind: "adjustStock",
        ...base(),
        quantity: { value: m.sign * m.amount.value, uom: m.amount.uom },
        reasonCode: `D365-${m.name}`,
        status: event.status,
      },
    ];
  });
  return { commands, problems, id: event.id };
};

const setEvent: EventTranslator = (e, at, ctx, opts) => {
  const { problems, event, id } = readEvent(e, at, ctx, opts);
  const problem = (path: string, value: unknown, reason: string) =>
    problems.push({ at: at(path), ...(value === undefined ? {} : { value }), reason });
  const record = isRecord(e) ? e : {};
  const time = timeOf(record, ctx);
  if (!time.ok) problem("modifiedDateTimeUTC", record.modifiedDateTimeUTC, time.reason);
  const table = measureTable(opts.measures);
  // The levels summed exactly, as decimals brought to a common scale.
  let digits = 0n;
  let scale = 0;
  for (const q of quantitiesOf(record.quantities, problem)) {
    const rule = table.get(`${q.ds}.${q.measure}`);
    const amount = parseDecimal(typeof q.raw === "number" ? q.raw : undefined);
    if (!rule) problem(q.path, q.raw, `a measure of the table (${[...table.keys()].join(", ")})`);
    else if (amount === undefined || amount.digits < 0n)
      problem(q.path, q.raw, "a level: a number of at least 0");
    else {
      const s = Math.max(scale, amount.scale);
      digits =
        digits * 10n ** BigInt(s - scale) +
        BigInt(rule.onHand) * amount.digits * 10n ** BigInt(s - amount.scale);
      scale = s;
    }
  }
  if (problems.length > 0 || !event || !time.ok) return { commands: [], problems, ...(id ? { id } : {}) };
  if (digits < 0n) {
    problem("quantities", record.quantities, "levels whose on hand (inbound less outbound) is at least 0");
    return { commands: [], problems, id: event.id };
  }
  const baseUom = unitsOf(ctx.masterData.units, event.sku)?.baseUom ?? "";
  const level = quantityIn(ctx.masterData, event.sku, { digits, scale }, baseUom);
  if (!level.ok) {
    problem("quantities", record.quantities, level.reason);
    return { commands: [], problems, id: event.id };
  }
  const key = `${ctx.system}:${event.organizationId}:${event.id}:setonhand`;
  return {
    commands: [
      {
        kind: "recordCount",
        ...common(ctx, event, D365_SET_DOCUMENT, "setonhand", key, time.value),
        counted: { value: level.value.value, uom: level.value.uom },
        status: event.status,
      },
    ],
    problems,
    id: event.id,
  };
};

/** On-hand change events: `POST /onhand` (one) or `/onhand/bulk` (an array). */
export const translateD365OnHandChange = (
  json: unknown,
  ctx: TranslationContext,
  opts: D365Options = {},
): Translation => eachEvent(json, D365_CHANGE_DOCUMENT, ctx, opts, changeEvent);

/** Set-on-hand (`/setonhand/{inventorySystem}/bulk`): one count per event. */
export const translateD365SetOnHand = (
  json: unknown,
  ctx: TranslationContext,
  opts: D365Options = {},
): Translation => eachEvent(json, D365_SET_DOCUMENT, ctx, opts, setEvent);
