/**
 * JetStream intake: a durable pull consumer on `INV_CMD_<R>`. Many messages are in flight at once
 * (bounded by the consumer's `max_ack_pending`); each is acknowledged only when its outcome is
 * durable (applied, duplicate, parked in the node database, or dead-lettered with the DLQ's ack),
 * and negatively acknowledged with a delay when it could not be handled now.
 *
 * Redelivery is bounded (DESIGN §3.13): the consumer has `max_deliver`, a message that could not be
 * handled is nak'ed with a delay growing with its delivery count, and at its last allowed delivery it
 * is dead-lettered (`redeliveryExhausted`, with the last error) and terminated. So no message can
 * hold a slot of `max_ack_pending` for long, let alone all of them. (Errors of one command are not
 * retried at all: the handler dead-letters them at once; what comes back here may pass by itself.)
 */
import {
  AckPolicy,
  type ConsumerMessages,
  DeliverPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
} from "@nats-io/jetstream";
import { nanos } from "@nats-io/transport-node";
import type { Logger } from "pino";
import { LogLimiter } from "../../infra/logging.ts";
import { DEFAULT_MAX_DELIVER, giveBack, type RedeliveryBackoff } from "../../infra/nats/redelivery.ts";
import { cmdStreamName } from "../../infra/nats/subjects.ts";
import type { CommandHandler, MessageMeta, Settled } from "./command-handler.ts";

export interface JetStreamIntakeOptions {
  readonly region: string;
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  readonly handler: Pick<CommandHandler, "handleBytes" | "deadLetterExhausted">;
  readonly maxInFlight: number;
  readonly ackWaitMs: number;
  readonly durableName?: string;
  /** Only these commands (a partition of a multi-node region: `inv.cmd.<r>.<location>.*`). */
  readonly filterSubject?: string;
  readonly logger: Logger;
  /** Deliveries before a message is dead-lettered (default `DEFAULT_MAX_DELIVER`). */
  readonly maxDeliver?: number;
  readonly redeliveryBackoff?: RedeliveryBackoff;
}

export class JetStreamIntake {
  private messages: ConsumerMessages | undefined;
  private inFlight = 0;
  private idleWaiters: Array<() => void> = [];
  private stopped = false;
  readonly durable: string;
  readonly maxDeliver: number;
  private readonly limited: LogLimiter;

  constructor(private readonly o: JetStreamIntakeOptions) {
    this.durable = o.durableName ?? `stockline-node-${o.region}`;
    this.maxDeliver = o.maxDeliver ?? DEFAULT_MAX_DELIVER;
    this.limited = new LogLimiter(o.logger);
  }

  async start(): Promise<void> {
    const stream = cmdStreamName(this.o.region);
    const config = {
      durable_name: this.durable,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      max_ack_pending: this.o.maxInFlight,
      ack_wait: nanos(this.o.ackWaitMs),
      max_deliver: this.maxDeliver,
      ...(this.o.filterSubject !== undefined ? { filter_subject: this.o.filterSubject } : {}),
    };
    try {
      await this.o.jsm.consumers.info(stream, this.durable);
      // A consumer made before redelivery was bounded (max_deliver -1) gets the bound too.
      await this.o.jsm.consumers.update(stream, this.durable, {
        max_ack_pending: config.max_ack_pending,
        ack_wait: config.ack_wait,
        max_deliver: config.max_deliver,
      });
    } catch (err) {
      if (!(err instanceof JetStreamApiError && err.code === JetStreamApiCodes.ConsumerNotFound)) throw err;
      await this.o.jsm.consumers.add(stream, config);
    }
    const consumer = await this.o.js.consumers.get(stream, this.durable);
    this.messages = await consumer.consume({
      max_messages: Math.min(this.o.maxInFlight, 5_000),
      callback: (msg) => this.onMessage(msg),
    });
  }

  get pending(): number {
    return this.inFlight;
  }

  private onMessage(msg: JsMsg): void {
    if (this.stopped) return; // not acknowledged: redelivered to whoever consumes next
    this.inFlight++;
    const meta = new JetStreamMeta(msg);
    // One `then` with both callbacks (no extra promises per message on the hot path).
    this.o.handler.handleBytes(msg.data, meta).then(
      (settled) => {
        if (settled.disposition === "ack") this.answer(msg);
        else void this.redeliver(msg, meta, lastErrorOf(settled));
      },
      (err: unknown) => {
        // The handler contains its errors; this is a last line of defence, still bounded.
        this.limited.error("intake handler threw", { err, seq: msg.seq }, "intake handler threw");
        void this.redeliver(msg, meta, (err as Error)?.message ?? String(err));
      },
    );
  }

  /** Nak with a growing delay; at the last allowed delivery, dead-letter and terminate instead. */
  private async redeliver(msg: JsMsg, meta: JetStreamMeta, lastError: string): Promise<void> {
    try {
      await giveBack(msg, lastError, {
        maxDeliver: this.maxDeliver,
        ...(this.o.redeliveryBackoff ? { backoff: this.o.redeliveryBackoff } : {}),
        onExhausted: async (m, error, deliveries) => {
          const stored = await this.o.handler.deadLetterExhausted(m.data, meta, {
            deliveries,
            lastError: error,
          });
          // Not stored: the server delivers it no more; the command stays in INV_CMD_<R> for a replay.
          if (!stored)
            this.limited.error(
              "redelivery exhausted, not dead-lettered",
              { seq: meta.streamSequence, subject: m.subject, deliveries, lastError: error },
              "command given up by the consumer after max_deliver and its dead letter could not be stored; replay it from INV_CMD",
            );
          return stored;
        },
      });
    } catch (err) {
      // Connection gone: the message is redelivered after ack wait.
      this.limited.warn("answer failed", { err, seq: msg.seq }, "could not answer a command message");
    } finally {
      this.settled();
    }
  }

  private answer(msg: JsMsg) {
    try {
      msg.ack();
    } catch (err) {
      // Connection gone: the message is redelivered after ack wait, and handled as a duplicate.
      this.limited.warn("answer failed", { err, seq: msg.seq }, "could not answer a command message");
    } finally {
      this.settled();
    }
  }
  private settled(): void {
    this.inFlight--;
    if (this.inFlight === 0) for (const w of this.idleWaiters.splice(0)) w();
  }

  /** Stops pulling, then waits for the messages in hand to be settled. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.messages?.close();
    while (this.inFlight > 0) await new Promise<void>((r) => this.idleWaiters.push(r));
    this.limited.stop();
  }
}

/**
 * A message's meta. The stream sequence is parsed from the reply subject on every read of `seq`: only
 * dead letters need it, so it is read lazily, by a getter of the class (an object literal with a
 * getter of its own was half a microsecond per message).
 */
class JetStreamMeta implements MessageMeta {
  readonly via = "jetstream" as const;
  readonly subject: string;

  constructor(private readonly msg: JsMsg) {
    this.subject = msg.subject;
  }

  get streamSequence(): number {
    return this.msg.seq;
  }
}

const lastErrorOf = (s: Settled): string => {
  if (s.error !== undefined) return s.error;
  const r = s.reply;
  return r.outcome === "rejected" || r.outcome === "deadLettered"
    ? `${r.reason.code}: ${r.reason.message}`
    : `not settled (${r.outcome})`;
};
