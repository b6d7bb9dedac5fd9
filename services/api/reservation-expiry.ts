/**
 * Reservation expiry for one region: issues `expireReservation` to the region's node when a
 * reservation's time is up. It runs next to the node (connected to the region's own NATS), so it
 * works while the region is cut off from the hub.
 *
 * Durable across restarts because it keeps no state of its own: the due times come from the
 * region's read model of open reservations `atp_res_<r>` (one key per reservation, with its
 * `expiresAt`), watched from the start (current values, then changes). After a restart of the node, the projector or this process,
 * the watch delivers every open reservation again and those already due are expired at once.
 *
 * The command is deterministic per reservation and expiry (`idempotencyKey = expire:<id>:<expiresAt>`,
 * business time = `expiresAt`), so a retry or a second scheduler is answered as a duplicate. The node
 * decides against its own clock (`reservationNotExpired` if early; we then wait until `expiresAt`).
 */
import { jetstream } from "@nats-io/jetstream";
import { type KV, Kvm } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "pino";
import { createLogger } from "../../infra/logging.ts";
import { counter } from "../../infra/metrics.ts";
import { ensureAtpReservationsBucket } from "../../infra/nats/streams.ts";
import { parseRegionalReservationKey } from "../../projections/atp-keys.ts";
import type { ReservationView } from "../../projections/regional-atp.projection.ts";
import { requestDecision } from "./region-link.ts";

export interface ReservationExpiryOptions {
  /** A connection to the region's own NATS. */
  readonly nc: NatsConnection;
  readonly region: string;
  /** JetStream domain of `atp_<r>` (default: the connection's own JetStream). */
  readonly domain?: string;
  readonly sourceSystem?: string;
  readonly requestTimeoutMs?: number;
  /** Wait before retrying when the node does not answer. */
  readonly retryMs?: number;
  readonly logger?: Logger;
}

export interface ReservationExpiry {
  /** Open reservations known (with a due time). */
  readonly tracked: number;
  readonly stats: { expired: number; alreadyGone: number; early: number; retries: number };
  stop(): Promise<void>;
}

interface Due {
  readonly at: number;
  /** The reservation's key in `atp_res_<r>`. */
  readonly id: string;
}

/** A binary min-heap by `at`; stale entries are skipped when popped (lazy deletion). */
class DueHeap {
  private readonly a: Due[] = [];
  get size(): number {
    return this.a.length;
  }
  peek(): Due | undefined {
    return this.a[0];
  }
  push(d: Due): void {
    const a = this.a;
    a.push(d);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p]!.at <= a[i]!.at) break;
      [a[p], a[i]] = [a[i]!, a[p]!];
      i = p;
    }
  }
  pop(): Due | undefined {
    const a = this.a;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && a[l]!.at < a[m]!.at) m = l;
        if (r < a.length && a[r]!.at < a[m]!.at) m = r;
        if (m === i) break;
        [a[m], a[i]] = [a[i]!, a[m]!];
        i = m;
      }
    }
    return top;
  }
}

const metrics = {
  expiries: counter("stockline_reservation_expiries_total", "Expiry commands by outcome", [
    "region",
    "outcome",
  ]),
};

const td = new TextDecoder();
const MAX_TIMER_MS = 2 ** 31 - 1;

export const startReservationExpiry = async (o: ReservationExpiryOptions): Promise<ReservationExpiry> => {
  const log = (o.logger ?? createLogger("reservation-expiry")).child({ region: o.region });
  const js = jetstream(o.nc, o.domain ? { domain: o.domain } : {});
  const kv: KV = await ensureAtpReservationsBucket(new Kvm(js), o.region);
  const system = o.sourceSystem ?? "stockline-expiry";
  const timeoutMs = o.requestTimeoutMs ?? 5_000;
  const retryMs = o.retryMs ?? 1_000;

  /** Open reservations by key: which, where and until when. */
  const open = new Map<
    string,
    { reservationId: string; location: string; sku: string; expiresAt: string; notBefore: number }
  >();
  const heap = new DueHeap();
  const inFlight = new Set<string>();
  const stats = { expired: 0, alreadyGone: 0, early: 0, retries: 0 };
  let timer: NodeJS.Timeout | undefined;
  let timerAt = Number.POSITIVE_INFINITY;
  let stopped = false;

  const arm = () => {
    if (stopped) return;
    // Drop heap heads that no longer match an open reservation.
    for (let d = heap.peek(); d; d = heap.peek()) {
      const r = open.get(d.id);
      if (r && r.notBefore === d.at) break;
      heap.pop();
    }
    const next = heap.peek();
    if (!next) return;
    if (timer && timerAt <= next.at) return;
    clearTimeout(timer);
    timerAt = next.at;
    timer = setTimeout(fire, Math.min(MAX_TIMER_MS, Math.max(0, next.at - Date.now())));
  };

  const schedule = (id: string, at: number) => {
    const r = open.get(id);
    if (!r) return;
    open.set(id, { ...r, notBefore: at });
    heap.push({ at, id });
    arm();
  };

  const expire = async (key: string) => {
    const r = open.get(key);
    if (!r || inFlight.has(key)) return;
    inFlight.add(key);
    const id = r.reservationId;
    const command = {
      kind: "expireReservation",
      idempotencyKey: `expire:${id}:${r.expiresAt}`,
      source: { system, document: { type: "reservation", id } },
      businessTime: r.expiresAt,
      correlationId: `expire:${id}`,
      position: { region: o.region, location: r.location, sku: r.sku },
      reservationId: id,
    };
    try {
      const out = await requestDecision(o.nc, o.region, command, timeoutMs);
      if (out.kind !== "reply") {
        stats.retries++;
        metrics.expiries.inc({ region: o.region, outcome: "retry" });
        log.warn({ reservationId: id, reason: out.message }, "expiry not delivered; will retry");
        schedule(key, Date.now() + retryMs);
        return;
      }
      const reply = out.reply;
      if (reply.outcome === "accepted" || reply.outcome === "duplicate") {
        stats.expired++;
        metrics.expiries.inc({ region: o.region, outcome: "expired" });
        open.delete(key);
      } else if (reply.outcome === "rejected" && reply.reason.code === "unknownReservation") {
        stats.alreadyGone++;
        metrics.expiries.inc({ region: o.region, outcome: "gone" });
        open.delete(key);
      } else if (reply.outcome === "rejected" && reply.reason.code === "reservationNotExpired") {
        // The node's clock is behind ours: try again when it agrees.
        stats.early++;
        schedule(key, Math.max(Date.now() + 50, Date.parse(r.expiresAt) + 50));
      } else {
        stats.retries++;
        metrics.expiries.inc({ region: o.region, outcome: "refused" });
        log.error({ reservationId: id, reply }, "expiry refused by the node; will retry");
        schedule(key, Date.now() + Math.max(retryMs, 10_000));
      }
    } catch (err) {
      stats.retries++;
      log.error({ err, reservationId: id }, "expiry failed; will retry");
      schedule(key, Date.now() + retryMs);
    } finally {
      inFlight.delete(key);
    }
  };

  function fire() {
    timer = undefined;
    timerAt = Number.POSITIVE_INFINITY;
    const now = Date.now();
    for (let d = heap.peek(); d && d.at <= now; d = heap.peek()) {
      heap.pop();
      const r = open.get(d.id);
      if (r && r.notBefore === d.at) void expire(d.id);
    }
    arm();
  }

  const onReservation = (key: string, view: ReservationView | undefined) => {
    const where = parseRegionalReservationKey(key);
    if (!where) return;
    if (!view) {
      // Closed (released, consumed or expired): its heap entry is dropped when it comes up.
      open.delete(key);
      return;
    }
    const known = open.get(key);
    if (known && known.expiresAt === view.expiresAt) return;
    const at = Date.parse(view.expiresAt);
    open.set(key, { ...where, expiresAt: view.expiresAt, notBefore: at });
    heap.push({ at, id: key });
    arm();
  };

  const watcher = await kv.watch();
  const watching = (async () => {
    for await (const e of watcher) {
      if (stopped) break;
      try {
        onReservation(
          e.key,
          e.operation === "PUT" && e.length > 0
            ? (JSON.parse(td.decode(e.value)) as ReservationView)
            : undefined,
        );
      } catch (err) {
        log.error({ err, key: e.key }, "unreadable reservation ignored by the expiry scheduler");
      }
    }
  })();
  log.info("reservation expiry started");

  return {
    get tracked() {
      return open.size;
    },
    stats,
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      watcher.stop();
      await watching.catch(() => {});
      while (inFlight.size > 0) await new Promise((r) => setTimeout(r, 20));
      log.info(stats, "reservation expiry stopped");
    },
  };
};
