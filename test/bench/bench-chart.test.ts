/**
 * The bench chart (bench/results/latest.svg) from a fixture results object: a well-formed SVG that
 * names every measured series and marks a series the run did not measure as such.
 */
import { describe, expect, it } from "vitest";
import { LATENCY_SERIES, renderBenchChart, THROUGHPUT_SERIES } from "../../bench/bench-chart.ts";

const fixture = (): Record<string, unknown> => ({
  raw_js_publish_per_s: 41_234,
  null_pipeline_per_s: 17_500,
  e2e_commands_per_s: 9_876,
  e2e_commands_per_s_postgres: 4_321,
  e2e_commands_per_s_postgres_2_nodes: 6_543,
  peer_emmett_pg_commands_per_s: 612,
  e2e_commands_per_s_hot: 8_765,
  peer_emmett_pg_commands_per_s_hot: null,
  regional_atp_p99_ms_at_1000_per_s: 31.5,
  global_atp_p99_ms_at_1000_per_s: 270.2,
  regional_atp_p99_ms_at_half_max: 44.4,
  global_atp_p99_ms_at_half_max: 120.9,
  atp_query_p99_ms: 3,
  context: { date: "2026-12-06T06:00:00.000Z", loadAvgStart: [3.21, 2, 1], params: { scale: 1 } },
});

/** Tags open and close in order, nothing left open: enough to say the XML is well formed here. */
const balancedTags = (xml: string): boolean => {
  const stack: string[] = [];
  for (const m of xml.matchAll(/<(\/?)([A-Za-z][\w:-]*)[^>]*?(\/?)>/g)) {
    const [, closing, name, selfClosing] = m;
    if (selfClosing) continue;
    if (closing) {
      if (stack.pop() !== name) return false;
    } else stack.push(name!);
  }
  return stack.length === 0;
};

describe("bench chart", () => {
  it("renders a well-formed SVG naming each measured series with its figure", async () => {
    const svg = await renderBenchChart(fixture());
    expect(svg.startsWith("<svg")).toBe(true);
    expect(svg.trimEnd().endsWith("</svg>")).toBe(true);
    expect(balancedTags(svg)).toBe(true);
    for (const [label] of THROUGHPUT_SERIES) expect(svg, label).toContain(label);
    for (const [label] of LATENCY_SERIES) expect(svg, label).toContain(label);
    expect(svg).toContain("9,876/s");
    expect(svg).toContain("612/s");
    expect(svg).toContain("31.5 ms (target &lt; 50)");
    expect(svg).toContain("load average 3.21");
  });

  it("draws a figure the run did not produce as not measured, not as a number", async () => {
    const svg = await renderBenchChart(fixture());
    expect(svg).toContain("not measured");
    const r = fixture();
    r.peer_emmett_pg_commands_per_s_hot = 345;
    const measured = await renderBenchChart(r);
    expect(measured).toContain("345/s");
    expect(measured).not.toContain("not measured");
  });
});
