/**
 * stockline's decisions without its transport, for playing the demo feed for hours in seconds: every
 * command the feed publishes is decoded (`decodeCommand`, so a malformed one is a dead letter) and
 * decided by the domain's own pure functions (`decideCommand` and `applyEvent`, what the position
 * machine runs) under the demo's ownership rules; reservations are placed most-available-first like
 * the API, released on request, and expired at their time to live like the expiry service. Time is
 * the simulation's: `advanceTo` moves it and expires what is due.
 */
import type { CanonicalEvent } from "../../domain/canonical-event.ts";
import { type Command, decodeCommand } from "../../domain/commands.ts";
import { type Position, positionKey } from "../../domain/ids.ts";
import {
  atpOf,
  DEFAULT_DECISION_CONFIG,
  inboundTransferCommandFor,
  initialPositionState,
  type PositionState,
  toCanonicalEvents,
} from "../../domain/position.decider.ts";
import { applyEvent } from "../../domain/position-context.ts";
import { type DecisionEnv, decideCommand } from "../../domain/position-decisions.ts";
import { reservationEntries } from "../../domain/reservation-book.ts";
import { DueQueue } from "../../services/local-system/feed-due-queue.ts";
import type {
  FeedTransport,
  FeedWorld,
  PlaceOutcome,
  PublishTo,
  ReleaseOutcome,
  ReservationRequest,
  SkuAvailability,
} from "../../services/local-system/feed-world.ts";
import { LAYOUTS, ownershipFor } from "../../services/local-system/local-system.ts";

const API = "stockline-api";
const EXPIRY = "stockline-expiry";

export class SimulatedStockline implements FeedTransport {
  now: number;
  readonly world: FeedWorld;
  /** Events by type, and commands refused or undecodable (the dead letters). */
  readonly events = new Map<string, number>();
  deadLetters = 0;
  private readonly positions = new Map<string, PositionState>();
  private readonly envs = new Map<string, Omit<DecisionEnv, "now">>();
  private readonly reservationAt = new Map<string, Position>();
  private readonly expiries = new DueQueue<{ id: string; expiresAt: string }>();
  private n = 0;

  constructor(start: number, regions: readonly string[] = ["eu", "us"]) {
    this.now = start;
    const layouts = regions.map((r) => LAYOUTS[r]!);
    this.world = {
      regions: layouts.map((l) => ({
        region: l.region,
        locations: l.dcs.map((d) => d.id),
        wms: l.wms,
        erp: l.erpSystem,
      })),
    };
    for (const l of layouts)
      this.envs.set(l.region, { policy: ownershipFor(l), config: DEFAULT_DECISION_CONFIG });
  }

  /** Moves the clock and expires the reservations whose time is up. */
  advanceTo(t: number): void {
    this.now = t;
    for (let due = this.expiries.popDue(t); due; due = this.expiries.popDue(t)) {
      const position = this.reservationAt.get(due.id);
      if (!position) continue;
      this.decide({
        kind: "expireReservation",
        idempotencyKey: `expire:${due.id}:${due.expiresAt}`,
        source: { system: EXPIRY, document: { type: "reservation", id: due.id } },
        businessTime: due.expiresAt,
        correlationId: `expire:${due.id}`,
        position,
        reservationId: due.id,
      } as Command);
    }
  }

  /** Reservations open now, across every position. */
  openReservations(): number {
    let n = 0;
    for (const s of this.positions.values()) for (const _ of reservationEntries(s.reservations)) n++;
    return n;
  }

  /** Every position's state (for ATP per SKU-location). */
  states(): IterableIterator<PositionState> {
    return this.positions.values();
  }

  // --- FeedTransport -----------------------------------------------------------------------------------

  async publish(to: PublishTo, payload: Record<string, unknown> | Uint8Array): Promise<void> {
    let value: unknown = payload;
    if (payload instanceof Uint8Array)
      try {
        value = JSON.parse(new TextDecoder().decode(payload));
      } catch {
        this.deadLetters++;
        return;
      }
    const decoded = decodeCommand(value);
    if (decoded._tag === "Left" || decoded.right.source.system !== to.system) {
      this.deadLetters++;
      return;
    }
    if (this.decide(decoded.right).kind !== "accepted") this.deadLetters++;
  }

  async placeReservation(r: ReservationRequest): Promise<PlaceOutcome> {
    const region = this.world.regions.find((x) => x.region === r.region);
    if (!region) return { kind: "failed", message: `unknown region ${r.region}` };
    // Most available first, like the API's default sourcing.
    const candidates = region.locations
      .map((location) => ({ location, atp: this.atpAt({ region: r.region, location, sku: r.sku }) }))
      .sort((a, b) => b.atp - a.atp || (a.location < b.location ? -1 : 1));
    for (const c of candidates) {
      const reservationId = `R-${++this.n}`;
      const position = { region: r.region, location: c.location, sku: r.sku };
      const out = this.decide({
        kind: "placeReservation",
        idempotencyKey: `api:webshop:${r.idempotencyKey}:${c.location}`,
        source: { system: API, document: { type: "reservation", id: reservationId } },
        businessTime: new Date(this.now).toISOString(),
        correlationId: r.order,
        position,
        quantity: { value: r.quantity, uom: "EA" },
        reservationId,
        channel: r.channel,
        ttlSeconds: r.ttlSeconds,
        documents: { order: r.order },
      } as Command);
      if (out.kind === "accepted") {
        this.reservationAt.set(reservationId, position);
        return { kind: "placed", reservationId, location: c.location, held: false };
      }
      if (out.kind !== "rejected" || out.reason.code !== "insufficientAtp")
        return { kind: "failed", message: JSON.stringify(out) };
    }
    return { kind: "short", message: `not enough ${r.sku} in ${r.region}` };
  }

  async releaseReservation(id: string): Promise<ReleaseOutcome> {
    const position = this.reservationAt.get(id);
    if (!position) return { kind: "gone", message: `unknown reservation ${id}` };
    const out = this.decide({
      kind: "releaseReservation",
      idempotencyKey: `api-release:${id}`,
      source: { system: API, document: { type: "reservation", id } },
      businessTime: new Date(this.now).toISOString(),
      correlationId: id,
      position,
      reservationId: id,
    } as Command);
    return out.kind === "accepted" ? { kind: "released" } : { kind: "gone", message: out.kind };
  }

  async availability(sku: string): Promise<SkuAvailability | undefined> {
    const locations = [...this.positions.values()]
      .filter((s) => s.position.sku === sku)
      .map((s) => ({ region: s.position.region, location: s.position.location, atp: atpOf(s).atp }));
    return locations.length === 0 ? undefined : { sku, locations };
  }

  // --- deciding ----------------------------------------------------------------------------------------

  private atpAt(p: Position): number {
    const s = this.positions.get(positionKey(p));
    return s ? atpOf(s).atp : 0;
  }

  private decide(command: Command) {
    const key = positionKey(command.position);
    let state = this.positions.get(key) ?? initialPositionState(command.position);
    const env = this.envs.get(command.position.region)!;
    const out = decideCommand(
      state,
      command,
      { ...env, now: new Date(this.now).toISOString() },
      state.lifecycle,
    );
    if (out.kind !== "accepted") return out;
    const recordedTime = new Date(this.now).toISOString();
    const stored = toCanonicalEvents(out.events, {
      prevRevision: state.revision,
      prevHash: state.lastHash,
      recordedTime,
    });
    for (const e of stored) {
      state = applyEvent(state, e);
      this.events.set(e.type, (this.events.get(e.type) ?? 0) + 1);
    }
    this.positions.set(key, state);
    for (const e of stored) this.follow(e);
    return out;
  }

  /** What the runtime does after an event: announce a transfer at its destination, time an expiry. */
  private follow(e: CanonicalEvent): void {
    if (e.type === "TransferShipped") this.decide(inboundTransferCommandFor(e));
    if (e.type === "ReservationPlaced")
      this.expiries.push(Date.parse(e.expiresAt), { id: e.reservationId, expiresAt: e.expiresAt });
  }
}
