/**
 * Shopify's cost-based rate limit seen from the client: a leaky bucket of `maximumAvailable` points
 * restored at `restoreRate` per second, reported after every call in `extensions.cost.throttleStatus`.
 * The budget keeps the last report, estimates what has been restored since, and makes a caller wait
 * until the bucket can pay for its next call, so calls are not sent to be throttled. Before the first
 * report nothing is known and the first call goes out.
 */
import type { QueryCost } from "../../connectors/shopify/shopify-inventory-set.ts";

/** Headroom against the rounding of `currentlyAvailable` and timer slack. */
const MARGIN_MS = 25;

export class ShopifyCostBudget {
  private status: { available: number; max: number; restoreRate: number; at: number } | undefined;
  /** What the next call is expected to cost: the last call's actual cost, else its requested cost. */
  expectedCost = 10;

  constructor(private readonly now: () => number = Date.now) {}

  /** Takes the bucket from a response. */
  observe(cost: QueryCost): void {
    const t = cost.throttleStatus;
    this.status = {
      available: t.currentlyAvailable,
      max: t.maximumAvailable,
      restoreRate: t.restoreRate,
      at: this.now(),
    };
    this.expectedCost = Math.max(cost.requestedQueryCost, cost.actualQueryCost ?? 0);
  }

  /** Points estimated available now. */
  estimate(): number | undefined {
    const s = this.status;
    if (!s) return undefined;
    return Math.min(s.max, s.available + ((this.now() - s.at) / 1000) * s.restoreRate);
  }

  /** Milliseconds until `cost` points are there (0 when they are, or nothing is known). */
  waitMsFor(cost = this.expectedCost): number {
    const s = this.status;
    const available = this.estimate();
    if (!s || available === undefined || available >= cost) return 0;
    if (s.restoreRate <= 0) return 1000;
    return Math.ceil(((cost - available) / s.restoreRate) * 1000) + MARGIN_MS;
  }

  /** Counts a call sent (until its response reports the bucket). */
  spend(cost = this.expectedCost): void {
    const available = this.estimate();
    if (this.status && available !== undefined)
      this.status = { ...this.status, available: available - cost, at: this.now() };
  }
}
