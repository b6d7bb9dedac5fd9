/**
 * A reconciliation report for people: what the run did to the findings, then per target and
 * location each position and its findings. The first two lines are the summary (the status view of
 * `stockline run` prints them as they are).
 */
import type { PositionReconciliation } from "../../projections/reconciliation.ts";
import type { FindingRow, RunRow, RunSummary } from "./reconciliation-store.ts";

const CLASS_LABEL = {
  inFlight: "IN FLIGHT",
  missingPosting: "MISSING POSTING",
  unexplained: "UNEXPLAINED",
} as const;
const signed = (n: number) => (n > 0 ? `+${n}` : String(n));
const pad = (s: string | number, n: number) => String(s).padEnd(n);
const lpad = (s: string | number, n: number) => String(s).padStart(n);

/** `1 new, 3 cleared, 0 resolved; now 1 open, 2 waiting` */
const lifecycle = (s: RunSummary): string => {
  const now = (["open", "waiting", "awaitingSecondApproval", "dismissed"] as const)
    .filter((k) => s.byStatus[k] > 0)
    .map((k) => `${s.byStatus[k]} ${k}`);
  return `${s.new} new, ${s.cleared} cleared, ${s.resolved} resolved${now.length > 0 ? `; ${now.join(", ")}` : ""}`;
};

export const renderReport = (
  run: RunRow,
  positions: readonly PositionReconciliation[],
  findings: readonly FindingRow[],
  summary?: RunSummary,
): string => {
  const lines: string[] = [];
  const inSync = positions.filter((p) => p.findings.length === 0).length;
  lines.push(`Reconciliation ${run.id} (${run.trigger}), region ${run.region}, snapshot ${run.snapshotTime}`);
  lines.push(
    `${positions.length} positions checked, ${inSync} in sync, ${findings.length} finding(s)` +
      (findings.length > 0
        ? `: ${(["unexplained", "missingPosting", "inFlight"] as const)
            .map((c) => `${findings.filter((f) => f.class === c).length} ${CLASS_LABEL[c].toLowerCase()}`)
            .join(", ")}`
        : "") +
      (summary ? ` (${lifecycle(summary)})` : ""),
  );
  const groups = new Map<string, PositionReconciliation[]>();
  for (const p of positions) {
    const k = `${p.target}\u0000${p.position.location}`;
    groups.set(k, [...(groups.get(k) ?? []), p]);
  }
  for (const [k, ps] of groups) {
    const [target, location] = k.split("\u0000");
    lines.push("");
    lines.push(`${target} @ ${location}`);
    lines.push(
      `  ${pad("SKU", 14)}${lpad("target", 8)}${lpad("canonical", 11)}${lpad("acked", 8)}${lpad("expected", 10)}  result`,
    );
    for (const p of ps) {
      const own = findings.filter(
        (f) => f.target === p.target && f.location === p.position.location && f.sku === p.position.sku,
      );
      const head = `  ${pad(p.position.sku, 14)}${lpad(p.actual, 8)}${lpad(p.canonical, 11)}${lpad(p.expectedFromAcks, 8)}${lpad(p.expectedAll, 10)}  `;
      if (own.length === 0) {
        lines.push(
          `${head}in sync${p.appliedUnacknowledged.length > 0 ? ` (${p.appliedUnacknowledged.length} applied, ack pending)` : ""}`,
        );
        continue;
      }
      own.forEach((f, i) => {
        const prefix = i === 0 ? head : " ".repeat(head.length);
        const since = f.timesSeen > 1 ? ` seen ${f.timesSeen} times since ${f.firstSeenAt}` : "";
        lines.push(`${prefix}${CLASS_LABEL[f.class]} ${signed(f.quantity)}  [${f.id}]${since}`);
        lines.push(`${" ".repeat(head.length + 2)}${f.explanation}`);
        const action =
          f.status === "dismissed"
            ? `dismissed by ${dismissedBy(f)}`
            : f.proposal.kind === "adjustStock"
              ? `proposed: adjustStock ${signed(f.proposal.quantity)} (approve: stockline reconcile approve ${f.id})`
              : f.proposal.kind === "replayPostings"
                ? `proposed: replay ${f.proposal.eventKeys.length} posting(s) (approve: stockline reconcile approve ${f.id})`
                : `proposed: ${f.proposal.note}`;
        const status =
          f.status === "open" || f.status === "waiting" || f.status === "dismissed" ? "" : ` — ${f.status}`;
        lines.push(`${" ".repeat(head.length + 2)}${action}${status}`);
      });
    }
  }
  return lines.join("\n");
};

const dismissedBy = (f: FindingRow): string => {
  const d = (f.resolution as { dismissal?: { by: string; reason: string } } | null)?.dismissal;
  return d ? `${d.by}: ${d.reason}` : "an operator";
};
