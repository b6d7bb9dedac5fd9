/**
 * Group commit: appends requested by many position actors are gathered and written with ONE
 * `appendMany` call (one SQLite transaction, one fsync) when the batch is full or on the next turn
 * of the event loop, whichever comes first. Each caller gets its own item's outcome; a conflict on
 * one stream does not fail the others (the store reports it in that item's slot).
 *
 * At most one `appendMany` runs at a time; what arrives meanwhile forms the next batch, so under load
 * batches grow by themselves to what one commit can carry.
 */
import type {
  AppendBatchItem,
  AppendBatchOutcome,
  EventStore,
  NewEvent,
} from "../../infra/event-store/event-store.ts";
import { histogram } from "../../infra/metrics.ts";
import { observeEventsSyncLatency } from "../../infra/sync-metrics.ts";

interface Pending {
  readonly item: AppendBatchItem;
  readonly resolve: (o: AppendBatchOutcome) => void;
  readonly reject: (e: unknown) => void;
}

const batchSizes = histogram(
  "stockline_node_commit_batch_size",
  "Appends per group commit",
  ["region"],
  [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500],
);
const commitSeconds = histogram(
  "stockline_node_commit_seconds",
  "Duration of one group commit",
  ["region"],
  [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
);

export class GroupCommitter {
  private queue: Pending[] = [];
  private flushing = false;
  private scheduled = false;
  private idleWaiters: Array<() => void> = [];
  private batches = 0;
  private items = 0;
  private commitMs = 0;
  private maxCommitMs = 0;

  constructor(
    private readonly store: Pick<EventStore, "appendMany">,
    private readonly opts: {
      readonly region: string;
      readonly maxBatch: number;
      /** Runs after each commit (the runtime writes the snapshots that commit made due). */
      readonly afterCommit?: () => void;
    },
  ) {}

  get stats(): {
    batches: number;
    items: number;
    averageBatch: number;
    commitMs: number;
    maxCommitMs: number;
  } {
    return {
      maxCommitMs: Math.round(this.maxCommitMs),
      batches: this.batches,
      items: this.items,
      averageBatch: this.batches ? this.items / this.batches : 0,
      commitMs: Math.round(this.commitMs),
    };
  }

  append(
    streamId: string,
    events: readonly NewEvent[],
    expectedRevision: number,
  ): Promise<AppendBatchOutcome> {
    return new Promise((resolve, reject) => {
      this.queue.push({ item: { streamId, events, expectedRevision }, resolve, reject });
      if (this.queue.length >= this.opts.maxBatch && !this.flushing) void this.flush();
      else this.schedule();
    });
  }

  /** Resolves when nothing is queued or being written. */
  async drain(): Promise<void> {
    while (this.flushing || this.queue.length > 0) {
      this.schedule();
      await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    }
  }

  private schedule(): void {
    if (this.scheduled || this.flushing) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.flush();
    });
  }

  private async flush(): Promise<void> {
    if (this.flushing) return;
    this.flushing = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, this.opts.maxBatch);
        const started = performance.now();
        try {
          const outcomes = await this.store.appendMany(batch.map((p) => p.item));
          const took = performance.now() - started;
          this.commitMs += took;
          if (took > this.maxCommitMs) this.maxCommitMs = took;
          batchSizes.observe({ region: this.opts.region }, batch.length);
          commitSeconds.observe({ region: this.opts.region }, took / 1000);
          this.batches++;
          this.items += batch.length;
          try {
            this.opts.afterCommit?.();
          } catch {
            // snapshots are a cache; failing to write one must not fail the commit
          }
          const now = Date.now();
          batch.forEach((p, i) => {
            const o = outcomes[i];
            if (o) p.resolve(o);
            else p.reject(new Error("event store returned no outcome for an append"));
            if (o?.ok) observeEventsSyncLatency("applied", this.opts.region, p.item.events, now);
          });
        } catch (err) {
          for (const p of batch) p.reject(err);
        }
        // Let the callers that were just resolved decide their next commands into the next batch.
        if (this.queue.length < this.opts.maxBatch) await new Promise<void>((r) => setImmediate(r));
      }
    } finally {
      this.flushing = false;
      for (const wake of this.idleWaiters.splice(0)) wake();
    }
  }
}
