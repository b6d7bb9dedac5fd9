/**
 * Commands parked for a gap in their source's sequence (DESIGN §3.12, domain/source-sequences.ts).
 * A `parked` decision is written to the node database before it is reported, released when the
 * command before it is applied, or decided with `ignoreSequenceGap` (applied and flagged) after the
 * park timeout; the ones parked below a command so forced are then late facts and are released as
 * well. A parked row stays until its released command's outcome is durable.
 */
import type { Logger } from "pino";
import type { Command } from "../../domain/commands.ts";
import type { Outcome } from "../../domain/position.decider.ts";
import { gauge } from "../../infra/metrics.ts";
import type { HandleResult } from "./handle-result.ts";
import type { NodeDb, ParkedRow } from "./node-db.ts";

/** What the runtime tells the node about commands it handled on its own (released or timed-out parked ones). */
export type InternalOutcomeSink = (
  command: Command,
  result: HandleResult,
  origin: "released" | "parkTimeout",
) => Promise<void>;

export interface SequenceParkingOptions {
  readonly region: string;
  readonly nodeDb: Pick<NodeDb, "expiredParked" | "parkedCount" | "parkMany" | "parkedAt" | "parkedOf">;
  readonly parkTimeoutMs: number;
  readonly logger: Logger;
  /** Hands a released command to its position's mailbox; `force` decides it across the gap. */
  readonly run: (command: Command, force: boolean) => Promise<HandleResult>;
  readonly onInternalOutcome?: InternalOutcomeSink;
}

const parkedGauge = gauge("stockline_node_parked_commands", "Commands held for a sequence gap", ["region"]);

export class SequenceParking {
  /** Streams with parked commands, so the release check costs a map lookup when there are none. */
  private readonly parkedStreams = new Map<string, number>();
  /** Parked rows being handled right now (the sweep must not start them twice). */
  private readonly releasing = new Set<string>();
  private readonly sweepTimer: NodeJS.Timeout;
  private sweeping = false;
  private parkQueue: Array<{
    row: ParkedRow;
    resolve: (added: boolean) => void;
    reject: (e: unknown) => void;
  }> = [];
  private unparkQueue: ParkedRow[] = [];
  private parkFlushScheduled = false;
  private stopped = false;

  constructor(private readonly o: SequenceParkingOptions) {
    for (const row of o.nodeDb.expiredParked(Number.MAX_SAFE_INTEGER, 1_000_000)) {
      this.parkedStreams.set(row.streamId, (this.parkedStreams.get(row.streamId) ?? 0) + 1);
    }
    parkedGauge.set({ region: o.region }, o.nodeDb.parkedCount());
    const sweepEvery = Math.max(50, Math.min(1_000, Math.floor(o.parkTimeoutMs / 4)));
    this.sweepTimer = setInterval(() => void this.sweepParked(), sweepEvery);
    this.sweepTimer.unref();
  }

  /** Holds a command durably until the gap before it fills or the park timeout passes. */
  async park(
    streamId: string,
    command: Command,
    outcome: Extract<Outcome, { kind: "parked" }>,
  ): Promise<HandleResult> {
    const now = Date.now();
    const added = await this.writePark({
      streamId,
      system: outcome.system,
      sequence: outcome.got,
      idempotencyKey: command.idempotencyKey,
      command: JSON.stringify(command),
      parkedAt: now,
      deadline: now + this.o.parkTimeoutMs,
    });
    if (added) {
      this.parkedStreams.set(streamId, (this.parkedStreams.get(streamId) ?? 0) + 1);
      parkedGauge.inc({ region: this.o.region });
    }
    return {
      kind: "parked",
      system: outcome.system,
      expectedSequence: outcome.expectedSequence,
      got: outcome.got,
    };
  }

  /**
   * After `command` was applied, the parked command right after it in its source's sequence may go.
   * A command forced across a gap also turns the parked ones below it into late facts: they go too.
   */
  releaseAfter(streamId: string, command: Command, forcedAcrossGap: boolean): void {
    const seq = command.source.sequence;
    const system = command.source.system;
    if (seq === undefined || !this.parkedStreams.has(streamId)) return;
    for (const row of this.o.nodeDb.parkedAt(streamId, system, seq + 1)) {
      this.unparkAndRun(row, false, "released");
    }
    if (!forcedAcrossGap) return;
    for (const row of this.o.nodeDb.parkedOf(streamId)) {
      if (row.system === system && row.sequence < seq) this.unparkAndRun(row, false, "released");
    }
  }

  /** Stops the sweep and writes the releases not yet written. */
  close(): void {
    this.stopped = true;
    clearInterval(this.sweepTimer);
    const unparks = this.unparkQueue.splice(0);
    if (unparks.length > 0) this.o.nodeDb.parkMany([], unparks);
  }

  /** Parks of one turn of the event loop share one transaction (one fsync), like the group commit. */
  private writePark(row: ParkedRow): Promise<boolean> {
    return new Promise((resolve, reject) => {
      this.parkQueue.push({ row, resolve, reject });
      this.scheduleParkFlush();
    });
  }

  private scheduleParkFlush(): void {
    if (this.parkFlushScheduled) return;
    this.parkFlushScheduled = true;
    setImmediate(() => {
      this.parkFlushScheduled = false;
      const parks = this.parkQueue.splice(0);
      const unparks = this.unparkQueue.splice(0);
      try {
        const added = this.o.nodeDb.parkMany(
          parks.map((p) => p.row),
          unparks,
        );
        for (const [i, p] of parks.entries()) p.resolve(added[i] ?? false);
      } catch (err) {
        for (const p of parks) p.reject(err);
        this.o.logger.error({ err }, "could not write parked commands");
      }
    });
  }

  private unparkAndRun(row: ParkedRow, force: boolean, origin: "released" | "parkTimeout"): void {
    const key = `${row.streamId}\u0000${row.system}\u0000${row.sequence}\u0000${row.idempotencyKey}`;
    if (this.releasing.has(key)) return;
    let command: Command;
    try {
      command = JSON.parse(row.command) as Command;
    } catch {
      this.forget(row);
      return;
    }
    this.releasing.add(key);
    // The row stays until the outcome is durable (applied, duplicate, or dead-lettered by the sink).
    void this.o.run(command, force).then(async (result) => {
      try {
        if (result.kind === "parked") return; // still a gap before it: stays parked (same row)
        if (result.kind === "accepted" && result.forcedAfterGap) {
          this.o.logger.warn(
            {
              region: command.position.region,
              location: command.position.location,
              sku: command.position.sku,
              correlationId: command.correlationId,
              system: row.system,
              sequence: row.sequence,
            },
            "sequence gap not filled within the park timeout; command applied and flagged",
          );
        }
        await this.o.onInternalOutcome?.(command, result, origin);
        this.forget(row);
      } catch (err) {
        // Kept parked: the next sweep tries again (a repeat is a duplicate by idempotency key).
        this.o.logger.error(
          { err, correlationId: command.correlationId },
          "could not settle a released command",
        );
      } finally {
        this.releasing.delete(key);
      }
    });
  }

  private forget(row: ParkedRow): void {
    // Batched with the next parks: if the delete is lost in a crash, the command is re-applied later as a duplicate.
    this.unparkQueue.push(row);
    this.scheduleParkFlush();
    const n = (this.parkedStreams.get(row.streamId) ?? 1) - 1;
    if (n <= 0) this.parkedStreams.delete(row.streamId);
    else this.parkedStreams.set(row.streamId, n);
    parkedGauge.dec({ region: this.o.region });
  }

  private async sweepParked(): Promise<void> {
    if (this.sweeping || this.stopped || this.parkedStreams.size === 0) return;
    this.sweeping = true;
    try {
      for (const row of this.o.nodeDb.expiredParked(Date.now(), 500))
        this.unparkAndRun(row, true, "parkTimeout");
    } catch (err) {
      this.o.logger.error({ err }, "parked-command sweep failed");
    } finally {
      this.sweeping = false;
    }
  }
}
