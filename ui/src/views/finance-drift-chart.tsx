/**
 * Drift over time (`GET /v1/reconciliation/drift-history`): one line per ERP of the units its
 * reconciliation runs found unexplained or never posted, run after run; in-flight units dashed.
 */
import { useMemo } from "preact/hooks";
import type { DriftHistoryAnswer as DriftHistory } from "../../../services/reconciliation/drift-history.ts";
import { Chart, COLOURS } from "../components/chart.tsx";

export type { DriftHistory };

export function DriftChart({ history, testId = "drift-chart" }: { history: DriftHistory; testId?: string }) {
  const data = useMemo(() => {
    const targets = [...new Set(history.runs.flatMap((r) => r.targets.map((t) => t.target)))].sort();
    const of = (runTargets: DriftHistory["runs"][number]["targets"], target: string) =>
      runTargets.find((t) => t.target === target);
    return {
      labels: history.runs.map((r) => new Date(r.at).toLocaleString()),
      datasets: targets.flatMap((target, i) => [
        {
          label: `${target} drift`,
          data: history.runs.map((r) => of(r.targets, target)?.driftUnits ?? 0),
          borderColor: COLOURS[i % COLOURS.length],
          backgroundColor: COLOURS[i % COLOURS.length],
        },
        {
          label: `${target} in flight`,
          data: history.runs.map((r) => of(r.targets, target)?.inFlightUnits ?? 0),
          borderColor: COLOURS[i % COLOURS.length],
          backgroundColor: COLOURS[i % COLOURS.length],
          borderDash: [4, 4],
        },
      ]),
    };
  }, [history]);
  const options = useMemo(
    () => ({
      scales: { y: { beginAtZero: true, title: { display: true, text: "units" } } },
      plugins: { legend: { position: "bottom" as const } },
    }),
    [],
  );
  if (history.runs.length === 0) return <p class="empty">No finished reconciliation runs yet.</p>;
  return (
    <Chart
      type="line"
      title="Drift per reconciliation run and ERP"
      data={data}
      options={options}
      testId={testId}
    />
  );
}
