/**
 * 846 Inventory Inquiry/Advice -> `recordCount` levels: what the warehouse had on hand as of the
 * advice's date and time (BIA-04, BIA-05), a bitemporal fact (the node turns it into the delta
 * against the balance as of that time, so a late advice never erases moves recorded after it).
 *
 * The location is the N1*WH of the heading, or an N1*WH inside the LIN loop. Each LIN names an item
 * (pairs LIN-02/03, 04/05, ...; `LT` is a lot); each QTY in its loop is a level of one status: QTY-01
 * `33` (available for sale) is available, any other qualifier maps through the source's status
 * vocabulary in master data (e.g. `statuses: { "acme-3pl": { "17": "available", "QH": "blocked" } }`),
 * and a qualifier it does not map is untranslatable. Quantities of one SKU, location and status
 * (several lots) are added: a count is per position and status, not per lot. QTY-03 names the unit.
 * Document id BIA-03; line = `<sku>@<location>:<status>`.
 */
import type { Location } from "../../domain/master-data.ts";
import type { StockStatus } from "../../domain/statuses.ts";
import { isoTime } from "./x12-elements.ts";
import { el, linesOf } from "./x12-interchange.ts";
import type { SetTranslation } from "./x12-mapping.ts";

interface Level {
  readonly sku: string;
  readonly location: Location;
  readonly status: StockStatus;
  readonly quantities: { readonly value: number; readonly uom: string }[];
}

export const translate846 = (t: SetTranslation): void => {
  const r = t.reader;
  const bia = t.header("BIA", "beginning segment for inventory inquiry/advice");
  if (!bia) return;
  t.id = r.text(bia, 3, "reference identification", true);
  const date = r.date(bia, 4, "date", true);
  const time = r.time(bia, 5, "time");
  const { heading, lines } = linesOf(t.set.segments, "LIN");
  if (lines.length === 0) t.header("LIN", "item identification");
  const headingWarehouse = heading.some((s) => s.tag === "N1" && el(s, 1) === "WH");
  const headingLocation = headingWarehouse ? t.location(["WH"], "the warehouse", heading) : undefined;
  const levels = new Map<string, Level>();
  // A level one of whose quantities cannot be read is not recorded at all (a part of it would be wrong).
  const spoilt = new Set<string>();
  let warehouseMissing = false;
  for (const { start: lin, rest } of lines) {
    const own = rest.some((s) => s.tag === "N1" && el(s, 1) === "WH");
    const location = own ? t.location(["WH"], "the warehouse", rest) : headingLocation;
    if (!own && !headingWarehouse && !warehouseMissing) {
      warehouseMissing = true;
      t.location(["WH"], "the warehouse", heading);
    }
    const pairs = Array.from({ length: 15 }, (_, i) => 2 + 2 * i);
    const sku = t.sku(lin, t.itemIds(lin, undefined, pairs));
    for (const qty of rest.filter((s) => s.tag === "QTY")) {
      const qualifier = r.text(qty, 1, "quantity qualifier", true);
      const amount = r.decimal(qty, 2, "quantity", true);
      if (!qualifier || amount === undefined || !sku || !location || !date) continue;
      const status =
        qualifier === "33" ? "available" : t.ctx.masterData.canonicalStatus(t.ctx.system, qualifier);
      if (!status) {
        t.untranslatable(
          qty,
          1,
          `quantity qualifier '${qualifier}': not a stock status; map it in master data statuses.${t.ctx.system} (33 is available)`,
        );
        continue;
      }
      const key = `${sku}@${location.id}:${status}`;
      const quantity = t.quantity(
        qty,
        { value: 2, uom: 3 },
        amount,
        t.firstComponent(qty, 3),
        sku,
        "level",
        "quantity",
      );
      if (!quantity) {
        spoilt.add(key);
        continue;
      }
      const level = levels.get(key) ?? { sku, location, status, quantities: [] };
      level.quantities.push(quantity);
      levels.set(key, level);
    }
  }
  if (!date) return;
  for (const [line, level] of levels) {
    if (spoilt.has(line)) {
      t.untranslatable(
        { tag: "QTY" },
        undefined,
        `the level of ${line} is not recorded: one of its quantities cannot be translated`,
      );
      continue;
    }
    t.commands.push({
      kind: "recordCount",
      ...t.common({ sku: level.sku, location: level.location, line, businessTime: isoTime(date, time) }),
      counted: t.sum(level.sku, level.quantities),
      status: level.status,
    });
  }
};
