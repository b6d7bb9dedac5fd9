/** `GET /v1/positions/:location/:sku[/history]` (services/audit/position-routes.ts), as the page reads it. */
export interface Balances {
  readonly onHand: Readonly<Record<string, number>>;
  readonly reserved: number;
  readonly safetyStock?: number;
  readonly inboundInTransit?: number;
  readonly atp?: number;
  readonly lifecycle?: string;
}

/** One event of a history (services/audit/replay.ts `ReplayedEvent`), with the balances after it. */
export interface HistoryEntry {
  readonly revision: number;
  readonly eventId: string;
  readonly type: string;
  readonly quantity: number | null;
  readonly businessTime: string | null;
  readonly recordedTime: string;
  /** `system` or `system:document`. */
  readonly source: string | null;
  readonly correlationId: string | null;
  readonly balances: Balances | null;
}

export interface PositionState {
  readonly position: { readonly sku: string; readonly location: string; readonly region: string };
  readonly revision: number;
  readonly balances: Balances;
  readonly atp: {
    readonly available: number;
    readonly reserved: number;
    readonly atp: number;
    readonly sellable: boolean;
  };
  readonly reservations?: Readonly<
    Record<string, { quantity: number; expiresAt?: string; channel?: string }>
  >;
}

export interface History {
  readonly position: PositionState["position"];
  readonly events: readonly HistoryEntry[];
  readonly balances: Balances;
  readonly revision: number;
  readonly headHash: string;
  readonly verification: {
    readonly ok: boolean;
    readonly eventsChecked: number;
    readonly issues: readonly { message?: string }[];
  } | null;
  readonly warnings: readonly unknown[];
}

/** What warehouse support looks for in a history, from the balances after each event and what the node flagged. */
export interface Anomaly {
  readonly revision: number;
  readonly code: "negativeBalance" | "reservationsUncovered" | "countVariance" | "flagged";
  readonly message: string;
  readonly at: string;
}

export const anomaliesOf = (events: readonly HistoryEntry[]): Anomaly[] =>
  events.flatMap((e): Anomaly[] => {
    const base = { revision: e.revision, at: e.recordedTime };
    const out: Anomaly[] = [];
    if (e.type === "AnomalyRaised")
      out.push({
        ...base,
        code: "flagged",
        message: `the node raised an anomaly about ${e.quantity ?? "?"} units`,
      });
    if (e.type === "CountRecorded" && e.quantity)
      out.push({
        ...base,
        code: "countVariance",
        message: `the count differed from the books by ${e.quantity > 0 ? "+" : ""}${e.quantity}`,
      });
    const b = e.balances;
    if (b) {
      const negative = Object.entries(b.onHand).filter(([, q]) => q < 0);
      if (negative.length > 0)
        out.push({
          ...base,
          code: "negativeBalance",
          message: `after ${e.type}: ${negative.map(([status, q]) => `${status} ${q}`).join(", ")}`,
        });
      const available = b.onHand.available ?? 0;
      if (b.reserved > 0 && b.reserved > available)
        out.push({
          ...base,
          code: "reservationsUncovered",
          message: `after ${e.type}: ${b.reserved} reserved, ${available} available`,
        });
    }
    return out;
  });

export const onHandTotal = (b: Balances | null | undefined): number =>
  b ? Object.values(b.onHand).reduce((n, q) => n + q, 0) : 0;
