/**
 * Inventory Visibility soft reservations (`/onhand/reserve`, `/onhand/unreserve`, and their bulk
 * forms) as stockline reservations of the D365 channel.
 *
 * - reserve -> placeReservation. Its id is the one D365 assigned (`reservationId` of the service's
 *   response, passed as `response`, or of the payload), else the request's `id`: an unreserve can
 *   only find a reservation by D365's id. A response that is not `success` means D365 reserved
 *   nothing: untranslatable. A negative quantity (D365's way of taking part of a reservation back)
 *   cannot be expressed: stockline releases a reservation whole.
 * - unreserve -> releaseReservation, at the position of the product and dimensions. An unreserve
 *   without `productId` names no position (a stockline reservation belongs to one SKU-location).
 *   `OffsetQty` may be part of the reservation; stockline releases all of it, so an unreserve with
 *   `OffsetQty` is untranslatable unless the option `unreserveReleasesWhole` says the source always
 *   unreserves whole reservations.
 * `ifCheckAvailForReserv: false` is not honoured: stockline decides every reservation against ATP.
 */
import type { Command } from "../../domain/commands.ts";
import { unitsOf } from "../../domain/units.ts";
import { isRecord, parseDecimal, quantityIn, text } from "../source-values.ts";
import type { Translation, TranslationContext } from "../translation.ts";
import { readEvent } from "./d365-event.ts";
import { type D365Options, eachEvent } from "./d365-inventory-visibility.ts";

export const D365_RESERVATION_DOCUMENT = "D365 reservation";

export interface D365ReservationOptions extends D365Options {
  /** The service's answer to the reserve (one, or one per event of a bulk). */
  readonly response?: unknown;
  /** A reservation's time to live (default: the node's). */
  readonly reservationTtlSeconds?: number;
  /** The source unreserves whole reservations only: `OffsetQty` is then not a partial release. */
  readonly unreserveReleasesWhole?: boolean;
}

const responseAt = (response: unknown, index: number, bulk: boolean): unknown =>
  bulk && Array.isArray(response) ? response[index] : response;

export const translateD365Reserve = (
  json: unknown,
  ctx: TranslationContext,
  opts: D365ReservationOptions = {},
): Translation => {
  let index = -1;
  return eachEvent(json, D365_RESERVATION_DOCUMENT, ctx, opts, (e, at, c) => {
    index += 1;
    const { problems, event, id } = readEvent(e, at, c, opts);
    const problem = (path: string, value: unknown, reason: string) =>
      problems.push({ at: at(path), ...(value === undefined ? {} : { value }), reason });
    const record = isRecord(e) ? e : {};
    const response = responseAt(opts.response, index, Array.isArray(json));
    if (response !== undefined) {
      const status = isRecord(response) ? response.processingStatus : undefined;
      if (status !== "success")
        problem(
          "response.processingStatus",
          status,
          "success: D365 did not reserve, so there is nothing to hold",
        );
    }
    const amount = parseDecimal(typeof record.quantity === "number" ? record.quantity : undefined);
    if (amount === undefined) problem("quantity", record.quantity, "a number");
    else if (amount.digits <= 0n)
      problem(
        "quantity",
        record.quantity,
        "a positive quantity: a negative reserve takes part of a reservation back, and stockline releases reservations whole",
      );
    const reservationId =
      (isRecord(response) ? text(response.reservationId) : undefined) ?? text(record.reservationId) ?? id;
    if (problems.length > 0 || !event || !amount || !reservationId)
      return { commands: [], problems, ...(id ? { id } : {}) };
    const q = quantityIn(
      c.masterData,
      event.sku,
      amount,
      unitsOf(c.masterData.units, event.sku)?.baseUom ?? "",
    );
    if (!q.ok) {
      problem("quantity", record.quantity, q.reason);
      return { commands: [], problems, id: event.id };
    }
    const command: Command = {
      kind: "placeReservation",
      idempotencyKey: `${c.system}:${event.organizationId}:${event.id}:reserve`,
      source: {
        system: c.system,
        document: { type: D365_RESERVATION_DOCUMENT, id: event.id, line: "reserve" },
      },
      businessTime: c.receivedAt,
      correlationId: event.id,
      position: { region: event.location.region, location: event.location.id, sku: event.sku },
      quantity: { value: q.value.value, uom: q.value.uom },
      reservationId,
      channel: c.system,
      ...(opts.reservationTtlSeconds !== undefined ? { ttlSeconds: opts.reservationTtlSeconds } : {}),
    };
    return { commands: [command], problems, id: event.id };
  });
};

export const translateD365Unreserve = (
  json: unknown,
  ctx: TranslationContext,
  opts: D365ReservationOptions = {},
): Translation =>
  eachEvent(json, D365_RESERVATION_DOCUMENT, ctx, opts, (e, at, c) => {
    const record = isRecord(e) ? e : {};
    const { problems, event, id } = readEvent(e, at, c, opts);
    const missingProduct = problems.findIndex((p) => p.at === at("productId") && p.value === undefined);
    if (missingProduct >= 0)
      problems[missingProduct] = {
        at: at("productId"),
        reason:
          "a productId: a stockline reservation belongs to one SKU-location, which an unreserve without the product does not name",
      };
    const problem = (path: string, value: unknown, reason: string) =>
      problems.push({ at: at(path), ...(value === undefined ? {} : { value }), reason });
    const reservationId = text(record.reservationId);
    if (!reservationId)
      problem("reservationId", record.reservationId, "the reservation's id (as D365 assigned it)");
    if (record.OffsetQty !== undefined && !opts.unreserveReleasesWhole)
      problem(
        "OffsetQty",
        record.OffsetQty,
        "no OffsetQty: stockline releases a reservation whole and cannot tell whether this is all of it (option unreserveReleasesWhole)",
      );
    if (problems.length > 0 || !event || !reservationId)
      return { commands: [], problems, ...(id ? { id } : {}) };
    const command: Command = {
      kind: "releaseReservation",
      idempotencyKey: `${c.system}:${event.organizationId}:${event.id}:unreserve`,
      source: {
        system: c.system,
        document: { type: D365_RESERVATION_DOCUMENT, id: event.id, line: "unreserve" },
      },
      businessTime: c.receivedAt,
      correlationId: event.id,
      position: { region: event.location.region, location: event.location.id, sku: event.sku },
      reservationId,
    };
    return { commands: [command], problems, id: event.id };
  });
