/**
 * Reservations through the API: placed, read and released, decided synchronously by the owning
 * regional node over request/reply; in degraded mode (region unreachable) held here within the
 * constrained ATP and confirmed or compensated when the region returns (DEGRADED-MODE.md).
 *
 * Answers are `{ status, body }` so that routes stay thin and the reconciler shares the code paths.
 */
import { createHash, randomUUID } from "node:crypto";
import type { NatsConnection } from "@nats-io/transport-node";
import * as t from "io-ts";
import type { Logger } from "pino";
import { canonicalJson } from "../../domain/canonical-json.ts";
import type { Position } from "../../domain/ids.ts";
import {
  boundedArrayC,
  ClientKeyC,
  CodeC,
  DocumentIdC,
  KeyC,
  LocationIdC,
  MovementAmountC,
  RegionC,
  ReservationTtlSecondsC,
  SkuC,
  SystemIdC,
} from "../../domain/scalars.ts";
import { counter } from "../../infra/metrics.ts";
import type { ApiConfig } from "./api-config.ts";
import { type AvailabilityService, constrainedAtp } from "./availability.ts";
import { type RegionalEntryReader, type RequestOutcome, requestDecision } from "./region-link.ts";
import { positionOfReservationId, reservationIdFor } from "./reservation-ids.ts";
import type { ReservationRow, ReservationStore } from "./reservation-store.ts";

const SourcingC = t.union(
  [
    t.type({ rule: t.literal("mostAvailableFirst") }),
    t.type({ rule: t.literal("priority"), locations: boundedArrayC(LocationIdC, 1000) }),
  ],
  '{ rule: "mostAvailableFirst" } | { rule: "priority", locations: [string, ...] }',
);

/** Body of `POST /v1/reservations`: the limits of commands (limits.ts), so that a 400 names the field. */
export const PlaceReservationBodyC = t.intersection([
  t.type({ sku: SkuC, region: RegionC, quantity: MovementAmountC, channel: SystemIdC }),
  t.partial({
    /** One location; without it, any location of the region by `sourcing` (default most available first). */
    location: LocationIdC,
    sourcing: SourcingC,
    ttlSeconds: ReservationTtlSecondsC,
    uom: CodeC,
    order: DocumentIdC,
    idempotencyKey: ClientKeyC,
    correlationId: KeyC,
  }),
]);
export type PlaceReservationBody = t.TypeOf<typeof PlaceReservationBodyC>;

export interface Answer {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

const fieldError = (path: string, value: unknown, expected: string): Answer => ({
  status: 400,
  body: {
    error: "bad_request",
    message: `${path}: got ${JSON.stringify(value)}, expected ${expected}`,
    errors: [
      { path, value, expected, message: `${path}: got ${JSON.stringify(value)}, expected ${expected}` },
    ],
  },
});

const metrics = {
  decisions: counter("stockline_api_reservations_total", "Reservation requests by outcome", ["outcome"]),
  degraded: counter("stockline_api_degraded_holds_total", "Degraded holds by what became of them", [
    "outcome",
  ]),
};

export interface ReservationServiceDeps {
  readonly nc: NatsConnection;
  readonly store: ReservationStore;
  readonly availability: AvailabilityService;
  readonly reader: RegionalEntryReader;
  readonly config: ApiConfig;
  readonly logger: Logger;
  /** Source system of the commands the API sends (ownership policy: the API acts for the OMS). */
  readonly sourceSystem?: string;
}

interface Candidate {
  readonly location: string;
  /** Promisable now per the read model (fresh ATP, or constrained ATP when stale, less holds). */
  readonly promisable: number;
  /** Last known ATP (for the constrained figure when the region turns out unreachable). */
  readonly atp: number;
}

type Attempt = { readonly command: PlaceCommand; readonly outcome: RequestOutcome };

interface PlaceCommand {
  readonly kind: "placeReservation";
  readonly idempotencyKey: string;
  readonly source: { system: string; document: { type: string; id: string } };
  readonly businessTime: string;
  readonly correlationId: string;
  readonly position: Position;
  readonly quantity: { value: number; uom: string };
  readonly reservationId: string;
  readonly channel: string;
  readonly ttlSeconds: number;
  readonly documents?: { order: string };
}

const hashOf = (body: unknown): string => createHash("sha256").update(canonicalJson(body)).digest("hex");

export class ReservationService {
  private readonly system: string;
  private readonly log: Logger;
  /** Requests in progress per caller and key: a concurrent repeat waits for the first answer. */
  private readonly inProgress = new Map<string, Promise<Answer>>();

  constructor(private readonly d: ReservationServiceDeps) {
    this.system = d.sourceSystem ?? "stockline-api";
    this.log = d.logger.child({ component: "reservations" });
  }

  // --- place -------------------------------------------------------------------------------------------

  async place(caller: string, body: PlaceReservationBody, headerKey: string | undefined): Promise<Answer> {
    const cfg = this.d.config;
    if (!cfg.regions.includes(body.region))
      return fieldError("region", body.region, `one of the configured regions (${cfg.regions.join(", ")})`);
    if (body.location !== undefined && body.sourcing !== undefined)
      return fieldError("sourcing", body.sourcing, "no sourcing rule when a location is given");
    if (body.ttlSeconds !== undefined && body.ttlSeconds > cfg.reservations.maxTtlSeconds)
      return fieldError("ttlSeconds", body.ttlSeconds, `at most ${cfg.reservations.maxTtlSeconds}`);
    if (headerKey !== undefined && body.idempotencyKey !== undefined && headerKey !== body.idempotencyKey)
      return fieldError(
        "idempotencyKey",
        body.idempotencyKey,
        `the Idempotency-Key header's value ${JSON.stringify(headerKey)}`,
      );
    // Without a key the request is still idempotent at the node, but a retry is a new reservation.
    const idemKey = headerKey ?? body.idempotencyKey ?? `auto-${randomUUID()}`;
    const { idempotencyKey: _k, ...request } = body;
    const slot = `${caller}\u0000${idemKey}`;
    const running = this.inProgress.get(slot);
    if (running) return running;
    const p = this.placeOnce(caller, idemKey, request).finally(() => this.inProgress.delete(slot));
    this.inProgress.set(slot, p);
    return p;
  }

  private async placeOnce(
    caller: string,
    idemKey: string,
    request: Omit<PlaceReservationBody, "idempotencyKey">,
  ): Promise<Answer> {
    const hash = hashOf(request);
    const { row } = this.d.store.beginRequest(caller, idemKey, hash);
    if (row.requestHash !== hash) {
      return {
        status: 422,
        body: {
          error: "idempotency_conflict",
          message: `Idempotency-Key ${JSON.stringify(idemKey)} was already used for a different reservation request`,
        },
      };
    }
    if (row.statusCode !== null && row.response !== null) {
      metrics.decisions.inc({ outcome: "replayed" });
      return {
        status: row.statusCode,
        body: { ...(JSON.parse(row.response) as Record<string, unknown>), replayed: true },
      };
    }
    const answer = await this.decide(caller, idemKey, request, row.startedAt, row.lastAttempt);
    if (answer.status === 503) this.d.store.abandonRequest(caller, idemKey);
    else this.d.store.finishRequest(caller, idemKey, answer.status, answer.body);
    metrics.decisions.inc({ outcome: String(answer.status) });
    return answer;
  }

  private candidates(request: Omit<PlaceReservationBody, "idempotencyKey">): Candidate[] {
    const fresh = this.d.availability.freshness([request.region]);
    const stale = new Set(fresh.filter((f) => f.stale).map((f) => f.region));
    const f = this.d.availability.figures(request.sku, [request.region], stale);
    const known = new Map(f.locations.map((l) => [l.location, l]));
    const of = (location: string): Candidate => ({
      location,
      promisable: known.get(location)?.promisable ?? 0,
      atp: known.get(location)?.atp ?? 0,
    });
    if (request.location !== undefined) return [of(request.location)];
    if (request.sourcing?.rule === "priority") return request.sourcing.locations.map(of);
    return f.locations
      .map((l) => of(l.location))
      .sort((a, b) => b.promisable - a.promisable || (a.location < b.location ? -1 : 1))
      .slice(0, this.d.config.reservations.maxCandidates);
  }

  private commandFor(
    caller: string,
    idemKey: string,
    request: Omit<PlaceReservationBody, "idempotencyKey">,
    location: string,
    startedAt: string,
  ): PlaceCommand {
    const position = { region: request.region, location, sku: request.sku };
    const reservationId = reservationIdFor(position, caller, idemKey);
    return {
      kind: "placeReservation",
      idempotencyKey: `api:${caller}:${idemKey}:${location}`,
      source: { system: this.system, document: { type: "reservation", id: reservationId } },
      businessTime: startedAt,
      correlationId: request.correlationId ?? reservationId,
      position,
      quantity: { value: request.quantity, uom: request.uom ?? "EA" },
      reservationId,
      channel: request.channel,
      ttlSeconds: request.ttlSeconds ?? this.d.config.reservations.defaultTtlSeconds,
      ...(request.order !== undefined ? { documents: { order: request.order } } : {}),
    };
  }

  private async decide(
    caller: string,
    idemKey: string,
    request: Omit<PlaceReservationBody, "idempotencyKey">,
    startedAt: string,
    lastAttempt: string | null,
  ): Promise<Answer> {
    const timeoutMs = this.d.config.reservations.requestTimeoutMs;
    const region = request.region;
    const candidates = this.candidates(request);
    // A retry after a crash: the last command sent may have been accepted; ask it again first.
    if (lastAttempt) {
      const prev = JSON.parse(lastAttempt) as PlaceCommand;
      const i = candidates.findIndex((c) => c.location === prev.position.location);
      if (i > 0) candidates.unshift(...candidates.splice(i, 1));
      else if (i < 0) candidates.unshift({ location: prev.position.location, promisable: 0, atp: 0 });
    }
    const shortfalls: Array<{ location: string; atp: number; code: string; message: string }> = [];
    const unanswered: Attempt[] = [];
    for (const c of candidates) {
      const command = this.commandFor(caller, idemKey, request, c.location, startedAt);
      this.d.store.noteAttempt(caller, idemKey, JSON.stringify(command));
      const outcome = await requestDecision(this.d.nc, region, command, timeoutMs);
      if (outcome.kind !== "reply") {
        unanswered.push({ command, outcome });
        // Unreachable: every location of the region is; go degraded with what we know.
        return this.degraded(caller, command, candidates, unanswered, outcome);
      }
      const reply = outcome.reply;
      if (reply.outcome === "accepted" || reply.outcome === "duplicate") {
        const placed = reply.events.find((e) => e.type === "ReservationPlaced");
        const expiresAt =
          placed && placed.type === "ReservationPlaced"
            ? placed.expiresAt
            : new Date(Date.parse(startedAt) + command.ttlSeconds * 1000).toISOString();
        this.d.store.recordConfirmed(this.rowOf(caller, command, expiresAt));
        return {
          status: 201,
          body: this.view(command, expiresAt, "confirmed", { duplicate: reply.outcome === "duplicate" }),
        };
      }
      if (reply.outcome === "rejected") {
        const reason = reply.reason as { code: string; message: string; atp?: { atp?: number } };
        const next = ["insufficientAtp", "positionOnHold", "positionDiscontinued"].includes(reason.code);
        if (next) {
          shortfalls.push({
            location: c.location,
            atp: reason.atp?.atp ?? 0,
            code: reason.code,
            message: reason.message,
          });
          continue;
        }
        const status = reason.code === "invalidExpiry" || reason.code === "unitConversion" ? 400 : 422;
        return { status, body: { error: "rejected", code: reason.code, message: reason.message, reason } };
      }
      if (reply.outcome === "invalid")
        return {
          status: 400,
          body: {
            error: "bad_request",
            message: "the regional node refused the command",
            errors: reply.errors,
          },
        };
      return {
        status: 503,
        body: { error: "not_decided", message: `the regional node answered ${reply.outcome}`, reply },
      };
    }
    return this.short(request, shortfalls, false);
  }

  private short(
    request: Omit<PlaceReservationBody, "idempotencyKey">,
    shortfalls: ReadonlyArray<{ location: string; atp: number; code?: string; message?: string }>,
    degraded: boolean,
  ): Answer {
    const available = shortfalls.reduce((m, s) => Math.max(m, s.atp), 0);
    return {
      status: 409,
      body: {
        error: "insufficient_atp",
        message:
          shortfalls.length === 0
            ? `no location of region ${request.region} holds SKU ${JSON.stringify(request.sku)}`
            : `requested ${request.quantity} of ${JSON.stringify(request.sku)}; at most ${available} available at one location of region ${request.region}${degraded ? " (degraded mode: constrained ATP)" : ""}`,
        requested: request.quantity,
        available,
        degraded,
        locations: shortfalls,
      },
    };
  }

  /** The region did not answer: hold within the constrained ATP (see DEGRADED-MODE.md). */
  private degraded(
    caller: string,
    failed: PlaceCommand,
    candidates: readonly Candidate[],
    unanswered: readonly Attempt[],
    outcome: Exclude<RequestOutcome, { kind: "reply" }>,
  ): Answer {
    const region = failed.position.region;
    const request = { region, sku: failed.position.sku, quantity: failed.quantity.value };
    this.log.warn(
      { region, sku: request.sku, reason: outcome.message },
      "region unreachable: degraded reservation",
    );
    // After a timeout the failed command may have been decided: only it may be held (resent verbatim
    // later, a duplicate if it was accepted); otherwise its reservation is released on return.
    const options =
      outcome.kind === "timeout"
        ? candidates.filter((c) => c.location === failed.position.location)
        : candidates;
    const shortfalls: Array<{ location: string; atp: number }> = [];
    const fits = [...options].sort((a, b) => this.limitOf(b) - this.limitOf(a));
    for (const c of fits) {
      const command =
        c.location === failed.position.location
          ? failed
          : { ...failed, ...this.relocated(failed, c.location) };
      const expiresAt = new Date(Date.parse(command.businessTime) + command.ttlSeconds * 1000).toISOString();
      const limit = this.limitOf(c);
      if (this.d.store.tryHold(this.rowOf(caller, command, expiresAt), limit)) {
        metrics.degraded.inc({ outcome: "held" });
        return {
          status: 202,
          body: {
            ...this.view(command, expiresAt, "held", {}),
            degraded: true,
            message: `region ${region} is unreachable (${outcome.message}); reservation held within the constrained ATP and sent to the region when it returns`,
          },
        };
      }
      shortfalls.push({
        location: c.location,
        atp: Math.max(0, limit - this.d.store.heldAt(region, c.location, request.sku)),
      });
    }
    for (const a of unanswered)
      if (a.outcome.kind === "timeout")
        this.d.store.enqueue(
          region,
          a.command.reservationId,
          JSON.stringify(this.releaseOf(a.command.position, a.command.reservationId)),
          "timed-out attempt not held",
        );
    return this.short({ ...request, region, sku: request.sku, channel: failed.channel }, shortfalls, true);
  }

  private limitOf(c: Candidate): number {
    return constrainedAtp(c.atp, this.d.config.degraded.haircut);
  }

  private relocated(cmd: PlaceCommand, location: string): Partial<PlaceCommand> {
    // Same caller and key, another location: its own id and command key (see commandFor).
    const [caller, ...rest] = cmd.idempotencyKey.slice("api:".length).split(":");
    const idemKey = rest.slice(0, -1).join(":");
    const position = { ...cmd.position, location };
    const reservationId = reservationIdFor(position, caller ?? "", idemKey);
    return {
      idempotencyKey: `api:${caller}:${idemKey}:${location}`,
      position,
      reservationId,
      source: { ...cmd.source, document: { type: "reservation", id: reservationId } },
      correlationId: cmd.correlationId === cmd.reservationId ? reservationId : cmd.correlationId,
    };
  }

  private rowOf(
    caller: string,
    c: PlaceCommand,
    expiresAt: string,
  ): Omit<ReservationRow, "state" | "detail" | "createdAt" | "updatedAt"> {
    return {
      id: c.reservationId,
      caller,
      region: c.position.region,
      location: c.position.location,
      sku: c.position.sku,
      quantity: c.quantity.value,
      channel: c.channel,
      expiresAt,
      command: JSON.stringify(c),
    };
  }

  private view(
    c: PlaceCommand,
    expiresAt: string,
    status: string,
    extra: Record<string, unknown>,
  ): Record<string, unknown> {
    return {
      reservationId: c.reservationId,
      status,
      region: c.position.region,
      location: c.position.location,
      sku: c.position.sku,
      quantity: c.quantity.value,
      channel: c.channel,
      expiresAt,
      degraded: status === "held",
      ...extra,
    };
  }

  private releaseOf(position: Position, reservationId: string) {
    const at = new Date().toISOString();
    return {
      kind: "releaseReservation",
      idempotencyKey: `api-release:${reservationId}:${at}`,
      source: { system: this.system, document: { type: "reservation", id: reservationId } },
      businessTime: at,
      correlationId: reservationId,
      position,
      reservationId,
    };
  }

  // --- read --------------------------------------------------------------------------------------------

  /**
   * Reads and releases are scoped to the caller that placed the reservation; `anyCaller` (operations,
   * and warehouse for reads) sees every one. Another caller's reservation is a 404 with the same
   * message as one that does not exist, so that its existence is not revealed.
   */
  private outOfScope(id: string, scope: Scope): Answer | undefined {
    if (scope.anyCaller || this.d.store.get(id)?.caller === scope.caller) return undefined;
    return notFound(id, `no reservation with this id placed by API key ${JSON.stringify(scope.caller)}`);
  }

  async get(id: string, scope: Scope): Promise<Answer> {
    const position = positionOfReservationId(id);
    if (!position) return notFound(id, "not a reservation id of this API");
    const hidden = this.outOfScope(id, scope);
    if (hidden) return hidden;
    const actions = this.d.store.actions(id);
    const answer = await this.read(id, position);
    return actions.length > 0 && answer.status === 200
      ? { status: 200, body: { ...(answer.body as Record<string, unknown>), actions } }
      : answer;
  }

  private async read(id: string, position: Position): Promise<Answer> {
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
    if (open) {
      return {
        status: 200,
        body: {
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
    }
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
      status: 200,
      body: {
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

  async release(id: string, scope: Scope): Promise<Answer> {
    const position = positionOfReservationId(id);
    if (!position) return notFound(id, "not a reservation id of this API");
    const hidden = this.outOfScope(id, scope);
    if (hidden) return hidden;
    const a = await this.releaseOnce(id, position);
    if (a.status !== 200 && a.status !== 202) return a;
    // Who released it, and when: in this answer and in every later read.
    const done = this.d.store.recordAction(id, "release", scope.caller);
    return {
      status: a.status,
      body: { ...(a.body as Record<string, unknown>), releasedBy: done.by, releasedAt: done.at },
    };
  }

  private async releaseOnce(id: string, position: Position): Promise<Answer> {
    const row = this.d.store.get(id);
    if (
      row?.state === "held" &&
      this.d.store.transition(id, "held", "released", "released by the caller while held")
    ) {
      metrics.degraded.inc({ outcome: "releasedWhileHeld" });
      return { status: 200, body: { reservationId: id, status: "released", ...position, degraded: true } };
    }
    if (row && row.state !== "confirmed")
      return {
        status: 200,
        body: {
          reservationId: id,
          status: row.state,
          ...position,
          ...(row.detail ? { detail: row.detail } : {}),
        },
      };
    const command = this.releaseOf(position, id);
    const outcome = await requestDecision(
      this.d.nc,
      position.region,
      command,
      this.d.config.reservations.requestTimeoutMs,
    );
    if (outcome.kind !== "reply") {
      this.d.store.enqueue(
        position.region,
        id,
        JSON.stringify(command),
        "released while the region was unreachable",
      );
      if (row) this.d.store.transition(id, "confirmed", "released", "release queued: region unreachable");
      return {
        status: 202,
        body: {
          reservationId: id,
          status: "releasePending",
          ...position,
          degraded: true,
          message: outcome.message,
        },
      };
    }
    const reply = outcome.reply;
    if (reply.outcome === "accepted" || reply.outcome === "duplicate") {
      if (row) this.d.store.transition(id, "confirmed", "released");
      const ev = reply.events.find((e) => e.type === "ReservationReleased");
      return {
        status: 200,
        body: { reservationId: id, status: "released", ...position, quantity: ev?.quantity, degraded: false },
      };
    }
    if (reply.outcome === "rejected" && reply.reason.code === "unknownReservation")
      return notFound(id, reply.reason.message);
    return {
      status: 422,
      body: { error: "rejected", message: "the regional node refused the release", reply },
    };
  }

  // --- reconcile degraded holds ----------------------------------------------------------------------

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
            metrics.degraded.inc({ outcome: "expiredWhileHeld" });
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
            metrics.degraded.inc({ outcome: "confirmed" });
            log.info("degraded hold confirmed by the region");
          } else {
            // Released by the caller while we were sending: give it back at the region too.
            this.d.store.enqueue(
              region,
              h.id,
              JSON.stringify(this.releaseOf({ region, location: h.location, sku: h.sku }, h.id)),
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
          metrics.degraded.inc({ outcome: "compensated" });
          log.warn({ why }, "degraded hold compensated: the region refused it");
        }
      }
    }
    return out;
  }

  /** What degraded mode holds and what became of recent holds (operations). */
  degradedReport(): Answer {
    const rows = this.d.store.list(["held", "compensated", "expiredWhileHeld"]);
    return {
      status: 200,
      body: {
        held: rows.filter((r) => r.state === "held").map(publicRow),
        compensated: rows.filter((r) => r.state === "compensated").map(publicRow),
        expiredWhileHeld: rows.filter((r) => r.state === "expiredWhileHeld").map(publicRow),
        pendingReleases: this.d.store
          .outbox()
          .map((o) => ({ region: o.region, reservationId: o.reservationId, reason: o.reason })),
      },
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

/** Who asks (the API key's name) and whether it may act on any caller's reservations. */
export interface Scope {
  readonly caller: string;
  readonly anyCaller: boolean;
}

const notFound = (id: string, message: string): Answer => ({
  status: 404,
  body: { error: "not_found", message: `reservation ${JSON.stringify(id)}: ${message}` },
});
