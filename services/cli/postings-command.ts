/**
 * `stockline postings [summary]`, `stockline dlq list|show|retry` and `stockline reconcile
 * [run]|runs|show|approve`: operator
 * commands over the HTTP API of the process that runs the posting workers and the reconciler (it
 * holds the circuit breakers, so a replay goes through them). `--api` or STOCKLINE_API_URL; the API
 * key (role operations or finance) from STOCKLINE_API_KEY.
 */
import type { Command } from "commander";
import type { PostingsSummary } from "../postings/postings-summary.ts";
import { renderPostingsTable } from "../postings/postings-table.ts";
import { callApi, DEFAULT_API, failWith, type Out } from "./api-client.ts";

interface DeadLetterRow {
  id: number;
  target: string;
  eventType: string;
  sku: string;
  location: string;
  sourceDocument: string;
  attempts: number;
  errorClass: string | null;
  lastError: string | null;
  deadAt: string | null;
}

interface Approval {
  readonly finding?: { readonly status?: string };
  readonly command?: {
    readonly kind?: string;
    readonly position?: { readonly region: string; readonly location: string; readonly sku: string };
    readonly quantity?: { readonly value: number; readonly uom: string };
  };
  readonly outcome?: unknown;
}

/** One line an operator reads: what was sent where and what the node decided (JSON with --json elsewhere). */
const describeApproval = (findingId: string, a: Approval): string => {
  const c = a.command;
  const what = c?.position
    ? `${c.kind} ${c.quantity ? `${c.quantity.value > 0 ? "+" : ""}${c.quantity.value} ${c.quantity.uom}` : ""} at ${c.position.region}/${c.position.location}/${c.position.sku}`
    : "postings replayed";
  const o = a.outcome as { outcome?: string; accepted?: boolean; reason?: { message?: string } } | undefined;
  const decided = o?.outcome ?? (o?.accepted === undefined ? "sent" : o.accepted ? "accepted" : "refused");
  return `approved ${findingId}: ${what} -> ${decided}${o?.reason?.message ? ` (${o.reason.message})` : ""}; finding ${a.finding?.status ?? "updated"}`;
};

export const registerPostingsCommands = (program: Command, out: Out = (l) => console.log(l)): void => {
  program
    .command("postings")
    .description("postings to ERPs")
    .command("summary", { isDefault: true })
    .description("per target and region: acked, pending, retrying (next attempt), dead; the circuit breaker")
    .option("--target <id>", "only this target")
    .option("--json", "the API's answer as JSON")
    .option("--api <url>", "stockline API", DEFAULT_API)
    .action(async (o: { target?: string; json?: boolean; api: string }) => {
      const r = await callApi(o.api, "GET", "/v1/postings/summary");
      if (r.status !== 200) failWith(r.status, r.json);
      const all = r.json as PostingsSummary;
      const summary = { ...all, targets: all.targets.filter((t) => !o.target || t.target === o.target) };
      if (o.json) return out(JSON.stringify(summary, null, 2));
      if (summary.targets.length === 0)
        return out(o.target ? `no postings to ${o.target}` : "no posting targets");
      for (const line of renderPostingsTable(summary)) out(line);
    });

  const dlq = program
    .command("dlq")
    .description("dead letters: postings to ERPs (list, show, retry) and commands (dlq commands ...)");
  dlq
    .command("list")
    .description("list dead letters")
    .option("--target <id>", "only this target")
    .option("--api <url>", "stockline API", DEFAULT_API)
    .action(async (o: { target?: string; api: string }) => {
      const r = await callApi(
        o.api,
        "GET",
        `/v1/postings/dead-letters${o.target ? `?target=${encodeURIComponent(o.target)}` : ""}`,
      );
      if (r.status !== 200) failWith(r.status, r.json);
      const rows = (r.json as { deadLetters: DeadLetterRow[] }).deadLetters;
      if (rows.length === 0) return out("no dead letters");
      for (const d of rows)
        out(
          `${String(d.id).padStart(6)}  ${d.target.padEnd(8)} ${d.eventType.padEnd(16)} ${d.location}/${d.sku}  ${d.sourceDocument}  ${d.attempts} attempt(s), ${d.errorClass}: ${d.lastError ?? ""}`,
        );
    });
  dlq
    .command("show <id>")
    .description("show a dead letter: posting, attempts, event")
    .option("--api <url>", "stockline API", DEFAULT_API)
    .action(async (id: string, o: { api: string }) => {
      const r = await callApi(o.api, "GET", `/v1/postings/dead-letters/${encodeURIComponent(id)}`);
      if (r.status !== 200) failWith(r.status, r.json);
      out(JSON.stringify(r.json, null, 2));
    });
  dlq
    .command("retry <id>")
    .description("replay a dead letter (posted once: same idempotency key)")
    .option("--api <url>", "stockline API", DEFAULT_API)
    .action(async (id: string, o: { api: string }) => {
      const r = await callApi(o.api, "POST", `/v1/postings/dead-letters/${encodeURIComponent(id)}/retry`);
      const j = r.json as {
        outcome?: string;
        duplicate?: boolean;
        message?: string;
        posting?: { targetDocument?: string };
      };
      if (r.status === 200)
        return out(
          `posted: document ${j.posting?.targetDocument}${j.duplicate ? " (the target had it already)" : ""}`,
        );
      if (r.status === 502) {
        process.exitCode = 1;
        return out(`still dead: ${j.message}`);
      }
      failWith(r.status, r.json);
    });

  const reconcile = program
    .command("reconcile")
    .description("reconcile ERP balances against the event ledger");
  reconcile
    .command("run", { isDefault: true })
    .description("run a reconciliation now and print the report")
    .option("--location <glob...>", "only these locations")
    .option("--target <id...>", "only these targets")
    .option("--api <url>", "stockline API", DEFAULT_API)
    .action(async (o: { location?: string[]; target?: string[]; api: string }) => {
      const r = await callApi(o.api, "POST", "/v1/reconciliation/runs", {
        ...(o.location ? { locations: o.location } : {}),
        ...(o.target ? { targets: o.target } : {}),
      });
      if (r.status !== 201) failWith(r.status, r.json);
      out((r.json as { report: string }).report);
    });
  reconcile
    .command("runs")
    .description("list reconciliation runs")
    .option("--api <url>", "stockline API", DEFAULT_API)
    .action(async (o: { api: string }) => {
      const r = await callApi(o.api, "GET", "/v1/reconciliation/runs");
      if (r.status !== 200) failWith(r.status, r.json);
      for (const run of (
        r.json as {
          runs: {
            id: string;
            trigger: string;
            snapshotTime: string;
            status: string;
            positionsChecked: number;
            findings: number;
          }[];
        }
      ).runs)
        out(
          `${run.id}  ${run.trigger.padEnd(18)} ${run.snapshotTime}  ${run.status}  ${run.positionsChecked} positions, ${run.findings} finding(s)`,
        );
    });
  reconcile
    .command("show <runId>")
    .description("print a run's report")
    .option("--api <url>", "stockline API", DEFAULT_API)
    .action(async (runId: string, o: { api: string }) => {
      const r = await callApi(o.api, "GET", `/v1/reconciliation/runs/${encodeURIComponent(runId)}/report`);
      if (r.status !== 200) failWith(r.status, r.json);
      out(String(r.json));
    });
  reconcile
    .command("approve <findingId>")
    .description("approve a finding's proposal (compensating adjustStock, or replay of missing postings)")
    .option(
      "--by <name>",
      "who approves (only where the API has no keys: else the key's name)",
      process.env.USER ?? "operator",
    )
    .option("--api <url>", "stockline API", DEFAULT_API)
    .action(async (findingId: string, o: { by: string; api: string }) => {
      const r = await callApi(
        o.api,
        "POST",
        `/v1/reconciliation/findings/${encodeURIComponent(findingId)}/approve`,
        { by: o.by },
      );
      if (r.status === 202) return out(`approved ${findingId}: ${(r.json as { message: string }).message}`);
      if (r.status !== 200) failWith(r.status, r.json);
      out(describeApproval(findingId, r.json as Approval));
    });
};
