/**
 * A small scripted day at two warehouses, run through the domain only (no servers): receipts in
 * cases and pallets, a web reservation, the pick that consumes it, a transfer between the DCs,
 * a late cycle count, an over-reservation that is refused, and a pick the ledger could not cover.
 * Prints each step's outcome and the resulting positions and ATP.
 *
 *   npx tsx services/demo-scenario.ts
 */
import type { CanonicalEvent } from "../domain/canonical-event.ts";
import { verifyChain } from "../domain/canonical-event.ts";
import type { Command } from "../domain/commands.ts";
import { type Position, positionKey } from "../domain/ids.ts";
import type { OwnershipPolicy } from "../domain/ownership-policy.ts";
import {
  atpOf,
  DEFAULT_DECISION_CONFIG,
  type DecisionEnv,
  decide,
  evolve,
  inboundTransferCommandFor,
  initialPositionState,
  type PositionState,
  toCanonicalEvents,
} from "../domain/position.decider.ts";

const SKU = "WATER-1.5L";
const DC1: Position = { region: "eu", location: "DC-Hamburg", sku: SKU };
const DC2: Position = { region: "eu", location: "DC-Munich", sku: SKU };
// Sold by the crate: its base unit is CS, so single bottles would be fractions of it.
const CRATE: Position = { region: "eu", location: "DC-Munich", sku: "JUICE-CRATE" };
const T0 = Date.parse("2024-05-01T08:00:00Z");
const at = (min: number) => new Date(T0 + min * 60_000).toISOString();

const policy: OwnershipPolicy = {
  rules: [
    {
      name: "wms-owns-dc-moves",
      movements: ["receipt", "pick", "shipment", "transfer", "count"],
      locations: "DC-*",
      owners: ["wms"],
    },
    { name: "oms-owns-reservations", movements: ["reservation"], owners: ["oms"] },
  ],
  otherwise: "allow",
};
const env = (min: number): DecisionEnv => ({
  now: at(min),
  policy,
  config: {
    ...DEFAULT_DECISION_CONFIG,
    units: {
      skus: {
        [SKU]: {
          baseUom: "EA",
          conversions: [
            { uom: "CS", quantity: 6, of: "EA" },
            { uom: "PAL", quantity: 40, of: "CS" },
          ],
        },
        [CRATE.sku]: { baseUom: "CS", conversions: [{ uom: "CS", quantity: 6, of: "EA" }] },
      },
    },
  },
});

const states = new Map<string, PositionState>([
  [positionKey(DC1), initialPositionState(DC1)],
  [positionKey(DC2), initialPositionState(DC2)],
  [positionKey(CRATE), initialPositionState(CRATE)],
]);
const stream: CanonicalEvent[] = [];
let n = 0;

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
/** A command without the fields the script fills in (business time defaults to the step's minute). */
type Draft = DistributiveOmit<Command, "idempotencyKey" | "correlationId" | "businessTime"> & {
  businessTime?: string;
};

const submit = (label: string, minute: number, c: Draft) => {
  n++;
  const command = {
    idempotencyKey: `demo-${n}`,
    correlationId: `demo-corr-${n}`,
    businessTime: at(minute),
    ...c,
  } as Command;
  const key = positionKey(command.position);
  const state = states.get(key) as PositionState;
  const outcome = decide(command, state, env(minute));
  let detail = "";
  if (outcome.kind === "accepted") {
    const stored = toCanonicalEvents(outcome.events, {
      prevRevision: state.revision,
      prevHash: state.lastHash,
      recordedTime: at(minute),
    });
    states.set(key, stored.reduce(evolve, state));
    stream.push(...stored);
    detail = stored
      .map((e) =>
        e.type === "AnomalyRaised"
          ? `AnomalyRaised(${e.anomaly.code}: ${e.anomaly.message})`
          : `${e.type}(${e.quantity})`,
      )
      .join(", ");
  } else if (outcome.kind === "rejected") detail = `${outcome.reason.code}: ${outcome.reason.message}`;
  else detail = JSON.stringify(outcome);
  console.log(`${String(n).padStart(2)}. ${label.padEnd(48)} ${outcome.kind.padEnd(9)} ${detail}`);
  return outcome;
};

const wms = (id: string) => ({ system: "wms", document: { type: "wms-task", id } });
const oms = (id: string) => ({ system: "oms", document: { type: "sales-order", id } });

console.log("stockline demo: one SKU at two DCs, decided by the position machine\n");
submit("receive 2 PAL at Hamburg (PO-1)", 0, {
  kind: "receiveGoods",
  position: DC1,
  source: wms("GR-1"),
  quantity: { value: 2, uom: "PAL" },
  documents: { po: "PO-1" },
});
submit("receive 10 CS at Munich (PO-2)", 5, {
  kind: "receiveGoods",
  position: DC2,
  source: wms("GR-2"),
  quantity: { value: 10, uom: "CS" },
  documents: { po: "PO-2" },
});
submit("the ERP posts a receipt at Hamburg (not owner)", 6, {
  kind: "receiveGoods",
  position: DC1,
  source: { system: "erp", document: { type: "gr", id: "X" } },
  quantity: { value: 3, uom: "EA" },
});
submit("web shop reserves 30 EA at Hamburg (SO-100)", 10, {
  kind: "placeReservation",
  position: DC1,
  source: oms("SO-100"),
  quantity: { value: 5, uom: "CS" },
  reservationId: "res-100",
  channel: "web",
  ttlSeconds: 3600,
  documents: { order: "SO-100" },
});
submit("set safety stock 24 EA at Hamburg", 11, {
  kind: "setSafetyStock",
  position: DC1,
  source: { system: "erp", document: { type: "planning", id: "SS-1" } },
  quantity: { value: 24, uom: "EA" },
});
submit("marketplace reserves 1000 EA (too many)", 12, {
  kind: "placeReservation",
  position: DC1,
  source: oms("SO-101"),
  quantity: { value: 1000, uom: "EA" },
  reservationId: "res-101",
  channel: "marketplace",
  ttlSeconds: 3600,
});
submit("WMS picks 30 EA for SO-100", 20, {
  kind: "confirmPick",
  position: DC1,
  source: wms("PICK-1"),
  quantity: { value: 30, uom: "EA" },
  documents: { order: "SO-100" },
});
submit("WMS ships SO-100", 30, {
  kind: "postShipment",
  position: DC1,
  source: wms("SHIP-1"),
  quantity: { value: 30, uom: "EA" },
  documents: { order: "SO-100" },
});
const transfer = submit("ship 2 CS Hamburg -> Munich (TO-7)", 40, {
  kind: "shipTransfer",
  position: DC1,
  source: wms("TO-7-out"),
  quantity: { value: 2, uom: "CS" },
  destination: { region: DC2.region, location: DC2.location },
  documents: { transferOrder: "TO-7" },
});
if (transfer.kind === "accepted") {
  const shipped = stream.find((e) => e.type === "TransferShipped");
  if (shipped?.type === "TransferShipped") {
    const c = inboundTransferCommandFor(shipped);
    submit("(derived) Munich records TO-7 in transit", 40, c);
  }
}
submit("Munich receives TO-7", 90, {
  kind: "receiveTransfer",
  position: DC2,
  source: wms("TO-7-in"),
  quantity: { value: 12, uom: "EA" },
  documents: { transferOrder: "TO-7" },
});
submit("cycle count, sent late: 478 EA as of 08:15", 95, {
  kind: "recordCount",
  position: DC1,
  source: wms("CC-1"),
  counted: { value: 478, uom: "EA" },
  businessTime: at(15),
});
submit("receive 3 EA of a SKU kept in crates of 6", 96, {
  kind: "receiveGoods",
  position: CRATE,
  source: wms("GR-3"),
  quantity: { value: 3, uom: "EA" },
  documents: { po: "PO-3" },
});
submit("receive 4 crates (24 EA) of it", 97, {
  kind: "receiveGoods",
  position: CRATE,
  source: wms("GR-4"),
  quantity: { value: 24, uom: "EA" },
  documents: { po: "PO-4" },
});
submit("WMS picks 74 EA at Munich (ledger has 72)", 100, {
  kind: "confirmPick",
  position: DC2,
  source: wms("PICK-2"),
  quantity: { value: 74, uom: "EA" },
  documents: { order: "SO-200" },
});

console.log("\nPositions (in each SKU's base unit)");
console.table(
  [...states.values()].map((s) => {
    const a = atpOf(s);
    const b = s.buckets;
    return {
      location: s.position.location,
      sku: s.position.sku,
      available: b.available.current,
      picked: b.picked.current,
      inspection: b.inspection.current,
      inTransitIn: Object.values(s.inbound).reduce((x, t) => x + Math.max(0, t.shipped - t.received), 0),
      reserved: a.reserved,
      safetyStock: a.safetyStock,
      ATP: a.atp,
      revision: s.revision,
    };
  }),
);
const byStream = new Map<string, CanonicalEvent[]>();
for (const e of stream) {
  const key = positionKey(e.position);
  byStream.set(key, [...(byStream.get(key) ?? []), e]);
}
for (const [key, events] of byStream) {
  const v = verifyChain(events);
  console.log(
    `audit chain ${key}: ${v.ok ? `ok, ${events.length} events, head ${v.lastHash.slice(0, 12)}…` : `BROKEN at ${v.revision}`}`,
  );
}
