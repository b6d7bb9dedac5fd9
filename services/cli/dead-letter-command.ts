/**
 * `stockline dlq commands list|show|retry|resolve`: command dead letters of the regional nodes
 * (`INV_DLQ_<R>`), over the HTTP API (`/v1/exceptions/dead-letters`). `--api` or STOCKLINE_API_URL;
 * the API key (role operations) from `--key` or STOCKLINE_API_KEY. Sits beside `stockline dlq list|show|retry`,
 * which are the posting dead letters.
 */
import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { API_OPTION_HELP, callApi, DEFAULT_API, failWith, KEY_OPTION_HELP, type Out } from "./api-client.ts";

interface Row {
  region: string;
  seq: number;
  status: string;
  reason: string;
  code: string;
  message: string;
  sku?: string;
  location?: string;
  sourceSystem?: string;
  document?: { type?: string; id?: string };
  at: string;
  attempts: number;
  lastOutcome?: string;
}

const rowLine = (d: Row): string =>
  `${`${d.region}/${d.seq}`.padEnd(10)} ${d.status.padEnd(8)} ${d.reason.padEnd(16)} ${(d.code ?? "").padEnd(18)} ` +
  `${d.location ?? "?"}/${d.sku ?? "?"}  ${d.sourceSystem ?? "?"} ${d.document?.id ?? ""}  ${d.at}` +
  `${d.attempts ? `  ${d.attempts} retr${d.attempts === 1 ? "y" : "ies"}, last ${d.lastOutcome}` : ""}\n` +
  `${" ".repeat(11)}${d.message}`;

export const registerDeadLetterCommands = (program: Command, out: Out = (l) => console.log(l)): void => {
  const dlq =
    program.commands.find((c) => c.name() === "dlq") ??
    program.command("dlq").description("dead letters: list, inspect, retry");
  const commands = dlq
    .command("commands")
    .description("commands the regional nodes dead-lettered (INV_DLQ_<R>): list, inspect, retry");

  commands
    .command("list")
    .description("list command dead letters (newest pages with --after)")
    .option("--region <r>", "only this region")
    .option("--reason <reason>", "malformedJson, invalidCommand, rejected, hostilePayload, ...")
    .option("--sku <sku>", "only this SKU")
    .option("--location <id>", "only this location")
    .option("--source <system>", "only this source system")
    .option("--since <time>", "stored at or after this ISO time")
    .option("--status <status>", "open, retried or resolved")
    .option("--after <seq>", "paging: stream sequences above this one (with --region)")
    .option("--limit <n>", "page size")
    .option("--api <url>", API_OPTION_HELP, DEFAULT_API)
    .option("--key <key>", KEY_OPTION_HELP)
    .action(
      async (o: {
        region?: string;
        reason?: string;
        sku?: string;
        location?: string;
        source?: string;
        since?: string;
        status?: string;
        after?: string;
        limit?: string;
        api: string;
        key?: string;
      }) => {
        const q = new URLSearchParams();
        const set = (k: string, v: string | undefined) => v !== undefined && q.set(k, v);
        set("region", o.region);
        set("reason", o.reason);
        set("sku", o.sku);
        set("location", o.location);
        set("sourceSystem", o.source);
        set("since", o.since);
        set("status", o.status);
        set("after", o.after);
        set("limit", o.limit);
        const qs = q.toString();
        const r = await callApi(o, "GET", `/v1/exceptions/dead-letters${qs ? `?${qs}` : ""}`);
        if (r.status !== 200) failWith(r.status, r.json);
        const j = r.json as { deadLetters: Row[]; next: Record<string, number> };
        if (j.deadLetters.length === 0) out("no command dead letters");
        for (const d of j.deadLetters) out(rowLine(d));
        for (const [region, after] of Object.entries(j.next))
          out(`more in ${region}: --region ${region} --after ${after}`);
      },
    );

  commands
    .command("show <region> <seq>")
    .description("show a command dead letter: context, rule or error, original payload, retries")
    .option("--api <url>", API_OPTION_HELP, DEFAULT_API)
    .option("--key <key>", KEY_OPTION_HELP)
    .action(async (region: string, seq: string, o: { api: string; key?: string }) => {
      const r = await callApi(
        o,
        "GET",
        `/v1/exceptions/dead-letters/${encodeURIComponent(region)}/${encodeURIComponent(seq)}`,
      );
      if (r.status !== 200) failWith(r.status, r.json);
      out(JSON.stringify(r.json, null, 2));
    });

  commands
    .command("retry <region> <seq>")
    .description("retry a command dead letter, optionally with a corrected payload (validated first)")
    .option("--payload <file.json>", "corrected command as a JSON file (default: the original payload)")
    .option("--via <via>", "request (decided now, default) or stream (republished to INV_CMD_<R>)")
    .option("--by <name>", "who retries", process.env.USER ?? "operator")
    .option("--api <url>", API_OPTION_HELP, DEFAULT_API)
    .option("--key <key>", KEY_OPTION_HELP)
    .action(
      async (
        region: string,
        seq: string,
        o: { payload?: string; via?: string; by: string; api: string; key?: string },
      ) => {
        let payload: unknown;
        if (o.payload !== undefined) {
          try {
            payload = JSON.parse(readFileSync(o.payload, "utf8"));
          } catch (err) {
            throw new Error(`--payload ${o.payload}: ${(err as Error).message}`);
          }
        }
        const r = await callApi(
          o,
          "POST",
          `/v1/exceptions/dead-letters/${encodeURIComponent(region)}/${encodeURIComponent(seq)}/retry`,
          { by: o.by, ...(payload !== undefined ? { payload } : {}), ...(o.via ? { via: o.via } : {}) },
        );
        const j = r.json as {
          repeated?: boolean;
          status?: string;
          attempt?: {
            attempt: number;
            outcome: string;
            reason?: { code: string; message: string };
            eventIds?: string[];
          };
          errors?: Array<{ message: string }>;
        };
        if (![200, 202, 422, 503].includes(r.status)) {
          for (const e of j.errors ?? []) out(`  ${e.message}`);
          failWith(r.status, r.json);
        }
        const a = j.attempt;
        const why = a?.reason ? `: ${a.reason.code} ${a.reason.message}` : "";
        const events = a?.eventIds?.length ? ` (${a.eventIds.length} event(s))` : "";
        out(
          `${region}/${seq} retry ${a?.attempt}: ${a?.outcome}${events}${why}${j.repeated ? " (already resolved; not sent again)" : ""} -> ${j.status}`,
        );
        if (r.status >= 400) process.exitCode = 1;
      },
    );

  commands
    .command("resolve <region> <seq>")
    .description("mark a command dead letter resolved without retrying it")
    .option("--note <text>", "why")
    .option("--by <name>", "who", process.env.USER ?? "operator")
    .option("--api <url>", API_OPTION_HELP, DEFAULT_API)
    .option("--key <key>", KEY_OPTION_HELP)
    .action(
      async (region: string, seq: string, o: { note?: string; by: string; api: string; key?: string }) => {
        const r = await callApi(
          o,
          "POST",
          `/v1/exceptions/dead-letters/${encodeURIComponent(region)}/${encodeURIComponent(seq)}/resolve`,
          { by: o.by, ...(o.note ? { note: o.note } : {}) },
        );
        if (r.status !== 200) failWith(r.status, r.json);
        out(`${region}/${seq}: ${(r.json as { status: string }).status}`);
      },
    );
};
