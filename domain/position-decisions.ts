/**
 * What a position decides for a command, as a pure function of its context, the lifecycle state
 * it is in, and the environment. The position machine calls it from its command transitions; it
 * never changes the context (the emitted events do that when they are applied).
 */
import * as E from "fp-ts/lib/Either.js";
import { balanceOutOfRange } from "./balance-limits.ts";
import { withinHorizon } from "./bitemporal-balance.ts";
import type { Anomaly, Lifecycle, PendingEvent } from "./canonical-event.ts";
import { canonicalJson, sha256Hex } from "./canonical-json.ts";
import { type ChannelAvailability, channelRulesProblems, explainText } from "./channel-rules.ts";
import type { Command, CommandOf } from "./commands.ts";
import { MAX_RESERVATION_TTL_SECONDS } from "./limits.ts";
import { checkOwnership, type OwnershipPolicy } from "./ownership-policy.ts";
import { channelAvailabilityOf } from "./position-channels.ts";
import {
  type AtpBreakdown,
  applyBalanceEffect,
  atpOf,
  balancesOf,
  bucketAsOf,
  idempotencyRecordOf,
  onHandOf,
  type PositionContext,
  pickedReservationOf,
  reservedOf,
} from "./position-context.ts";
import type { SourceQuantity } from "./quantity.ts";
import { reservationEntries, reservationIn } from "./reservation-book.ts";
import { timeOf } from "./scalars.ts";
import { placeOfSequence } from "./source-sequences.ts";
import { BUCKETS, type StockStatus } from "./statuses.ts";
import { type ConversionError, toBaseQuantity, type UnitMaster } from "./units.ts";

export interface DecisionConfig {
  readonly units: UnitMaster;
  /** TTL of a reservation placed without `expiresAt` or `ttlSeconds`. */
  readonly defaultReservationTtlSeconds: number;
  /** A count whose delta exceeds this (in base units, absolute) raises a `countVariance` anomaly. */
  readonly countVarianceTolerance: number;
}

export interface DecisionEnv {
  /** Wall-clock time of the decision (ISO 8601); only reservation expiry depends on it. */
  readonly now: string;
  readonly policy: OwnershipPolicy;
  readonly config: DecisionConfig;
}

/** Every way a command can be refused. `message` is for the operator reading the dead letter. */
export type RejectionReason = { readonly message: string } & (
  | { readonly code: "wrongPosition"; readonly expected: string; readonly got: string }
  | { readonly code: "idempotencyConflict"; readonly idempotencyKey: string; readonly firstRevision?: number }
  | { readonly code: "notOwner"; readonly rule: string; readonly system: string }
  | { readonly code: "unitConversion"; readonly error: ConversionError }
  | { readonly code: "insufficientAtp"; readonly requested: number; readonly atp: AtpBreakdown }
  | {
      readonly code: "insufficientChannelAvailability";
      readonly channel: string;
      readonly requested: number;
      /** What the channel may sell here, and why (channel-rules.ts). */
      readonly availability: ChannelAvailability;
    }
  | { readonly code: "invalidChannelRules"; readonly problems: readonly string[] }
  | { readonly code: "positionOnHold" }
  | { readonly code: "positionDiscontinued" }
  | { readonly code: "reservationExists"; readonly reservationId: string }
  | { readonly code: "unknownReservation"; readonly reservationId: string }
  | { readonly code: "reservationNotExpired"; readonly reservationId: string; readonly expiresAt: string }
  | { readonly code: "invalidExpiry"; readonly detail: string }
  | { readonly code: "invalidLifecycleTransition"; readonly from: Lifecycle; readonly action: string }
  | { readonly code: "countOutsideHistory"; readonly asOf: string; readonly horizon: string }
  | { readonly code: "sameStatus"; readonly status: StockStatus }
  | {
      readonly code: "quantityOutOfRange";
      readonly balance: string;
      readonly value: number;
      readonly limit: number;
    }
);
export type RejectionCode = RejectionReason["code"];

export type Outcome =
  | {
      readonly kind: "accepted";
      readonly events: readonly PendingEvent[];
      /** Decided across a gap in its source's sequence (`ignoreSequenceGap`, after the park timeout). */
      readonly sequenceGap?: SequenceGap;
    }
  /**
   * Same key, same payload: the first handling stands; its events are at these revisions. Or the
   * source's sequence was applied already (`sequence`), whatever the key: the revisions are unknown.
   */
  | {
      readonly kind: "duplicate";
      readonly idempotencyKey: string;
      readonly firstRevision?: number;
      readonly lastRevision?: number;
      readonly sequence?: { readonly system: string; readonly sequence: number };
    }
  | { readonly kind: "rejected"; readonly reason: RejectionReason }
  /** A gap in the source's sequence: hold the command until the missing ones arrived. */
  | {
      readonly kind: "parked";
      readonly system: string;
      readonly expectedSequence: number;
      readonly got: number;
    };

export interface SequenceGap {
  readonly system: string;
  readonly expectedSequence: number;
  readonly got: number;
}

/** How to decide, beyond the command and the environment. */
export interface DecideOptions {
  /**
   * Decide although sequences before this one's are missing: the runtime's park timeout ran out.
   * The accepted outcome says so (`sequenceGap`), so that the node can flag it.
   */
  readonly ignoreSequenceGap?: boolean;
}

/** Fingerprint of a command's payload, stored with its events so that idempotency survives restarts. */
export const commandHashOf = (command: Command): string => sha256Hex(canonicalJson(command));

const reject = (reason: RejectionReason): Outcome => ({ kind: "rejected", reason });

/** Own entries only: ids and system names come from outside and may be `constructor` or `__proto__`. */
const own = <V>(rec: Readonly<Record<string, V>>, key: string): V | undefined =>
  Object.hasOwn(rec, key) ? rec[key] : undefined;

const q = (s: string): string => JSON.stringify(s);

type Draft = { readonly type: PendingEvent["type"] } & Record<string, unknown>;

/** An anomaly and the quantity it is about (the `quantity` of its event). */
interface Flag {
  readonly anomaly: Anomaly;
  readonly quantity: number;
}

interface Plan {
  readonly facts: Draft[];
  readonly anomalies: Flag[];
}

const plan = (facts: Draft[], anomalies: Flag[] = []): E.Either<RejectionReason, Plan> =>
  E.right({ facts, anomalies });

/**
 * Decides a command in the given lifecycle state. Checks in this order: right position,
 * idempotency, ownership, source sequence, unit conversion, then the command's own rules.
 */
export const decideCommand = (
  ctx: PositionContext,
  command: Command,
  env: DecisionEnv,
  lifecycle: Lifecycle,
  opts: DecideOptions = {},
): Outcome => {
  const p = ctx.position;
  const cp = command.position;
  if (cp.region !== p.region || cp.location !== p.location || cp.sku !== p.sku) {
    const show = (x: typeof p) => `${x.region}/${x.location}/${x.sku}`;
    return reject({
      code: "wrongPosition",
      expected: show(p),
      got: show(cp),
      message: `command for ${show(cp)} was routed to position ${show(p)}`,
    });
  }

  const commandHash = commandHashOf(command);
  const seen = idempotencyRecordOf(ctx, command.idempotencyKey);
  if (seen) {
    if (seen.commandHash === commandHash) {
      return {
        kind: "duplicate",
        idempotencyKey: command.idempotencyKey,
        ...(seen.firstRevision !== undefined ? { firstRevision: seen.firstRevision } : {}),
        ...(seen.lastRevision !== undefined ? { lastRevision: seen.lastRevision } : {}),
      };
    }
    return reject({
      code: "idempotencyConflict",
      idempotencyKey: command.idempotencyKey,
      ...(seen.firstRevision !== undefined ? { firstRevision: seen.firstRevision } : {}),
      message: `idempotency key ${q(command.idempotencyKey)} was already used for a different ${command.kind} payload`,
    });
  }

  const owner = checkOwnership(env.policy, command);
  if (!owner.allowed) {
    return reject({
      code: "notOwner",
      rule: owner.rule,
      system: command.source.system,
      message: owner.reason,
    });
  }

  // A sequence finds gaps and recognises what was applied; it never refuses a fact
  // (source-sequences.ts). A late one, below the highest applied, is decided like any other.
  const seq = command.source.sequence;
  const system = command.source.system;
  let sequenceGap: SequenceGap | undefined;
  if (seq !== undefined) {
    const place = placeOfSequence(own(ctx.sequences, system), seq);
    if (place.kind === "applied") {
      return {
        kind: "duplicate",
        idempotencyKey: command.idempotencyKey,
        sequence: { system, sequence: seq },
      };
    }
    if (place.kind === "gap") {
      sequenceGap = { system, expectedSequence: place.expected, got: seq };
      if (!opts.ignoreSequenceGap) return { kind: "parked", ...sequenceGap };
    }
  }

  const planned = planCommand(ctx, command, env, lifecycle);
  if (E.isLeft(planned)) return reject(planned.left);
  const finalized = finalize(ctx, command, commandHash, planned.right);
  if (E.isLeft(finalized)) return reject(finalized.left);
  const events = finalized.right;
  return { kind: "accepted", events, ...(sequenceGap ? { sequenceGap } : {}) };
};

const toBase = (env: DecisionEnv, command: Command, sq: SourceQuantity): E.Either<RejectionReason, number> =>
  E.mapLeft((error: ConversionError) => ({ code: "unitConversion", error, message: error.message }) as const)(
    toBaseQuantity(env.config.units, command.position.sku, sq),
  );

const originalOf = (sq: SourceQuantity) => ({ original: { value: sq.value, uom: sq.uom } });

const tracking = (c: { lot?: string; serials?: string[]; expiry?: string }) => ({
  ...(c.lot !== undefined ? { lot: c.lot } : {}),
  ...(c.serials !== undefined ? { serials: c.serials } : {}),
  ...(c.expiry !== undefined ? { expiry: c.expiry } : {}),
});

const onHoldRejection = (): RejectionReason => ({
  code: "positionOnHold",
  message: "the position is on quality hold: no new reservations until the hold is released",
});
const discontinuedRejection = (): RejectionReason => ({
  code: "positionDiscontinued",
  message: "the position is discontinued: it takes no new reservations and drains",
});

const planCommand = (
  ctx: PositionContext,
  c: Command,
  env: DecisionEnv,
  lifecycle: Lifecycle,
): E.Either<RejectionReason, Plan> => {
  // Amount-free commands first; the others convert their quantity before their own rules.
  switch (c.kind) {
    case "releaseReservation":
    case "expireReservation": {
      const r = reservationIn(ctx.reservations, c.reservationId);
      if (!r) {
        return E.left({
          code: "unknownReservation",
          reservationId: c.reservationId,
          message: `no open reservation ${q(c.reservationId)} at this position (never placed, or already released, expired or consumed)`,
        });
      }
      if (c.kind === "expireReservation" && timeOf(env.now) < timeOf(r.expiresAt)) {
        return E.left({
          code: "reservationNotExpired",
          reservationId: c.reservationId,
          expiresAt: r.expiresAt,
          message: `reservation ${q(c.reservationId)} expires at ${r.expiresAt}, not yet (now ${env.now})`,
        });
      }
      const type = c.kind === "releaseReservation" ? "ReservationReleased" : "ReservationExpired";
      return plan([{ type, reservationId: c.reservationId, quantity: r.quantity }]);
    }
    case "changeLifecycle": {
      const to = nextLifecycle(lifecycle, c.action);
      if (!to) {
        return E.left({
          code: "invalidLifecycleTransition",
          from: lifecycle,
          action: c.action,
          message: `cannot ${c.action} a position that is ${lifecycle}`,
        });
      }
      return plan([{ type: "LifecycleChanged", quantity: 0, from: lifecycle, to, reason: c.reason }]);
    }
    case "setChannelRules": {
      const problems = channelRulesProblems(c.rules);
      if (problems.length > 0) {
        return E.left({ code: "invalidChannelRules", problems, message: problems.join("; ") });
      }
      return plan([
        {
          type: "ChannelRulesChanged",
          quantity: 0,
          rules: c.rules,
          ...(c.category !== undefined ? { category: c.category } : {}),
        },
      ]);
    }
    default:
      break;
  }

  const sq =
    c.kind === "recordCount"
      ? c.counted
      : c.kind === "setSafetyStock"
        ? c.quantity
        : (c.quantity as SourceQuantity);
  const converted = toBase(env, c, sq);
  if (E.isLeft(converted)) return converted;
  const n = converted.right;
  const orig = originalOf(sq);

  switch (c.kind) {
    case "receiveGoods": {
      const anomalies: Flag[] =
        lifecycle === "discontinued"
          ? [
              {
                quantity: n,
                anomaly: {
                  code: "receiptIntoDiscontinued",
                  message: `received ${n} into a discontinued position; recorded, as the receipt is a fact`,
                  causedBy: "GoodsReceived",
                },
              },
            ]
          : [];
      return plan(
        [{ type: "GoodsReceived", quantity: n, ...orig, status: c.status ?? "available", ...tracking(c) }],
        anomalies,
      );
    }
    case "confirmPick":
      return planPick(ctx, c, n, orig);
    case "reversePick":
      return plan([{ type: "PickReversed", quantity: n, ...orig, status: "available", ...tracking(c) }]);
    case "postShipment":
      return plan([{ type: "ShipmentPosted", quantity: n, ...orig, ...tracking(c) }]);
    case "shipTransfer":
      return plan([
        {
          type: "TransferShipped",
          quantity: n,
          ...orig,
          status: c.status ?? "available",
          destination: { region: c.destination.region, location: c.destination.location },
          ...(c.eta !== undefined ? { eta: c.eta } : {}),
          ...tracking(c),
        },
      ]);
    case "recordInboundTransfer":
      return plan([
        {
          type: "TransferInboundRecorded",
          quantity: n,
          ...orig,
          origin: { region: c.origin.region, location: c.origin.location },
          ...(c.eta !== undefined ? { eta: c.eta } : {}),
        },
      ]);
    case "expectReceipt":
      return plan([{ type: "ReceiptExpected", quantity: n, ...orig, expectedAt: c.expectedAt }]);
    case "receiveTransfer": {
      const to = c.documents.transferOrder;
      const prev = own(ctx.inbound, to);
      const anomalies: Flag[] = [];
      if (prev && prev.shipped > 0 && prev.received + n > prev.shipped) {
        anomalies.push({
          quantity: prev.received + n - prev.shipped,
          anomaly: {
            code: "transferOverReceived",
            message: `transfer order ${q(to)}: received ${prev.received + n}, but only ${prev.shipped} were shipped`,
            transferOrder: to,
            causedBy: "TransferReceived",
          },
        });
      }
      const origin = c.origin ?? prev?.origin;
      return plan(
        [
          {
            type: "TransferReceived",
            quantity: n,
            ...orig,
            status: c.status ?? "available",
            ...(origin ? { origin: { region: origin.region, location: origin.location } } : {}),
            ...tracking(c),
          },
        ],
        anomalies,
      );
    }
    case "receiveReturn":
      return plan([{ type: "ReturnReceived", quantity: n, ...orig, status: c.into, ...tracking(c) }]);
    case "recordCount": {
      const status = c.status ?? "available";
      const t = timeOf(c.businessTime);
      const bucket = ctx.buckets[status];
      if (!withinHorizon(bucket, t)) {
        return E.left({
          code: "countOutsideHistory",
          asOf: c.businessTime,
          horizon: new Date(bucket.base.t ?? 0).toISOString(),
          message: `count as of ${c.businessTime} is older than the kept history of ${status} (from ${new Date(bucket.base.t ?? 0).toISOString()}); it cannot be placed`,
        });
      }
      const asOf = bucketAsOf(ctx, status, c.businessTime) ?? 0;
      const delta = n - asOf;
      const anomalies: Flag[] =
        Math.abs(delta) > env.config.countVarianceTolerance
          ? [
              {
                quantity: delta,
                anomaly: {
                  code: "countVariance",
                  message: `counted ${n} ${status} as of ${c.businessTime}, the ledger said ${asOf} (variance ${delta})`,
                  bucket: status,
                  balance: asOf,
                  causedBy: "CountRecorded",
                },
              },
            ]
          : [];
      return plan(
        [{ type: "CountRecorded", quantity: delta, ...orig, status, counted: n, balanceAsOf: asOf }],
        anomalies,
      );
    }
    case "adjustStock":
      return plan([
        {
          type: "StockAdjusted",
          quantity: n,
          ...orig,
          status: c.status ?? "available",
          reasonCode: c.reasonCode,
        },
      ]);
    case "changeStatus":
      if (c.fromStatus === c.toStatus) {
        return E.left({
          code: "sameStatus",
          status: c.fromStatus,
          message: `a status change needs two different statuses, got ${c.fromStatus} to ${c.toStatus}`,
        });
      }
      return plan([
        {
          type: "StatusChanged",
          quantity: n,
          ...orig,
          fromStatus: c.fromStatus,
          toStatus: c.toStatus,
          ...tracking(c),
        },
      ]);
    case "consumeForProduction":
      return plan([
        { type: "ProductionConsumed", quantity: n, ...orig, status: "available", ...tracking(c) },
      ]);
    case "recordProductionOutput":
      return plan([
        { type: "ProductionOutput", quantity: n, ...orig, status: c.status ?? "available", ...tracking(c) },
      ]);
    case "setSafetyStock":
      return plan([{ type: "SafetyStockSet", quantity: n, ...orig, previous: ctx.safetyStock }]);
    case "placeReservation":
      return planReservation(ctx, c, env, lifecycle, n, orig);
    default: {
      const unreachable: never = c;
      throw new Error(`unhandled command ${JSON.stringify(unreachable)}`);
    }
  }
};

const nextLifecycle = (
  from: Lifecycle,
  action: CommandOf<"changeLifecycle">["action"],
): Lifecycle | undefined => {
  if (action === "hold" && from === "active") return "onHold";
  if (action === "releaseHold" && from === "onHold") return "active";
  if (action === "discontinue" && from !== "discontinued") return "discontinued";
  return undefined;
};

const planReservation = (
  ctx: PositionContext,
  c: CommandOf<"placeReservation">,
  env: DecisionEnv,
  lifecycle: Lifecycle,
  n: number,
  orig: ReturnType<typeof originalOf>,
): E.Either<RejectionReason, Plan> => {
  // A confirmation the API held while the region was unreachable may arrive after the pick that
  // names it: it is placed and consumed at once, and only what the pick did not take is a request
  // (decided against ATP and the lifecycle); the picked stock already left `available`.
  const picked = pickedReservationOf(ctx, c.reservationId);
  const taken = picked ? Math.min(n, picked.quantity) : 0;
  const toReserve = n - taken;
  if (toReserve > 0 && lifecycle === "onHold") return E.left(onHoldRejection());
  if (toReserve > 0 && lifecycle === "discontinued") return E.left(discontinuedRejection());
  if (reservationIn(ctx.reservations, c.reservationId)) {
    return E.left({
      code: "reservationExists",
      reservationId: c.reservationId,
      message: `reservation ${q(c.reservationId)} is already open at this position (under another idempotency key)`,
    });
  }
  if (c.expiresAt !== undefined && c.ttlSeconds !== undefined) {
    return E.left({
      code: "invalidExpiry",
      detail: "both",
      message: "give expiresAt or ttlSeconds, not both",
    });
  }
  const start = timeOf(c.businessTime);
  const ttl = Math.min(c.ttlSeconds ?? env.config.defaultReservationTtlSeconds, MAX_RESERVATION_TTL_SECONDS);
  const expiresAt = c.expiresAt ?? new Date(start + 1000 * ttl).toISOString();
  if (timeOf(expiresAt) <= start) {
    return E.left({
      code: "invalidExpiry",
      detail: "not after business time",
      message: `expiresAt ${expiresAt} is not after the reservation's business time ${c.businessTime}`,
    });
  }
  if (timeOf(expiresAt) - start > 1000 * MAX_RESERVATION_TTL_SECONDS) {
    return E.left({
      code: "invalidExpiry",
      detail: "too far",
      message: `expiresAt ${expiresAt} is more than ${MAX_RESERVATION_TTL_SECONDS} seconds (366 days) after the reservation's business time ${c.businessTime}`,
    });
  }
  const atp = atpOf(ctx);
  if (toReserve > 0 && atp.net < toReserve) {
    const after = taken > 0 ? ` (${n} less the ${taken} already picked)` : "";
    return E.left({
      code: "insufficientAtp",
      requested: toReserve,
      atp,
      message: `requested ${toReserve}${after}, ATP is ${atp.net} (available ${atp.available} − reserved ${atp.reserved} − safety stock ${atp.safetyStock})`,
    });
  }
  // At a position with channel rules the request is also decided against what its channel
  // (`source.system`) may sell here: one command at a time, so no quota is oversold.
  if (toReserve > 0 && ctx.channelRules) {
    const channel = c.source.system;
    const availability = channelAvailabilityOf(ctx, atp, channel, c.businessTime);
    if (availability.quantity < toReserve) {
      return E.left({
        code: "insufficientChannelAvailability",
        channel,
        requested: toReserve,
        availability,
        message: `requested ${toReserve}, ${channel} may sell ${availability.quantity} here: ${explainText(availability)}`,
      });
    }
  }
  const placed: Draft = {
    type: "ReservationPlaced",
    quantity: n,
    ...orig,
    reservationId: c.reservationId,
    channel: c.channel,
    expiresAt,
  };
  if (!picked) return plan([placed]);
  return plan([
    placed,
    { type: "ReservationConsumed", quantity: taken, reservationId: c.reservationId, remaining: toReserve },
  ]);
};

/** A pick consumes the reservation it names, or else the open reservations of its order, oldest first. */
const planPick = (
  ctx: PositionContext,
  c: CommandOf<"confirmPick">,
  n: number,
  orig: ReturnType<typeof originalOf>,
): E.Either<RejectionReason, Plan> => {
  const pick: Draft = {
    type: "PickConfirmed",
    quantity: n,
    ...orig,
    status: "available",
    ...(c.reservationId !== undefined ? { reservationId: c.reservationId } : {}),
    ...tracking(c),
  };
  const anomalies: Flag[] = [];
  let candidates: [string, { quantity: number }][] = [];
  if (c.reservationId !== undefined) {
    const r = reservationIn(ctx.reservations, c.reservationId);
    if (r) candidates = [[c.reservationId, r]];
    else {
      anomalies.push({
        quantity: n,
        anomaly: {
          code: "unknownReservationReference",
          message: `pick references reservation ${q(c.reservationId)}, which is not open here; the pick reduced ATP directly, and the reservation ends consumed if it is placed here later`,
          reservationId: c.reservationId,
          causedBy: "PickConfirmed",
        },
      });
    }
  } else if (c.documents?.order !== undefined) {
    const order = c.documents.order;
    candidates = [...reservationEntries(ctx.reservations)]
      .filter(([, r]) => r.order === order)
      .sort(
        ([ia, a], [ib, b]) => timeOf(a.placedAt) - timeOf(b.placedAt) || (ia < ib ? -1 : ia > ib ? 1 : 0),
      );
  }
  const consumed: Draft[] = [];
  let left = n;
  for (const [id, r] of candidates) {
    if (left <= 0) break;
    const take = Math.min(left, r.quantity);
    left -= take;
    consumed.push({
      type: "ReservationConsumed",
      quantity: take,
      reservationId: id,
      remaining: r.quantity - take,
    });
  }
  return plan([pick, ...consumed], anomalies);
};

/** Fills the envelope, adds the anomalies the facts caused, and stamps each event with its balances. */
const finalize = (
  ctx: PositionContext,
  c: Command,
  commandHash: string,
  p: Plan,
): E.Either<RejectionReason, PendingEvent[]> => {
  const envelope = {
    position: { region: c.position.region, location: c.position.location, sku: c.position.sku },
    source: c.source,
    documents: c.documents ?? {},
    businessTime: c.businessTime,
    correlationId: c.correlationId,
    causationId: c.causationId ?? c.idempotencyKey,
    idempotencyKey: c.idempotencyKey,
    commandHash,
  };
  const out: PendingEvent[] = [];
  let state = ctx;
  const push = (d: Draft) => {
    // Object.assign, not a double spread: the same keys in the same order, several times cheaper
    // in V8 (the second spread of an object literal takes a slow generic path).
    const event: Record<string, unknown> = Object.assign({}, envelope, d);
    // Balances only: idempotency and sequences do not change within one command's events.
    state = applyBalanceEffect(state, event as unknown as PendingEvent);
    event.balancesAfter = balancesOf(state);
    out.push(event as unknown as PendingEvent);
  };
  for (const d of p.facts) push(d);
  // Where quantities add (DESIGN §3.11): no balance past MAX_BALANCE, whatever the command.
  const outOfRange = balanceOutOfRange(ctx, state, timeOf(c.businessTime));
  if (outOfRange) return E.left({ code: "quantityOutOfRange", ...outOfRange });
  for (const a of [...p.anomalies, ...balanceAnomalies(ctx, state, p.facts[0]?.type)]) {
    push({ type: "AnomalyRaised", quantity: a.quantity, anomaly: a.anomaly });
  }
  return E.right(out);
};

/** Facts may drive balances below zero or under the reservations; they are recorded and flagged. */
const balanceAnomalies = (before: PositionContext, after: PositionContext, causedBy?: string): Flag[] => {
  const out: Flag[] = [];
  for (const b of BUCKETS) {
    const was = onHandOf(before, b);
    const is = onHandOf(after, b);
    if (is < 0 && is < was) {
      out.push({
        quantity: -is,
        anomaly: {
          code: "negativeBalance",
          message: `${b} went from ${was} to ${is}: the owning system reported more than the ledger holds`,
          bucket: b,
          balance: is,
          ...(causedBy ? { causedBy } : {}),
        },
      });
    }
  }
  const availBefore = onHandOf(before, "available");
  const availAfter = onHandOf(after, "available");
  const reserved = reservedOf(after);
  if (reserved > 0 && availAfter < availBefore && availAfter < reserved) {
    out.push({
      quantity: reserved - availAfter,
      anomaly: {
        code: "reservationsUncovered",
        message: `available ${availAfter} no longer covers the ${reserved} reserved`,
        bucket: "available",
        balance: availAfter,
        ...(causedBy ? { causedBy } : {}),
      },
    });
  }
  return out;
};
