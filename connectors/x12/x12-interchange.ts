/**
 * Reading an X12 interchange and checking its envelopes (issue 11).
 *
 * Parsing is node-x12's (aaronhuggins/node-x12, MIT, no dependencies, typed, released 2026): it
 * takes the delimiters from the ISA's fixed positions (element separator, ISA16 component
 * separator, segment terminator with or without line breaks after it), and gives the interchange,
 * its groups and transaction sets as objects whose segments carry their elements and line numbers.
 * Chosen over `x12-parser` (a stream of flat segment objects, no envelope model, asynchronous only)
 * and `node-x12-edi` / `@stedi/x12-tools` (less used; the latter a WASM demo not released since 2024).
 *
 * We parse leniently (node-x12's strict mode throws at the first problem) and check the envelopes
 * ourselves, so that each problem is named with its place and the code the 997 reports it with
 * (ISA/IEA, GS/GE, ST/SE counts and control numbers). A problem node-x12 itself reports and we do not
 * check (a segment outside a group, an ISA of the wrong length) is an interchange error.
 */
import { X12FatInterchange, type X12Interchange, X12Parser, type X12Segment } from "node-x12";

/** One segment of a transaction set: its elements 1-based (`el(1)` is the first after the tag). */
export interface Segment {
  readonly tag: string;
  readonly elements: readonly string[];
  /** Position in the transaction set, the ST being 1 (what the 997's AK3-02 reports). */
  readonly position: number;
  /** 1-based line in the file. */
  readonly line: number;
}

export const el = (s: Segment, n: number): string => s.elements[n - 1] ?? "";

/** Splits a set's segments into lines, each starting with a segment of `tag` (what precedes is the heading). */
export const linesOf = (segments: readonly Segment[], tag: string) => {
  const first = segments.findIndex((s) => s.tag === tag);
  const heading = first < 0 ? segments : segments.slice(0, first);
  const lines: { readonly start: Segment; readonly rest: readonly Segment[] }[] = [];
  segments.forEach((s, i) => {
    if (s.tag !== tag) return;
    const next = segments.findIndex((x, j) => j > i && x.tag === tag);
    lines.push({ start: s, rest: segments.slice(i + 1, next < 0 ? undefined : next) });
  });
  return { heading, lines };
};

/** A problem with the envelope of a group or set, with the 997 code that reports it. */
export interface EnvelopeProblem {
  /** `SE-01`, `GE-02`, `IEA-02`, `ST`: where it is. */
  readonly at: string;
  readonly value?: string;
  readonly reason: string;
  /** AK5-02 (set) or AK9-05 (group) syntax error code; absent for interchange problems. */
  readonly code?: string;
}

export interface TransactionSet {
  /** ST-01, e.g. `944`. */
  readonly id: string;
  /** ST-02. */
  readonly control: string;
  /** The segments between ST and SE. */
  readonly segments: readonly Segment[];
  readonly problems: readonly EnvelopeProblem[];
}

export interface FunctionalGroup {
  /** GS-01, e.g. `RE`. */
  readonly functionalId: string;
  /** GS-06. */
  readonly control: string;
  /** GS-08, e.g. `004010`. */
  readonly version: string;
  readonly sender: string;
  readonly receiver: string;
  /** GE-01 as sent (the number of sets the sender says the group holds). */
  readonly declaredSets: string;
  readonly sets: readonly TransactionSet[];
  readonly problems: readonly EnvelopeProblem[];
}

export interface Interchange {
  readonly senderQualifier: string;
  readonly sender: string;
  readonly receiverQualifier: string;
  readonly receiver: string;
  /** ISA-13 as a number (node-x12 reads it so). */
  readonly control: string;
  /** ISA-15: `T` test or `P` production. */
  readonly usage: string;
  readonly delimiters: { readonly element: string; readonly component: string; readonly segment: string };
  readonly groups: readonly FunctionalGroup[];
  /** Problems of the interchange envelope: every group is rejected. */
  readonly problems: readonly EnvelopeProblem[];
}

export type ReadResult =
  | { readonly ok: true; readonly interchanges: readonly Interchange[] }
  | { readonly ok: false; readonly at: string; readonly reason: string };

// Diagnostics of node-x12 for the checks made here (so they are not reported twice).
const CHECKED_HERE = /The value in (SE01|SE02|GE01|GE02|IEA01|IEA02) /;

const toSegment = (s: X12Segment, position: number): Segment => ({
  tag: s.tag,
  elements: s.elements.map((e) => e.value),
  position,
  line: (s.range?.start?.line ?? 0) + 1,
});

const lineOf = (s: X12Segment | undefined): number => (s?.range?.start?.line ?? 0) + 1;
const value = (s: X12Segment | undefined, n: number): string => s?.valueOf(n) ?? "";

/** The X12 envelopes of a document (one interchange or several), or why it cannot be read as X12 at all. */
export const readInterchanges = (raw: string): ReadResult => {
  const trimmed = raw.replace(/^\uFEFF/, "").trim();
  // The last segment may end with the end of the file (a newline-terminated file often does).
  const terminator = trimmed.charAt(105);
  const text = terminator && !trimmed.endsWith(terminator) ? trimmed + terminator : trimmed;
  if (!text.startsWith("ISA"))
    return { ok: false, at: "ISA", reason: "the document does not begin with an ISA segment" };
  // node-x12 splits several interchanges of one file only in strict mode, which stops at the first
  // problem: a sound file is read strictly, one with a problem leniently (as one interchange).
  try {
    const strict = new X12Parser(true).parse(text);
    if (strict instanceof X12FatInterchange)
      // X12FatInterchange is an Array subclass whose `map` would construct another one: copy first.
      return { ok: true, interchanges: [...strict.interchanges].map((ic) => envelopeOf(ic, [])) };
  } catch {
    // read again below, leniently, to name every problem
  }
  const parser = new X12Parser(false);
  let parsed: ReturnType<X12Parser["parse"]>;
  try {
    parsed = parser.parse(text);
  } catch (e) {
    return { ok: false, at: "ISA", reason: `not readable as X12: ${(e as Error).message}` };
  }
  if (parsed instanceof X12FatInterchange || parsed.header === undefined)
    return { ok: false, at: "ISA", reason: "no ISA segment could be read" };
  const problems: EnvelopeProblem[] = parser.diagnostics
    .filter((d) => !CHECKED_HERE.test(d.message))
    .map((d) => ({ at: `line ${(d.range?.start?.line ?? 0) + 1}`, reason: d.message }));
  return { ok: true, interchanges: [envelopeOf(parsed, problems)] };
};

/** One interchange with its envelopes checked; `problems` are those node-x12 found. */
const envelopeOf = (ic: X12Interchange, problems: EnvelopeProblem[]): Interchange => {
  const groups = ic.functionalGroups.map((g): FunctionalGroup => {
    const gp: EnvelopeProblem[] = [];
    const sets = g.transactions.map((t): TransactionSet => {
      const sp: EnvelopeProblem[] = [];
      const control = value(t.header, 2);
      const segments = t.segments.map((s, i) => toSegment(s, i + 2));
      if (!t.trailer)
        sp.push({ at: "SE", reason: `transaction set ${control} has no SE trailer`, code: "2" });
      else {
        const declared = value(t.trailer, 1);
        const counted = segments.length + 2;
        if (declared !== String(counted))
          sp.push({
            at: "SE-01",
            value: declared,
            reason: `number of included segments: got '${declared}', counted ${counted} from ST to SE (line ${lineOf(t.trailer)})`,
            code: "4",
          });
        if (value(t.trailer, 2) !== control)
          sp.push({
            at: "SE-02",
            value: value(t.trailer, 2),
            reason: `transaction set control number: got '${value(t.trailer, 2)}', expected ST-02 '${control}'`,
            code: "3",
          });
      }
      return { id: value(t.header, 1), control, segments, problems: sp };
    });
    const gsControl = value(g.header, 6);
    if (!g.trailer) gp.push({ at: "GE", reason: `group ${gsControl} has no GE trailer`, code: "3" });
    else {
      const declared = value(g.trailer, 1);
      if (declared !== String(sets.length))
        gp.push({
          at: "GE-01",
          value: declared,
          reason: `number of transaction sets included: got '${declared}', the group holds ${sets.length}`,
          code: "5",
        });
      if (value(g.trailer, 2) !== gsControl)
        gp.push({
          at: "GE-02",
          value: value(g.trailer, 2),
          reason: `group control number: got '${value(g.trailer, 2)}', expected GS-06 '${gsControl}'`,
          code: "4",
        });
    }
    return {
      functionalId: value(g.header, 1),
      control: gsControl,
      version: value(g.header, 8),
      sender: value(g.header, 2),
      receiver: value(g.header, 3),
      declaredSets: g.trailer ? value(g.trailer, 1) : String(sets.length),
      sets,
      problems: gp,
    };
  });
  const control = value(ic.header, 13);
  if (!ic.trailer) problems.push({ at: "IEA", reason: `interchange ${control} has no IEA trailer` });
  else {
    const declared = value(ic.trailer, 1);
    if (declared !== String(groups.length))
      problems.push({
        at: "IEA-01",
        value: declared,
        reason: `number of included functional groups: got '${declared}', the interchange holds ${groups.length}`,
      });
    // node-x12 reads ISA-13 and IEA-02 as numbers (leading zeros and blanks dropped).
    if (value(ic.trailer, 2) !== control)
      problems.push({
        at: "IEA-02",
        value: value(ic.trailer, 2),
        reason: `interchange control number: got '${value(ic.trailer, 2)}', expected ISA-13 '${control}'`,
      });
  }
  return {
    senderQualifier: value(ic.header, 5).trim(),
    sender: value(ic.header, 6).trim(),
    receiverQualifier: value(ic.header, 7).trim(),
    receiver: value(ic.header, 8).trim(),
    control,
    usage: value(ic.header, 15).trim(),
    delimiters: {
      element: ic.options.elementDelimiter ?? "*",
      component: ic.options.subElementDelimiter ?? ">",
      segment: ic.options.segmentTerminator ?? "~",
    },
    groups,
    problems,
  };
};
