/**
 * The optional `alerts` section of the distributor configuration (issue 12): who is notified
 * (receivers: a JSON webhook or a Slack-compatible incoming webhook, its URL from a variable or a
 * file, never inline), grouping window, rate limit per receiver, the runbook's address, and the
 * sync-latency SLO. Run by `startAlerting` (services/alerts/alerting.ts).
 */
import * as t from "io-ts";
import type { DecodeError } from "../../domain/decode-errors.ts";
import { NonEmptyStringC, PositiveIntC, SystemIdC } from "../../domain/scalars.ts";
import { RateLimitC } from "../http/api-keys.ts";

export const AlertReceiverC = t.intersection(
  [
    t.type({ name: SystemIdC, kind: t.keyof({ webhook: null, slack: null }) }),
    t.partial({
      /** The environment variable holding the URL (a Slack webhook URL is a secret). */
      urlEnv: NonEmptyStringC,
      /** A file holding the URL. */
      urlFile: NonEmptyStringC,
      minSeverity: t.keyof({ info: null, warning: null, critical: null }),
    }),
  ],
  'a receiver { name, kind: "webhook" | "slack", urlEnv | urlFile, minSeverity? }',
);
export type AlertReceiver = t.TypeOf<typeof AlertReceiverC>;

const ShareC = t.refinement(t.number, (n) => n > 0 && n <= 1, "a share above 0, at most 1");

export const AlertsConfigC = t.intersection(
  [
    t.type({ receivers: t.array(AlertReceiverC) }),
    t.partial({
      groupWindowMs: PositiveIntC,
      rateLimit: RateLimitC,
      runbookBaseUrl: NonEmptyStringC,
      pollMs: PositiveIntC,
      slo: t.intersection([
        t.type({ seconds: t.number, objective: ShareC }),
        t.partial({ stages: t.array(t.keyof({ applied: null, projected: null, posted: null })) }),
      ]),
    }),
  ],
  "alerts { receivers, groupWindowMs?, rateLimit?, runbookBaseUrl?, pollMs?, slo? }",
);
export type AlertsConfig = t.TypeOf<typeof AlertsConfigC>;

export const ALERT_DEFAULTS = {
  groupWindowMs: 60_000,
  rateLimit: { max: 20, windowMs: 60_000 },
  runbookBaseUrl: "RUNBOOK.md",
  pollMs: 15_000,
} as const;

const problem = (path: string, value: unknown, expected: string): DecodeError => ({
  path,
  value,
  expected,
  message: `${path}: got ${JSON.stringify(value)}, expected ${expected}`,
});

/** What the codec cannot say: one URL source per receiver, names used once. */
export const alertsProblems = (a: AlertsConfig | undefined): DecodeError[] => {
  const out: DecodeError[] = [];
  a?.receivers.forEach((r, i) => {
    if ((r.urlEnv === undefined) === (r.urlFile === undefined))
      out.push(
        problem(
          `alerts.receivers.${i}`,
          r.name,
          "exactly one of urlEnv, urlFile (where the receiver's URL is)",
        ),
      );
    if (a.receivers.findIndex((o) => o.name === r.name) !== i)
      out.push(problem(`alerts.receivers.${i}.name`, r.name, "a receiver name used once"));
  });
  return out;
};
