/**
 * What only a posting worker knows, written into the postings ledger for whoever reads the summary
 * (postings-summary.ts), in this process or another: the state of its target's circuit breaker (on
 * every change) and how many events of its region it has not read yet (its consumer's
 * `num_pending`, sampled every `everyMs`, with the time the oldest of them was stored).
 *
 * During an outage the worker holds one fetched batch while the breaker is open and reads no
 * further: without the backlog, hundreds of waiting events would be in no count at all.
 */
import type { JetStreamManager } from "@nats-io/jetstream";
import type { Logger } from "pino";
import type { GuardedTarget } from "./guarded-target.ts";
import type { PostingsLedger } from "./postings-ledger.ts";

export interface WorkerStatusOptions {
  readonly ledger: PostingsLedger;
  readonly target: GuardedTarget;
  readonly jsm: JetStreamManager;
  readonly stream: string;
  readonly durable: string;
  readonly region: string;
  readonly everyMs: number;
  readonly logger: Logger;
}

export interface WorkerStatusReporter {
  /** Samples the backlog now (also done on the timer). */
  sample(): Promise<void>;
  /** Stops sampling and listening; waits for a sample in flight. */
  stop(): Promise<void>;
}

export const reportWorkerStatus = (opts: WorkerStatusOptions): WorkerStatusReporter => {
  const { ledger, target } = opts;
  const id = target.connector.id;
  const writeBreaker = () => {
    const s = target.status();
    ledger.recordBreaker(id, s.state, s.nextTrialAt);
  };
  const events = ["open", "halfOpen", "close"];
  // Typed per event in @types/opossum; these three take no argument that matters here.
  const emitter = target.breaker as unknown as NodeJS.EventEmitter;
  for (const e of events) emitter.on(e, writeBreaker);
  writeBreaker();

  let failing = false;
  let inFlight: Promise<void> = Promise.resolve();
  const sampleOnce = async (): Promise<void> => {
    try {
      const info = await opts.jsm.consumers.info(opts.stream, opts.durable);
      let oldestQueuedAt: string | null = null;
      if (info.num_pending > 0) {
        // The next event the consumer will read (deleted or filtered out: unknown, left null).
        const next = await opts.jsm.streams
          .getMessage(opts.stream, { seq: info.delivered.stream_seq + 1 })
          .catch(() => null);
        oldestQueuedAt = next ? next.time.toISOString() : null;
      }
      ledger.recordBacklog(id, opts.region, { queued: info.num_pending, oldestQueuedAt });
      failing = false;
    } catch (err) {
      // The last sample stays, with its time: the summary shows how old it is.
      if (!failing) opts.logger.warn({ err }, "postings backlog not sampled");
      failing = true;
    }
  };
  const sample = (): Promise<void> => {
    inFlight = inFlight.then(sampleOnce);
    return inFlight;
  };
  const timer = setInterval(() => void sample(), opts.everyMs);
  timer.unref();
  void sample();
  return {
    sample,
    async stop() {
      clearInterval(timer);
      for (const e of events) emitter.removeListener(e, writeBreaker);
      await inFlight;
    },
  };
};
