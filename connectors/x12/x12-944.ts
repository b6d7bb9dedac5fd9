/**
 * 944 Warehouse Stock Transfer Receipt Advice -> one `receiveGoods` per W07 line, into available
 * stock, at the warehouse the N1*WH names, on the receipt date (W17-02).
 *
 * Document id W17-03 (warehouse receipt number); line = the W07's ordinal. Lot W07-08. `po` is the
 * line's N9*PO, else the heading's N9*PO, else the depositor order number W17-04 (which the 944
 * echoes from the 943 that announced the transfer, so the two meet in time-phased ATP).
 * Not read: W07-09 adjustment identifier, W13 exceptions, W14 totals.
 */
import type { Command } from "../../domain/commands.ts";
import { isoTime } from "./x12-elements.ts";
import { el, linesOf, type Segment } from "./x12-interchange.ts";
import type { SetTranslation } from "./x12-mapping.ts";

/** The purchase order an N9*PO among these segments names. */
export const poOf = (segments: readonly Segment[]): string | undefined => {
  const n9 = segments.find((s) => s.tag === "N9" && el(s, 1) === "PO" && el(s, 2).trim() !== "");
  return n9 ? el(n9, 2).trim() : undefined;
};

export const translate944 = (t: SetTranslation): void => {
  const r = t.reader;
  const w17 = t.header("W17", "warehouse receipt identification");
  if (!w17) return;
  const date = r.date(w17, 2, "receipt date", true);
  t.id = r.text(w17, 3, "warehouse receipt number", true);
  const depositorOrder = r.text(w17, 4, "depositor order number", true);
  const { heading, lines } = linesOf(t.set.segments, "W07");
  if (lines.length === 0) t.header("W07", "item detail for stock receipt");
  const location = t.location(["WH"], "the receiving warehouse", heading);
  const headingPo = poOf(heading);
  lines.forEach(({ start: w07, rest }, i) => {
    const amount = r.decimal(w07, 1, "quantity received", true);
    const uom = r.text(w07, 2, "unit of measure", true);
    if (amount === undefined || uom === undefined || !date || !location) return;
    const sku = t.sku(w07, t.itemIds(w07, 3, [4, 6]));
    if (!sku) return;
    const quantity = t.quantity(w07, { value: 1, uom: 2 }, amount, uom, sku, "positive", "quantity received");
    const lot = r.text(w07, 8, "warehouse lot number");
    if (!quantity || !t.lotRequired(w07, 8, sku, lot)) return;
    const po = poOf(rest) ?? headingPo ?? depositorOrder;
    const command: Command = {
      kind: "receiveGoods",
      ...t.common({ sku, location, line: String(i + 1), businessTime: isoTime(date) }),
      quantity,
      status: "available",
      ...(lot ? { lot } : {}),
      ...(po ? { documents: { po } } : {}),
    };
    t.commands.push(command);
  });
};
