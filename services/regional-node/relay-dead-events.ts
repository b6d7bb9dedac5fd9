/**
 * What the relay does with an event it must not hold on (DESIGN §3.13): an event whose publish can
 * never succeed is dead-lettered (`unpublishableEvent`), recorded in node.db and passed; a transfer
 * that cannot be derived or delivered is dead-lettered (`transferDispatchFailed`). Each is logged.
 */
import type { Logger } from "pino";
import { counter } from "../../infra/metrics.ts";
import type { NodeDb } from "./node-db.ts";
import type { LogItem } from "./relay-log-reader.ts";
import type { RelayPublisher } from "./relay-publisher.ts";

/** An event (or a command derived from one) that goes to the dead letters instead of onwards. */
export interface DeadEvent {
  readonly reason: "unpublishableEvent" | "transferDispatchFailed";
  readonly why: string;
  readonly globalPosition?: number;
  readonly streamId?: string;
  readonly revision?: number;
  readonly type?: string;
  /** The stored event (or the command) as JSON text. */
  readonly data: string;
  readonly bytes: number;
}

const skippedEvents = counter(
  "stockline_node_relay_skipped_events_total",
  "Events the relay dead-lettered because they can never be published",
  ["region"],
);

export class RelayDeadEvents {
  constructor(
    private readonly region: string,
    private readonly nodeDb: Pick<NodeDb, "recordSkipped">,
    private readonly log: Logger,
    /** Must resolve once the dead letter is durable; without it the event is only logged (and recorded). */
    private readonly onDeadEvent: ((dead: DeadEvent) => Promise<void>) | undefined,
  ) {}

  /** The dead-letter fields of a log item. */
  of(e: LogItem): Omit<DeadEvent, "reason" | "why"> {
    return {
      globalPosition: e.globalPosition,
      streamId: e.streamId,
      revision: e.revision,
      type: e.type,
      data: e.text,
      bytes: e.body.length,
    };
  }

  /** Dead-letters an event that can never be published, records it, and lets the watermark pass it. */
  async skipUnpublishable(publisher: RelayPublisher<number>, e: LogItem, why: string): Promise<void> {
    await this.send({ ...this.of(e), reason: "unpublishableEvent", why });
    this.nodeDb.recordSkipped({
      globalPosition: e.globalPosition,
      streamId: e.streamId,
      revision: e.revision,
      reason: why,
      skippedAt: Date.now(),
    });
    skippedEvents.inc({ region: this.region });
    publisher.skip(e.globalPosition);
  }

  async send(dead: DeadEvent): Promise<void> {
    this.log.error(
      {
        reason: dead.reason,
        why: dead.why,
        globalPosition: dead.globalPosition,
        streamId: dead.streamId?.slice(0, 200),
        revision: dead.revision,
        bytes: dead.bytes,
      },
      dead.reason === "unpublishableEvent"
        ? "event cannot be published; dead-lettered and passed"
        : "transfer cannot be dispatched; dead-lettered",
    );
    await this.onDeadEvent?.(dead);
  }
}
