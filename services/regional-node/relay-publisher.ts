/**
 * The relay's acknowledged, pipelined JetStream publishing, on core NATS: each event is published
 * with a reply subject under one inbox this publisher subscribes to, and the stream's ack arrives
 * there. Same contract as `PipelinedPublisher` (infra/nats): a bounded window, `ackedThrough` as the
 * watermark of the longest acknowledged prefix, and "break and resume" on any failure (timeout, a
 * refused message, no stream): `publish` and `flush` then throw `PublishPipelineBrokenError`.
 *
 * Why not `js.publish`: nats.js makes, for every request, a timer, several promises and an Error
 * (`RequestError("cancelled")`, with its stack) even when the ack arrives; at thousands of events a
 * second that was a tenth of the node's CPU. Here one subscription and one interval serve them all.
 */
import {
  createInbox,
  type Msg,
  headers as makeHeaders,
  type NatsConnection,
  type Subscription,
} from "@nats-io/transport-node";
import { AckedPrefix, type TrackedMessage } from "../../infra/nats/acked-prefix.ts";
import { type PipelinedMessage, PublishPipelineBrokenError } from "../../infra/nats/pipelined-publisher.ts";

interface Entry<P> extends TrackedMessage<P> {
  readonly sentAt: number;
}

interface JsAck {
  readonly stream?: string;
  readonly seq?: number;
  readonly duplicate?: boolean;
  readonly error?: { readonly code?: number; readonly description?: string };
}

const decoder = new TextDecoder();

/**
 * nats-server's default `max_control_line`. The server does not announce its own (INFO has only
 * `max_payload`); a control line past it makes the server close the connection (`Maximum Control
 * Line Exceeded`), so the publisher checks before sending rather than finding out by a disconnect.
 */
export const DEFAULT_MAX_CONTROL_LINE = 4096;
/** Room on a publish's control line for `HPUB`, the reply inbox and the two sizes. */
const CONTROL_LINE_OVERHEAD = 128;

/**
 * Why a message on `subject` with `payloadBytes` of body and `headerBytes` of headers cannot be
 * published on `nc` (undefined when it can): a subject whose control line passes the server's limit,
 * or a message beyond the server's `max_payload`.
 */
export const publishLimitProblem = (
  nc: Pick<NatsConnection, "info">,
  subject: string,
  payloadBytes: number,
  headerBytes: number,
  maxControlLine = DEFAULT_MAX_CONTROL_LINE,
): string | undefined => {
  // UTF-8 needs at most 3 bytes per UTF-16 unit: most subjects need no byte count at all.
  if (subject.length * 3 + CONTROL_LINE_OVERHEAD > maxControlLine) {
    const bytes = Buffer.byteLength(subject);
    if (bytes + CONTROL_LINE_OVERHEAD > maxControlLine)
      return `subject of ${bytes} bytes: its control line passes the server's limit of ${maxControlLine} bytes`;
  }
  const max = nc.info?.max_payload;
  if (max !== undefined && payloadBytes + headerBytes > max)
    return `message of ${payloadBytes + headerBytes} bytes passes the server's max_payload of ${max} bytes`;
  return undefined;
};

/** Bytes of the headers a message id adds (`NATS/1.0`, `Nats-Msg-Id: <id>`, line ends). */
export const msgIdHeaderBytes = (msgId: string): number => Buffer.byteLength(msgId) + 32;

export class RelayPublisher<P = number> {
  readonly window: number;
  private readonly ackTimeoutMs: number;
  private readonly inbox: string;
  private readonly sub: Subscription;
  private readonly timer: NodeJS.Timeout;
  private readonly waiting = new Map<number, Entry<P>>();
  private readonly prefix = new AckedPrefix<P, Entry<P>>();
  private token = 0;
  private failure: unknown;
  private failed = false;
  private slotWaiters: Array<() => void> = [];
  /** One promise for everyone waiting for the acks in flight (the relay asks after every commit). */
  private idle: { readonly promise: Promise<void>; readonly resolve: () => void } | undefined;
  readonly stats = { published: 0, duplicates: 0 };

  constructor(
    private readonly nc: NatsConnection,
    opts: { window?: number; ackTimeoutMs?: number } = {},
  ) {
    this.window = Math.max(1, opts.window ?? 1024);
    this.ackTimeoutMs = opts.ackTimeoutMs ?? 10_000;
    // The connection's own prefix (as nats.js's JetStream client reads it): a secured server lets each
    // user read only its own inbox.
    const { inboxPrefix } = (nc as unknown as { options?: { inboxPrefix?: string } }).options ?? {};
    this.inbox = `${createInbox(inboxPrefix)}.`;
    this.sub = nc.subscribe(`${this.inbox}*`, { callback: (err, msg) => this.onReply(err, msg) });
    this.timer = setInterval(() => this.checkTimeouts(), Math.max(50, Math.floor(this.ackTimeoutMs / 4)));
    this.timer.unref();
  }

  get ackedThrough(): P | undefined {
    return this.prefix.watermark;
  }

  get inFlight(): number {
    return this.waiting.size;
  }

  get isBroken(): boolean {
    return this.failed;
  }

  /** Sends one message once a window slot is free (resolves when sent, not when acknowledged). */
  async publish(msg: PipelinedMessage<P>): Promise<void> {
    while (this.waiting.size >= this.window && !this.failed) {
      await new Promise<void>((resolve) => this.slotWaiters.push(resolve));
    }
    if (this.failed) throw this.brokenError();
    const token = ++this.token;
    const entry = this.prefix.track({ position: msg.position, sentAt: Date.now(), acked: false });
    this.waiting.set(token, entry);
    const h = msg.headers ?? makeHeaders();
    h.set("Nats-Msg-Id", msg.msgId);
    try {
      this.nc.publish(msg.subject, msg.data, { reply: `${this.inbox}${token}`, headers: h });
    } catch (err) {
      this.fail(err);
      throw this.brokenError();
    }
  }

  /**
   * Counts `position` as acknowledged without sending it (an event dead-lettered instead of published),
   * in publish order, so the watermark moves past it.
   */
  skip(position: P): void {
    if (this.failed) throw this.brokenError();
    this.prefix.track({ position, sentAt: Date.now(), acked: true });
    this.prefix.advance();
  }

  /** Waits until nothing is in flight; throws `PublishPipelineBrokenError` if anything failed. */
  async flush(): Promise<P | undefined> {
    while (this.waiting.size > 0 && !this.failed) await this.whenIdle();
    if (this.failed) throw this.brokenError();
    return this.prefix.watermark;
  }

  /** Resolves (never rejects) once nothing is in flight or the pipeline broke. */
  whenIdle(): Promise<void> {
    if (this.waiting.size === 0 || this.failed) return Promise.resolve();
    if (!this.idle) {
      let resolve = () => {};
      const promise = new Promise<void>((r) => {
        resolve = r;
      });
      this.idle = { promise, resolve };
    }
    return this.idle.promise;
  }

  private wakeIdle(): void {
    const idle = this.idle;
    this.idle = undefined;
    idle?.resolve();
  }

  /** Stops listening for acks; call once the publisher is done with (flushed or broken). */
  close(): void {
    clearInterval(this.timer);
    this.sub.unsubscribe();
    if (!this.failed) this.fail(new Error("publisher closed"));
  }

  private onReply(err: Error | null, msg: Msg): void {
    if (err) {
      this.fail(err);
      return;
    }
    const token = Number(msg.subject.slice(this.inbox.length));
    const entry = this.waiting.get(token);
    if (!entry) return; // after a timeout or a break: nothing to do
    if (msg.data.length === 0 && msg.headers?.code === 503) {
      this.fail(new Error(`no JetStream stream answered for ${msg.subject}`));
      return;
    }
    let ack: JsAck;
    try {
      ack = JSON.parse(decoder.decode(msg.data)) as JsAck;
    } catch (e) {
      this.fail(e);
      return;
    }
    if (ack.error || typeof ack.seq !== "number") {
      this.fail(new Error(`JetStream refused a message: ${ack.error?.description ?? "no ack"}`));
      return;
    }
    this.waiting.delete(token);
    this.stats.published++;
    if (ack.duplicate) this.stats.duplicates++;
    entry.acked = true;
    this.prefix.advance();
    this.slotWaiters.shift()?.();
    if (this.waiting.size === 0) this.wakeIdle();
  }

  private checkTimeouts(): void {
    if (this.failed || this.waiting.size === 0) return;
    // Entries are in publish order: the oldest unacknowledged one is the first to time out.
    const oldest = this.prefix.oldest;
    if (oldest && !oldest.acked && Date.now() - oldest.sentAt > this.ackTimeoutMs)
      this.fail(new Error("timeout"));
  }

  private fail(err: unknown): void {
    if (this.failed) return;
    this.failed = true;
    this.failure = err;
    for (const wake of this.slotWaiters.splice(0)) wake();
    this.wakeIdle();
  }

  private brokenError(): PublishPipelineBrokenError<P> {
    return new PublishPipelineBrokenError(this.prefix.watermark, this.waiting.size, { cause: this.failure });
  }
}
