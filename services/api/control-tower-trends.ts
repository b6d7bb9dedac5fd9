/**
 * The control tower's trends (projections/sync-trends.ts) kept by the API process: an ordered
 * consumer per region on the hub's mirror `INV_EVT_<R>` from `windowMs` ago (so a restart rebuilds
 * the window from the stream), and a freshness sample of the global view every `sampleMs`.
 *
 * The API reads the hub with the projector's rights (topology-security: the API's user has them).
 * A mirror that is not there yet (the global projector creates it) is tried again with backoff
 * (p-retry) until it is, or until `stop()`.
 */
import { DeliverPolicy, type JetStreamClient, jetstream } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import pRetry from "p-retry";
import type { Logger } from "pino";
import { evtStreamName } from "../../infra/nats/subjects.ts";
import type { RegionFreshness } from "../../projections/global-atp.projection.ts";
import {
  newTrendBook,
  noteTrendEvent,
  noteTrendFreshness,
  pruneTrends,
  type RegionTrend,
  type TrendBook,
  trendsOf,
} from "../../projections/sync-trends.ts";
import { decodeEventMessage } from "../projectors/consumer-loop.ts";

export interface ControlTowerTrendsOptions {
  /** A connection to the hub. */
  readonly nc: NatsConnection;
  readonly hubDomain?: string;
  readonly regions: readonly string[];
  /** Freshness of the global view (GlobalAtpReader or GlobalProjector). */
  readonly freshness: (now?: number) => readonly RegionFreshness[];
  /** The sync-latency objective: `objective` of events applied within `seconds` of business time. */
  readonly slo: { readonly seconds: number; readonly objective: number };
  /**
   * How far back trends reach (default 3 h): a start replays that much of every region's mirror, so
   * a longer window costs the API's start-up CPU on a busy system.
   */
  readonly windowMs?: number;
  /** Bucket width (default 1 min). */
  readonly bucketMs?: number;
  /** Freshness sampling period (default 5 s). */
  readonly sampleMs?: number;
  readonly logger: Logger;
}

export interface TrendsAnswer {
  readonly slo: { readonly seconds: number; readonly objective: number };
  readonly bucketSeconds: number;
  readonly from: string;
  readonly to: string;
  readonly regions: readonly RegionTrend[];
}

export class ControlTowerTrends {
  private readonly book: TrendBook;
  private readonly windowMs: number;
  private readonly abort = new AbortController();
  private readonly loops: Promise<void>[] = [];
  private readonly closers: Array<() => Promise<unknown>> = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly o: ControlTowerTrendsOptions) {
    this.windowMs = o.windowMs ?? 3 * 3_600_000;
    this.book = newTrendBook({ bucketMs: o.bucketMs ?? 60_000, sloMs: o.slo.seconds * 1000 });
  }

  start(): void {
    const js = jetstream(this.o.nc, this.o.hubDomain ? { domain: this.o.hubDomain } : {});
    for (const region of this.o.regions) this.loops.push(this.follow(js, region));
    const sample = () => {
      const now = Date.now();
      for (const f of this.o.freshness(now))
        noteTrendFreshness(this.book, f.region, now, {
          stale: f.stale,
          ...(f.stalenessMs !== undefined ? { stalenessMs: f.stalenessMs } : {}),
        });
      pruneTrends(this.book, now - this.windowMs - this.book.bucketMs);
    };
    sample();
    this.timer = setInterval(sample, this.o.sampleMs ?? 5_000);
    this.timer.unref();
  }

  /** Trends of the last `minutes` (at most the window). */
  trends(minutes: number, now = Date.now()): TrendsAnswer {
    const from = now - Math.min(minutes * 60_000, this.windowMs);
    return {
      slo: this.o.slo,
      bucketSeconds: this.book.bucketMs / 1000,
      from: new Date(from).toISOString(),
      to: new Date(now).toISOString(),
      regions: trendsOf(this.book, this.o.regions, { from, to: now }, this.o.slo.objective),
    };
  }

  async stop(): Promise<void> {
    this.abort.abort();
    clearInterval(this.timer);
    await Promise.all(this.closers.splice(0).map((c) => c().catch(() => {})));
    await Promise.all(this.loops);
  }

  private async follow(js: JetStreamClient, region: string): Promise<void> {
    const log = this.o.logger.child({ region });
    const stream = evtStreamName(region);
    try {
      const consumer = await pRetry(
        () =>
          js.consumers.get(stream, {
            deliver_policy: DeliverPolicy.StartTime,
            opt_start_time: new Date(Date.now() - this.windowMs).toISOString(),
          }),
        {
          forever: true,
          minTimeout: 500,
          maxTimeout: 10_000,
          signal: this.abort.signal,
          onFailedAttempt: (err) =>
            log.debug({ err: err.message, stream }, "hub mirror not readable yet; trying again"),
        },
      );
      if (this.abort.signal.aborted) return;
      const messages = await consumer.consume();
      this.closers.push(() => messages.close());
      for await (const m of messages) {
        try {
          noteTrendEvent(this.book, region, decodeEventMessage(m));
        } catch {
          // An undecodable event is the region's projector's dead letter; the trend only skips it.
        }
      }
    } catch (err) {
      if (!this.abort.signal.aborted) log.warn({ err, stream }, "control-tower trends stopped following");
    }
  }
}
