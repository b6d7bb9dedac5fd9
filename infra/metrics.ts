/**
 * The process's Prometheus registry (served at `/metrics`). Components register their metrics
 * here with `getOrCreate*` so that two instances in one process (tests) share one series.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

export const metricsRegistry = new Registry();
collectDefaultMetrics({ register: metricsRegistry });

const existing = <T>(name: string): T | undefined => metricsRegistry.getSingleMetric(name) as T | undefined;

export const counter = (name: string, help: string, labelNames: string[] = []): Counter<string> =>
  existing<Counter<string>>(name) ?? new Counter({ name, help, labelNames, registers: [metricsRegistry] });

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
