/**
 * Finance (issue 12): reconciliation runs and their findings by ERP (target) and location, approvals
 * (a large adjustment needs a second approver of another role: who approved is shown), and drift over
 * time per ERP. Data: `/v1/reconciliation/runs`, `/v1/reconciliation/findings`, approve/dismiss, and
 * `/v1/reconciliation/drift-history` (services/reconciliation/drift-history-routes.ts).
 */
import { useMemo, useState } from "preact/hooks";
import { useApi } from "../hooks.ts";
import { DriftChart, type DriftHistory } from "./finance-drift-chart.tsx";
import { type Finding, FindingsTable } from "./finance-findings-table.tsx";
import type { ViewProps } from "./view-props.ts";

interface Run {
  readonly id: string;
  readonly trigger: string;
  readonly region: string;
  readonly startedAt: string;
  readonly snapshotTime: string;
  readonly status: "running" | "done" | "failed";
  readonly positionsChecked: number;
  readonly positionsInSync: number;
  readonly findings: number;
  readonly summary: { readonly new: number; readonly resolved: number; readonly cleared: number } | null;
  readonly error: string | null;
}

const STATUS_FILTERS = {
  pending: ["open", "awaitingSecondApproval", "waiting"],
  all: undefined,
  approved: ["approved"],
  dismissed: ["dismissed"],
} as const satisfies Record<string, readonly string[] | undefined>;
type StatusFilter = keyof typeof STATUS_FILTERS;

export function FinanceView({ api, caller }: ViewProps) {
  const [target, setTarget] = useState("");
  const [location, setLocation] = useState("");
  const [status, setStatus] = useState<StatusFilter>("pending");
  const runs = useApi("runs", () => api.get<{ runs: Run[] }>("/v1/reconciliation/runs", { limit: 20 }), {
    refreshMs: 15_000,
  });
  const findings = useApi(
    "findings",
    () =>
      api.get<{ findings: Finding[]; counts: Record<string, number> }>("/v1/reconciliation/findings", {
        limit: 2000,
      }),
    { refreshMs: 15_000 },
  );
  const drift = useApi(
    `drift:${target}:${location}`,
    () =>
      api.get<DriftHistory>("/v1/reconciliation/drift-history", {
        target: target || undefined,
        location: location || undefined,
        limit: 100,
      }),
    { refreshMs: 30_000 },
  );
  const reloadAll = () => {
    findings.reload();
    runs.reload();
    drift.reload();
  };

  // Filter options: every ERP and location that ever had a finding (drift history's lists).
  const targets = drift.data?.targets ?? [];
  const locations = drift.data?.locations ?? [];
  const shown = useMemo(() => {
    const statuses: readonly string[] | undefined = STATUS_FILTERS[status];
    return (findings.data?.findings ?? []).filter(
      (f) =>
        (!target || f.target === target) &&
        (!location || f.location === location) &&
        (!statuses || statuses.includes(f.status)),
    );
  }, [findings.data, target, location, status]);
  const driftByRun = useMemo(
    () => new Map((drift.data?.runs ?? []).map((r) => [r.runId, r.driftUnits])),
    [drift.data],
  );

  return (
    <section data-view="finance">
      <h2>Finance: reconciliation</h2>
      <div class="toolbar">
        <label>
          ERP{" "}
          <select
            data-testid="filter-erp"
            value={target}
            onChange={(e) => setTarget((e.target as HTMLSelectElement).value)}
          >
            <option value="">all</option>
            {targets.map((t) => (
              <option key={t} value={t}>
                {t}
              </option>
            ))}
          </select>
        </label>
        <label>
          Location{" "}
          <select
            data-testid="filter-location"
            value={location}
            onChange={(e) => setLocation((e.target as HTMLSelectElement).value)}
          >
            <option value="">all</option>
            {locations.map((l) => (
              <option key={l} value={l}>
                {l}
              </option>
            ))}
          </select>
        </label>
        <label>
          Findings{" "}
          <select
            data-testid="filter-status"
            value={status}
            onChange={(e) => setStatus((e.target as HTMLSelectElement).value as StatusFilter)}
          >
            {Object.keys(STATUS_FILTERS).map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <button type="button" class="secondary" onClick={reloadAll} data-testid="finance-refresh">
          Refresh
        </button>
        {findings.data && (
          <span class="muted" data-testid="finding-counts">
            {Object.entries(findings.data.counts)
              .filter(([, n]) => n > 0)
              .map(([s, n]) => `${s} ${n}`)
              .join(" · ") || "no findings"}
          </span>
        )}
      </div>
      <div class="panels">
        <div class="panel wide">
          <h3>Findings</h3>
          {findings.error && (
            <p class="error" role="alert">
              {findings.error.message}
            </p>
          )}
          <FindingsTable api={api} caller={caller} findings={shown} onDecided={reloadAll} />
        </div>
        <div class="panel wide">
          <h3>
            Drift over time{target ? ` — ${target}` : ""}
            {location ? ` at ${location}` : ""}
          </h3>
          {drift.error && (
            <p class="error" role="alert">
              {drift.error.message}
            </p>
          )}
          {drift.data && <DriftChart history={drift.data} />}
        </div>
        <div class="panel wide">
          <h3>Reconciliation runs</h3>
          {runs.error && (
            <p class="error" role="alert">
              {runs.error.message}
            </p>
          )}
          {runs.data && runs.data.runs.length === 0 && <p class="empty">No runs yet.</p>}
          {runs.data && runs.data.runs.length > 0 && (
            <table data-testid="runs-table">
              <thead>
                <tr>
                  <th>Run</th>
                  <th>Snapshot</th>
                  <th>Region</th>
                  <th>Status</th>
                  <th class="num">Positions</th>
                  <th class="num">In sync</th>
                  <th class="num">Findings</th>
                  <th class="num">New</th>
                  <th class="num">Resolved</th>
                  <th class="num" title="unexplained and missing postings, under the filters">
                    Drift units
                  </th>
                </tr>
              </thead>
              <tbody>
                {runs.data.runs.map((r) => (
                  <tr key={r.id} data-testid={`run-row-${r.id}`}>
                    <td>{r.id}</td>
                    <td>{new Date(r.snapshotTime).toLocaleString()}</td>
                    <td>{r.region}</td>
                    <td>
                      <span
                        class={`badge ${r.status === "done" ? "ok" : r.status === "failed" ? "bad" : "warn"}`}
                        title={r.error ?? undefined}
                      >
                        {r.status}
                      </span>
                    </td>
                    <td class="num">{r.positionsChecked}</td>
                    <td class="num">{r.positionsInSync}</td>
                    <td class="num">{r.findings}</td>
                    <td class="num">{r.summary?.new ?? ""}</td>
                    <td class="num">{r.summary?.resolved ?? ""}</td>
                    <td class="num">{driftByRun.get(r.id) ?? ""}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </div>
      </div>
    </section>
  );
}
