/**
 * The finance view's findings: one row per finding with its ERP, position, figures, status and who
 * approved it; approve (a large adjustment waits for a second approver of another role) and dismiss
 * with a reason. What the server answers is shown as it is (`message`); the server decides.
 */
import { Fragment } from "preact";
import { useState } from "preact/hooks";
import { errorOf } from "../hooks.ts";
import type { ApiClient, Caller } from "./view-props.ts";

interface Approval {
  readonly by: string;
  readonly roles: readonly string[];
  readonly at: string;
}
interface Resolution {
  readonly approvals?: readonly Approval[];
  readonly voidedApprovals?: readonly Approval[];
  readonly secondApprovalAbove?: number;
  readonly dismissal?: Approval & { readonly reason: string };
}

export interface Finding {
  readonly id: string;
  readonly target: string;
  readonly region: string;
  readonly location: string;
  readonly sku: string;
  readonly class: "inFlight" | "missingPosting" | "unexplained";
  readonly quantity: number;
  readonly actual: number;
  readonly canonical: number;
  readonly explanation: string;
  readonly proposal: {
    readonly kind: "wait" | "replayPostings" | "adjustStock";
    readonly quantity?: number;
    readonly note: string;
  };
  readonly status: string;
  readonly lastSeenAt: string;
  readonly timesSeen: number;
  readonly resolution: Resolution | null;
  readonly resolvedAt: string | null;
}

const STATUS_BADGE: Record<string, string> = {
  open: "warn",
  awaitingSecondApproval: "warn",
  waiting: "",
  approved: "ok",
  dismissed: "",
  cleared: "ok",
  resolved: "ok",
};

const who = (a: Approval) =>
  `${a.by} (${a.roles.join(", ") || "no role"}) ${new Date(a.at).toLocaleString()}`;

interface Props {
  readonly api: ApiClient;
  readonly caller: Caller;
  readonly findings: readonly Finding[];
  readonly onDecided: () => void;
}

export function FindingsTable({ api, caller, findings, onDecided }: Props) {
  const [busy, setBusy] = useState<string | undefined>(undefined);
  // What the server answered to the last decision, shown while the finding is as that answer left it.
  const [message, setMessage] = useState<
    { id: string; text: string; bad: boolean; status?: string } | undefined
  >(undefined);
  const [dismissing, setDismissing] = useState<string | undefined>(undefined);
  const [reason, setReason] = useState("");

  const decide = async (f: Finding, action: "approve" | "dismiss") => {
    setBusy(f.id);
    try {
      const r = await api.post<{ finding: Finding; awaitingSecondApproval?: boolean; message?: string }>(
        `/v1/reconciliation/findings/${encodeURIComponent(f.id)}/${action}`,
        action === "dismiss" ? { reason } : {},
      );
      setMessage({
        id: f.id,
        bad: false,
        status: r.finding.status,
        text: r.awaitingSecondApproval
          ? (r.message ?? `${f.id}: awaiting a second approval`)
          : `${f.id} ${r.finding.status} by ${caller.name}`,
      });
      setDismissing(undefined);
      setReason("");
      onDecided();
    } catch (err) {
      setMessage({ id: f.id, bad: true, text: `${f.id}: ${errorOf(err).message}` });
    } finally {
      setBusy(undefined);
    }
  };

  const current = message && findings.find((f) => f.id === message.id);
  const showMessage = message && (message.status === undefined || current?.status === message.status);
  if (findings.length === 0) return <p class="empty">No findings under these filters.</p>;
  return (
    <>
      {message && showMessage && (
        <p
          class={message.bad ? "error" : "muted"}
          role={message.bad ? "alert" : "status"}
          data-testid="decision-message"
        >
          {message.text}
        </p>
      )}
      <table data-testid="findings-table">
        <thead>
          <tr>
            <th>Finding</th>
            <th>ERP</th>
            <th>Location</th>
            <th>SKU</th>
            <th>Class</th>
            <th class="num" title="what the ERP holds beyond what the ledger says">
              Difference
            </th>
            <th class="num">ERP</th>
            <th class="num">Ledger</th>
            <th>Proposal</th>
            <th>Status</th>
            <th>Approved by</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {findings.map((f) => {
            const approvals = f.resolution?.approvals ?? [];
            const first = approvals[0];
            const pendingSecond = f.status === "awaitingSecondApproval";
            const mineAlready = pendingSecond && first?.by === caller.name;
            const approvable =
              (f.status === "open" || pendingSecond) &&
              (f.proposal.kind === "adjustStock" || f.proposal.kind === "replayPostings");
            const dismissable = f.status === "open" || f.status === "waiting" || pendingSecond;
            return (
              <Fragment key={f.id}>
                <tr data-testid={`finding-row-${f.id}`} title={f.explanation}>
                  <td>{f.id}</td>
                  <td>{f.target}</td>
                  <td>
                    {f.region}/{f.location}
                  </td>
                  <td>{f.sku}</td>
                  <td>{f.class}</td>
                  <td class="num">{f.quantity > 0 ? `+${f.quantity}` : f.quantity}</td>
                  <td class="num">{f.actual}</td>
                  <td class="num">{f.canonical}</td>
                  <td>
                    {f.proposal.kind === "adjustStock"
                      ? `adjust ${f.proposal.quantity ?? ""}`
                      : f.proposal.kind === "replayPostings"
                        ? "replay postings"
                        : "wait"}
                  </td>
                  <td>
                    <span
                      class={`badge ${STATUS_BADGE[f.status] ?? ""}`}
                      data-testid={`finding-status-${f.id}`}
                    >
                      {f.status}
                    </span>
                    {pendingSecond && (
                      <div class="muted" data-testid={`second-approver-${f.id}`}>
                        needs a second approver: another person, not{" "}
                        {first?.roles.join("/") || "the first approver's role"}
                        {f.resolution?.secondApprovalAbove !== undefined
                          ? ` (above ${f.resolution.secondApprovalAbove} units)`
                          : ""}
                      </div>
                    )}
                  </td>
                  <td data-testid={`approvals-${f.id}`}>
                    {approvals.map((a) => (
                      <div key={`${a.by}-${a.at}`}>{who(a)}</div>
                    ))}
                    {f.resolution?.dismissal && (
                      <div>
                        dismissed by {who(f.resolution.dismissal)}: {f.resolution.dismissal.reason}
                      </div>
                    )}
                    {(f.resolution?.voidedApprovals?.length ?? 0) > 0 && (
                      <div class="muted">earlier approval void (the figures changed)</div>
                    )}
                  </td>
                  <td>
                    {approvable && (
                      <button
                        type="button"
                        data-testid={`approve-${f.id}`}
                        disabled={busy === f.id || mineAlready}
                        title={
                          mineAlready
                            ? "you approved it already: the second approval is another person's"
                            : undefined
                        }
                        onClick={() => decide(f, "approve")}
                      >
                        {pendingSecond ? "Second approval" : "Approve"}
                      </button>
                    )}{" "}
                    {dismissable && (
                      <button
                        type="button"
                        class="secondary"
                        data-testid={`dismiss-${f.id}`}
                        disabled={busy === f.id}
                        onClick={() => setDismissing(dismissing === f.id ? undefined : f.id)}
                      >
                        Dismiss…
                      </button>
                    )}
                  </td>
                </tr>
                {dismissing === f.id && (
                  <tr>
                    <td colSpan={12}>
                      <div class="toolbar">
                        <input
                          data-testid={`dismiss-reason-${f.id}`}
                          placeholder="why (recorded with your name)"
                          value={reason}
                          onInput={(e) => setReason((e.target as HTMLInputElement).value)}
                        />
                        <button
                          type="button"
                          data-testid={`dismiss-confirm-${f.id}`}
                          disabled={busy === f.id || reason.trim() === ""}
                          onClick={() => decide(f, "dismiss")}
                        >
                          Dismiss finding
                        </button>
                      </div>
                    </td>
                  </tr>
                )}
              </Fragment>
            );
          })}
        </tbody>
      </table>
    </>
  );
}
