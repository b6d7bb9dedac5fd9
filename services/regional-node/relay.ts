/**
 * The relay (DESIGN §3.1, §3.2): tails the event store's global log from a persisted checkpoint and
 * publishes every committed event to `inv.evt.<r>.<location>.<sku>` with
 * `Nats-Msg-Id = <region>:<streamId>:<revision>`, many publishes in flight (`RelayPublisher`),
 * no `Nats-Expected-*` headers. The checkpoint is the end of the contiguous acknowledged prefix, so
 * after a crash or a NATS outage the relay resumes from it and the stream's deduplication absorbs what
 * was published twice.
 *
 * One event cannot hold it (DESIGN §3.13): an event whose publish can never succeed (a subject or a
 * message beyond the server's limits, e.g. stored before the id limits existed) is dead-lettered with
 * reason `unpublishableEvent`, recorded in node.db, and counted as passed (relay-dead-events.ts), and
 * the relay goes on. A failing publish is retried from the checkpoint with exponential backoff and
 * jitter (p-retry), one log line per step.
 *
 * The transfer process manager rides on the same tail: a `TransferShipped` at an origin position
 * leads to `recordInboundTransfer` at the destination (deterministic idempotency key, so re-deriving
 * it is a duplicate). The derived commands go to the transfer outbox in the transaction that moves
 * the transfer checkpoint, and are delivered from there (transfer-outbox.ts): a destination that
 * cannot be reached never holds the relay.
 */
import type { NatsConnection } from "@nats-io/transport-node";
import pRetry from "p-retry";
import type { Logger } from "pino";
import type { CanonicalEventOf } from "../../domain/canonical-event.ts";
import { counter, gauge } from "../../infra/metrics.ts";
import type { HandleResult } from "./handle-result.ts";
import type { NodeDb, OutboxRow } from "./node-db.ts";
import { type DeadEvent, RelayDeadEvents } from "./relay-dead-events.ts";
import { RelayLogReader, type RelayStore } from "./relay-log-reader.ts";
import { msgIdHeaderBytes, publishLimitProblem, RelayPublisher } from "./relay-publisher.ts";
import {
  type DerivedCommand,
  inboundTransferRow,
  TransferOutbox,
  type TransferOutboxOptions,
} from "./transfer-outbox.ts";

const relayed = counter("stockline_node_relayed_events_total", "Events relayed to INV_EVT", ["region"]);
const relayLag = gauge(
  "stockline_node_relay_lag_events",
  "Committed events not yet acknowledged by INV_EVT",
  ["region"],
);

export type { DeadEvent } from "./relay-dead-events.ts";

export interface RelayOptions {
  readonly region: string;
  readonly nc: NatsConnection;
  readonly store: RelayStore;
  readonly nodeDb: NodeDb;
  readonly window: number;
  readonly batch: number;
  readonly checkpointEveryMs: number;
  readonly logger: Logger;
  /** Decides a derived command locally (destination in this region). */
  readonly submitLocal: (command: DerivedCommand) => Promise<HandleResult>;
  /** Reports a derived command the destination refused (dead letter); must resolve once durable. */
  readonly onDerivedRejected: (command: DerivedCommand, result: HandleResult) => Promise<void>;
  /**
   * Dead-letters an event the relay passes without publishing it (`unpublishableEvent`) or whose
   * transfer it cannot derive or deliver (`transferDispatchFailed`); must resolve once durable.
   * Without it such an event is only logged and recorded in node.db.
   */
  readonly onDeadEvent?: (dead: DeadEvent) => Promise<void>;
  /** The server's control line limit (default nats-server's 4096 bytes; INFO does not tell it). */
  readonly maxControlLine?: number;
  /** Backoff of the relay after a failed publish (default 100 ms doubling up to 5 s). */
  readonly backoff?: { readonly minMs?: number; readonly maxMs?: number };
  /** Backoff of the transfer outbox per destination (default 250 ms doubling up to 30 s). */
  readonly outboxBackoff?: TransferOutboxOptions["backoff"];
}

/** What the relay has against what the store has, for freshness (node-status.ts). */
export interface RelayProgress {
  /** Highest global position committed to the store, as far as the relay was told. */
  readonly storeHead: number;
  /** Every event up to here is in `INV_EVT_<R>` (or dead-lettered). */
  readonly relayAcked: number;
  /** Recorded time (ms) of the first event not yet relayed; undefined when caught up. */
  readonly behindSince?: number;
}

const delay = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const ignore = () => {};

export class Relay {
  readonly outbox: TransferOutbox;
  private readonly log: Logger;
  private readonly relayName: string;
  private readonly transferName: string;
  private stopped = false;
  private wake: (() => void) | undefined;
  private unsubscribe: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  private current: Promise<void> | undefined;
  /** Cuts a backoff short on stop. */
  private readonly abort = new AbortController();
  /** Highest global position the store told us about. */
  private known = 0;
  private ackedThrough = 0;
  private transferCheckpoint = 0;
  private lastSaved = 0;
  private savedRelay = -1;
  private savedTransfer = -1;
  private drainWaiters: Array<() => void> = [];
  private readonly reader: RelayLogReader;
  private readonly dead: RelayDeadEvents;
  /** A commit of ours came while the relay was not waiting for one (it was publishing or settling). */
  private committedUnseen = false;

  constructor(private readonly o: RelayOptions) {
    this.log = o.logger.child({ component: "relay", region: o.region });
    this.relayName = `relay:${o.region}`;
    this.transferName = `transfers:${o.region}`;
    this.reader = new RelayLogReader(o.region, o.store, o.batch);
    this.dead = new RelayDeadEvents(o.region, o.nodeDb, this.log, o.onDeadEvent);
    this.outbox = new TransferOutbox({
      region: o.region,
      nc: o.nc,
      nodeDb: o.nodeDb,
      logger: o.logger,
      submitLocal: o.submitLocal,
      onDerivedRejected: o.onDerivedRejected,
      onUndeliverable: (command, why) => {
        const data = JSON.stringify(command);
        return this.dead.send({
          reason: "transferDispatchFailed",
          why,
          data,
          bytes: Buffer.byteLength(data),
        });
      },
      ...(o.outboxBackoff ? { backoff: o.outboxBackoff } : {}),
    });
  }

  get checkpoint(): number {
    return this.ackedThrough;
  }

  start(): void {
    this.ackedThrough = this.o.nodeDb.getCheckpointSync(this.relayName) ?? 0;
    this.transferCheckpoint = this.o.nodeDb.getCheckpointSync(this.transferName) ?? 0;
    this.known = Math.max(this.ackedThrough, this.transferCheckpoint);
    this.reader.start();
    this.unsubscribe = this.o.store.onAppended((p) => {
      if (p > this.known) this.known = p;
      if (this.wake) this.wake();
      else this.committedUnseen = true;
    });
    this.outbox.start();
    this.loop = this.run();
  }

  /**
   * Resolves true once the relay found nothing more to read after everything it published was
   * acknowledged, and the commands it derived for this region were handled (call after the runtime
   * drained: then everything committed is in the stream). Commands for other regions stay in the
   * outbox, durable.
   */
  async drain(timeoutMs = 30_000): Promise<boolean> {
    if (this.stopped) return false;
    const deadline = Date.now() + timeoutMs;
    const caughtUp = new Promise<boolean>((r) => this.drainWaiters.push(() => r(true)));
    this.wake?.();
    if (!(await Promise.race([caughtUp, delay(timeoutMs).then(() => false)]))) return false;
    return this.outbox.drainLocal(Math.max(0, deadline - Date.now()));
  }

  /** The store's head against what the relay has published (one read of the store when behind). */
  async progress(): Promise<RelayProgress> {
    const storeHead = Math.max(this.known, this.ackedThrough);
    const relayAcked = this.ackedThrough;
    if (relayAcked >= storeHead) return { storeHead, relayAcked };
    const behindSince = (await this.reader.recordedTimeAfter(relayAcked)) ?? Date.now();
    return { storeHead, relayAcked, behindSince };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort(new Error("relay stopped"));
    this.unsubscribe?.();
    this.reader.stop();
    this.wake?.();
    await this.loop;
    await this.current;
    await this.outbox.stop();
    this.saveCheckpoints(true);
  }

  private saveCheckpoints(force = false): void {
    const now = Date.now();
    if (!force && now - this.lastSaved < this.o.checkpointEveryMs) return;
    relayLag.set({ region: this.o.region }, Math.max(0, this.known - this.ackedThrough));
    if (this.ackedThrough === this.savedRelay && this.transferCheckpoint === this.savedTransfer) return;
    this.lastSaved = now;
    this.savedRelay = this.ackedThrough;
    this.savedTransfer = this.transferCheckpoint;
    this.o.nodeDb.saveCheckpoints(
      [
        [this.relayName, this.ackedThrough],
        [this.transferName, this.transferCheckpoint],
      ],
      // The throttled saves under load skip their fsync (node-db.ts); forced ones (stop, break) sync.
      { relaxed: !force },
    );
  }

  /**
   * Publishes until stopped. A failure resumes from the checkpoint after a backoff that grows while
   * no progress is made (p-retry) and starts over once the relay moved on.
   */
  private async run(): Promise<void> {
    while (!this.stopped) {
      try {
        await pRetry(
          async () => {
            this.current = this.runOnce();
            await this.current;
          },
          {
            forever: true,
            factor: 2,
            minTimeout: this.o.backoff?.minMs ?? 100,
            maxTimeout: this.o.backoff?.maxMs ?? 5_000,
            randomize: true,
            signal: this.abort.signal,
            onFailedAttempt: (err) => {
              if (this.stopped) throw err; // no retry after stop
              this.log.warn(
                { err: err.message, attempt: err.attemptNumber, ackedThrough: this.ackedThrough },
                "relay publish failed; resuming from checkpoint after a backoff",
              );
            },
          },
        );
      } catch (err) {
        if (this.stopped) break;
        this.log.error({ err }, "relay loop failed");
        await delay(this.o.backoff?.maxMs ?? 5_000);
      }
    }
  }

  /** One run of the pipeline; throws on a failure that made no progress (so the backoff grows). */
  private async runOnce(): Promise<void> {
    const before = this.ackedThrough;
    const publisher = new RelayPublisher<number>(this.o.nc, { window: this.o.window, ackTimeoutMs: 5_000 });
    try {
      await this.pump(publisher);
      await this.settle(publisher);
    } catch (err) {
      await this.settle(publisher).catch(() => {});
      this.saveCheckpoints(true);
      if (this.stopped) return;
      await this.waitForNats();
      if (this.ackedThrough > before) {
        this.log.warn(
          { err: (err as Error).message, ackedThrough: this.ackedThrough },
          "relay publish pipeline broken after progress; resuming from checkpoint",
        );
        return;
      }
      // p-retry gives up on a TypeError; every failure here is one to retry.
      throw err instanceof TypeError ? new Error(err.message, { cause: err }) : err;
    } finally {
      publisher.close();
    }
  }

  /** Waits for in-flight publishes and folds the watermark into the checkpoint. */
  private async settle(publisher: RelayPublisher<number>): Promise<void> {
    try {
      await publisher.flush();
    } finally {
      const w = publisher.ackedThrough;
      if (w !== undefined && w > this.ackedThrough) this.ackedThrough = w;
    }
  }

  private async pump(publisher: RelayPublisher<number>): Promise<void> {
    let pos = Math.min(this.ackedThrough, this.transferCheckpoint);
    while (!this.stopped) {
      const batch = await this.reader.read(pos, this.known);
      if (batch.length === 0) {
        // Caught up. A commit landing while acks are in flight is published at once, not after them.
        if (publisher.inFlight > 0 && (await this.waitForCommit(publisher.whenIdle()))) continue;
        await this.settle(publisher);
        // Throttled like the busy path: under light load the relay goes idle after nearly every
        // commit, and a forced save here was one synchronous FULL fsync of node.db per commit on the
        // event loop (measured: ~19% of the main thread at 1200 commands/s). The checkpoint only
        // bounds what is republished after a crash (deduplicated by Nats-Msg-Id); stop() forces it.
        this.saveCheckpoints();
        for (const w of this.drainWaiters.splice(0)) w();
        // Woken by our own commits; the timeout catches other writers of a shared store (and saves
        // a checkpoint the throttle held back).
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<void>((resolve) => {
          timer = setTimeout(resolve, 250);
        });
        if (!(await this.waitForCommit(timeout))) this.reader.markStoreUnread();
        clearTimeout(timer);
        continue;
      }
      const derived: OutboxRow[] = [];
      for (const e of batch) {
        if (e.globalPosition > this.ackedThrough) {
          const msgId = `${this.o.region}:${e.streamId}:${e.revision}`;
          const problem =
            e.problem ??
            publishLimitProblem(
              this.o.nc,
              e.subject!,
              e.body.length,
              msgIdHeaderBytes(msgId),
              this.o.maxControlLine,
            );
          if (problem !== undefined) await this.dead.skipUnpublishable(publisher, e, problem);
          else {
            const msg = { subject: e.subject!, data: e.body, msgId, position: e.globalPosition };
            // Published back to back while the window has room, so nats.js writes them to the socket
            // together; only a full window (or a broken pipeline, which throws) is awaited. A failure
            // of a publish not awaited here breaks the pipeline, and the next publish or flush throws.
            if (publisher.inFlight < publisher.window && !publisher.isBroken)
              publisher.publish(msg).catch(ignore);
            else await publisher.publish(msg);
          }
        }
        if (e.type === "TransferShipped" && e.globalPosition > this.transferCheckpoint) {
          try {
            derived.push(
              inboundTransferRow(e.event() as CanonicalEventOf<"TransferShipped">, e.globalPosition),
            );
          } catch (err) {
            const why = (err as Error).message;
            await this.dead.send({ ...this.dead.of(e), reason: "transferDispatchFailed", why });
          }
        }
      }
      const last = batch[batch.length - 1]!.globalPosition;
      if (last > this.known) this.known = last;
      relayed.inc({ region: this.o.region }, batch.length);
      if (last > this.transferCheckpoint) {
        if (derived.length > 0) {
          // The commands and the checkpoint past their events in one transaction (nothing lost on kill -9).
          this.o.nodeDb.enqueueOutbox(derived, [this.transferName, last]);
          for (const d of new Set(derived.map((r) => r.destination))) this.outbox.notify(d);
        }
        this.transferCheckpoint = last;
      }
      pos = last;
      const w = publisher.ackedThrough;
      if (w !== undefined && w > this.ackedThrough) this.ackedThrough = w;
      this.saveCheckpoints();
    }
  }

  /**
   * Resolves true on a commit of ours (or at once if one came while the relay was not waiting), false
   * when `until` settles first.
   */
  private async waitForCommit(until: Promise<unknown>): Promise<boolean> {
    if (this.committedUnseen) {
      this.committedUnseen = false;
      return true;
    }
    const woken = await new Promise<boolean>((resolve) => {
      this.wake = () => resolve(true);
      void until.then(() => resolve(false));
    });
    this.wake = undefined;
    return woken;
  }

  private async waitForNats(): Promise<void> {
    while (!this.stopped) {
      try {
        await Promise.race([
          this.o.nc.flush(),
          delay(1_000).then(() => {
            throw new Error("flush timeout");
          }),
        ]);
        if (!this.o.nc.isClosed()) return;
      } catch {
        // still down
      }
      await delay(250);
    }
  }
}
