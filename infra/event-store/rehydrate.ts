/**
 * Rehydration of a stream's state: the latest snapshot of the current machine version, then the
 * events after it. Snapshots of another version (or that fail to decode) are ignored, so changing the
 * machine only costs a full replay, never a wrong state.
 */
import type { EventStore, RecordedEvent, SnapshotStore, SnapshotVersion } from "./event-store.ts";

export interface RehydrateArgs<State, Data> {
  store: Pick<EventStore<Data>, "readStream">;
  snapshots?: Pick<SnapshotStore<unknown>, "loadSnapshot"> | undefined;
  streamId: string;
  /** Version of the machine doing the evolving; a snapshot is used only when its version is equal. */
  version: SnapshotVersion;
  initial: () => State;
  evolve: (state: State, event: RecordedEvent<Data>) => State;
  /** Validates a stored snapshot state; return null to reject it (then the stream is replayed in full). */
  decodeSnapshot?: (state: unknown) => State | null;
  /** Events read per page while replaying. */
  pageSize?: number;
}

export interface Rehydrated<State> {
  state: State;
  /** Revision of the last event folded in; null when the stream does not exist. */
  revision: number | null;
  /** Revision of the snapshot used, or null when replayed from the start. */
  snapshotRevision: number | null;
  /** Number of events read and evolved after the snapshot. */
  eventsReplayed: number;
}

export const rehydrate = async <State, Data = unknown>(
  args: RehydrateArgs<State, Data>,
): Promise<Rehydrated<State>> => {
  const pageSize = args.pageSize ?? 1000;
  let state = args.initial();
  let revision: number | null = null;
  let snapshotRevision: number | null = null;

  const snapshot = args.snapshots ? await args.snapshots.loadSnapshot(args.streamId) : null;
  if (snapshot !== null && snapshot.version === args.version) {
    const decoded = args.decodeSnapshot ? args.decodeSnapshot(snapshot.state) : (snapshot.state as State);
    if (decoded !== null) {
      state = decoded;
      revision = snapshot.revision;
      snapshotRevision = snapshot.revision;
    }
  }

  let eventsReplayed = 0;
  for (;;) {
    const from = revision === null ? 0 : revision + 1;
    const page = await args.store.readStream(args.streamId, { from, maxCount: pageSize });
    for (const event of page) {
      state = args.evolve(state, event);
      revision = event.revision;
    }
    eventsReplayed += page.length;
    if (page.length < pageSize) break;
  }
  return { state, revision, snapshotRevision, eventsReplayed };
};

/**
 * Snapshot policy: snapshot when an append carried the stream across a multiple of `every` events.
 * `revision` is the stream's revision after the append; `previousRevision` before it (null = new
 * stream; default `revision - 1`, i.e. a single-event append).
 */
export const shouldSnapshot = (
  revision: number,
  every: number,
  previousRevision: number | null = revision - 1,
): boolean => {
  if (!Number.isInteger(every) || every <= 0)
    throw new RangeError(`every must be a positive integer, got ${every}`);
  const countAfter = revision + 1;
  const countBefore = previousRevision === null ? 0 : previousRevision + 1;
  return Math.floor(countAfter / every) > Math.floor(countBefore / every);
};
