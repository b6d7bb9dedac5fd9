/**
 * The lifecycle of reconciliation findings across runs (issue 10), pure.
 *
 * A run reconciles positions (`reconciliation.ts`); this file decides what its findings do to the
 * findings already kept. A finding is one drift of one target at one position, of one class; a run
 * that checks the position either sees it again or does not:
 *
 * - **unexplained / missing posting**: the same (target, region, location, SKU, class) seen again is
 *   the same finding (last seen, times seen, latest figures). A run that checks the position and no
 *   longer sees it `resolved`s it. Status while seen: `open`.
 * - **in flight**: the same finding only while it still names an event of the previous sighting
 *   (a posting still not acknowledged); a difference made only of newer events is a new finding, and
 *   the old one is `cleared` (its events arrived). Status while seen: `waiting`: it needs no one.
 * - **awaiting second approval**: stays so while the figures are the same; when the quantity changes
 *   the first approval is void (it was for another quantity) and the finding is `open` again.
 * - **dismissed** (an operator's decision, with a reason): covers the drift while it is seen with the
 *   same quantity; a run that sees other figures opens a new finding (`previousId` names the
 *   dismissed one, whose record stays as it was), and a run that no longer sees it marks it gone.
 * - **approved**: done; the drift seen again later is a new finding.
 */
import type { Finding, FindingClass, PositionReconciliation } from "./reconciliation.ts";

export type FindingStatus =
  | "open"
  | "waiting"
  | "awaitingSecondApproval"
  | "approved"
  | "dismissed"
  | "cleared"
  | "resolved";

export const FINDING_STATUSES: readonly FindingStatus[] = [
  "open",
  "waiting",
  "awaitingSecondApproval",
  "approved",
  "dismissed",
  "cleared",
  "resolved",
];

/** Statuses an operator may still act on (approve where proposed, dismiss). */
export const PENDING_STATUSES: readonly FindingStatus[] = ["open", "waiting", "awaitingSecondApproval"];

/** Statuses a later run still updates or closes (with a dismissed finding that is not gone yet). */
export const TRACKED_STATUSES: readonly FindingStatus[] = [...PENDING_STATUSES, "dismissed"];

/** What the lifecycle needs to know of a kept finding. */
export interface TrackedFinding {
  readonly id: string;
  readonly target: string;
  readonly region: string;
  readonly location: string;
  readonly sku: string;
  readonly class: FindingClass;
  readonly status: FindingStatus;
  readonly quantity: number;
  /** Posting keys of the events of its latest sighting. */
  readonly eventKeys: readonly string[];
  readonly lastSeenAt: string;
  /** When a run checked the position and no longer saw it (only dismissed findings keep a status then). */
  readonly closedAt: string | null;
}

/** A finding of this run with the figures of its position. */
export interface Sighting {
  readonly target: string;
  readonly position: PositionReconciliation["position"];
  readonly finding: Finding;
  readonly actual: number;
  readonly canonical: number;
  readonly expectedFromAcks: number;
  readonly expectedAll: number;
}

export type LifecycleStep =
  /** A new finding. */
  | {
      readonly kind: "new";
      readonly sighting: Sighting;
      readonly status: "open" | "waiting";
      readonly previousId?: string;
    }
  /** Seen again: latest figures; `voidApprovals` when a first approval was for other figures. */
  | {
      readonly kind: "seen";
      readonly id: string;
      readonly sighting: Sighting;
      readonly status: FindingStatus;
      readonly voidApprovals?: boolean;
      /** Dismissed: the figures stay those that were dismissed; only last seen and times seen move. */
      readonly keepFigures?: boolean;
    }
  /** No longer seen by a run that checked its position (or superseded by another finding). */
  | {
      readonly kind: "close";
      readonly id: string;
      readonly status: "cleared" | "resolved" | "dismissed";
      readonly reason: string;
    };

const positionKey = (target: string, p: { region: string; location: string; sku: string }) =>
  JSON.stringify([target, p.region, p.location, p.sku]);
const findingKey = (target: string, p: { region: string; location: string; sku: string }, c: FindingClass) =>
  JSON.stringify([target, p.region, p.location, p.sku, c]);

const newStatus = (c: FindingClass): "open" | "waiting" => (c === "inFlight" ? "waiting" : "open");
const closedStatus = (f: TrackedFinding): "cleared" | "resolved" | "dismissed" =>
  f.status === "dismissed" ? "dismissed" : f.class === "inFlight" ? "cleared" : "resolved";

/**
 * What a run does to the kept findings. `checked` is every position the run reconciled (in sync or
 * not); `tracked` the kept findings in a TRACKED status not closed yet (others are ignored).
 */
export const planFindingLifecycle = (input: {
  readonly checked: readonly PositionReconciliation[];
  readonly tracked: readonly TrackedFinding[];
}): LifecycleStep[] => {
  const checked = new Set(input.checked.map((p) => positionKey(p.target, p.position)));
  // Kept findings of checked positions, newest first per key (older ones are duplicates to close).
  const byKey = new Map<string, TrackedFinding[]>();
  for (const f of input.tracked) {
    if (!TRACKED_STATUSES.includes(f.status) || f.closedAt !== null) continue;
    if (!checked.has(positionKey(f.target, f))) continue;
    const k = findingKey(f.target, f, f.class);
    byKey.set(k, [...(byKey.get(k) ?? []), f]);
  }
  for (const list of byKey.values())
    list.sort((a, b) => b.lastSeenAt.localeCompare(a.lastSeenAt) || b.id.localeCompare(a.id));

  const steps: LifecycleStep[] = [];
  const continued = new Set<string>();
  for (const p of input.checked) {
    for (const finding of p.findings) {
      const sighting: Sighting = {
        target: p.target,
        position: p.position,
        finding,
        actual: p.actual,
        canonical: p.canonical,
        expectedFromAcks: p.expectedFromAcks,
        expectedAll: p.expectedAll,
      };
      const current = byKey.get(findingKey(p.target, p.position, finding.class))?.[0];
      const step = continueOrNew(current, sighting);
      if (step.kind === "seen") continued.add(step.id);
      steps.push(step);
      if (step.kind === "new" && step.previousId !== undefined)
        steps.push({
          kind: "close",
          id: step.previousId,
          status: "dismissed",
          reason: `seen with other figures (${signed(finding.quantity)} instead of ${signed(current?.quantity ?? 0)}): a new finding was opened`,
        });
    }
  }
  const closing = new Set(steps.flatMap((s) => (s.kind === "close" ? [s.id] : [])));
  for (const list of byKey.values()) {
    list.forEach((f, i) => {
      if (continued.has(f.id) || closing.has(f.id)) return;
      const newer = i > 0 ? list[0] : undefined;
      steps.push({
        kind: "close",
        id: f.id,
        status: closedStatus(f),
        reason: newer ? `superseded by ${newer.id}` : closeReason(f, input.checked),
      });
    });
  }
  return steps;
};

const signed = (n: number) => (n > 0 ? `+${n}` : String(n));

const continueOrNew = (current: TrackedFinding | undefined, sighting: Sighting): LifecycleStep => {
  const f = sighting.finding;
  const fresh: LifecycleStep = { kind: "new", sighting, status: newStatus(f.class) };
  if (!current) return fresh;
  if (f.class === "inFlight") {
    // The same in-flight difference only while one of its events is still not acknowledged.
    const keys = new Set(current.eventKeys);
    if (!f.events.some((e) => keys.has(e.key))) return fresh;
  }
  switch (current.status) {
    case "dismissed":
      return f.quantity === current.quantity
        ? { kind: "seen", id: current.id, sighting, status: "dismissed", keepFigures: true }
        : { ...fresh, previousId: current.id };
    case "awaitingSecondApproval":
      return f.quantity === current.quantity
        ? { kind: "seen", id: current.id, sighting, status: "awaitingSecondApproval" }
        : { kind: "seen", id: current.id, sighting, status: "open", voidApprovals: true };
    default:
      return { kind: "seen", id: current.id, sighting, status: newStatus(f.class) };
  }
};

const closeReason = (f: TrackedFinding, positions: readonly PositionReconciliation[]): string => {
  if (f.class !== "inFlight") return "no longer seen: the target's figure matches";
  // Events that were in flight and are now given up on belong to a missing-posting finding.
  const p = positions.find((x) => positionKey(x.target, x.position) === positionKey(f.target, f));
  const missing = p?.findings.find((x) => x.class === "missingPosting");
  const keys = new Set(f.eventKeys);
  if (missing?.events.some((e) => keys.has(e.key)))
    return "no longer in flight: some of its events never reached the target (see the position's missing-posting finding)";
  return "no longer in flight: its postings were acknowledged";
};
