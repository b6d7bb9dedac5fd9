/**
 * Reading the elements of a transaction set's segments by their X12 data types, and the problems
 * found on the way. A syntax problem (a missing mandatory segment or element, a number that is not
 * one, an impossible date, a control character) rejects the set in the 997 with AK3/AK4; a mapping
 * problem (a code master data does not know) leaves the set accepted and dead-letters only its part.
 */
import type { UntranslatablePart } from "../translation.ts";
import { el, type Segment } from "./x12-interchange.ts";

/** AK3-04 segment syntax error codes (X12 element 720) used here. */
export const SEGMENT_ERROR = { mandatoryMissing: "3", hasElementErrors: "8" } as const;
/** AK4-03 element syntax error codes (X12 element 723) used here. */
export const ELEMENT_ERROR = {
  mandatoryMissing: "1",
  invalidCharacter: "6",
  invalidCode: "7",
  invalidDate: "8",
  invalidTime: "9",
} as const;

/** A syntax problem in a set: rejects it, and is reported in the 997 as AK3 (and AK4 for an element). */
export interface SyntaxProblem {
  /** The segment's tag; for a missing segment, the one that is missing. */
  readonly tag: string;
  /** Position of the segment in the set (for a missing one, where it was expected: the SE's). */
  readonly position: number;
  readonly line: number;
  readonly segmentCode: string;
  readonly element?: { readonly index: number; readonly code: string; readonly value: string };
  readonly at: string;
  readonly reason: string;
}

export const place = (tag: string, n: number): string => `${tag}-${String(n).padStart(2, "0")}`;

const where = (s: { readonly position: number; readonly line: number }, control: string): string =>
  `segment ${s.position} of transaction set ${control}, line ${s.line}`;

/** An untranslatable part from a syntax problem (the whole set is rejected). */
export const syntaxPart = (
  document: UntranslatablePart["document"],
  p: SyntaxProblem,
  control: string,
): UntranslatablePart => ({
  document,
  at: p.at,
  ...(p.element ? { value: p.element.value } : {}),
  reason: `${p.reason} (${where(p, control)}); the transaction set is rejected in the 997`,
});

/** An untranslatable part of an accepted set (a code master data does not map, a quantity of nothing). */
export const mappingPart = (
  document: UntranslatablePart["document"],
  s: Segment | { readonly tag: string },
  n: number | undefined,
  control: string,
  reason: string,
): UntranslatablePart => {
  const v = n === undefined || !("elements" in s) ? undefined : el(s, n);
  return {
    document,
    at: n === undefined ? s.tag : place(s.tag, n),
    ...(v === undefined || v === "" ? {} : { value: v }),
    reason: "line" in s ? `${reason} (${where(s, control)})` : `${reason} (transaction set ${control})`,
  };
};

/** Whether a value holds a control character (a line break included). */
export const hasControlCharacter = (v: string): boolean =>
  [...v].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f);

const DECIMAL = /^-?(\d+\.?\d*|\.\d+)$/;

const realDate = (y: number, m: number, d: number): boolean => {
  const t = new Date(Date.UTC(y, m - 1, d));
  return t.getUTCFullYear() === y && t.getUTCMonth() === m - 1 && t.getUTCDate() === d;
};

/** Reads one set's elements, collecting the syntax problems it meets. */
export class ElementReader {
  readonly problems: SyntaxProblem[] = [];

  private problem(s: Segment, n: number, code: string, what: string, expected: string): undefined {
    const v = el(s, n);
    this.problems.push({
      tag: s.tag,
      position: s.position,
      line: s.line,
      segmentCode: SEGMENT_ERROR.hasElementErrors,
      element: { index: n, code, value: v },
      at: place(s.tag, n),
      reason:
        v === "" ? `${what}: missing, expected ${expected}` : `${what}: got '${v}', expected ${expected}`,
    });
    return undefined;
  }

  /** A mandatory segment that is not there (reported at `position`, where it was expected). */
  missingSegment(tag: string, position: number, line: number, what: string): undefined {
    this.problems.push({
      tag,
      position,
      line,
      segmentCode: SEGMENT_ERROR.mandatoryMissing,
      at: tag,
      reason: `${what}: segment ${tag} missing`,
    });
    return undefined;
  }

  /** Text of an element; a mandatory one must be there. */
  text(s: Segment, n: number, what: string, mandatory = false): string | undefined {
    const v = el(s, n).trim();
    if (v !== "") return v;
    return mandatory ? this.problem(s, n, ELEMENT_ERROR.mandatoryMissing, what, "a value") : undefined;
  }

  /** An X12 decimal (R): optional minus, digits, optional decimal point. */
  decimal(s: Segment, n: number, what: string, mandatory = false): number | undefined {
    const v = el(s, n).trim();
    if (v === "")
      return mandatory ? this.problem(s, n, ELEMENT_ERROR.mandatoryMissing, what, "a number") : undefined;
    if (!DECIMAL.test(v)) return this.problem(s, n, ELEMENT_ERROR.invalidCharacter, what, "a decimal number");
    return Number(v);
  }

  /** An X12 date CCYYMMDD, as `YYYY-MM-DD`. */
  date(s: Segment, n: number, what: string, mandatory = false): string | undefined {
    const v = el(s, n).trim();
    if (v === "")
      return mandatory
        ? this.problem(s, n, ELEMENT_ERROR.mandatoryMissing, what, "a date CCYYMMDD")
        : undefined;
    const m = /^(\d{4})(\d{2})(\d{2})$/.exec(v);
    if (!m || !realDate(Number(m[1]), Number(m[2]), Number(m[3])))
      return this.problem(s, n, ELEMENT_ERROR.invalidDate, what, "a real date CCYYMMDD");
    return `${m[1]}-${m[2]}-${m[3]}`;
  }

  /** An X12 time HHMM[SS[d..]], as `HH:MM:SS`. */
  time(s: Segment, n: number, what: string): string | undefined {
    const v = el(s, n).trim();
    if (v === "") return undefined;
    const m = /^(\d{2})(\d{2})(\d{2})?\d*$/.exec(v);
    if (!m || Number(m[1]) > 23 || Number(m[2]) > 59 || Number(m[3] ?? 0) > 59)
      return this.problem(s, n, ELEMENT_ERROR.invalidTime, what, "a time HHMM or HHMMSS");
    return `${m[1]}:${m[2]}:${m[3] ?? "00"}`;
  }

  /** Every element free of control characters: a line break inside one means a segment was not ended. */
  controlCharacters(segments: readonly Segment[], terminator: string): void {
    for (const s of segments)
      s.elements.forEach((v, i) => {
        if (!hasControlCharacter(v)) return;
        const other = /([^A-Za-z0-9\s])\r?\n/.exec(v)?.[1];
        const hint = other
          ? `: segments here end with '${other}' while the ISA declares '${terminator}' as the segment terminator`
          : `: a segment before this line break was not ended with the ISA's segment terminator '${terminator}'`;
        this.problem(
          s,
          i + 1,
          ELEMENT_ERROR.invalidCharacter,
          `${s.tag} element ${i + 1}`,
          `no control characters or line breaks${hint}`,
        );
      });
  }
}

/** A business time from an X12 date and optional time: X12 has no offset, so UTC is taken. */
export const isoTime = (date: string, time?: string): string => `${date}T${time ?? "00:00:00"}Z`;
