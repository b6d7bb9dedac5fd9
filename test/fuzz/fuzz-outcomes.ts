/**
 * The classes of a fuzz outcome (fine ones and failures), what a run records, and the table and
 * finding list it prints (intake-harness.ts says what each class means).
 */
import { INTAKES, type Intake } from "./command-arbitraries.ts";

export const GOOD_CLASSES = [
  "applied",
  "duplicate",
  "parked",
  "rejected",
  "invalid",
  "deadLettered",
  "unsendable",
] as const;
export const BAD_CLASSES = ["5xx", "crash", "stall", "silentlyWrong", "unclear", "lost"] as const;
export type OutcomeClass = (typeof GOOD_CLASSES)[number] | (typeof BAD_CLASSES)[number];
export const BAD = new Set<string>(BAD_CLASSES);

/** The intakes, and JetStream again for the cases published all at once (`runBurst`). */
export type Column = Intake | "burst";
export const COLUMNS: readonly Column[] = [...INTAKES, "burst"];

export interface Finding {
  readonly index: number;
  readonly intake: Column | "end";
  readonly outcome: OutcomeClass;
  readonly input: string;
  readonly detail: string;
}

export interface RunReport {
  readonly counts: Record<Column, Partial<Record<OutcomeClass, number>>>;
  /** Refusal codes seen (reason codes of rejections, invalid paths, dead-letter codes), with counts. */
  readonly codes: Map<string, number>;
  readonly findings: Finding[];
  readonly restarts: number;
}

/** The classification table: counts per class and intake, then the codes seen. */
export const formatReport = (r: RunReport, header: string): string => {
  const classes = [...GOOD_CLASSES, ...BAD_CLASSES];
  const pad = (s: string | number, n: number) => String(s).padStart(n);
  const lines = [header, `${"class".padEnd(14)}${COLUMNS.map((i) => pad(i, 11)).join("")}${pad("total", 9)}`];
  for (const k of classes) {
    const row = COLUMNS.map((i) => r.counts[i][k] ?? 0);
    const total = row.reduce((a, b) => a + b, 0);
    lines.push(
      `${(BAD.has(k) ? `!${k}` : k).padEnd(14)}${row.map((n) => pad(n, 11)).join("")}${pad(total, 9)}`,
    );
  }
  const ends = r.findings.filter((f) => f.intake === "end").length;
  lines.push(`end-of-run findings: ${ends}; node restarts: ${r.restarts}`);
  const codes = [...r.codes.entries()].sort((a, b) => b[1] - a[1]).slice(0, 25);
  lines.push(`top codes: ${codes.map(([c, n]) => `${c} ${n}`).join(", ")}`);
  return lines.join("\n");
};

/** Findings grouped by what happened (so that 300 lone-surrogate crashes read as one line with an example). */
export const formatFindings = (findings: readonly Finding[], max = 40): string => {
  const groups = new Map<string, { n: number; first: Finding }>();
  for (const f of findings) {
    const sig = `${f.outcome} via ${f.intake}: ${f.detail.replace(/\d+/g, "N").slice(0, 160)}`;
    const g = groups.get(sig);
    if (g) g.n++;
    else groups.set(sig, { n: 1, first: f });
  }
  return [...groups.entries()]
    .slice(0, max)
    .map(
      ([sig, g]) =>
        `- ${g.n}x ${sig}\n    e.g. case ${g.first.index}: ${g.first.input}\n    ${g.first.detail.slice(0, 400)}`,
    )
    .join("\n");
};
