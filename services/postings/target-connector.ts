/**
 * What a posting target (an ERP) looks like to the posting worker and the reconciler: it turns a
 * canonical event into its own payload, posts a batch of them with idempotency keys, and reads
 * its balances per location. Implementations: `sap-connector.ts`, `d365-connector.ts`.
 *
 * Failures come in three kinds, because they are handled differently:
 * - `TargetUnavailableError` (thrown): the target cannot be reached or says it is unavailable
 *   (connection refused/reset, timeout, 429, 502, 503, 504). Charged to the circuit breaker, never
 *   to the event: postings wait for the target without limit.
 * - `TargetFailedError` (thrown): the target answered with another server error. Charged to the
 *   breaker and to the event: retried with backoff, dead-lettered after the last attempt.
 * - a rejected item (returned): the target refused this document (4xx, a business error such as
 *   SAP's deficit of stock). Retrying the same document cannot help: dead-lettered at once.
 */
import * as E from "fp-ts/lib/Either.js";
import * as t from "io-ts";
import type { CanonicalEvent } from "../../domain/canonical-event.ts";
import { type DecodeError, toDecodeErrors } from "../../domain/decode-errors.ts";
import { NonEmptyStringC, PositiveIntC } from "../../domain/scalars.ts";

export class TargetUnavailableError extends Error {
  constructor(
    readonly target: string,
    message: string,
  ) {
    super(message);
    this.name = "TargetUnavailableError";
  }
}

export class TargetFailedError extends Error {
  constructor(
    readonly target: string,
    message: string,
  ) {
    super(message);
    this.name = "TargetFailedError";
  }
}

export type Transform<P> =
  | { readonly kind: "post"; readonly payload: P; readonly summary: string }
  /** Nothing to post (the event moves nothing this target keeps). */
  | { readonly kind: "skip"; readonly reason: string }
  /** The event cannot be posted as configured (e.g. its location has no mapping): dead letter. */
  | { readonly kind: "reject"; readonly reason: string };

export interface PostingItem<P = unknown> {
  /** The idempotency key: `<region>:<streamId>:<revision>`. */
  readonly key: string;
  readonly payload: P;
}

export type ItemResult =
  | { readonly ok: true; readonly documentId: string; readonly duplicate: boolean }
  | { readonly ok: false; readonly error: string; readonly status?: number };

export interface TargetConnector<P = unknown> {
  readonly id: string;
  readonly kind: "sap-s4hana" | "d365-inventory-visibility";
  /** How many items one `post` call takes (1: one document per call). */
  readonly maxBatch: number;
  /** Locations this target has a mapping for. */
  readonly locations: readonly string[];
  transform(event: CanonicalEvent, key: string): Transform<P>;
  /** Posts the items in order; one result per item, or throws for the whole call. */
  post(items: readonly PostingItem<P>[]): Promise<ItemResult[]>;
  /** The target's figure per SKU at one location (see `targetStockEffect`). */
  readBalances(location: string): Promise<Map<string, number>>;
}

export const SapLocationC = t.type(
  { plant: NonEmptyStringC, storageLocation: NonEmptyStringC },
  "{ plant, storageLocation }",
);
export const SapTargetConfigC = t.intersection(
  [
    t.type({
      kind: t.literal("sap-s4hana"),
      id: NonEmptyStringC,
      baseUrl: NonEmptyStringC,
      locations: t.record(t.string, SapLocationC),
    }),
    t.partial({
      /** Entry unit of every posting (quantities are in the base unit). Default `EA`. */
      unit: NonEmptyStringC,
      /** Storage location that holds stock in transit between a shipment and its receipt. Default `TRAN`. */
      transitStorageLocation: NonEmptyStringC,
      timeoutMs: PositiveIntC,
    }),
  ],
  "a SAP target { kind: sap-s4hana, id, baseUrl, locations, unit?, transitStorageLocation?, timeoutMs? }",
);
export type SapTargetConfig = t.TypeOf<typeof SapTargetConfigC>;

export const D365LocationC = t.type(
  { siteId: NonEmptyStringC, locationId: NonEmptyStringC },
  "{ siteId, locationId }",
);
export const D365TargetConfigC = t.intersection(
  [
    t.type({
      kind: t.literal("d365-inventory-visibility"),
      id: NonEmptyStringC,
      baseUrl: NonEmptyStringC,
      environmentId: NonEmptyStringC,
      organizationId: NonEmptyStringC,
      locations: t.record(t.string, D365LocationC),
    }),
    t.partial({
      /** Physical measure postings change. Default `fno` / `availphysical`. */
      dataSource: NonEmptyStringC,
      measure: NonEmptyStringC,
      /** Measure reconciliation reads (physical or calculated). Default `iv.onhand`. */
      balanceMeasure: NonEmptyStringC,
      maxBatch: PositiveIntC,
      timeoutMs: PositiveIntC,
    }),
  ],
  "a D365 target { kind: d365-inventory-visibility, id, baseUrl, environmentId, organizationId, locations, ... }",
);
export type D365TargetConfig = t.TypeOf<typeof D365TargetConfigC>;

export const TargetConfigC = t.union([SapTargetConfigC, D365TargetConfigC], "a target configuration");
export type TargetConfig = t.TypeOf<typeof TargetConfigC>;

export const decodeTargetConfigs = (input: unknown): E.Either<DecodeError[], TargetConfig[]> => {
  const r = t.array(TargetConfigC).decode(input);
  return E.isRight(r) ? E.right(r.right) : E.left(toDecodeErrors(r.left));
};

/** POSTs or GETs JSON with a timeout, turning transport problems and 5xx into the errors above. */
export const requestJson = async (
  target: string,
  url: string,
  init: { method: "GET" | "POST"; body?: unknown; headers?: Record<string, string>; timeoutMs: number },
): Promise<{ status: number; body: unknown; headers: Headers }> => {
  let res: Response;
  try {
    res = await fetch(url, {
      method: init.method,
      headers: { accept: "application/json", "content-type": "application/json", ...init.headers },
      ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
      signal: AbortSignal.timeout(init.timeoutMs),
    });
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name;
    throw new TargetUnavailableError(target, `${init.method} ${url}: ${cause} (${(err as Error).message})`);
  }
  const text = await res.text().catch(() => "");
  let body: unknown = text;
  try {
    body = text === "" ? undefined : JSON.parse(text);
  } catch {
    // keep the text
  }
  if ([429, 502, 503, 504].includes(res.status))
    throw new TargetUnavailableError(target, `${res.status} from ${target}: ${errorText(body)}`);
  if (res.status >= 500)
    throw new TargetFailedError(target, `${res.status} from ${target}: ${errorText(body)}`);
  return { status: res.status, body, headers: res.headers };
};

/** The message of an OData error, a problem details body, or the text. */
export const errorText = (body: unknown): string => {
  if (typeof body === "string") return body.slice(0, 500);
  const b = body as {
    error?: { code?: string; message?: { value?: string } };
    title?: string;
    detail?: string;
  };
  if (b?.error?.message?.value) return `${b.error.code ?? ""} ${b.error.message.value}`.trim();
  if (b?.detail || b?.title) return [b.title, b.detail].filter(Boolean).join(": ");
  return JSON.stringify(body)?.slice(0, 500) ?? "(no body)";
};
