/**
 * The bodies a receiver is sent: a generic JSON webhook (everything, for any tool that takes JSON)
 * and a Slack-compatible message (`text` for notifications, `blocks` for the message: header,
 * summary, the business object as fields, what to do and the runbook link).
 */
import type { AlertNotification, BusinessContext } from "./alert-model.ts";

export interface ChannelContext {
  readonly distributor: string;
  /** `RUNBOOK.md` or a URL of it (`https://git.example.com/stockline/blob/main/RUNBOOK.md`). */
  readonly runbookBaseUrl: string;
}

export const runbookUrl = (n: AlertNotification, c: ChannelContext): string =>
  `${c.runbookBaseUrl}#${n.signal.runbook}`;

const iso = (ms: number): string => new Date(ms).toISOString();

export interface WebhookBody {
  readonly version: 1;
  readonly source: "stockline";
  readonly distributor: string;
  readonly status: "firing" | "resolved";
  readonly update: boolean;
  readonly alert: {
    readonly id: string;
    readonly groupKey: string;
    readonly kind: string;
    readonly severity: string;
    readonly title: string;
    readonly summary: string;
    readonly action: string;
    readonly runbook: string;
    readonly count: number;
    readonly context: BusinessContext;
    readonly firstSeenAt: string;
    readonly lastSeenAt: string;
  };
  readonly at: string;
}

export const webhookBody = (n: AlertNotification, c: ChannelContext): WebhookBody => ({
  version: 1,
  source: "stockline",
  distributor: c.distributor,
  status: n.status,
  update: n.update,
  alert: {
    id: n.id,
    groupKey: n.groupKey,
    kind: n.signal.kind,
    severity: n.signal.severity,
    title: n.signal.title,
    summary: n.signal.summary,
    action: n.signal.action,
    runbook: runbookUrl(n, c),
    count: n.signal.count,
    context: n.signal.context,
    firstSeenAt: iso(n.firstSeenAt),
    lastSeenAt: iso(n.lastSeenAt),
  },
  at: iso(n.at),
});

/** Slack mrkdwn: `&`, `<`, `>` escaped (the rest is shown as written). */
const esc = (s: string): string => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** The business object as label/value pairs, in the order people look for them. */
export const contextFields = (ctx: BusinessContext): [string, string][] => {
  const out: [string, string][] = [];
  if (ctx.sku) out.push(["SKU", ctx.sku]);
  if (ctx.location) out.push(["Location", ctx.location]);
  if (ctx.locations?.length) out.push(["Locations", ctx.locations.join(", ")]);
  if (ctx.region) out.push(["Region", ctx.region]);
  if (ctx.documents?.length) out.push(["Documents", ctx.documents.join(", ")]);
  if (ctx.quantity !== undefined) out.push(["Quantity", String(ctx.quantity)]);
  if (ctx.erp) out.push(["ERP", ctx.erp]);
  if (ctx.sourceSystem) out.push(["Source system", ctx.sourceSystem]);
  return out;
};

export const slackBody = (n: AlertNotification, c: ChannelContext): { text: string; blocks: unknown[] } => {
  const label =
    n.status === "resolved" ? "RESOLVED" : `${n.update ? "STILL " : ""}${n.signal.severity.toUpperCase()}`;
  const count = n.signal.count > 1 ? ` (×${n.signal.count})` : "";
  const text = `[${label}] ${n.signal.title}${count} (${c.distributor})`;
  const fields = contextFields(n.signal.context).map(([k, v]) => ({
    type: "mrkdwn",
    text: `*${esc(k)}*\n${esc(v)}`,
  }));
  const blocks: unknown[] = [
    { type: "header", text: { type: "plain_text", text: text.slice(0, 150), emoji: false } },
    {
      type: "section",
      text: {
        type: "mrkdwn",
        text: esc(n.status === "resolved" ? `Cleared: ${n.signal.summary}` : n.signal.summary),
      },
    },
  ];
  // Slack allows at most 10 fields per section.
  for (let i = 0; i < fields.length; i += 10)
    blocks.push({ type: "section", fields: fields.slice(i, i + 10) });
  if (n.status === "firing")
    blocks.push({ type: "section", text: { type: "mrkdwn", text: `*What to do:* ${esc(n.signal.action)}` } });
  blocks.push({
    type: "context",
    elements: [
      {
        type: "mrkdwn",
        text: `<${runbookUrl(n, c)}|Runbook> · first seen ${iso(n.firstSeenAt)} · ${esc(n.groupKey)}`,
      },
    ],
  });
  return { text, blocks };
};
