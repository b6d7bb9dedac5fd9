/**
 * The transfer outbox (DESIGN §3.13): commands the relay derives from committed events (the inbound
 * side of a transfer, `recordInboundTransfer`) wait in a table of the node database until their
 * destination took them. The relay writes them in the same transaction that moves its transfer
 * checkpoint (node-db.ts `enqueueOutbox`), so a kill -9 loses none; this drains them, one loop per
 * destination region, so a region that cannot be reached holds only its own queue, never the relay.
 *
 * A destination in another region gets the command on its intake stream (`inv.cmd.<r>...`, message id
 * = the deterministic idempotency key, so a repeat is a duplicate there); our own region gets it
 * through `submitLocal`. A failed delivery backs off exponentially with jitter (p-retry, up to
 * `maxMs`), logging one line per step and one when the destination takes commands again. A command
 * that can never be published (beyond the server's limits) is dead-lettered and removed.
 */
import { type JetStreamClient, jetstream } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import pRetry from "p-retry";
import type { Logger } from "pino";
import type { CanonicalEventOf } from "../../domain/canonical-event.ts";
import { inboundTransferCommandFor } from "../../domain/position.decider.ts";
import { gauge } from "../../infra/metrics.ts";
import { cmdSubject } from "../../infra/nats/subjects.ts";
import type { NodeDb, OutboxRow } from "./node-db.ts";
import type { HandleResult } from "./position-runtime.ts";
import { publishLimitProblem } from "./relay-publisher.ts";

export type DerivedCommand = ReturnType<typeof inboundTransferCommandFor>;

const depthGauge = gauge(
  "stockline_node_transfer_outbox_depth",
  "Derived commands waiting in the transfer outbox, per destination region",
  ["region", "destination"],
);
const oldestGauge = gauge(
  "stockline_node_transfer_outbox_oldest_age_seconds",
  "Age of the oldest command waiting in the transfer outbox, per destination region",
  ["region", "destination"],
);

export interface TransferOutboxOptions {
  readonly region: string;
  readonly nc: NatsConnection;
  readonly nodeDb: NodeDb;
  readonly logger: Logger;
  /** Decides a derived command whose destination is in this region. */
  readonly submitLocal: (command: DerivedCommand) => Promise<HandleResult>;
  /** Reports a derived command its destination refused (dead letter); resolves once durable. */
  readonly onDerivedRejected: (command: DerivedCommand, result: HandleResult) => Promise<void>;
  /** Dead-letters a command that can never be delivered; resolves once durable. */
  readonly onUndeliverable: (command: DerivedCommand, why: string) => Promise<void>;
  /** Backoff between failed deliveries to one destination (default 250 ms doubling up to 30 s). */
  readonly backoff?: { readonly minMs?: number; readonly maxMs?: number };
  /** Commands sent to a destination at a time (default 256). */
  readonly batch?: number;
  readonly publishTimeoutMs?: number;
}

export type OutboxState = "idle" | "delivering" | "backingOff";

export interface OutboxDestinationStatus {
  readonly destination: string;
  readonly depth: number;
  /** Age of the oldest waiting command (0 when none). */
  readonly oldestAgeMs: number;
  readonly state: OutboxState;
  /** Failed attempts in a row (0 when the last one succeeded). */
  readonly failures: number;
  readonly lastError?: string;
}

interface Lane {
  readonly destination: string;
  state: OutboxState;
  failures: number;
  lastError?: string;
  wake?: () => void;
  pending: boolean;
  loop?: Promise<void>;
  /** The delivery attempt in progress (stop waits for it: it writes to node.db). */
  attempt?: Promise<void>;
}

/** The outbox row of a shipped transfer's inbound command; throws when none can be derived. */
export const inboundTransferRow = (
  shipped: CanonicalEventOf<"TransferShipped">,
  globalPosition: number,
): OutboxRow => {
  const command = inboundTransferCommandFor(shipped);
  return {
    idempotencyKey: command.idempotencyKey,
    destination: command.position.region,
    command: JSON.stringify(command),
    globalPosition,
    createdAt: Date.now(),
  };
};

const IDLE_RECHECK_MS = 5_000;
const METRICS_EVERY_MS = 1_000;

/** Thrown for a delivery that failed (p-retry does not retry a TypeError, so nothing leaves as one). */
class DeliveryError extends Error {
  override readonly name = "DeliveryError";
}

export class TransferOutbox {
  private readonly js: JetStreamClient;
  private readonly log: Logger;
  private readonly lanes = new Map<string, Lane>();
  private readonly abort = new AbortController();
  private readonly minMs: number;
  private readonly maxMs: number;
  private readonly batch: number;
  private metricsTimer: NodeJS.Timeout | undefined;
  private drainWaiters: Array<() => void> = [];
  private stopped = false;

  constructor(private readonly o: TransferOutboxOptions) {
    this.js = jetstream(o.nc);
    this.log = o.logger.child({ component: "transfer-outbox" });
    this.minMs = o.backoff?.minMs ?? 250;
    this.maxMs = Math.max(this.minMs, o.backoff?.maxMs ?? 30_000);
    this.batch = o.batch ?? 256;
  }

  /** Starts a loop for every destination with commands left from before. */
  start(): void {
    for (const d of this.o.nodeDb.outboxDepths()) this.notify(d.destination);
    this.metricsTimer = setInterval(() => this.sampleMetrics(), METRICS_EVERY_MS);
    this.metricsTimer.unref();
  }

  /** Tells the loop of a destination that commands were written for it. */
  notify(destination: string): void {
    if (this.stopped) return;
    let lane = this.lanes.get(destination);
    if (!lane) {
      lane = { destination, state: "idle", failures: 0, pending: true };
      this.lanes.set(destination, lane);
      lane.loop = this.run(lane);
      return;
    }
    lane.pending = true;
    lane.wake?.();
  }

  /** Per destination: what waits, since when, and whether it is backing off. */
  status(now = Date.now()): OutboxDestinationStatus[] {
    const depths = new Map(this.o.nodeDb.outboxDepths().map((d) => [d.destination, d]));
    const names = new Set([...depths.keys(), ...this.lanes.keys()]);
    return [...names].sort().map((destination) => {
      const d = depths.get(destination);
      const lane = this.lanes.get(destination);
      return {
        destination,
        depth: d?.depth ?? 0,
        oldestAgeMs: d ? Math.max(0, now - d.oldestCreatedAt) : 0,
        state: lane?.state ?? "idle",
        failures: lane?.failures ?? 0,
        ...(lane?.lastError !== undefined ? { lastError: lane.lastError } : {}),
      };
    });
  }

  /**
   * Resolves true once nothing waits for our own region (local destinations always make progress; a
   * remote one may be away for long, and its commands are durable here), false after `timeoutMs`.
   */
  async drainLocal(timeoutMs: number): Promise<boolean> {
    const empty = () => this.o.nodeDb.outboxOf(this.o.region, 1).length === 0;
    if (empty()) return true;
    const done = new Promise<boolean>((r) => this.drainWaiters.push(() => r(true)));
    const timer = new Promise<boolean>((r) => setTimeout(() => r(false), timeoutMs).unref());
    return Promise.race([done, timer]);
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.metricsTimer);
    this.abort.abort(new Error("transfer outbox stopped"));
    for (const lane of this.lanes.values()) lane.wake?.();
    await Promise.all([...this.lanes.values()].map((l) => l.loop));
    await Promise.all([...this.lanes.values()].map((l) => l.attempt?.catch(() => {})));
    for (const w of this.drainWaiters.splice(0)) w();
  }

  private sampleMetrics(): void {
    try {
      for (const s of this.status()) {
        const labels = { region: this.o.region, destination: s.destination };
        depthGauge.set(labels, s.depth);
        oldestGauge.set(labels, s.oldestAgeMs / 1000);
      }
    } catch {
      // the database is closing
    }
  }

  private async run(lane: Lane): Promise<void> {
    while (!this.stopped) {
      if (!lane.pending) {
        lane.state = "idle";
        if (lane.destination === this.o.region) for (const w of this.drainWaiters.splice(0)) w();
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, IDLE_RECHECK_MS);
          timer.unref();
          lane.wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        lane.wake = undefined;
        if (this.stopped) break;
        // A recheck after the timeout too: rows written by an earlier run of the node.
        lane.pending = true;
      }
      lane.pending = false;
      try {
        await pRetry(() => (lane.attempt = this.deliverAll(lane)), {
          forever: true,
          factor: 2,
          minTimeout: this.minMs,
          maxTimeout: this.maxMs,
          randomize: true,
          signal: this.abort.signal,
          onFailedAttempt: (err) => {
            if (this.stopped) throw err;
            lane.state = "backingOff";
            lane.failures = err.attemptNumber;
            lane.lastError = err.message;
            // One line per backoff step: the steps grow to `maxMs`, so a long outage logs little.
            this.log.warn(
              {
                destination: lane.destination,
                attempt: err.attemptNumber,
                err: err.message,
                waiting: this.depthOf(lane.destination),
              },
              "transfer outbox: destination not reached; backing off",
            );
          },
        });
        if (lane.failures > 0) {
          this.log.info(
            { destination: lane.destination, afterAttempts: lane.failures },
            "transfer outbox: destination reached again",
          );
          lane.failures = 0;
          delete lane.lastError;
        }
      } catch (err) {
        if (this.stopped) break;
        // Not expected (p-retry retries forever); keep the lane alive without spinning.
        this.log.error({ err, destination: lane.destination }, "transfer outbox loop failed");
        await new Promise((r) => setTimeout(r, this.maxMs).unref());
        lane.pending = true;
      }
    }
  }

  private depthOf(destination: string): number {
    return this.o.nodeDb.outboxDepths().find((d) => d.destination === destination)?.depth ?? 0;
  }

  /** Delivers batches until none is left; throws on the first failure (what was delivered is gone). */
  private async deliverAll(lane: Lane): Promise<void> {
    for (;;) {
      if (this.stopped) return;
      const rows = this.o.nodeDb.outboxOf(lane.destination, this.batch);
      if (rows.length === 0) return;
      lane.state = "delivering";
      const results = await Promise.allSettled(rows.map((row) => this.deliver(row)));
      let failure: unknown;
      results.forEach((r, i) => {
        if (r.status === "fulfilled") this.o.nodeDb.outboxDone(rows[i]!.idempotencyKey);
        else failure ??= r.reason;
      });
      if (failure !== undefined) {
        const message = failure instanceof Error ? failure.message : String(failure);
        throw new DeliveryError(message, { cause: failure });
      }
    }
  }

  private async deliver(row: OutboxRow): Promise<void> {
    const command = JSON.parse(row.command) as DerivedCommand;
    if (row.destination === this.o.region) {
      const result = await this.o.submitLocal(command);
      if (result.kind === "accepted" || result.kind === "duplicate" || result.kind === "parked") return;
      if (result.kind === "failed" && result.retryable)
        throw new DeliveryError(`inbound transfer ${command.idempotencyKey}: ${result.error}`);
      await this.o.onDerivedRejected(command, result);
      return;
    }
    let subject: string;
    try {
      subject = cmdSubject(command.position.region, command.position.location, command.position.sku);
    } catch (err) {
      await this.o.onUndeliverable(command, `no subject for the destination: ${(err as Error).message}`);
      return;
    }
    const problem = publishLimitProblem(this.o.nc, subject, Buffer.byteLength(row.command), 128);
    if (problem !== undefined) {
      await this.o.onUndeliverable(command, problem);
      return;
    }
    // The destination's intake stream deduplicates by the deterministic key.
    await this.js.publish(subject, row.command, {
      msgID: command.idempotencyKey,
      timeout: this.o.publishTimeoutMs ?? 5_000,
    });
  }
}
