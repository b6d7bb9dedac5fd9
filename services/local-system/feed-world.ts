/**
 * What the demo feed knows of the system it drives, and nothing more: a description of the world
 * (regions, their locations, the WMS that owns physical moves there, the ERP) and a narrow transport
 * (publish a command as a source system to a region; place and release reservations and read
 * availability over the public HTTP API with an API key). `stockline run` adapts its in-process
 * system to this; a driver of separately started parts gives its own publisher and the API's URL.
 */

export interface FeedRegion {
  readonly region: string;
  /** Location ids the feed keeps stock at (the region's DCs). */
  readonly locations: readonly string[];
  /** `source.system` of the WMS that owns physical moves at these locations. */
  readonly wms: string;
  /** `source.system` under which the region's ERP announces purchase orders. */
  readonly erp: string;
}

export interface FeedWorld {
  readonly regions: readonly FeedRegion[];
}

/** Where a command goes: a region's intake, as `system`, for one SKU-location (the subject). */
export interface PublishTo {
  readonly region: string;
  readonly system: string;
  readonly location: string;
  readonly sku: string;
}

export interface ReservationRequest {
  readonly sku: string;
  readonly region: string;
  readonly quantity: number;
  readonly channel: string;
  readonly ttlSeconds: number;
  readonly order: string;
  readonly idempotencyKey: string;
}

export type PlaceOutcome =
  /** `held`: the region was unreachable and the API holds it (confirmed or compensated later). */
  | {
      readonly kind: "placed";
      readonly reservationId: string;
      readonly location: string;
      readonly held: boolean;
    }
  | { readonly kind: "short"; readonly message: string }
  | { readonly kind: "failed"; readonly message: string };

export type ReleaseOutcome =
  | { readonly kind: "released" }
  /** Already consumed, released or expired: nothing was held any more. */
  | { readonly kind: "gone"; readonly message: string }
  | { readonly kind: "failed"; readonly message: string };

/** ATP of one SKU per location, as the shops see it. */
export interface SkuAvailability {
  readonly sku: string;
  readonly locations: ReadonlyArray<{
    readonly region: string;
    readonly location: string;
    readonly atp: number;
  }>;
}

export interface FeedTransport {
  /** Publishes a command (or raw bytes: a broken connector) to the region's intake; resolves on its ack. */
  publish(to: PublishTo, payload: Record<string, unknown> | Uint8Array): Promise<void>;
  placeReservation(request: ReservationRequest): Promise<PlaceOutcome>;
  releaseReservation(reservationId: string): Promise<ReleaseOutcome>;
  /** `undefined` when the SKU is not known (yet). */
  availability(sku: string): Promise<SkuAvailability | undefined>;
}

/** The reservation and availability half of a transport: the public HTTP API with one API key. */
export type FeedApi = Omit<FeedTransport, "publish">;

const messageOf = (body: unknown, status: number): string =>
  `HTTP ${status}: ${(body as { message?: unknown } | null)?.message ?? ""}`;

export const httpFeedApi = (opts: { apiUrl: string; apiKey: string; timeoutMs?: number }): FeedApi => {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const call = async (method: string, route: string, body?: unknown) => {
    const res = await fetch(`${opts.apiUrl}${route}`, {
      method,
      headers: {
        "x-api-key": opts.apiKey,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    return { status: res.status, body: (await res.json().catch(() => ({}))) as Record<string, unknown> };
  };
  const failed = (err: unknown) => ({ kind: "failed", message: (err as Error).message }) as const;
  return {
    async placeReservation(r) {
      try {
        const { status, body } = await call("POST", "/v1/reservations", { ...r, correlationId: r.order });
        const { reservationId, location } = body as { reservationId?: unknown; location?: unknown };
        if (
          (status === 201 || status === 202) &&
          typeof reservationId === "string" &&
          typeof location === "string"
        )
          return { kind: "placed", reservationId, location, held: status === 202 };
        if (status === 409) return { kind: "short", message: messageOf(body, status) };
        return { kind: "failed", message: `reservation ${messageOf(body, status)}` };
      } catch (err) {
        return failed(err);
      }
    },
    async releaseReservation(id) {
      try {
        const { status, body } = await call("DELETE", `/v1/reservations/${encodeURIComponent(id)}`);
        // 200 with another status: it had expired or been consumed before (the API's record says which).
        if ((status === 200 && body.status === "released") || status === 202) return { kind: "released" };
        if (status === 200) return { kind: "gone", message: `already ${String(body.status)}` };
        if (status === 404 || status === 409 || status === 422)
          return { kind: "gone", message: messageOf(body, status) };
        return { kind: "failed", message: `release ${messageOf(body, status)}` };
      } catch (err) {
        return failed(err);
      }
    },
    async availability(sku) {
      const { status, body } = await call("GET", `/v1/availability/${encodeURIComponent(sku)}`);
      if (status === 404) return undefined;
      if (status !== 200) throw new Error(`availability of ${sku}: ${messageOf(body, status)}`);
      const locations = (body.locations ?? []) as SkuAvailability["locations"];
      return { sku, locations: locations.map(({ region, location, atp }) => ({ region, location, atp })) };
    },
  };
};
