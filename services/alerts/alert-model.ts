/**
 * What an alert is about (issue 12, "Alerts with business context"): a condition seen by a source
 * (a dead letter, unexplained drift, a stale region, an SLO breach, an open breaker), the business
 * object it affects (SKU, location, document, quantity, ERP) and what to do (a runbook entry).
 *
 * Sources report the conditions that hold now (a snapshot, level-triggered); the engine
 * (alert-engine.ts) turns snapshots into notifications: opened, updated, resolved.
 */

export const ALERT_KINDS = [
  "commandDeadLetter",
  "postingDeadLetter",
  "drift",
  "staleRegion",
  "sloBreach",
  "breakerOpen",
] as const;
export type AlertKind = (typeof ALERT_KINDS)[number];

export const SEVERITIES = ["info", "warning", "critical"] as const;
export type Severity = (typeof SEVERITIES)[number];

export const severityRank = (s: Severity): number => SEVERITIES.indexOf(s);

/**
 * RUNBOOK.md sections an alert points to, by their GitHub anchor (the heading lowercased, spaces to
 * `-`, punctuation dropped). test/alerts/runbook-anchors.test.ts checks each heading exists.
 */
export const RUNBOOK = {
  commandDidNotTakeEffect: "a-command-did-not-take-effect",
  figuresDisagree: "figures-disagree-between-a-shop-and-the-warehouse",
  erpDown: "an-erp-is-down-or-refusing-postings",
  reconciliationFindings: "reconciliation-findings",
} as const;
export type RunbookAnchor = (typeof RUNBOOK)[keyof typeof RUNBOOK];

/** The business object an alert is about; every field optional, only what the source knows. */
export interface BusinessContext {
  readonly region?: string;
  readonly location?: string;
  readonly locations?: readonly string[];
  readonly sku?: string;
  /** Source documents (`ASN 4711`, `SAP 4900001234`), a few at most. */
  readonly documents?: readonly string[];
  /** Units affected (net quantity of the dead-lettered commands or postings, the drift). */
  readonly quantity?: number;
  /** The ERP (posting target) concerned. */
  readonly erp?: string;
  readonly sourceSystem?: string;
  /** Anything else worth a glance (reason code, figures, ids). */
  readonly details?: Readonly<Record<string, string | number | boolean>>;
}

/** One condition that holds now, about one business object. */
export interface Signal {
  readonly kind: AlertKind;
  /** The affected object's key within its kind (`eu/DC1/SKU-1/rejected`): with `kind`, the group key. */
  readonly object: string;
  readonly severity: Severity;
  /** One line, for people: `3 commands refused for SKU-1 at DC1 (notOwner)`. */
  readonly title: string;
  /** What happened, in business words. */
  readonly summary: string;
  /** What to do now. */
  readonly action: string;
  readonly runbook: RunbookAnchor;
  readonly context: BusinessContext;
  /** Occurrences folded into this object (dead letters, postings, findings); 1 for a state. */
  readonly count: number;
}

export const groupKeyOf = (s: Pick<Signal, "kind" | "object">): string => `${s.kind}:${s.object}`;

/** What the engine emits: an alert opened or updated (`firing`), or cleared (`resolved`). */
export interface AlertNotification {
  /** `<groupKey>@<first seen ms>`: one open alert of a group at a time. */
  readonly id: string;
  readonly groupKey: string;
  readonly status: "firing" | "resolved";
  /** A firing notification about an alert already notified open (its count or severity changed). */
  readonly update: boolean;
  readonly signal: Signal;
  readonly firstSeenAt: number;
  readonly lastSeenAt: number;
  readonly at: number;
}
