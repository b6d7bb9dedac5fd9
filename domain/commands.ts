/**
 * Commands: what connectors, the API and other positions ask a position to do. Every command
 * carries an idempotency key, its source (system, optional per-position sequence, document), a
 * business time, a correlation id and the position it is for; `kind` discriminates.
 *
 * Facts (an owning system says it happened) and requests (to be decided against ATP) are both
 * commands; `isRequest` tells them apart (DESIGN §3.5).
 */
import * as E from "fp-ts/lib/Either.js";
import * as t from "io-ts";
import { DocumentsC, LocationRefC, PositionC, SourceC, TrackingC } from "./canonical-event.ts";
import { ChannelRulesC } from "./channel-rules.ts";
import { type DecodeError, toDecodeErrors } from "./decode-errors.ts";
import { DeltaQuantityC, LevelQuantityC, MovementQuantityC } from "./quantity.ts";
import {
  CodeC,
  DocumentIdC,
  IsoTimestampC,
  KeyC,
  PositiveIntC,
  ReservationIdC,
  ReservationTtlSecondsC,
  SystemIdC,
  TextC,
  taggedUnion,
} from "./scalars.ts";
import { ReturnDispositionC, StockStatusC } from "./statuses.ts";
import { COMMAND_GOVERNANCE, type SchemaGovernance, upcastCommand } from "./upcasters.ts";

const CommonC = t.intersection([
  t.type({
    idempotencyKey: KeyC,
    source: SourceC,
    businessTime: IsoTimestampC,
    correlationId: KeyC,
    position: PositionC,
  }),
  // schemaVersion: the version the sender wrote (schema-versions.ts), absent = current; the intake
  // upcasts an older one and reads the command without it (upcasters.ts).
  t.partial({ causationId: KeyC, documents: DocumentsC, schemaVersion: PositiveIntC }),
]);

const command = <K extends string, R extends t.Props, O extends t.Props>(k: K, required: R, optional: O) =>
  t.intersection([t.type({ kind: t.literal(k), ...required }), t.partial(optional), CommonC], k);

const transferOrderDocs = {
  documents: t.intersection([DocumentsC, t.type({ transferOrder: DocumentIdC })]),
};

export const CommandCodecs = {
  /** Fact: goods received (from a PO/ASN) into a status, `available` unless said otherwise. */
  receiveGoods: command(
    "receiveGoods",
    { quantity: MovementQuantityC },
    { status: StockStatusC, ...TrackingC.props },
  ),
  /** Fact: WMS confirmed a pick; consumes the reservation it references by id or by order. */
  confirmPick: command(
    "confirmPick",
    { quantity: MovementQuantityC },
    { reservationId: ReservationIdC, ...TrackingC.props },
  ),
  /** Fact: a confirmed pick was put back to available stock. */
  reversePick: command("reversePick", { quantity: MovementQuantityC }, TrackingC.props),
  /** Fact: picked goods left the building. */
  postShipment: command("postShipment", { quantity: MovementQuantityC }, TrackingC.props),
  /** Fact, at the origin: goods left on a transfer order to `destination`. */
  shipTransfer: command(
    "shipTransfer",
    { quantity: MovementQuantityC, destination: LocationRefC, ...transferOrderDocs },
    { status: StockStatusC, eta: IsoTimestampC, ...TrackingC.props },
  ),
  /**
   * Fact, at the destination: goods of a transfer order are on their way (issued by the runtime
   * from the origin's `TransferShipped`, see `inboundTransferCommandFor`).
   */
  recordInboundTransfer: command(
    "recordInboundTransfer",
    { quantity: MovementQuantityC, origin: LocationRefC, ...transferOrderDocs },
    { eta: IsoTimestampC },
  ),
  /**
   * Fact (the purchasing system's): `quantity` of a purchase order line is still expected at the
   * position on `expectedAt`. A level: each announcement replaces the previous one of that PO, 0
   * cancels it; receipts that name the PO (`documents.po`) count against it. Moves no stock; it
   * feeds time-phased ATP.
   */
  expectReceipt: command(
    "expectReceipt",
    {
      quantity: LevelQuantityC,
      expectedAt: IsoTimestampC,
      documents: t.intersection([DocumentsC, t.type({ po: DocumentIdC })]),
    },
    {},
  ),
  /**
   * Fact, at the destination: goods of a transfer order arrived. `origin` when the WMS knows it;
   * otherwise the event takes it from the origin's announcement (`recordInboundTransfer`).
   */
  receiveTransfer: command(
    "receiveTransfer",
    { quantity: MovementQuantityC, ...transferOrderDocs },
    { status: StockStatusC, origin: LocationRefC, ...TrackingC.props },
  ),
  /** Fact: a customer return arrived, into inspection or straight to available. */
  receiveReturn: command(
    "receiveReturn",
    { quantity: MovementQuantityC, into: ReturnDispositionC },
    TrackingC.props,
  ),
  /** Fact: `counted` units of `status` (default available) were on hand at `businessTime`. */
  recordCount: command("recordCount", { counted: LevelQuantityC }, { status: StockStatusC }),
  /** Fact: a signed correction with a reason code. */
  adjustStock: command(
    "adjustStock",
    { quantity: DeltaQuantityC, reasonCode: CodeC },
    { status: StockStatusC },
  ),
  /** Fact: stock moved from one status to another (quality release, damage, consignment). */
  changeStatus: command(
    "changeStatus",
    { quantity: MovementQuantityC, fromStatus: StockStatusC, toStatus: StockStatusC },
    TrackingC.props,
  ),
  /** Fact: components consumed by a production order (from available). */
  consumeForProduction: command("consumeForProduction", { quantity: MovementQuantityC }, TrackingC.props),
  /** Fact: finished goods produced into a status (default available). */
  recordProductionOutput: command(
    "recordProductionOutput",
    { quantity: MovementQuantityC },
    { status: StockStatusC, ...TrackingC.props },
  ),
  /** Request: hold ATP for a channel until `expiresAt` (or business time + `ttlSeconds`). */
  placeReservation: command(
    "placeReservation",
    { quantity: MovementQuantityC, reservationId: ReservationIdC, channel: SystemIdC },
    // Bounded (limits.ts): an expiry past Date's range would throw where the node computes it.
    { expiresAt: IsoTimestampC, ttlSeconds: ReservationTtlSecondsC },
  ),
  /** Request: give a reservation's remaining quantity back. */
  releaseReservation: command("releaseReservation", { reservationId: ReservationIdC }, {}),
  /** Request (from the runtime's timer): a reservation's time is up. */
  expireReservation: command("expireReservation", { reservationId: ReservationIdC }, {}),
  /** Request: the level kept out of ATP. */
  setSafetyStock: command("setSafetyStock", { quantity: LevelQuantityC }, {}),
  /** Request: put on quality hold, release the hold, or discontinue the position. */
  changeLifecycle: command(
    "changeLifecycle",
    {
      action: t.keyof(
        { hold: null, releaseHold: null, discontinue: null },
        '"hold" | "releaseHold" | "discontinue"',
      ),
      reason: TextC,
    },
    {},
  ),
  /**
   * Request (an operator's or the ERP's allocation): the position's channel rules from now on,
   * replacing the previous ones whole (channel-rules.ts); `category` is the SKU's category.
   */
  setChannelRules: command("setChannelRules", { rules: ChannelRulesC }, { category: CodeC }),
} as const;

export type CommandKind = keyof typeof CommandCodecs;
export const COMMAND_KINDS = Object.keys(CommandCodecs) as CommandKind[];

export const commandCodec = taggedUnion("Command", "kind", CommandCodecs);
export type Command = t.TypeOf<typeof commandCodec>;
export type CommandOf<K extends CommandKind> = Extract<Command, { kind: K }>;

/** Decodes a command, upcast to its kind's current version first (upcasters.ts). */
export const decodeCommand = (
  input: unknown,
  governance: SchemaGovernance = COMMAND_GOVERNANCE,
): E.Either<DecodeError[], Command> => {
  const up = upcastCommand(input, governance);
  if (!up.ok) return E.left(up.errors);
  // `is` runs the same codecs without building an error context per member; none of them transforms
  // its input, so a command that passes is its own decoding (test/domain/command-decode-fast-path).
  // Only a refused command runs `decode`, for errors that name the field, value and expectation.
  if (commandCodec.is(up.value)) return E.right(up.value as Command);
  const r = commandCodec.decode(up.value);
  return E.isRight(r) ? E.right(r.right as Command) : E.left(toDecodeErrors(r.left));
};

export type { DecodeError } from "./decode-errors.ts";
export { formatDecodeErrors } from "./decode-errors.ts";

/** Requests are decided against ATP and lifecycle; everything else is a fact to record. */
export const REQUEST_KINDS: ReadonlySet<CommandKind> = new Set<CommandKind>([
  "placeReservation",
  "releaseReservation",
  "expireReservation",
  "setSafetyStock",
  "changeLifecycle",
  "setChannelRules",
]);
export const isRequest = (c: Command): boolean => REQUEST_KINDS.has(c.kind);

/**
 * Movement kinds the ownership policy speaks about. Several command kinds share one movement
 * (a transfer is shipped and received; a reservation is placed, released and expired).
 */
export const MOVEMENT_KINDS = [
  "receipt",
  "expectedReceipt",
  "pick",
  "shipment",
  "transfer",
  "return",
  "count",
  "adjustment",
  "statusChange",
  "production",
  "reservation",
  "safetyStock",
  "lifecycle",
  "allocation",
] as const;
export type MovementKind = (typeof MOVEMENT_KINDS)[number];

export const MOVEMENT_OF: Readonly<Record<CommandKind, MovementKind>> = {
  receiveGoods: "receipt",
  expectReceipt: "expectedReceipt",
  confirmPick: "pick",
  reversePick: "pick",
  postShipment: "shipment",
  shipTransfer: "transfer",
  recordInboundTransfer: "transfer",
  receiveTransfer: "transfer",
  receiveReturn: "return",
  recordCount: "count",
  adjustStock: "adjustment",
  changeStatus: "statusChange",
  consumeForProduction: "production",
  recordProductionOutput: "production",
  placeReservation: "reservation",
  releaseReservation: "reservation",
  expireReservation: "reservation",
  setSafetyStock: "safetyStock",
  changeLifecycle: "lifecycle",
  setChannelRules: "allocation",
};
