/**
 * Property: a random valid 944 (any number of W07 lines, quantities, units, lots, delimiters and
 * terminators with or without line breaks) round-trips its quantities: one receiveGoods per W07, in
 * order, with the W07's quantity, unit and lot, and an accepted 997.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { translateX12 } from "../../connectors/x12/translate-x12.ts";
import { ctx, expectCanonical, interchange } from "./x12-fixture.ts";

const line = fc.record({
  quantity: fc.integer({ min: 1, max: 9_999_999 }),
  uom: fc.constantFrom("EA", "CA"),
  lot: fc.option(fc.stringMatching(/^[A-Z0-9]{1,12}$/), { nil: undefined }),
  // A decimal point with zeros after it is still a whole number (X12 R).
  decimals: fc.integer({ min: 0, max: 2 }),
});

const delimiters = fc.constantFrom(
  { element: "*", terminator: "~", newline: "\n" },
  { element: "*", terminator: "~", newline: "" },
  { element: "*", terminator: "~", newline: "\r\n" },
  { element: "|", terminator: "'", newline: "" },
  { element: "^", terminator: "\n", newline: "" },
);

describe("X12 944 (property)", () => {
  it("a random valid 944 round-trips its quantities", () => {
    fc.assert(
      fc.property(
        fc.array(line, { minLength: 1, maxLength: 12 }),
        delimiters,
        fc.integer({ min: 1, max: 999_999_999 }),
        (lines, d, control) => {
          const w07 = lines.map((l) => {
            const q = l.decimals === 0 ? String(l.quantity) : `${l.quantity}.${"0".repeat(l.decimals)}`;
            return `W07*${q}*${l.uom}**VN*ITEM123${l.lot ? `***${l.lot}` : ""}`;
          });
          const doc = interchange(
            [
              [
                "944",
                "W17*F*20260714*WR-P*DO-P",
                "N1*WH*ACME*9*1234567890001",
                ...w07,
                `W14*${lines.length}`,
              ],
            ],
            {
              ...d,
              control,
            },
          );
          const { translation, acknowledgment } = translateX12(doc, ctx());
          expect(translation.untranslatable).toEqual([]);
          expectCanonical(translation.commands);
          expect(
            translation.commands.map((c) =>
              c.kind === "receiveGoods"
                ? { ...c.quantity, lot: c.lot, line: c.source.document.line }
                : c.kind,
            ),
          ).toEqual(
            lines.map((l, i) => ({ value: l.quantity, uom: l.uom, lot: l.lot, line: String(i + 1) })),
          );
          expect(acknowledgment).toContain(`AK9${d.element}A${d.element}1${d.element}1${d.element}1`);
        },
      ),
      { numRuns: 150 },
    );
  });
});
