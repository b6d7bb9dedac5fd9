/**
 * A realistic command stream for the benchmark: goods receipts from the WMS, reservations from the
 * web shop and the OMS, and picks that consume those reservations, spread over a few thousand
 * SKU-locations of one region. Each position cycles receipt -> reservation -> pick, so every
 * reservation is covered by stock and every command is accepted (the benchmark counts a command
 * when its events are in `INV_EVT_<R>`; none should end in the dead-letter stream).
 *
 * The generator keeps each position's place in its cycle, so later phases continue where earlier
 * ones stopped. Correlation ids are unique per command: the observers match events to commands by them.
 */
import type { Command } from "../domain/commands.ts";
import { cmdSubject } from "../infra/nats/subjects.ts";

export interface BenchCommand {
  readonly subject: string;
  readonly data: Uint8Array;
  readonly correlationId: string;
  readonly kind: Command["kind"];
}

// Four, so that the two-node phase (6b: a partition is a location) splits them evenly.
const LOCATIONS = ["DC-NORTH", "DC-SOUTH", "STORE-0042", "STORE-0107"];
const te = new TextEncoder();

export class Workload {
  readonly skus: readonly string[];
  readonly locations: readonly string[] = LOCATIONS;
  private readonly steps: Uint32Array;
  private next = 0;
  private issued = 0;

  constructor(
    readonly region: string,
    readonly positions: number,
    /** Unique per run: idempotency keys and ids never collide with an earlier run's. */
    readonly runId: string,
    readonly baseTime = Date.parse("2025-03-03T08:00:00.000Z"),
  ) {
    const skuCount = Math.max(1, Math.ceil(positions / LOCATIONS.length));
    this.skus = Array.from({ length: skuCount }, (_, i) => `SKU-${String(100_000 + i * 7)}`);
    this.steps = new Uint32Array(positions);
  }

  get count(): number {
    return this.issued;
  }

  /** The next command, round-robin over positions. */
  nextCommand(): BenchCommand {
    const p = this.next;
    this.next = (this.next + 1) % this.positions;
    const step = this.steps[p]!;
    this.steps[p] = step + 1;
    const n = this.issued++;
    const sku = this.skus[Math.floor(p / LOCATIONS.length)]!;
    const location = LOCATIONS[p % LOCATIONS.length]!;
    const cycle = Math.floor(step / 3);
    const key = `${this.runId}-${p}-${step}`;
    const correlationId = `c-${this.runId}-${n}`;
    // Business time moves forward per position; the reservation's TTL keeps it open past its pick.
    const businessTime = new Date(this.baseTime + step * 60_000).toISOString();
    const position = { region: this.region, location, sku };
    const reservationId = `R-${this.runId}-${p}-${cycle}`;
    const order = `SO-${this.runId}-${p}-${cycle}`;
    const qty = 1 + ((p + cycle) % 4);
    let command: Record<string, unknown>;
    switch (step % 3) {
      case 0:
        command = {
          kind: "receiveGoods",
          idempotencyKey: key,
          source: {
            system: "wms-eu",
            document: { type: "ASN", id: `ASN-${this.runId}-${p}-${cycle}`, line: "10" },
          },
          documents: { asn: `ASN-${this.runId}-${p}-${cycle}`, po: `PO-${4500000 + (p % 9000)}` },
          businessTime,
          correlationId,
          position,
          quantity: { value: 12 + (cycle % 5) * 6, uom: "EA" },
          lot: `L${2025_0300 + (cycle % 30)}`,
        };
        break;
      case 1:
        command = {
          kind: "placeReservation",
          idempotencyKey: key,
          source: { system: "shop-web", document: { type: "order", id: order } },
          documents: { order },
          businessTime,
          correlationId,
          position,
          quantity: { value: qty, uom: "EA" },
          reservationId,
          channel: "web",
          ttlSeconds: 4 * 3600,
        };
        break;
      default:
        command = {
          kind: "confirmPick",
          idempotencyKey: key,
          source: {
            system: "wms-eu",
            document: { type: "pickList", id: `PL-${this.runId}-${p}-${cycle}`, line: "10" },
          },
          documents: { order },
          businessTime,
          correlationId,
          position,
          quantity: { value: qty, uom: "EA" },
          reservationId,
        };
    }
    return {
      subject: cmdSubject(this.region, location, sku),
      data: te.encode(JSON.stringify(command)),
      correlationId,
      kind: command.kind as Command["kind"],
    };
  }

  /** `n` commands in order. */
  take(n: number): BenchCommand[] {
    return Array.from({ length: n }, () => this.nextCommand());
  }
}

export const averageBytes = (cmds: readonly BenchCommand[]): number =>
  cmds.length === 0 ? 0 : Math.round(cmds.reduce((s, c) => s + c.data.length, 0) / cmds.length);
