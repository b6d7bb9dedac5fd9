/**
 * World B, through stockline: the same physical stream decided by the real position machine
 * (domain/position.decider.ts, the pure `transition()` path the domain's tests use) under the
 * configuration's ownership policy. The shop places a reservation per order, decided against the
 * position's ATP at the first DC of the customer's region that can hold it; the WMS's picks consume
 * the reservation; every fact is recorded even when it drives a balance negative. Each stored event
 * that the configuration routes to the region's ERP is posted there with the posting worker's
 * behaviour (target latency, server errors retried with backoff, lost answers retried after the
 * connector's timeout, the first delivery applied); the shop reads global ATP after the measured
 * (or stated) latency.
 */
import type { CanonicalEvent } from "../../domain/canonical-event.ts";
import type { Command } from "../../domain/commands.ts";
import type { Position } from "../../domain/ids.ts";
import {
  atpOf,
  type DecisionEnv,
  decide,
  defaultEnv,
  evolve,
  inboundTransferCommandFor,
  initialPositionState,
  type Outcome,
  type PositionState,
  toCanonicalEvents,
  totalOnHand,
} from "../../domain/position.decider.ts";
import { routesTo } from "../../domain/routing-rules.ts";
import { seededRandom } from "../local-system/feed-catalog.ts";
import type { SimClock } from "./kpi-clock.ts";
import type { KpiRegion, KpiWorld, StocklineParameters } from "./kpi-parameters.ts";
import type { OpenOrder } from "./kpi-physical.ts";
import type { ErpLine, IntegrationWorld, Movement, OrderEvent, UnexplainedLine } from "./kpi-run.ts";
import { type Line, lineKey } from "./kpi-stream.ts";

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
type Draft = DistributiveOmit<
  Command,
  "idempotencyKey" | "correlationId" | "businessTime" | "position" | "source"
>;

export class StocklineWorld implements IntegrationWorld {
  readonly name = "stockline";
  private clock!: SimClock;
  private readonly positions = new Map<string, PositionState>();
  private readonly erp = new Map<string, number>();
  private readonly pending = new Map<string, number>();
  private readonly regionOf = new Map<string, KpiRegion>();
  private readonly rnd: () => number;
  private readonly start0: number;
  private n = 0;
  /** Outcomes other than accepted or refused for ATP (should stay empty: a wrong command of the model). */
  readonly unexpected: string[] = [];
  anomalies = 0;
  eventsStored = 0;
  postings = 0;
  postingRetries = 0;

  constructor(
    private readonly world: KpiWorld,
    opening: ReadonlyMap<string, number>,
    private readonly p: StocklineParameters,
    seed: number,
    start: string,
  ) {
    for (const r of world.regions) for (const l of r.locations) this.regionOf.set(l, r);
    this.rnd = seededRandom(seed ^ 0x5eed);
    this.start0 = Date.parse(start);
    // Opening balances: received at time 0 and already in the ERP's books (both worlds start agreed).
    for (const [k, q] of opening) {
      const [location, sku] = k.split("|") as [string, string];
      this.positions.set(k, initialPositionState(this.positionOf({ location, sku })));
      this.erp.set(k, q);
      if (q > 0)
        this.submit(
          { location, sku },
          { kind: "receiveGoods", quantity: ea(q) },
          this.wmsOf(location),
          "opening",
          0,
          false,
        );
    }
  }

  start(clock: SimClock): void {
    this.clock = clock;
  }

  private positionOf(l: Line): Position {
    return { region: this.regionOf.get(l.location)?.region ?? "?", location: l.location, sku: l.sku };
  }
  private wmsOf(location: string): string {
    return this.regionOf.get(location)?.wms ?? "?";
  }
  private iso(t: number): string {
    return new Date(this.start0 + t).toISOString();
  }
  private env(now: number): DecisionEnv {
    return defaultEnv(this.iso(now), { policy: this.world.policy });
  }
  private stateOf(l: Line): PositionState {
    const k = lineKey(l);
    let s = this.positions.get(k);
    if (!s) {
      s = initialPositionState(this.positionOf(l));
      this.positions.set(k, s);
    }
    return s;
  }

  /** Decides one command at its position, stores and posts what it decided. */
  private submit(
    l: Line,
    draft: Draft,
    system: string,
    doc: string,
    now: number,
    post = true,
  ): { outcome: Outcome; stored: CanonicalEvent[]; postedAfterMs: number } {
    const k = lineKey(l);
    const command = {
      idempotencyKey: `kpi-${++this.n}`,
      correlationId: doc,
      businessTime: this.iso(now),
      position: this.positionOf(l),
      source: { system, document: { type: draft.kind, id: doc } },
      ...draft,
    } as Command;
    return this.decideAndStore(k, command, now, post);
  }

  private decideAndStore(k: string, command: Command, now: number, post: boolean) {
    let state = this.stateOf(command.position);
    const outcome = decide(command, state, this.env(now));
    let postedAfterMs = 0;
    const stored: CanonicalEvent[] = [];
    if (outcome.kind !== "accepted") return { outcome, stored, postedAfterMs };
    const events = toCanonicalEvents(outcome.events, {
      prevRevision: state.revision,
      prevHash: state.lastHash,
      recordedTime: this.iso(now + this.p.commitLatencyMs.value),
    });
    const region = this.regionOf.get(command.position.location);
    for (const e of events) {
      const before = totalOnHand(state);
      state = evolve(state, e);
      stored.push(e);
      this.eventsStored++;
      if (e.type === "AnomalyRaised") this.anomalies++;
      const delta = totalOnHand(state) - before;
      if (post && delta !== 0 && region && routesTo(this.world.routing, region.posting.target, e))
        postedAfterMs = Math.max(postedAfterMs, this.post(k, region, delta, now));
    }
    this.positions.set(k, state);
    return { outcome, stored, postedAfterMs };
  }

  /** The posting worker delivering one event to the region's ERP: ms until the ERP has applied it. */
  private post(k: string, region: KpiRegion, delta: number, now: number): number {
    const b = region.posting;
    let t = this.p.commitLatencyMs.value;
    let backoff = this.p.postingBackoffMs;
    this.postings++;
    for (;;) {
      const r = this.rnd();
      if (r < b.errorRate) {
        // A server error: nothing applied; the worker waits and tries again.
        this.postingRetries++;
        t += b.latencyMs + backoff * (0.75 + this.rnd() / 2);
        backoff = Math.min(backoff * 2, 30_000);
        continue;
      }
      // Applied (a lost answer only makes the worker send a duplicate later).
      if (r < b.errorRate + b.lostResponseRate) this.postingRetries++;
      t += b.latencyMs;
      break;
    }
    const applied = Math.ceil(t);
    this.pending.set(k, (this.pending.get(k) ?? 0) + delta);
    this.clock.at(now + applied, () => {
      this.pending.set(k, (this.pending.get(k) ?? 0) - delta);
      this.erp.set(k, (this.erp.get(k) ?? 0) + delta);
    });
    return applied;
  }

  private note(outcome: Outcome, what: string): void {
    if (outcome.kind !== "accepted")
      this.unexpected.push(`${what}: ${outcome.kind === "rejected" ? outcome.reason.message : outcome.kind}`);
  }

  placeOrder(o: OrderEvent, now: number): string | undefined {
    const region = this.world.regions.find((r) => r.region === o.region);
    const candidates = [...(region?.locations ?? [])]
      .map((location) => ({ location, atp: atpOf(this.stateOf({ location, sku: o.sku })).atp }))
      .sort((a, b) => b.atp - a.atp || (a.location < b.location ? -1 : 1));
    for (const c of candidates) {
      const { outcome } = this.submit(
        { location: c.location, sku: o.sku },
        {
          kind: "placeReservation",
          quantity: ea(o.quantity),
          reservationId: o.id,
          channel: this.world.shop,
          ttlSeconds: 86_400,
          documents: { order: o.id },
        },
        this.world.shop,
        o.id,
        now,
      );
      if (outcome.kind === "accepted") return c.location;
      if (outcome.kind !== "rejected" || outcome.reason.code !== "insufficientAtp")
        this.note(outcome, `reserve ${o.id}`);
    }
    return undefined;
  }

  /** Every system shows a movement once the shop's global ATP and the ERP have it. */
  private agreed(postedAfterMs: number): number {
    return Math.max(this.p.globalAtpLatencyMs.value, postedAfterMs);
  }

  movement(m: Movement, now: number): number | undefined {
    switch (m.kind) {
      case "receipt": {
        const r = this.submit(
          m.line,
          { kind: "receiveGoods", quantity: ea(m.quantity), documents: { po: m.id } },
          this.wmsOf(m.line.location),
          m.id,
          now,
        );
        this.note(r.outcome, `receipt ${m.id}`);
        return this.agreed(r.postedAfterMs);
      }
      case "pick": {
        const o = m.order;
        const wms = this.wmsOf(o.location);
        const pick = this.submit(
          o,
          { kind: "confirmPick", quantity: ea(o.quantity), reservationId: o.id, documents: { order: o.id } },
          wms,
          `${o.id}-pick`,
          now,
        );
        const ship = this.submit(
          o,
          { kind: "postShipment", quantity: ea(o.quantity), documents: { order: o.id } },
          wms,
          `${o.id}-ship`,
          now,
        );
        this.note(pick.outcome, `pick ${o.id}`);
        this.note(ship.outcome, `ship ${o.id}`);
        return this.agreed(Math.max(pick.postedAfterMs, ship.postedAfterMs));
      }
      case "transferShipped": {
        const to = this.regionOf.get(m.to);
        const r = this.submit(
          m.line,
          {
            kind: "shipTransfer",
            quantity: ea(m.quantity),
            destination: { region: to?.region ?? "?", location: m.to },
            documents: { transferOrder: m.id },
          },
          this.wmsOf(m.line.location),
          m.id,
          now,
        );
        this.note(r.outcome, `ship transfer ${m.id}`);
        // The destination learns of it from the origin's event (the transfer outbox).
        for (const e of r.stored)
          if (e.type === "TransferShipped") {
            const inbound = inboundTransferCommandFor(e);
            const d = this.decideAndStore(lineKey({ location: m.to, sku: m.line.sku }), inbound, now, true);
            this.note(d.outcome, `inbound ${m.id}`);
          }
        return this.agreed(r.postedAfterMs);
      }
      case "transferReceived": {
        const r = this.submit(
          m.line,
          { kind: "receiveTransfer", quantity: ea(m.quantity), documents: { transferOrder: m.id } },
          this.wmsOf(m.line.location),
          `${m.id}-in`,
          now,
        );
        this.note(r.outcome, `receive transfer ${m.id}`);
        return this.agreed(r.postedAfterMs);
      }
      case "return": {
        const r = this.submit(
          m.line,
          { kind: "receiveReturn", quantity: ea(m.quantity), into: "available", documents: { rma: m.id } },
          this.wmsOf(m.line.location),
          m.id,
          now,
        );
        this.note(r.outcome, `return ${m.id}`);
        return this.agreed(r.postedAfterMs);
      }
      case "count": {
        const r = this.submit(
          m.line,
          { kind: "recordCount", counted: ea(m.levelAfter) },
          this.wmsOf(m.line.location),
          m.id,
          now,
        );
        this.note(r.outcome, `count ${m.id}`);
        return m.writtenOff === 0 ? undefined : this.agreed(r.postedAfterMs);
      }
    }
  }

  shortPick(o: OpenOrder, now: number): void {
    const r = this.submit(
      o,
      { kind: "releaseReservation", reservationId: o.id },
      this.world.shop,
      `${o.id}-cancel`,
      now,
    );
    this.note(r.outcome, `release ${o.id}`);
  }

  erpLines(): ErpLine[] {
    return [...this.positions].map(([k, s]) => ({
      erp: this.regionOf.get(s.position.location)?.erp ?? "?",
      line: { location: s.position.location, sku: s.position.sku },
      figure: this.erp.get(k) ?? 0,
      pending: this.pending.get(k) ?? 0,
    }));
  }

  endOfDay(_u: readonly UnexplainedLine[], _now: number): void {
    // Nothing to correct by hand: every routed event is posted until the ERP has it.
  }

  /** Stockline's on hand per line, to compare with the shelves. */
  ledger(): Record<string, number> {
    return Object.fromEntries(
      [...this.positions]
        .map(([k, s]) => [k, totalOnHand(s)])
        .sort(([a], [b]) => ((a as string) < (b as string) ? -1 : 1)),
    );
  }
}

const ea = (value: number) => ({ value, uom: "EA" });
