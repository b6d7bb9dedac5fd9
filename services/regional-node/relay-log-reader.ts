/**
 * What the relay reads (relay.ts): the store's global log after a position, from the events our own
 * commits handed over (`onCommitted`, no query) wherever they continue the log without a gap, from the
 * store otherwise (after a restart, a break, another writer of a shared store). Each event comes with
 * its subject, or the reason none can be made for it.
 */
import type { CanonicalEvent } from "../../domain/canonical-event.ts";
import { parsePositionStreamId } from "../../domain/ids.ts";
import { BoundedMemo } from "../../infra/bounded-memo.ts";
import type { EventStore, ReadAllOptions } from "../../infra/event-store/event-store.ts";
import type { RawLogEvent } from "../../infra/event-store/sqlite-event-store.ts";
import { evtSubject } from "../../infra/nats/subjects.ts";

/** One event of the global log as the relay needs it: where it goes and the bytes to send. */
export interface LogItem {
  readonly globalPosition: number;
  readonly streamId: string;
  readonly revision: number;
  readonly type: string;
  /** Undefined when no subject can be made for it (`problem` says why). */
  readonly subject: string | undefined;
  readonly problem?: string;
  /** The event as stored JSON text. */
  readonly text: string;
  readonly body: Uint8Array;
  /** The stored JSON text, parsed only for the events the transfer process manager needs. */
  readonly event: () => CanonicalEvent;
}

export type RelayStore = Pick<EventStore, "readAll" | "onAppended"> & {
  /** With it (SQLite), events are published as the JSON text the store holds, never re-serialised. */
  readAllRaw?: (options: ReadAllOptions) => readonly RawLogEvent[];
  /** Each commit's events as stored (WorkerAppendStore): the live tail is published without a read. */
  onCommitted?: (listener: (events: readonly RawLogEvent[]) => void) => () => void;
};

/** Subjects by stream id, so the relay does not re-encode them for every event (bounded). */
const SUBJECT_CACHE_MAX = 100_000;
/** Committed events held for the relay; beyond this it has fallen behind and reads the store instead. */
const TAIL_MAX = 50_000;

export class RelayLogReader {
  private readonly subjects = new BoundedMemo<string>(SUBJECT_CACHE_MAX);
  /** Events of our own recent commits not yet read, in log order (`tailHead` is the first unread). */
  private tail: RawLogEvent[] = [];
  private tailHead = 0;
  private stopTail: (() => void) | undefined;
  /** Whether the store may hold events the relay was not told about (start, after the idle timeout). */
  private readStore = true;

  constructor(
    private readonly region: string,
    private readonly store: RelayStore,
    private readonly batch: number,
  ) {}

  start(): void {
    this.stopTail = this.store.onCommitted?.((events) => {
      if (this.tail.length - this.tailHead + events.length > TAIL_MAX) this.dropTail();
      for (const e of events) this.tail.push(e);
    });
  }

  stop(): void {
    this.stopTail?.();
    this.dropTail();
  }

  /** The store may hold events nobody told us about (another writer): read it next time. */
  markStoreUnread(): void {
    this.readStore = true;
  }

  /** Up to a batch of events after `fromPosition`; `known` is the highest position we were told of. */
  async read(fromPosition: number, known: number): Promise<LogItem[]> {
    const options = { fromPosition, maxCount: this.batch };
    if (this.store.readAllRaw) {
      let rows: readonly RawLogEvent[] | undefined = this.fromTail(fromPosition);
      if (rows === undefined) {
        // Nothing of ours is unread: no query (one per commit under light load). `readStore` is set
        // until a read reaches the head, and by the idle timeout (other writers of a shared store).
        if (!this.readStore && fromPosition >= known) return [];
        const read = this.store.readAllRaw(options);
        this.readStore = read.length === options.maxCount;
        rows = read;
      }
      return rows.map((r) => {
        let event: CanonicalEvent | undefined;
        const parse = () => {
          event ??= JSON.parse(r.data) as CanonicalEvent;
          return event;
        };
        return this.item(r, r.data, parse);
      });
    }
    return (await this.store.readAll(options)).map((e) => {
      const data = e.data as CanonicalEvent;
      return this.item(e, JSON.stringify(data), () => data);
    });
  }

  /** Recorded time (ms) of the first event after `position`, if there is one and it says. */
  async recordedTimeAfter(position: number): Promise<number | undefined> {
    const options = { fromPosition: position, maxCount: 1 };
    let recorded: unknown;
    try {
      if (this.store.readAllRaw) {
        const row = this.store.readAllRaw(options)[0];
        if (row) recorded = (JSON.parse(row.data) as { recordedTime?: unknown }).recordedTime;
      } else {
        recorded = ((await this.store.readAll(options))[0]?.data as { recordedTime?: unknown } | undefined)
          ?.recordedTime;
      }
    } catch {
      return undefined;
    }
    const at = typeof recorded === "string" ? Date.parse(recorded) : Number.NaN;
    return Number.isFinite(at) ? at : undefined;
  }

  private item(
    e: Pick<RawLogEvent, "globalPosition" | "streamId" | "revision" | "type">,
    text: string,
    event: () => CanonicalEvent,
  ): LogItem {
    const { subject, problem } = this.subjectOf(e.streamId, event);
    return {
      globalPosition: e.globalPosition,
      streamId: e.streamId,
      revision: e.revision,
      type: e.type,
      subject,
      ...(problem !== undefined ? { problem } : {}),
      text,
      // Buffer.from, not TextEncoder: a third of the CPU for event-sized texts (pooled, no native call each).
      body: Buffer.from(text, "utf8"),
      event,
    };
  }

  /**
   * The event subject of a position stream, from its id (or from the event, for any other stream);
   * a problem instead when none can be made (an id stored before the id rules, an unreadable event).
   */
  private subjectOf(
    streamId: string,
    event: () => CanonicalEvent,
  ): { subject: string | undefined; problem?: string } {
    try {
      return {
        subject: this.subjects.get(streamId, () => {
          const position = parsePositionStreamId(streamId) ?? event().position;
          return evtSubject(this.region, position.location, position.sku);
        }),
      };
    } catch (err) {
      return { subject: undefined, problem: `no event subject for it: ${(err as Error).message}` };
    }
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
    while (head < tail.length && out.length < this.batch && tail[head]!.globalPosition === next) {
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
}
