/**
 * Bounded redelivery, one policy for every consumer stockline creates (DESIGN §3.13): a consumer has
 * `max_deliver`; a message that could not be handled now is nak'ed with a delay that doubles with its
 * delivery count; at its last allowed delivery it goes to the dead letters (by the consumer's own
 * path, with the last error) and is terminated. So no message can hold a consumer, or a slot of its
 * `max_ack_pending`, for long.
 */
import type { JetStreamManager, JsMsg } from "@nats-io/jetstream";

/** Deliveries of one message before it is dead-lettered (`redeliveryExhausted`). */
export const DEFAULT_MAX_DELIVER = 20;
/** Nak delays: doubling from `initialMs` to `maxMs`. With 20 deliveries, about 14 minutes in all. */
export const DEFAULT_REDELIVERY_BACKOFF = { initialMs: 1_000, maxMs: 60_000 } as const;

export interface RedeliveryBackoff {
  readonly initialMs: number;
  readonly maxMs: number;
}

/** The delay before delivery `n + 1` of a message delivered `n` times, with ±20% jitter. */
export const redeliveryDelay = (
  deliveryCount: number,
  backoff: RedeliveryBackoff = DEFAULT_REDELIVERY_BACKOFF,
): number => {
  const doublings = Math.min(30, Math.max(0, deliveryCount - 1));
  const base = Math.min(backoff.maxMs, backoff.initialMs * 2 ** doublings);
  return Math.round(base * (0.8 + Math.random() * 0.4));
};

/** How often the server has delivered this message (1 the first time). */
export const deliveryCountOf = (msg: JsMsg): number => {
  try {
    return msg.info.deliveryCount;
  } catch {
    return 1;
  }
};

/** Whether the message was already acked, nak'ed or terminated (nats.js keeps it on the message). */
export const answered = (msg: JsMsg): boolean => (msg as { didAck?: boolean }).didAck === true;

export interface GiveBackPolicy {
  readonly maxDeliver: number;
  readonly backoff?: RedeliveryBackoff;
  /**
   * Dead-letters a message at its last delivery; resolves true once stored. If it cannot be stored
   * the message is nak'ed anyway: the server delivers it no more, the stream still holds it.
   */
  readonly onExhausted: (msg: JsMsg, lastError: string, deliveries: number) => Promise<boolean>;
}

/**
 * Gives a message that could not be handled back to the server: nak with the delay of its delivery
 * count, or at its last delivery dead-letter and terminate it. A message already answered is left.
 */
export const giveBack = async (msg: JsMsg, lastError: string, policy: GiveBackPolicy): Promise<void> => {
  if (answered(msg)) return;
  const deliveries = deliveryCountOf(msg);
  if (deliveries >= policy.maxDeliver) {
    let stored = false;
    try {
      stored = await policy.onExhausted(msg, lastError, deliveries);
    } catch {
      stored = false;
    }
    if (stored) {
      // No reason text: nats-server 2.9 does not parse `+TERM <reason>` and would leave it pending.
      msg.term();
      return;
    }
  }
  msg.nak(redeliveryDelay(deliveries, policy.backoff));
};

/** Brings an existing durable consumer to `max_deliver` (those made before it was bounded had -1). */
export const boundRedelivery = async (
  jsm: JetStreamManager,
  stream: string,
  durable: string,
  maxDeliver: number,
): Promise<void> => {
  const info = await jsm.consumers.info(stream, durable);
  if (info.config.max_deliver !== maxDeliver)
    await jsm.consumers.update(stream, durable, { max_deliver: maxDeliver });
};
