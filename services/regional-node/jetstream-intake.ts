/**
 * JetStream intake: a durable pull consumer on `INV_CMD_<R>`. Many messages are in flight at once
 * (bounded by the consumer's `max_ack_pending`); each is acknowledged only when its outcome is
 * durable (applied, duplicate, parked in the node database, or dead-lettered with the DLQ's ack),
 * and negatively acknowledged with a delay when it could not be handled now.
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
import { cmdStreamName } from "../../infra/nats/subjects.ts";
import type { CommandHandler } from "./command-handler.ts";

export interface JetStreamIntakeOptions {
  readonly region: string;
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  readonly handler: CommandHandler;
  readonly maxInFlight: number;
  readonly ackWaitMs: number;
  readonly durableName?: string;
  readonly logger: Logger;
}

export class JetStreamIntake {
  private messages: ConsumerMessages | undefined;
  private inFlight = 0;
  private idleWaiters: Array<() => void> = [];
  private stopped = false;
  readonly durable: string;

  constructor(private readonly o: JetStreamIntakeOptions) {
    this.durable = o.durableName ?? `stockline-node-${o.region}`;
  }

  async start(): Promise<void> {
    const stream = cmdStreamName(this.o.region);
    const config = {
      durable_name: this.durable,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      max_ack_pending: this.o.maxInFlight,
      ack_wait: nanos(this.o.ackWaitMs),
      max_deliver: -1,
    };
    try {
      await this.o.jsm.consumers.info(stream, this.durable);
      await this.o.jsm.consumers.update(stream, this.durable, {
        max_ack_pending: config.max_ack_pending,
        ack_wait: config.ack_wait,
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
    // The stream sequence is parsed from the reply subject on every read of `seq`: only dead
    // letters need it, so it is read lazily.
    const meta = {
      via: "jetstream",
      subject: msg.subject,
      get streamSequence() {
        return msg.seq;
      },
    } as const;
    // One `then` with both callbacks (no extra promises per message on the hot path).
    this.o.handler.handleBytes(msg.data, meta).then(
      (settled) => this.answer(msg, settled.disposition === "ack"),
      (err: unknown) => {
        this.o.logger.error({ err, seq: msg.seq }, "intake handler threw; message will be redelivered");
        this.answer(msg, false);
      },
    );
  }

  private answer(msg: JsMsg, ack: boolean): void {
    try {
      if (ack) msg.ack();
      else msg.nak(1_000);
    } catch (err) {
      // Connection gone: the message is redelivered after ack wait, and handled as a duplicate.
      this.o.logger.warn({ err, seq: msg.seq }, "could not answer a command message");
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
  }
}
