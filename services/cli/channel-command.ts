/**
 * `stockline channels ...` (issue 14): what a channel may sell and why, promise dates, and the
 * channel rules an operator sets, over the HTTP API (`--api`/STOCKLINE_API_URL, `--key`/STOCKLINE_API_KEY):
 *
 *   stockline channels availability <channel> <sku> [--region r]     GET /v1/channels/:channel/availability/:sku
 *   stockline channels promise <channel> <sku> <quantity> [--region r] [--partial]   POST /v1/promise
 *   stockline channels rules set --file <rules.json>                   POST /v1/channels/rules (each item)
 *   stockline channels rules show <region> <location> <sku>            GET /v1/channels/rules/...
 *
 * The figures are the API's own answers (the same the dashboards show); `--json` prints them as they came.
 */
import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { type ApiTarget, apiOptions, callApi, failWith, type Out } from "./api-client.ts";

interface RuleEffectLine {
  rule: string;
  effect: string;
  before: number;
  after: number;
}
interface LocationLine {
  region: string;
  location: string;
  quantity: number;
  explanation: RuleEffectLine[];
}

const explain = (out: Out, steps: readonly RuleEffectLine[], indent: string) => {
  for (const s of steps)
    out(
      `${indent}${s.rule.padEnd(22)} ${String(s.before).padStart(6)} → ${String(s.after).padEnd(6)} ${s.effect}`,
    );
};

/** `<channel> may sell N of <sku>`, then each location's figure and its explanation. */
export const describeChannelFigures = (
  out: Out,
  j: { channel: string; sku: string; quantity: number; asOf: string; locations: LocationLine[] },
): void => {
  out(`${j.channel} may sell ${j.quantity} of ${j.sku} (as of ${j.asOf})`);
  if (j.locations.length === 0) out("  no location holds it");
  for (const l of j.locations) {
    out(`  ${l.region}/${l.location}: ${l.quantity}`);
    explain(out, l.explanation, "    ");
  }
};

const withQuery = (p: string, q: Record<string, string | undefined>): string => {
  const s = new URLSearchParams(
    Object.entries(q).filter((e): e is [string, string] => e[1] !== undefined),
  ).toString();
  return s ? `${p}?${s}` : p;
};

const enc = encodeURIComponent;

export const registerChannelCommands = (program: Command, out: Out = (l) => console.log(l)): Command => {
  const channels = program
    .command("channels")
    .description("what each channel may sell and why, promise dates, and the channel rules (issue 14)");

  apiOptions(
    channels
      .command("availability <channel> <sku>")
      .description("what the channel may sell of the SKU, per location, each figure explained")
      .option("--region <region>", "only this region's locations")
      .option("--json", "print the API's answer as it came"),
  ).action(async (channel: string, sku: string, o: ApiTarget & { region?: string; json?: boolean }) => {
    const r = await callApi(
      o,
      "GET",
      withQuery(`/v1/channels/${enc(channel)}/availability/${enc(sku)}`, { region: o.region }),
    );
    if (r.status !== 200) failWith(r.status, r.json, o);
    if (o.json) out(JSON.stringify(r.json, null, 2));
    else describeChannelFigures(out, r.json as Parameters<typeof describeChannelFigures>[1]);
  });

  apiOptions(
    channels
      .command("promise <channel> <sku> <quantity>")
      .description("the earliest date the quantity can be promised to the channel, and from where")
      .option("--region <region>", "the delivery region: only its locations")
      .option("--partial", "split over days and locations (8 now, 4 on the 12th)")
      .option("--json", "print the API's answer as it came"),
  ).action(
    async (
      channel: string,
      sku: string,
      quantity: string,
      o: ApiTarget & { region?: string; partial?: boolean; json?: boolean },
    ) => {
      const n = Number(quantity);
      if (!Number.isInteger(n) || n <= 0)
        throw new Error(`quantity ${JSON.stringify(quantity)} is not a positive whole number`);
      const r = await callApi(o, "POST", "/v1/promise", {
        sku,
        quantity: n,
        channel,
        ...(o.region ? { deliveryRegion: o.region } : {}),
        ...(o.partial ? { allowPartial: true } : {}),
      });
      if (r.status !== 200) failWith(r.status, r.json, o);
      if (o.json) {
        out(JSON.stringify(r.json, null, 2));
        return;
      }
      const j = r.json as {
        promised: boolean;
        date?: string;
        promisedQuantity: number;
        short: number;
        horizon: { to: string };
        lines: (LocationLine & { date: string; availability: { explanation: RuleEffectLine[] } })[];
      };
      out(
        j.promised
          ? `${n} of ${sku} can be promised to ${channel} by ${j.date}`
          : `${j.short} of ${n} of ${sku} cannot be promised to ${channel} by ${j.horizon.to}${j.promisedQuantity > 0 ? ` (${j.promisedQuantity} can)` : ""}`,
      );
      for (const l of j.lines) {
        out(`  ${l.quantity} on ${l.date} from ${l.region}/${l.location}`);
        explain(out, l.availability.explanation, "    ");
      }
    },
  );

  const rules = channels.command("rules").description("the channel rules of positions");
  apiOptions(
    rules
      .command("set")
      .description(
        "set positions' channel rules from a JSON file: one { sku, region, location, rules, category?, changeId?, by? } or an array of them",
      )
      .requiredOption("--file <file>", "the JSON file")
      .option("--by <name>", "who sets them (recorded with the API key's name)", process.env.USER),
  ).action(async (o: ApiTarget & { file: string; by?: string }) => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(o.file, "utf8"));
    } catch (err) {
      throw new Error(`--file ${o.file}: ${err instanceof Error ? err.message : String(err)}`);
    }
    const items = (Array.isArray(parsed) ? parsed : [parsed]) as Record<string, unknown>[];
    for (const [i, item] of items.entries()) {
      const body = { ...(o.by && item.by === undefined ? { by: o.by } : {}), ...item };
      const r = await callApi(o, "POST", "/v1/channels/rules", body);
      if (r.status !== 200) {
        const where = Array.isArray(parsed) ? ` (item ${i} of ${o.file})` : ` (${o.file})`;
        const message = (r.json as { message?: string })?.message ?? JSON.stringify(r.json);
        throw new Error(`HTTP ${r.status}: ${message}${where}`);
      }
      const j = r.json as {
        outcome: string;
        version?: number;
        by: string;
        position: { region: string; location: string; sku: string };
      };
      out(
        `${j.position.region}/${j.position.location}/${j.position.sku}: rules version ${j.version ?? "?"} ${j.outcome === "duplicate" ? "(already set)" : "set"} by ${j.by}`,
      );
    }
  });

  apiOptions(
    rules
      .command("show <region> <location> <sku>")
      .description("a position's channel rules now, their version and what each channel used"),
  ).action(async (region: string, location: string, sku: string, o: ApiTarget) => {
    const r = await callApi(o, "GET", `/v1/channels/rules/${enc(region)}/${enc(location)}/${enc(sku)}`);
    if (r.status !== 200) failWith(r.status, r.json, o);
    out(JSON.stringify(r.json, null, 2));
  });

  return channels;
};
