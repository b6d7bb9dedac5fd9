/**
 * The process's Prometheus registry (served at `/metrics`). Components register their metrics
 * here with `getOrCreate*` so that two instances in one process (tests) share one series.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

export const metricsRegistry = new Registry();
collectDefaultMetrics({ register: metricsRegistry });

const existing = <T>(name: string): T | undefined => metricsRegistry.getSingleMetric(name) as T | undefined;

/** Increments of `countingChild`ren not yet folded into their counter, by counter. */
const unfolded = new Map<Counter<string>, CountingChild[]>();

/** A counter whose reset (its own, the registry's) also drops its children's increments not yet folded. */
class FoldingCounter extends Counter<string> {
  override reset(): void {
    for (const child of unfolded.get(this) ?? []) child.discard();
    super.reset();
  }
}

export const counter = (name: string, help: string, labelNames: string[] = []): Counter<string> =>
  existing<Counter<string>>(name) ??
  new FoldingCounter({
    name,
    help,
    labelNames,
    registers: [metricsRegistry],
    collect() {
      for (const child of unfolded.get(this) ?? []) child.fold();
    },
  });

/**
 * One label set of a counter made by `counter`, counted in a plain number and folded into the
 * counter when it is read (a scrape, `get`): prom-client hashes the labels on every `inc`, which a
 * per-command hot path pays for.
 */
export class CountingChild {
  private pending = 0;

  constructor(
    private readonly parent: Counter<string>,
    private readonly labels: Record<string, string>,
  ) {
    const children = unfolded.get(parent);
    if (children) children.push(this);
    else unfolded.set(parent, [this]);
  }

  inc(): void {
    this.pending++;
  }

  /** Drops the increments not yet folded (the counter is being reset). */
  discard(): void {
    this.pending = 0;
  }

  fold(): void {
    if (this.pending === 0) return;
    this.parent.inc(this.labels, this.pending);
    this.pending = 0;
  }
}

export const gauge = (name: string, help: string, labelNames: string[] = []): Gauge<string> =>
  existing<Gauge<string>>(name) ?? new Gauge({ name, help, labelNames, registers: [metricsRegistry] });

export const histogram = (
  name: string,
  help: string,
  labelNames: string[] = [],
  buckets = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
): Histogram<string> =>
  existing<Histogram<string>>(name) ??
  new Histogram({ name, help, labelNames, buckets, registers: [metricsRegistry] });
