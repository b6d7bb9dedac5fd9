/**
 * The off-machine copy of a region's anchor log: every line, as written, in the JetStream stream
 * `INV_ANCHOR_<R>` (subject `inv.anchor.<r>`), which refuses to delete or purge messages
 * (`deny_delete`, `deny_purge`) and discards nothing. What the file alone cannot show, lines cut from
 * its end, shows against this copy; `stockline verify --anchor nats://…` reads the copy instead of
 * the file. (Deleting the whole stream stays possible for an account allowed to: NATS permissions
 * must grant the node publish on `inv.anchor.<r>` and nobody stream deletion.)
 */
import {
  DiscardPolicy,
  type JetStreamClient,
  type JetStreamManager,
  RetentionPolicy,
  StorageType,
} from "@nats-io/jetstream";
import { nanos } from "@nats-io/transport-node";
import { ensureStream } from "../nats/streams.ts";
import { assertRegionId } from "../nats/subjects.ts";

export const anchorSubject = (region: string): string => `inv.anchor.${assertRegionId(region)}`;
export const anchorStreamName = (region: string): string =>
  `INV_ANCHOR_${assertRegionId(region).toUpperCase().replace(/-/g, "_")}`;

export const ensureAnchorStream = (jsm: JetStreamManager, region: string, replicas = 1) =>
  ensureStream(jsm, {
    name: anchorStreamName(region),
    description: `stockline anchor log of region ${region} (stream heads, append-only)`,
    subjects: [anchorSubject(region)],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    discard: DiscardPolicy.New,
    max_age: 0,
    max_msgs: -1,
    max_bytes: -1,
    deny_delete: true,
    deny_purge: true,
    duplicate_window: nanos(2 * 60_000),
    num_replicas: replicas,
  });

/** The seq of the last line in the stream (0 when empty), from the line itself. */
export const lastStreamedLine = async (jsm: JetStreamManager, region: string): Promise<number> => {
  const info = await jsm.streams.info(anchorStreamName(region));
  if (info.state.messages === 0) return 0;
  const m = await jsm.streams.getMessage(anchorStreamName(region), { last_by_subj: anchorSubject(region) });
  if (!m) return 0;
  const seq = (JSON.parse(m.string()) as { seq?: unknown }).seq;
  if (typeof seq !== "number") throw new Error(`${anchorStreamName(region)}#${m.seq} is not an anchor line`);
  return seq;
};

/** Publishes one line; its msg id is its seq, so a retry within the window is stored once. */
export const publishAnchorLine = async (
  js: JetStreamClient,
  region: string,
  seq: number,
  text: string,
): Promise<void> => {
  await js.publish(anchorSubject(region), text, { msgID: `${region}:anchor:${seq}` });
};

/** Every line of the stream, in order (for `verify --anchor nats://…`). */
export async function* streamedLines(jsm: JetStreamManager, region: string): AsyncGenerator<string> {
  const name = anchorStreamName(region);
  const last = (await jsm.streams.info(name)).state.last_seq;
  for (let seq = 1; seq <= last; seq++) {
    const m = await jsm.streams.getMessage(name, { seq }).catch(() => null);
    yield m ? m.string() : ""; // a message gone from a deny_delete stream: a line that is not JSON
  }
}
