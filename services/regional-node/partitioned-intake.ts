/**
 * The intake of a node in a multi-node region (docs/scale-out.md): one partition = one location; the
 * node consumes only the locations whose lease it holds.
 *
 * - JetStream: per owned location, two durable pull consumers on `INV_CMD_<R>` (nats-server 2.9 takes
 *   one filter per consumer): `inv.cmd.<r>.<location>.*` and the source-scoped
 *   `inv.cmd.<r>.*.<location>.*`. The durables are named after the location, not the node, so the next
 *   owner resumes at the same ack floor; what the previous owner had in flight and did not
 *   acknowledge comes back after `ack_wait`.
 * - A message is decided only while the lease is held (checked again when it arrives); otherwise it
 *   is given back unhandled, for the owner.
 * - Request/reply: `inv.req.<r>` is still one queue group over all nodes; a node that receives a
 *   request for a location it does not own forwards it to `inv.own.<r>.<location>`, which only the
 *   owner subscribes, with the original subject in a header (the subject proves the sender's system);
 *   with no owner at the moment (a takeover under way) the answer is `unavailable`, to be retried.
 * - Handing a partition over: stop pulling, wait for its messages in hand to settle (committed or
 *   given back), then drop its cached actors; taking one drops them too, so positions load from the
 *   store.
 */
import { createHash } from "node:crypto";
import type { JetStreamClient, JetStreamManager } from "@nats-io/jetstream";
import { headers, type Msg, type NatsConnection, type Subscription } from "@nats-io/transport-node";
import type { Logger } from "pino";
import { encodeSubjectToken, parsePositionStreamId } from "../../domain/ids.ts";
import { parseCmdSubject } from "../../infra/nats/subjects.ts";
import type { CommandHandler, MessageMeta, Settled } from "./command-handler.ts";
import { JetStreamIntake } from "./jetstream-intake.ts";
import type { PositionRuntime } from "./position-runtime.ts";

export interface PartitionedIntakeOptions {
  readonly region: string;
  readonly nc: NatsConnection;
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  readonly handler: CommandHandler;
  readonly runtime: Pick<PositionRuntime, "evictWhere">;
  readonly maxInFlight: number;
  readonly ackWaitMs: number;
  readonly logger: Logger;
  /** Is the lease of `location` held right now? */
  readonly owns: (location: string) => boolean;
  /** How long a forwarded request waits for the owner's answer (default 10 s). */
  readonly forwardTimeoutMs?: number;
}

/** The subject only the owner of `location` listens on. */
export const ownerSubject = (region: string, location: string): string =>
  `inv.own.${region}.${encodeSubjectToken(location)}`;
const ORIGINAL_SUBJECT = "Stockline-Request-Subject";

const durableOf = (region: string, location: string, scoped: boolean): string =>
  `stockline-node-${region}-${scoped ? "ps" : "p"}-${createHash("sha256").update(location).digest("hex").slice(0, 16)}`;

const notHere = (message: string): Settled => ({
  reply: { outcome: "rejected", reason: { code: "unavailable", message } },
  disposition: "retry",
  error: message,
});

interface Active {
  readonly intakes: JetStreamIntake[];
  readonly sub: Subscription;
  inFlight: number;
}

export class PartitionedIntake {
  private readonly active = new Map<string, Active>();
  private readonly log: Logger;

  constructor(private readonly o: PartitionedIntakeOptions) {
    this.log = o.logger.child({ component: "partitioned-intake" });
  }

  /** The handler the JetStream consumers of a partition call: decides only while the lease is held. */
  private readonly guarded = {
    handleBytes: (data: Uint8Array, meta: MessageMeta): Promise<Settled> => {
      const location = meta.subject === undefined ? undefined : parseCmdSubject(meta.subject)?.location;
      if (location !== undefined && !this.o.owns(location))
        return Promise.resolve(notHere(`location ${location} is not owned by this node`));
      return this.o.handler.handleBytes(data, meta);
    },
    deadLetterExhausted: (
      data: Uint8Array,
      meta: MessageMeta,
      info: { deliveries: number; lastError: string },
    ) => this.o.handler.deadLetterExhausted(data, meta, info),
  };

  /** Request/reply on a multi-node region: decide what this node owns, forward the rest. */
  readonly requestHandler = {
    handleBytes: async (data: Uint8Array, meta: MessageMeta): Promise<Settled> => {
      let location: string | undefined;
      try {
        const p = (JSON.parse(Buffer.from(data).toString("utf8")) as { position?: { location?: unknown } })
          .position?.location;
        location = typeof p === "string" && p.length > 0 ? p : undefined;
      } catch {
        location = undefined; // the handler answers what is wrong with it, deciding nothing
      }
      if (location === undefined || this.o.owns(location)) return this.o.handler.handleBytes(data, meta);
      const h = headers();
      if (meta.subject !== undefined) h.set(ORIGINAL_SUBJECT, meta.subject);
      try {
        const answer = await this.o.nc.request(ownerSubject(this.o.region, location), data, {
          timeout: this.o.forwardTimeoutMs ?? 10_000,
          headers: h,
        });
        return { reply: answer.json(), disposition: "ack" };
      } catch (err) {
        return notHere(`no node answers for location ${location} now (${(err as Error).message}); retry`);
      }
    },
  };

  get partitions(): string[] {
    return [...this.active.keys()];
  }

  /** Starts deciding `location`: fresh actors, its consumers, its forwarded requests. */
  async startPartition(location: string): Promise<void> {
    if (this.active.has(location)) return;
    this.evict(location);
    const token = encodeSubjectToken(location);
    const intakes = [false, true].map(
      (scoped) =>
        new JetStreamIntake({
          region: this.o.region,
          js: this.o.js,
          jsm: this.o.jsm,
          handler: this.guarded,
          maxInFlight: this.o.maxInFlight,
          ackWaitMs: this.o.ackWaitMs,
          durableName: durableOf(this.o.region, location, scoped),
          filterSubject: scoped
            ? `inv.cmd.${this.o.region}.*.${token}.*`
            : `inv.cmd.${this.o.region}.${token}.*`,
          logger: this.o.logger,
        }),
    );
    const active: Active = {
      intakes,
      sub: this.o.nc.subscribe(ownerSubject(this.o.region, location)),
      inFlight: 0,
    };
    this.active.set(location, active);
    void this.serveForwarded(location, active);
    try {
      for (const i of intakes) await i.start();
    } catch (err) {
      await this.stopPartition(location);
      throw err;
    }
    this.log.info({ location }, "partition started");
  }

  /** Stops deciding `location`: no more pulls, messages in hand settled, actors dropped. */
  async stopPartition(location: string): Promise<void> {
    const active = this.active.get(location);
    if (!active) return;
    this.active.delete(location);
    active.sub.unsubscribe();
    await Promise.all(
      active.intakes.map((i) => i.stop().catch((err: unknown) => this.log.warn({ err }, "intake stop"))),
    );
    while (active.inFlight > 0) await new Promise((r) => setTimeout(r, 20));
    this.evict(location);
    this.log.info({ location }, "partition stopped");
  }

  async stopAll(): Promise<void> {
    for (const location of [...this.active.keys()]) await this.stopPartition(location);
  }

  private evict(location: string): void {
    this.o.runtime.evictWhere((streamId) => parsePositionStreamId(streamId)?.location === location);
  }

  private async serveForwarded(location: string, active: Active): Promise<void> {
    for await (const msg of active.sub) {
      active.inFlight++;
      void this.answerForwarded(location, msg).finally(() => {
        active.inFlight--;
      });
    }
  }

  private async answerForwarded(location: string, msg: Msg): Promise<void> {
    const subject = msg.headers?.get(ORIGINAL_SUBJECT) || undefined;
    const settled = this.o.owns(location)
      ? await this.o.handler
          .handleBytes(msg.data, { via: "request", ...(subject ? { subject } : {}) })
          .catch(
            (err: unknown): Settled => notHere(`internal error: ${(err as Error).message ?? String(err)}`),
          )
      : notHere(`location ${location} is being handed over; retry`);
    msg.respond(JSON.stringify(settled.reply));
  }
}
