/**
 * `stockline reconcile findings [list]|dismiss`: the kept reconciliation findings over the HTTP API
 * (`--api` or STOCKLINE_API_URL; the API key, role operations or finance, from STOCKLINE_API_KEY).
 * A dismissal records the key's name, the time and the reason.
 */
import type { Command } from "commander";
import { callApi, DEFAULT_API, failWith, type Out } from "./api-client.ts";

interface FindingLine {
  id: string;
  target: string;
  location: string;
  sku: string;
  class: string;
  quantity: number;
  status: string;
  timesSeen: number;
  firstSeenAt: string;
  lastSeenAt: string;
  closeReason: string | null;
  resolution: { dismissal?: { by: string; reason: string } } | null;
}

const signed = (n: number) => (n > 0 ? `+${n}` : String(n));

/** One line per finding: id, status, class and quantity, where, how often seen, and how it ended. */
export const describeFinding = (f: FindingLine): string => {
  const d = f.resolution?.dismissal;
  const note = d ? `  dismissed by ${d.by}: ${d.reason}` : f.closeReason ? `  ${f.closeReason}` : "";
  const seen =
    f.timesSeen > 1 ? `seen ${f.timesSeen}x ${f.firstSeenAt} .. ${f.lastSeenAt}` : `seen ${f.lastSeenAt}`;
  return `${f.id}  ${f.status.padEnd(22)} ${`${f.class} ${signed(f.quantity)}`.padEnd(22)} ${f.target} ${f.location}/${f.sku}  ${seen}${note}`;
};

export const registerReconcileFindingsCommands = (
  program: Command,
  out: Out = (l) => console.log(l),
): Command => {
  const reconcile =
    program.commands.find((c) => c.name() === "reconcile") ??
    program.command("reconcile").description("reconcile ERP balances against the event ledger");
  const findings = reconcile
    .command("findings")
    .description("findings kept across runs: list them (by status), dismiss one with a reason");
  findings
    .command("list", { isDefault: true })
    .description("list findings with their status and how often they were seen (default: open ones)")
    .option(
      "--status <status>",
      "open, waiting, awaitingSecondApproval, approved, dismissed, cleared, resolved, or all",
      "open",
    )
    .option("--limit <n>", "at most this many")
    .option("--api <url>", "stockline API", DEFAULT_API)
    .action(async (o: { status: string; limit?: string; api: string }) => {
      const query = new URLSearchParams({
        ...(o.status === "all" ? {} : { status: o.status }),
        ...(o.limit ? { limit: o.limit } : {}),
      }).toString();
      const r = await callApi(o.api, "GET", `/v1/reconciliation/findings${query ? `?${query}` : ""}`);
      if (r.status !== 200) failWith(r.status, r.json);
      const j = r.json as { findings: FindingLine[]; counts: Record<string, number> };
      if (j.findings.length === 0) out(`no ${o.status === "all" ? "" : `${o.status} `}findings`);
      for (const f of j.findings) out(describeFinding(f));
      out(
        `all findings: ${Object.entries(j.counts)
          .map(([s, n]) => `${n} ${s}`)
          .join(", ")}`,
      );
    });
  findings
    .command("dismiss <findingId>")
    .description("dismiss a finding: who (the API key's name), when and why are recorded")
    .requiredOption("--reason <text>", "why it needs no action (recorded with the finding)")
    .option(
      "--by <name>",
      "who dismisses (only where the API has no keys: else the key's name)",
      process.env.USER ?? "operator",
    )
    .option("--api <url>", "stockline API", DEFAULT_API)
    .action(async (findingId: string, o: { reason: string; by: string; api: string }) => {
      const r = await callApi(
        o.api,
        "POST",
        `/v1/reconciliation/findings/${encodeURIComponent(findingId)}/dismiss`,
        { reason: o.reason, by: o.by },
      );
      if (r.status !== 200) failWith(r.status, r.json);
      out(describeFinding((r.json as { finding: FindingLine }).finding));
    });
  return program;
};
