/**
 * 945 Warehouse Shipping Advice -> per W12 line a `confirmPick` and a `postShipment` (units shipped W12-03 in unit
 * W12-05) at the warehouse the N1*WH (else N1*SF, ship from) names, when it shipped: G62*11 with its
 * time, else the W06-03 date.
 *
 * Document id W06-04 (shipment identification) when given, else the depositor order number W06-02
 * (so partial shipments of one order stay apart when the warehouse numbers its shipments); line =
 * the W12's ordinal. `order` is W06-02, `po` W06-06. Lot W12-09. A line that shipped nothing
 * (W12-03 zero or absent) moves no stock and is reported as untranslatable, not skipped.
 * Not read: W12-01 status and W12-04 difference (the units shipped say what left), W03 totals.
 *
 * Why a pick too: a 3PL answers a 940 shipping order with the 945 and reports no picks of its own, so
 * the pick is recorded with the goods issue (as SAP's 601 does), taking the goods from available stock
 * and consuming the order's reservation; a shipment alone would take them from picked stock that was
 * never picked (a negative picked balance, and ATP left too high). Its key is the line's with `:pick`.
 */
import type { Command } from "../../domain/commands.ts";
import { isoTime } from "./x12-elements.ts";
import { el, linesOf, type Segment } from "./x12-interchange.ts";
import type { SetTranslation } from "./x12-mapping.ts";

/** The date (and time) of the first G62 with one of these qualifiers, read by the set's reader. */
export const g62Time = (t: SetTranslation, segments: readonly Segment[], qualifiers: readonly string[]) => {
  for (const q of qualifiers) {
    const g62 = segments.find((s) => s.tag === "G62" && el(s, 1) === q);
    if (!g62) continue;
    const date = t.reader.date(g62, 2, `date (qualifier ${q})`, true);
    const time = t.reader.time(g62, 4, `time (qualifier ${q})`);
    return date ? isoTime(date, time) : undefined;
  }
  return undefined;
};

export const translate945 = (t: SetTranslation): void => {
  const r = t.reader;
  const w06 = t.header("W06", "warehouse shipment identification");
  if (!w06) return;
  const order = r.text(w06, 2, "depositor order number", true);
  const date = r.date(w06, 3, "shipment date");
  const shipment = r.text(w06, 4, "shipment identification number");
  const po = r.text(w06, 6, "purchase order number");
  t.id = shipment ?? order;
  const { heading, lines } = linesOf(t.set.segments, "W12");
  if (lines.length === 0) t.header("W12", "warehouse item detail");
  const shippedAt = g62Time(t, heading, ["11"]) ?? (date ? isoTime(date) : undefined);
  if (!shippedAt && date === undefined && r.problems.length === 0)
    t.untranslatable(w06, 3, "no shipment date: neither G62*11 nor W06-03");
  const location = t.location(["WH", "SF"], "the shipping warehouse", heading);
  lines.forEach(({ start: w12 }, i) => {
    const amount = r.decimal(w12, 3, "number of units shipped") ?? 0;
    const uom = r.text(w12, 5, "unit of measure") ?? "";
    if (!shippedAt || !location || !order) return;
    const sku = t.sku(w12, t.itemIds(w12, 6, [7, 17]));
    if (!sku) return;
    const quantity = t.quantity(w12, { value: 3, uom: 5 }, amount, uom, sku, "positive", "units shipped");
    const lot = r.text(w12, 9, "warehouse lot number");
    if (!quantity || !t.lotRequired(w12, 9, sku, lot)) return;
    const common = t.common({ sku, location, line: String(i + 1), businessTime: shippedAt });
    const moved = { quantity, ...(lot ? { lot } : {}), documents: { order, ...(po ? { po } : {}) } };
    const pick: Command = {
      kind: "confirmPick",
      ...common,
      idempotencyKey: `${common.idempotencyKey}:pick`,
      ...moved,
    };
    const shipment: Command = { kind: "postShipment", ...common, ...moved };
    t.commands.push(pick, shipment);
  });
};
