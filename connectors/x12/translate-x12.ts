/**
 * ANSI X12 004010 warehouse sets -> canonical commands, and the 997 answering the interchange
 * (issue 11). A document holds one interchange (ISA ... IEA) or several, each with any number of
 * groups and sets; each interchange gets its own 997.
 *
 * - Envelopes are checked first: a problem of the interchange (IEA count or control number, a
 *   segment outside its envelope) rejects every group; a problem of a group (GE count or control
 *   number, a version other than 004010) rejects that group; a problem of a set (SE count or control
 *   number) or a syntax error in it (AK3/AK4) rejects that set. What is rejected yields no command,
 *   only untranslatable parts naming the place, and the 997 says `R` for it.
 * - Sets read: 944 receipts, 945 shipments, 947 adjustments and status moves, 846 balances, 856 ASNs,
 *   943 transfer shipment advices (see each x12-<set>.ts). 940 (warehouse shipping order) is
 *   acknowledged but not translated: it asks the warehouse to ship, it moves no stock (the 945 that
 *   answers it does), and the order's hold on stock is the order channel's reservation, so reserving
 *   again here would count it twice. Any other set is rejected in the 997 (AK5 code 1).
 * - Other versions (GS-08 not 004010, e.g. 004060): rejected with AK9 code 2; the element layouts read
 *   here are those of 004010.
 */
import * as E from "fp-ts/lib/Either.js";
import type { Command } from "../../domain/commands.ts";
import { decodeCommand, formatDecodeErrors } from "../../domain/commands.ts";
import {
  type Translation,
  type TranslationContext,
  translation,
  type UntranslatablePart,
  unreadable,
} from "../translation.ts";
import { translate846 } from "./x12-846.ts";
import { translate856 } from "./x12-856.ts";
import { translate943 } from "./x12-943.ts";
import { translate944 } from "./x12-944.ts";
import { translate945 } from "./x12-945.ts";
import { translate947 } from "./x12-947.ts";
import { build997, type GroupAcknowledgment, type SetAcknowledgment } from "./x12-997.ts";
import { hasControlCharacter } from "./x12-elements.ts";
import {
  type EnvelopeProblem,
  el,
  type Interchange,
  readInterchanges,
  type TransactionSet,
} from "./x12-interchange.ts";
import { SetTranslation } from "./x12-mapping.ts";

export interface X12Translation {
  readonly translation: Translation;
  /** The 997 for each interchange; empty when the document is not X12 at all (no ISA to answer) or holds only 997s. */
  readonly acknowledgment: string;
}

export interface X12Options {
  /** ISA-13/GS-06 of the (first) 997; default the inbound interchange's control number. */
  readonly controlNumber?: string;
}

const TRANSLATORS: Readonly<Record<string, (t: SetTranslation) => void>> = {
  "944": translate944,
  "945": translate945,
  "947": translate947,
  "846": translate846,
  "856": translate856,
  "943": translate943,
};

export const SUPPORTED_VERSION = "004010";

const envelopePart = (
  document: UntranslatablePart["document"],
  p: EnvelopeProblem,
  consequence: string,
): UntranslatablePart => ({
  document,
  at: p.at,
  ...(p.value === undefined ? {} : { value: p.value }),
  reason: `${p.reason}; ${consequence}`,
});

/** Commands that do not decode (an id too long for the canonical model, say) become untranslatable. */
const checked = (t: SetTranslation, commands: readonly Command[]) => {
  const ok: Command[] = [];
  const parts: UntranslatablePart[] = [];
  for (const c of commands) {
    const d = decodeCommand(c);
    if (E.isRight(d)) ok.push(d.right);
    else
      parts.push({
        document: t.document,
        at: `${t.set.id} line ${c.source.document.line ?? ""}`.trim(),
        value: c,
        reason: `the command it yields is not canonical: ${formatDecodeErrors(d.left)}`,
      });
  }
  return { ok, parts };
};

/** Where each set keeps its business id, so that even a rejected set's dead letters name its document. */
const BUSINESS_ID: Readonly<Record<string, readonly [string, number]>> = {
  "944": ["W17", 3],
  "945": ["W06", 2],
  "947": ["W15", 2],
  "846": ["BIA", 3],
  "856": ["BSN", 2],
  "943": ["W06", 2],
  "940": ["W05", 2],
};

const businessId = (set: TransactionSet): string | undefined => {
  const where = Object.hasOwn(BUSINESS_ID, set.id) ? BUSINESS_ID[set.id] : undefined;
  const s = where && set.segments.find((x) => x.tag === where[0]);
  const id = s ? el(s, where[1]).trim() : "";
  return id === "" || hasControlCharacter(id) ? undefined : id;
};

const translateSet = (
  set: TransactionSet,
  ctx: TranslationContext,
  delimiters: { readonly component: string; readonly segment: string },
): { commands: Command[]; parts: UntranslatablePart[]; ack: SetAcknowledgment } => {
  const t = new SetTranslation(ctx, set, delimiters.component);
  t.id = businessId(set);
  t.reader.controlCharacters(set.segments, delimiters.segment);
  const base = { id: set.id, control: set.control, envelope: set.problems };
  if (set.problems.length > 0) {
    const parts = set.problems.map((p) =>
      envelopePart(t.document, p, `transaction set ${set.control} is rejected in the 997`),
    );
    return { commands: [], parts: [...parts, ...t.parts()], ack: { ...base, syntax: t.reader.problems } };
  }
  const translate = Object.hasOwn(TRANSLATORS, set.id) ? TRANSLATORS[set.id] : undefined;
  if (set.id === "940" && t.reader.problems.length === 0) {
    return {
      commands: [],
      parts: [
        {
          document: t.document,
          at: "ST-01",
          value: "940",
          reason:
            "a warehouse shipping order is an instruction to ship, not an inventory movement: the stock moves when the warehouse's 945 reports the shipment, and the order's reservation is placed by the order channel",
        },
      ],
      ack: { ...base, syntax: [] },
    };
  }
  if (!translate && set.id !== "940")
    return {
      commands: [],
      parts: [
        {
          document: t.document,
          at: "ST-01",
          value: set.id,
          reason: `transaction set ${set.id} is not one this connector reads (944, 945, 947, 846, 856, 943; 940 acknowledged); rejected in the 997`,
        },
      ],
      ack: { ...base, syntax: [], unsupported: true },
    };
  translate?.(t);
  if (t.reader.problems.length > 0)
    return { commands: [], parts: t.parts(), ack: { ...base, syntax: t.reader.problems } };
  const { ok, parts } = checked(t, t.commands);
  return { commands: ok, parts: [...t.parts(), ...parts], ack: { ...base, syntax: [] } };
};

/** One interchange: its commands, its untranslatable parts and its 997. */
const translateInterchange = (ic: Interchange, ctx: TranslationContext, controlNumber: string) => {
  const commands: Command[] = [];
  const parts: UntranslatablePart[] = [];
  const icDocument = { type: "X12 interchange", id: ic.control };
  for (const p of ic.problems)
    parts.push(
      envelopePart(icDocument, p, "every functional group of the interchange is rejected in the 997"),
    );
  const rejectAll = ic.problems.length > 0;
  // A functional acknowledgment is never acknowledged (X12): a partner's 997 is named, not answered.
  for (const group of ic.groups.filter((g) => g.functionalId === "FA"))
    parts.push({
      document: { type: "X12 functional group", id: `FA ${group.control}` },
      at: "GS-01",
      value: "FA",
      reason: `a functional acknowledgment from ${ic.sender} (${group.sets.length} set(s)): it moves no stock and is not answered with a 997`,
    });
  const acks: GroupAcknowledgment[] = ic.groups
    .filter((g) => g.functionalId !== "FA")
    .map((group) => {
      const document = { type: "X12 functional group", id: `${group.functionalId} ${group.control}` };
      const problems: EnvelopeProblem[] = [...group.problems];
      if (!group.version.startsWith(SUPPORTED_VERSION))
        problems.push({
          at: "GS-08",
          value: group.version,
          reason: `version '${group.version}': this connector reads X12 ${SUPPORTED_VERSION} (the segments of other versions differ)`,
          code: "2",
        });
      const consequence = `the group's ${group.sets.length} transaction set(s) are rejected in the 997 and not translated`;
      for (const p of problems) parts.push(envelopePart(document, p, consequence));
      if (rejectAll || problems.length > 0) return { group, problems, sets: [] };
      const sets = group.sets.map((set) => {
        const r = translateSet(set, ctx, ic.delimiters);
        commands.push(...r.commands);
        parts.push(...r.parts);
        return r.ack;
      });
      return { group, problems, sets };
    });
  const acknowledgment =
    acks.length === 0 && ic.groups.length > 0
      ? ""
      : build997(ic, acks, { receivedAt: ctx.receivedAt, controlNumber, rejectAll });
  return { commands, parts, acknowledgment };
};

export const translateX12 = (
  text: string,
  ctx: TranslationContext,
  opts: X12Options = {},
): X12Translation => {
  const read = readInterchanges(text);
  if (!read.ok)
    return {
      translation: unreadable({ type: "X12 interchange" }, read.at, read.reason),
      acknowledgment: "",
    };
  const results = read.interchanges.map((ic, i) =>
    translateInterchange(
      ic,
      ctx,
      opts.controlNumber === undefined ? ic.control : String(Number(opts.controlNumber) + i),
    ),
  );
  return {
    translation: translation(
      results.flatMap((r) => r.commands),
      results.flatMap((r) => r.parts),
    ),
    // One 997 interchange per interchange received (none for one holding only 997s), one after the other.
    acknowledgment: results
      .map((r) => r.acknowledgment)
      .filter((a) => a !== "")
      .join("\n"),
  };
};
