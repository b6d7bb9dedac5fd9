/**
 * Request shapes of the Dynamics 365 Inventory Visibility API (on-hand change events, set on-hand,
 * index query, soft reservation) as the simulator accepts them. Names follow the public API
 * article; quantities must be whole numbers (DESIGN §3.11) although the real service takes decimals.
 */
import * as t from "io-ts";
import { boundedString } from "./bounded-string.ts";

export const WholeNumber = new t.Type<number, number, unknown>(
  "whole number",
  (u): u is number => typeof u === "number" && Number.isSafeInteger(u),
  (u, c) =>
    typeof u === "number" && Number.isSafeInteger(u)
      ? t.success(u)
      : t.failure(
          u,
          c,
          typeof u === "number" ? "a whole number (the simulator keeps whole base units only)" : undefined,
        ),
  t.identity,
);

export const PositiveWholeNumber = new t.Type<number, number, unknown>(
  "whole number > 0",
  (u): u is number => WholeNumber.is(u) && u > 0,
  (u, c) => (WholeNumber.is(u) && u > 0 ? t.success(u) : t.failure(u, c)),
  t.identity,
);

const Id = boundedString("non-empty string", 256, 1);

/** `{ datasource: { physicalMeasure: quantity } }` */
export const Quantities = t.record(t.string, t.record(t.string, WholeNumber));
export const Dimensions = t.record(t.string, t.string);

export const OnHandChange = t.intersection([
  t.type({ id: Id, organizationId: Id, productId: Id, dimensions: Dimensions, quantities: Quantities }),
  t.partial({ dimensionDataSource: t.string }),
]);
export type OnHandChange = t.TypeOf<typeof OnHandChange>;

export const IndexQuery = t.intersection([
  t.type({ filters: t.record(t.string, t.array(t.string)) }),
  t.partial({ dimensionDataSource: t.string, groupByValues: t.array(t.string), returnNegative: t.boolean }),
]);
export type IndexQuery = t.TypeOf<typeof IndexQuery>;

export const Reserve = t.intersection([
  t.type({
    id: Id,
    organizationId: Id,
    productId: Id,
    quantity: PositiveWholeNumber,
    quantityDataSource: Id,
    modifier: Id,
    dimensions: Dimensions,
  }),
  t.partial({ ifCheckAvailForReserv: t.boolean, dimensionDataSource: t.string }),
]);
export type Reserve = t.TypeOf<typeof Reserve>;

export const Unreserve = t.intersection([
  t.type({ id: Id, organizationId: Id, reservationId: Id }),
  t.partial({ dimensions: Dimensions, OffsetQty: PositiveWholeNumber, offsetQty: PositiveWholeNumber }),
]);
export type Unreserve = t.TypeOf<typeof Unreserve>;
