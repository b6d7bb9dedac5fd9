/**
 * The report of `stockline demo kpi`: the terminal table (today, stockline, difference), the chart
 * (Vega-Lite: a panel per KPI, and unexplained drift per ERP per day) and the Markdown note that
 * ties them to the parameters. Pure: strings and specs from a `KpiReport`; the command writes them.
 */
import type { ChartSpec } from "../../infra/report/svg-chart.ts";
import type { KpiReport } from "./kpi-simulation.ts";

export interface KpiRow {
  readonly kpi: string;
  readonly unit: string;
  readonly today: number;
  readonly stockline: number;
}

const driftOf = (daily: KpiReport["today"]["daily"], erp: string): number =>
  daily.filter((d) => d.erp === erp).reduce((sum, d) => sum + d.driftUnits, 0);

const minutes = (ms: number): number => Math.round((ms / 60_000) * 100) / 100;

/** The figures both columns show, in the order of the issue. */
export const kpiRows = (r: KpiReport): KpiRow[] => {
  const erps = r.world.regions.map((x) => x.erp);
  return [
    {
      kpi: "web orders (same demand in both)",
      unit: "orders",
      today: r.today.orders,
      stockline: r.stockline.orders,
    },
    { kpi: "oversold orders", unit: "orders", today: r.today.oversold, stockline: r.stockline.oversold },
    {
      kpi: "oversold units",
      unit: "units",
      today: r.today.oversoldUnits,
      stockline: r.stockline.oversoldUnits,
    },
    {
      kpi: "orders refused although stock was there",
      unit: "orders",
      today: r.today.refusedWithStock,
      stockline: r.stockline.refusedWithStock,
    },
    { kpi: "orders refused, all", unit: "orders", today: r.today.refused, stockline: r.stockline.refused },
    {
      kpi: "orders taken, then cancelled at the pick",
      unit: "orders",
      today: r.today.shortAtPick,
      stockline: r.stockline.shortAtPick,
    },
    {
      kpi: "orders shipped or waiting for a wave at the end",
      unit: "orders",
      today: r.today.accepted - r.today.shortAtPick,
      stockline: r.stockline.accepted - r.stockline.shortAtPick,
    },
    ...erps.map((erp) => ({
      kpi: `unexplained drift ${erp}, sum of day ends`,
      unit: "units",
      today: r.today.unexplainedUnits[erp] ?? 0,
      stockline: r.stockline.unexplainedUnits[erp] ?? 0,
    })),
    ...erps.map((erp) => ({
      kpi: `drift ${erp} incl. postings under way, sum of day ends`,
      unit: "units",
      today: driftOf(r.today.daily, erp),
      stockline: driftOf(r.stockline.daily, erp),
    })),
    {
      kpi: "time until every system agrees, median",
      unit: "ms",
      today: r.today.agreement.medianMs,
      stockline: r.stockline.agreement.medianMs,
    },
    {
      kpi: "time until every system agrees, p95",
      unit: "ms",
      today: r.today.agreement.p95Ms,
      stockline: r.stockline.agreement.p95Ms,
    },
    {
      kpi: "manual reconciliation items",
      unit: "lines",
      today: r.today.reconciliationItems,
      stockline: r.stockline.reconciliationItems,
    },
  ];
};

const fmt = (n: number): string => (Number.isInteger(n) ? String(n) : n.toFixed(2));

/** A duration as people read it: 250 ms, 42 s, 31 min, 10.4 h. */
export const duration = (ms: number): string => {
  const a = Math.abs(ms);
  const sign = ms < 0 ? "-" : "";
  if (a < 1000) return `${sign}${Math.round(a)} ms`;
  if (a < 60_000) return `${sign}${(a / 1000).toFixed(1)} s`;
  if (a < 3_600_000) return `${sign}${(a / 60_000).toFixed(1)} min`;
  return `${sign}${(a / 3_600_000).toFixed(1)} h`;
};
const cell = (unit: string, n: number): string => (unit === "ms" ? duration(n) : fmt(n));

export const kpiTable = (r: KpiReport): string => {
  const rows = kpiRows(r).map((x) => [
    x.unit === "ms" ? x.kpi : `${x.kpi} (${x.unit})`,
    cell(x.unit, x.today),
    cell(x.unit, x.stockline),
    cell(x.unit, Math.round((x.stockline - x.today) * 100) / 100),
  ]);
  const head = ["KPI", "today", "stockline", "difference"];
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] as string).length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(w[i] as number) : c.padStart(w[i] as number))).join("  ");
  return [
    `${r.title}`,
    `${r.distributor}: ${r.days} days from ${r.start.slice(0, 10)}, seed ${r.seed}; ${r.world.regions.map((x) => `${x.region} ${x.locations.join("+")} (${x.wms}, ${x.erp})`).join("; ")}; shop ${r.world.shop}`,
    "",
    line(head),
    line(w.map((n) => "-".repeat(n))),
    ...rows.map(line),
  ].join("\n");
};

const label = (x: KpiRow): string => `${x.kpi} (${x.unit === "ms" ? "min" : x.unit})`;
const scaled = (x: KpiRow, v: number): number => (x.unit === "ms" ? minutes(v) : v);

/** A row per KPI (today vs stockline, the figure written at each bar), then unexplained drift per ERP per day. */
export const kpiChartSpec = (r: KpiReport): ChartSpec => {
  const bars = kpiRows(r)
    .filter((x) => !x.kpi.startsWith("web orders"))
    .flatMap((x) => [
      { kpi: label(x), world: "today", value: scaled(x, x.today), text: cell(x.unit, x.today) },
      { kpi: label(x), world: "stockline", value: scaled(x, x.stockline), text: cell(x.unit, x.stockline) },
    ]);
  const series = r.world.regions.flatMap((x) => [`today ${x.erp}`, `stockline ${x.erp}`]);
  const palette = ["#c0392b", "#1f77b4", "#e67e22", "#17becf", "#8e44ad", "#2ca02c"];
  const drift = [
    ...r.today.daily.map((d) => ({ day: d.day, series: `today ${d.erp}`, units: d.unexplainedUnits })),
    ...r.stockline.daily.map((d) => ({
      day: d.day,
      series: `stockline ${d.erp}`,
      units: d.unexplainedUnits,
    })),
  ];
  const worldColor = {
    field: "world",
    type: "nominal",
    title: null,
    scale: { domain: ["today", "stockline"], range: ["#c0392b", "#1f77b4"] },
  };
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v5.json",
    title: `${r.title} (${r.distributor}, ${r.days} days, seed ${r.seed})`,
    resolve: { scale: { color: "independent" } },
    vconcat: [
      {
        data: { values: bars },
        facet: {
          row: {
            field: "kpi",
            type: "nominal",
            sort: bars.map((b) => b.kpi),
            title: null,
            header: {
              labelAngle: 0,
              labelAlign: "left",
              labelOrient: "top",
              labelFontSize: 11,
              labelLimit: 600,
            },
          },
        },
        spec: {
          width: 520,
          height: 34,
          layer: [
            { mark: { type: "bar" }, encoding: { color: worldColor } },
            { mark: { type: "text", align: "left", dx: 4 }, encoding: { text: { field: "text" } } },
          ],
          encoding: {
            y: { field: "world", type: "nominal", title: null, sort: ["today", "stockline"] },
            x: { field: "value", type: "quantitative", title: null, axis: null },
          },
        },
        resolve: { scale: { x: "independent" } },
      },
      {
        data: { values: drift },
        width: 520,
        height: 180,
        title: "unexplained drift at each day's end (units not covered by a posting under way)",
        mark: { type: "line", point: true },
        encoding: {
          x: { field: "day", type: "ordinal", title: "day", axis: { labelAngle: 0 } },
          y: { field: "units", type: "quantitative", title: "units" },
          color: {
            field: "series",
            type: "nominal",
            title: null,
            scale: { domain: series, range: palette.slice(0, series.length) },
          },
        },
      },
    ],
  } as unknown as ChartSpec;
};

const ms = duration;

export const kpiMarkdown = (r: KpiReport, files: { readonly json: string; readonly svg: string }): string => {
  const p = r.parameters;
  const a = p.today;
  const b = p.stockline;
  const kinds = Object.keys({ ...r.today.agreement.byKind, ...r.stockline.agreement.byKind }).sort();
  return `# ${r.title}

${r.distributor}, ${r.days} simulated days from ${r.start}, seed ${r.seed}. Figures: [${files.json}](${files.json}); chart: ![KPIs](${files.svg})

\`\`\`
${kpiTable(r)}
\`\`\`

## The same physical events

One seeded stream (${Object.entries(r.stream)
    .map(([k, n]) => `${n} ${k}`)
    .join(", ")}) over ${r.world.skus.length} SKUs
(${r.world.scarceSkus.join(", ")} scarce: replenished below their demand) at ${r.world.regions.map((x) => x.locations.join(", ")).join(", ")}.
Orders, receipts, transfers, returns, counts and pick waves are the same in both worlds; what is picked
follows each world's own decisions (an order taken is picked at the next wave, or cancelled when the
shelf cannot fill it). Each world's shelves are kept by the same code and checked for conservation
(opening + received + returned = on hand + in transit + shipped + written off): today ${r.today.conserved}, stockline ${r.stockline.conserved}.

## How each world is modelled

**Today's integration.** The WMS knows its shelves. The ERPs are updated by postings: receipts after
${a.receiptPostingMinutes} min, count write-offs after ${a.countPostingMinutes} min, picks after ${a.pickPostingMinutes} min but only to
${a.picksPostedTo} (picks at the other ERP's DCs are never posted: ${r.today.lostPickPostings} of them), transfers (both legs) by the
overnight run at ${String(a.transferPostingHour).padStart(2, "0")}:00, returns ${a.returnPostingHours} h later against the RMA. The shop sells against a copy
of the ERP balance taken every ${a.shopCopyMinutes} min, less its own orders since the copy. A person books a correction
of each unexplained line at ${String(a.correctionHour).padStart(2, "0")}:00 the next day (${r.today.manualCorrections} corrections).

**Through stockline.** Every fact and every order goes through the real position machine
(domain/position.decider.ts, \`decide\`/\`evolve\`) under the configuration's ownership policy: orders are
reservations decided against ATP at the region's DCs, picks consume them, facts are recorded even when
they drive a balance negative. ${r.stockline.eventsStored} events stored, ${r.stockline.anomaliesRaised} anomalies raised (count variances),
commands refused for another reason than ATP: ${r.stockline.unexpectedOutcomes.length}; stockline's on hand equals the shelves at the end: ${r.stockline.ledgerEqualsShelves}.
Events the configuration routes to an ERP are posted with its target's behaviour from the configuration
(${r.world.regions.map((x) => `${x.erp}: ${x.posting.latencyMs} ms, ${x.posting.errorRate * 100}% server errors, ${x.posting.lostResponseRate * 100}% lost answers`).join("; ")}),
retried after ${b.postingBackoffMs} ms doubling, a lost answer costing the ${b.postingTimeoutMs} ms timeout (${r.stockline.postings} postings, ${r.stockline.postingRetries} retried).
The shop reads global ATP.

| parameter | value | source |
| --- | --- | --- |
| fact → committed at the position | ${b.commitLatencyMs.value} ms | ${b.commitLatencyMs.source} |
| fact → global ATP (what the shop reads) | ${b.globalAtpLatencyMs.value} ms | ${b.globalAtpLatencyMs.source} |

Every movement is given these p99 figures, not a distribution (pessimistic for stockline); only the
posting retries are drawn from the seed. Today's delays are the stated parameters, not measurements.

## What the KPIs mean

- **Oversold order**: taken at a DC whose shelf, less the orders already taken there and not yet picked,
  did not hold it at that moment.
- **Refused although stock was there**: refused while a DC of the customer's region had it free.
- **Refused, all / cancelled at the pick / shipped**: stockline refuses at once what the shelves cannot
  hold; today's shop takes some of those orders and the warehouse cancels them at the pick wave (the
  customer hears later). Shipped counts orders taken and not cancelled (the last wave's are still to pick).
- **Unexplained drift**: at 23:59:59.999 of each day, per ERP, Σ over SKU-locations of |ERP figure +
  postings under way − shelf|. Postings under way (in flight, or waiting with a transfer order or RMA the
  ERP holds) explain their part; the sum over all lines of |ERP − shelf| is in the JSON as \`driftUnits\`.
- **Manual reconciliation items**: lines with unexplained drift at a day's end, summed over the days.
- **Time until every system agrees**: from the movement until the WMS, the ERP that books the DC and the
  shop all show it.

| movement | today median | today p95 | stockline median | stockline p95 |
| --- | --- | --- | --- | --- |
${kinds
  .map((k) => {
    const x = r.today.agreement.byKind[k as keyof typeof r.today.agreement.byKind];
    const y = r.stockline.agreement.byKind[k as keyof typeof r.stockline.agreement.byKind];
    return `| ${k} | ${x ? ms(x.medianMs) : "-"} | ${x ? ms(x.p95Ms) : "-"} | ${y ? ms(y.medianMs) : "-"} | ${y ? ms(y.p95Ms) : "-"} |`;
  })
  .join("\n")}

## What this does not show

Demand, stock levels and today's delays are parameters (all in the JSON), not a customer's data; the
shop's choice of DC and the WMS's waves are the same simple rules in both worlds. Losses no system has
seen yet (theft before a count) are not modelled: stockline would not see them either. Stockline's
latencies are a single p99 figure per step; queueing under bursts above the measured load is not modelled.
`;
};
