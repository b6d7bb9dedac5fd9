/**
 * Shopify Admin GraphQL simulator: the `inventorySetQuantities` mutation (API 2024-07 shape) behind
 * Shopify's cost-based rate limit, a leaky bucket per app and shop: `maximumAvailable` points,
 * restored at `restoreRate` per second, each mutation costing `mutationCost`. A request the bucket
 * cannot pay for is answered as Shopify does (HTTP 200, `errors[].extensions.code: "THROTTLED"`) and
 * applies nothing; every answer carries `extensions.cost.throttleStatus`. The simulator matches the
 * operation by name and reads its variables; it is not a GraphQL engine.
 *
 * `POST /admin/api/:version/graphql.json` with `X-Shopify-Access-Token`; faults and `/_sim` admin routes
 * as the other simulators (sim-controls.ts). `sendShopifyWebhook` signs a body as Shopify does, for
 * tests of an inbound route; with `webhooks` set, every level the mutation changes is sent back as an
 * `inventory_levels/update` webhook (the echo a real shop sends).
 */
import { randomUUID } from "node:crypto";
import Fastify from "fastify";
import { shopifyHmac } from "../../connectors/shopify/shopify-hmac.ts";
import { MAX_QUANTITIES_PER_SET, type UserError } from "../../connectors/shopify/shopify-inventory-set.ts";
import { isRecord } from "../../connectors/source-values.ts";
import { type SimulatorControls, simulatorControls } from "./sim-controls.ts";
import { FaultInjector, type FaultOptions } from "./sim-faults.ts";

export interface ShopifyBucketOptions {
  readonly maximumAvailable?: number;
  readonly restoreRate?: number;
  /** Points available at start (default: full). */
  readonly initiallyAvailable?: number;
}

export interface ShopifySimulatorOptions extends FaultOptions {
  readonly accessToken?: string;
  readonly bucket?: ShopifyBucketOptions;
  readonly mutationCost?: number;
  /** Whether an item is stocked at a location (default: every pair is). Ids are digits. */
  readonly stocked?: (inventoryItemId: string, locationId: string) => boolean;
  /** Send `inventory_levels/update` webhooks for changed levels here, signed with `secret`. */
  readonly webhooks?: { readonly url: string; readonly secret: string };
  readonly logger?: boolean;
}

export interface ShopifySimStats {
  readonly requests: number;
  readonly applied: number;
  /** Requests refused because the bucket could not pay for them (nothing applied). */
  readonly throttled: number;
  readonly refused: number;
  readonly quantitiesSet: number;
  readonly webhooksSent: number;
  readonly webhooksFailed: number;
}

export interface ShopifySetEntry {
  readonly at: string;
  readonly quantities: readonly {
    inventoryItemId: string;
    locationId: string;
    quantity: number;
    before?: number;
  }[];
}

export interface ShopifySimulator extends SimulatorControls {
  /** `available` of an item at a location (ids as digits), undefined when never set. */
  level(inventoryItemId: string, locationId: string): number | undefined;
  stats(): ShopifySimStats;
  ledger(): readonly ShopifySetEntry[];
  /** The bucket as it is now. */
  throttleStatus(): { maximumAvailable: number; currentlyAvailable: number; restoreRate: number };
  /** A level changed outside the sync (a merchant's edit in the admin), with its webhook when configured. */
  edit(inventoryItemId: string, locationId: string, available: number): Promise<void>;
}

export const DEFAULT_ACCESS_TOKEN = "shpat_simulator";
const REASONS = new Set([
  "correction",
  "cycle_count_available",
  "damaged",
  "movement_created",
  "movement_updated",
  "movement_received",
  "movement_canceled",
  "other",
  "promotion",
  "quality_control",
  "received",
  "reservation_created",
  "reservation_deleted",
  "reservation_updated",
  "restock",
  "safety_stock",
  "shrinkage",
]);
const GID = (type: string) => new RegExp(`^gid://shopify/${type}/([1-9]\\d{0,19})$`);
const ITEM_GID = GID("InventoryItem");
const LOCATION_GID = GID("Location");

/** Sends a webhook as Shopify does: JSON body, topic, shop and its HMAC-SHA256 header. */
export const sendShopifyWebhook = async (opts: {
  readonly url: string;
  readonly topic: string;
  /** An object (serialized here) or the exact raw body. */
  readonly body: unknown;
  readonly secret: string;
  readonly shopDomain?: string;
  readonly webhookId?: string;
  /** Sign this instead (a forged or tampered request). */
  readonly hmac?: string;
}): Promise<Response> => {
  const raw = typeof opts.body === "string" ? opts.body : JSON.stringify(opts.body);
  return fetch(opts.url, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "x-shopify-topic": opts.topic,
      "x-shopify-hmac-sha256": opts.hmac ?? shopifyHmac(raw, opts.secret),
      "x-shopify-shop-domain": opts.shopDomain ?? "stockline-sim.myshopify.com",
      "x-shopify-api-version": "2024-07",
      "x-shopify-webhook-id": opts.webhookId ?? randomUUID(),
      "x-shopify-triggered-at": new Date().toISOString(),
    },
    body: raw,
  });
};

export const createShopifySimulator = (options: ShopifySimulatorOptions = {}): ShopifySimulator => {
  const token = options.accessToken ?? DEFAULT_ACCESS_TOKEN;
  const max = options.bucket?.maximumAvailable ?? 1000;
  const restoreRate = options.bucket?.restoreRate ?? 50;
  const cost = options.mutationCost ?? 10;
  const now = options.now ?? Date.now;
  let available = options.bucket?.initiallyAvailable ?? max;
  let lastRefill = now();
  const levels = new Map<string, number>();
  const entries: ShopifySetEntry[] = [];
  const stats = {
    requests: 0,
    applied: 0,
    throttled: 0,
    refused: 0,
    quantitiesSet: 0,
    webhooksSent: 0,
    webhooksFailed: 0,
  };
  const key = (item: string, location: string) => `${item}@${location}`;

  const refill = () => {
    const t = now();
    available = Math.min(max, available + ((t - lastRefill) / 1000) * restoreRate);
    lastRefill = t;
  };
  const throttleStatus = () => {
    refill();
    return { maximumAvailable: max, currentlyAvailable: Math.floor(available), restoreRate };
  };
  const extensions = (actual: number | null) => ({
    cost: { requestedQueryCost: cost, actualQueryCost: actual, throttleStatus: throttleStatus() },
  });

  const echo = async (item: string, location: string, level: number) => {
    if (!options.webhooks) return;
    const body = {
      inventory_item_id: Number(item) <= Number.MAX_SAFE_INTEGER ? Number(item) : item,
      location_id: Number(location),
      available: level,
      updated_at: new Date(now()).toISOString(),
      admin_graphql_api_id: `gid://shopify/InventoryLevel/${location}?inventory_item_id=${item}`,
    };
    // Unsafe ids are written as JSON numbers, as Shopify writes them.
    const raw = JSON.stringify(body).replace(`"inventory_item_id":"${item}"`, `"inventory_item_id":${item}`);
    try {
      const res = await sendShopifyWebhook({
        ...options.webhooks,
        topic: "inventory_levels/update",
        body: raw,
      });
      if (res.ok) stats.webhooksSent++;
      else stats.webhooksFailed++;
    } catch {
      stats.webhooksFailed++;
    }
  };

  /** Validates the input as Shopify does, answering userErrors with the field path. */
  const setQuantities = (input: unknown): UserError[] | ShopifySetEntry => {
    const errors: UserError[] = [];
    const err = (field: (string | number)[], code: string, message: string) =>
      errors.push({ field: ["input", ...field.map(String)], code, message });
    if (!isRecord(input)) return [{ field: ["input"], code: "INVALID", message: "input is required" }];
    if (input.name !== "available" && input.name !== "on_hand")
      err(
        ["name"],
        "INVALID_NAME",
        `The quantity name must be available or on_hand, got ${JSON.stringify(input.name)}`,
      );
    if (typeof input.reason !== "string" || !REASONS.has(input.reason))
      err(["reason"], "INVALID_REASON", `The quantity couldn't be updated because the reason is invalid.`);
    const qs = input.quantities;
    if (!Array.isArray(qs) || qs.length === 0 || qs.length > MAX_QUANTITIES_PER_SET) {
      err(["quantities"], "INVALID_QUANTITIES", `1 to ${MAX_QUANTITIES_PER_SET} quantities`);
      return errors;
    }
    const ignoreCompare = input.ignoreCompareQuantity === true;
    const parsed = qs.map((q, i) => {
      const item =
        isRecord(q) && typeof q.inventoryItemId === "string"
          ? ITEM_GID.exec(q.inventoryItemId)?.[1]
          : undefined;
      const location =
        isRecord(q) && typeof q.locationId === "string" ? LOCATION_GID.exec(q.locationId)?.[1] : undefined;
      const quantity = isRecord(q) ? q.quantity : undefined;
      if (!item)
        err(
          ["quantities", i, "inventoryItemId"],
          "INVALID_INVENTORY_ITEM",
          "The specified inventory item could not be found.",
        );
      if (!location)
        err(
          ["quantities", i, "locationId"],
          "INVALID_LOCATION",
          "The specified location could not be found.",
        );
      if (typeof quantity !== "number" || !Number.isSafeInteger(quantity))
        err(["quantities", i, "quantity"], "INVALID_QUANTITY", "The quantity must be an integer.");
      if (item && location && options.stocked && !options.stocked(item, location))
        err(
          ["quantities", i, "locationId"],
          "ITEM_NOT_STOCKED_AT_LOCATION",
          "The specified inventory item is not stocked at the location.",
        );
      const compare = isRecord(q) ? q.compareQuantity : undefined;
      if (!ignoreCompare && item && location) {
        if (compare === undefined)
          err(
            ["quantities", i, "compareQuantity"],
            "COMPARE_QUANTITY_REQUIRED",
            "compareQuantity is required unless ignoreCompareQuantity is true.",
          );
        else if ((levels.get(key(item, location)) ?? null) !== compare)
          err(
            ["quantities", i, "compareQuantity"],
            "COMPARE_QUANTITY_STALE",
            "The compareQuantity argument no longer matches the persisted quantity.",
          );
      }
      return { inventoryItemId: item ?? "", locationId: location ?? "", quantity: quantity as number };
    });
    if (errors.length > 0) return errors;
    const entry: ShopifySetEntry = {
      at: new Date(now()).toISOString(),
      quantities: parsed.map((q) => {
        const before = levels.get(key(q.inventoryItemId, q.locationId));
        levels.set(key(q.inventoryItemId, q.locationId), q.quantity);
        return { ...q, ...(before === undefined ? {} : { before }) };
      }),
    };
    entries.push(entry);
    for (const q of entry.quantities)
      if (q.before !== q.quantity) void echo(q.inventoryItemId, q.locationId, q.quantity);
    return entry;
  };

  const faults = new FaultInjector(options);
  const app = Fastify({ logger: options.logger ?? false });
  faults.install(app, (_status, _code, message) => ({ errors: message }));
  app.post<{ Params: { version: string } }>("/admin/api/:version/graphql.json", async (request, reply) => {
    if (request.headers["x-shopify-access-token"] !== token)
      return reply
        .code(401)
        .send({ errors: "[API] Invalid API key or access token (unrecognized login or wrong password)" });
    stats.requests++;
    const body = request.body;
    const query = isRecord(body) && typeof body.query === "string" ? body.query : "";
    if (!/\binventorySetQuantities\s*\(/.test(query))
      return { errors: [{ message: "The simulator answers only the inventorySetQuantities mutation" }] };
    refill();
    if (available < cost) {
      stats.throttled++;
      return {
        errors: [
          {
            message: "Throttled",
            extensions: { code: "THROTTLED", documentation: "https://shopify.dev/api/usage/rate-limits" },
          },
        ],
        extensions: extensions(null),
      };
    }
    available -= cost;
    const variables = isRecord(body) && isRecord(body.variables) ? body.variables : {};
    const result = setQuantities(variables.input);
    if (Array.isArray(result)) {
      stats.refused++;
      return {
        data: { inventorySetQuantities: { inventoryAdjustmentGroup: null, userErrors: result } },
        extensions: extensions(cost),
      };
    }
    stats.applied++;
    stats.quantitiesSet += result.quantities.length;
    return {
      data: {
        inventorySetQuantities: {
          inventoryAdjustmentGroup: {
            reason: (variables.input as { reason: string }).reason,
            changes: result.quantities.map((q) => ({
              name: "available",
              delta: q.quantity - (q.before ?? 0),
              quantityAfterChange: null,
              item: { id: `gid://shopify/InventoryItem/${q.inventoryItemId}` },
              location: { id: `gid://shopify/Location/${q.locationId}` },
            })),
          },
          userErrors: [],
        },
      },
      extensions: extensions(cost),
    };
  });

  const controls = simulatorControls(app, faults, {
    entries: () => entries,
    stats: () => ({ ...stats, throttleStatus: throttleStatus() }),
    reset: () => {
      levels.clear();
      entries.length = 0;
      available = max;
      lastRefill = now();
    },
  });
  return {
    ...controls,
    level: (item, location) => levels.get(key(item, location)),
    stats: () => ({ ...stats }),
    ledger: () => entries,
    throttleStatus,
    edit: async (item, location, level) => {
      levels.set(key(item, location), level);
      await echo(item, location, level);
    },
  };
};
