/**
 * The availability service's in-process view of a region's ATP read model (`atp_<r>`): loaded from
 * the bucket, kept in memory, and kept current by a KV watch, so it changes when the read model
 * changes (no timer, no TTL). Listeners hear every change (for response caches, live views).
 *
 * Memory: a region may hold millions of positions, so entries are not kept as objects. Figures live
 * in typed-array columns indexed by a slot number; SKUs and locations are interned once; the slots of
 * one SKU form a linked list (`nextOfSku`), so a SKU lookup walks its locations without any per-SKU
 * array. About 90 bytes per position plus the interned strings. Open reservations are not in the
 * entries (they are keys of their own in `atp_res_<r>`); open inbound transfers and expected
 * receipts are held, sparsely, for time-phased ATP.
 */
import { jetstream } from "@nats-io/jetstream";
import { type KV, type KvEntry, Kvm } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "pino";
import type { Lifecycle } from "../../domain/canonical-event.ts";
import { type AtpBreakdown, atpBreakdown } from "../../domain/position-context.ts";
import { createLogger } from "../../infra/logging.ts";
import { ensureAtpBucket } from "../../infra/nats/streams.ts";
import { parseRegionalAtpKey, regionalAtpKey } from "../../projections/atp-keys.ts";
import { type AtpTotals, addAtp, ZERO_ATP_TOTALS } from "../../projections/global-atp.projection.ts";
import type {
  ExpectedReceiptView,
  InboundTransfer,
  OnHandByStatus,
  RegionalAtpEntry,
} from "../../projections/regional-atp.projection.ts";
import {
  DEFAULT_TIME_PHASED_CONFIG,
  type ExpectedReceipt,
  type TimePhasedAtp,
  type TimePhasedConfig,
  timePhasedAtp,
} from "../../projections/time-phased-atp.ts";

/** One position's figures as the read model holds them: the domain's breakdown, with where and when. */
export interface PositionAtp extends AtpBreakdown {
  readonly region: string;
  readonly location: string;
  readonly sku: string;
  readonly onHand: OnHandByStatus;
  readonly inboundInTransit: number;
  readonly lastRevision: number;
  readonly businessTime?: string;
  readonly recordedTime?: string;
}

export interface SkuAvailability {
  readonly region: string;
  readonly sku: string;
  readonly locations: readonly PositionAtp[];
  readonly total: AtpTotals;
  /** Recorded time of the newest event behind these figures. */
  readonly lastRecordedTime?: string;
}

export interface AtpReadModelOptions {
  /** A connection that reaches the region's JetStream (its server, or the hub with the domain). */
  nc: NatsConnection;
  region: string;
  domain?: string;
  logger?: Logger;
  /** Initial slot capacity (grows by doubling). */
  initialCapacity?: number;
}

export type AtpChangeListener = (change: {
  location: string;
  sku: string;
  position: PositionAtp | undefined;
}) => void;

const LIFECYCLES: readonly Lifecycle[] = ["active", "onHold", "discontinued"];
const FREE = 255;
const NONE = -1;
const td = new TextDecoder();

// Int32 columns of figures, in this order (ATP and net are computed from them: atpBreakdown).
const COLS = [
  "available",
  "inspection",
  "blocked",
  "consigned",
  "picked",
  "reserved",
  "safetyStock",
  "inboundInTransit",
] as const;
const C = Object.fromEntries(COLS.map((c, i) => [c, i])) as Record<(typeof COLS)[number], number>;
const NCOLS = COLS.length;

/** The in-memory columns; usable without NATS (tests, benchmarks) through `upsert`/`remove`. */
export class AtpColumns {
  private capacity: number;
  private used = 0;
  private freeSlots: number[] = [];
  private figures: Int32Array;
  private revision: Float64Array;
  private businessMs: Float64Array;
  private recordedMs: Float64Array;
  private lifecycle: Uint8Array;
  private skuOf: Int32Array;
  private locationOf: Int32Array;
  private nextOfSku: Int32Array;
  private readonly skuIds = new Map<string, number>();
  private readonly skuNames: string[] = [];
  private firstOfSku: Int32Array;
  private readonly locationIds = new Map<string, number>();
  private readonly locationNames: string[] = [];
  /** Open inbound transfers, only for slots that have some. */
  private readonly inbound = new Map<number, InboundTransfer[]>();
  /** Open expected receipts (purchase order lines), only for slots that have some. */
  private readonly expected = new Map<number, ExpectedReceiptView[]>();
  private count = 0;

  constructor(
    readonly region: string,
    initialCapacity = 1024,
  ) {
    this.capacity = Math.max(16, initialCapacity);
    this.figures = new Int32Array(this.capacity * NCOLS);
    this.revision = new Float64Array(this.capacity);
    this.businessMs = new Float64Array(this.capacity);
    this.recordedMs = new Float64Array(this.capacity);
    this.lifecycle = new Uint8Array(this.capacity).fill(FREE);
    this.skuOf = new Int32Array(this.capacity);
    this.locationOf = new Int32Array(this.capacity);
    this.nextOfSku = new Int32Array(this.capacity).fill(NONE);
    this.firstOfSku = new Int32Array(Math.max(16, initialCapacity >> 2)).fill(NONE);
  }

  get size(): number {
    return this.count;
  }

  private grow(): void {
    const cap = this.capacity * 2;
    const g = <T extends Int32Array | Float64Array | Uint8Array>(a: T, size: number, fill?: number): T => {
      const b = new (a.constructor as new (n: number) => T)(size);
      if (fill !== undefined) b.fill(fill);
      b.set(a);
      return b;
    };
    this.figures = g(this.figures, cap * NCOLS);
    this.revision = g(this.revision, cap);
    this.businessMs = g(this.businessMs, cap);
    this.recordedMs = g(this.recordedMs, cap);
    this.lifecycle = g(this.lifecycle, cap, FREE);
    this.skuOf = g(this.skuOf, cap);
    this.locationOf = g(this.locationOf, cap);
    this.nextOfSku = g(this.nextOfSku, cap, NONE);
    this.capacity = cap;
  }

  private intern(map: Map<string, number>, names: string[], name: string): number {
    let id = map.get(name);
    if (id === undefined) {
      id = names.length;
      names.push(name);
      map.set(name, id);
    }
    return id;
  }

  private skuId(sku: string, create: boolean): number {
    const existing = this.skuIds.get(sku);
    if (existing !== undefined || !create) return existing ?? NONE;
    const id = this.intern(this.skuIds, this.skuNames, sku);
    if (id >= this.firstOfSku.length) {
      const b = new Int32Array(this.firstOfSku.length * 2).fill(NONE);
      b.set(this.firstOfSku);
      this.firstOfSku = b;
    }
    return id;
  }

  private slotOf(location: string, sku: string): number {
    const s = this.skuIds.get(sku);
    const l = this.locationIds.get(location);
    if (s === undefined || l === undefined) return NONE;
    for (let i = this.firstOfSku[s]!; i !== NONE; i = this.nextOfSku[i]!)
      if (this.locationOf[i] === l) return i;
    return NONE;
  }

  /** Stores (or replaces) a position's entry. */
  upsert(entry: RegionalAtpEntry): void {
    const { location, sku } = entry.position;
    let slot = this.slotOf(location, sku);
    if (slot === NONE) {
      slot = this.freeSlots.pop() ?? this.used++;
      if (slot >= this.capacity) this.grow();
      const s = this.skuId(sku, true);
      this.skuOf[slot] = s;
      this.locationOf[slot] = this.intern(this.locationIds, this.locationNames, location);
      this.nextOfSku[slot] = this.firstOfSku[s]!;
      this.firstOfSku[s] = slot;
      this.count++;
    }
    const f = this.figures;
    const o = slot * NCOLS;
    f[o + C.available] = entry.onHand.available;
    f[o + C.inspection] = entry.onHand.inspection;
    f[o + C.blocked] = entry.onHand.blocked;
    f[o + C.consigned] = entry.onHand.consigned;
    f[o + C.picked] = entry.onHand.picked;
    f[o + C.reserved] = entry.atp.reserved;
    f[o + C.safetyStock] = entry.atp.safetyStock;
    f[o + C.inboundInTransit] = entry.inboundInTransit;
    this.revision[slot] = entry.lastRevision;
    this.businessMs[slot] = entry.businessTime ? Date.parse(entry.businessTime) : Number.NaN;
    this.recordedMs[slot] = entry.recordedTime ? Date.parse(entry.recordedTime) : Number.NaN;
    this.lifecycle[slot] = Math.max(0, LIFECYCLES.indexOf(entry.atp.lifecycle));
    const inbound = Object.values(entry.inbound ?? {});
    if (inbound.length > 0) this.inbound.set(slot, inbound);
    else this.inbound.delete(slot);
    const expected = Object.values(entry.expectedReceipts ?? {});
    if (expected.length > 0) this.expected.set(slot, expected);
    else this.expected.delete(slot);
  }

  /** Forgets a position (its KV entry was deleted or purged). */
  remove(location: string, sku: string): void {
    const slot = this.slotOf(location, sku);
    if (slot === NONE) return;
    const s = this.skuOf[slot]!;
    if (this.firstOfSku[s] === slot) this.firstOfSku[s] = this.nextOfSku[slot]!;
    else {
      let i = this.firstOfSku[s]!;
      while (this.nextOfSku[i] !== slot) i = this.nextOfSku[i]!;
      this.nextOfSku[i] = this.nextOfSku[slot]!;
    }
    this.nextOfSku[slot] = NONE;
    this.lifecycle[slot] = FREE;
    this.inbound.delete(slot);
    this.expected.delete(slot);
    this.freeSlots.push(slot);
    this.count--;
  }

  private view(slot: number): PositionAtp {
    const f = this.figures;
    const o = slot * NCOLS;
    const lifecycle = LIFECYCLES[this.lifecycle[slot]!] ?? "active";
    const available = f[o + C.available]!;
    const b = this.businessMs[slot]!;
    const r = this.recordedMs[slot]!;
    return {
      region: this.region,
      location: this.locationNames[this.locationOf[slot]!]!,
      sku: this.skuNames[this.skuOf[slot]!]!,
      ...atpBreakdown({
        available,
        reserved: f[o + C.reserved]!,
        safetyStock: f[o + C.safetyStock]!,
        lifecycle,
      }),
      onHand: {
        available,
        inspection: f[o + C.inspection]!,
        blocked: f[o + C.blocked]!,
        consigned: f[o + C.consigned]!,
        picked: f[o + C.picked]!,
      },
      inboundInTransit: f[o + C.inboundInTransit]!,
      lastRevision: this.revision[slot]!,
      ...(Number.isNaN(b) ? {} : { businessTime: new Date(b).toISOString() }),
      ...(Number.isNaN(r) ? {} : { recordedTime: new Date(r).toISOString() }),
    };
  }

  get(location: string, sku: string): PositionAtp | undefined {
    const slot = this.slotOf(location, sku);
    return slot === NONE ? undefined : this.view(slot);
  }

  private slotsOfSku(sku: string): number[] {
    const s = this.skuId(sku, false);
    const out: number[] = [];
    if (s === NONE) return out;
    for (let i = this.firstOfSku[s]!; i !== NONE; i = this.nextOfSku[i]!) out.push(i);
    return out;
  }

  /** Every position of a SKU in the region (optionally only some locations), with totals. */
  availability(sku: string, locations?: ReadonlySet<string>): SkuAvailability {
    const list: PositionAtp[] = [];
    let total = ZERO_ATP_TOTALS;
    let last = Number.NaN;
    for (const slot of this.slotsOfSku(sku)) {
      const p = this.view(slot);
      if (locations && !locations.has(p.location)) continue;
      list.push(p);
      const o = p.onHand;
      total = addAtp(total, {
        ...p,
        onHand: o.available + o.inspection + o.blocked + o.consigned + o.picked,
      });
      const r = this.recordedMs[slot]!;
      if (!Number.isNaN(r) && !(r <= last)) last = r;
    }
    list.sort((a, b) => (a.location < b.location ? -1 : a.location > b.location ? 1 : 0));
    return {
      region: this.region,
      sku,
      locations: list,
      total,
      ...(Number.isNaN(last) ? {} : { lastRecordedTime: new Date(last).toISOString() }),
    };
  }

  /** Time-phased ATP of a SKU over the region's locations (see `projections/time-phased-atp.ts`). */
  timePhased(
    sku: string,
    now: string | number,
    receipts: readonly ExpectedReceipt[] = [],
    config: TimePhasedConfig = DEFAULT_TIME_PHASED_CONFIG,
    locations?: ReadonlySet<string>,
  ): TimePhasedAtp {
    const positions = this.slotsOfSku(sku)
      .map((slot) => ({ slot, p: this.view(slot) }))
      .filter(({ p }) => !locations || locations.has(p.location))
      .map(({ slot, p }) => ({
        position: { region: this.region, location: p.location, sku },
        atp: { net: p.net, sellable: p.sellable },
        inbound: this.inbound.get(slot) ?? [],
        expectedReceipts: this.expected.get(slot) ?? [],
      }));
    const wanted = receipts.filter(
      (r) =>
        r.position.region === this.region &&
        r.position.sku === sku &&
        (!locations || locations.has(r.position.location)),
    );
    return timePhasedAtp(positions, wanted, now, config);
  }

  /** SKUs with at least one position. */
  *skus(): IterableIterator<string> {
    for (const [name, id] of this.skuIds) if (this.firstOfSku[id] !== NONE) yield name;
  }
}

/** The columns fed by a KV watch of `atp_<r>`. */
export class AtpReadModel {
  readonly columns: AtpColumns;
  private kv: KV | undefined;
  private watcher: { stop(): void } | undefined;
  private watching: Promise<void> | undefined;
  private readonly listeners = new Set<AtpChangeListener>();
  private readonly log: Logger;
  private lastKvRevision = 0;

  constructor(private readonly opts: AtpReadModelOptions) {
    this.columns = new AtpColumns(opts.region, opts.initialCapacity);
    this.log = (opts.logger ?? createLogger("atp-read-model")).child({ region: opts.region });
  }

  get region(): string {
    return this.opts.region;
  }

  /** KV revision (stream sequence) of the newest change applied. */
  get revision(): number {
    return this.lastKvRevision;
  }

  /** Opens the bucket and watches it; resolves once every entry present at start is loaded. */
  async start(): Promise<void> {
    if (this.watcher) return;
    const js = jetstream(this.opts.nc, { domain: this.opts.domain ?? this.opts.region });
    this.kv = await ensureAtpBucket(new Kvm(js), this.opts.region);
    const startedAt = Date.now();
    const lastSeq = (await this.kv.status()).streamInfo.state.last_seq;
    const iter = await this.kv.watch();
    this.watcher = iter;
    let markLoaded: () => void = () => {};
    const loaded = new Promise<void>((resolve) => {
      markLoaded = resolve;
    });
    if (lastSeq === 0) markLoaded();
    this.watching = (async () => {
      for await (const e of iter) {
        this.apply(e);
        if (e.revision >= lastSeq) markLoaded();
      }
    })().catch((err) => this.log.error({ err }, "ATP watch ended with an error"));
    await loaded;
    this.log.info(
      { positions: this.columns.size, ms: Date.now() - startedAt, kvRevision: this.lastKvRevision },
      "ATP read model loaded",
    );
  }

  async stop(): Promise<void> {
    this.watcher?.stop();
    this.watcher = undefined;
    await this.watching;
  }

  /** Called on every change of a position (after the columns changed). */
  onChange(listener: AtpChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private apply(e: KvEntry): void {
    this.lastKvRevision = Math.max(this.lastKvRevision, e.revision);
    const where = parseRegionalAtpKey(e.key);
    if (!where) {
      this.log.warn({ key: e.key }, "ignoring a key that is not a position key");
      return;
    }
    if (e.operation !== "PUT" || e.length === 0) {
      this.columns.remove(where.location, where.sku);
    } else {
      try {
        this.columns.upsert(JSON.parse(td.decode(e.value)) as RegionalAtpEntry);
      } catch (err) {
        this.log.error({ err, key: e.key }, "undecodable ATP entry ignored");
        return;
      }
    }
    if (this.listeners.size > 0) {
      const position = this.columns.get(where.location, where.sku);
      for (const l of this.listeners) l({ ...where, position });
    }
  }

  get(location: string, sku: string): PositionAtp | undefined {
    return this.columns.get(location, sku);
  }

  availability(sku: string, locations?: ReadonlySet<string>): SkuAvailability {
    return this.columns.availability(sku, locations);
  }

  timePhased(
    sku: string,
    now: string | number,
    receipts?: readonly ExpectedReceipt[],
    config?: TimePhasedConfig,
    locations?: ReadonlySet<string>,
  ): TimePhasedAtp {
    return this.columns.timePhased(sku, now, receipts, config, locations);
  }

  /** The full entry of one position (inbound transfers and open PO lines), read from the bucket. */
  async detail(location: string, sku: string): Promise<RegionalAtpEntry | undefined> {
    const e = await this.kv?.get(regionalAtpKey(location, sku));
    if (e?.operation !== "PUT" || e.length === 0) return undefined;
    return JSON.parse(td.decode(e.value)) as RegionalAtpEntry;
  }
}
