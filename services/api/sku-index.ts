/**
 * The SKUs of the global view for the control tower's list (global-atp-routes.ts): the views answer
 * one SKU at a time and the bucket `atp_global` is keyed by SKU, so the list is kept here.
 */
import { jetstream } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import { GLOBAL_ATP_BUCKET, parseGlobalAtpKey } from "../../projections/atp-keys.ts";
import type { AvailabilitySource } from "./availability.ts";

/**
 * Every SKU of the global view: the bucket's keys once, then every SKU the view reports changed; and
 * where each SKU is stocked (`region/location`), kept until the SKU changes, so that a filter by
 * region or location does not build every SKU's figures on every request.
 */
export class SkuIndex {
  private readonly skus = new Set<string>();
  private readonly places = new Map<string, ReadonlyArray<{ region: string; location: string }>>();
  private sorted: string[] | undefined;
  private readonly off: () => void;

  constructor(
    private readonly source: Pick<AvailabilitySource, "onChange" | "getGlobalAvailability">,
    initial: Iterable<string> = [],
  ) {
    for (const s of initial) this.add(s);
    this.off = source.onChange((sku) => {
      this.add(sku);
      this.places.delete(sku);
    });
  }

  /** The SKU's locations (from the view on first use after a change). */
  placesOf(sku: string): ReadonlyArray<{ region: string; location: string }> {
    let p = this.places.get(sku);
    if (!p) {
      p = Object.values(this.source.getGlobalAvailability(sku)?.locations ?? {}).map((l) => ({
        region: l.region,
        location: l.location,
      }));
      this.places.set(sku, p);
    }
    return p;
  }

  private add(sku: string): void {
    if (this.skus.has(sku)) return;
    this.skus.add(sku);
    this.sorted = undefined;
  }

  /** Adds the SKUs of the hub bucket `atp_global` (call once after the view has loaded). */
  async seedFromBucket(nc: NatsConnection, hubDomain?: string): Promise<void> {
    const kv = await new Kvm(jetstream(nc, hubDomain ? { domain: hubDomain } : {})).open(GLOBAL_ATP_BUCKET);
    for await (const key of await kv.keys()) {
      const sku = parseGlobalAtpKey(key);
      if (sku !== undefined) this.add(sku);
    }
  }

  /** Sorted; sorted again only after a SKU was added. */
  list(): readonly string[] {
    this.sorted ??= [...this.skus].sort();
    return this.sorted;
  }

  stop(): void {
    this.off();
  }
}
