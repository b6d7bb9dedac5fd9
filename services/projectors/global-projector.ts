/**
 * The global projector, on the hub (JetStream domain `hub`): ensures a mirror of each region's
 * `INV_EVT_<R>` on the hub, consumes each mirror with a durable consumer, and keeps global ATP per SKU
 * in memory (for the API) and in the hub bucket `atp_global` (one entry per SKU, for other readers
 * and for its own restart). A message is acknowledged once its SKU's entry is stored; on start the
 * bucket is loaded first, so redelivered events are no-ops (highest revision wins).
 *
 * Freshness per region comes from a probe every `probeIntervalMs`: the hub asks the region's
 * JetStream API over the leaf link (the path the mirror uses; a failure means the link is down), reads
 * the mirror's `lag` and `active` from the hub stream info and the consumer's pending count, and the
 * node's own report from the region's KV `node_status_<r>` (its store head against what its relay
 * has published): a region whose relay is behind is stale even when the mirror is current.
 */
import {
  type JetStreamManager,
  type JsMsg,
  jetstream,
  jetstreamManager,
  StorageType,
} from "@nats-io/jetstream";
import { type KV, Kvm } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "pino";
import type { CanonicalEvent } from "../../domain/canonical-event.ts";
import { createLogger, LogLimiter } from "../../infra/logging.ts";
import { gauge } from "../../infra/metrics.ts";
import { giveBack } from "../../infra/nats/redelivery.ts";
import { ensureHubMirrors, type HubMirrorOptions } from "../../infra/nats/streams.ts";
import { evtStreamName, nodeStatusBucketName } from "../../infra/nats/subjects.ts";
import { HUB_DOMAIN } from "../../infra/nats/topology.ts";
import { GLOBAL_ATP_BUCKET, globalAtpKey } from "../../projections/atp-keys.ts";
import {
  applyToGlobalAtp,
  freshnessOf,
  type GlobalSkuAtp,
  type GlobalSkuView,
  initialRegionFreshness,
  normalizedLocationAtp,
  noteRegionEvent,
  noteRegionSeq,
  observeRegion,
  type RegionFreshness,
  type RegionFreshnessState,
  type RegionLinkState,
  type RegionRelayReport,
  viewOfSku,
} from "../../projections/global-atp.projection.ts";
import { DeadLetterPublisher } from "../regional-node/dead-letters.ts";
import { NODE_STATUS_KEY, type NodeStatusReport } from "../regional-node/node-status.ts";
import {
  type ConsumerLoop,
  consumeDurable,
  decodeEventMessage,
  giveBackPolicy,
  type RedeliveryOptions,
} from "./consumer-loop.ts";
import { observeProjectionLatency, projectionMetrics } from "./projection-metrics.ts";

export interface GlobalProjectorOptions {
  /** A connection to the hub. */
  nc: NatsConnection;
  regions: readonly string[];
  /** The hub's JetStream domain (default `hub`). */
  hubDomain?: string;
  durableName?: string;
  /** A region out of sync for longer than this is stale (default 15 s). */
  staleAfterMs?: number;
  probeIntervalMs?: number;
  probeTimeoutMs?: number;
  mirror?: HubMirrorOptions;
  batchMax?: number;
  logger?: Logger;
  /**
   * Also store each probe's freshness in `atp_global` under `GLOBAL_FRESHNESS_KEY`, for readers of the
   * bucket in other processes (services/projectors/global-atp-reader.ts). Default false.
   */
  publishFreshness?: boolean;
}

/** The `atp_global` key of the freshness report (`=` + non-hex never encodes a SKU: atp-keys.ts). */
export const GLOBAL_FRESHNESS_KEY = "=freshness";

/** What `publishFreshness` stores: when, the threshold, and each region's freshness then. */
export interface PublishedFreshness {
  readonly at: number;
  readonly staleAfterMs: number;
  readonly regions: readonly RegionFreshness[];
}

export interface GlobalAvailability extends GlobalSkuView {
  /** Freshness of every region asked about (all configured regions unless filtered). */
  readonly freshness: readonly RegionFreshness[];
  /** True when any of those regions is stale: the figures may be behind. */
  readonly stale: boolean;
  /** The oldest time as of which every region's figures are known complete (undefined: never in sync). */
  readonly asOf?: string;
}

export interface GlobalQueryOptions {
  /** Only these regions (default: all). */
  readonly regions?: readonly string[];
}

const te = new TextEncoder();
const td = new TextDecoder();
const NANOS_PER_MS = 1_000_000;
const STATUS_RECHECK_MS = 5_000;

const metrics = {
  ...projectionMetrics,
  mirrorLag: gauge("stockline_hub_mirror_lag", "Messages the hub mirror of a region is behind", ["region"]),
  linkUp: gauge("stockline_hub_link_up", "1 when the hub reaches the region's JetStream", ["region"]),
  relayLag: gauge(
    "stockline_hub_relay_lag_events",
    "Events committed in the region's store that its relay has not published (the node's report)",
    ["region"],
  ),
  staleness: gauge(
    "stockline_global_staleness_seconds",
    "Time since a region was last in sync with the hub",
    ["region"],
  ),
};

/** Serialises KV writes per key: each put stores the state current when it starts, so the last write wins. */
class KeyedWriter {
  private readonly chains = new Map<string, Promise<void>>();
  constructor(private readonly write: (key: string) => Promise<void>) {}

  put(key: string): Promise<void> {
    const prev = this.chains.get(key) ?? Promise.resolve();
    const next = prev.catch(() => {}).then(() => this.write(key));
    this.chains.set(key, next);
    void next
      .catch(() => {})
      .finally(() => {
        if (this.chains.get(key) === next) this.chains.delete(key);
      });
    return next;
  }
}

export class GlobalProjector {
  readonly regions: readonly string[];
  private readonly log: Logger;
  /** Errors of one kind are counted, not each logged. */
  private readonly limited: LogLimiter;
  private readonly deadLetterDesks = new Map<string, DeadLetterPublisher>();
  private readonly hubDomain: string;
  private readonly durable: string;
  private readonly staleAfterMs: number;
  private readonly skus = new Map<string, GlobalSkuAtp>();
  private readonly fresh = new Map<string, RegionFreshnessState>();
  private readonly listeners = new Set<(sku: string) => void>();
  private readonly loops: ConsumerLoop[] = [];
  private readonly regionJsm = new Map<string, JetStreamManager>();
  private readonly statusKv = new Map<string, KV>();
  /** Regions whose status bucket was not there, until when (ms) not to ask again. */
  private readonly statusMissing = new Map<string, number>();
  private kv: KV | undefined;
  private hubJsm: JetStreamManager | undefined;
  /** Like `hubJsm`, with the probe's short timeout (a probe must not stall while the hub is away). */
  private probeJsm: JetStreamManager | undefined;
  private writer: KeyedWriter | undefined;
  private probeTimer: NodeJS.Timeout | undefined;
  private probing: Promise<void> | undefined;
  private running = false;
  readonly stats = { applied: 0, duplicates: 0, skippedRevisions: 0, rejected: 0 };

  constructor(private readonly opts: GlobalProjectorOptions) {
    this.regions = [...opts.regions];
    this.hubDomain = opts.hubDomain ?? HUB_DOMAIN;
    this.durable = opts.durableName ?? "global-atp";
    this.staleAfterMs = opts.staleAfterMs ?? 15_000;
    this.log = (opts.logger ?? createLogger("global-projector")).child({ hub: this.hubDomain });
    this.limited = new LogLimiter(this.log);
    for (const r of this.regions) this.fresh.set(r, initialRegionFreshness(r));
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    const nc = this.opts.nc;
    const js = jetstream(nc, { domain: this.hubDomain });
    this.hubJsm = await jetstreamManager(nc, { domain: this.hubDomain });
    this.probeJsm = await jetstreamManager(nc, {
      domain: this.hubDomain,
      timeout: this.opts.probeTimeoutMs ?? 1_000,
      checkAPI: false,
    });
    await ensureHubMirrors(this.hubJsm, this.regions, this.opts.mirror);
    this.kv = await new Kvm(js).create(GLOBAL_ATP_BUCKET, { history: 1, storage: StorageType.File });
    this.writer = new KeyedWriter(async (sku) => {
      const state = this.skus.get(sku);
      if (state) await this.kv!.put(globalAtpKey(sku), te.encode(JSON.stringify(viewOfSku(state))));
    });
    await this.load();
    for (const region of this.regions) {
      const stream = evtStreamName(region);
      this.loops.push(
        await consumeDurable(js, this.hubJsm, stream, this.durable, (batch) => this.handle(region, batch), {
          log: this.log.child({ region }),
          batchMax: this.opts.batchMax,
          redelivery: this.redeliveryOf(region),
        }),
      );
    }
    const every = this.opts.probeIntervalMs ?? 1_000;
    const tick = () => {
      this.probing = this.probe()
        .catch((err) => this.log.warn({ err }, "freshness probe failed"))
        .finally(() => {
          if (this.running) this.probeTimer = setTimeout(tick, every);
        });
    };
    tick();
    this.log.info({ regions: this.regions, skus: this.skus.size }, "global projector started");
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    clearTimeout(this.probeTimer);
    await Promise.all(this.loops.splice(0).map((l) => l.stop()));
    await this.probing;
    this.limited.stop();
    this.log.info(this.stats, "global projector stopped");
  }

  /** Global availability of one SKU, `undefined` if no region ever had an event for it. */
  getGlobalAvailability(sku: string, opts: GlobalQueryOptions = {}): GlobalAvailability | undefined {
    const state = this.skus.get(sku);
    if (!state) return undefined;
    return this.withFreshness(state, opts.regions);
  }

  /** Many SKUs at once; SKUs nobody has heard of come back with zero totals and no locations. */
  query(skus: readonly string[], opts: GlobalQueryOptions = {}): GlobalAvailability[] {
    return skus.map((sku) => this.withFreshness(this.skus.get(sku) ?? { sku, locations: {} }, opts.regions));
  }

  /** Freshness of every region now. */
  freshness(now = Date.now()): RegionFreshness[] {
    return this.regions.map((r) => freshnessOf(this.fresh.get(r)!, now, this.staleAfterMs));
  }

  /** SKUs currently known. */
  get skuCount(): number {
    return this.skus.size;
  }

  /** Called with the SKU after each change of its global figures (for caches and live views). */
  onChange(listener: (sku: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Runs a freshness probe now (normally on a timer). */
  async probeNow(): Promise<void> {
    await this.probe();
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

  private async load(): Promise<void> {
    const startedAt = Date.now();
    const lastSeq = (await this.kv!.status()).streamInfo.state.last_seq;
    if (lastSeq > 0) {
      // One pass over the bucket's current values (a watch delivers the last value of every key in
      // stream order), not a round trip per key: a restart with 100k SKUs must not take minutes.
      const iter = await this.kv!.watch();
      for await (const e of iter) {
        if (e.operation === "PUT" && e.length > 0 && e.key !== GLOBAL_FRESHNESS_KEY) {
          const v = JSON.parse(td.decode(e.value)) as GlobalSkuView;
          const locations = Object.fromEntries(
            Object.entries(v.locations).map(([k, l]) => [k, normalizedLocationAtp(l)]),
          );
          this.skus.set(v.sku, { sku: v.sku, locations });
        }
        // `delta` 0: nothing more was pending when this one was sent (the tail may have aged out).
        if (e.revision >= lastSeq || e.delta === 0) break;
      }
      iter.stop();
    }
    this.log.info({ skus: this.skus.size, ms: Date.now() - startedAt }, "global ATP loaded from KV");
  }

  private async handle(region: string, batch: JsMsg[]): Promise<void> {
    const labels = { projector: "global", region };
    const touched = new Set<string>();
    const done: JsMsg[] = [];
    const appliedTimes: number[] = [];
    for (const m of batch) {
      metrics.pending.set(labels, m.info.pending);
      let event: CanonicalEvent;
      try {
        event = decodeEventMessage(m);
      } catch (err) {
        this.stats.rejected++;
        metrics.events.inc({ ...labels, result: "rejected" });
        // The region's projector dead-letters the same event from INV_EVT_<R> (one dead letter per
        // bad event, in the region that holds it); the hub only skips its copy.
        this.limited.error(
          `undecodable ${region}`,
          { err, region, subject: m.subject, seq: m.seq },
          "undecodable mirrored event skipped (dead-lettered by the region's projector)",
        );
        // No reason text: nats-server 2.9 does not parse `+TERM <reason>` and would leave it pending.
        m.term();
        this.fresh.set(region, noteRegionSeq(this.fresh.get(region)!, m.seq));
        continue;
      }
      let r: ReturnType<typeof applyToGlobalAtp>;
      try {
        r = applyToGlobalAtp(this.skus.get(event.position.sku), event);
      } catch (err) {
        // This event's own failure: the rest of the batch goes on; it comes back (bounded).
        this.limited.error(
          `not applied ${region}`,
          { err, region, seq: m.seq },
          "event not applied; will be redelivered",
        );
        await giveBack(m, (err as Error)?.message ?? String(err), giveBackPolicy(this.redeliveryOf(region)));
        continue;
      }
      if (r.kind === "applied") {
        this.skus.set(event.position.sku, r.sku);
        touched.add(event.position.sku);
        this.stats.applied++;
        metrics.events.inc({ ...labels, result: "applied" });
        appliedTimes.push(Date.parse(event.recordedTime));
        if (r.skipped > 0) {
          // Harmless for the figures (balances are absolute), but it means the origin stream lost events.
          this.stats.skippedRevisions += r.skipped;
          metrics.events.inc({ ...labels, result: "skipped" }, r.skipped);
          this.log.warn(
            {
              region,
              location: event.position.location,
              sku: event.position.sku,
              revision: event.revision,
              skipped: r.skipped,
            },
            "revisions missing from the mirrored stream",
          );
        }
      } else {
        this.stats.duplicates++;
        metrics.events.inc({ ...labels, result: "duplicate" });
      }
      this.fresh.set(region, noteRegionEvent(this.fresh.get(region)!, event, Date.now(), m.seq));
      done.push(m);
    }
    for (const sku of touched) for (const l of this.listeners) l(sku);
    await Promise.all([...touched].map((sku) => this.writer!.put(sku)));
    observeProjectionLatency(labels, appliedTimes);
    for (const m of done) m.ack();
  }

  /**
   * Bounded redelivery of a region's mirrored events: one still not applied at its last delivery is
   * dead-lettered in the region's own `INV_DLQ_<R>` (over the leaf link) and let go; the SKU's next
   * event carries its absolute balances anyway.
   */
  private redeliveryOf(region: string): RedeliveryOptions {
    return {
      onExhausted: async (m, lastError, deliveries) => {
        let dlq = this.deadLetterDesks.get(region);
        if (!dlq) {
          dlq = new DeadLetterPublisher(jetstream(this.opts.nc, { domain: region }), region, this.log);
          this.deadLetterDesks.set(region, dlq);
        }
        const dl = dlq.build({
          reason: "redeliveryExhausted",
          code: "notProjected",
          message: `event ${evtStreamName(region)}#${m.seq} not applied to global ATP on the hub after ${deliveries} deliveries; last error: ${lastError}`,
          details: { deliveries, lastError, projector: `hub:${this.durable}` },
          payload: m.data,
          intake: { via: "jetstream", subject: m.subject, streamSequence: m.seq },
        });
        try {
          await dlq.send(dl, `exhausted:hub:${this.durable}:${evtStreamName(region)}:${m.seq}`);
          return true;
        } catch (err) {
          this.limited.error(
            `exhausted ${region}`,
            { err, region, seq: m.seq },
            "exhausted event: dead letter not stored",
          );
          return false;
        }
      },
    };
  }

  private async linkOf(region: string, timeoutMs: number): Promise<RegionLinkState> {
    try {
      let jsm = this.regionJsm.get(region);
      if (!jsm) {
        jsm = await jetstreamManager(this.opts.nc, { domain: region, timeout: timeoutMs });
        this.regionJsm.set(region, jsm);
        return "up";
      }
      await jsm.getAccountInfo();
      return "up";
    } catch {
      return "down";
    }
  }

  /** The region's node's report of its store head and relay, undefined when it cannot be read. */
  private async relayReportOf(region: string, timeoutMs: number): Promise<RegionRelayReport | undefined> {
    try {
      let kv = this.statusKv.get(region);
      if (!kv) {
        // A region without a reporting node (or unreachable) is asked again only now and then.
        if ((this.statusMissing.get(region) ?? 0) > Date.now()) return undefined;
        this.statusMissing.set(region, Date.now() + STATUS_RECHECK_MS);
        kv = await new Kvm(jetstream(this.opts.nc, { domain: region, timeout: timeoutMs })).open(
          nodeStatusBucketName(region),
        );
        this.statusKv.set(region, kv);
        this.statusMissing.delete(region);
      }
      const entry = await kv.get(NODE_STATUS_KEY);
      if (!entry || entry.length === 0) return undefined;
      const r = entry.json<NodeStatusReport>();
      const at = Date.parse(r.at);
      const completeAsOf = Date.parse(r.completeAsOf);
      if (!Number.isFinite(at) || !Number.isFinite(completeAsOf)) return undefined;
      return { at, storeHead: r.storeHead, relayAcked: r.relayAcked, completeAsOf };
    } catch {
      return undefined;
    }
  }

  private async probe(): Promise<void> {
    const timeoutMs = this.opts.probeTimeoutMs ?? 1_000;
    await Promise.all(
      this.regions.map(async (region) => {
        const stream = evtStreamName(region);
        const [link, info, consumer, relay] = await Promise.all([
          this.linkOf(region, timeoutMs),
          this.probeJsm!.streams.info(stream).catch(() => undefined),
          this.probeJsm!.consumers.info(stream, this.durable).catch(() => undefined),
          this.relayReportOf(region, timeoutMs),
        ]);
        const mirror = info?.mirror;
        const at = Date.now();
        const next = observeRegion(this.fresh.get(region)!, {
          at,
          link,
          ...(mirror && info ? { mirrorLag: mirror.lag, mirrorLastSeq: info.state.last_seq } : {}),
          ...(mirror && mirror.active >= 0
            ? { mirrorActiveAgoMs: Math.round(mirror.active / NANOS_PER_MS) }
            : {}),
          ...(consumer ? { consumerPending: consumer.num_pending + consumer.num_ack_pending } : {}),
          ...(relay ? { relay } : {}),
        });
        this.fresh.set(region, next);
        metrics.linkUp.set({ region }, link === "up" ? 1 : 0);
        if (mirror) metrics.mirrorLag.set({ region }, mirror.lag);
        if (relay) metrics.relayLag.set({ region }, Math.max(0, relay.storeHead - relay.relayAcked));
        if (next.syncedAt !== undefined) metrics.staleness.set({ region }, (at - next.syncedAt) / 1000);
      }),
    );
    if (this.opts.publishFreshness && this.kv) {
      const report: PublishedFreshness = {
        at: Date.now(),
        staleAfterMs: this.staleAfterMs,
        regions: this.freshness(),
      };
      await this.kv.put(GLOBAL_FRESHNESS_KEY, te.encode(JSON.stringify(report)));
    }
  }
}
