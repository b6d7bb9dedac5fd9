/**
 * The consuming half every projector shares: a durable pull consumer whose messages are handed to a
 * handler in batches, one batch at a time, in delivery order. A batch is whatever has arrived while
 * the previous batch was being handled (at most `batchMax`), so under load the KV writes and acks of many events are pipelined together and
 * at low load an event is handled alone, at once. The handler acks or naks each message itself; if
 * it throws, every message of the batch is nak'ed with a delay and comes back (handlers are
 * idempotent by revision).
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

/** Creates the durable consumer if it does not exist; an existing one (and its ack floor) is kept. */
export const ensureDurableConsumer = async (
  jsm: JetStreamManager,
  stream: string,
  durable: string,
  opts: { maxAckPending?: number; ackWaitMs?: number } = {},
): Promise<void> => {
  try {
    await jsm.consumers.info(stream, durable);
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
  });
};

export const startConsumerLoop = async (
  consumer: Consumer,
  handle: BatchHandler,
  opts: { log: Logger; maxMessages?: number; batchMax?: number; retryDelayMs?: number },
): Promise<ConsumerLoop> => {
  const batchMax = opts.batchMax ?? 512;
  const retryDelayMs = opts.retryDelayMs ?? 1_000;
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
        opts.log.error({ err, messages: current.length }, "batch failed; messages will be redelivered");
        for (const msg of current) msg.nak(retryDelayMs);
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
  opts: { log: Logger; batchMax?: number | undefined; maxAckPending?: number },
): Promise<ConsumerLoop> => {
  await ensureDurableConsumer(
    jsm,
    stream,
    durable,
    opts.maxAckPending === undefined ? {} : { maxAckPending: opts.maxAckPending },
  );
  const consumer = await js.consumers.get(stream, durable);
  return startConsumerLoop(consumer, handle, {
    log: opts.log,
    ...(opts.batchMax ? { batchMax: opts.batchMax } : {}),
  });
};
