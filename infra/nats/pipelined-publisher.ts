/**
 * Pipelined, acknowledged JetStream publishing: many publishes in flight (a bounded window), each with a
 * `Nats-Msg-Id` so that a retry is deduplicated by the stream, and a watermark of the longest prefix of
 * publishes that are all acknowledged.
 *
 * The relay's contract: publish items in the order of its source log, each with the item's log position;
 * persist `ackedThrough` as its checkpoint from time to time. When anything fails (NATS went away, an
 * ack timed out, the stream refused a message) the pipeline is *broken*: `publish` and `flush` throw
 * `PublishPipelineBrokenError` carrying `ackedThrough`. The caller then makes a new publisher and resumes
 * after `ackedThrough`; messages after it that did reach the stream are dropped as duplicates by
 * `Nats-Msg-Id` (within the stream's duplicate window).
 *
 * Why "break and resume" rather than "wait and retry": nats.js v3 discards its outbound buffer on every
 * (re)connect attempt (`ProtocolHandler.prepare` -> `resetOutbound`), so publishes made while NATS is away
 * are lost in the client and only show up as ack timeouts; even the first requests after a server
 * restart can time out. Order in the stream after a break is not guaranteed to be position order (a
 * message sent just before the break may land after resumed ones); consumers go by revision.
 */

import type { JetStreamClient, PubAck } from "@nats-io/jetstream";
import { jetstream } from "@nats-io/jetstream";
import type { MsgHdrs, NatsConnection } from "@nats-io/transport-node";
import { AckedPrefix } from "./acked-prefix.ts";

export type PipelinedMessage<P> = {
  subject: string;
  data: Uint8Array;
  /** `Nats-Msg-Id`: deterministic per message (`<region>:<streamId>:<revision>` for events). */
  msgId: string;
  /** The message's position in the caller's source log; opaque here, reported back as the watermark. */
  position: P;
  headers?: MsgHdrs;
};

export type PipelinedPublisherOptions<P> = {
  /** Max publishes awaiting their ack (default 1024). */
  window?: number;
  /** Time to wait for one ack before the pipeline counts as broken (default 10 s). */
  ackTimeoutMs?: number;
  /** Called for every ack, in ack order (not necessarily publish order). */
  onAck?: (position: P, ack: PubAck) => void;
};

export class PublishPipelineBrokenError<P> extends Error {
  constructor(
    /** Every message up to and including this position is stored in the stream; resume after it. */
    readonly ackedThrough: P | undefined,
    /** Messages still awaiting an ack when this error was made. */
    readonly inFlight: number,
    options: { cause: unknown },
  ) {
    super(
      `JetStream publish pipeline broken (${String((options.cause as Error)?.message ?? options.cause)}); ` +
        `acknowledged through ${ackedThrough === undefined ? "nothing" : String(ackedThrough)}`,
      options,
    );
    this.name = "PublishPipelineBrokenError";
  }
}

export class PipelinedPublisher<P = number> {
  readonly window: number;
  private readonly ackTimeoutMs: number;
  private readonly onAck: ((position: P, ack: PubAck) => void) | undefined;
  private readonly prefix = new AckedPrefix<P>();
  private pending = 0;
  private failure: unknown;
  private failed = false;
  private slotWaiters: Array<() => void> = [];
  private idleWaiters: Array<() => void> = [];
  private published = 0;
  private duplicates = 0;

  constructor(
    private readonly js: JetStreamClient,
    opts: PipelinedPublisherOptions<P> = {},
  ) {
    this.window = Math.max(1, opts.window ?? 1024);
    this.ackTimeoutMs = opts.ackTimeoutMs ?? 10_000;
    this.onAck = opts.onAck;
  }

  /** Position of the last message of the longest fully acknowledged prefix; `undefined` before the first. */
  get ackedThrough(): P | undefined {
    return this.prefix.watermark;
  }

  get inFlight(): number {
    return this.pending;
  }

  get isBroken(): boolean {
    return this.failed;
  }

  get stats(): { published: number; duplicates: number; inFlight: number } {
    return { published: this.published, duplicates: this.duplicates, inFlight: this.pending };
  }

  /**
   * Sends one message once a window slot is free. Resolves when the message is sent, not when it is
   * acknowledged (watch `ackedThrough`, or `flush()`). Throws `PublishPipelineBrokenError` when broken.
   */
  async publish(msg: PipelinedMessage<P>): Promise<void> {
    while (this.pending >= this.window && !this.failed) {
      await new Promise<void>((resolve) => this.slotWaiters.push(resolve));
    }
    if (this.failed) throw this.brokenError();
    const entry = this.prefix.track({ position: msg.position, acked: false });
    this.pending++;
    this.js
      .publish(msg.subject, msg.data, { msgID: msg.msgId, timeout: this.ackTimeoutMs, headers: msg.headers })
      .then(
        (ack) => {
          this.published++;
          if (ack.duplicate) this.duplicates++;
          entry.acked = true;
          this.prefix.advance();
          this.onAck?.(msg.position, ack);
        },
        (err: unknown) => {
          if (!this.failed) {
            this.failed = true;
            this.failure = err;
          }
        },
      )
      .finally(() => {
        this.pending--;
        this.slotWaiters.shift()?.();
        if (this.failed) for (const wake of this.slotWaiters.splice(0)) wake();
        if (this.pending === 0) for (const wake of this.idleWaiters.splice(0)) wake();
      });
  }

  /**
   * Waits until nothing is in flight; returns `ackedThrough`. Throws `PublishPipelineBrokenError` (with the
   * final watermark) if any publish failed.
   */
  async flush(): Promise<P | undefined> {
    while (this.pending > 0) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    if (this.failed) throw this.brokenError();
    return this.prefix.watermark;
  }

  private brokenError(): PublishPipelineBrokenError<P> {
    return new PublishPipelineBrokenError(this.prefix.watermark, this.pending, { cause: this.failure });
  }
}

export interface WindowedMessage {
  readonly subject: string;
  readonly data: Uint8Array;
  readonly msgID: string;
  readonly timeout?: number;
}

/**
 * nats.js acked JetStream publishes with `window` in flight. `message(i)` gives the i-th message once
 * there is room in the window; it may return a promise (a caller pacing its messages), which is
 * awaited only then, so the raw baseline pays nothing for it. Resolves once every message is acknowledged; rejects with the first
 * failure.
 */
export const publishWindowed = async (
  js: JetStreamClient,
  count: number,
  window: number,
  message: (i: number) => WindowedMessage | Promise<WindowedMessage>,
): Promise<void> => {
  let inFlight = 0;
  let error: unknown;
  let wake: (() => void) | undefined;
  const settled = () => {
    inFlight--;
    wake?.();
  };
  for (let i = 0; i < count; i++) {
    while (inFlight >= window) await new Promise<void>((resolve) => (wake = resolve));
    if (error) throw error;
    const next = message(i);
    const m = next instanceof Promise ? await next : next;
    inFlight++;
    js.publish(m.subject, m.data, { msgID: m.msgID, ...(m.timeout ? { timeout: m.timeout } : {}) }).then(
      settled,
      (err: unknown) => {
        error ??= err;
        settled();
      },
    );
  }
  while (inFlight > 0) await new Promise<void>((resolve) => (wake = resolve));
  if (error) throw error;
};

export type RawPublishMeasurement = {
  count: number;
  payloadBytes: number;
  window: number;
  elapsedMs: number;
  perSecond: number;
};

/**
 * The raw baseline of `make bench`: nats.js acked JetStream publishes of same-size messages with unique
 * msg ids, `window` in flight, straight on the client (no pipeline bookkeeping). A stream must capture
 * `subject`. Use a connection made with `noAsyncTraces: true` (as `connectNats` does) for a fair figure.
 */
export const measureRawJetStreamPublish = async (opts: {
  nc: NatsConnection;
  subject: string;
  count: number;
  payloadBytes: number;
  window?: number;
  /** JetStream domain of the stream, when not the connected server's own. */
  domain?: string;
  msgIdPrefix?: string;
}): Promise<RawPublishMeasurement> => {
  const window = opts.window ?? 1024;
  const js = jetstream(opts.nc, opts.domain ? { domain: opts.domain } : {});
  const payload = new Uint8Array(opts.payloadBytes).fill(120);
  const prefix = opts.msgIdPrefix ?? `raw-${process.pid}-${Date.now()}`;
  const started = performance.now();
  await publishWindowed(js, opts.count, window, (i) => ({
    subject: opts.subject,
    data: payload,
    msgID: `${prefix}-${i}`,
  }));
  const elapsedMs = performance.now() - started;
  return {
    count: opts.count,
    payloadBytes: opts.payloadBytes,
    window,
    elapsedMs,
    perSecond: Math.round((opts.count / elapsedMs) * 1000),
  };
};
