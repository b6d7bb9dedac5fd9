/**
 * The postings summary as text (the status view of `make run`, `stockline postings`): per ERP (and per region when it serves several) what was
 * acknowledged, what waits for a first attempt, what is retrying, what is dead, and the breaker.
 * Pending counts the events the worker has not read yet too: during an outage the worker holds
 * one batch and reads no further, so most of what waits is still in JetStream.
 */
import type { PostingFigures, PostingsSummary, TargetSummary } from "./postings-summary.ts";

const fmt = (n: number): string => n.toLocaleString("en-US").replace(/,/g, " ");
const pad = (s: unknown, n: number) => String(s).padEnd(n);
const lpad = (s: unknown, n: number) => String(s).padStart(n);
const secs = (ms: number | null) => (ms === null ? "-" : `${Math.round(ms / 1000)}s`);
const inSecs = (iso: string | null, now: number) =>
  iso === null ? "-" : `${Math.max(0, Math.round((Date.parse(iso) - now) / 1000))}s`;

const breakerText = (t: TargetSummary, now: number): string =>
  t.breaker.state === "open"
    ? `OPEN${t.breaker.nextTrialAt ? `, trial in ${inSecs(t.breaker.nextTrialAt, now)}` : ""}`
    : t.breaker.state;

const row = (label: string, f: PostingFigures, breaker: string): string =>
  `${pad(label, 30)}${lpad(fmt(f.acked), 8)}${lpad(fmt(f.pending.count), 9)}${lpad(fmt(f.retrying.count), 10)}${lpad(fmt(f.dead), 6)}${lpad(fmt(f.skipped), 9)}  ${breaker}`.trimEnd();

/** `waiting: 12 read, 509 not read yet, oldest 80s; retrying since 81s, next attempt in 1s`. */
const waitingLine = (f: PostingFigures, now: number): string | undefined => {
  const parts: string[] = [];
  if (f.pending.count > 0)
    parts.push(
      `pending ${fmt(f.pending.inFlight)} read + ${fmt(f.pending.queued)} not read yet, oldest ${secs(f.pending.oldestAgeMs)}`,
    );
  if (f.retrying.count > 0)
    parts.push(
      `retrying oldest ${secs(f.retrying.oldestAgeMs)}, next attempt in ${inSecs(f.retrying.nextAttemptAt, now)}`,
    );
  return parts.length > 0 ? parts.join("; ") : undefined;
};

export const renderPostingsTable = (
  summary: PostingsSummary,
  labelOf: (target: string) => string = (t) => t,
): string[] => {
  const now = Date.parse(summary.at);
  const lines = [
    `${pad("POSTINGS TO ERPs", 30)}${lpad("ACKED", 8)}${lpad("PENDING", 9)}${lpad("RETRYING", 10)}${lpad("DEAD", 6)}${lpad("SKIPPED", 9)}  BREAKER`,
  ];
  for (const t of summary.targets) {
    lines.push(row(labelOf(t.target), t, breakerText(t, now)));
    const several = t.regions.length > 1;
    for (const r of t.regions) {
      if (several) lines.push(row(`  ${r.region}`, r, ""));
      const w = waitingLine(r, now);
      if (w) lines.push(`  ${several ? "  " : ""}${w}`);
    }
  }
  lines.push(
    "  pending = not attempted yet (read, or still in INV_EVT_<R>); retrying = the ERP answered 5xx, timed out or was unreachable;",
    "  dead = refused or out of attempts (stockline dlq list); skipped = nothing to post (a count that found the book right)",
  );
  return lines;
};
