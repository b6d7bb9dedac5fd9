/**
 * What operators decide about a finding: approve its proposal (a compensating `adjustStock`, or a
 * replay of missing postings; a large adjustment needs two people of different roles) or dismiss it
 * with a reason. Each answer is an outcome; only the routes turn outcomes into HTTP status codes.
 */
import type { Command } from "../../domain/commands.ts";
import { type RoutingConfig, targetOf } from "../../domain/routing-rules.ts";
import { PENDING_STATUSES } from "../../projections/finding-lifecycle.ts";
import { compensatingAdjustment } from "../../projections/reconciliation.ts";
import type { PostingsLedger } from "../postings/postings-ledger.ts";
import type { FindingRow, ReconciliationStore } from "./reconciliation-store.ts";

/** Who decides: the API key's name and roles (or a name alone, from a caller without keys). */
export interface Approver {
  readonly name: string;
  readonly roles: readonly string[];
}

/** One approval as recorded in the finding's resolution. */
export interface ApprovalRecord {
  readonly by: string;
  readonly roles: readonly string[];
  readonly at: string;
}

/** Why a decision was not taken. */
export type DecisionRefused =
  | { readonly outcome: "notFound"; readonly message: string }
  /** Not pending any more (approved, dismissed, cleared, resolved), or changed meanwhile. */
  | { readonly outcome: "notPending"; readonly message: string }
  /** The second approval of a large adjustment came from the first approver, or from the same role. */
  | { readonly outcome: "secondApprovalRefused"; readonly message: string }
  /** An in-flight finding proposes nothing; a replay needs the posting service. */
  | { readonly outcome: "nothingToApprove"; readonly message: string };

export type ApproveOutcome =
  | {
      readonly outcome: "approved";
      readonly finding: FindingRow;
      readonly command?: Command;
      /** What the node answered to the command, or each replay's result. */
      readonly result: unknown;
    }
  | { readonly outcome: "awaitingSecondApproval"; readonly finding: FindingRow; readonly message: string }
  | DecisionRefused;

export type DismissOutcome =
  | { readonly outcome: "dismissed"; readonly finding: FindingRow }
  | Extract<DecisionRefused, { outcome: "notFound" | "notPending" }>;

export interface DecisionDeps {
  readonly store: ReconciliationStore;
  readonly routing: RoutingConfig;
  readonly postings: PostingsLedger;
  readonly submitCommand: (command: Command) => Promise<unknown>;
  readonly replayPosting?: (postingId: number) => Promise<unknown>;
  readonly baseUomOf?: (sku: string) => string;
  readonly secondApprovalAbove?: number;
  readonly now: () => Date;
}

const notPending = (f: FindingRow): DecisionRefused => ({
  outcome: "notPending",
  message: `finding ${f.id} is ${f.status}${f.closeReason ? ` (${f.closeReason})` : ""}: only open, waiting or awaitingSecondApproval findings can be decided`,
});

export const approveFinding = async (
  d: DecisionDeps,
  findingId: string,
  who: Approver,
): Promise<ApproveOutcome> => {
  const by = who.name;
  const f = d.store.finding(findingId);
  if (!f) return { outcome: "notFound", message: `no finding ${JSON.stringify(findingId)}` };
  if (f.status !== "open" && f.status !== "awaitingSecondApproval") {
    if (f.status === "waiting")
      return {
        outcome: "nothingToApprove",
        message: `finding ${f.id} is in flight and needs no action: it clears when its postings are acknowledged (or dismiss it)`,
      };
    return notPending(f);
  }
  const at = d.now().toISOString();
  const mine: ApprovalRecord = { by, roles: who.roles, at };
  let approvals: ApprovalRecord[] = [mine];
  if (f.proposal.kind === "adjustStock") {
    const limit = d.secondApprovalAbove ?? 100;
    if (Math.abs(f.proposal.quantity) > limit) {
      const first = (f.resolution as { approvals?: ApprovalRecord[] } | null)?.approvals?.[0];
      if (f.status === "open" || !first) {
        if (!d.store.awaitSecondApproval(f.id, { approvals, secondApprovalAbove: limit }))
          return { outcome: "notPending", message: `finding ${findingId} changed meanwhile` };
        return {
          outcome: "awaitingSecondApproval",
          finding: d.store.finding(f.id)!,
          message: `an adjustment of ${f.proposal.quantity} is above ${limit} units: approved by ${JSON.stringify(by)}, it waits for a second approval by another person of another role than ${first?.roles.join(", ") || who.roles.join(", ") || "theirs"}`,
        };
      }
      if (first.by === by)
        return {
          outcome: "secondApprovalRefused",
          message: `finding ${findingId} was approved by ${JSON.stringify(by)} already: the second approval must be another person's`,
        };
      if (!who.roles.some((r) => !first.roles.includes(r)))
        return {
          outcome: "secondApprovalRefused",
          message: `finding ${findingId} was approved by ${JSON.stringify(first.by)} (${first.roles.join(", ")}): the second approval needs another role, ${JSON.stringify(by)} has ${who.roles.join(", ") || "none"}`,
        };
      approvals = [first, mine];
    }
    const target = targetOf(d.routing, f.target);
    // The figures are those of the run that last saw the finding: its snapshot is the business time.
    const run = d.store.run(f.lastRunId);
    const command = compensatingAdjustment({
      findingId: f.id,
      runId: f.lastRunId,
      position: { region: f.region, location: f.location, sku: f.sku },
      quantity: f.proposal.quantity,
      targetSystem: target?.systems[0] ?? f.target,
      businessTime: run?.snapshotTime ?? at,
      uom: d.baseUomOf?.(f.sku) ?? "EA",
    });
    const result = await d.submitCommand(command);
    d.store.resolve(
      f.id,
      "approved",
      { by, approvals, command: command.idempotencyKey, outcome: result },
      at,
    );
    return { outcome: "approved", finding: d.store.finding(f.id)!, command, result };
  }
  if (f.proposal.kind === "replayPostings") {
    if (!d.replayPosting)
      return { outcome: "nothingToApprove", message: "no posting service to replay with" };
    const results: unknown[] = [];
    for (const key of f.proposal.eventKeys) {
      const row = d.postings.get(key, f.target);
      results.push(row ? await d.replayPosting(row.id) : { key, outcome: "no posting recorded" });
    }
    d.store.resolve(f.id, "approved", { by, approvals, replays: results }, at);
    return { outcome: "approved", finding: d.store.finding(f.id)!, result: results };
  }
  return {
    outcome: "nothingToApprove",
    message: "an in-flight finding needs no action: re-run after the postings",
  };
};

/** Dismisses a pending finding: who (the key's name and roles), when and why are recorded. */
export const dismissFinding = (
  d: Pick<DecisionDeps, "store" | "now">,
  findingId: string,
  who: Approver,
  reason: string,
): DismissOutcome => {
  const f = d.store.finding(findingId);
  if (!f) return { outcome: "notFound", message: `no finding ${JSON.stringify(findingId)}` };
  if (!PENDING_STATUSES.includes(f.status)) return notPending(f) as DismissOutcome;
  const dismissal = { by: who.name, roles: who.roles, at: d.now().toISOString(), reason };
  if (!d.store.dismiss(f.id, dismissal))
    return { outcome: "notPending", message: `finding ${findingId} changed meanwhile` };
  return { outcome: "dismissed", finding: d.store.finding(f.id)! };
};
