/**
 * Reservations through the API: placed (reservation-placement.ts), read and released here, decided
 * synchronously by the owning regional node over request/reply; in degraded mode (region
 * unreachable) held within the constrained ATP and confirmed or compensated when the region returns
 * (reservation-degraded.ts, DEGRADED-MODE.md).
 *
 * Every method answers an outcome (reservation-outcomes.ts); the routes pick the HTTP status.
 */
import type { NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "pino";
import type { Position } from "../../domain/ids.ts";
import type { ApiConfig } from "./api-config.ts";
import type { AvailabilityService } from "./availability.ts";
import { type RegionalEntryReader, requestDecision } from "./region-link.ts";
import { DegradedHolds, degradedMetric } from "./reservation-degraded.ts";
import { positionOfReservationId } from "./reservation-ids.ts";
import {
  notFound,
  type PlaceAnswer,
  type PlaceOutcome,
  type ReadOutcome,
  type ReleaseOutcome,
} from "./reservation-outcomes.ts";
import { ReservationPlacement } from "./reservation-placement.ts";
import {
  channelScope,
  type PlaceReservationBody,
  type Requester,
  releaseCommand,
  systemOfCommand,
} from "./reservation-request.ts";
import type { ReservationRow, ReservationStore } from "./reservation-store.ts";

export { type PlaceReservationBody, PlaceReservationBodyC, type Requester } from "./reservation-request.ts";

export interface ReservationServiceDeps {
  readonly nc: NatsConnection;
  readonly store: ReservationStore;
  readonly availability: AvailabilityService;
  readonly reader: RegionalEntryReader;
  readonly config: ApiConfig;
  readonly logger: Logger;
  /**
   * Source system of the commands of keys bound to no channel (default `stockline-api`); a key bound
   * to a channel sends as the channel.
   */
  readonly sourceSystem?: string;
}

/** Who asks (the API key's name) and whether it may act on any caller's reservations. */
export interface Scope {
  readonly caller: string;
  readonly anyCaller: boolean;
  /** The channel the caller's key speaks for: a release is sent as that channel. */
  readonly channel?: string;
}

export class ReservationService {
  private readonly system: string;
  private readonly placement: ReservationPlacement;
  private readonly degraded: DegradedHolds;

  constructor(private readonly d: ReservationServiceDeps) {
    this.system = d.sourceSystem ?? "stockline-api";
    this.degraded = new DegradedHolds({ ...d, system: this.system });
    this.placement = new ReservationPlacement({ ...d, degraded: this.degraded, system: this.system });
  }

  place(who: Requester, body: PlaceReservationBody, headerKey: string | undefined): Promise<PlaceAnswer> {
    return this.placement.place(who, body, headerKey);
  }

  /** Sends held reservations and queued releases to reachable regions (see reservation-degraded.ts). */
  reconcile(): ReturnType<DegradedHolds["reconcile"]> {
    return this.degraded.reconcile();
  }

  /** What degraded mode holds and what became of recent holds (operations). */
  degradedReport(): ReturnType<DegradedHolds["report"]> {
    return this.degraded.report();
  }

  // --- read --------------------------------------------------------------------------------------------

  /**
   * Reads and releases are scoped to the caller that placed the reservation; `anyCaller` (operations,
   * and warehouse for reads) sees every one. Another caller's reservation is not found, with the same
   * message as one that does not exist, so that its existence is not revealed.
   */
  private outOfScope(id: string, scope: Scope) {
    if (scope.anyCaller || this.d.store.get(id)?.caller === scope.caller) return undefined;
    return notFound(id, `no reservation with this id placed by API key ${JSON.stringify(scope.caller)}`);
  }

  async get(id: string, scope: Scope): Promise<ReadOutcome> {
    const position = positionOfReservationId(id);
    if (!position) return notFound(id, "not a reservation id of this API");
    const hidden = this.outOfScope(id, scope);
    if (hidden) return hidden;
    const actions = this.d.store.actions(id);
    const read = await this.read(id, position);
    return actions.length > 0 && read.kind === "found"
      ? { kind: "found", reservation: { ...read.reservation, actions } }
      : read;
  }

  /** A reservation by the id its channel gave it (`channelReservationId`), in the caller's scope. */
  async getByChannelId(channel: string, channelReservationId: string, scope: Scope): Promise<ReadOutcome> {
    const outcome = this.d.store.request(channelScope(channel), channelReservationId)?.outcome as
      | PlaceOutcome
      | undefined;
    if (outcome?.kind !== "confirmed" && outcome?.kind !== "held")
      return {
        kind: "notFound",
        reservationId: channelReservationId,
        message: `no reservation of channel ${JSON.stringify(channel)} with channelReservationId ${JSON.stringify(channelReservationId)}`,
      };
    return this.get(outcome.reservation.reservationId, scope);
  }

  private async read(id: string, position: Position): Promise<ReadOutcome> {
    const row = this.d.store.get(id);
    let reachable = true;
    let entry: Awaited<ReturnType<RegionalEntryReader["get"]>>;
    let open: Awaited<ReturnType<RegionalEntryReader["reservation"]>>;
    try {
      [entry, open] = await Promise.all([
        this.d.reader.get(position.region, position.location, position.sku),
        this.d.reader.reservation(position.region, position.location, position.sku, id),
      ]);
    } catch {
      reachable = false;
    }
    if (open)
      return {
        kind: "found",
        reservation: {
          reservationId: id,
          status: "open",
          ...position,
          quantity: open.quantity,
          channel: open.channel,
          expiresAt: open.expiresAt,
          placedAt: open.placedAt,
          degraded: false,
          asOfRevision: entry?.lastRevision,
        },
      };
    if (!row && reachable)
      return notFound(
        id,
        "no open reservation with this id (never placed, or consumed, released or expired)",
      );
    const status = row
      ? row.state === "confirmed"
        ? reachable
          ? "closed"
          : "unknown"
        : row.state
      : "unknown";
    return {
      kind: "found",
      reservation: {
        reservationId: id,
        status,
        ...position,
        ...(row
          ? {
              quantity: row.quantity,
              channel: row.channel,
              expiresAt: row.expiresAt,
              placedAt: row.createdAt,
            }
          : {}),
        degraded: row?.state === "held",
        ...(row?.detail ? { detail: row.detail } : {}),
        ...(status === "closed"
          ? { detail: "no longer open at its position: consumed by a pick, released or expired" }
          : {}),
        ...(!reachable ? { regionReachable: false } : {}),
      },
    };
  }

  // --- release -----------------------------------------------------------------------------------------

  async release(id: string, scope: Scope): Promise<ReleaseOutcome> {
    const position = positionOfReservationId(id);
    if (!position) return notFound(id, "not a reservation id of this API");
    const hidden = this.outOfScope(id, scope);
    if (hidden) return hidden;
    const r = await this.releaseOnce(id, position, scope);
    if (r.kind !== "released" && r.kind !== "releasePending") return r;
    // Who released it, and when: in this answer and in every later read.
    const done = this.d.store.recordAction(id, "release", scope.caller);
    return { ...r, reservation: { ...r.reservation, releasedBy: done.by, releasedAt: done.at } };
  }

  /** The system a release is sent as: the one that placed it (ownership rules name it), else the caller's. */
  private releaser(row: ReservationRow | undefined, scope: Scope): string {
    return systemOfCommand(row?.command) ?? scope.channel ?? this.system;
  }

  private async releaseOnce(id: string, position: Position, scope: Scope): Promise<ReleaseOutcome> {
    const row = this.d.store.get(id);
    if (
      row?.state === "held" &&
      this.d.store.transition(id, "held", "released", "released by the caller while held")
    ) {
      degradedMetric.inc({ outcome: "releasedWhileHeld" });
      return {
        kind: "released",
        reservation: { reservationId: id, status: "released", ...position, degraded: true },
      };
    }
    if (row && row.state !== "confirmed")
      return {
        kind: "released",
        reservation: {
          reservationId: id,
          status: row.state,
          ...position,
          degraded: false,
          ...(row.detail ? { detail: row.detail } : {}),
        },
      };
    const command = releaseCommand(this.releaser(row, scope), position, id);
    const outcome = await requestDecision(
      this.d.nc,
      position.region,
      command,
      this.d.config.reservations.requestTimeoutMs,
    );
    if (outcome.kind === "denied") return { kind: "sendDenied", message: outcome.message };
    if (outcome.kind !== "reply") {
      this.d.store.enqueue(
        position.region,
        id,
        JSON.stringify(command),
        "released while the region was unreachable",
      );
      if (row) this.d.store.transition(id, "confirmed", "released", "release queued: region unreachable");
      return {
        kind: "releasePending",
        reservation: { reservationId: id, status: "releasePending", ...position, degraded: true },
        message: outcome.message,
      };
    }
    const reply = outcome.reply;
    if (reply.outcome === "accepted" || reply.outcome === "duplicate") {
      if (row) this.d.store.transition(id, "confirmed", "released");
      const ev = reply.events.find((e) => e.type === "ReservationReleased");
      return {
        kind: "released",
        reservation: {
          reservationId: id,
          status: "released",
          ...position,
          quantity: ev?.quantity,
          degraded: false,
        },
      };
    }
    if (reply.outcome === "rejected" && reply.reason.code === "unknownReservation")
      return notFound(id, reply.reason.message);
    return { kind: "rejected", message: "the regional node refused the release", reply };
  }
}
