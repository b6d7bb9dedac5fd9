/**
 * Each process's part of the one distributor configuration (issue 10): pure derivations from a
 * resolved `DistributorConfig`, so that every `stockline part <name>` and `stockline up` read the same
 * file and nothing about a particular distributor lives in the services.
 *
 * - `nodeConfigOf(d, region)`: the raw node configuration of a region (for `resolveNodeConfig`).
 * - `apiConfigOf(d)`: the raw API configuration (for `resolveApiConfig`).
 * - `postingTargetsOf(d, urls?)`: the posting targets with each location's code in the target's system.
 * - `routingOf(d)`: which committed events go to which target.
 * - `securityOf(d)`: the NATS users of a managed, secured topology.
 */
import path from "node:path";
import type { DecodeError } from "../../domain/decode-errors.ts";
import type { RoutingConfig } from "../../domain/routing-rules.ts";
import type { SecurityOptions } from "../nats/topology-security.ts";
import { ConfigError } from "./config-loading.ts";
import type { DistributorConfig, PostingTargetSpec } from "./distributor-config.ts";

/** A SAP S/4HANA posting target (what services/postings' connector takes). */
export interface SapTargetConfig {
  kind: "sap-s4hana";
  id: string;
  baseUrl: string;
  locations: Record<string, { plant: string; storageLocation: string }>;
  timeoutMs?: number;
}
/** A Dynamics 365 Inventory Visibility posting target. */
export interface D365TargetConfig {
  kind: "d365-inventory-visibility";
  id: string;
  baseUrl: string;
  environmentId: string;
  organizationId: string;
  locations: Record<string, { siteId: string; locationId: string }>;
  timeoutMs?: number;
}
export type TargetConfig = SapTargetConfig | D365TargetConfig;

/** `source.system` of reservations the API places for callers without a channel. */
export const API_SOURCE_SYSTEM = "stockline-api";
/** `source.system` of the reservation expiry (it lets reservations lapse). */
export const EXPIRY_SOURCE_SYSTEM = "stockline-expiry";

/** The NATS user of a source system: its id where a user name allows it (`[A-Za-z0-9_-]`). */
export const natsUserOf = (system: string): string => system.replace(/[^A-Za-z0-9_-]/g, "_");

/** NATS users of the hub besides the source systems. */
export const HUB_USERS = { api: "api", reconciler: "reconciler", projector: "projector" } as const;
/** The user of a region's own services (node, projector, expiry, postings) on the region's server. */
export const nodeUserOf = (region: string): string => `node-${region}`;

const regionSpec = (d: DistributorConfig, region: string) => {
  const spec = d.file.regions.find((r) => r.id === region);
  if (!spec)
    throw new ConfigError(
      d.source,
      [problem("--region", region, `one of the regions (${d.regions.join(", ")})`)],
      "distributor configuration",
    );
  return spec;
};

const problem = (p: string, value: unknown, expected: string): DecodeError => ({
  path: p,
  value,
  expected,
  message: `${p}: got ${JSON.stringify(value)}, expected ${expected}`,
});

/** `a` overridden by `b`, one level deep for nested blocks (`relay`, `intake`, ...). */
const mergeTunables = (
  a: Record<string, unknown> = {},
  b: Record<string, unknown> = {},
): Record<string, unknown> => {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const prev = out[k];
    out[k] =
      typeof v === "object" && v !== null && typeof prev === "object" && prev !== null
        ? { ...(prev as object), ...(v as object) }
        : v;
  }
  return out;
};

/**
 * The raw node configuration of `region`: its NATS (servers and the node's credentials), its store
 * (default SQLite in `<dataDir>/<region>`), the distributor's node settings overridden by the
 * region's, the ownership policy, the unit master and the master data (locations, products, statuses).
 * The node's HTTP intake is off unless the settings turn it on.
 */
export const nodeConfigOf = (d: DistributorConfig, region: string): Record<string, unknown> => {
  const spec = regionSpec(d, region);
  const tunables = mergeTunables(d.file.node, spec.node);
  return {
    http: { enabled: false },
    ...tunables,
    region,
    nats: { name: `stockline-node-${region}`, ...(spec.nats ?? {}) },
    dataDir: path.join(d.dataDir, region),
    ...(spec.store ? { store: spec.store } : {}),
    ...(d.file.ownership ? { ownership: d.file.ownership } : {}),
    units: d.masterData.units,
    // Read by the node's intake (locations, SKUs, status vocabularies); ignored by a node that predates it.
    masterData: d.masterData.input,
  };
};

/** The hub's NATS block (servers and credentials of a hub process). */
export const hubNatsOf = (d: DistributorConfig): Record<string, unknown> => ({ ...(d.file.nats?.hub ?? {}) });

/**
 * The raw API configuration: regions, keys, HTTP, the hub's NATS (`api.nats`, else `nats.hub`),
 * `<dataDir>/api`, staleness, and the catalogue when it is closed (an unknown SKU is a 404).
 */
export const apiConfigOf = (d: DistributorConfig): Record<string, unknown> => {
  const api = d.file.api ?? {};
  const products = d.file.products;
  const closed = products !== undefined && products.catalogue !== "open";
  return {
    regions: [...d.regions],
    apiKeys: api.keys ?? [],
    ...(api.http ? { http: api.http } : {}),
    nats: { name: "stockline-api", ...(api.nats ?? hubNatsOf(d)) },
    dataDir: path.join(d.dataDir, "api"),
    ...(api.rateLimit ? { rateLimit: api.rateLimit } : {}),
    ...(api.staleAfterMs ? { degraded: { staleAfterMs: api.staleAfterMs } } : {}),
    ...(closed ? { products: products.items.map((p) => p.sku) } : {}),
  };
};

const field = (code: Record<string, string>, names: readonly string[]): string | undefined => {
  for (const n of names) if (code[n] !== undefined) return code[n];
  return undefined;
};

/** Each location's code in the target's system, shaped as the target's connector wants it. */
const locationsOf = <L>(
  d: DistributorConfig,
  spec: PostingTargetSpec,
  fields: Readonly<Record<keyof L & string, readonly string[]>>,
): Record<string, L> => {
  const out: Record<string, L> = {};
  const problems: DecodeError[] = [];
  d.masterData.locations.forEach((l, i) => {
    const code = l.codes?.[spec.system];
    if (!code) return;
    const value: Record<string, string> = {};
    for (const [k, names] of Object.entries(fields) as [string, readonly string[]][]) {
      const v = field(code, names);
      if (v === undefined)
        problems.push(
          problem(
            `locations.${i}.codes.${spec.system}.${names[0]}`,
            code,
            `a ${spec.kind} code with ${names.join(" or ")}`,
          ),
        );
      else value[k] = v;
    }
    out[l.id] = value as L;
  });
  if (problems.length > 0) throw new ConfigError(d.source, problems, "distributor configuration");
  return out;
};

/**
 * The posting targets (services/postings) with their locations: every location that has a code in the
 * target's system (SAP `{ plant, storageLocation }`, D365 `{ siteId, locationId }`). `urls` replaces a
 * target's `baseUrl` (a simulator listening on a port chosen at run time).
 */
export const postingTargetsOf = (
  d: DistributorConfig,
  urls: Readonly<Record<string, string>> = {},
): TargetConfig[] =>
  (d.file.postings?.targets ?? []).map((spec): TargetConfig => {
    const baseUrl = urls[spec.id] ?? spec.baseUrl;
    const timeout = spec.timeoutMs ? { timeoutMs: spec.timeoutMs } : {};
    if (spec.kind === "sap-s4hana") {
      const target: SapTargetConfig = {
        kind: "sap-s4hana",
        id: spec.id,
        baseUrl,
        locations: locationsOf<SapTargetConfig["locations"][string]>(d, spec, {
          plant: ["plant"],
          storageLocation: ["storageLocation"],
        }),
        ...timeout,
      };
      return target;
    }
    const target: D365TargetConfig = {
      kind: "d365-inventory-visibility",
      id: spec.id,
      baseUrl,
      environmentId: spec.environmentId ?? "",
      organizationId: spec.organizationId ?? "",
      locations: locationsOf<D365TargetConfig["locations"][string]>(d, spec, {
        siteId: ["siteId", "site"],
        locationId: ["locationId", "warehouse"],
      }),
      ...timeout,
    };
    return target;
  });

/** Which committed events go to which target: a target's movements are known by its system's id. */
export const routingOf = (d: DistributorConfig): RoutingConfig => ({
  targets: (d.file.postings?.targets ?? []).map((t) => ({ id: t.id, systems: [t.system] })),
  rules: d.file.routing?.rules ?? [],
});

/** Channels of the distributor (they speak through the API, never on NATS themselves). */
export const channelsOf = (d: DistributorConfig): string[] =>
  d.file.systems.filter((s) => s.kind === "channel").map((s) => s.id);

/** ERP systems that receive postings (the reconciler books compensations as them). */
export const postingSystemsOf = (d: DistributorConfig): string[] => [
  ...new Set((d.file.postings?.targets ?? []).map((t) => t.system)),
];

/**
 * The NATS users of a managed, secured topology: a user per system that publishes (every system but
 * a channel: WMS, ERP connector, OMS, ...) speaking for itself only; `api` speaking for the API, the
 * reservation expiry and every channel (a channel's key makes its reservations the channel's commands),
 * with the projector's read rights on the hub (the `atp_global` bucket, the regions' dead letters);
 * `reconciler` speaking for the ERPs it books compensations as. Each region's own services are
 * `node-<r>` and the global projector `projector` (topology-security.ts adds both).
 */
const reserved = (user: string): boolean =>
  (Object.values(HUB_USERS) as string[]).includes(user) || /^(node|leaf)-/.test(user);

export const securityOf = (d: DistributorConfig, opts: { readonly tls?: boolean } = {}): SecurityOptions => {
  const sources: Record<string, { systems: string[]; projector?: boolean }> = {};
  const problems: DecodeError[] = [];
  d.file.systems.forEach((s, i) => {
    if (s.kind === "channel") return;
    const user = natsUserOf(s.id);
    // The topology's own users: a system may not take one's name (nor two systems one user).
    if (reserved(user) || sources[user])
      problems.push(
        problem(
          `systems.${i}.id`,
          s.id,
          "a NATS user name of its own (not api, reconciler, projector, node-*, leaf-*)",
        ),
      );
    sources[user] = { systems: [s.id] };
  });
  if (problems.length > 0) throw new ConfigError(d.source, problems, "distributor configuration");
  sources[HUB_USERS.api] = {
    systems: [API_SOURCE_SYSTEM, EXPIRY_SOURCE_SYSTEM, ...channelsOf(d)],
    projector: true,
  };
  sources[HUB_USERS.reconciler] = { systems: postingSystemsOf(d) };
  return { sources, ...(opts.tls ? { tls: true } : {}) };
};
