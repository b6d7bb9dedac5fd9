/**
 * The outbound side's wire format: the Admin GraphQL `inventorySetQuantities` mutation (API 2024-07 and
 * later: `quantities` with `compareQuantity`, or `ignoreCompareQuantity: true`), and what a response
 * says about it: applied, refused per item (`userErrors`), or throttled by Shopify's cost-based
 * limit (`extensions.cost.throttleStatus`). Pure: the push service sends, the simulator answers.
 */
import { isRecord } from "../source-values.ts";
import { inventoryItemGid, locationGid } from "./shopify-json.ts";

export const INVENTORY_SET_QUANTITIES = `mutation inventorySetQuantities($input: InventorySetQuantitiesInput!) {
  inventorySetQuantities(input: $input) {
    inventoryAdjustmentGroup { reason changes { name delta quantityAfterChange item { id } location { id } } }
    userErrors { code field message }
  }
}`;

/** Shopify takes at most this many quantities in one call. */
export const MAX_QUANTITIES_PER_SET = 250;

export interface SetQuantity {
  /** Shopify ids (digits); sent as gids. */
  readonly inventoryItemId: string;
  readonly locationId: string;
  readonly quantity: number;
}

export interface InventorySetQuantitiesInput {
  readonly name: "available" | "on_hand";
  readonly reason: string;
  readonly referenceDocumentUri?: string;
  readonly ignoreCompareQuantity?: boolean;
  readonly quantities: readonly {
    readonly inventoryItemId: string;
    readonly locationId: string;
    readonly quantity: number;
    readonly compareQuantity?: number | null;
  }[];
}

/**
 * The request body: stockline is the system of record for the levels it sets, so it does not compare
 * (`ignoreCompareQuantity`); an edit made in Shopify meanwhile is reported by its webhook.
 */
export const inventorySetQuantitiesBody = (
  quantities: readonly SetQuantity[],
  referenceDocumentUri?: string,
) => ({
  query: INVENTORY_SET_QUANTITIES,
  operationName: "inventorySetQuantities",
  variables: {
    input: {
      name: "available",
      reason: "correction",
      ...(referenceDocumentUri ? { referenceDocumentUri } : {}),
      ignoreCompareQuantity: true,
      quantities: quantities.map((q) => ({
        inventoryItemId: inventoryItemGid(q.inventoryItemId),
        locationId: locationGid(q.locationId),
        quantity: q.quantity,
      })),
    } satisfies InventorySetQuantitiesInput,
  },
});

/** `extensions.cost.throttleStatus`: the leaky bucket of the app on the shop. */
export interface ThrottleStatus {
  readonly maximumAvailable: number;
  readonly currentlyAvailable: number;
  readonly restoreRate: number;
}

export interface QueryCost {
  readonly requestedQueryCost: number;
  readonly actualQueryCost: number | null;
  readonly throttleStatus: ThrottleStatus;
}

export interface UserError {
  readonly code?: string | null;
  readonly field?: readonly string[] | null;
  readonly message: string;
}

export type SetQuantitiesResult =
  | { readonly kind: "applied"; readonly cost?: QueryCost }
  | { readonly kind: "throttled"; readonly cost?: QueryCost }
  | { readonly kind: "refused"; readonly userErrors: readonly UserError[]; readonly cost?: QueryCost }
  | { readonly kind: "failed"; readonly message: string; readonly cost?: QueryCost };

const num = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);

export const costOf = (body: unknown): QueryCost | undefined => {
  const cost = isRecord(body) && isRecord(body.extensions) ? body.extensions.cost : undefined;
  if (!isRecord(cost) || !isRecord(cost.throttleStatus)) return undefined;
  const t = cost.throttleStatus;
  if (
    !num(t.maximumAvailable) ||
    !num(t.currentlyAvailable) ||
    !num(t.restoreRate) ||
    !num(cost.requestedQueryCost)
  )
    return undefined;
  return {
    requestedQueryCost: cost.requestedQueryCost,
    actualQueryCost: num(cost.actualQueryCost) ? cost.actualQueryCost : null,
    throttleStatus: {
      maximumAvailable: t.maximumAvailable,
      currentlyAvailable: t.currentlyAvailable,
      restoreRate: t.restoreRate,
    },
  };
};

/** What a 200 answer to the mutation says. */
export const readSetQuantitiesResponse = (body: unknown): SetQuantitiesResult => {
  const cost = costOf(body);
  const withCost = cost ? { cost } : {};
  if (!isRecord(body)) return { kind: "failed", message: "a GraphQL response object", ...withCost };
  if (Array.isArray(body.errors) && body.errors.length > 0) {
    const throttled = body.errors.some(
      (e) => isRecord(e) && isRecord(e.extensions) && e.extensions.code === "THROTTLED",
    );
    if (throttled) return { kind: "throttled", ...withCost };
    const messages = body.errors.map((e) =>
      isRecord(e) && typeof e.message === "string" ? e.message : JSON.stringify(e),
    );
    return { kind: "failed", message: messages.join("; "), ...withCost };
  }
  const data = isRecord(body.data) ? body.data.inventorySetQuantities : undefined;
  if (!isRecord(data)) return { kind: "failed", message: "data.inventorySetQuantities missing", ...withCost };
  const userErrors = Array.isArray(data.userErrors) ? (data.userErrors as UserError[]) : [];
  return userErrors.length > 0
    ? { kind: "refused", userErrors, ...withCost }
    : { kind: "applied", ...withCost };
};
