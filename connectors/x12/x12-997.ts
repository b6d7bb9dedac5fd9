/**
 * The 997 Functional Acknowledgment answering an interchange: one functional group acknowledging
 * every group received (AK1), each transaction set (AK2) accepted or rejected (AK5 with its syntax
 * codes, AK3/AK4 naming the segment and element in error), and the group's verdict (AK9: accepted,
 * partially accepted, rejected). Generated with node-x12's interchange model, which writes the
 * envelope counts (SE-01, GE-01, IEA-01) itself. Sender and receiver are the inbound's, swapped.
 */
import { X12Interchange, X12SerializationOptions } from "node-x12";
import type { SyntaxProblem } from "./x12-elements.ts";
import type { EnvelopeProblem, FunctionalGroup, Interchange } from "./x12-interchange.ts";

/** The verdict on one transaction set. */
export interface SetAcknowledgment {
  readonly id: string;
  readonly control: string;
  /** Envelope problems (AK5 codes) and syntax problems (AK3/AK4); none: accepted. */
  readonly envelope: readonly EnvelopeProblem[];
  readonly syntax: readonly SyntaxProblem[];
  /** AK5-02 code when the set is rejected for what it is (1: transaction set not supported). */
  readonly unsupported?: boolean;
}

export interface GroupAcknowledgment {
  readonly group: FunctionalGroup;
  /** AK9-05 codes of problems with the group itself (version, trailer, counts); any: rejected. */
  readonly problems: readonly { readonly code?: string }[];
  readonly sets: readonly SetAcknowledgment[];
}

const pad = (n: string, width: number) => n.padStart(width, "0").slice(-width);

const accepted = (s: SetAcknowledgment) => !s.unsupported && s.envelope.length === 0 && s.syntax.length === 0;

export const build997 = (
  ic: Interchange,
  groups: readonly GroupAcknowledgment[],
  opts: { readonly receivedAt: string; readonly controlNumber: string; readonly rejectAll: boolean },
): string => {
  const { element, component, segment } = ic.delimiters;
  // A bad element's copy (AK4-04) is only sent when it cannot break the 997's own syntax.
  const safe = (v: string) =>
    v.length <= 99 && ![element, component, segment, "\n", "\r"].some((d) => v.includes(d)) ? v : "";
  const options = new X12SerializationOptions({
    elementDelimiter: element,
    segmentTerminator: segment,
    subElementDelimiter: component,
    endOfLine: "\n",
    format: segment !== "\n",
  });
  const at = opts.receivedAt;
  const date = `${at.slice(0, 4)}${at.slice(5, 7)}${at.slice(8, 10)}`;
  const time = `${at.slice(11, 13)}${at.slice(14, 16)}`;
  const out = new X12Interchange(options);
  out.setHeader([
    "00",
    "",
    "00",
    "",
    ic.receiverQualifier,
    ic.receiver,
    ic.senderQualifier,
    ic.sender,
    date.slice(2),
    time,
    "U",
    "00401",
    pad(opts.controlNumber, 9),
    "0",
    ic.usage === "P" ? "P" : "T",
    component,
  ]);
  const fg = out.addFunctionalGroup();
  const first = groups[0]?.group;
  fg.setHeader([
    "FA",
    first?.receiver ?? ic.receiver,
    first?.sender ?? ic.sender,
    date,
    time,
    String(Number(opts.controlNumber)),
    "X",
    "004010",
  ]);
  groups.forEach((g, i) => {
    const tx = fg.addTransaction();
    tx.setHeader(["997", pad(String(i + 1), 4)]);
    // Trailing empty elements are not written (X12 syntax).
    const add = (tag: string, elements: readonly string[]) => {
      const last = elements.findLastIndex((e) => e !== "");
      tx.addSegment(tag, elements.slice(0, last + 1));
    };
    add("AK1", [g.group.functionalId, g.group.control]);
    const groupRejected = opts.rejectAll || g.problems.length > 0;
    if (!groupRejected)
      for (const s of g.sets) {
        add("AK2", [s.id, s.control]);
        for (const p of s.syntax) {
          add("AK3", [p.tag, String(p.position), "", p.segmentCode]);
          if (p.element) add("AK4", [String(p.element.index), "", p.element.code, safe(p.element.value)]);
        }
        const codes = [
          ...(s.unsupported ? ["1"] : []),
          ...s.envelope.flatMap((p) => (p.code ? [p.code] : [])),
          ...(s.syntax.length > 0 ? ["5"] : []),
        ].slice(0, 5);
        add("AK5", [accepted(s) ? "A" : "R", ...codes]);
      }
    const received = g.group.sets.length;
    const ok = groupRejected ? 0 : g.sets.filter(accepted).length;
    const verdict = ok === received && !groupRejected ? "A" : ok > 0 ? "P" : "R";
    const codes = g.problems.flatMap((p) => (p.code ? [p.code] : [])).slice(0, 5);
    const declared = /^\d+$/.test(g.group.declaredSets) ? g.group.declaredSets : String(received);
    add("AK9", [verdict, declared, String(received), String(ok), ...codes]);
  });
  return out.toString();
};
