/**
 * The relay (DESIGN §3.1, §3.2): tails the event store's global log from a persisted checkpoint and
 * publishes every committed event to `inv.evt.<r>.<location>.<sku>` with
 * `Nats-Msg-Id = <region>:<streamId>:<revision>`, many publishes in flight (`RelayPublisher`),
 * no `Nats-Expected-*` headers. The checkpoint is the end of the contiguous acknowledged prefix, so
 * after a crash or a NATS outage the relay resumes from it and the stream's deduplication absorbs what
 * was published twice.
 *
 * The transfer process manager rides on the same tail: a `TransferShipped` at an origin position
 * leads to `recordInboundTransfer` at the destination (deterministic idempotency key, so re-deriving
 * it is a duplicate). It keeps its own checkpoint, saved only once the derived commands are durable.
 */
import { type JetStreamClient, jetstream } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "pino";
import type { CanonicalEvent, CanonicalEventOf } from "../../domain/canonical-event.ts";
import { parsePositionStreamId } from "../../domain/ids.ts";
import { inboundTransferCommandFor } from "../../domain/position.decider.ts";
import type { EventStore, ReadAllOptions } from "../../infra/event-store/event-store.ts";
import type { RawLogEvent } from "../../infra/event-store/sqlite-event-store.ts";
import { counter, gauge } from "../../infra/metrics.ts";
import { PublishPipelineBrokenError } from "../../infra/nats/pipelined-publisher.ts";
import { cmdSubject, evtSubject } from "../../infra/nats/subjects.ts";
import type { NodeDb } from "./node-db.ts";
import type { HandleResult } from "./position-runtime.ts";
import { RelayPublisher } from "./relay-publisher.ts";

const relayed = counter("stockline_node_relayed_events_total", "Events relayed to INV_EVT", ["region"]);
const relayLag = gauge(
  "stockline_node_relay_lag_events",
  "Committed events not yet acknowledged by INV_EVT",
  ["region"],
);

export interface RelayOptions {
  readonly region: string;
  readonly nc: NatsConnection;
  /** With `readAllRaw` (SQLite), events are published as the JSON text the store holds, never re-serialised. */
  readonly store: Pick<EventStore, "readAll" | "onAppended"> & {
    readAllRaw?: (options: ReadAllOptions) => readonly RawLogEvent[];
    /** Each commit's events as stored (WorkerAppendStore): the live tail is published without a read. */
    onCommitted?: (listener: (events: readonly RawLogEvent[]) => void) => () => void;
  };
  readonly nodeDb: NodeDb;
  readonly window: number;
  readonly batch: number;
  readonly checkpointEveryMs: number;
  readonly logger: Logger;
  /** Decides a derived command locally (destination in this region). */
  readonly submitLocal: (command: ReturnType<typeof inboundTransferCommandFor>) => Promise<HandleResult>;
  /** Reports a derived command the destination refused (dead letter); must resolve once durable. */
  readonly onDerivedRejected: (
    command: ReturnType<typeof inboundTransferCommandFor>,
    result: HandleResult,
  ) => Promise<void>;
}

const delay = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const encoder = new TextEncoder();
const ignore = () => {};

/** One event of the global log as the relay needs it: where it goes and the bytes to send. */
interface LogItem {
  readonly globalPosition: number;
  readonly streamId: string;
  readonly revision: number;
  readonly type: string;
  readonly subject: string;
  readonly body: Uint8Array;
  /** The stored JSON text, parsed only for the events the transfer process manager needs. */
  readonly event: () => CanonicalEvent;
}

/** Subjects by stream id, so the relay does not re-encode them for every event (bounded). */
const SUBJECT_CACHE_MAX = 100_000;
/** Committed events held for the relay; beyond this it has fallen behind and reads the store instead. */
const TAIL_MAX = 50_000;

export class Relay {
  private readonly js: JetStreamClient;
  private readonly log: Logger;
  private readonly relayName: string;
  private readonly transferName: string;
  private stopped = false;
  private wake: (() => void) | undefined;
  private unsubscribe: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  /** Highest global position the store told us about. */
  private known = 0;
  private ackedThrough = 0;
  private transferCheckpoint = 0;
  private lastSaved = 0;
  private savedRelay = -1;
  private savedTransfer = -1;
  private drainWaiters: Array<() => void> = [];
  private readonly subjects = new Map<string, string>();
  /** Events of our own recent commits not yet read, in log order (`tailHead` is the first unread). */
  private tail: RawLogEvent[] = [];
  private tailHead = 0;
  private stopTail: (() => void) | undefined;
  /** A commit of ours came while the relay was not waiting for one (it was publishing or settling). */
  private committedUnseen = false;
  /** Whether the store may hold events the relay was not told about (start, after the idle timeout). */
  private readStore = true;

  constructor(private readonly o: RelayOptions) {
    this.js = jetstream(o.nc);
    this.log = o.logger.child({ component: "relay", region: o.region });
    this.relayName = `relay:${o.region}`;
    this.transferName = `transfers:${o.region}`;
  }

  get checkpoint(): number {
    return this.ackedThrough;
  }

  start(): void {
    this.ackedThrough = this.o.nodeDb.getCheckpointSync(this.relayName) ?? 0;
    this.transferCheckpoint = this.o.nodeDb.getCheckpointSync(this.transferName) ?? 0;
    this.known = Math.max(this.ackedThrough, this.transferCheckpoint);
    this.stopTail = this.o.store.onCommitted?.((events) => {
      if (this.tail.length - this.tailHead + events.length > TAIL_MAX) this.dropTail();
      for (const e of events) this.tail.push(e);
    });
    this.unsubscribe = this.o.store.onAppended((p) => {
      if (p > this.known) this.known = p;
      if (this.wake) this.wake();
      else this.committedUnseen = true;
    });
    this.loop = this.run();
  }

  /**
   * Resolves true once the relay found nothing more to read after everything it published was
   * acknowledged (call after the runtime drained: then everything committed is in the stream).
   */
  async drain(timeoutMs = 30_000): Promise<boolean> {
    if (this.stopped) return false;
    const caughtUp = new Promise<boolean>((r) => this.drainWaiters.push(() => r(true)));
    this.wake?.();
    return Promise.race([caughtUp, delay(timeoutMs).then(() => false)]);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    this.stopTail?.();
    this.dropTail();
    this.wake?.();
    await this.loop;
    this.saveCheckpoints(true);
  }

  private saveCheckpoints(force = false): void {
    const now = Date.now();
    if (!force && now - this.lastSaved < this.o.checkpointEveryMs) return;
    relayLag.set({ region: this.o.region }, Math.max(0, this.known - this.ackedThrough));
    if (this.ackedThrough === this.savedRelay && this.transferCheckpoint === this.savedTransfer) return;
    this.lastSaved = now;
    this.savedRelay = this.ackedThrough;
    this.savedTransfer = this.transferCheckpoint;
    this.o.nodeDb.saveCheckpoints(
      [
        [this.relayName, this.ackedThrough],
        [this.transferName, this.transferCheckpoint],
      ],
      // The throttled saves under load skip their fsync (node-db.ts); forced ones (stop, break) sync.
      { relaxed: !force },
    );
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      const publisher = new RelayPublisher<number>(this.o.nc, {
        window: this.o.window,
        ackTimeoutMs: 5_000,
      });
      try {
        await this.pump(publisher);
        await this.settle(publisher);
      } catch (err) {
        if (err instanceof PublishPipelineBrokenError) {
          await this.settle(publisher).catch(() => {});
          this.log.warn(
            { err: err.message, ackedThrough: this.ackedThrough },
            "relay publish pipeline broken; resuming from checkpoint when NATS is back",
          );
        } else {
          this.log.error({ err }, "relay failed; retrying from checkpoint");
        }
        this.saveCheckpoints(true);
        await this.waitForNats();
      } finally {
        publisher.close();
      }
    }
  }

  /** Waits for in-flight publishes and folds the watermark into the checkpoint. */
  private async settle(publisher: RelayPublisher<number>): Promise<void> {
    try {
      await publisher.flush();
    } finally {
      const w = publisher.ackedThrough;
      if (w !== undefined && w > this.ackedThrough) this.ackedThrough = w;
    }
  }

  private async pump(publisher: RelayPublisher<number>): Promise<void> {
    let pos = Math.min(this.ackedThrough, this.transferCheckpoint);
    while (!this.stopped) {
      const batch = await this.read(pos);
      if (batch.length === 0) {
        // Caught up. A commit landing while acks are in flight is published at once, not after them.
        if (publisher.inFlight > 0 && (await this.waitForCommit(publisher.whenIdle()))) continue;
        await this.settle(publisher);
        // Throttled like the busy path: under light load the relay goes idle after nearly every
        // commit, and a forced save here was one synchronous FULL fsync of node.db per commit on the
        // event loop (measured: ~19% of the main thread at 1200 commands/s). The checkpoint only
        // bounds what is republished after a crash (deduplicated by Nats-Msg-Id); stop() forces it.
        this.saveCheckpoints();
        for (const w of this.drainWaiters.splice(0)) w();
        // Woken by our own commits; the timeout catches other writers of a shared store (and saves
        // a checkpoint the throttle held back).
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<void>((resolve) => {
          timer = setTimeout(resolve, 250);
        });
        if (!(await this.waitForCommit(timeout))) this.readStore = true;
        clearTimeout(timer);
        continue;
      }
      const transfers: Promise<void>[] = [];
      for (const e of batch) {
        if (e.globalPosition > this.ackedThrough) {
          const msg = {
            subject: e.subject,
            data: e.body,
            msgId: `${this.o.region}:${e.streamId}:${e.revision}`,
            position: e.globalPosition,
          };
          // Published back to back while the window has room, so nats.js writes them to the socket
          // together; only a full window (or a broken pipeline, which throws) is awaited. A failure
          // of a publish not awaited here breaks the pipeline, and the next publish or flush throws.
          if (publisher.inFlight < publisher.window && !publisher.isBroken)
            publisher.publish(msg).catch(ignore);
          else await publisher.publish(msg);
        }
        if (e.type === "TransferShipped" && e.globalPosition > this.transferCheckpoint) {
          transfers.push(this.dispatchTransfer(e.event() as CanonicalEventOf<"TransferShipped">));
        }
      }
      const last = batch[batch.length - 1]!.globalPosition;
      if (last > this.known) this.known = last;
      relayed.inc({ region: this.o.region }, batch.length);
      if (transfers.length > 0) await Promise.all(transfers); // throws: the outer loop restarts from checkpoints
      if (last > this.transferCheckpoint) this.transferCheckpoint = last;
      pos = last;
      const w = publisher.ackedThrough;
      if (w !== undefined && w > this.ackedThrough) this.ackedThrough = w;
      this.saveCheckpoints();
    }
  }

  /**
   * Resolves true on a commit of ours (or at once if one came while the relay was not waiting), false
   * when `until` settles first.
   */
  private async waitForCommit(until: Promise<unknown>): Promise<boolean> {
    if (this.committedUnseen) {
      this.committedUnseen = false;
      return true;
    }
    const woken = await new Promise<boolean>((resolve) => {
      this.wake = () => resolve(true);
      void until.then(() => resolve(false));
    });
    this.wake = undefined;
    return woken;
  }

  private dropTail(): void {
    this.tail = [];
    this.tailHead = 0;
  }

  /**
   * The log after `fromPosition` from the events our commits handed over, if they continue it without
   * a gap; undefined when they do not (after a restart, a break, another writer): then read the store.
   */
  private fromTail(fromPosition: number): RawLogEvent[] | undefined {
    const tail = this.tail;
    let head = this.tailHead;
    while (head < tail.length && tail[head]!.globalPosition <= fromPosition) head++;
    const out: RawLogEvent[] = [];
    let next = fromPosition + 1;
    while (head < tail.length && out.length < this.o.batch && tail[head]!.globalPosition === next) {
      out.push(tail[head]!);
      head++;
      next++;
    }
    if (head === tail.length) this.dropTail();
    else if (head > 4096 && head * 2 > tail.length) {
      this.tail = tail.slice(head);
      this.tailHead = 0;
    } else this.tailHead = head;
    return out.length > 0 ? out : undefined;
  }

  private async read(fromPosition: number): Promise<LogItem[]> {
    const options = { fromPosition, maxCount: this.o.batch };
    if (this.o.store.readAllRaw) {
      let rows: readonly RawLogEvent[] | undefined = this.fromTail(fromPosition);
      if (rows === undefined) {
        // Nothing of ours is unread: no query (one per commit under light load). `readStore` is set
        // until a read reaches the head, and by the idle timeout (other writers of a shared store).
        if (!this.readStore && fromPosition >= this.known) return [];
        const read = this.o.store.readAllRaw(options);
        this.readStore = read.length === options.maxCount;
        rows = read;
      }
      return rows.map((r) => {
        let event: CanonicalEvent | undefined;
        const parse = () => {
          event ??= JSON.parse(r.data) as CanonicalEvent;
          return event;
        };
        return {
          globalPosition: r.globalPosition,
          streamId: r.streamId,
          revision: r.revision,
          type: r.type,
          subject: this.subjectOf(r.streamId, parse),
          body: encoder.encode(r.data),
          event: parse,
        };
      });
    }
    return (await this.o.store.readAll(options)).map((e) => {
      const data = e.data as CanonicalEvent;
      return {
        globalPosition: e.globalPosition,
        streamId: e.streamId,
        revision: e.revision,
        type: e.type,
        subject: evtSubject(this.o.region, data.position.location, data.position.sku),
        body: encoder.encode(JSON.stringify(data)),
        event: () => data,
      };
    });
  }

  /** The event subject of a position stream, from its id (or from the event, for any other stream). */
  private subjectOf(streamId: string, event: () => CanonicalEvent): string {
    let subject = this.subjects.get(streamId);
    if (subject === undefined) {
      const position = parsePositionStreamId(streamId) ?? event().position;
      subject = evtSubject(this.o.region, position.location, position.sku);
      if (this.subjects.size >= SUBJECT_CACHE_MAX) this.subjects.clear();
      this.subjects.set(streamId, subject);
    }
    return subject;
  }

  private async dispatchTransfer(shipped: CanonicalEventOf<"TransferShipped">): Promise<void> {
    const command = inboundTransferCommandFor(
      shipped as Extract<CanonicalEvent, { type: "TransferShipped" }>,
    );
    if (command.position.region === this.o.region) {
      const result = await this.o.submitLocal(command);
      if (result.kind === "accepted" || result.kind === "duplicate" || result.kind === "parked") return;
      if (result.kind === "failed")
        throw new Error(`inbound transfer ${command.idempotencyKey}: ${result.error}`);
      await this.o.onDerivedRejected(command, result);
      return;
    }
    // Another region: its intake stream deduplicates by the deterministic key.
    await this.js.publish(
      cmdSubject(command.position.region, command.position.location, command.position.sku),
      JSON.stringify(command),
      { msgID: command.idempotencyKey, timeout: 5_000 },
    );
  }

  private async waitForNats(): Promise<void> {
    while (!this.stopped) {
      try {
        await Promise.race([
          this.o.nc.flush(),
          delay(1_000).then(() => {
            throw new Error("flush timeout");
          }),
        ]);
        if (!this.o.nc.isClosed()) return;
      } catch {
        // still down
      }
      await delay(250);
    }
  }
}
