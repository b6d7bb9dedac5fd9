/**
 * The ecosystem's own tools kept in the repository (issue 12): the Prometheus alerting rules
 * (ops/prometheus/stockline-rules.yml) parse, each has a severity, a summary and a runbook link to a
 * RUNBOOK.md heading; the rules and the Grafana dashboard (ops/grafana/stockline-dashboard.json) name
 * only metrics the code exports, with label matchers the metric has. The exported metrics are read
 * from prom-client's registry after importing every module that defines one (found by scanning
 * infra/ and services/), so a renamed or removed metric fails here.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { metricsRegistry } from "../../infra/metrics.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

const tsFiles = (dir: string): string[] =>
  readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) return tsFiles(p);
    return p.endsWith(".ts") ? [p] : [];
  });

/** Exported series names (a histogram's `_bucket`, `_count`, `_sum` too) and each metric's labels. */
const exported = new Map<string, Set<string>>();

beforeAll(async () => {
  const definers = [...tsFiles(path.join(ROOT, "infra")), ...tsFiles(path.join(ROOT, "services"))].filter(
    (f) => /\b(counter|gauge|histogram)\(\s*"stockline_/.test(readFileSync(f, "utf8")),
  );
  expect(definers.length).toBeGreaterThan(10);
  for (const f of definers) await import(pathToFileURL(f).href);
  for (const m of await metricsRegistry.getMetricsAsJSON()) {
    const labels = new Set(
      (metricsRegistry.getSingleMetric(m.name) as unknown as { labelNames?: string[] }).labelNames ?? [],
    );
    exported.set(m.name, labels);
    if (String(m.type) === "histogram")
      for (const s of ["_bucket", "_count", "_sum"])
        exported.set(`${m.name}${s}`, new Set([...labels, ...(s === "_bucket" ? ["le"] : [])]));
  }
}, 60_000);

const METRIC = /\bstockline_[a-z0-9_]+/g;

/** Every metric an expression names, and every label matcher it puts on one. */
const problemsOf = (expr: string): string[] => {
  const out: string[] = [];
  for (const name of expr.match(METRIC) ?? []) if (!exported.has(name)) out.push(`${name} is not exported`);
  for (const m of expr.matchAll(/\b(stockline_[a-z0-9_]+)\{([^}]*)\}/g)) {
    const labels = exported.get(m[1]!);
    for (const l of m[2]!.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)/g))
      if (labels && !labels.has(l[1]!)) out.push(`${m[1]} has no label ${l[1]}`);
  }
  let depth = 0;
  for (const c of expr) {
    depth += c === "(" ? 1 : c === ")" ? -1 : 0;
    if (depth < 0) break;
  }
  if (depth !== 0) out.push(`unbalanced parentheses in ${expr}`);
  return out;
};

const runbookAnchors = (): Set<string> =>
  new Set(
    readFileSync(path.join(ROOT, "RUNBOOK.md"), "utf8")
      .split("\n")
      .filter((l) => /^#{1,6} /.test(l))
      .map((l) =>
        l
          .replace(/^#+ /, "")
          .trim()
          .toLowerCase()
          .replace(/[^\p{L}\p{N}\s_-]/gu, "")
          .replace(/\s/g, "-"),
      ),
  );

interface Rule {
  alert?: string;
  expr?: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

describe("Prometheus alerting rules", () => {
  const doc = parse(readFileSync(path.join(ROOT, "ops/prometheus/stockline-rules.yml"), "utf8")) as {
    groups: { name: string; rules: Rule[] }[];
  };
  const rules = doc.groups.flatMap((g) => g.rules);

  it("parse into groups of alerting rules, each with an expression, a severity, a summary and a runbook heading", () => {
    expect(doc.groups.length).toBeGreaterThan(0);
    const anchors = runbookAnchors();
    const names = new Set<string>();
    for (const r of rules) {
      expect(r.alert, JSON.stringify(r)).toMatch(/^Stockline[A-Za-z]+$/);
      expect(names.has(r.alert!), `${r.alert} twice`).toBe(false);
      names.add(r.alert!);
      expect(typeof r.expr).toBe("string");
      if (r.for !== undefined) expect(r.for).toMatch(/^\d+[smh]$/);
      expect(["info", "warning", "critical"]).toContain(r.labels?.severity);
      expect(r.annotations?.summary, r.alert).toBeTruthy();
      const url = r.annotations?.runbook_url ?? "";
      expect(url, r.alert).toMatch(/^RUNBOOK\.md#/);
      expect(anchors, `${r.alert}: ${url}`).toContain(url.split("#")[1]);
    }
  });

  it("name only exported metrics, with labels they have", () => {
    expect(rules.flatMap((r) => problemsOf(r.expr ?? "").map((p) => `${r.alert}: ${p}`))).toEqual([]);
  });

  it("cover the notifier's conditions: dead letters, drift, a stale region, the SLO, an open breaker", () => {
    const all = rules.map((r) => r.expr).join("\n");
    for (const m of [
      "stockline_dlq_open",
      "stockline_dead_letters",
      "stockline_open_findings",
      "stockline_global_staleness_seconds",
      "stockline_sync_latency_seconds_bucket",
      "stockline_circuit_breaker_state",
    ])
      expect(all).toContain(m);
  });

  it("a metric the code does not export is caught", () => {
    expect(problemsOf("stockline_no_such_metric > 0")).toEqual(["stockline_no_such_metric is not exported"]);
    expect(problemsOf('stockline_dlq_open{reason="x"} > 0')).toEqual([
      "stockline_dlq_open has no label reason",
    ]);
  });
});

describe("Grafana dashboard", () => {
  interface Panel {
    id: number;
    type: string;
    title: string;
    datasource?: unknown;
    targets?: { expr: string; refId: string }[];
  }
  const dash = JSON.parse(readFileSync(path.join(ROOT, "ops/grafana/stockline-dashboard.json"), "utf8")) as {
    uid: string;
    title: string;
    panels: Panel[];
    templating: { list: { name: string; query?: string }[] };
  };
  const panels = dash.panels.filter((p) => p.type !== "row");

  it("is a dashboard with unique panel ids, each panel querying the Prometheus datasource", () => {
    expect(dash.uid).toBe("stockline-ops");
    expect(new Set(dash.panels.map((p) => p.id)).size).toBe(dash.panels.length);
    for (const p of panels) {
      // biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's variable syntax, not a template
      expect(p.datasource, p.title).toEqual({ type: "prometheus", uid: "${datasource}" });
      expect(p.targets?.length, p.title).toBeGreaterThan(0);
    }
  });

  it("names only exported metrics, with labels they have", () => {
    const exprs = [
      ...panels.flatMap((p) => (p.targets ?? []).map((t) => [p.title, t.expr] as const)),
      ...dash.templating.list
        .filter((v) => v.query?.includes("stockline_"))
        .map((v) => [v.name, v.query!] as const),
    ];
    expect(exprs.flatMap(([where, e]) => problemsOf(e).map((p) => `${where}: ${p}`))).toEqual([]);
  });

  it("shows pipeline lag per region, relay, projector, posting backlog and breaker, dead letters, the SLO and findings", () => {
    const all = panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr)).join("\n");
    for (const m of [
      "stockline_consumer_pending",
      "stockline_node_relay_lag_events",
      "stockline_projection_consumer_pending",
      "stockline_global_staleness_seconds",
      "stockline_circuit_breaker_state",
      "stockline_node_dead_letters_total",
      "stockline_sync_latency_seconds_bucket",
      "stockline_open_findings",
    ])
      expect(all).toContain(m);
  });
});
