/**
 * The chart of a `make bench` run (issue 12), written next to the JSON as `bench/results/latest.svg`:
 * throughput bars (raw publish, null pipeline, the node end to end on SQLite and PostgreSQL, the node
 * and Emmett on the uniform and the hot workload) and the p99 latencies beside their targets. A figure
 * the run did not produce (the peer skipped without PostgreSQL) is drawn as "not measured", not as 0.
 */
import { type ChartSpec, renderSvgChart } from "../infra/report/svg-chart.ts";

/** Throughput series: label on the chart, key in the results. */
export const THROUGHPUT_SERIES: ReadonlyArray<readonly [string, string]> = [
  ["raw JetStream publish", "raw_js_publish_per_s"],
  ["null pipeline (NATS hops only)", "null_pipeline_per_s"],
  ["stockline e2e, SQLite", "e2e_commands_per_s"],
  ["stockline e2e, PostgreSQL", "e2e_commands_per_s_postgres"],
  ["stockline e2e, PostgreSQL, 2 nodes", "e2e_commands_per_s_postgres_2_nodes"],
  ["Emmett over PostgreSQL", "peer_emmett_pg_commands_per_s"],
  ["stockline e2e, hot SKUs", "e2e_commands_per_s_hot"],
  ["Emmett over PostgreSQL, hot SKUs", "peer_emmett_pg_commands_per_s_hot"],
];

/** Latency series: label, key, target (ms, "<"). */
export const LATENCY_SERIES: ReadonlyArray<readonly [string, string, number]> = [
  ["regional ATP p99 at 1000/s", "regional_atp_p99_ms_at_1000_per_s", 50],
  ["global ATP p99 at 1000/s", "global_atp_p99_ms_at_1000_per_s", 250],
  ["regional ATP p99 at half max", "regional_atp_p99_ms_at_half_max", 50],
  ["global ATP p99 at half max", "global_atp_p99_ms_at_half_max", 250],
  ["ATP query p99 (HTTP)", "atp_query_p99_ms", 5],
];

const finite = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);

export const benchChartSpec = (r: Readonly<Record<string, unknown>>): ChartSpec => {
  const context = (r.context ?? {}) as {
    date?: string;
    loadAvgStart?: number[];
    params?: { scale?: number };
  };
  const throughput = THROUGHPUT_SERIES.map(([series, key]) => {
    const v = r[key];
    return finite(v)
      ? { series, value: v, text: `${v.toLocaleString("en-US")}/s` }
      : { series, value: 0, text: "not measured" };
  });
  const latency = LATENCY_SERIES.flatMap(([series, key, target]) => {
    const v = r[key];
    const measured = finite(v);
    return [
      {
        series,
        kind: measured ? (v < target ? "p99 (meets target)" : "p99 (misses target)") : "p99",
        value: measured ? v : 0,
        text: measured ? `${v} ms (target < ${target})` : `not measured (target < ${target})`,
        target,
      },
    ];
  });
  const load = context.loadAvgStart?.[0];
  const title = [
    `stockline make bench${context.date ? `, ${context.date.slice(0, 16).replace("T", " ")} UTC` : ""}`,
    `scale ${context.params?.scale ?? 1}${load === undefined ? "" : `, load average ${load} at start`}`,
  ].join(", ");
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v5.json",
    title,
    vconcat: [
      {
        title: "throughput, commands (or messages) per second",
        data: { values: throughput },
        width: 480,
        height: 22 * throughput.length,
        layer: [
          { mark: { type: "bar", color: "#1f77b4" } },
          { mark: { type: "text", align: "left", dx: 4 }, encoding: { text: { field: "text" } } },
        ],
        encoding: {
          y: { field: "series", type: "nominal", title: null, sort: null, axis: { labelLimit: 260 } },
          x: { field: "value", type: "quantitative", title: "per second" },
        },
      },
      {
        title: "latency p99 (bar) and target (tick), ms",
        data: { values: latency },
        width: 480,
        height: 22 * latency.length,
        layer: [
          {
            mark: { type: "bar" },
            encoding: {
              color: {
                field: "kind",
                type: "nominal",
                title: null,
                scale: {
                  domain: ["p99 (meets target)", "p99 (misses target)", "p99"],
                  range: ["#2ca02c", "#c0392b", "#999999"],
                },
              },
            },
          },
          {
            mark: { type: "tick", color: "black", thickness: 2 },
            encoding: { x: { field: "target", type: "quantitative" } },
          },
          { mark: { type: "text", align: "left", dx: 4 }, encoding: { text: { field: "text" } } },
        ],
        encoding: {
          y: { field: "series", type: "nominal", title: null, sort: null, axis: { labelLimit: 260 } },
          // Symlog: p99s from a few ms to seconds on one axis, the targets still readable.
          x: { field: "value", type: "quantitative", title: "ms (symlog scale)", scale: { type: "symlog" } },
        },
      },
    ],
  } as unknown as ChartSpec;
};

export const renderBenchChart = (r: Readonly<Record<string, unknown>>): Promise<string> =>
  renderSvgChart(benchChartSpec(r));
