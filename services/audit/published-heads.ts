/**
 * The published copy of a region's streams: the last event of each position in `INV_EVT_<R>` (or the
 * hub's mirror of it), for `replay --verify` / `verify` to hold the store against. JetStream keeps
 * what the relay published independently of the SQLite file, so a truncated tail or a stream
 * rewritten with recomputed hashes shows as a difference at the head.
 */
import type { JetStreamManager } from "@nats-io/jetstream";
import { evtStreamName, evtSubject } from "../../infra/nats/subjects.ts";
import type { PublishedHeads } from "./replay.ts";

export const jetStreamPublishedHeads =
  (jsm: JetStreamManager, region: string): PublishedHeads =>
  async ({ location, sku }) => {
    const stream = evtStreamName(region);
    const m = await jsm.streams.getMessage(stream, { last_by_subj: evtSubject(region, location, sku) });
    if (!m) return undefined;
    let e: { revision?: unknown; hash?: unknown };
    try {
      e = m.json();
    } catch {
      return undefined; // not an event the relay wrote: the projector dead-letters those
    }
    if (typeof e.revision !== "number" || typeof e.hash !== "string") return undefined;
    return { revision: e.revision, hash: e.hash, where: `${stream}#${m.seq}` };
  };
