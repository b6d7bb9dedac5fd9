/**
 * 856 Ship Notice/Manifest (ASN) -> what is on its way, per item level (HL-03 `I`) of the
 * hierarchy shipment (S) > order (O) > pack/tare (P, T) > item (I). For each item, the levels above
 * it give the ship-to (N1*ST), the ship-from (N1*SF), the purchase order (PRF-01) and the dates.
 *
 * - Ship-from one of our locations (its N1 maps through master data): a transfer between our
 *   locations. `shipTransfer` per item at the origin to the ship-to, transfer order PRF-01 (else
 *   BSN-02), with the item's lot (LIN `LT` pair or REF*LT) and expiry (DTM*036), eta DTM*017/067.
 * - Otherwise goods expected from a supplier: `expectReceipt` at the ship-to of the PO's open
 *   quantity, the items of one PO and SKU added (an expectation is a level per PO and position; it
 *   carries no lot). Expected at the estimated delivery (DTM*017, else *067), else the ship date
 *   (DTM*011), else the ASN's date (BSN-03). A cancellation (BSN-01 `01`) sets the levels to 0.
 *   A later ASN for the same PO replaces the level (expectReceipt is a level, not a delta).
 *
 * Document id BSN-02; business time BSN-03/04. Units shipped SN1-02 in unit SN1-03.
 */
import type { Location } from "../../domain/master-data.ts";
import { isoTime } from "./x12-elements.ts";
import { el, type Segment } from "./x12-interchange.ts";
import type { SetTranslation } from "./x12-mapping.ts";

interface Level {
  readonly hl: Segment;
  readonly id: string;
  readonly parent: string;
  readonly code: string;
  readonly segments: readonly Segment[];
}

const levelsOf = (segments: readonly Segment[]): Level[] =>
  segments.flatMap((s, i) => {
    if (s.tag !== "HL") return [];
    const next = segments.findIndex((x, j) => j > i && x.tag === "HL");
    return [
      {
        hl: s,
        id: el(s, 1).trim(),
        parent: el(s, 2).trim(),
        code: el(s, 3).trim(),
        segments: segments.slice(i + 1, next < 0 ? undefined : next),
      },
    ];
  });

export const translate856 = (t: SetTranslation): void => {
  const r = t.reader;
  const bsn = t.header("BSN", "beginning segment for ship notice");
  if (!bsn) return;
  const purpose = r.text(bsn, 1, "transaction set purpose code", true);
  t.id = r.text(bsn, 2, "shipment identification", true);
  const date = r.date(bsn, 3, "date", true);
  const time = r.time(bsn, 4, "time");
  const levels = levelsOf(t.set.segments);
  if (levels.length === 0) t.header("HL", "hierarchical level");
  for (const l of levels) {
    r.text(l.hl, 1, "hierarchical id number", true);
    r.text(l.hl, 3, "hierarchical level code", true);
  }
  const byId = new Map(levels.map((l) => [l.id, l]));
  const ancestry = (l: Level): Level[] => {
    const chain = [l];
    for (let p = byId.get(l.parent); p && !chain.includes(p); p = byId.get(p.parent)) chain.push(p);
    return chain;
  };
  // The nearest segment up the hierarchy that `pick` chooses.
  const nearest = (chain: readonly Level[], pick: (s: Segment) => boolean) => {
    for (const l of chain) {
      const s = l.segments.find(pick);
      if (s) return s;
    }
    return undefined;
  };
  const dtm = (chain: readonly Level[], q: string) => {
    const s = nearest(chain, (x) => x.tag === "DTM" && el(x, 1) === q);
    if (!s) return undefined;
    const d = r.date(s, 2, `date (qualifier ${q})`, true);
    return d ? isoTime(d, r.time(s, 3, `time (qualifier ${q})`)) : undefined;
  };
  const party = (chain: readonly Level[], entity: string) =>
    nearest(chain, (x) => x.tag === "N1" && el(x, 1) === entity);
  const expected = new Map<
    string,
    {
      po: string;
      sku: string;
      location: Location;
      expectedAt: string;
      quantities: { value: number; uom: string }[];
    }
  >();
  const spoilt = new Set<string>();
  for (const item of levels.filter((l) => l.code === "I")) {
    const chain = ancestry(item);
    const lin = item.segments.find((s) => s.tag === "LIN");
    const sn1 = item.segments.find((s) => s.tag === "SN1");
    if (!lin || !sn1) {
      // Reported where the item's level ends (the LIN and SN1 of other items do not stand in).
      const last = item.segments.at(-1) ?? item.hl;
      r.missingSegment(lin ? "SN1" : "LIN", last.position + 1, last.line, `item of HL ${item.id}`);
      continue;
    }
    const amount = r.decimal(sn1, 2, "number of units shipped", true);
    const uom = r.text(sn1, 3, "unit of measure", true);
    const eta = dtm(chain, "017") ?? dtm(chain, "067");
    const shipped = dtm(chain, "011");
    const shipTo = party(chain, "ST");
    const shipFrom = party(chain, "SF");
    const prf = nearest(chain, (x) => x.tag === "PRF");
    const po = prf ? r.text(prf, 1, "purchase order number", true) : undefined;
    if (amount === undefined || !uom || !date || !t.id) continue;
    const pairs = Array.from({ length: 15 }, (_, i) => 2 + 2 * i);
    const sku = t.sku(lin, t.itemIds(lin, undefined, pairs));
    if (!shipTo) {
      t.untranslatable({ tag: "N1" }, undefined, `HL ${item.id}: no ship-to (N1*ST) above the item`);
      continue;
    }
    const destination = t.locationOfParty(shipTo);
    const origin = shipFrom ? originOf(t, shipFrom) : undefined;
    if (!sku || !destination) continue;
    const lotPair = pairs.find((q) => el(lin, q).trim() === "LT" && el(lin, q + 1).trim() !== "");
    const ref = item.segments.find((s) => s.tag === "REF" && el(s, 1) === "LT");
    const lot = lotPair ? el(lin, lotPair + 1).trim() : ref ? r.text(ref, 2, "lot number") : undefined;
    if (origin) {
      const quantity = t.quantity(sn1, { value: 2, uom: 3 }, amount, uom, sku, "positive", "units shipped");
      if (!quantity || !t.lotRequired(lin, lotPair ?? 2, sku, lot)) continue;
      if (purpose === "01") {
        t.untranslatable(
          bsn,
          1,
          "a cancelled transfer shipment cannot be taken back by a command; reverse it in the sending system",
        );
        continue;
      }
      const expiry = dtm([item], "036");
      t.commands.push({
        kind: "shipTransfer",
        ...t.common({
          sku,
          location: origin,
          line: `HL${item.id}`,
          businessTime: shipped ?? isoTime(date, time),
        }),
        quantity,
        destination: { region: destination.region, location: destination.id },
        documents: { transferOrder: po ?? t.id, asn: t.id },
        ...(eta ? { eta } : {}),
        ...(lot ? { lot } : {}),
        ...(expiry ? { expiry } : {}),
      });
      continue;
    }
    if (!po) {
      t.untranslatable(
        { tag: "PRF" },
        undefined,
        `HL ${item.id}: no purchase order (PRF-01) above the item; an expected receipt belongs to a PO`,
      );
      continue;
    }
    const key = `${po}:${sku}@${destination.id}`;
    const quantity = t.quantity(
      sn1,
      { value: 2, uom: 3 },
      purpose === "01" ? 0 : amount,
      uom,
      sku,
      "level",
      "units shipped",
    );
    if (!quantity) {
      spoilt.add(key);
      continue;
    }
    const entry = expected.get(key) ?? {
      po,
      sku,
      location: destination,
      expectedAt: eta ?? shipped ?? isoTime(date),
      quantities: [],
    };
    entry.quantities.push(quantity);
    expected.set(key, entry);
  }
  if (!date) return;
  for (const [line, e] of expected) {
    if (spoilt.has(line)) {
      t.untranslatable(
        { tag: "SN1" },
        undefined,
        `the expected quantity of ${line} is not announced: one of its items cannot be translated`,
      );
      continue;
    }
    t.commands.push({
      kind: "expectReceipt",
      ...t.common({ sku: e.sku, location: e.location, line, businessTime: isoTime(date, time) }),
      quantity: t.sum(e.sku, e.quantities),
      expectedAt: e.expectedAt,
      documents: { po: e.po, asn: t.id ?? "" },
    });
  }
};

/** The ship-from as one of our locations, when master data knows it (a supplier's is not an error). */
const originOf = (t: SetTranslation, n1: Segment): Location | undefined => {
  const q = el(n1, 3).trim();
  const id = el(n1, 4).trim();
  if (!q || !id) return undefined;
  const md = t.ctx.masterData;
  return q === "UL" ? md.locationByGln(id) : md.locationByCode(t.ctx.system, { idQualifier: q, id });
};
