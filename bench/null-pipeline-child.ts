/**
 * Child process of the benchmark: the null pipeline, the ceiling the regional node is compared with
 * (`null_pipeline_per_s`, issue 13). It does nothing but the node's NATS hops, in a process of its own
 * like the node (bench/node-child.ts):
 *  1. a durable pull consumer on a stream configured like `INV_CMD_<R>`, with the settings of the node's
 *     intake (services/regional-node/jetstream-intake.ts: explicit ack, deliver all, `max_ack_pending`
 *     = `intake.maxInFlight`, `ack_wait`, `max_deliver`, `consume({ max_messages: min(maxInFlight, 5000) })`);
 *  2. per command, one event published into a stream configured like `INV_EVT_<R>` on the event subject
 *     of the command's position, with a `Nats-Msg-Id` `<region>:<streamId>:<revision>` as the relay sets
 *     it, the way the relay publishes (services/regional-node/relay-publisher.ts: a core publish with a
 *     reply inbox and headers, the JetStream ack parsed from the reply, at most `relay.window` in flight);
 *  3. when that event is acknowledged, the command is acknowledged.
 * No decoding, deciding, hashing or storing: the event body is a fixed buffer of the average event size.
 * Requests: `start`, `stats`, `stop`.
 */
import {
  AckPolicy,
  type ConsumerMessages,
  DeliverPolicy,
  type JsMsg,
  jetstream,
  jetstreamManager,
} from "@nats-io/jetstream";
import { createInbox, headers, type Msg, type NatsConnection, nanos } from "@nats-io/transport-node";
import { connectNats, drainAndClose } from "../infra/nats/connection.ts";
import { DEFAULT_MAX_DELIVER } from "../infra/nats/redelivery.ts";
import { cmdStreamName } from "../infra/nats/subjects.ts";
import { processFigures, serveParent } from "./child-process.ts";

export interface NullPipelineStart {
  readonly servers: string;
  readonly region: string;
  /** The node's `intake.maxInFlight` (its consumer's `max_ack_pending`). */
  readonly maxInFlight: number;
  /** The node's `intake.ackWaitMs`. */
  readonly ackWaitMs: number;
  /** The node's `relay.window`: event publishes awaiting their ack. */
  readonly relayWindow: number;
  /** Bytes of each event body (the e2e phase's average event). */
  readonly eventBytes: number;
}

const decoder = new TextDecoder();

/**
 * Acked JetStream publishes on the relay's wire pattern: a core publish with a reply subject in a
 * private inbox, `Nats-Msg-Id` in the headers, the PubAck parsed when the reply arrives.
 */
class InboxPublisher {
  private readonly inbox = `${createInbox()}.`;
  private readonly waiting = new Map<number, () => void>();
  private readonly queued: Array<{ subject: string; data: Uint8Array; msgId: string; done: () => void }> = [];
  private token = 0;
  failures = 0;
  duplicates = 0;

  constructor(
    private readonly nc: NatsConnection,
    private readonly window: number,
  ) {
    nc.subscribe(`${this.inbox}*`, { callback: (err, msg) => this.onReply(err, msg) });
  }

  publish(subject: string, data: Uint8Array, msgId: string, done: () => void): void {
    if (this.waiting.size >= this.window) this.queued.push({ subject, data, msgId, done });
    else this.send(subject, data, msgId, done);
  }

  private send(subject: string, data: Uint8Array, msgId: string, done: () => void): void {
    const token = ++this.token;
    this.waiting.set(token, done);
    const h = headers();
    h.set("Nats-Msg-Id", msgId);
    this.nc.publish(subject, data, { reply: `${this.inbox}${token}`, headers: h });
  }

  private onReply(err: Error | null, msg: Msg): void {
    if (err) {
      this.failures++;
      return;
    }
    const token = Number(msg.subject.slice(this.inbox.length));
    const done = this.waiting.get(token);
    if (!done) return;
    const ack = JSON.parse(decoder.decode(msg.data)) as {
      seq?: number;
      duplicate?: boolean;
      error?: unknown;
    };
    this.waiting.delete(token);
    if (ack.error || typeof ack.seq !== "number") {
      // Not acknowledged: the command is not acked either and comes back after ack wait.
      this.failures++;
    } else {
      if (ack.duplicate) this.duplicates++;
      done();
    }
    const next = this.queued.shift();
    if (next) this.send(next.subject, next.data, next.msgId, next.done);
  }
}

let nc: NatsConnection | undefined;
let messages: ConsumerMessages | undefined;
let publisher: InboxPublisher | undefined;
let handled = 0;
let acked = 0;

serveParent({
  async start(payload) {
    const p = payload as NullPipelineStart;
    nc = await connectNats({ servers: p.servers, name: "bench-null-pipeline" });
    const js = jetstream(nc);
    const jsm = await jetstreamManager(nc);
    const stream = cmdStreamName(p.region);
    const durable = `bench-null-${p.region}`;
    await jsm.consumers.add(stream, {
      durable_name: durable,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      max_ack_pending: p.maxInFlight,
      ack_wait: nanos(p.ackWaitMs),
      max_deliver: DEFAULT_MAX_DELIVER,
    });
    const pub = new InboxPublisher(nc, p.relayWindow);
    publisher = pub;
    const body = new Uint8Array(p.eventBytes).fill(120);
    const revisions = new Map<string, number>();
    const cmdPrefix = "inv.cmd.".length;
    const streamIdFrom = `inv.cmd.${p.region}.`.length;
    const consumer = await js.consumers.get(stream, durable);
    messages = await consumer.consume({
      max_messages: Math.min(p.maxInFlight, 5_000),
      callback: (msg: JsMsg) => {
        handled++;
        const subject = msg.subject;
        const streamId = subject.slice(streamIdFrom);
        const revision = (revisions.get(streamId) ?? -1) + 1;
        revisions.set(streamId, revision);
        pub.publish(
          `inv.evt.${subject.slice(cmdPrefix)}`,
          body,
          `${p.region}:${streamId}:${revision}`,
          () => {
            msg.ack();
            acked++;
          },
        );
      },
    });
    return { durable };
  },
  stats() {
    return {
      handled,
      acked,
      publishFailures: publisher?.failures ?? 0,
      duplicates: publisher?.duplicates ?? 0,
      ...processFigures(),
    };
  },
  async stop() {
    await messages?.close();
    if (nc) await drainAndClose(nc, 2_000).catch(() => {});
  },
});
