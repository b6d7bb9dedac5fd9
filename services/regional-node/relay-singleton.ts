/**
 * The relay (and the transfer process riding on it) as a region-wide singleton of a multi-node region
 * (docs/scale-out.md): it runs on the node holding the `relay` lease, and its checkpoints are kept in
 * the shared store as well as in the node's own node.db, so that a successor resumes where the
 * previous holder stopped instead of from its own (older) local checkpoint.
 *
 * - On taking the lease: the shared checkpoints (`node-relay:<r>`, `node-transfers:<r>`) are copied
 *   into node.db when ahead of it, then a new `Relay` starts from there.
 * - While running: every `mirrorEveryMs`, the relay's acknowledged checkpoint is copied to the shared
 *   store; the transfer checkpoint only when the node's transfer outbox is empty at that moment, so a
 *   successor re-derives (deterministic idempotency keys: duplicates) what a dead holder's outbox had
 *   not delivered, and never skips it.
 * - Republishing after a takeover is absorbed by the stream's Nats-Msg-Id deduplication (within its
 *   duplicate window; the mirror lags by at most `mirrorEveryMs` plus the relay's own throttle).
 */
import type { Logger } from "pino";
import type { CheckpointStore } from "../../infra/event-store/event-store.ts";
import type { NodeDb } from "./node-db.ts";
import type { Relay } from "./relay.ts";

export interface RelaySingletonOptions {
  readonly region: string;
  readonly nodeDb: NodeDb;
  /** The shared store's checkpoints (PostgreSQL); undefined: local only (resume from node.db). */
  readonly shared: CheckpointStore | undefined;
  readonly make: () => Relay;
  readonly mirrorEveryMs?: number;
  readonly logger: Logger;
}

export class RelaySingleton {
  private relay: Relay | undefined;
  private timer: NodeJS.Timeout | undefined;
  private mirrored = { relay: -1, transfers: -1 };
  private mirroring: Promise<void> | undefined;
  private readonly names: { relay: string; transfers: string };

  constructor(private readonly o: RelaySingletonOptions) {
    this.names = { relay: `relay:${o.region}`, transfers: `transfers:${o.region}` };
  }

  get current(): Relay | undefined {
    return this.relay;
  }

  async start(): Promise<void> {
    if (this.relay) return;
    if (this.o.shared) {
      for (const name of Object.values(this.names)) {
        const shared = await this.o.shared.getCheckpoint(`node-${name}`);
        const local = this.o.nodeDb.getCheckpointSync(name) ?? 0;
        if (shared !== null && shared > local) this.o.nodeDb.saveCheckpointSync(name, shared);
      }
    }
    const relay = this.o.make();
    relay.start();
    this.relay = relay;
    this.o.logger.info(
      { relayCheckpoint: relay.checkpoint, shared: this.o.shared !== undefined },
      "relay started on this node",
    );
    if (this.o.shared)
      this.timer = setInterval(() => {
        this.mirroring ??= this.mirror().finally(() => {
          this.mirroring = undefined;
        });
      }, this.o.mirrorEveryMs ?? 250);
  }

  async stop(): Promise<void> {
    const relay = this.relay;
    if (!relay) return;
    if (this.timer) clearInterval(this.timer);
    await relay.stop();
    await this.mirroring;
    await this.mirror();
    this.relay = undefined;
    this.o.logger.info({ relayCheckpoint: relay.checkpoint }, "relay stopped on this node");
  }

  private async mirror(): Promise<void> {
    const shared = this.o.shared;
    const relay = this.relay;
    if (!shared || !relay) return;
    try {
      const acked = relay.checkpoint;
      if (acked > this.mirrored.relay) {
        await shared.saveCheckpoint(`node-${this.names.relay}`, acked);
        this.mirrored.relay = acked;
      }
      // The checkpoint first, then the outbox: empty now means every row derived up to it was delivered.
      const transfers = this.o.nodeDb.getCheckpointSync(this.names.transfers) ?? 0;
      const pending = this.o.nodeDb.outboxDepths().reduce((n, d) => n + d.depth, 0);
      if (pending === 0 && transfers > this.mirrored.transfers) {
        await shared.saveCheckpoint(`node-${this.names.transfers}`, transfers);
        this.mirrored.transfers = transfers;
      }
    } catch (err) {
      this.o.logger.warn(
        { err: (err as Error).message },
        "could not mirror relay checkpoints to the shared store",
      );
    }
  }
}
