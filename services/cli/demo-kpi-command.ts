/**
 * `stockline demo kpi [--days n] [--seed n] [--config file] [--out dir] [--bench file]`: plays the
 * configuration's distributor twice over the same seeded physical events, once as today's
 * integration and once through stockline's position machine (services/demo-kpi/), prints both
 * columns and writes kpi-report.json, kpi-report.svg and kpi-report.md to the report folder.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { Command } from "commander";
import { loadDistributorConfig } from "../../infra/config/distributor-config.ts";
import { renderSvgChart } from "../../infra/report/svg-chart.ts";
import { kpiWorldOf, stocklineParametersFrom } from "../demo-kpi/kpi-inputs.ts";
import { DEFAULT_STREAM, defaultToday } from "../demo-kpi/kpi-parameters.ts";
import { kpiChartSpec, kpiMarkdown, kpiTable } from "../demo-kpi/kpi-report.ts";
import { simulateKpi } from "../demo-kpi/kpi-simulation.ts";

interface KpiFlags {
  days: string;
  seed: string;
  config: string;
  out: string;
  bench: string;
  picksTo?: string;
}

const integer = (flag: string, raw: string, min: number, max: number): number => {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new Error(`--${flag}: got ${JSON.stringify(raw)}, expected a whole number from ${min} to ${max}`);
  return n;
};

export const registerDemoKpiCommand = (demo: Command): Command =>
  demo
    .command("kpi")
    .description(
      "today's integration vs stockline over the same simulated days: oversells, refusals, drift, time to agree, reconciliation",
    )
    .option("--days <n>", "simulated days", String(DEFAULT_STREAM.days))
    .option("--seed <n>", "seed of the physical events", String(DEFAULT_STREAM.seed))
    .option("--config <file>", "the distributor", "config/demo.json")
    .option("--out <dir>", "report folder", path.join(".data", "kpi"))
    .option(
      "--bench <file>",
      "bench result to take stockline's latencies from",
      path.join("bench", "results", "latest.json"),
    )
    .option("--picks-to <erp>", "the one ERP today's WMS posts picks to (default: the first region's ERP)")
    .action(async (f: KpiFlags) => {
      const days = integer("days", f.days, 1, 366);
      const seed = integer("seed", f.seed, 0, 2 ** 32 - 1);
      const world = kpiWorldOf(loadDistributorConfig(f.config));
      const erps = world.regions.map((r) => r.erp);
      const picksTo = f.picksTo ?? (erps[0] as string);
      if (!erps.includes(picksTo))
        throw new Error(`--picks-to: got ${JSON.stringify(picksTo)}, expected one of ${erps.join(", ")}`);
      const report = simulateKpi(world, {
        stream: { ...DEFAULT_STREAM, days, seed },
        today: defaultToday(picksTo),
        stockline: stocklineParametersFrom(f.bench),
      });
      mkdirSync(f.out, { recursive: true });
      const files = { json: "kpi-report.json", svg: "kpi-report.svg", md: "kpi-report.md" };
      writeFileSync(path.join(f.out, files.json), `${JSON.stringify(report, null, 2)}\n`);
      writeFileSync(path.join(f.out, files.svg), await renderSvgChart(kpiChartSpec(report)));
      writeFileSync(path.join(f.out, files.md), kpiMarkdown(report, files));
      process.stdout.write(
        `${kpiTable(report)}\n\nreport: ${path.join(f.out, files.md)} (chart ${path.join(f.out, files.svg)}, figures ${path.join(f.out, files.json)})\n`,
      );
    });
