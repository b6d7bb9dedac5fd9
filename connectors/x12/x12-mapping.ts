/**
 * What every X12 set translator shares: the set being translated (its document, its syntax reader,
 * its untranslatable parts), and the mapping of X12 codes through the source's master data.
 *
 * - A party (N1) names a location by an ID code qualifier (N1-03) and an id (N1-04): qualifier `UL`
 *   is a GLN (found by `locationByGln`); any other is looked up in the source's location codes as
 *   `{ idQualifier, id }`, e.g. `codes: { "acme-3pl": { idQualifier: "91", id: "ACME01" } }`.
 * - An item is named by a UPC element and qualified product ids (`VN`, `UK`, `UP`, `SK`, ...): each
 *   id is looked up with `skuByCode` in order; all that map must agree. Qualifier `LT` is a lot.
 * - A quantity keeps the X12 unit (`{ value, uom }`, the node converts with the unit master); the
 *   unit must be one of the SKU's units, the value whole in it (a fraction is never rounded).
 */
import * as E from "fp-ts/lib/Either.js";
import type { Command } from "../../domain/commands.ts";
import type { Location } from "../../domain/master-data.ts";
import { toBaseQuantity, unitFactors, unitsOf } from "../../domain/units.ts";
import type { TranslationContext, UntranslatablePart } from "../translation.ts";
import { ElementReader, mappingPart, syntaxPart } from "./x12-elements.ts";
import { el, type Segment, type TransactionSet } from "./x12-interchange.ts";

/** An item id found in a segment: where, its qualifier, its value. */
export interface ItemId {
  readonly n: number;
  readonly qualifier: string;
  readonly id: string;
}

/** The translation of one transaction set in progress. */
export class SetTranslation {
  readonly reader = new ElementReader();
  readonly commands: Command[] = [];
  private readonly mapping: UntranslatablePart[] = [];
  /** The document's business id, once the set's beginning segment is read. */
  id: string | undefined;

  constructor(
    readonly ctx: TranslationContext,
    readonly set: TransactionSet,
    /** ISA-16, to read the first component of a composite element. */
    readonly component: string,
  ) {}

  get document(): UntranslatablePart["document"] {
    return { type: `X12 ${this.set.id}`, ...(this.id ? { id: this.id } : {}) };
  }

  /** The first segment with this tag, or a syntax problem when a mandatory one is missing. */
  header(tag: string, what: string): Segment | undefined {
    const s = this.set.segments.find((x) => x.tag === tag);
    if (s) return s;
    const last = this.set.segments.at(-1);
    return this.reader.missingSegment(tag, (last?.position ?? 1) + 1, last?.line ?? 1, what);
  }

  /** A part of the set that cannot be translated though its syntax is right. */
  untranslatable(s: Segment | { readonly tag: string }, n: number | undefined, reason: string): undefined {
    this.mapping.push(mappingPart(this.document, s, n, this.set.control, reason));
    return undefined;
  }

  /** The untranslatable parts: every syntax problem (the set is rejected) or the mapping problems. */
  parts(): UntranslatablePart[] {
    if (this.reader.problems.length === 0) return this.mapping;
    return this.reader.problems.map((p) => syntaxPart(this.document, p, this.set.control));
  }

  /** The location a party segment (N1) names, through the GLN (`UL`) or the source's codes. */
  locationOfParty(n1: Segment): Location | undefined {
    const qualifier = this.reader.text(n1, 3, "identification code qualifier");
    const id = this.reader.text(n1, 4, "identification code");
    if (!qualifier || !id)
      return this.untranslatable(
        n1,
        qualifier ? 4 : 3,
        `party ${el(n1, 1)} '${el(n1, 2)}': an identification code qualifier (N1-03) and code (N1-04) are needed to find the location`,
      );
    const md = this.ctx.masterData;
    if (qualifier === "UL") {
      const l = md.locationByGln(id);
      return l ?? this.untranslatable(n1, 4, `GLN ${id}: no location of master data has this GLN`);
    }
    const l = md.locationByCode(this.ctx.system, { idQualifier: qualifier, id });
    return (
      l ??
      this.untranslatable(
        n1,
        4,
        `location code '${id}' (qualifier ${qualifier}): no location of master data has the code { idQualifier: "${qualifier}", id: "${id}" } for ${this.ctx.system}`,
      )
    );
  }

  /** The location of the first party among `entities` (N1-01 codes, in order of preference). */
  location(entities: readonly string[], what: string, within = this.set.segments): Location | undefined {
    for (const entity of entities) {
      const n1 = within.find((s) => s.tag === "N1" && el(s, 1) === entity);
      if (n1) return this.locationOfParty(n1);
    }
    return this.untranslatable(
      { tag: "N1" },
      undefined,
      `no party N1 with entity ${entities.join(" or ")} names ${what}`,
    );
  }

  /** The SKU the ids of an item name (all that map must agree). */
  sku(s: Segment, ids: readonly ItemId[], what = "item"): string | undefined {
    if (ids.length === 0)
      return this.untranslatable(s, undefined, `${what}: no product id (UPC or qualified id) in ${s.tag}`);
    const found = ids.flatMap((i) => {
      const sku = this.ctx.masterData.skuByCode(this.ctx.system, i.id);
      return sku === undefined ? [] : [{ ...i, sku }];
    });
    const skus = [...new Set(found.map((f) => f.sku))];
    if (skus.length === 1) return skus[0];
    const listed = ids.map((i) => `${i.qualifier} ${i.id}`).join(", ");
    if (skus.length === 0)
      return this.untranslatable(
        s,
        ids[0]?.n,
        `${what} ${listed}: no product of master data has one of these codes for ${this.ctx.system}`,
      );
    return this.untranslatable(
      s,
      found[1]?.n,
      `${what} ${found.map((f) => `${f.qualifier} ${f.id} -> ${f.sku}`).join(", ")}: the ids name different SKUs`,
    );
  }

  /** Qualified ids of a segment: the UPC element (if any) and each (qualifier, id) pair. */
  itemIds(s: Segment, upc: number | undefined, pairs: readonly number[]): ItemId[] {
    const ids: ItemId[] = [];
    const u = upc === undefined ? "" : el(s, upc).trim();
    if (upc !== undefined && u !== "") ids.push({ n: upc, qualifier: "UPC", id: u });
    for (const q of pairs) {
      const qualifier = el(s, q).trim();
      const id = el(s, q + 1).trim();
      if (qualifier !== "" && id !== "" && qualifier !== "LT") ids.push({ n: q + 1, qualifier, id });
    }
    return ids;
  }

  /** The first component of a composite element (a unit `CA>...` is `CA`). */
  firstComponent(s: Segment, n: number): string {
    return el(s, n).split(this.component)[0]?.trim() ?? "";
  }

  /**
   * A quantity in an X12 unit for a SKU: whole in that unit, a unit the SKU has. `sign` says which
   * values are allowed (a movement is positive, a level not negative, a delta not zero).
   */
  quantity(
    s: Segment,
    at: { readonly value: number; readonly uom: number },
    amount: number,
    uom: string,
    sku: string,
    sign: "positive" | "level" | "delta",
    what: string,
  ): { readonly value: number; readonly uom: string } | undefined {
    if (!Number.isInteger(amount))
      return this.untranslatable(
        s,
        at.value,
        `${what}: ${amount} ${uom} is not a whole number of ${uom}; a fraction is never rounded`,
      );
    if (sign === "positive" && amount <= 0)
      return this.untranslatable(s, at.value, `${what}: ${amount} moves nothing (a positive quantity)`);
    if (sign === "level" && amount < 0)
      return this.untranslatable(s, at.value, `${what}: a count of ${amount} (a level is never negative)`);
    if (sign === "delta" && amount === 0)
      return this.untranslatable(s, at.value, `${what}: an adjustment of 0 changes nothing`);
    if (uom === "") return this.untranslatable(s, at.uom, `${what}: no unit of measure`);
    const units = unitsOf(this.ctx.masterData.units, sku);
    if (units && !unitFactors(units).has(uom))
      return this.untranslatable(
        s,
        at.uom,
        `unit '${uom}': not a unit of SKU ${sku} in master data (${[...unitFactors(units).keys()].join(", ")})`,
      );
    const base = toBaseQuantity(this.ctx.masterData.units, sku, { value: Math.abs(amount), uom });
    if (E.isLeft(base)) return this.untranslatable(s, at.value, `${what}: ${base.left.message}`);
    return { value: amount, uom };
  }

  /** Quantities of one SKU added: in their unit when they share one, else in the base unit (each converts exactly). */
  sum(sku: string, qs: readonly { readonly value: number; readonly uom: string }[]) {
    const uoms = new Set(qs.map((q) => q.uom));
    const [only] = uoms;
    if (uoms.size === 1 && only !== undefined)
      return { value: qs.reduce((s, q) => s + q.value, 0), uom: only };
    const units = this.ctx.masterData.units;
    const value = qs.reduce((s, q) => {
      const b = toBaseQuantity(units, sku, q);
      return s + (E.isRight(b) ? b.right : 0);
    }, 0);
    return { value, uom: unitsOf(units, sku)?.baseUom ?? "EA" };
  }

  /** The lot a lot-tracked product must name; an untranslatable part when it does not. */
  lotRequired(s: Segment, n: number, sku: string, lot: string | undefined): boolean {
    if (lot !== undefined || !this.ctx.masterData.product(sku)?.lotTracked) return true;
    this.untranslatable(s, n, `SKU ${sku} is lot-tracked: its lot number is missing`);
    return false;
  }

  /** The fields every command of this document shares. */
  common(p: {
    readonly sku: string;
    readonly location: Location;
    readonly line: string;
    readonly businessTime: string;
  }) {
    const id = this.id ?? this.set.control;
    const type = `X12 ${this.set.id}`;
    return {
      idempotencyKey: `${this.ctx.system}:${type}:${id}:${p.line}`,
      source: { system: this.ctx.system, document: { type, id, line: p.line } },
      businessTime: p.businessTime,
      correlationId: id,
      position: { sku: p.sku, location: p.location.id, region: p.location.region },
    };
  }
}
