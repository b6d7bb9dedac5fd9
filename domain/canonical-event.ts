/**
 * The canonical inventory event (DESIGN §5): what the store keeps, the relay publishes and every
 * projection reads, as JSON exactly in this shape. Static types are derived from the codecs.
 *
 * Conventions:
 * - `quantity` is an integer in the SKU's base unit. For movements it is the (positive) size of
 *   the movement; for `StockAdjusted` and `CountRecorded` it is the signed delta; for
 *   `SafetyStockSet` the new level; for `AnomalyRaised` the quantity the anomaly is about.
 * - `original` is the quantity as the source sent it (`{ value, uom }`), where there was one.
 * - `balancesAfter` is the position's balances after this event, so a read model can take the
 *   latest event of a position (by revision) without re-implementing the machine.
 * - `commandHash` fingerprints the command that produced the event; idempotency is rebuilt from it.
 * - `prevHash`/`hash` chain the events of one stream: hash = sha256(canonical JSON of the event
 *   without `hash`); the first event's `prevHash` is `GENESIS_HASH`.
 */
import * as E from "fp-ts/lib/Either.js";
import * as t from "io-ts";
import { canonicalJsonWithout, sha256Hex } from "./canonical-json.ts";
import { ChannelRulesC } from "./channel-rules.ts";
import { type DecodeError, toDecodeErrors } from "./decode-errors.ts";
import { MAX_SERIALS } from "./limits.ts";
import { RecordedQuantityC } from "./quantity.ts";
import {
  boundedArrayC,
  CodeC,
  DocumentIdC,
  IntC,
  IsoTimestampC,
  KeyC,
  LocationIdC,
  NonNegativeIntC,
  PositiveIntC,
  RegionC,
  ReservationIdC,
  SerialC,
  Sha256HexC,
  SkuC,
  SystemIdC,
  TextC,
  taggedUnion,
} from "./scalars.ts";
import { stampEventVersion } from "./schema-versions.ts";
import { ReturnDispositionC, StockStatusC } from "./statuses.ts";
import { EVENT_GOVERNANCE, type SchemaGovernance, upcastEvent } from "./upcasters.ts";

export const GENESIS_HASH = "0".repeat(64);

export const PositionC = t.type({ sku: SkuC, location: LocationIdC, region: RegionC }, "Position");
export const LocationRefC = t.type({ region: RegionC, location: LocationIdC }, "{ region, location }");

export const SourceDocumentC = t.intersection(
  [t.type({ type: CodeC, id: DocumentIdC }), t.partial({ line: CodeC })],
  "a document { type, id, line? }",
);
export type SourceDocument = t.TypeOf<typeof SourceDocumentC>;

/** Where a command or event came from. `sequence` is per (source system, position), gap-free when given. */
export const SourceC = t.intersection(
  [t.type({ system: SystemIdC, document: SourceDocumentC }), t.partial({ sequence: NonNegativeIntC })],
  "a source { system, document { type, id, line? }, sequence? }",
);
export type Source = t.TypeOf<typeof SourceC>;

/** Business documents an event relates to. */
export const DocumentsC = t.partial({
  order: DocumentIdC,
  asn: DocumentIdC,
  transferOrder: DocumentIdC,
  rma: DocumentIdC,
  po: DocumentIdC,
  productionOrder: DocumentIdC,
});
export type Documents = t.TypeOf<typeof DocumentsC>;

/** Lot, serials and expiry, where the SKU is tracked that way. */
export const TrackingC = t.partial({
  lot: DocumentIdC,
  serials: boundedArrayC(SerialC, MAX_SERIALS),
  expiry: IsoTimestampC,
});

export const LifecycleC = t.keyof(
  { active: null, onHold: null, discontinued: null },
  '"active" | "onHold" | "discontinued"',
);
export type Lifecycle = t.TypeOf<typeof LifecycleC>;

/** The position's balances after an event (base unit). `atp` follows `atpOf` (see atp.ts). */
export const BalancesC = t.type(
  {
    onHand: t.type({ available: IntC, inspection: IntC, blocked: IntC, consigned: IntC, picked: IntC }),
    reserved: NonNegativeIntC,
    safetyStock: NonNegativeIntC,
    inboundInTransit: NonNegativeIntC,
    atp: IntC,
    lifecycle: LifecycleC,
  },
  "Balances",
);
export type Balances = t.TypeOf<typeof BalancesC>;

/** Envelope fields the decider fills from the command (everything but identity, order and hash). */
const PendingEnvelopeC = t.intersection([
  t.type({
    position: PositionC,
    quantity: IntC,
    source: SourceC,
    documents: DocumentsC,
    businessTime: IsoTimestampC,
    correlationId: KeyC,
    causationId: KeyC,
    idempotencyKey: KeyC,
    commandHash: Sha256HexC,
    balancesAfter: BalancesC,
  }),
  t.partial({ original: RecordedQuantityC }),
  TrackingC,
]);

/**
 * Fields added when an event is appended to its stream. `schemaVersion` is the type's version
 * (schema-versions.ts), written only above 1: absent means 1, so events stored before versions
 * existed keep their content and their hash.
 */
export const StoredEnvelopeC = t.intersection([
  t.type({
    eventId: KeyC,
    revision: NonNegativeIntC,
    recordedTime: IsoTimestampC,
    prevHash: Sha256HexC,
    hash: Sha256HexC,
  }),
  t.partial({ schemaVersion: PositiveIntC }),
]);
export type StoredEnvelope = t.TypeOf<typeof StoredEnvelopeC>;

const kind = <T extends string, P extends t.Props>(type: T, props: P) =>
  t.intersection([t.type({ type: t.literal(type), ...props }), PendingEnvelopeC], type);

const withTransferOrder = {
  documents: t.intersection([DocumentsC, t.type({ transferOrder: DocumentIdC })]),
};

export const AnomalyCodeC = t.keyof(
  {
    negativeBalance: null,
    reservationsUncovered: null,
    unknownReservationReference: null,
    receiptIntoDiscontinued: null,
    transferOverReceived: null,
    countVariance: null,
  },
  "an anomaly code",
);
export type AnomalyCode = t.TypeOf<typeof AnomalyCodeC>;

export const AnomalyC = t.intersection([
  t.type({ code: AnomalyCodeC, message: TextC }),
  t.partial({
    bucket: CodeC,
    balance: IntC,
    reservationId: ReservationIdC,
    transferOrder: DocumentIdC,
    causedBy: CodeC,
  }),
]);
export type Anomaly = t.TypeOf<typeof AnomalyC>;

/** Payload codecs of every event kind, keyed by `type`, without the stored envelope. */
export const PendingEventCodecs = {
  GoodsReceived: kind("GoodsReceived", { status: StockStatusC }),
  PickConfirmed: t.intersection([
    kind("PickConfirmed", { status: t.literal("available") }),
    t.partial({ reservationId: ReservationIdC }),
  ]),
  PickReversed: kind("PickReversed", { status: t.literal("available") }),
  ShipmentPosted: kind("ShipmentPosted", {}),
  TransferShipped: t.intersection([
    kind("TransferShipped", { status: StockStatusC, destination: LocationRefC, ...withTransferOrder }),
    t.partial({ eta: IsoTimestampC }),
  ]),
  TransferInboundRecorded: t.intersection([
    kind("TransferInboundRecorded", { origin: LocationRefC, ...withTransferOrder }),
    t.partial({ eta: IsoTimestampC }),
  ]),
  /** `quantity` is the open quantity of the PO at the position from now on (0: cancelled). */
  ReceiptExpected: kind("ReceiptExpected", {
    expectedAt: IsoTimestampC,
    documents: t.intersection([DocumentsC, t.type({ po: DocumentIdC })]),
  }),
  /** `origin` when known (announced or reported): a target posts a receipt from another system differently. */
  TransferReceived: t.intersection([
    kind("TransferReceived", { status: StockStatusC, ...withTransferOrder }),
    t.partial({ origin: LocationRefC }),
  ]),
  ReturnReceived: kind("ReturnReceived", { status: ReturnDispositionC }),
  CountRecorded: kind("CountRecorded", {
    status: StockStatusC,
    counted: NonNegativeIntC,
    balanceAsOf: IntC,
  }),
  StockAdjusted: kind("StockAdjusted", { status: StockStatusC, reasonCode: CodeC }),
  StatusChanged: kind("StatusChanged", { fromStatus: StockStatusC, toStatus: StockStatusC }),
  ProductionConsumed: kind("ProductionConsumed", { status: StockStatusC }),
  ProductionOutput: kind("ProductionOutput", { status: StockStatusC }),
  ReservationPlaced: kind("ReservationPlaced", {
    reservationId: ReservationIdC,
    channel: SystemIdC,
    expiresAt: IsoTimestampC,
  }),
  ReservationReleased: kind("ReservationReleased", { reservationId: ReservationIdC }),
  ReservationExpired: kind("ReservationExpired", { reservationId: ReservationIdC }),
  ReservationConsumed: kind("ReservationConsumed", {
    reservationId: ReservationIdC,
    remaining: NonNegativeIntC,
  }),
  SafetyStockSet: kind("SafetyStockSet", { previous: NonNegativeIntC }),
  LifecycleChanged: kind("LifecycleChanged", { from: LifecycleC, to: LifecycleC, reason: TextC }),
  AnomalyRaised: kind("AnomalyRaised", { anomaly: AnomalyC }),
  /**
   * The channel rules of the position from now on (channel-rules.ts), `quantity` 0; `category` is
   * the SKU's category the rules were set with (for category-level buffers).
   */
  ChannelRulesChanged: t.intersection([
    kind("ChannelRulesChanged", { rules: ChannelRulesC }),
    t.partial({ category: CodeC }),
  ]),
} as const;

export type EventType = keyof typeof PendingEventCodecs;
export const EVENT_TYPES = Object.keys(PendingEventCodecs) as EventType[];

export const pendingEventCodec = taggedUnion("PendingEvent", "type", PendingEventCodecs);
/** An event as decided, before it has a place in its stream. */
export type PendingEvent = t.TypeOf<typeof pendingEventCodec>;
export type PendingEventOf<K extends EventType> = Extract<PendingEvent, { type: K }>;

const storedCodecs = Object.fromEntries(
  EVENT_TYPES.map((k) => [k, t.intersection([PendingEventCodecs[k], StoredEnvelopeC], k)]),
) as { [K in EventType]: t.IntersectionC<[(typeof PendingEventCodecs)[K], typeof StoredEnvelopeC]> };

export const canonicalEventCodec = taggedUnion("CanonicalEvent", "type", storedCodecs);
/** A stored, published event. */
export type CanonicalEvent = PendingEvent & StoredEnvelope;
export type CanonicalEventOf<K extends EventType> = Extract<PendingEvent, { type: K }> & StoredEnvelope;

/** The stored codec of one event kind. */
export const eventCodecOf = <K extends EventType>(k: K) => storedCodecs[k];

/** Decodes a stored event, upcast to its type's current version first (upcasters.ts). */
export const decodeCanonicalEvent = (
  input: unknown,
  governance: SchemaGovernance = EVENT_GOVERNANCE,
): E.Either<DecodeError[], CanonicalEvent> => {
  const up = upcastEvent(input, governance);
  if (!up.ok) return E.left(up.errors);
  const r = canonicalEventCodec.decode(up.value);
  return E.isRight(r) ? E.right(r.right as CanonicalEvent) : E.left(toDecodeErrors(r.left));
};

// ---------------------------------------------------------------------------------------------
// Audit hash chain

export type UnhashedEvent = Omit<CanonicalEvent, "hash">;

/** sha256 over the canonical JSON of the event without its `hash` (its `prevHash` included). */
export const computeEventHash = (event: UnhashedEvent | CanonicalEvent): string =>
  sha256Hex(canonicalJsonWithout(event, "hash"));

/**
 * An event with its place in the stream but not yet linked: `prevHash` and `hash` are "" (and the
 * last keys, as `hashEvent` writes them) until `linkEvents` fills them in, in place.
 */
export const unlinkedEvent = (event: Omit<CanonicalEvent, "hash" | "prevHash">): CanonicalEvent =>
  ({ ...stampEventVersion(event), prevHash: "", hash: "" }) as CanonicalEvent;

/**
 * Links unlinked events (`unlinkedEvent`) in place after `prevHash`: each gets its predecessor's hash
 * and its own (`hash` is left out of its own hash, so it is filled in place).
 */
export const linkEvents = (prevHash: string, events: readonly CanonicalEvent[]): void => {
  let prev = prevHash;
  for (const e of events) {
    e.prevHash = prev;
    e.hash = computeEventHash(e);
    prev = e.hash;
  }
};

/** Links one event to its predecessor: sets `prevHash` and computes `hash`. */
export const hashEvent = (
  prevHash: string,
  event: Omit<CanonicalEvent, "hash" | "prevHash">,
): CanonicalEvent => chainEvents(prevHash, [event])[0] as CanonicalEvent;

/** Chains consecutive events after `prevHash`. */
export const chainEvents = (
  prevHash: string,
  events: readonly Omit<CanonicalEvent, "hash" | "prevHash">[],
): CanonicalEvent[] => {
  const out = events.map((e) => unlinkedEvent(e));
  linkEvents(prevHash, out);
  return out;
};

export type ChainVerdict =
  | { readonly ok: true; readonly lastHash: string; readonly lastRevision: number }
  | {
      readonly ok: false;
      /** Revision of the first event that breaks the chain. */
      readonly revision: number;
      readonly problem: "prevHash" | "hash" | "revision";
      readonly message: string;
    };

/**
 * Verifies a stream read from its start (or from `from`): consecutive revisions, each `prevHash`
 * equal to the previous `hash`, each `hash` matching the content. Returns the first bad revision.
 */
export const verifyChain = (
  events: readonly CanonicalEvent[],
  from: { prevHash: string; prevRevision: number } = { prevHash: GENESIS_HASH, prevRevision: -1 },
): ChainVerdict => {
  let prev = from.prevHash;
  let rev = from.prevRevision;
  for (const e of events) {
    if (e.revision !== rev + 1) {
      return {
        ok: false,
        revision: e.revision,
        problem: "revision",
        message: `expected revision ${rev + 1}, got ${e.revision}`,
      };
    }
    if (e.prevHash !== prev) {
      return {
        ok: false,
        revision: e.revision,
        problem: "prevHash",
        message: `prevHash does not match the hash of revision ${rev}`,
      };
    }
    if (computeEventHash(e) !== e.hash) {
      return {
        ok: false,
        revision: e.revision,
        problem: "hash",
        message: `content of revision ${e.revision} does not match its hash`,
      };
    }
    prev = e.hash;
    rev = e.revision;
  }
  return { ok: true, lastHash: prev, lastRevision: rev };
};
