/**
 * What one receiver is sent, pure: its severity filter, its rate limit, and coalescing of what waits.
 *
 * - `minSeverity`: a firing alert below it is not sent; its resolution is sent only if the receiver
 *   was told it was open (it may have been sent at a higher severity).
 * - Rate limit: at most `max` notifications per `windowMs` (sliding). What is over waits in the queue,
 *   one entry per alert: a newer firing replaces the waiting one (an opening stays an opening), a
 *   resolution replaces a waiting update, and a resolution of an opening never sent drops both (the
 *   receiver never heard of it). So a receiver hears at most one open alert per group, and a
 *   resolution only after an open.
 */
import { type AlertNotification, type Severity, severityRank } from "./alert-model.ts";

export interface ReceiverPolicy {
  readonly minSeverity?: Severity;
  readonly rateLimit: { readonly max: number; readonly windowMs: number };
}

export interface OutboxState {
  /** Times of the sends within the rate-limit window. */
  readonly sentAt: readonly number[];
  readonly queue: readonly AlertNotification[];
  /** Alert ids this receiver was sent open and not yet resolved. */
  readonly open: ReadonlySet<string>;
}

export const emptyOutbox = (): OutboxState => ({ sentAt: [], queue: [], open: new Set() });

export const enqueue = (o: OutboxState, n: AlertNotification, policy: ReceiverPolicy): OutboxState => {
  const waiting = o.queue.findIndex((q) => q.id === n.id);
  const before = waiting >= 0 ? o.queue[waiting] : undefined;
  const rest = o.queue.filter((_, i) => i !== waiting);
  if (n.status === "firing") {
    const wanted =
      policy.minSeverity === undefined || severityRank(n.signal.severity) >= severityRank(policy.minSeverity);
    if (!wanted && !o.open.has(n.id)) return before ? { ...o, queue: rest } : o;
    const update = o.open.has(n.id);
    return { ...o, queue: [...rest, { ...n, update }] };
  }
  // resolved
  if (!o.open.has(n.id)) return { ...o, queue: rest };
  return { ...o, queue: [...rest, n] };
};

/** What may be sent at `now`, oldest first; the rest keeps waiting. */
export const drain = (
  o: OutboxState,
  now: number,
  policy: ReceiverPolicy,
): { state: OutboxState; send: AlertNotification[] } => {
  const sentAt = o.sentAt.filter((t) => now - t < policy.rateLimit.windowMs);
  const room = Math.max(0, policy.rateLimit.max - sentAt.length);
  const send = o.queue.slice(0, room);
  const open = new Set(o.open);
  for (const n of send) {
    if (n.status === "firing") open.add(n.id);
    else open.delete(n.id);
  }
  return {
    state: { sentAt: [...sentAt, ...send.map(() => now)], queue: o.queue.slice(room), open },
    send,
  };
};
