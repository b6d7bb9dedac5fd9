/**
 * Physical measures of Inventory Visibility (`quantities.<datasource>.<measure>`, compared in lower
 * case) and what a change of each means for a position. The default follows the service's own
 * default calculated measure `iv.onhand = pos.inbound + fno.availphysical + fno.arrived - pos.outbound`;
 * a distributor with other data sources passes its own table (`measures` option).
 *
 * `onHand` is how the measure counts toward on hand (+1 or -1). A change moves on hand by
 * `onHand * quantity`; `kind` says what such a move is when it goes the measure's way:
 * - receipt: receiveGoods (on hand up);
 * - shipment: confirmPick then postShipment (on hand down: the goods left, as a sale at a till);
 * - adjustment: adjustStock with reason `D365-<datasource>.<measure>`.
 * A move against the measure's way (a negative inbound, a negative outbound: corrections) is an
 * adjustStock with that reason. A zero change moves nothing and yields nothing.
 *
 * A set-on-hand states the position's on hand as the sum of `onHand * level` of the measures it
 * sets (`pos.inbound: 100` is 100 on hand): a count of that level.
 */
export interface D365Measure {
  readonly onHand: 1 | -1;
  readonly kind: "receipt" | "shipment" | "adjustment";
}

export const D365_MEASURES: Readonly<Record<string, D365Measure>> = {
  "fno.availphysical": { onHand: 1, kind: "adjustment" },
  "fno.arrived": { onHand: 1, kind: "receipt" },
  "pos.inbound": { onHand: 1, kind: "receipt" },
  "pos.outbound": { onHand: -1, kind: "shipment" },
};

/** The table with its names in lower case (the service compares them case-insensitively). */
export const measureTable = (
  table: Readonly<Record<string, D365Measure>> = D365_MEASURES,
): ReadonlyMap<string, D365Measure> =>
  new Map(Object.entries(table).map(([name, m]) => [name.toLowerCase(), m]));
