/**
 * `CountingChild` counts in a plain number and folds into its counter when the counter is read: what
 * a scrape or `get` sees is every increment made before, for each label set, whatever the order.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CountingChild, counter, metricsRegistry } from "../../../infra/metrics.ts";

let metricNo = 0;

describe("CountingChild", () => {
  it("a read sees every increment made before it, per label set, together with plain incs", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.oneof(
            fc.record({ op: fc.constant("child" as const), label: fc.constantFrom("a", "b", "c") }),
            fc.record({ op: fc.constant("plain" as const), label: fc.constantFrom("a", "b", "c") }),
            fc.record({ op: fc.constant("read" as const) }),
          ),
          { maxLength: 60 },
        ),
        async (ops) => {
          const name = `stockline_test_counting_child_${metricNo++}_total`;
          const c = counter(name, "test", ["outcome"]);
          const children = new Map<string, CountingChild>();
          const expected = new Map<string, number>();
          const check = async () => {
            const seen = new Map((await c.get()).values.map((v) => [String(v.labels.outcome), v.value]));
            for (const [label, n] of expected) expect(seen.get(label)).toBe(n);
          };
          for (const o of ops) {
            if (o.op === "read") {
              await check();
              continue;
            }
            if (o.op === "child") {
              let child = children.get(o.label);
              if (!child) {
                child = new CountingChild(c, { outcome: o.label });
                children.set(o.label, child);
              }
              child.inc();
            } else c.inc({ outcome: o.label });
            expected.set(o.label, (expected.get(o.label) ?? 0) + 1);
          }
          await check();
          const text = await metricsRegistry.getSingleMetricAsString(name);
          for (const [label, n] of expected) expect(text).toContain(`{outcome="${label}"} ${n}`);
          metricsRegistry.removeSingleMetric(name);
        },
      ),
      { numRuns: 50 },
    );
  });
});

describe("CountingChild and a reset", () => {
  it("increments made before a counter's or the registry's reset are not counted after it", async () => {
    const name = `stockline_test_counting_child_reset_${metricNo++}_total`;
    const c = counter(name, "test", ["outcome"]);
    const child = new CountingChild(c, { outcome: "a" });
    child.inc();
    child.inc();
    c.reset();
    child.inc();
    expect((await c.get()).values.find((v) => v.labels.outcome === "a")?.value).toBe(1);
    child.inc();
    metricsRegistry.resetMetrics();
    child.inc();
    expect((await c.get()).values.find((v) => v.labels.outcome === "a")?.value).toBe(1);
    metricsRegistry.removeSingleMetric(name);
  });
});
