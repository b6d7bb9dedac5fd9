/**
 * Degraded mode (DEGRADED-MODE.md): while a region does not answer, reservations are held here
 * within its constrained ATP; when it returns, held reservations are sent to it verbatim and
 * confirmed, or compensated when it refuses them, and queued releases are delivered.
 */
import type { NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "pino";
import { counter } from "../../infra/metrics.ts";
import type { ApiConfig } from "./api-config.ts";
import { type AvailabilityService, constrainedAtp } from "./availability.ts";
import { type RequestOutcome, requestDecision } from "./region-link.ts";
import { insufficientAtp, type PlaceOutcome, type Shortfall } from "./reservation-outcomes.ts";
import { expiryOf, type PlaceCommand, releaseCommand, systemOfCommand } from "./reservation-request.ts";
import type { ReservationRow, ReservationStore } from "./reservation-store.ts";

export const degradedMetric = counter(
  "stockline_api_degraded_holds_total",
  "Degraded holds by what became of them",
  ["outcome"],
);

/** A location a placement may try. */
export interface Candidate {
  readonly location: string;
  /** Promisable now per the read model (fresh ATP, or constrained ATP when stale, less holds). */
  readonly promisable: number;
  /** Last known ATP (for the constrained figure when the region turns out unreachable). */
  readonly atp: number;
}

/** A command sent without an answer. */
export type Unanswered = { readonly command: PlaceCommand; readonly outcome: RequestOutcome };

export interface DegradedDeps {
  readonly nc: NatsConnection;
  readonly store: ReservationStore;
  readonly availability: AvailabilityService;
  readonly config: ApiConfig;
  readonly logger: Logger;
  /** `source.system` of releases of reservations whose placing command is not known here. */
  readonly system: string;
}

/** The store's row of a placed or held reservation. */
export const rowOf = (
  caller: string,
  c: PlaceCommand,
  expiresAt: string,
): Omit<ReservationRow, "state" | "detail" | "createdAt" | "updatedAt"> => ({
  id: c.reservationId,
  caller,
  region: c.position.region,
  location: c.position.location,
  sku: c.position.sku,
  quantity: c.quantity.value,
  channel: c.channel,
  expiresAt,
  command: JSON.stringify(c),
});

/** The API's view of a placed command. */
export const viewOf = (c: PlaceCommand, expiresAt: string, status: "confirmed" | "held") => ({
  reservationId: c.reservationId,
  status,
  region: c.position.region,
  location: c.position.location,
  sku: c.position.sku,
  quantity: c.quantity.value,
  channel: c.channel,
  ...(c.source.document.id !== c.reservationId ? { channelReservationId: c.source.document.id } : {}),
  businessTime: c.businessTime,
  expiresAt,
  degraded: status === "held",
});

export class DegradedHolds {
  private readonly log: Logger;

  constructor(private readonly d: DegradedDeps) {
    this.log = d.logger.child({ component: "degraded-holds" });
  }

  /**
   * The region did not answer `failed`: hold within the constrained ATP of a candidate.
   * `commandAt(location)` is the same request's command at another location.
   */
  hold(
    caller: string,
    failed: PlaceCommand,
    commandAt: (location: string) => PlaceCommand,
    candidates: readonly Candidate[],
    unanswered: readonly Unanswered[],
    outcome: Extract<RequestOutcome, { kind: "unreachable" | "timeout" }>,
    known: boolean,
  ): PlaceOutcome {
    const { region, sku } = failed.position;
    this.log.warn({ region, sku, reason: outcome.message }, "region unreachable: degraded reservation");
    // After a timeout the failed command may have been decided: only it may be held (resent verbatim
    // later, a duplicate if it was accepted); otherwise its reservation is released on return.
    const options =
      outcome.kind === "timeout"
        ? candidates.filter((c) => c.location === failed.position.location)
        : candidates;
    const shortfalls: Shortfall[] = [];
    for (const c of [...options].sort((a, b) => this.limitOf(b) - this.limitOf(a))) {
      const command = c.location === failed.position.location ? failed : commandAt(c.location);
      const expiresAt = expiryOf(command);
      const limit = this.limitOf(c);
      if (this.d.store.tryHold(rowOf(caller, command, expiresAt), limit)) {
        degradedMetric.inc({ outcome: "held" });
        return {
          kind: "held",
          reservation: viewOf(command, expiresAt, "held"),
          message: `region ${region} is unreachable (${outcome.message}); reservation held within the constrained ATP and sent to the region when it returns`,
        };
      }
      shortfalls.push({
        location: c.location,
        atp: Math.max(0, limit - this.d.store.heldAt(region, c.location, sku)),
      });
    }
    for (const a of unanswered)
      if (a.outcome.kind === "timeout")
        this.d.store.enqueue(
          region,
          a.command.reservationId,
          JSON.stringify(
            releaseCommand(a.command.source.system, a.command.position, a.command.reservationId),
          ),
          "timed-out attempt not held",
        );
    return insufficientAtp({ region, sku, quantity: failed.quantity.value }, shortfalls, true, known);
  }

  private limitOf(c: Candidate): number {
    return constrainedAtp(c.atp, this.d.config.degraded.haircut);
  }

  /**
   * Sends what waits for reachable regions: queued releases, then held reservations oldest first.
   * A hold the region accepts is confirmed; one it refuses is compensated (released here, reported);
   * one whose time ran out while held is dropped as `expiredWhileHeld`. Stops at a region's first
   * failure to answer. Returns what happened, for tests and logs.
   */
  async reconcile(): Promise<{ confirmed: number; compensated: number; expired: number; released: number }> {
    const out = { confirmed: 0, compensated: 0, expired: 0, released: 0 };
    const timeoutMs = this.d.config.reservations.requestTimeoutMs;
    const down = new Set(
      this.d.availability
        .freshness(undefined)
        .filter((f) => f.link === "down")
        .map((f) => f.region),
    );
    for (const region of this.d.config.regions) {
      if (down.has(region)) continue;
      let reachable = true;
      for (const o of this.d.store.outbox(region)) {
        const r = await requestDecision(this.d.nc, region, JSON.parse(o.command), timeoutMs);
        if (r.kind !== "reply") {
          reachable = false;
          break;
        }
        this.d.store.dequeue(o.seq);
        out.released++;
      }
      if (!reachable) continue;
      for (const h of this.d.store.heldReservations(region)) {
        if (Date.parse(h.expiresAt) <= Date.now()) {
          if (
            this.d.store.transition(
              h.id,
              "held",
              "expiredWhileHeld",
              "its time to live ran out before the region returned",
            )
          ) {
            out.expired++;
            degradedMetric.inc({ outcome: "expiredWhileHeld" });
          }
          continue;
        }
        const r = await requestDecision(this.d.nc, region, JSON.parse(h.command), timeoutMs);
        if (r.kind !== "reply") break;
        const reply = r.reply;
        const log = this.log.child({ region, location: h.location, sku: h.sku, reservationId: h.id });
        if (reply.outcome === "accepted" || reply.outcome === "duplicate") {
          if (
            this.d.store.transition(h.id, "held", "confirmed", "confirmed by the region after degraded mode")
          ) {
            out.confirmed++;
            degradedMetric.inc({ outcome: "confirmed" });
            log.info("degraded hold confirmed by the region");
          } else {
            // Released by the caller while we were sending: give it back at the region too.
            const system = systemOfCommand(h.command) ?? this.d.system;
            this.d.store.enqueue(
              region,
              h.id,
              JSON.stringify(releaseCommand(system, { region, location: h.location, sku: h.sku }, h.id)),
              "released while being confirmed",
            );
          }
          continue;
        }
        const why =
          reply.outcome === "rejected"
            ? `${reply.reason.code}: ${reply.reason.message}`
            : `region answered ${reply.outcome}`;
        if (this.d.store.transition(h.id, "held", "compensated", why)) {
          out.compensated++;
          degradedMetric.inc({ outcome: "compensated" });
          log.warn({ why }, "degraded hold compensated: the region refused it");
        }
      }
    }
    return out;
  }

  /** What degraded mode holds and what became of recent holds (operations). */
  report() {
    const rows = this.d.store.list(["held", "compensated", "expiredWhileHeld"]);
    return {
      held: rows.filter((r) => r.state === "held").map(publicRow),
      compensated: rows.filter((r) => r.state === "compensated").map(publicRow),
      expiredWhileHeld: rows.filter((r) => r.state === "expiredWhileHeld").map(publicRow),
      pendingReleases: this.d.store
        .outbox()
        .map((o) => ({ region: o.region, reservationId: o.reservationId, reason: o.reason })),
    };
  }
}

const publicRow = (r: ReservationRow) => ({
  reservationId: r.id,
  region: r.region,
  location: r.location,
  sku: r.sku,
  quantity: r.quantity,
  channel: r.channel,
  expiresAt: r.expiresAt,
  state: r.state,
  ...(r.detail ? { detail: r.detail } : {}),
  createdAt: r.createdAt,
  updatedAt: r.updatedAt,
});
