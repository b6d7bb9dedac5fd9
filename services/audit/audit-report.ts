/** Plain-text renderings of replays, verifications and traces for the CLI (readable in a terminal or a ticket). */
import type { AnchorLog } from "../../infra/anchor/anchor-log.ts";
import type { AnchorStoreVerdict } from "./anchor-check.ts";
import type { ReplayResult, VerifyManyResult } from "./replay.ts";
import type { Trace } from "./trace.ts";

/** A left-aligned text table; numbers are right-aligned. */
export const table = (
  headers: readonly string[],
  rows: readonly (readonly (string | number)[])[],
): string => {
  const cells = rows.map((r) => r.map((c) => String(c)));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => (r[i] ?? "").length)));
  const line = (r: readonly string[], raw?: readonly (string | number)[]) =>
    r
      .map((c, i) => (typeof raw?.[i] === "number" ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  return [
    line(headers),
    line(widths.map((w) => "-".repeat(w))),
    ...cells.map((r, i) => line(r, rows[i])),
  ].join("\n");
};

const time = (iso: string | null): string => (iso === null ? "-" : iso.replace(/\.000Z$/, "Z"));

export const renderReplay = (r: ReplayResult): string => {
  const out: string[] = [];
  const p = r.position;
  out.push(`position ${p.region} / ${p.location} / ${p.sku}  (stream ${r.streamId})`);
  if (r.asOf) out.push(`as of ${r.asOf.time} by ${r.asOf.by} time`);
  out.push(
    table(
      ["rev", "type", "qty", "business time", "recorded time", "source", "avail", "resv", "inbound", "ATP"],
      r.events.map((e) => [
        e.revision,
        e.type,
        e.quantity ?? "-",
        time(e.businessTime),
        time(e.recordedTime),
        e.source ?? "-",
        e.balances?.onHand.available ?? "?",
        e.balances?.reserved ?? "?",
        e.balances?.inboundInTransit ?? "?",
        e.atp?.atp ?? "?",
      ]),
    ),
  );
  const b = r.balances;
  out.push("");
  out.push(
    `state after revision ${r.revision} (stream head ${r.headRevision}, ${r.eventCount} events stored):`,
    `  on hand: available ${b.onHand.available}, inspection ${b.onHand.inspection}, blocked ${b.onHand.blocked}, consigned ${b.onHand.consigned}, picked ${b.onHand.picked}`,
    `  reserved ${b.reserved}, safety stock ${b.safetyStock}, inbound in transit ${b.inboundInTransit}, lifecycle ${b.lifecycle}`,
    `  ATP ${r.atp.atp} = available ${r.atp.available} - reserved ${r.atp.reserved} - safety stock ${r.atp.safetyStock} (net ${r.atp.net}${r.atp.sellable ? "" : ", not sellable"})`,
    `  head hash ${r.headHash}`,
  );
  if (r.verification) {
    out.push("");
    out.push(renderIssues(r.verification.ok, r.verification.eventsChecked, r.verification.issues));
  }
  for (const w of r.warnings) out.push(`warning: ${w.message}`);
  return out.join("\n");
};

const renderIssues = (
  ok: boolean,
  checked: number,
  issues: readonly { kind: string; revision: number; message: string }[],
): string =>
  ok
    ? `chain verified: ${checked} events, every hash and link intact`
    : [
        `CHAIN BROKEN: ${issues.length} problem(s) in ${checked} events`,
        ...issues.map((i) => `  revision ${i.revision} [${i.kind}] ${i.message}`),
      ].join("\n");

export const renderVerifyMany = (scope: string, r: VerifyManyResult): string => {
  const head = `verified ${scope}: ${r.streams} positions, ${r.eventsChecked} events`;
  if (r.ok) return `${head}: every chain intact`;
  return [
    `${head}: ${r.failed.length} position(s) BROKEN`,
    ...r.failed.flatMap((f) => [
      `${f.location} / ${f.sku} (stream ${f.streamId}, ${f.events} events, head revision ${f.headRevision}):`,
      ...f.issues.map((i) => `  revision ${i.revision} [${i.kind}] ${i.message}`),
    ]),
  ].join("\n");
};

export const renderTrace = (t: Trace): string => {
  if (t.events.length === 0) return `no event has correlation id ${JSON.stringify(t.correlationId)}`;
  const out: string[] = [];
  out.push(
    `correlation ${t.correlationId}: ${t.events.length} event(s) in region(s) ${t.regions.join(", ")}`,
  );
  out.push("", "source documents:");
  for (const d of t.sourceDocuments) out.push(`  ${d.system}: ${d.document} (${d.eventIds.length} event(s))`);
  out.push("", "events:");
  const short = (id: string) => id.slice(0, 8);
  out.push(
    table(
      ["region", "location", "sku", "rev", "type", "qty", "business time", "event", "caused by", "documents"],
      t.events.map((e) => [
        e.region,
        e.location,
        e.sku,
        e.revision,
        e.type,
        e.quantity ?? "-",
        time(e.businessTime),
        short(e.eventId),
        e.causedBy ? short(e.causedBy) : "-",
        Object.entries(e.documents)
          .map(([k, v]) => `${k}=${v}`)
          .join(" ") || "-",
      ]),
    ),
  );
  const postings = t.events.flatMap((e) => e.postings.map((p) => ({ e, p })));
  out.push("", "postings:");
  if (postings.length === 0) out.push("  none recorded");
  else
    out.push(
      table(
        ["event", "type", "target", "status", "target document", "attempts", "acked at", "last error"],
        postings.map(({ e, p }) => [
          short(e.eventId),
          e.type,
          p.target,
          p.status,
          p.targetDocument ?? "-",
          p.attempts,
          time(p.ackedAt ?? null),
          p.lastError ?? "-",
        ]),
      ),
    );
  return out.join("\n");
};

/** The anchor log's own verdict, and (for `verify`) the store's global log against it. */
export const renderAnchor = (log: AnchorLog, store?: AnchorStoreVerdict): string => {
  const out: string[] = [];
  const span = log.firstAt ? ` (${time(log.firstAt)} .. ${time(log.lastAt ?? null)})` : "";
  out.push(
    `anchor ${log.file}: ${log.lines} sound line(s)${span}, ${
      log.macsChecked ? "every MAC checked" : "NOT authenticated (no key)"
    }, ${log.heads.size} stream(s) anchored up to global position ${log.position}`,
  );
  if (store)
    out.push(
      `  the store ends at global position ${store.storePosition}; ${store.unanchoredEvents} event(s) after the last anchor line`,
    );
  for (const p of log.problems) out.push(`ANCHOR BROKEN: ${p.message}`);
  for (const i of store?.issues ?? []) out.push(`STORE TRUNCATED: ${i}`);
  for (const w of [...log.warnings, ...(store?.warnings ?? [])]) out.push(`warning: ${w}`);
  return out.join("\n");
};
