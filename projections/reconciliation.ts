/**
 * Reconciliation of a target system (ERP) against the event ledger (issue 5), pure.
 *
 * A target keeps one figure per SKU and location: unrestricted-use stock in SAP, available physical
 * stock in Dynamics 365. In canonical terms that is `available + picked` (picked goods are still
 * on the shelf until the shipment is posted). `targetStockEffect` says how much each event moves
 * that figure; connectors post exactly that effect, so a target that received every event it
 * should have holds the sum of their effects.
 *
 * For one position and target, every event that should be in the target is in one state:
 * - `own`: the target reported the movement itself (it is in the target without a posting);
 * - `acked`: posted and acknowledged by the target at or before the snapshot;
 * - `inFlight`: routed, not yet acknowledged, still being worked on (pending, retrying, or too
 *   recent to have been seen by the connector);
 * - `missing`: routed and given up on (dead-lettered), or never seen although old enough.
 *
 * The target's balance is then explained as acked + own + (a prefix of the in-flight events the
 * target may already have applied without our ledger knowing: a lost response, an ack racing the
 * snapshot; postings go out in stream order, so it is a prefix) + whatever was changed outside the
 * sync. Each non-zero part becomes a finding, and the parts add up:
 *
 *   actual = expectedAll − inFlight.quantity − missingPosting.quantity + unexplained.quantity
 */
import type { Balances, CanonicalEvent } from "../domain/canonical-event.ts";
import type { CommandOf } from "../domain/commands.ts";
import type { Position } from "../domain/ids.ts";

/** How much an event moves the target's figure (`available + picked` in canonical terms). */
export const targetStockEffect = (event: CanonicalEvent): number => {
  const q = event.quantity;
  switch (event.type) {
    case "GoodsReceived":
    case "ProductionOutput":
    case "TransferReceived":
      return event.status === "available" ? q : 0;
    case "ReturnReceived":
      return event.status === "available" ? q : 0;
    case "TransferShipped":
    case "ProductionConsumed":
      return event.status === "available" ? -q : 0;
    case "ShipmentPosted":
      return -q;
    case "StockAdjusted":
    case "CountRecorded":
      // Signed deltas.
      return event.status === "available" ? q : 0;
    case "StatusChanged":
      return (event.toStatus === "available" ? q : 0) - (event.fromStatus === "available" ? q : 0);
    default:
      // Picks move available to picked (both in the figure); reservations, safety stock,
      // lifecycle, inbound announcements and anomalies move no stock.
      return 0;
  }
};

/** The canonical figure a target should hold for a position. */
export const canonicalTargetFigure = (balances: Pick<Balances, "onHand">): number =>
  balances.onHand.available + balances.onHand.picked;

export type ReconEventState = "own" | "acked" | "inFlight" | "missing";

export interface ReconEvent {
  /** `<region>:<streamId>:<revision>`, the posting's idempotency key. */
  readonly key: string;
  readonly eventId: string;
  readonly type: string;
  readonly revision: number;
  readonly effect: number;
  readonly state: ReconEventState;
  readonly businessTime: string;
  readonly sourceDocument?: string;
  /** The target's document id when acknowledged. */
  readonly targetDocument?: string;
}

/** What the posting ledger says about an event and a target. */
export interface PostingFacts {
  readonly status: "pending" | "failed" | "acked" | "dead" | "skipped";
  readonly ackedAt?: string;
}

/**
 * The state of one event for one target at `snapshotTime`, or `undefined` when the event is not the
 * target's business (not routed, or moves nothing the target keeps).
 */
export const eventStateFor = (input: {
  readonly ownedByTarget: boolean;
  readonly routed: boolean;
  readonly effect: number;
  readonly posting: PostingFacts | undefined;
  readonly recordedTime: string;
  readonly snapshotTime: string;
  /** How long an event without a posting record counts as in flight (connector lag). */
  readonly graceMs: number;
}): ReconEventState | undefined => {
  if (input.effect === 0) return undefined;
  if (input.ownedByTarget) return "own";
  if (!input.routed) return undefined;
  const p = input.posting;
  if (p === undefined) {
    const age = Date.parse(input.snapshotTime) - Date.parse(input.recordedTime);
    return age <= input.graceMs ? "inFlight" : "missing";
  }
  switch (p.status) {
    case "acked":
      return p.ackedAt !== undefined && Date.parse(p.ackedAt) <= Date.parse(input.snapshotTime)
        ? "acked"
        : "inFlight";
    case "pending":
    case "failed":
      return "inFlight";
    case "dead":
    case "skipped":
      return "missing";
  }
};

export type FindingClass = "inFlight" | "missingPosting" | "unexplained";

export type Proposal =
  | { readonly kind: "wait"; readonly note: string }
  | { readonly kind: "replayPostings"; readonly eventKeys: readonly string[]; readonly note: string }
  | { readonly kind: "adjustStock"; readonly quantity: number; readonly note: string };

export interface Finding {
  readonly class: FindingClass;
  /**
   * In flight / missing posting: the sum of the effects the target has not received (it holds
   * that much less than it will). Unexplained: what the target holds beyond what it was told.
   */
  readonly quantity: number;
  /** Events that account for the difference (none for unexplained). */
  readonly events: readonly ReconEvent[];
  readonly explanation: string;
  readonly proposal: Proposal;
}

export interface PositionReconciliation {
  readonly target: string;
  readonly position: Position;
  /** What the target says. */
  readonly actual: number;
  /** The canonical figure (`available + picked`) at the snapshot. */
  readonly canonical: number;
  /** Sum of the effects the target acknowledged or owns. */
  readonly expectedFromAcks: number;
  /** Sum of the effects of every event the target should hold. */
  readonly expectedAll: number;
  /** In-flight events the target already applied without our ledger knowing. */
  readonly appliedUnacknowledged: readonly ReconEvent[];
  readonly findings: readonly Finding[];
}

const sum = (events: readonly ReconEvent[]) => events.reduce((s, e) => s + e.effect, 0);
const signed = (n: number) => (n > 0 ? `+${n}` : String(n));
const describe = (events: readonly ReconEvent[]) =>
  events
    .slice(0, 5)
    .map((e) => `${e.type}#${e.revision} (${signed(e.effect)})`)
    .join(", ") + (events.length > 5 ? `, … ${events.length - 5} more` : "");

export const reconcilePosition = (input: {
  readonly target: string;
  readonly position: Position;
  readonly actual: number;
  readonly canonical: number;
  readonly events: readonly ReconEvent[];
}): PositionReconciliation => {
  const byRevision = [...input.events].sort((a, b) => a.revision - b.revision);
  const base = sum(byRevision.filter((e) => e.state === "acked" || e.state === "own"));
  const inFlight = byRevision.filter((e) => e.state === "inFlight");
  const missing = byRevision.filter((e) => e.state === "missing");
  const residual = input.actual - base;

  // The shortest prefix of the in-flight events whose effects the target's figure already shows.
  let applied = -1;
  let running = 0;
  for (let k = 0; k <= inFlight.length; k++) {
    if (running === residual) {
      applied = k;
      break;
    }
    const next = inFlight[k];
    if (next) running += next.effect;
  }
  const appliedEvents = applied > 0 ? inFlight.slice(0, applied) : [];
  const outstanding = applied >= 0 ? inFlight.slice(applied) : inFlight;
  const unexplained = applied >= 0 ? 0 : residual;

  const findings: Finding[] = [];
  const outstandingQty = sum(outstanding);
  if (outstanding.length > 0 && outstandingQty !== 0) {
    findings.push({
      class: "inFlight",
      quantity: outstandingQty,
      events: outstanding,
      explanation: `${outstanding.length} event(s) not yet acknowledged by ${input.target} account for ${signed(outstandingQty)}: ${describe(outstanding)}`,
      proposal: { kind: "wait", note: "postings are under way; re-run after they are acknowledged" },
    });
  }
  const missingQty = sum(missing);
  if (missing.length > 0 && missingQty !== 0) {
    findings.push({
      class: "missingPosting",
      quantity: missingQty,
      events: missing,
      explanation: `${missing.length} event(s) never reached ${input.target} (dead-lettered or never posted) account for ${signed(missingQty)}: ${describe(missing)}`,
      proposal: {
        kind: "replayPostings",
        eventKeys: missing.map((e) => e.key),
        note: "replay the postings (the target's idempotency posts each once)",
      },
    });
  }
  if (unexplained !== 0) {
    findings.push({
      class: "unexplained",
      quantity: unexplained,
      events: [],
      explanation: `${input.target} holds ${input.actual}, ${signed(unexplained)} against the ${base} it acknowledged or reported itself; no event explains it (changed outside the sync)`,
      proposal: {
        kind: "adjustStock",
        quantity: unexplained,
        note: `adopt ${input.target}'s change: adjust the canonical position by ${signed(unexplained)}`,
      },
    });
  }
  return {
    target: input.target,
    position: input.position,
    actual: input.actual,
    canonical: input.canonical,
    expectedFromAcks: base,
    expectedAll: base + sum(inFlight) + missingQty,
    appliedUnacknowledged: appliedEvents,
    findings,
  };
};

/**
 * The canonical command an approved unexplained finding becomes: an adjustment reported by the
 * target's own system (the change happened there), so routing does not post it back to it.
 */
export const compensatingAdjustment = (input: {
  readonly findingId: string;
  readonly runId: string;
  readonly position: Position;
  readonly quantity: number;
  readonly targetSystem: string;
  readonly businessTime: string;
  readonly uom?: string;
}): CommandOf<"adjustStock"> => ({
  kind: "adjustStock",
  idempotencyKey: `reconciliation:${input.findingId}`,
  source: {
    system: input.targetSystem,
    document: { type: "reconciliationFinding", id: input.findingId },
  },
  businessTime: input.businessTime,
  correlationId: `reconciliation:${input.runId}`,
  position: input.position,
  quantity: { value: input.quantity, uom: input.uom ?? "EA" },
  reasonCode: "RECONCILIATION",
  status: "available",
});
