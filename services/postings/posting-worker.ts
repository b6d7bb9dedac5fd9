/**
 * Posts committed events to one target: a durable JetStream pull consumer on `INV_EVT_<R>`
 * (`postings-<target>`), one per target and region, posting in stream order.
 *
 * - Routing decides whether the event is the target's business; an echo (the target owns the
 *   movement) is recorded as `skipped` with the reason, never posted.
 * - Every outcome goes to the postings ledger before the JetStream message is acknowledged; a
 *   redelivered message whose posting is already acked is acknowledged without posting again.
 * - Calls go through the target's circuit breaker (opossum). While it is open, postings wait:
 *   the message is kept (and told `working()` so JetStream does not redeliver it meanwhile); it is
 *   acknowledged only when the target acknowledged the posting or it was dead-lettered.
 * - Unavailable targets cost the event nothing; server errors are retried with exponential backoff
 *   and dead-lettered after `maxAttempts`; a refusal of the document is dead-lettered at once.
 *   A dead letter goes to the ledger and to `inv.dlq.<r>.posting-failed` with its business context.
 * - Redelivery is bounded (infra/nats/redelivery.ts): an event whose handling throws (not a target's
 *   answer: the ledger, routing, a connector's transform) is given back with a doubling delay, and at
 *   its `max_deliver`-th delivery dead-lettered (`errorClass: redeliveryExhausted`) and terminated.
 */
import {
  AckPolicy,
  DeliverPolicy,
  type JetStreamClient,
  type JsMsg,
  jetstream,
  jetstreamManager,
} from "@nats-io/jetstream";
import { type NatsConnection, nanos, headers as natsHeaders } from "@nats-io/transport-node";
import type { Logger } from "pino";
import { type CanonicalEvent, decodeCanonicalEvent } from "../../domain/canonical-event.ts";
import { formatDecodeErrors } from "../../domain/decode-errors.ts";
import { positionStreamId } from "../../domain/ids.ts";
import { type RoutingConfig, routeEvent } from "../../domain/routing-rules.ts";
import { LogLimiter } from "../../infra/logging.ts";
import { counter, gauge, histogram } from "../../infra/metrics.ts";
import {
  DEFAULT_MAX_DELIVER,
  type GiveBackPolicy,
  giveBack,
  type RedeliveryBackoff,
} from "../../infra/nats/redelivery.ts";
import { dlqSubject, evtStreamName, evtWildcard } from "../../infra/nats/subjects.ts";
import { observeSyncSeconds } from "../../infra/sync-metrics.ts";
import { targetStockEffect } from "../../projections/reconciliation.ts";

// The target's breaker and the service over the workers live in their own files; importers of
// this one keep finding them here.
export { type BreakerOptions, type GuardedTarget, guardTarget } from "./guarded-target.ts";
export { type PostingService, postingService, type RetryOutcome } from "./posting-service.ts";

import type { GuardedTarget } from "./guarded-target.ts";
import { reportWorkerStatus, type WorkerStatusReporter } from "./posting-worker-status.ts";
import type { PostingRow, PostingsLedger } from "./postings-ledger.ts";
import { type ItemResult, TargetUnavailableError } from "./target-connector.ts";

export const POSTING_FAILED_REASON = "posting-failed";

const postingsTotal = counter("stockline_postings_total", "Posting outcomes per target", [
  "target",
  "outcome",
]);
const postingLatency = histogram(
  "stockline_posting_latency_seconds",
  "Business time of an event to its acknowledgement by the target",
  ["target"],
  [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 86_400],
);
const postingCall = histogram("stockline_posting_call_seconds", "Duration of one call to a target", [
  "target",
]);
const deadLetters = gauge("stockline_dead_letters", "Postings dead-lettered and not yet replayed", [
  "target",
]);

export interface PostingWorkerOptions {
  readonly nc: NatsConnection;
  readonly region: string;
  readonly target: GuardedTarget;
  readonly routing: RoutingConfig;
  readonly ledger: PostingsLedger;
  readonly logger: Logger;
  /** JetStream domain of the region (when the connection is not the region's own server). */
  readonly domain?: string;
  /** Durable consumer name (default `postings-<target>`). */
  readonly durableName?: string;
  /** Charged failures before a dead letter (default 6). */
  readonly maxAttempts?: number;
  readonly backoff?: { readonly initialMs?: number; readonly maxMs?: number };
  /** Ack wait of the consumer (default 10 s; messages being worked on are kept with `working()`). */
  readonly ackWaitMs?: number;
  readonly fetchBatch?: number;
  /**
   * Independent lanes of postings (default 4). A SKU always posts in the same lane, in stream order,
   * at every location (a transfer's issue reaches the ERP before its receipt, which the ERP would
   * refuse first as a deficit); a document the ERP keeps refusing holds only its lane.
   */
  readonly lanes?: number;
  /** Deliveries of an event before it is dead-lettered (default `DEFAULT_MAX_DELIVER`). */
  readonly maxDeliver?: number;
  readonly redeliveryBackoff?: RedeliveryBackoff;
  /** How often the events not yet read are counted into the ledger for the summary (default 1 s). */
  readonly backlogSampleMs?: number;
}

/** The lane of a SKU: a stable hash (FNV-1a) of its id. */
export const laneOf = (sku: string, lanes: number): number => {
  let h = 0x811c9dc5;
  for (let i = 0; i < sku.length; i++) h = Math.imul(h ^ sku.charCodeAt(i), 0x01000193);
  return (h >>> 0) % lanes;
};

interface WorkItem {
  readonly msg?: JsMsg;
  readonly key: string;
  readonly event: CanonicalEvent;
  readonly payload: unknown;
  row: PostingRow;
}

export type ReplayOutcome =
  | { readonly outcome: "acked"; readonly posting: PostingRow; readonly duplicate: boolean }
  | { readonly outcome: "failed"; readonly posting: PostingRow; readonly error: string }
  | { readonly outcome: "not-dead"; readonly posting: PostingRow }
  | { readonly outcome: "unknown" };

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export const postingKey = (event: CanonicalEvent): string =>
  `${event.position.region}:${positionStreamId(event.position)}:${event.revision}`;

export class PostingWorker {
  private readonly js: JetStreamClient;
  private readonly durable: string;
  private readonly maxAttempts: number;
  private readonly initialBackoff: number;
  private readonly maxBackoff: number;
  private readonly ackWaitMs: number;
  private readonly log: Logger;
  /** Errors of one kind are counted, not each logged. */
  private readonly limited: LogLimiter;
  private readonly redelivery: GiveBackPolicy;
  private stopped = false;
  private loop: Promise<void> | undefined;
  private status: WorkerStatusReporter | undefined;

  constructor(private readonly opts: PostingWorkerOptions) {
    this.js = jetstream(opts.nc, opts.domain ? { domain: opts.domain } : {});
    this.durable = opts.durableName ?? `postings-${opts.target.connector.id}`;
    this.maxAttempts = opts.maxAttempts ?? 6;
    this.initialBackoff = opts.backoff?.initialMs ?? 200;
    this.maxBackoff = opts.backoff?.maxMs ?? 30_000;
    this.ackWaitMs = opts.ackWaitMs ?? 10_000;
    this.log = opts.logger.child({ target: opts.target.connector.id, region: opts.region });
    this.limited = new LogLimiter(this.log);
    this.redelivery = {
      maxDeliver: opts.maxDeliver ?? DEFAULT_MAX_DELIVER,
      ...(opts.redeliveryBackoff ? { backoff: opts.redeliveryBackoff } : {}),
      onExhausted: (msg, lastError, deliveries) => this.deadLetterExhausted(msg, lastError, deliveries),
    };
    deadLetters.set({ target: this.targetId }, opts.ledger.deadCount(this.targetId));
  }

  get targetId(): string {
    return this.opts.target.connector.id;
  }

  /** The target behind its breaker (shared with the workers of other regions). */
  get target(): GuardedTarget {
    return this.opts.target;
  }

  /** Creates the durable consumer if needed and starts posting. */
  async start(): Promise<void> {
    const jsm = await jetstreamManager(this.opts.nc, this.opts.domain ? { domain: this.opts.domain } : {});
    const stream = evtStreamName(this.opts.region);
    try {
      const info = await jsm.consumers.info(stream, this.durable);
      // Consumers made before redelivery was bounded had max_deliver -1.
      if (
        info.config.ack_wait !== nanos(this.ackWaitMs) ||
        info.config.max_deliver !== this.redelivery.maxDeliver
      )
        await jsm.consumers.update(stream, this.durable, {
          ack_wait: nanos(this.ackWaitMs),
          max_deliver: this.redelivery.maxDeliver,
        });
    } catch {
      await jsm.consumers.add(stream, {
        durable_name: this.durable,
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.All,
        filter_subject: evtWildcard(this.opts.region),
        ack_wait: nanos(this.ackWaitMs),
        max_deliver: this.redelivery.maxDeliver,
        max_ack_pending: 10_000,
      });
    }
    const consumer = await this.js.consumers.get(stream, this.durable);
    this.status = reportWorkerStatus({
      ledger: this.opts.ledger,
      target: this.opts.target,
      jsm,
      stream,
      durable: this.durable,
      region: this.opts.region,
      everyMs: this.opts.backlogSampleMs ?? 1_000,
      logger: this.log,
    });
    this.loop = (async () => {
      while (!this.stopped) {
        const msgs: JsMsg[] = [];
        try {
          try {
            const batch = await consumer.fetch({ max_messages: this.opts.fetchBatch ?? 100, expires: 1_000 });
            for await (const m of batch) msgs.push(m);
          } catch (err) {
            // A fetch can end in an error after it delivered messages (nats.js stops it when two idle
            // heartbeats seem missed, which a busy event loop fakes). Those messages are ours: post
            // them now rather than leave them to come back after the ack wait.
            if (this.stopped) break;
            this.log.warn({ err, delivered: msgs.length }, "fetch ended early; posting what it delivered");
          }
          if (msgs.length > 0) await this.handle(msgs);
        } catch (err) {
          if (this.stopped) break;
          this.limited.error("loop error", { err }, "posting loop error; retrying");
          // Give back what was not acknowledged (the rest is left), bounded by max_deliver.
          const error = (err as Error)?.message ?? String(err);
          await Promise.all(msgs.map((m) => giveBack(m, error, this.redelivery).catch(() => {})));
          await sleep(500);
        }
      }
    })();
  }

  /** Stops fetching; messages being worked on are left unacknowledged (redelivered later). */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
    await this.status?.stop();
    this.limited.stop();
  }

  private async handle(msgs: JsMsg[]): Promise<void> {
    // The whole batch stays ours while it is worked on (breaker waits, backoff, a slow target), so
    // the ack wait can be short: a message stranded by a broken fetch comes back within it.
    const beat = setInterval(() => {
      for (const m of msgs) m.working();
    }, this.ackWaitMs / 3);
    try {
      await this.handleBatch(msgs);
    } finally {
      clearInterval(beat);
    }
  }

  private async handleBatch(msgs: JsMsg[]): Promise<void> {
    const work: WorkItem[] = [];
    for (const msg of msgs) {
      try {
        const item = await this.prepare(msg);
        if (item) work.push(item);
      } catch (err) {
        // This event's own failure (routing, ledger, transform): the others of the batch go on.
        this.limited.error(
          "not prepared",
          { err, seq: msg.seq, subject: msg.subject },
          "event could not be prepared for posting; it is given back",
        );
        await giveBack(msg, (err as Error)?.message ?? String(err), this.redelivery);
      }
    }
    const connector = this.opts.target.connector;
    const lanes: WorkItem[][] = Array.from({ length: Math.max(1, this.opts.lanes ?? 4) }, () => []);
    for (const w of work) lanes[laneOf(w.event.position.sku, lanes.length)]!.push(w);
    await Promise.all(
      lanes.map(async (lane) => {
        for (let i = 0; i < lane.length; i += connector.maxBatch)
          await this.postWithRetry(lane.slice(i, i + connector.maxBatch), { wait: true });
      }),
    );
  }

  /** Routes one event and opens its posting; the item to post, or undefined when it was settled here. */
  private async prepare(msg: JsMsg): Promise<WorkItem | undefined> {
    const connector = this.opts.target.connector;
    const decoded = (() => {
      try {
        return decodeCanonicalEvent(msg.json());
      } catch (err) {
        return {
          _tag: "Left" as const,
          left: [{ path: "", value: msg.string().slice(0, 80), expected: "JSON", message: String(err) }],
        };
      }
    })();
    if (decoded._tag === "Left") {
      // Not a canonical event: nothing to post; tell the operator, never drop silently.
      await this.publishDeadLetter(
        {
          reason: POSTING_FAILED_REASON,
          target: this.targetId,
          region: this.opts.region,
          error: `undecodable event on ${msg.subject}: ${formatDecodeErrors(decoded.left)}`,
          errorClass: "undecodable",
          subject: msg.subject,
          streamSequence: msg.seq,
        },
        `undecodable:${this.targetId}:${msg.seq}`,
      );
      msg.ack();
      return undefined;
    }
    const event = decoded.right;
    const key = msg.headers?.get("Nats-Msg-Id") || postingKey(event);
    const decision = routeEvent(this.opts.routing, event);
    const echo = decision.suppressed.find((s) => s.target === this.targetId);
    if (echo) {
      const row = this.opts.ledger.open({
        key,
        target: this.targetId,
        event,
        effect: targetStockEffect(event),
      });
      if (row.status === "pending") this.opts.ledger.markSkipped(row.id, echo.reason);
      postingsTotal.inc({ target: this.targetId, outcome: "echo-suppressed" });
      msg.ack();
      return undefined;
    }
    if (!decision.deliver.includes(this.targetId)) {
      msg.ack();
      return undefined;
    }
    const row = this.opts.ledger.open({
      key,
      target: this.targetId,
      event,
      effect: targetStockEffect(event),
    });
    if (row.status === "acked" || row.status === "skipped") {
      msg.ack();
      return undefined;
    }
    if (row.status === "dead") {
      // Dead-lettered before the message was acknowledged (crash in between): make sure the
      // dead letter was published, then let the message go.
      await this.publishDeadLetter(
        this.deadLetterBody(row, event),
        `${POSTING_FAILED_REASON}:${this.targetId}:${key}:${row.replays}`,
      );
      msg.ack();
      return undefined;
    }
    const transform = connector.transform(event, key);
    if (transform.kind === "skip") {
      this.opts.ledger.markSkipped(row.id, transform.reason);
      postingsTotal.inc({ target: this.targetId, outcome: "skipped" });
      msg.ack();
      return undefined;
    }
    if (transform.kind === "reject") {
      await this.deadLetter({ msg, key, event, payload: undefined, row }, transform.reason, "unmappable");
      return undefined;
    }
    return { msg, key, event, payload: transform.payload, row };
  }

  /** An event that kept failing before it could be posted: a posting dead letter, then it is let go. */
  private async deadLetterExhausted(msg: JsMsg, lastError: string, deliveries: number): Promise<boolean> {
    try {
      await this.publishDeadLetter(
        {
          reason: POSTING_FAILED_REASON,
          target: this.targetId,
          region: this.opts.region,
          error: `not posted after ${deliveries} deliveries; last error: ${lastError}`,
          errorClass: "redeliveryExhausted",
          subject: msg.subject,
          streamSequence: msg.seq,
        },
        `exhausted:${this.targetId}:${msg.seq}`,
      );
      return true;
    } catch (err) {
      this.log.error({ err, seq: msg.seq }, "exhausted event: dead letter not stored");
      return false;
    }
  }

  /**
   * Posts until every item is acknowledged or dead-lettered. With `wait: false` (a replay) one call
   * is made and an unavailable target leaves the item as it was.
   */
  private async postWithRetry(
    items: WorkItem[],
    mode: { wait: boolean },
  ): Promise<Map<string, ItemResult | string>> {
    const outcomes = new Map<string, ItemResult | string>();
    const { breaker } = this.opts.target;
    let pending = items;
    let backoff = this.initialBackoff;
    while (pending.length > 0) {
      if (this.stopped && mode.wait) return outcomes;
      if (breaker.opened && mode.wait) {
        await sleep(100);
        continue;
      }
      const started = performance.now();
      let results: ItemResult[];
      try {
        results = await breaker.fire(pending.map((p) => ({ key: p.key, payload: p.payload })));
      } catch (err) {
        const callMs = Math.round(performance.now() - started);
        // The breaker refused the call without making it (open, or its half-open trial is taken).
        const refused = ["EOPENBREAKER", "ESEMLOCKED", "ESHUTDOWN"].includes(
          (err as { code?: string }).code ?? "",
        );
        if (refused) {
          if (!mode.wait) {
            for (const p of pending) outcomes.set(p.key, `${this.targetId} circuit breaker is open`);
            return outcomes;
          }
          await sleep(100);
          continue;
        }
        const unavailable = err instanceof TargetUnavailableError;
        const errorClass = unavailable ? "unavailable" : "failed";
        const message = (err as Error).message;
        postingCall.observe({ target: this.targetId }, callMs / 1000);
        const delay = backoff * (0.75 + Math.random() / 2);
        const nextAttemptAt = mode.wait ? new Date(Date.now() + delay).toISOString() : undefined;
        if (!unavailable && mode.wait && pending.length > 1) {
          // A failure of the whole call does not say which item caused it: post the halves on their
          // own (uncharged for now), so one bad item ends alone in the dead letters instead of
          // taking a bulk of good ones with it.
          for (const p of pending)
            p.row = this.opts.ledger.markFailed(p.row.id, {
              error: message,
              errorClass,
              callMs,
              charged: false,
              ...(nextAttemptAt ? { nextAttemptAt } : {}),
            });
          postingsTotal.inc({ target: this.targetId, outcome: "retry-split" }, pending.length);
          this.log.warn(
            { err: message, items: pending.length },
            "bulk posting failed; posting its halves apart",
          );
          await sleep(delay);
          const half = Math.ceil(pending.length / 2);
          for (const part of [pending.slice(0, half), pending.slice(half)])
            for (const [k, v] of await this.postWithRetry(part, mode)) outcomes.set(k, v);
          return outcomes;
        }
        const next: WorkItem[] = [];
        for (const p of pending) {
          p.row = this.opts.ledger.markFailed(p.row.id, {
            error: message,
            errorClass,
            callMs,
            charged: !unavailable,
            ...(nextAttemptAt ? { nextAttemptAt } : {}),
          });
          postingsTotal.inc({ target: this.targetId, outcome: `retry-${errorClass}` });
          outcomes.set(p.key, message);
          if (!unavailable && p.row.chargedFailures >= this.maxAttempts) {
            await this.deadLetter(p, `${message} (after ${p.row.attempts} attempts)`, errorClass);
          } else next.push(p);
        }
        pending = next;
        if (!mode.wait) {
          for (const p of pending) this.opts.ledger.markDead(p.row.id, { error: message, errorClass });
          return outcomes;
        }
        this.log.warn(
          { err: message, errorClass, waiting: pending.length, backoffMs: backoff },
          "posting failed; retrying",
        );
        await sleep(delay);
        backoff = Math.min(backoff * 2, this.maxBackoff);
        continue;
      }
      const callMs = Math.round(performance.now() - started);
      postingCall.observe({ target: this.targetId }, callMs / 1000);
      const next: WorkItem[] = [];
      for (const [i, p] of pending.entries()) {
        const r = results[i] ?? { ok: false, error: "no result for this item" };
        outcomes.set(p.key, r);
        if (r.ok) {
          p.row = this.opts.ledger.markAcked(p.row.id, {
            documentId: r.documentId,
            duplicate: r.duplicate,
            callMs,
          });
          postingsTotal.inc({ target: this.targetId, outcome: "acked" });
          if (p.row.latencyMs !== null) {
            postingLatency.observe({ target: this.targetId }, p.row.latencyMs / 1000);
            observeSyncSeconds("posted", this.opts.region, p.row.latencyMs / 1000);
          }
          this.log.debug(
            {
              key: p.key,
              document: r.documentId,
              duplicate: r.duplicate,
              correlationId: p.event.correlationId,
              sku: p.event.position.sku,
              location: p.event.position.location,
            },
            "posted",
          );
          p.msg?.ack();
        } else {
          p.row = this.opts.ledger.markFailed(p.row.id, {
            error: r.error,
            errorClass: "rejected",
            callMs,
            charged: true,
          });
          await this.deadLetter(p, r.error, "rejected");
        }
      }
      pending = next;
    }
    return outcomes;
  }

  private deadLetterBody(row: PostingRow, event: CanonicalEvent) {
    return {
      reason: POSTING_FAILED_REASON,
      target: row.target,
      region: row.region,
      postingId: row.id,
      eventKey: row.eventKey,
      eventId: row.eventId,
      eventType: row.eventType,
      position: event.position,
      quantity: event.quantity,
      effect: row.effect,
      source: event.source,
      documents: event.documents,
      correlationId: row.correlationId,
      businessTime: row.businessTime,
      attempts: row.attempts,
      errorClass: row.errorClass,
      error: row.lastError,
      deadAt: row.deadAt,
      event,
    };
  }

  private async publishDeadLetter(body: Record<string, unknown>, msgID: string): Promise<void> {
    const h = natsHeaders();
    h.set("Stockline-Reason", POSTING_FAILED_REASON);
    if (typeof body.target === "string") h.set("Stockline-Target", body.target);
    await this.js.publish(dlqSubject(this.opts.region, POSTING_FAILED_REASON), JSON.stringify(body), {
      msgID,
      headers: h,
    });
  }

  private async deadLetter(p: WorkItem, error: string, errorClass: string): Promise<void> {
    p.row = this.opts.ledger.markDead(p.row.id, { error, errorClass });
    postingsTotal.inc({ target: this.targetId, outcome: "dead" });
    deadLetters.set({ target: this.targetId }, this.opts.ledger.deadCount(this.targetId));
    this.log.error(
      {
        key: p.key,
        error,
        errorClass,
        correlationId: p.event.correlationId,
        sku: p.event.position.sku,
        location: p.event.position.location,
      },
      "posting dead-lettered",
    );
    await this.publishDeadLetter(
      this.deadLetterBody(p.row, p.event),
      `${POSTING_FAILED_REASON}:${this.targetId}:${p.key}:${p.row.replays}`,
    );
    p.msg?.ack();
  }

  /**
   * Replays a dead letter: one call with the same idempotency key (the target answers the first
   * document if it had applied it already), then acked or dead again.
   */
  async replay(postingId: number): Promise<ReplayOutcome> {
    const row = this.opts.ledger.byId(postingId);
    if (!row || row.target !== this.targetId) return { outcome: "unknown" };
    if (row.status !== "dead") return { outcome: "not-dead", posting: row };
    const event = this.opts.ledger.eventOf(postingId)!;
    const transform = this.opts.target.connector.transform(event, row.eventKey);
    if (transform.kind !== "post") {
      return {
        outcome: "failed",
        posting: row,
        error: transform.kind === "reject" ? transform.reason : transform.reason,
      };
    }
    const replaying = this.opts.ledger.markReplaying(postingId);
    const item: WorkItem = { key: row.eventKey, event, payload: transform.payload, row: replaying };
    const outcomes = await this.postWithRetry([item], { wait: false });
    const final = this.opts.ledger.byId(postingId)!;
    if (final.status !== "dead" && final.status !== "acked")
      this.opts.ledger.markDead(postingId, {
        error: final.lastError ?? "replay failed",
        errorClass: final.errorClass ?? "failed",
      });
    deadLetters.set({ target: this.targetId }, this.opts.ledger.deadCount(this.targetId));
    const after = this.opts.ledger.byId(postingId)!;
    const r = outcomes.get(row.eventKey);
    if (after.status === "acked") {
      postingsTotal.inc({ target: this.targetId, outcome: "replayed" });
      return {
        outcome: "acked",
        posting: after,
        duplicate: typeof r === "object" && r.ok ? r.duplicate : false,
      };
    }
    return {
      outcome: "failed",
      posting: after,
      error: after.lastError ?? (typeof r === "string" ? r : "failed"),
    };
  }
}
