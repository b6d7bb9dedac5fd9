/**
 * Dynamics 365 Inventory Visibility target: a canonical event becomes an on-hand change event
 * (`quantities.<dataSource>.<measure>` = the event's signed effect) whose `id` is the event's key,
 * the service's own idempotency key; changes go out in bulk (`/onhand/bulk`). Balances are read
 * with an index query per site and location (`balanceMeasure`, default `iv.onhand`).
 */
import type { CanonicalEvent } from "../../domain/canonical-event.ts";
import { targetStockEffect } from "../../projections/reconciliation.ts";
import {
  type D365TargetConfig,
  errorText,
  type ItemResult,
  requestJson,
  type TargetConnector,
  TargetFailedError,
  type Transform,
} from "./target-connector.ts";

export interface D365OnHandChange {
  id: string;
  organizationId: string;
  productId: string;
  dimensions: Record<string, string>;
  quantities: Record<string, Record<string, number>>;
}

export const d365OnHandChangeFor = (
  cfg: D365TargetConfig,
  event: CanonicalEvent,
  key: string,
): Transform<D365OnHandChange> => {
  const effect = targetStockEffect(event);
  if (effect === 0) return { kind: "skip", reason: `${event.type} moves no physical stock` };
  const loc = cfg.locations[event.position.location];
  if (!loc)
    return {
      kind: "reject",
      reason: `location ${JSON.stringify(event.position.location)} has no site/location mapping for ${cfg.id}`,
    };
  const dataSource = cfg.dataSource ?? "fno";
  const measure = cfg.measure ?? "availphysical";
  const dimensions: Record<string, string> = { SiteId: loc.siteId, LocationId: loc.locationId };
  if (event.lot) dimensions.BatchId = event.lot;
  return {
    kind: "post",
    payload: {
      id: key,
      organizationId: cfg.organizationId,
      productId: event.position.sku,
      dimensions,
      quantities: { [dataSource]: { [measure]: effect } },
    },
    summary: `${dataSource}.${measure} ${effect > 0 ? "+" : ""}${effect} ${event.position.sku} ${loc.siteId}/${loc.locationId}`,
  };
};

export const createD365Connector = (cfg: D365TargetConfig): TargetConnector<D365OnHandChange> => {
  const timeoutMs = cfg.timeoutMs ?? 10_000;
  const env = `${cfg.baseUrl.replace(/\/$/, "")}/api/environment/${encodeURIComponent(cfg.environmentId)}`;
  const [balanceSource = "iv", balanceMeasure = "onhand"] = (cfg.balanceMeasure ?? "iv.onhand")
    .toLowerCase()
    .split(".");
  return {
    id: cfg.id,
    kind: "d365-inventory-visibility",
    maxBatch: cfg.maxBatch ?? 50,
    locations: Object.keys(cfg.locations),
    transform: (event, key) => d365OnHandChangeFor(cfg, event, key),
    async post(items) {
      const res = await requestJson(cfg.id, `${env}/onhand/bulk`, {
        method: "POST",
        body: items.map((i) => i.payload),
        timeoutMs,
      });
      if (res.status !== 200 || !Array.isArray(res.body)) {
        // A refusal of the whole request (malformed bulk): every item carries the answer.
        const error = `${res.status} ${errorText(res.body)}`;
        return items.map((): ItemResult => ({ ok: false, status: res.status, error }));
      }
      const results = res.body as {
        id: string | null;
        processingStatus: string;
        message: string;
        statusCode: number;
      }[];
      if (results.length !== items.length)
        throw new TargetFailedError(
          cfg.id,
          `bulk answered ${results.length} results for ${items.length} changes`,
        );
      const duplicateAll = res.headers.get("x-sim-duplicate") === "true";
      return results.map((r, i): ItemResult => {
        if (r.processingStatus === "success")
          return { ok: true, documentId: r.id ?? items[i]?.key ?? "?", duplicate: duplicateAll };
        return { ok: false, status: r.statusCode, error: `${r.statusCode} ${r.message}` };
      });
    },
    async readBalances(location) {
      const loc = cfg.locations[location];
      const out = new Map<string, number>();
      if (!loc) return out;
      const res = await requestJson(cfg.id, `${env}/onhand/indexquery`, {
        method: "POST",
        body: {
          filters: {
            organizationId: [cfg.organizationId],
            SiteId: [loc.siteId],
            LocationId: [loc.locationId],
          },
          groupByValues: [],
          returnNegative: true,
        },
        timeoutMs,
      });
      if (res.status !== 200 || !Array.isArray(res.body))
        throw new Error(`${cfg.id} index query: ${res.status} ${errorText(res.body)}`);
      for (const row of res.body as {
        productId: string;
        quantities: Record<string, Record<string, number>>;
      }[]) {
        const q = row.quantities[balanceSource]?.[balanceMeasure] ?? 0;
        out.set(row.productId, (out.get(row.productId) ?? 0) + q);
      }
      return out;
    },
  };
};
