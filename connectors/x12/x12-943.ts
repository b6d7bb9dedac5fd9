/**
 * 943 Warehouse Stock Transfer Shipment Advice (the depositor tells its warehouse that stock is on
 * the way to it) -> `expectReceipt` at the warehouse N1*WH names, per PO and SKU: the units shipped
 * (W04-01 in unit W04-02) are the open quantity the 944 receipt will count against.
 *
 * `po` is the line's N9*PO, else the heading's, else the depositor order number W06-02 (which the
 * warehouse's 944 echoes in W17-04). Expected at the estimated delivery G62*17, else the ship date
 * G62*11, else W06-03. Document id W06-02; line = `<po>:<sku>@<location>`. Lots are not carried
 * (an expectation is a level per PO and position).
 */

import type { Location } from "../../domain/master-data.ts";
import { poOf } from "./x12-944.ts";
import { g62Time } from "./x12-945.ts";
import { isoTime } from "./x12-elements.ts";
import { linesOf } from "./x12-interchange.ts";
import type { SetTranslation } from "./x12-mapping.ts";

export const translate943 = (t: SetTranslation): void => {
  const r = t.reader;
  const w06 = t.header("W06", "warehouse shipment identification");
  if (!w06) return;
  const order = r.text(w06, 2, "depositor order number", true);
  const date = r.date(w06, 3, "date");
  t.id = order;
  const { heading, lines } = linesOf(t.set.segments, "W04");
  if (lines.length === 0) t.header("W04", "item detail total");
  const expectedAt = g62Time(t, heading, ["17", "11"]) ?? (date ? isoTime(date) : undefined);
  if (!expectedAt && r.problems.length === 0)
    t.untranslatable(w06, 3, "no date: neither G62*17, G62*11 nor W06-03");
  const location = t.location(["WH"], "the receiving warehouse", heading);
  const headingPo = poOf(heading);
  const expected = new Map<
    string,
    { po: string; sku: string; location: Location; quantities: { value: number; uom: string }[] }
  >();
  const spoilt = new Set<string>();
  for (const { start: w04, rest } of lines) {
    const amount = r.decimal(w04, 1, "number of units shipped", true);
    const uom = r.text(w04, 2, "unit of measure", true);
    if (amount === undefined || !uom || !location || !order || !expectedAt) continue;
    const sku = t.sku(w04, t.itemIds(w04, 3, [4, 6]));
    if (!sku) continue;
    const po = poOf(rest) ?? headingPo ?? order;
    const key = `${po}:${sku}@${location.id}`;
    const quantity = t.quantity(w04, { value: 1, uom: 2 }, amount, uom, sku, "positive", "units shipped");
    if (!quantity) {
      spoilt.add(key);
      continue;
    }
    const entry = expected.get(key) ?? { po, sku, location, quantities: [] };
    entry.quantities.push(quantity);
    expected.set(key, entry);
  }
  if (!expectedAt) return;
  for (const [line, e] of expected) {
    if (spoilt.has(line)) {
      t.untranslatable(
        { tag: "W04" },
        undefined,
        `the expected quantity of ${line} is not announced: one of its lines cannot be translated`,
      );
      continue;
    }
    t.commands.push({
      kind: "expectReceipt",
      ...t.common({
        sku: e.sku,
        location: e.location,
        line,
        businessTime: date ? isoTime(date) : expectedAt,
      }),
      quantity: t.sum(e.sku, e.quantities),
      expectedAt,
      documents: { po: e.po },
    });
  }
};
