/**
 * Schema versions of the canonical model (DESIGN §3.16): every command kind and event type has one.
 * A version is a published contract (docs/schemas/<commands|events>/<name>.v<N>.json): a change a
 * reader of version N could trip over (a property removed, one made required, an enum or a type
 * narrowed) is version N+1, with an upcaster from N (upcasters.ts); a compatible change (a new
 * optional property) stays N. test/domain/schema-governance.test.ts fails when that rule is broken.
 *
 * On the wire:
 * - an event carries `schemaVersion` only above 1 (absent = 1), so every event written before
 *   versions existed, and its hash, stays exactly as it was;
 * - a command may carry `schemaVersion`; absent means the current one. A command is read at the
 *   current version without the field, so the same command hashes alike with and without it.
 *
 * Every type is at 1: no published shape has changed yet. The tables are typed by the codecs' keys,
 * so a new kind cannot be added without a version.
 */
import type { EventType } from "./canonical-event.ts";
import type { CommandKind } from "./commands.ts";

export const COMMAND_SCHEMA_VERSIONS: Readonly<Record<CommandKind, number>> = {
  receiveGoods: 1,
  confirmPick: 1,
  reversePick: 1,
  postShipment: 1,
  shipTransfer: 1,
  recordInboundTransfer: 1,
  expectReceipt: 1,
  receiveTransfer: 1,
  receiveReturn: 1,
  recordCount: 1,
  adjustStock: 1,
  changeStatus: 1,
  consumeForProduction: 1,
  recordProductionOutput: 1,
  placeReservation: 1,
  releaseReservation: 1,
  expireReservation: 1,
  setSafetyStock: 1,
  changeLifecycle: 1,
  setChannelRules: 1,
};

export const EVENT_SCHEMA_VERSIONS: Readonly<Record<EventType, number>> = {
  GoodsReceived: 1,
  PickConfirmed: 1,
  PickReversed: 1,
  ShipmentPosted: 1,
  TransferShipped: 1,
  TransferInboundRecorded: 1,
  ReceiptExpected: 1,
  TransferReceived: 1,
  ReturnReceived: 1,
  CountRecorded: 1,
  StockAdjusted: 1,
  StatusChanged: 1,
  ProductionConsumed: 1,
  ProductionOutput: 1,
  ReservationPlaced: 1,
  ReservationReleased: 1,
  ReservationExpired: 1,
  ReservationConsumed: 1,
  SafetyStockSet: 1,
  LifecycleChanged: 1,
  AnomalyRaised: 1,
  ChannelRulesChanged: 1,
};

/** The version an event says it has: its `schemaVersion`, 1 when absent (events older than versions). */
export const EVENT_VERSION_WHEN_ABSENT = 1;

/**
 * The event as it is written: with `schemaVersion` when its type is above 1, unchanged otherwise
 * (the same object, so events of version 1 are byte for byte what they were before versions).
 */
export const stampEventVersion = <E extends { readonly type: string; readonly schemaVersion?: number }>(
  event: E,
  versions: Readonly<Record<string, number>> = EVENT_SCHEMA_VERSIONS,
): E & { readonly schemaVersion?: number } => {
  const v = versions[event.type] ?? EVENT_VERSION_WHEN_ABSENT;
  return v === EVENT_VERSION_WHEN_ABSENT || event.schemaVersion === v
    ? event
    : { ...event, schemaVersion: v };
};
