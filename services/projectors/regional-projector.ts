/**
 * The regional projector: a durable JetStream consumer of `INV_EVT_<R>` in the region's domain that
 * folds events into the ATP read model (`projections/regional-atp.projection.ts`) and writes one KV
 * entry per position to `atp_<r>`. A message is acknowledged only after the entry it changed is
 * stored, so the consumer's ack floor is the checkpoint: after a crash the unacknowledged events come
 * back and are no-ops up to the stored revision. A gap in a position's revisions is filled from the
 * event store (`readStream`, injected), never skipped; if the store cannot fill it the message is
 * nak'ed and retried. Retries are bounded (`max_deliver`, delays doubling): an event still not applied
 * at its last delivery is dead-lettered (`redeliveryExhausted`) and let go; the position's next
 * event fills the gap from the store.
 */
import { type JsMsg, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { type KV, Kvm } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import * as E from "fp-ts/lib/Either.js";
import { LRUCache } from "lru-cache";
import type { Logger } from "pino";
import { type CanonicalEvent, decodeCanonicalEvent } from "../../domain/canonical-event.ts";
import { formatDecodeErrors } from "../../domain/decode-errors.ts";
import { type Position, positionStreamId } from "../../domain/ids.ts";
import type { EventStore } from "../../infra/event-store/event-store.ts";
import { createLogger, LogLimiter, positionLogger } from "../../infra/logging.ts";
import { giveBack, type RedeliveryBackoff } from "../../infra/nats/redelivery.ts";
import { ensureAtpBucket, ensureAtpReservationsBucket } from "../../infra/nats/streams.ts";
import { evtStreamName } from "../../infra/nats/subjects.ts";
import { observeSyncLatency } from "../../infra/sync-metrics.ts";
import { regionalAtpKey, regionalReservationKey } from "../../projections/atp-keys.ts";
import {
  applyWithGapFill,
  type ReadPositionStream,
  type RegionalAtpEntry,
  type ReservationChange,
  type ReservationView,
  reservationChange,
} from "../../projections/regional-atp.projection.ts";
import { DeadLetterPublisher } from "../regional-node/dead-letters.ts";
import {
  type ConsumerLoop,
  consumeDurable,
  decodeEventMessage,
  giveBackPolicy,
  type RedeliveryOptions,
} from "./consumer-loop.ts";
import { projectionMetrics as metrics, observeProjectionLatency } from "./projection-metrics.ts";

export interface RegionalProjectorOptions {
  /** A connection that reaches the region's JetStream (the region's server, or the hub with `domain`). */
  nc: NatsConnection;
  region: string;
  /** JetStream domain of the region (default: the region id). */
  domain?: string;
  /** Reads a position's stored events from a revision, for gap filling (see `eventStoreReader`). */
  readStream: ReadPositionStream;
  /** Durable consumer name (default `atp-projector`). */
  durableName?: string;
  /** Entries kept in memory between events (default 100k); a miss reads the KV entry. */
  cacheEntries?: number;
  maxAckPending?: number;
  batchMax?: number;
  logger?: Logger;
  /** Deliveries of an event before it is dead-lettered (default `DEFAULT_MAX_DELIVER`). */
  maxDeliver?: number;
  redeliveryBackoff?: RedeliveryBackoff;
}

export interface RegionalProjectorStats {
  applied: number;
  duplicates: number;
  filledFromStore: number;
  rejected: number;
  retried: number;
}

const te = new TextEncoder();
const td = new TextDecoder();

/** Reads position streams from an event store whose event `data` is the canonical event. */
export const eventStoreReader =
  (store: Pick<EventStore, "readStream">): ReadPositionStream =>
  async (position: Position, from: number): Promise<CanonicalEvent[]> => {
    const recorded = await store.readStream(positionStreamId(position), { from });
    return recorded.map((r) => {
      const decoded = decodeCanonicalEvent(r.data);
      if (E.isLeft(decoded)) {
        throw new Error(
          `event store ${r.streamId}@${r.revision} is not a canonical event: ${formatDecodeErrors(decoded.left)}`,
        );
      }
      return decoded.right;
    });
  };

export class RegionalProjector {
  readonly region: string;
  private readonly log: Logger;
  /** Errors of one kind are counted, not each logged. */
  private readonly limited: LogLimiter;
  private readonly redelivery: RedeliveryOptions;
  private readonly cache: LRUCache<string, RegionalAtpEntry>;
  private kv: KV | undefined;
  /** `atp_res_<r>`: one key per open reservation (kept out of the entries, see the projection). */
  private reservationsKv: KV | undefined;
  private loop: ConsumerLoop | undefined;
  private deadLetters: DeadLetterPublisher | undefined;
  private readonly stream: string;
  private readonly durable: string;
  readonly stats: RegionalProjectorStats = {
    applied: 0,
    duplicates: 0,
    filledFromStore: 0,
    rejected: 0,
    retried: 0,
  };

  constructor(private readonly opts: RegionalProjectorOptions) {
    this.region = opts.region;
    this.stream = evtStreamName(opts.region);
    this.durable = opts.durableName ?? "atp-projector";
    this.log = (opts.logger ?? createLogger("regional-projector")).child({ region: opts.region });
    this.limited = new LogLimiter(this.log);
    this.redelivery = {
      ...(opts.maxDeliver !== undefined ? { maxDeliver: opts.maxDeliver } : {}),
      ...(opts.redeliveryBackoff !== undefined ? { backoff: opts.redeliveryBackoff } : {}),
      onExhausted: (m, lastError, deliveries) => this.deadLetterExhausted(m, lastError, deliveries),
    };
    this.cache = new LRUCache({ max: opts.cacheEntries ?? 100_000 });
  }

  /** Opens `atp_<r>`, ensures the durable consumer and starts consuming. The stream must exist. */
  async start(): Promise<void> {
    if (this.loop) return;
    const domain = this.opts.domain ?? this.region;
    const js = jetstream(this.opts.nc, { domain });
    const jsm = await jetstreamManager(this.opts.nc, { domain });
    this.kv = await ensureAtpBucket(new Kvm(js), this.region);
    this.reservationsKv = await ensureAtpReservationsBucket(new Kvm(js), this.region);
    this.deadLetters = new DeadLetterPublisher(js, this.region, this.log);
    this.loop = await consumeDurable(js, jsm, this.stream, this.durable, (batch) => this.handle(batch), {
      log: this.log,
      batchMax: this.opts.batchMax,
      maxAckPending: this.opts.maxAckPending ?? 4096,
      redelivery: this.redelivery,
    });
    this.log.info({ stream: this.stream, durable: this.durable, domain }, "regional projector started");
  }

  async stop(): Promise<void> {
    const loop = this.loop;
    this.loop = undefined;
    await loop?.stop();
    this.limited.stop();
    this.log.info(this.stats, "regional projector stopped");
  }

  private async entryOf(key: string): Promise<RegionalAtpEntry | undefined> {
    const cached = this.cache.get(key);
    if (cached) return cached;
    const stored = await this.kv!.get(key);
    if (stored?.operation !== "PUT" || stored.length === 0) return undefined;
    const entry = JSON.parse(td.decode(stored.value)) as RegionalAtpEntry;
    this.cache.set(key, entry);
    return entry;
  }

  /** Stages what an event does to one reservation; a partial consumption keeps the other fields. */
  private async stageReservation(
    staged: Map<string, ReservationView | null>,
    position: { location: string; sku: string },
    c: ReservationChange,
  ): Promise<void> {
    const id = c.kind === "put" ? c.view.reservationId : c.reservationId;
    const key = regionalReservationKey(position.location, position.sku, id);
    if (c.kind === "put") staged.set(key, c.view);
    else if (c.kind === "delete") staged.set(key, null);
    else {
      let current = staged.get(key);
      if (current === undefined) {
        const stored = await this.reservationsKv!.get(key);
        current =
          stored?.operation === "PUT" && stored.length > 0
            ? (JSON.parse(td.decode(stored.value)) as ReservationView)
            : null;
      }
      if (current) staged.set(key, { ...current, quantity: c.quantity });
    }
  }

  /** Gives an event back for a later delivery, or dead-letters it at its last one. */
  private giveBack(m: JsMsg, error: string): Promise<void> {
    return giveBack(m, error, giveBackPolicy(this.redelivery)).catch(() => {});
  }

  /** An event not applied after `max_deliver` deliveries: a dead letter with the last error (once per sequence). */
  private async deadLetterExhausted(m: JsMsg, lastError: string, deliveries: number): Promise<boolean> {
    const raw = parsedOrUndefined(m.data);
    const dl = this.deadLetters!.build({
      reason: "redeliveryExhausted",
      code: "notProjected",
      message: `event ${this.stream}#${m.seq} not applied to the ATP read model after ${deliveries} deliveries (the position's next event fills it from the store); last error: ${lastError}`,
      details: { deliveries, lastError, projector: this.durable },
      raw,
      payload: m.data,
      intake: { via: "jetstream", subject: m.subject, streamSequence: m.seq },
    });
    try {
      await this.deadLetters!.send(dl, `exhausted:${this.durable}:${this.stream}:${m.seq}`);
      return true;
    } catch (err) {
      this.log.error({ err, seq: m.seq }, "exhausted event: dead letter not stored");
      return false;
    }
  }

  /** True once the dead letter is stored (idempotent per stream sequence), false if it could not be. */
  private async deadLetterUndecodable(m: JsMsg, err: Error): Promise<boolean> {
    const raw = parsedOrUndefined(m.data);
    const dl = this.deadLetters!.build({
      reason: "undecodableEvent",
      code: raw === undefined ? "malformedJson" : "decode",
      message: `event ${this.stream}#${m.seq} (${m.headers?.get("Nats-Msg-Id") || "no msg id"}) is not a canonical event, the ATP read model skips it: ${err.message}`,
      raw,
      payload: m.data,
      intake: { via: "jetstream", subject: m.subject, streamSequence: m.seq },
    });
    try {
      await this.deadLetters!.send(dl, `undecodable-event:${this.stream}:${m.seq}`);
      return true;
    } catch (sendErr) {
      this.log.error({ err: sendErr, seq: m.seq }, "undecodable event: dead letter not stored; will retry");
      return false;
    }
  }

  private async handle(batch: JsMsg[]): Promise<void> {
    const labels = { projector: "regional", region: this.region };
    const dirty = new Map<string, RegionalAtpEntry>();
    const reservations = new Map<string, ReservationView | null>();
    const done: JsMsg[] = [];
    const appliedTimes: number[] = [];
    const businessTimes: string[] = [];
    // Keys whose event could not be applied in this batch: later events of that position wait too.
    const blocked = new Set<string>();
    for (const m of batch) {
      metrics.pending.set(labels, m.info.pending);
      let event: CanonicalEvent;
      try {
        event = decodeEventMessage(m);
      } catch (err) {
        // Not a canonical event: it can never be applied. It goes to the region's dead letters (the
        // event stream keeps the original), and only then off the consumer's way.
        if (!(await this.deadLetterUndecodable(m, err as Error))) {
          this.stats.retried++;
          await this.giveBack(
            m,
            `undecodable, and its dead letter was not stored: ${(err as Error).message}`,
          );
          continue;
        }
        this.stats.rejected++;
        metrics.events.inc({ ...labels, result: "rejected" });
        // No reason text: nats-server 2.9 does not parse `+TERM <reason>` and would leave it pending.
        m.term();
        continue;
      }
      const key = regionalAtpKey(event.position.location, event.position.sku);
      if (blocked.has(key)) {
        await this.giveBack(m, "an earlier event of its position in the same batch was not applied");
        continue;
      }
      try {
        const current = dirty.get(key) ?? (await this.entryOf(key));
        const r = await applyWithGapFill(current, event, this.opts.readStream);
        if (r.filled > 0) {
          this.stats.filledFromStore += r.filled;
          metrics.events.inc({ ...labels, result: "filled" }, r.filled);
          positionLogger(this.log, { ...event.position, correlationId: event.correlationId }).warn(
            { filled: r.filled, revision: event.revision },
            "revision gap filled from the event store",
          );
        }
        for (const applied of r.applied) {
          const change = reservationChange(applied);
          if (change) await this.stageReservation(reservations, applied.position, change);
        }
        if (r.result === "applied" && r.entry) {
          dirty.set(key, r.entry);
          this.cache.set(key, r.entry);
          this.stats.applied++;
          metrics.events.inc({ ...labels, result: "applied" });
          appliedTimes.push(Date.parse(event.recordedTime));
          businessTimes.push(event.businessTime);
        } else {
          this.stats.duplicates++;
          metrics.events.inc({ ...labels, result: "duplicate" });
        }
        done.push(m);
      } catch (err) {
        blocked.add(key);
        this.stats.retried++;
        metrics.events.inc({ ...labels, result: "retried" });
        this.limited.error(
          "event not applied",
          { err, revision: event.revision, ...event.position, correlationId: event.correlationId },
          "event not applied; will be redelivered",
        );
        await this.giveBack(m, (err as Error)?.message ?? String(err));
      }
    }
    try {
      // Reservations first: an entry is the checkpoint of its events (a redelivered event below its
      // revision is a duplicate), so what the events did to reservations must be stored before it.
      await Promise.all(
        [...reservations].map(([key, view]) =>
          view
            ? this.reservationsKv!.put(key, te.encode(JSON.stringify(view)))
            : this.reservationsKv!.delete(key),
        ),
      );
      await Promise.all(
        [...dirty].map(([key, entry]) => this.kv!.put(key, te.encode(JSON.stringify(entry)))),
      );
    } catch (err) {
      // The cache ran ahead of the KV: forget those entries so the redelivered events are applied again.
      for (const key of dirty.keys()) this.cache.delete(key);
      throw err;
    }
    observeProjectionLatency(labels, appliedTimes);
    for (const b of businessTimes) observeSyncLatency("projected", this.region, b);
    for (const m of done) m.ack();
  }
}

/** The message's JSON for a dead letter's `raw`, or undefined when it is not JSON. */
function parsedOrUndefined(data: Uint8Array): unknown {
  try {
    return JSON.parse(td.decode(data));
  } catch {
    return undefined;
  }
}
