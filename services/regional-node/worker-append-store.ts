/**
 * The SQLite event store with its writes in a worker thread (`append-worker.ts`). Measured with
 * `test/regional-node/latency-probe.ts` at 1200 commands/s: the main thread spent about a third of its
 * wall time inside the commit (most of it waiting for fsync with synchronous=FULL), time in which no
 * command could be decided and no event relayed. Here the main thread only hands the batch over; reads
 * (rehydration, relay) stay on the main thread's own connection. Every append goes through the worker,
 * so there is still exactly one writer and the expected-revision check stays in the store.
 *
 * `onAppended` fires when a worker commit returns (the main connection sees the commit by then);
 * `onCommitted` hands over, just before, the committed events as the log holds them, so the relay
 * can publish them without reading them back.
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import {
  type AppendBatchItem,
  type AppendBatchOutcome,
  type AppendOptions,
  type AppendResult,
  appendOneOf,
  type EventStore,
  type ExpectedRevision,
  type ListStreamsOptions,
  type NewEvent,
  type ReadAllOptions,
  type ReadStreamOptions,
  type RecordedEvent,
  WrongExpectedRevisionError,
} from "../../infra/event-store/event-store.ts";
import {
  committedEvents,
  type RawLogEvent,
  type SqliteEventStore,
  type SqliteSynchronous,
  serialiseBatch,
} from "../../infra/event-store/sqlite-event-store.ts";
import type { WireOutcome } from "./append-worker.ts";

const workerFile = fileURLToPath(new URL("./append-worker.ts", import.meta.url));
/** An esbuild bundle of the worker beside an esbuild bundle of the node (the profiling benchmark). */
const bundledWorker = new URL("./append-worker.mjs", import.meta.url);

/**
 * The worker runs TypeScript: its bootstrap registers tsx itself, so it loads the same way under tsx,
 * vitest and `node --import tsx`. Inside a bundle it runs `append-worker.mjs` when that was bundled
 * too. False when neither is there: then the caller keeps writing on the main thread.
 */
export const appendWorkerAvailable = (): boolean =>
  existsSync(workerFile) || existsSync(fileURLToPath(bundledWorker));

const BOOTSTRAP = `
const { register } = await import("tsx/esm/api");
register();
await import(${JSON.stringify(new URL("./append-worker.ts", import.meta.url).href)});
`;

type Waiter = { resolve: (v: WireOutcome[]) => void; reject: (e: Error) => void };

export class WorkerAppendStore implements EventStore {
  private readonly worker: Worker;
  private readonly ready: Promise<void>;
  private readonly waiting = new Map<number, Waiter>();
  private readonly listeners = new Set<(lastGlobalPosition: number) => void>();
  private readonly committedListeners = new Set<(events: readonly RawLogEvent[]) => void>();
  private nextId = 1;
  private closed: Promise<void> | undefined;
  private failure: Error | undefined;

  constructor(
    private readonly reader: SqliteEventStore,
    opts: { readonly path: string; readonly synchronous: SqliteSynchronous },
  ) {
    const workerData = { path: opts.path, synchronous: opts.synchronous };
    this.worker = existsSync(workerFile)
      ? // the worker needs no loader flags of its parent (vitest's, tsx's): it registers tsx itself
        new Worker(BOOTSTRAP, { eval: true, workerData, execArgv: [] })
      : // a bundle runs without loaders; it keeps the parent's flags (`--cpu-prof` profiles it too)
        new Worker(bundledWorker, { workerData });
    this.ready = new Promise<void>((resolve, reject) => {
      this.worker.on(
        "message",
        (m: { id: number; ready?: true; outcomes?: WireOutcome[]; error?: string }) => {
          if (m.ready) return resolve();
          const w = this.waiting.get(m.id);
          if (!w) return;
          this.waiting.delete(m.id);
          if (m.outcomes) w.resolve(m.outcomes);
          else w.reject(new Error(m.error ?? "append worker answered nothing"));
        },
      );
      const fail = (err: Error) => {
        this.failure = err;
        reject(err);
        for (const w of this.waiting.values()) w.reject(err);
        this.waiting.clear();
      };
      this.worker.on("error", fail);
      this.worker.on("exit", (code) => fail(new Error(`append worker exited with ${code}`)));
    });
    this.ready.catch(() => {}); // surfaced by the next append
  }

  /** Resolves once the worker has opened the database. */
  async start(): Promise<void> {
    await this.ready;
  }

  readAllRaw(options: ReadAllOptions): RawLogEvent[] {
    return this.reader.readAllRaw(options);
  }

  async appendMany(batch: readonly AppendBatchItem[]): Promise<AppendBatchOutcome[]> {
    if (batch.length === 0) return [];
    await this.ready;
    if (this.failure) throw this.failure;
    const items = serialiseBatch(batch);
    const id = this.nextId++;
    const wire = await new Promise<WireOutcome[]>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.worker.postMessage({ id, items });
    });
    let last = 0;
    const outcomes = wire.map((o, i): AppendBatchOutcome => {
      if (o.ok) {
        if ((batch[i]?.events.length ?? 0) > 0 && o.lastGlobalPosition > last) last = o.lastGlobalPosition;
        return o;
      }
      return {
        ok: false,
        error: new WrongExpectedRevisionError(
          o.streamId,
          o.expected as ExpectedRevision,
          o.actual as ConstructorParameters<typeof WrongExpectedRevisionError>[2],
        ),
      };
    });
    if (last > 0) {
      // Replies come in commit order, and so do these calls: listeners see the log in order.
      if (this.committedListeners.size > 0) {
        const events = committedEvents(items, outcomes);
        for (const l of this.committedListeners) l(events);
      }
      for (const l of this.listeners) queueMicrotask(() => l(last));
    }
    return outcomes;
  }

  async appendToStream(
    streamId: string,
    events: readonly NewEvent[],
    options: AppendOptions,
  ): Promise<AppendResult> {
    return appendOneOf((items) => this.appendMany(items), streamId, events, options);
  }

  readStream(streamId: string, options?: ReadStreamOptions): Promise<RecordedEvent[]> {
    return this.reader.readStream(streamId, options);
  }

  streamRevision(streamId: string): Promise<number | null> {
    return this.reader.streamRevision(streamId);
  }

  readAll(options: ReadAllOptions): Promise<RecordedEvent[]> {
    return this.reader.readAll(options);
  }

  onAppended(listener: (lastGlobalPosition: number) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** Called synchronously with the events of each commit, in commit order; must not throw. */
  onCommitted(listener: (events: readonly RawLogEvent[]) => void): () => void {
    this.committedListeners.add(listener);
    return () => {
      this.committedListeners.delete(listener);
    };
  }

  listStreams(options?: ListStreamsOptions): Promise<string[]> {
    return this.reader.listStreams(options);
  }

  close(): Promise<void> {
    this.closed ??= (async () => {
      this.listeners.clear();
      this.committedListeners.clear();
      if (!this.failure) {
        const id = this.nextId++;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 5_000);
          this.worker.on("message", (m: { id: number }) => {
            if (m.id === id) {
              clearTimeout(timer);
              resolve();
            }
          });
          this.worker.postMessage({ id, close: true });
        });
      }
      await this.worker.terminate();
      await this.reader.close();
    })();
    return this.closed;
  }
}
