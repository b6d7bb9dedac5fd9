/**
 * What every Dynamics 365 Inventory Visibility payload shares: `id`, `organizationId`, `productId`,
 * `dimensionDataSource` and `dimensions`. Dimensions are compared case-insensitively (the service
 * does; the samples write `siteId`, `SiteId` and `siteid`), a data source's own dimensions map to
 * base ones (`pos`: `PosSiteId` -> `SiteId`), and the position is read from them:
 * - location: master data `codes.<system> = { siteId, locationId }` (SiteId, LocationId);
 * - SKU: the product and its variant dimensions (ColorId, SizeId, StyleId, ConfigId, in that order,
 *   those present) joined by `/`: `T-shirt/red`, through master data `products.items[].codes.<system>`;
 *   a product without variant dimensions is its `productId`;
 * - status: `InventStatusId` through `statuses.<system>` (default available); lot: `BatchId`.
 * Other dimensions (PosMachineId, WMSLocationId, LicensePlateId, ...) are finer than a position
 * and are summed into it.
 */
import type { Location } from "../../domain/master-data.ts";
import type { StockStatus } from "../../domain/statuses.ts";
import { isRecord, skuOf, text } from "../source-values.ts";
import type { TranslationContext, UntranslatablePart } from "../translation.ts";

export const DEFAULT_DIMENSION_MAPPINGS: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  pos: { PosSiteId: "SiteId", PosLocationId: "LocationId", PosColorId: "ColorId", PosSizeId: "SizeId" },
};
export const DEFAULT_VARIANT_DIMENSIONS: readonly string[] = ["ColorId", "SizeId", "StyleId", "ConfigId"];

/** Dynamics 365 Inventory Visibility's base dimensions (its own vocabulary; the simulator uses it too). */
export const D365_BASE_DIMENSIONS: readonly string[] = [
  "SiteId",
  "LocationId",
  "ColorId",
  "SizeId",
  "StyleId",
  "ConfigId",
  "BatchId",
  "SerialId",
  "InventStatusId",
  "LicensePlateId",
  "WMSLocationId",
  "WMSPalletId",
  "VersionId",
  "OwnerId",
];
const BASE_BY_LOWER = new Map(D365_BASE_DIMENSIONS.map((d) => [d.toLowerCase(), d]));

export interface DimensionOptions {
  /** Per data source, its dimension name -> base dimension name (default DEFAULT_DIMENSION_MAPPINGS). */
  readonly dimensionMappings?: Readonly<Record<string, Readonly<Record<string, string>>>>;
  /** Dimensions that make a product variant a SKU, in code order (default DEFAULT_VARIANT_DIMENSIONS). */
  readonly variantDimensions?: readonly string[];
}

export type Problem = Omit<UntranslatablePart, "document">;

export interface D365Event {
  readonly id: string;
  readonly organizationId: string;
  readonly location: Location;
  readonly sku: string;
  readonly status: StockStatus;
  readonly lot?: string;
}

/** The event's identity and position, or the problems that keep it from having one. */
export const readEvent = (
  e: unknown,
  at: (path: string) => string,
  ctx: TranslationContext,
  opts: DimensionOptions,
  needs: { readonly product: boolean } = { product: true },
): { problems: Problem[]; event?: D365Event; id?: string } => {
  const problems: Problem[] = [];
  const problem = (path: string, value: unknown, reason: string) =>
    problems.push({ at: at(path), ...(value === undefined ? {} : { value }), reason });
  if (!isRecord(e)) {
    problem("", e, "an Inventory Visibility event (JSON object)");
    return { problems };
  }
  const id = text(e.id);
  if (id === undefined) problem("id", e.id, "the event's id (its idempotency key in Inventory Visibility)");
  const organizationId = text(e.organizationId);
  if (organizationId === undefined) problem("organizationId", e.organizationId, "an organization id");
  const md = ctx.masterData;

  const dims = normalise(e.dimensions, text(e.dimensionDataSource), opts, problem);
  const dim = (name: string) => dims?.get(name);
  let location: Location | undefined;
  if (dims) {
    const site = dim("SiteId");
    const loc = dim("LocationId");
    if (!site) problem("dimensions.SiteId", undefined, "a SiteId dimension");
    if (!loc) problem("dimensions.LocationId", undefined, "a LocationId dimension");
    if (site && loc) {
      location = md.locationByCode(ctx.system, { siteId: site.value, locationId: loc.value });
      if (!location) {
        const known = md.locations.flatMap((l) => {
          const c = l.codes && Object.hasOwn(l.codes, ctx.system) ? l.codes[ctx.system] : undefined;
          return c ? [`${c.siteId}/${c.locationId}`] : [];
        });
        problem(
          `dimensions.${site.name}`,
          site.value,
          `a site and location of ${ctx.system} in master data (SiteId/LocationId: ${known.join(", ") || "none"}); got ${site.value}/${loc.value}`,
        );
      }
    }
  }

  let sku: string | undefined;
  const productId = text(e.productId);
  if (needs.product) {
    if (productId === undefined) problem("productId", e.productId, "a productId");
    else if (dims) {
      const variant = (opts.variantDimensions ?? DEFAULT_VARIANT_DIMENSIONS).flatMap((d) => {
        const v = dim(d);
        return v ? [v.value] : [];
      });
      const code = [productId, ...variant].join("/");
      sku = skuOf(md, ctx.system, code);
      if (sku === undefined)
        problem("productId", productId, `a product of ${ctx.system} in master data: ${code}`);
    }
  }

  let status: StockStatus | undefined = "available";
  const invent = dim("InventStatusId");
  if (invent) {
    status = md.canonicalStatus(ctx.system, invent.value);
    if (!status)
      problem(
        `dimensions.${invent.name}`,
        invent.value,
        `an inventory status of ${ctx.system} in master data (statuses.${ctx.system}) or a canonical status`,
      );
  }
  const lot = dim("BatchId")?.value;
  if (problems.length > 0 || !id || !organizationId || !location || !status || (needs.product && !sku))
    return { problems, ...(id ? { id } : {}) };
  return {
    problems,
    id,
    event: { id, organizationId, location, sku: sku ?? "", status, ...(lot ? { lot } : {}) },
  };
};

/** Dimensions by base name (value and the name as the payload spelled it), or undefined when unreadable. */
const normalise = (
  raw: unknown,
  dataSource: string | undefined,
  opts: DimensionOptions,
  problem: (path: string, value: unknown, reason: string) => void,
): Map<string, { value: string; name: string }> | undefined => {
  if (!isRecord(raw)) {
    problem("dimensions", raw, "dimensions { SiteId, LocationId, ... }");
    return undefined;
  }
  const mappings = opts.dimensionMappings ?? DEFAULT_DIMENSION_MAPPINGS;
  const mapping = Object.entries(
    Object.entries(mappings).find(([ds]) => ds.toLowerCase() === dataSource?.toLowerCase())?.[1] ?? {},
  );
  const out = new Map<string, { value: string; name: string }>();
  for (const [name, value] of Object.entries(raw)) {
    const mapped = mapping.find(([custom]) => custom.toLowerCase() === name.toLowerCase())?.[1] ?? name;
    const base = BASE_BY_LOWER.get(mapped.toLowerCase()) ?? mapped;
    const v = text(value);
    if (v === undefined) {
      problem(`dimensions.${name}`, value, "a dimension value (a non-empty string)");
      continue;
    }
    if (out.has(base)) {
      problem(`dimensions.${name}`, value, `${base} once (it is also given as ${out.get(base)?.name})`);
      continue;
    }
    out.set(base, { value: v, name });
  }
  return out;
};
