/**
 * Reservation ids carry their position, so that any API instance (and an operator) can tell where a
 * reservation lives without an index: `r1.<base64url(JSON [region, location, sku])>.<suffix>`.
 * base64url keeps the id safe in URL paths whatever characters SKUs and locations contain. The
 * suffix is derived from the caller, its idempotency key and the location, so a retried request
 * rebuilds the same id.
 */
import { createHash } from "node:crypto";
import type { Position } from "../../domain/ids.ts";
import { isRegionId } from "../../infra/nats/subjects.ts";

const PREFIX = "r1";

export const reservationIdFor = (p: Position, caller: string, idempotencyKey: string): string => {
  const where = Buffer.from(JSON.stringify([p.region, p.location, p.sku])).toString("base64url");
  const suffix = createHash("sha256")
    .update(`${caller}\u0000${idempotencyKey}\u0000${p.region}\u0000${p.location}\u0000${p.sku}`)
    .digest("base64url")
    .slice(0, 22);
  return `${PREFIX}.${where}.${suffix}`;
};

/** The position of a reservation id made by `reservationIdFor`; undefined for anything else. */
export const positionOfReservationId = (id: string): Position | undefined => {
  const parts = id.split(".");
  if (parts.length !== 3 || parts[0] !== PREFIX || !parts[1] || !parts[2]) return undefined;
  try {
    const decoded: unknown = JSON.parse(Buffer.from(parts[1], "base64url").toString("utf8"));
    if (
      !Array.isArray(decoded) ||
      decoded.length !== 3 ||
      !decoded.every((s) => typeof s === "string" && s.length > 0)
    )
      return undefined;
    const [region, location, sku] = decoded as [string, string, string];
    return isRegionId(region) ? { region, location, sku } : undefined;
  } catch {
    return undefined;
  }
};
