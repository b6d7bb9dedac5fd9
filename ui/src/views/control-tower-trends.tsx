/**
 * The control tower's trends (`GET /v1/control-tower/trends`): per region, the share of events applied
 * within the sync-latency objective minute by minute, oversells, and the staleness of the global view;
 * and the reconciliation's drift over time (`GET /v1/reconciliation/drift-history`).
 */
import { useMemo, useState } from "preact/hooks";
import type { TrendPoint as Point } from "../../../projections/sync-trends.ts";
import type { TrendsAnswer as Trends } from "../../../services/api/control-tower-trends.ts";
import { Chart, COLOURS } from "../components/chart.tsx";
import { useApi } from "../hooks.ts";
import { DriftChart, type DriftHistory } from "./finance-drift-chart.tsx";
import type { ApiClient } from "./view-props.ts";

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
const time = (iso: string) => new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });

export function TrendsPanel({ api }: { api: ApiClient }) {
  const [minutes, setMinutes] = useState(60);
  const trends = useApi(`trends:${minutes}`, () => api.get<Trends>("/v1/control-tower/trends", { minutes }), {
    refreshMs: 15_000,
  });
  const drift = useApi(
    "drift",
    () => api.get<DriftHistory>("/v1/reconciliation/drift-history", { limit: 50 }),
    {
      refreshMs: 60_000,
    },
  );
  const charts = useMemo(() => {
    const t = trends.data;
    if (!t) return undefined;
    const labels = (t.regions[0]?.points ?? []).map((p) => time(p.at));
    const series = (f: (p: Point) => number | null) =>
      t.regions.map((r, i) => ({
        label: r.region,
        data: r.points.map(f),
        borderColor: COLOURS[i % COLOURS.length],
        backgroundColor: COLOURS[i % COLOURS.length],
        spanGaps: true,
      }));
    return {
      slo: {
        labels,
        datasets: [
          ...series((p) => (p.share === undefined ? null : Math.round(p.share * 1000) / 10)),
          {
            label: `objective ${pct(t.slo.objective)}`,
            data: labels.map(() => t.slo.objective * 100),
            borderColor: "#5d6577",
            backgroundColor: "#5d6577",
            borderDash: [6, 4],
            pointRadius: 0,
          },
        ],
      },
      oversells: { labels, datasets: series((p) => p.oversoldUnits) },
      staleness: {
        labels,
        datasets: series((p) => (p.maxStalenessMs === undefined ? null : p.maxStalenessMs / 1000)),
      },
    };
  }, [trends.data]);
  const percentAxis = useMemo(
    () => ({ scales: { y: { min: 0, max: 100, title: { display: true, text: "% within objective" } } } }),
    [],
  );
  const unitsAxis = useMemo(
    () => ({ scales: { y: { beginAtZero: true, title: { display: true, text: "units oversold" } } } }),
    [],
  );
  const secondsAxis = useMemo(
    () => ({ scales: { y: { beginAtZero: true, title: { display: true, text: "staleness (s)" } } } }),
    [],
  );

  return (
    <>
      <div class="panel wide">
        <div class="toolbar">
          <h3 style={{ margin: 0 }}>Sync-latency SLO</h3>
          <select
            data-testid="trends-window"
            value={String(minutes)}
            onChange={(e) => setMinutes(Number((e.target as HTMLSelectElement).value))}
          >
            {[30, 60, 180].map((m) => (
              <option key={m} value={String(m)}>
                last {m >= 60 ? `${m / 60} h` : `${m} min`}
              </option>
            ))}
          </select>
          {trends.data && (
            <span class="muted">
              objective: {pct(trends.data.slo.objective)} of events applied within {trends.data.slo.seconds} s
              of their business time
            </span>
          )}
        </div>
        {trends.error && (
          <p class="error" role="alert">
            {trends.error.message}
          </p>
        )}
        {trends.data && (
          <p data-testid="slo-summary">
            {trends.data.regions.map((r) => (
              <span key={r.region} style={{ marginRight: "1rem" }}>
                {r.region}:{" "}
                <span class={`badge ${r.met ? "ok" : "bad"}`} data-testid={`slo-${r.region}`}>
                  {r.share === undefined ? "no events" : pct(r.share)}
                </span>{" "}
                <span class="muted">
                  {r.events} event(s), {r.oversells} oversell(s)
                </span>
              </span>
            ))}
          </p>
        )}
        {charts && (
          <Chart
            type="line"
            title="Share of events within the SLO per minute"
            data={charts.slo}
            options={percentAxis}
            testId="slo-chart"
          />
        )}
      </div>
      <div class="panel">
        <h3>Oversells</h3>
        {charts && (
          <Chart
            type="bar"
            title="Units oversold per minute"
            data={charts.oversells}
            options={unitsAxis}
            testId="oversell-chart"
          />
        )}
      </div>
      <div class="panel">
        <h3>Staleness of the global view</h3>
        {charts && (
          <Chart
            type="line"
            title="Worst staleness per minute"
            data={charts.staleness}
            options={secondsAxis}
            testId="staleness-chart"
          />
        )}
      </div>
      <div class="panel wide">
        <h3>Drift (reconciliation runs)</h3>
        {drift.error && (
          <p class="error" role="alert">
            {drift.error.message}
          </p>
        )}
        {drift.data && <DriftChart history={drift.data} testId="ct-drift-chart" />}
      </div>
    </>
  );
}
