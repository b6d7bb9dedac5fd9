/**
 * Placing a reservation: validated against the configuration and the caller's key, idempotent on
 * the caller's Idempotency-Key or on the channel's own reservation id, decided synchronously by the
 * owning regional node over request/reply, location after location; when the region does not
 * answer, handed to degraded mode (reservation-degraded.ts).
 */
import { randomUUID } from "node:crypto";
import type { NatsConnection } from "@nats-io/transport-node";
import type { DecodeError } from "../../domain/decode-errors.ts";
import { counter } from "../../infra/metrics.ts";
import type { ApiConfig } from "./api-config.ts";
import type { AvailabilityService } from "./availability.ts";
import { requestDecision } from "./region-link.ts";
import {
  type Candidate,
  type DegradedHolds,
  rowOf,
  type Unanswered,
  viewOf,
} from "./reservation-degraded.ts";
import {
  insufficientAtp,
  type PlaceAnswer,
  type PlaceOutcome,
  type Shortfall,
} from "./reservation-outcomes.ts";
import {
  channelScope,
  commandFor,
  expiryOf,
  hashOf,
  type PlaceCommand,
  type Placement,
  type PlaceReservationBody,
  type Requester,
} from "./reservation-request.ts";
import type { ReservationStore } from "./reservation-store.ts";

const decisions = counter("stockline_api_reservations_total", "Reservation requests by outcome", ["outcome"]);

/** Rejections after which the next candidate location is tried. */
const TRY_NEXT = new Set([
  "insufficientAtp",
  "insufficientChannelAvailability",
  "positionOnHold",
  "positionDiscontinued",
]);
/** Rejections that say the request itself was wrong. */
const INVALID_INPUT = new Set(["invalidExpiry", "unitConversion"]);

const invalid = (path: string, value: unknown, expected: string): PlaceOutcome => {
  const got = value === undefined ? "nothing (missing)" : JSON.stringify(value);
  return {
    kind: "invalid",
    errors: [
      { path, value, expected, message: `${path}: got ${got}, expected ${expected}` },
    ] satisfies DecodeError[],
  };
};

export interface PlacementDeps {
  readonly nc: NatsConnection;
  readonly store: ReservationStore;
  readonly availability: AvailabilityService;
  readonly config: ApiConfig;
  readonly degraded: DegradedHolds;
  /** `source.system` of reservations placed with keys bound to no channel. */
  readonly system: string;
}

export class ReservationPlacement {
  /** Requests in progress per idempotency scope and key: a concurrent repeat waits for the first. */
  private readonly inProgress = new Map<string, Promise<PlaceAnswer>>();

  constructor(private readonly d: PlacementDeps) {}

  async place(
    who: Requester,
    body: PlaceReservationBody,
    headerKey: string | undefined,
  ): Promise<PlaceAnswer> {
    const p = this.placementOf(who, body, headerKey);
    if ("kind" in p) return p;
    const slot = `${p.scope}\u0000${p.key}`;
    const running = this.inProgress.get(slot);
    if (running) return running;
    const answer = this.placeOnce(p).finally(() => this.inProgress.delete(slot));
    this.inProgress.set(slot, answer);
    return answer;
  }

  /** Checks the request against the configuration and the key; who it is for and its idempotency. */
  private placementOf(
    who: Requester,
    body: PlaceReservationBody,
    headerKey: string | undefined,
  ): Placement | PlaceOutcome {
    const cfg = this.d.config;
    if (!cfg.regions.includes(body.region))
      return invalid("region", body.region, `one of the configured regions (${cfg.regions.join(", ")})`);
    if (body.location !== undefined && body.sourcing !== undefined)
      return invalid("sourcing", body.sourcing, "no sourcing rule when a location is given");
    if (body.ttlSeconds !== undefined && body.ttlSeconds > cfg.reservations.maxTtlSeconds)
      return invalid("ttlSeconds", body.ttlSeconds, `at most ${cfg.reservations.maxTtlSeconds}`);
    if (headerKey !== undefined && body.idempotencyKey !== undefined && headerKey !== body.idempotencyKey)
      return invalid(
        "idempotencyKey",
        body.idempotencyKey,
        `the Idempotency-Key header's value ${JSON.stringify(headerKey)}`,
      );
    if (who.channel !== undefined && body.channel !== undefined && body.channel !== who.channel)
      return {
        kind: "forbidden",
        message: `API key ${JSON.stringify(who.caller)} speaks for channel ${JSON.stringify(who.channel)}, not ${JSON.stringify(body.channel)}`,
      };
    const channel = who.channel ?? body.channel;
    if (channel === undefined)
      return invalid(
        "channel",
        undefined,
        "a channel id (required unless the API key is bound to a channel)",
      );
    if (who.channel === undefined && body.channelReservationId !== undefined)
      return invalid(
        "channelReservationId",
        body.channelReservationId,
        `no channelReservationId: API key ${JSON.stringify(who.caller)} is bound to no channel`,
      );
    if (cfg.knownSku && !cfg.knownSku(body.sku))
      return {
        kind: "unknownSku",
        sku: body.sku,
        message: `sku: ${JSON.stringify(body.sku)} is not in the product catalogue`,
      };
    const { idempotencyKey: _k, ...request } = body;
    const own = body.channelReservationId;
    return {
      caller: who.caller,
      // The channel's own id is its idempotency key, whichever of its keys sends it.
      scope: own !== undefined ? channelScope(channel) : who.caller,
      // Without a key the request is still idempotent at the node, but a retry is a new reservation.
      key: own ?? headerKey ?? body.idempotencyKey ?? `auto-${randomUUID()}`,
      system: who.channel ?? this.d.system,
      channel,
      request: { ...request, channel },
      ttlSeconds: request.ttlSeconds ?? cfg.reservations.defaultTtlSeconds,
    };
  }

  private async placeOnce(p: Placement): Promise<PlaceAnswer> {
    const hash = hashOf(p.request);
    const { row } = this.d.store.beginRequest(p.scope, p.key, hash);
    if (row.requestHash !== hash) {
      const own = p.request.channelReservationId;
      return own !== undefined
        ? {
            kind: "reservationIdConflict",
            channel: p.channel,
            channelReservationId: own,
            message: `channelReservationId ${JSON.stringify(own)} of channel ${JSON.stringify(p.channel)} was already used for a different reservation request`,
          }
        : {
            kind: "idempotencyConflict",
            key: p.key,
            message: `Idempotency-Key ${JSON.stringify(p.key)} was already used for a different reservation request`,
          };
    }
    if (row.outcome !== undefined) {
      decisions.inc({ outcome: "replayed" });
      return { ...(row.outcome as PlaceOutcome), replayed: true };
    }
    const outcome = await this.decide(p, row.startedAt, row.lastAttempt);
    if (outcome.kind === "notDecided" || outcome.kind === "sendDenied")
      this.d.store.abandonRequest(p.scope, p.key);
    else this.d.store.finishRequest(p.scope, p.key, outcome);
    decisions.inc({ outcome: outcome.kind });
    return outcome;
  }

  private candidates(p: Placement): { candidates: Candidate[]; known: boolean } {
    const r = p.request;
    const fresh = this.d.availability.freshness([r.region]);
    const stale = new Set(fresh.filter((f) => f.stale).map((f) => f.region));
    const f = this.d.availability.figures(r.sku, [r.region], stale);
    const byLocation = new Map(f.locations.map((l) => [l.location, l]));
    const of = (location: string): Candidate => ({
      location,
      promisable: byLocation.get(location)?.promisable ?? 0,
      atp: byLocation.get(location)?.atp ?? 0,
    });
    const candidates =
      r.location !== undefined
        ? [of(r.location)]
        : r.sourcing?.rule === "priority"
          ? r.sourcing.locations.map(of)
          : f.locations
              .map((l) => of(l.location))
              .sort((a, b) => b.promisable - a.promisable || (a.location < b.location ? -1 : 1))
              .slice(0, this.d.config.reservations.maxCandidates);
    return { candidates, known: f.known };
  }

  private async decide(p: Placement, startedAt: string, lastAttempt: string | null): Promise<PlaceOutcome> {
    const timeoutMs = this.d.config.reservations.requestTimeoutMs;
    const region = p.request.region;
    const { candidates, known } = this.candidates(p);
    // A retry after a crash: the last command sent may have been accepted; ask it again first.
    if (lastAttempt) {
      const prev = JSON.parse(lastAttempt) as PlaceCommand;
      const i = candidates.findIndex((c) => c.location === prev.position.location);
      if (i > 0) candidates.unshift(...candidates.splice(i, 1));
      else if (i < 0) candidates.unshift({ location: prev.position.location, promisable: 0, atp: 0 });
    }
    const commandAt = (location: string) => commandFor(p, location, startedAt);
    const shortfalls: Shortfall[] = [];
    const unanswered: Unanswered[] = [];
    for (const c of candidates) {
      const command = commandAt(c.location);
      this.d.store.noteAttempt(p.scope, p.key, JSON.stringify(command));
      const outcome = await requestDecision(this.d.nc, region, command, timeoutMs);
      if (outcome.kind === "denied") return { kind: "sendDenied", message: outcome.message };
      if (outcome.kind !== "reply") {
        unanswered.push({ command, outcome });
        // Unreachable: every location of the region is; go degraded with what we know.
        return this.d.degraded.hold(p.caller, command, commandAt, candidates, unanswered, outcome, known);
      }
      const reply = outcome.reply;
      if (reply.outcome === "accepted" || reply.outcome === "duplicate") {
        const placed = reply.events.find((e) => e.type === "ReservationPlaced");
        const expiresAt = placed?.type === "ReservationPlaced" ? placed.expiresAt : expiryOf(command);
        this.d.store.recordConfirmed(rowOf(p.caller, command, expiresAt));
        return {
          kind: "confirmed",
          reservation: viewOf(command, expiresAt, "confirmed"),
          duplicate: reply.outcome === "duplicate",
        };
      }
      if (reply.outcome === "rejected") {
        const reason = reply.reason as {
          code: string;
          message: string;
          atp?: { atp?: number };
          /** insufficientChannelAvailability: what the channel may sell there. */
          availability?: { quantity?: number };
        };
        if (TRY_NEXT.has(reason.code)) {
          shortfalls.push({
            location: c.location,
            atp: reason.availability?.quantity ?? reason.atp?.atp ?? 0,
            code: reason.code,
            message: reason.message,
          });
          continue;
        }
        return {
          kind: "rejected",
          code: reason.code,
          message: reason.message,
          reason,
          invalidInput: INVALID_INPUT.has(reason.code),
        };
      }
      if (reply.outcome === "invalid")
        return {
          kind: "nodeInvalid",
          message: "the regional node refused the command",
          errors: reply.errors,
        };
      return { kind: "notDecided", message: `the regional node answered ${reply.outcome}`, reply };
    }
    return insufficientAtp(p.request, shortfalls, false, known);
  }
}
