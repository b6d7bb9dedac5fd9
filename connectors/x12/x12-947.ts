/**
 * 947 Warehouse Inventory Adjustment Advice -> per W19 line, at the warehouse N1*WH names, on the
 * adjustment date W15-01:
 * - a status move when the reason code (W19-01, X12 element 181) says one: 05 product put on hold
 *   (available -> blocked), 55 taken off hold (blocked -> available), 08 put in quality inspection
 *   (available -> inspection), 88 removed from quality inspection (inspection -> available):
 *   `changeStatus` of the quantity's magnitude;
 * - otherwise `adjustStock` of the signed credit/debit quantity W19-02 (negative: a debit) with the
 *   reason code as `reasonCode` (AA physical count, AU damaged in facility, 07 destroyed, ...).
 *
 * Document id W15-02 (warehouse adjustment number), else W15-03 (depositor's); line = the W19's
 * ordinal. Lot W19-09.
 */
import type { Command } from "../../domain/commands.ts";
import type { StockStatus } from "../../domain/statuses.ts";
import { isoTime } from "./x12-elements.ts";
import { linesOf } from "./x12-interchange.ts";
import type { SetTranslation } from "./x12-mapping.ts";

const STATUS_MOVES: Readonly<Record<string, readonly [StockStatus, StockStatus]>> = {
  "05": ["available", "blocked"],
  "55": ["blocked", "available"],
  "08": ["available", "inspection"],
  "88": ["inspection", "available"],
};

export const translate947 = (t: SetTranslation): void => {
  const r = t.reader;
  const w15 = t.header("W15", "warehouse adjustment identification");
  if (!w15) return;
  const date = r.date(w15, 1, "adjustment date", true);
  t.id = r.text(w15, 2, "warehouse adjustment number") ?? r.text(w15, 3, "depositor adjustment number");
  if (!t.id) r.text(w15, 2, "warehouse adjustment number (or W15-03)", true);
  const { heading, lines } = linesOf(t.set.segments, "W19");
  if (lines.length === 0) t.header("W19", "warehouse adjustment item detail");
  const location = t.location(["WH"], "the warehouse", heading);
  lines.forEach(({ start: w19 }, i) => {
    const reason = r.text(w19, 1, "quantity or status adjustment reason code", true);
    const amount = r.decimal(w19, 2, "credit/debit quantity", true);
    const uom = r.text(w19, 3, "unit of measure", true);
    if (!reason || amount === undefined || !uom || !date || !location || !t.id) return;
    const sku = t.sku(w19, t.itemIds(w19, 4, [5, 7, 17]));
    if (!sku) return;
    const lot = r.text(w19, 9, "warehouse lot number");
    const common = t.common({ sku, location, line: String(i + 1), businessTime: isoTime(date) });
    const move = Object.hasOwn(STATUS_MOVES, reason) ? STATUS_MOVES[reason] : undefined;
    if (move) {
      const quantity = t.quantity(
        w19,
        { value: 2, uom: 3 },
        Math.abs(amount),
        uom,
        sku,
        "positive",
        "status move",
      );
      if (!quantity || !t.lotRequired(w19, 9, sku, lot)) return;
      const command: Command = {
        kind: "changeStatus",
        ...common,
        quantity,
        fromStatus: move[0],
        toStatus: move[1],
        ...(lot ? { lot } : {}),
      };
      t.commands.push(command);
      return;
    }
    // adjustStock carries no lot: the lot of an adjustment is not kept (the position is per SKU and location).
    const quantity = t.quantity(
      w19,
      { value: 2, uom: 3 },
      amount,
      uom,
      sku,
      "delta",
      "credit/debit quantity",
    );
    if (!quantity) return;
    const command: Command = { kind: "adjustStock", ...common, quantity, reasonCode: reason };
    t.commands.push(command);
  });
};
