/**
 * `stockline demo kpi` as a person runs it: a child process over the demo configuration, its table
 * on stdout, and the report folder whose JSON, chart and note say the same as the table.
 */
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import type { KpiReport } from "../../services/demo-kpi/kpi-simulation.ts";

const run = promisify(execFile);
const out = mkdtempSync(path.join(os.tmpdir(), "kpi-cli-"));
afterAll(() => rmSync(out, { recursive: true, force: true }));

/** The table's row whose label starts with `label`: [today, stockline, difference]. */
const row = (table: string, label: string): string[] => {
  const line = table.split("\n").find((l) => l.startsWith(label));
  if (!line) throw new Error(`no row ${label} in\n${table}`);
  return line
    .slice(label.length)
    .trim()
    .split(/\s{2,}/);
};

describe("stockline demo kpi", () => {
  it("prints both columns and writes a report whose figures agree with them", async () => {
    const { stdout } = await run(
      process.execPath,
      [
        "--import",
        "tsx",
        "services/cli.ts",
        "demo",
        "kpi",
        "--days",
        "2",
        "--seed",
        "1",
        "--out",
        out,
        "--bench",
        path.join(out, "no-bench.json"),
      ],
      { timeout: 240_000 },
    );
    expect(stdout).toMatch(/KPI\s+today\s+stockline\s+difference/);
    const files = ["kpi-report.json", "kpi-report.svg", "kpi-report.md"].map((f) => path.join(out, f));
    for (const f of files) expect(existsSync(f)).toBe(true);
    const report = JSON.parse(readFileSync(files[0] as string, "utf8")) as KpiReport;
    expect(report).toMatchObject({ seed: 1, days: 2 });

    const [oToday, oStockline, oDiff] = row(stdout, "oversold orders (orders)");
    expect([Number(oToday), Number(oStockline), Number(oDiff)]).toEqual([
      report.today.oversold,
      report.stockline.oversold,
      report.stockline.oversold - report.today.oversold,
    ]);
    expect(row(stdout, "web orders (same demand in both) (orders)").slice(0, 2).map(Number)).toEqual([
      report.today.orders,
      report.stockline.orders,
    ]);
    expect(row(stdout, "manual reconciliation items (lines)").slice(0, 2).map(Number)).toEqual([
      report.today.reconciliationItems,
      report.stockline.reconciliationItems,
    ]);
    for (const r of report.world.regions)
      expect(
        row(stdout, `unexplained drift ${r.erp}, sum of day ends (units)`).slice(0, 2).map(Number),
      ).toEqual([report.today.unexplainedUnits[r.erp], report.stockline.unexplainedUnits[r.erp]]);
    // The world is the demo configuration's, the latencies' source is stated (no bench file here).
    expect(report.world.regions.map((r) => r.erp)).toEqual(["SAP_S4", "D365"]);
    expect(report.parameters.stockline.globalAtpLatencyMs.source).toMatch(/no bench result/);

    // The chart draws the same figures: each bar's label and each day's drift point.
    const svg = readFileSync(files[1] as string, "utf8");
    expect(svg.startsWith("<svg")).toBe(true);
    const has = (x: string) => expect(svg.includes(x), x).toBe(true);
    has("Title text 'manual reconciliation items (lines)'");
    has(`world: today; text: ${report.today.reconciliationItems}"`);
    has(`world: stockline; text: ${report.stockline.reconciliationItems}"`);
    has(`world: today; text: ${report.today.oversold}"`);
    for (const d of [...report.today.daily, ...report.stockline.daily]) {
      const world = report.today.daily.includes(d) ? "today" : "stockline";
      has(`day: ${d.day}; units: ${d.unexplainedUnits}; series: ${world} ${d.erp}"`);
    }
    const md = readFileSync(files[2] as string, "utf8");
    expect(md).toContain("kpi-report.svg");
    // The note shows the very table the terminal printed.
    expect(md).toContain(stdout.split("\n\nreport:")[0] as string);
  }, 300_000);

  it("refuses a bad --days with a line that names the flag", async () => {
    const err = await run(
      process.execPath,
      ["--import", "tsx", "services/cli.ts", "demo", "kpi", "--days", "0", "--out", out],
      {
        timeout: 120_000,
      },
    ).catch((e: { stderr: string; code: number }) => e);
    expect(err).toMatchObject({ code: 1 });
    expect((err as { stderr: string }).stderr).toContain(
      '--days: got "0", expected a whole number from 1 to 366',
    );
  }, 180_000);
});
