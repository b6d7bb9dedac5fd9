/**
 * The consuming half every projector shares: a durable pull consumer whose messages are handed to a
 * handler in batches, one batch at a time, in delivery order. A batch is whatever has arrived while
 * the previous batch was being handled (at most `batchMax`), so under load the KV writes and acks of many events are pipelined together and
 * at low load an event is handled alone, at once. The handler acks each message itself or gives it
 * back (`giveBack`); if it throws, every message of the batch it has not answered is given back and
 * comes back later (handlers are idempotent by revision). Redelivery is bounded (infra/nats/redelivery.ts):
 * the consumer has `max_deliver`, delays double with the delivery count, and at its last delivery a
 * message goes to the loop's `onExhausted` (a dead letter) and is terminated.
 */
import {
  AckPolicy,
  type Consumer,
  DeliverPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
} from "@nats-io/jetstream";
import { nanos } from "@nats-io/transport-node";
import * as E from "fp-ts/lib/Either.js";
import type { Logger } from "pino";
import { type CanonicalEvent, decodeCanonicalEvent } from "../../domain/canonical-event.ts";
import { formatDecodeErrors } from "../../domain/decode-errors.ts";
import { LogLimiter } from "../../infra/logging.ts";
import {
  boundRedelivery,
  DEFAULT_MAX_DELIVER,
  type GiveBackPolicy,
  giveBack,
  type RedeliveryBackoff,
} from "../../infra/nats/redelivery.ts";

const td = new TextDecoder();

/** The canonical event a message carries; throws if it is not JSON or not a canonical event. */
export const decodeEventMessage = (m: JsMsg): CanonicalEvent => {
  const decoded = decodeCanonicalEvent(JSON.parse(td.decode(m.data)));
  if (E.isLeft(decoded)) throw new Error(formatDecodeErrors(decoded.left));
  return decoded.right;
};

export type BatchHandler = (batch: JsMsg[]) => Promise<void>;

export interface ConsumerLoop {
  /** Resolves when the loop has ended (after `stop()`, or if the consumer went away for good). */
  readonly done: Promise<void>;
  stop(): Promise<void>;
}

/**
 * Creates the durable consumer if it does not exist; an existing one (and its ack floor) is kept, with
 * its redelivery bounded to `maxDeliver` (consumers made before had none).
 */
export const ensureDurableConsumer = async (
  jsm: JetStreamManager,
  stream: string,
  durable: string,
  opts: { maxAckPending?: number; ackWaitMs?: number; maxDeliver?: number } = {},
): Promise<void> => {
  const maxDeliver = opts.maxDeliver ?? DEFAULT_MAX_DELIVER;
  try {
    await boundRedelivery(jsm, stream, durable, maxDeliver);
    return;
  } catch (err) {
    if (!(err instanceof JetStreamApiError && err.code === JetStreamApiCodes.ConsumerNotFound)) throw err;
  }
  await jsm.consumers.add(stream, {
    durable_name: durable,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    max_ack_pending: opts.maxAckPending ?? 4096,
    ack_wait: nanos(opts.ackWaitMs ?? 30_000),
    max_deliver: maxDeliver,
  });
};

/** How a loop gives back what it could not handle (see infra/nats/redelivery.ts). */
export interface RedeliveryOptions {
  readonly maxDeliver?: number;
  readonly backoff?: RedeliveryBackoff;
  /** Dead-letters a message at its last delivery; true once stored. */
  readonly onExhausted: GiveBackPolicy["onExhausted"];
}

export const giveBackPolicy = (r: RedeliveryOptions): GiveBackPolicy => ({
  maxDeliver: r.maxDeliver ?? DEFAULT_MAX_DELIVER,
  ...(r.backoff ? { backoff: r.backoff } : {}),
  onExhausted: r.onExhausted,
});

export const startConsumerLoop = async (
  consumer: Consumer,
  handle: BatchHandler,
  opts: { log: Logger; maxMessages?: number; batchMax?: number; redelivery: RedeliveryOptions },
): Promise<ConsumerLoop> => {
  const batchMax = opts.batchMax ?? 512;
  const policy = giveBackPolicy(opts.redelivery);
  const limited = new LogLimiter(opts.log);
  const messages = await consumer.consume({ max_messages: opts.maxMessages ?? 1_024 });
  void (async () => {
    for await (const s of messages.status()) {
      if (s.type === "heartbeats_missed" || s.type === "consumer_not_found" || s.type === "stream_not_found")
        opts.log.warn({ status: s.type }, "consumer status");
    }
  })().catch(() => {});
  // Messages pile up in `queue` while a batch is handled; the next batch takes what piled up. (The
  // iterator's getPending() also counts its internal callbacks, so it cannot tell whether more is queued.)
  const queue: JsMsg[] = [];
  let draining: Promise<void> | undefined;
  const drain = async () => {
    while (queue.length > 0) {
      const current = queue.splice(0, batchMax);
      try {
        await handle(current);
      } catch (err) {
        limited.error(
          "batch failed",
          { err, messages: current.length },
          "batch failed; messages will be redelivered",
        );
        const error = (err as Error)?.message ?? String(err);
        await Promise.all(current.map((msg) => giveBack(msg, error, policy).catch(() => {})));
      }
    }
  };
  const kick = () => {
    if (draining) return;
    draining = drain().finally(() => {
      draining = undefined;
      // A message can arrive after the drain saw an empty queue and before it was marked done; it
      // would otherwise wait for the next message (for the last one of a burst: indefinitely).
      if (queue.length > 0) kick();
    });
  };
  const done = (async () => {
    for await (const m of messages) {
      queue.push(m);
      kick();
    }
    await draining;
  })();
  return {
    done,
    stop: async () => {
      messages.stop();
      await done.catch(() => {});
      limited.stop();
    },
  };
};

/** Ensures the durable consumer of `stream` and starts a loop on it. */
export const consumeDurable = async (
  js: JetStreamClient,
  jsm: JetStreamManager,
  stream: string,
  durable: string,
  handle: BatchHandler,
  opts: {
    log: Logger;
    batchMax?: number | undefined;
    maxAckPending?: number;
    redelivery: RedeliveryOptions;
  },
): Promise<ConsumerLoop> => {
  await ensureDurableConsumer(jsm, stream, durable, {
    ...(opts.maxAckPending === undefined ? {} : { maxAckPending: opts.maxAckPending }),
    ...(opts.redelivery.maxDeliver === undefined ? {} : { maxDeliver: opts.redelivery.maxDeliver }),
  });
  const consumer = await js.consumers.get(stream, durable);
  return startConsumerLoop(consumer, handle, {
    log: opts.log,
    ...(opts.batchMax ? { batchMax: opts.batchMax } : {}),
    redelivery: opts.redelivery,
  });
};
