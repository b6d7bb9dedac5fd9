/**
 * Availability to a Shopify shop (issue 11, outbound): every ATP change of a SKU-location the shop
 * sells (the SKU has an inventory item of the shop's system and the location a Shopify location id
 * in master data, see connectors/shopify/shopify-mapping.ts) is set in Shopify with the GraphQL
 * `inventorySetQuantities`.
 *
 * - Coalesced per SKU: changes gather for `coalesceMs`; then one mutation per SKU sets all its changed
 *   locations to their latest ATP (the latest figure wins). While a mutation is in flight, changes keep
 *   gathering, so a burst costs one mutation per SKU, not one per change. A level equal to what
 *   Shopify was last told is not sent again.
 * - Within Shopify's cost-based limit: the bucket of the last response is kept (ShopifyCostBudget) and
 *   a mutation waits until it can be paid for; a THROTTLED answer (the estimate was wrong) waits for the
 *   bucket and sends the same mutation again. Throttling is never a failure and never loses a figure.
 * - Retried with backoff (p-retry) on network errors, 5xx and GraphQL errors; refusals of the input
 *   (`userErrors`, 4xx) are logged and not retried. A SKU whose retries run out goes back to the
 *   queue (newer figures win) and is tried again.
 * - Each shop is a channel (its `system`): with `figureOf` the level sent is the channel's own figure
 *   (issue 14: ATP less the other channels' protected minimums, its buffers, exclusions and quotas,
 *   domain/channel-rules.ts), not the raw ATP. `channelFigureFromStores` computes it from the
 *   position's stream, where its rules and each channel's use are; a figure that cannot be read is
 *   not replaced by the raw ATP (that could oversell the channel): it is logged, and the next change
 *   of the position sends it. Without `figureOf` the raw ATP is sent (a shop without channel rules).
 * - Records what it set (quantity and when it was sent) per SKU-location: the inbound webhook's echo
 *   detection reads it through `lastKnown`. The record is kept in memory; after a restart the first
 *   full push (`pushFromRegionalAtp` sends every position at attach) sets it again.
 */
import pRetry, { AbortError } from "p-retry";
import type {
  ShopifyLastKnown,
  ShopifyLastKnownLookup,
} from "../../connectors/shopify/shopify-inventory-level.ts";
import {
  inventorySetQuantitiesBody,
  MAX_QUANTITIES_PER_SET,
  readSetQuantitiesResponse,
  type SetQuantity,
  type UserError,
} from "../../connectors/shopify/shopify-inventory-set.ts";
import { shopifyItemIdOf, shopifyLocationIdOf } from "../../connectors/shopify/shopify-mapping.ts";
import type { Position } from "../../domain/ids.ts";
import type { MasterData } from "../../domain/master-data.ts";
import { channelAvailabilityOf } from "../../domain/position-channels.ts";
import { createLogger, type Logger } from "../../infra/logging.ts";
import type { RegionStore } from "../audit/position-routes.ts";
import { replayPosition } from "../audit/replay.ts";
import type { AtpReadModel } from "../projectors/atp-read-model.ts";
import type { GlobalAtpReader } from "../projectors/global-atp-reader.ts";
import { ShopifyCostBudget } from "./shopify-cost-budget.ts";

export interface ShopifyPushOptions {
  /** The shop's system id in master data (its location and item codes). */
  readonly system: string;
  readonly masterData: MasterData;
  /** `https://<shop>.myshopify.com/admin/api/2024-07/graphql.json` */
  readonly graphqlUrl: string;
  readonly accessToken: string;
  /** How long changes gather before a flush (default 200 ms). */
  readonly coalesceMs?: number;
  /** Retries of one mutation (default 6), backoff from `minRetryMs` (200) to `maxRetryMs` (10 s). */
  readonly retries?: number;
  readonly minRetryMs?: number;
  readonly maxRetryMs?: number;
  /** Per HTTP call (default 15 s). */
  readonly requestTimeoutMs?: number;
  readonly logger?: Logger;
  readonly now?: () => number;
  /** The shop's channel figure at a position whose ATP changed (see `channelFigureFromStores`). */
  readonly figureOf?: ChannelFigureOf;
}

/** What the shop's channel (`channel`) may sell at `position`, whose ATP is `atp` now. */
export type ChannelFigureOf = (channel: string, position: Position, atp: number) => Promise<number>;

/**
 * The channel's figure from the position's stream (its rules and what each channel used are there):
 * the rules' figure over the stream's ATP; a position without rules, or not in any store, sends `atp`.
 */
export const channelFigureFromStores =
  (
    stores: readonly Pick<RegionStore, "region" | "store">[],
    now: () => string = () => new Date().toISOString(),
  ): ChannelFigureOf =>
  async (channel, position, atp) => {
    const store = stores.find((s) => s.region === position.region);
    if (!store) return atp;
    const r = await replayPosition(store.store, position, { collectEvents: false });
    if (!r?.state.channelRules) return atp;
    return channelAvailabilityOf(r.state, r.atp, channel, now()).quantity;
  };

export interface ShopifyPushStats {
  /** ATP changes heard for SKU-locations the shop sells. */
  changes: number;
  mutations: number;
  quantitiesSet: number;
  /** Responses that said THROTTLED (each was sent again after waiting). */
  throttled: number;
  /** Times a mutation waited for the bucket before it was sent. */
  waitsForBudget: number;
  retries: number;
  /** SKUs whose retries ran out (queued again). */
  requeued: number;
  /** Quantities Shopify refused (userErrors), not retried. */
  refused: number;
}

export interface PushedLevel {
  readonly quantity: number;
  /** When the mutation that set it was sent (ISO). */
  readonly at: string;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const keyOf = (sku: string, location: string) => `${sku}\u0000${location}`;

class ShopifyCallError extends Error {}

export class ShopifyPush {
  readonly stats: ShopifyPushStats = {
    changes: 0,
    mutations: 0,
    quantitiesSet: 0,
    throttled: 0,
    waitsForBudget: 0,
    retries: 0,
    requeued: 0,
    refused: 0,
  };
  private readonly budget: ShopifyCostBudget;
  /** SKU -> location -> latest ATP not yet set in Shopify. */
  private readonly pending = new Map<string, Map<string, number>>();
  private readonly latestAtp = new Map<string, number>();
  private readonly pushedLevels = new Map<string, PushedLevel>();
  private running: Promise<void> | undefined;
  private stopped = false;
  private readonly log: Logger;
  private readonly now: () => number;
  /** Per SKU-location, the latest figure asked for: an older answer arriving later is not sent. */
  private readonly asked = new Map<string, number>();

  constructor(private readonly opts: ShopifyPushOptions) {
    this.now = opts.now ?? Date.now;
    this.budget = new ShopifyCostBudget(this.now);
    this.log = (opts.logger ?? createLogger("shopify-push")).child({ system: opts.system });
  }

  /** Whether the shop sells this SKU at this location (both mapped in master data). */
  sells(sku: string, location: string): boolean {
    const md = this.opts.masterData;
    return (
      shopifyItemIdOf(md, this.opts.system, sku) !== undefined &&
      shopifyLocationIdOf(md, this.opts.system, location) !== undefined
    );
  }

  /** An ATP change; ignored (false) for a SKU-location the shop does not sell. */
  atpChanged(sku: string, location: string, atp: number): boolean {
    if (this.stopped || !this.sells(sku, location)) return false;
    this.stats.changes++;
    this.latestAtp.set(keyOf(sku, location), atp);
    const locations = this.pending.get(sku) ?? new Map<string, number>();
    locations.set(location, atp);
    this.pending.set(sku, locations);
    this.schedule();
    return true;
  }

  /**
   * A position's ATP changed: its level is the channel's figure when `figureOf` is set (read
   * asynchronously, the latest change wins), else the ATP itself.
   */
  positionChanged(position: Position, atp: number): void {
    const figureOf = this.opts.figureOf;
    if (!figureOf) {
      this.atpChanged(position.sku, position.location, atp);
      return;
    }
    if (this.stopped || !this.sells(position.sku, position.location)) return;
    const k = keyOf(position.sku, position.location);
    const n = (this.asked.get(k) ?? 0) + 1;
    this.asked.set(k, n);
    figureOf(this.opts.system, position, atp).then(
      (figure) => {
        if (this.asked.get(k) === n) this.atpChanged(position.sku, position.location, figure);
      },
      (err: unknown) =>
        this.log.warn(
          { err, sku: position.sku, location: position.location, region: position.region },
          "channel figure not read; the level is not sent (the next change sends it)",
        ),
    );
  }

  /** Sets the level again even if Shopify was told it (after an edit in Shopify that was not applied). */
  reassert(sku: string, location: string): void {
    this.pushedLevels.delete(keyOf(sku, location));
    const atp = this.latestAtp.get(keyOf(sku, location));
    if (atp !== undefined) this.atpChanged(sku, location, atp);
  }

  pushed(sku: string, location: string): PushedLevel | undefined {
    return this.pushedLevels.get(keyOf(sku, location));
  }

  /** For the inbound translator: what was set in Shopify and the ATP last heard. */
  readonly lastKnown: ShopifyLastKnownLookup = ({ sku, location }): ShopifyLastKnown => {
    const pushed = this.pushedLevels.get(keyOf(sku, location));
    const atp = this.latestAtp.get(keyOf(sku, location));
    return { ...(pushed ? { pushed } : {}), ...(atp !== undefined ? { atp } : {}) };
  };

  /** Resolves when nothing is pending or in flight. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  /** Stops taking changes; what is pending is still sent (with its retries), what then fails is dropped. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.idle();
  }

  private schedule(): void {
    if (this.running) return;
    this.running = (async () => {
      await sleep(this.opts.coalesceMs ?? 200);
      for (let next = this.takeNext(); next; next = this.takeNext()) await this.pushSku(next[0], next[1]);
    })()
      .catch((err: unknown) => this.log.error({ err }, "Shopify push loop failed"))
      .finally(() => {
        this.running = undefined;
        if (this.pending.size > 0) this.schedule();
      });
  }

  private takeNext(): [string, Map<string, number>] | undefined {
    const first = this.pending.entries().next();
    if (first.done) return undefined;
    this.pending.delete(first.value[0]);
    return first.value;
  }

  private async pushSku(sku: string, locations: Map<string, number>): Promise<void> {
    const md = this.opts.masterData;
    const itemId = shopifyItemIdOf(md, this.opts.system, sku);
    if (itemId === undefined) return;
    const changed: { location: string; set: SetQuantity }[] = [];
    for (const [location, atp] of locations) {
      const locationId = shopifyLocationIdOf(md, this.opts.system, location);
      if (locationId === undefined || this.pushedLevels.get(keyOf(sku, location))?.quantity === atp) continue;
      changed.push({ location, set: { inventoryItemId: itemId, locationId, quantity: atp } });
    }
    for (let i = 0; i < changed.length; i += MAX_QUANTITIES_PER_SET) {
      const chunk = changed.slice(i, i + MAX_QUANTITIES_PER_SET);
      const previous = chunk.map((c) => this.pushedLevels.get(keyOf(sku, c.location)));
      try {
        const refused = await this.send(sku, chunk);
        chunk.forEach((c, j) => {
          if (!refused.has(j)) return;
          // Not set in Shopify: forget the record so that the next change is sent.
          const before = previous[j];
          if (before) this.pushedLevels.set(keyOf(sku, c.location), before);
          else this.pushedLevels.delete(keyOf(sku, c.location));
        });
      } catch (err) {
        chunk.forEach((c, j) => {
          const before = previous[j];
          if (before) this.pushedLevels.set(keyOf(sku, c.location), before);
          else this.pushedLevels.delete(keyOf(sku, c.location));
        });
        if (this.stopped) {
          // Stopping: not kept (the next start sends every position at attach).
          this.log.error({ err, sku }, "Shopify push failed after retries while stopping; not sent");
          continue;
        }
        this.stats.requeued++;
        this.log.error({ err, sku }, "Shopify push failed after retries; queued again");
        chunk.forEach((c) => {
          const again = this.pending.get(sku) ?? new Map<string, number>();
          if (!again.has(c.location)) again.set(c.location, c.set.quantity);
          this.pending.set(sku, again);
        });
        await sleep(this.opts.maxRetryMs ?? 10_000);
      }
    }
  }

  /** Sends one mutation until it is answered; returns the indexes Shopify refused. */
  private async send(
    sku: string,
    chunk: readonly { location: string; set: SetQuantity }[],
  ): Promise<Set<number>> {
    const body = JSON.stringify(
      inventorySetQuantitiesBody(
        chunk.map((c) => c.set),
        `stockline://atp/${sku}`,
      ),
    );
    return pRetry(
      async () => {
        for (;;) {
          const wait = this.budget.waitMsFor();
          if (wait > 0) {
            this.stats.waitsForBudget++;
            await sleep(wait);
          }
          const sentAt = new Date(this.now()).toISOString();
          // Recorded before the answer: the echo webhook may arrive before the HTTP response does.
          for (const c of chunk)
            this.pushedLevels.set(keyOf(sku, c.location), { quantity: c.set.quantity, at: sentAt });
          this.budget.spend();
          const res = await fetch(this.opts.graphqlUrl, {
            method: "POST",
            headers: { "content-type": "application/json", "x-shopify-access-token": this.opts.accessToken },
            body,
            signal: AbortSignal.timeout(this.opts.requestTimeoutMs ?? 15_000),
          });
          const text = await res.text();
          if (res.status >= 400 && res.status < 500 && res.status !== 429)
            throw new AbortError(
              `Shopify answered ${res.status} to inventorySetQuantities: ${text.slice(0, 300)}`,
            );
          if (!res.ok) throw new ShopifyCallError(`Shopify answered ${res.status}: ${text.slice(0, 300)}`);
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            throw new ShopifyCallError(`Shopify answered ${res.status} with a body that is not JSON`);
          }
          const result = readSetQuantitiesResponse(json);
          if (result.cost) this.budget.observe(result.cost);
          if (result.kind === "throttled") {
            this.stats.throttled++;
            if (!result.cost) await sleep(1000);
            continue;
          }
          if (result.kind === "failed")
            throw new ShopifyCallError(`inventorySetQuantities: ${result.message}`);
          this.stats.mutations++;
          if (result.kind === "applied") {
            this.stats.quantitiesSet += chunk.length;
            return new Set<number>();
          }
          return this.refusals(sku, chunk, result.userErrors);
        }
      },
      {
        retries: this.opts.retries ?? 6,
        minTimeout: this.opts.minRetryMs ?? 200,
        maxTimeout: this.opts.maxRetryMs ?? 10_000,
        randomize: true,
        onFailedAttempt: (err) => {
          this.stats.retries++;
          this.log.warn({ sku, attempt: err.attemptNumber, err: err.message }, "Shopify push attempt failed");
        },
      },
    );
  }

  /** Shopify applies all or nothing: every quantity of a refused mutation is unset (and logged). */
  private refusals(
    sku: string,
    chunk: readonly { location: string; set: SetQuantity }[],
    errors: readonly UserError[],
  ): Set<number> {
    this.stats.refused += chunk.length;
    this.log.error(
      { sku, userErrors: errors, quantities: chunk.map((c) => c.set) },
      "Shopify refused inventorySetQuantities; not retried",
    );
    return new Set(chunk.map((_, i) => i));
  }
}

/** Feeds a region's ATP read model to the push: every position present now, then every change. */
export const pushFromRegionalAtp = (
  push: ShopifyPush,
  model: Pick<AtpReadModel, "onChange" | "columns" | "availability" | "region">,
): (() => void) => {
  const region = model.region;
  const stop = model.onChange((c) =>
    push.positionChanged({ region, location: c.location, sku: c.sku }, c.position?.atp ?? 0),
  );
  for (const sku of model.columns.skus())
    for (const p of model.availability(sku).locations)
      push.positionChanged({ region, location: p.location, sku }, p.atp);
  return stop;
};

/** Feeds global ATP (`atp_global`) to the push: on a SKU's change, all its locations (unchanged ones are not sent). */
export const pushFromGlobalAtp = (
  push: ShopifyPush,
  reader: Pick<GlobalAtpReader, "onChange" | "getGlobalAvailability">,
): (() => void) =>
  reader.onChange((sku) => {
    for (const l of Object.values(reader.getGlobalAvailability(sku)?.locations ?? {}))
      push.positionChanged({ region: l.region, location: l.location, sku }, l.atp);
  });
