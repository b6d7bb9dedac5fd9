/**
 * Pipeline health per region: intake, relay, projector and posting lag, freshness at the hub, the
 * node's outbox; a chart of each region's lag since the page opened (from the `status` live topic,
 * a sample every 2 s).
 */
import type { ChartData } from "chart.js";
import { useMemo, useState } from "preact/hooks";
import { Badge } from "../../components/badge.tsx";
import { Chart } from "../../components/chart.tsx";
import { ErrorNote } from "../../components/error-note.tsx";
import { fmtCount, fmtMs } from "../../format.ts";
import { useApi, useLive } from "../../hooks.ts";
import type { ViewProps } from "../view-props.ts";
import { type PipelineHealth, pendingOf, type RegionHealth } from "./pipeline-types.ts";

const MAX_SAMPLES = 90;

interface Sample {
  readonly at: string;
  readonly byRegion: Readonly<Record<string, { stalenessS: number; backlog: number }>>;
}

const sampleOf = (h: PipelineHealth): Sample => ({
  at: h.at,
  byRegion: Object.fromEntries(
    h.regions.map((r) => [
      r.region,
      {
        stalenessS: (r.freshness?.stalenessMs ?? 0) / 1_000,
        backlog: pendingOf(r, "intake") + (r.node?.lagEvents ?? 0) + pendingOf(r, "projector"),
      },
    ]),
  ),
});

const COLORS = ["#2457c5", "#c55a24", "#1b7f3b", "#8a2be2", "#a86400", "#0f7c8c"];

function RegionRow({ r }: { readonly r: RegionHealth }) {
  const f = r.freshness;
  const outbox = r.node?.outbox.reduce((n, o) => n + o.depth, 0) ?? 0;
  return (
    <tr data-testid={`region-${r.region}`}>
      <td>
        <strong>{r.region}</strong>
      </td>
      <td>
        {f ? (
          <Badge tone={f.link === "up" ? "ok" : f.link === "down" ? "bad" : "warn"}>{`link ${f.link}`}</Badge>
        ) : (
          <Badge tone="warn">no hub view</Badge>
        )}{" "}
        {f && (
          <Badge tone={f.stale ? "bad" : "ok"} title={f.reasons.join("; ")}>
            {f.stale ? "stale" : "fresh"}
          </Badge>
        )}
        {f && f.reasons.length > 0 && <div class="muted">{f.reasons.join("; ")}</div>}
      </td>
      <td class="num">{fmtMs(f?.stalenessMs)}</td>
      <td class="num" title="commands not yet taken by the node">
        {fmtCount(pendingOf(r, "intake"))}
      </td>
      <td class="num" title="events committed, not yet published by the relay">
        {fmtCount(r.node?.lagEvents ?? f?.relayLagEvents)}
        {(f?.relayLagMs ?? 0) > 0 && <div class="muted">{fmtMs(f?.relayLagMs)}</div>}
      </td>
      <td class="num" title="hub mirror behind the region">
        {fmtCount(f?.mirrorLag)}
      </td>
      <td class="num" title="events the regional projector has not applied">
        {fmtCount(pendingOf(r, "projector"))}
      </td>
      <td class="num" title="events the posting workers have not read">
        {fmtCount(pendingOf(r, "postings"))}
      </td>
      <td class="num">{fmtCount(outbox)}</td>
      <td class="num">{fmtCount(r.node?.storeHead)}</td>
      <td>{r.errors.length > 0 && <span class="error">{r.errors.join("; ")}</span>}</td>
    </tr>
  );
}

export function PipelinePanel({ api, live }: Pick<ViewProps, "api" | "live">) {
  const loaded = useApi("health", () => api.get<PipelineHealth>("/v1/pipeline/health"));
  const [latest, setLatest] = useState<PipelineHealth | undefined>(undefined);
  const [samples, setSamples] = useState<readonly Sample[]>([]);
  useLive<PipelineHealth>(live, "status", (e) => {
    if (e.event !== "update") return;
    setLatest(e.data);
    setSamples((s) => [...s, sampleOf(e.data)].slice(-MAX_SAMPLES));
  });
  const health = latest ?? loaded.data;

  const regions = health?.regions.map((r) => r.region) ?? [];
  const chart = useMemo((): ChartData<"line"> => {
    const labels = samples.map((s) => new Date(s.at).toLocaleTimeString("en-GB", { hour12: false }));
    return {
      labels,
      datasets: regions.flatMap((region, i) => [
        {
          label: `${region} staleness (s)`,
          data: samples.map((s) => s.byRegion[region]?.stalenessS ?? null),
          borderColor: COLORS[i % COLORS.length],
          yAxisID: "s",
          pointRadius: 0,
        },
        {
          label: `${region} backlog (events)`,
          data: samples.map((s) => s.byRegion[region]?.backlog ?? null),
          borderColor: COLORS[i % COLORS.length],
          borderDash: [4, 3],
          yAxisID: "n",
          pointRadius: 0,
        },
      ]),
    };
  }, [samples, regions.join(",")]);
  const options = useMemo(
    () => ({
      scales: {
        s: {
          type: "linear" as const,
          position: "left" as const,
          beginAtZero: true,
          title: { display: true, text: "s" },
        },
        n: {
          type: "linear" as const,
          position: "right" as const,
          beginAtZero: true,
          grid: { drawOnChartArea: false },
          title: { display: true, text: "events" },
        },
      },
    }),
    [],
  );

  return (
    <div class="panel wide" data-testid="pipeline">
      <h3>Pipeline health per region</h3>
      <ErrorNote error={loaded.error} />
      {health ? (
        <table>
          <thead>
            <tr>
              <th>Region</th>
              <th>At the hub</th>
              <th class="num">Staleness</th>
              <th class="num">Intake</th>
              <th class="num">Relay</th>
              <th class="num">Mirror</th>
              <th class="num">Projector</th>
              <th class="num">Postings</th>
              <th class="num">Outbox</th>
              <th class="num">Store head</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {health.regions.map((r) => (
              <RegionRow key={r.region} r={r} />
            ))}
          </tbody>
        </table>
      ) : (
        <p class="loading">Loading…</p>
      )}
      <Chart
        type="line"
        title="Staleness and backlog per region since this page opened"
        data={chart}
        options={options}
        testId="lag-chart"
        height={200}
      />
      <p class="muted">
        Staleness: how old the hub's view of the region may be. Backlog: commands waiting at intake, events
        not yet relayed and not yet projected. Sampled every 2 s while this page is open.
      </p>
    </div>
  );
}
