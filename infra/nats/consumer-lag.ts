/**
 * Consumer lag per stream (issue 5, "Observability"): `stockline_consumer_pending{stream, consumer}`
 * is what a durable consumer has not been delivered yet (`num_pending`), and
 * `stockline_consumer_ack_pending{stream, consumer}` what it holds unacknowledged. Sampled on an
 * interval from consumer info for every durable consumer of the given streams, so intake, projectors
 * and posting workers are covered without each of them reporting. The timer is unref'd.
 */
import type { JetStreamManager } from "@nats-io/jetstream";
import type { Logger } from "pino";
import { gauge } from "../metrics.ts";

const pending = gauge(
  "stockline_consumer_pending",
  "Messages a durable consumer has not been delivered yet (consumer info num_pending)",
  ["stream", "consumer"],
);
const ackPending = gauge(
  "stockline_consumer_ack_pending",
  "Messages delivered to a durable consumer and not acknowledged yet",
  ["stream", "consumer"],
);

export interface ConsumerLagSampler {
  /** One sample now (also what the interval runs). */
  sample(): Promise<void>;
  stop(): void;
}

export const startConsumerLagSampler = (opts: {
  /** Streams and the manager that reaches them (a region's, or the hub's for mirrors). */
  readonly sources: ReadonlyArray<{ readonly jsm: JetStreamManager; readonly streams: readonly string[] }>;
  readonly intervalMs?: number;
  readonly logger?: Logger;
}): ConsumerLagSampler => {
  // One sample at a time; a caller that asks meanwhile waits for the one running.
  let running: Promise<void> | undefined;
  const sample = (): Promise<void> => {
    running ??= run().finally(() => {
      running = undefined;
    });
    return running;
  };
  const run = async () => {
    for (const { jsm, streams } of opts.sources) {
      for (const stream of streams) {
        try {
          for await (const ci of jsm.consumers.list(stream)) {
            const name = ci.config.durable_name;
            if (!name) continue; // ordered and other ephemeral readers are not lag
            pending.set({ stream, consumer: name }, ci.num_pending);
            ackPending.set({ stream, consumer: name }, ci.num_ack_pending);
          }
        } catch (err) {
          opts.logger?.debug({ err, stream }, "consumer lag not sampled");
        }
      }
    }
  };
  const timer = setInterval(() => void sample(), opts.intervalMs ?? 5_000);
  timer.unref();
  void sample();
  return { sample, stop: () => clearInterval(timer) };
};
