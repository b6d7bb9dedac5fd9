/**
 * Global ATP for a process that does not project it: a watch of the hub bucket `atp_global` that the
 * global projector (`stockline part global`) keeps, with the freshness it stores there
 * (`publishFreshness`). The API of `stockline up` reads availability this way, so exactly one
 * process consumes the hub's mirrors (durable `global-atp`) and writes the bucket, and any number of
 * API processes can serve from it.
 *
 * When the projector's freshness report is older than the staleness threshold (the projector is down
 * or cut off from the hub), every region is reported stale: figures may be behind.
 */
import { jetstream, StorageType } from "@nats-io/jetstream";
import { type KV, Kvm } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "pino";
import { GLOBAL_ATP_BUCKET } from "../../projections/atp-keys.ts";
import {
  type GlobalSkuAtp,
  type GlobalSkuView,
  type RegionFreshness,
  viewOfSku,
} from "../../projections/global-atp.projection.ts";
import {
  GLOBAL_FRESHNESS_KEY,
  type GlobalAvailability,
  type GlobalQueryOptions,
  type PublishedFreshness,
} from "./global-projector.ts";

export interface GlobalAtpReaderOptions {
  /** A connection to the hub. */
  readonly nc: NatsConnection;
  readonly hubDomain: string;
  readonly regions: readonly string[];
  /** A freshness report older than this makes every region stale (default 15 s). */
  readonly staleAfterMs?: number;
  readonly logger: Logger;
}

const td = new TextDecoder();

export class GlobalAtpReader {
  private readonly skus = new Map<string, GlobalSkuAtp>();
  private readonly listeners = new Set<(sku: string) => void>();
  private readonly staleAfterMs: number;
  private report: PublishedFreshness | undefined;
  private watcher: { stop(): void } | undefined;
  private watching: Promise<void> | undefined;
  private kv: KV | undefined;

  constructor(private readonly opts: GlobalAtpReaderOptions) {
    this.staleAfterMs = opts.staleAfterMs ?? 15_000;
  }

  /** Opens the bucket (created with the projector's settings if it is not there yet) and loads it. */
  async start(): Promise<void> {
    const js = jetstream(this.opts.nc, { domain: this.opts.hubDomain });
    this.kv = await new Kvm(js).create(GLOBAL_ATP_BUCKET, { history: 1, storage: StorageType.File });
    const iter = await this.kv.watch();
    this.watcher = iter;
    let loaded: () => void = () => {};
    const initial = new Promise<void>((r) => {
      loaded = r;
    });
    const lastSeq = (await this.kv.status()).streamInfo.state.last_seq;
    if (lastSeq === 0) loaded();
    this.watching = (async () => {
      for await (const e of iter) {
        if (e.key === GLOBAL_FRESHNESS_KEY) {
          if (e.length > 0) this.report = JSON.parse(td.decode(e.value)) as PublishedFreshness;
        } else if (e.operation === "PUT" && e.length > 0) {
          const v = JSON.parse(td.decode(e.value)) as GlobalSkuView;
          this.skus.set(v.sku, { sku: v.sku, locations: v.locations });
          for (const l of this.listeners) l(v.sku);
        }
        if (e.revision >= lastSeq || e.delta === 0) loaded();
      }
    })().catch((err: unknown) => this.opts.logger.warn({ err }, "atp_global watch ended"));
    await initial;
    this.opts.logger.info({ skus: this.skus.size }, "global ATP read from atp_global");
  }

  async stop(): Promise<void> {
    this.watcher?.stop();
    await this.watching;
  }

  getGlobalAvailability(sku: string, opts: GlobalQueryOptions = {}): GlobalAvailability | undefined {
    const state = this.skus.get(sku);
    return state ? this.withFreshness(state, opts.regions) : undefined;
  }

  query(skus: readonly string[], opts: GlobalQueryOptions = {}): GlobalAvailability[] {
    return skus.map((sku) => this.withFreshness(this.skus.get(sku) ?? { sku, locations: {} }, opts.regions));
  }

  /** Each region's freshness as the projector last reported it, aged to `now`. */
  freshness(now = Date.now()): RegionFreshness[] {
    const report = this.report;
    const silentMs = report ? now - report.at : undefined;
    return this.opts.regions.map((region): RegionFreshness => {
      const r = report?.regions.find((f) => f.region === region);
      if (!r || silentMs === undefined || silentMs > this.staleAfterMs)
        return {
          region,
          link: "unknown",
          stale: true,
          reasons: [
            silentMs === undefined
              ? "no freshness report from the global projector yet"
              : `the global projector has not reported for ${Math.round(silentMs / 1000)} s`,
          ],
          eventsApplied: r?.eventsApplied ?? 0,
        };
      const stalenessMs = r.stalenessMs === undefined ? undefined : r.stalenessMs + silentMs;
      const stale = stalenessMs === undefined || stalenessMs > this.staleAfterMs;
      // Aged past the threshold since the report: say so (the report itself had no reason yet).
      const reasons =
        stale && r.reasons.length === 0
          ? [`the global projector last reported ${Math.round(silentMs / 1000)} s ago`]
          : r.reasons;
      return { ...r, ...(stalenessMs !== undefined ? { stalenessMs } : {}), stale, reasons };
    });
  }

  get skuCount(): number {
    return this.skus.size;
  }

  onChange(listener: (sku: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private withFreshness(state: GlobalSkuAtp, regions?: readonly string[]): GlobalAvailability {
    const wanted = regions ? new Set(regions) : undefined;
    const view = viewOfSku(state, wanted);
    const freshness = this.freshness().filter((f) => !wanted || wanted.has(f.region));
    const asOfs = freshness.map((f) => f.asOf);
    const asOf = asOfs.some((a) => a === undefined)
      ? undefined
      : asOfs.reduce<string | undefined>((min, a) => (min === undefined || a! < min ? a : min), undefined);
    return { ...view, freshness, stale: freshness.some((f) => f.stale), ...(asOf ? { asOf } : {}) };
  }
}
