/**
 * The one configuration of a distributor (DESIGN §2, issue 10): its regions and their NATS endpoints
 * and event stores, its locations (with each source's code for them), its source systems and channels,
 * who owns which movement, where committed events are posted, each source's status vocabulary, its
 * products and units, and the API. Every process (`stockline part ...`) and `stockline up` read this
 * one file; each derives its own part (`nodeConfigOf`, `apiConfigOf`, `postingTargetsOf`).
 *
 * The reference (docs/configuration.md) is generated from these codecs: `stockline config reference`.
 */
import { createHash } from "node:crypto";
import path from "node:path";
import * as E from "fp-ts/lib/Either.js";
import * as t from "io-ts";
import { type DecodeError, toDecodeErrors } from "../../domain/decode-errors.ts";
import {
  decodeMasterData,
  LocationC,
  type MasterData,
  ProductsC,
  StatusVocabulariesC,
} from "../../domain/master-data.ts";
import { decodeOwnershipPolicy, OwnershipPolicyC } from "../../domain/ownership-policy.ts";
import { RoutingRuleC } from "../../domain/routing-rules.ts";
import {
  NonEmptyStringC,
  NonNegativeIntC,
  PositiveIntC,
  RegionC,
  SystemIdC,
  TextC,
} from "../../domain/scalars.ts";
import { ApiKeyC, RateLimitC } from "../http/api-keys.ts";
import { AlertsConfigC, alertsProblems } from "./alerts-config.ts";
import { ConfigError, isPlainObject, PortC, readConfigFile } from "./config-loading.ts";
import { NatsConfigC } from "./nats-auth.ts";
import { PostgresStoreC } from "./postgres-store-config.ts";

export const SYSTEM_KINDS = ["wms", "erp", "oms", "channel", "edi", "3pl", "mes", "other"] as const;
export const SystemKindC = t.keyof(
  Object.fromEntries(SYSTEM_KINDS.map((k) => [k, null])) as Record<(typeof SYSTEM_KINDS)[number], null>,
  `a system kind (${SYSTEM_KINDS.join(", ")})`,
);

/** A source system or sales channel: the `source.system` of what it reports or requests. */
export const SystemC = t.intersection(
  [
    t.type({ id: SystemIdC, kind: SystemKindC }),
    t.partial({
      name: TextC,
      /** Regions it sends commands to (default: every region). */
      regions: t.array(RegionC),
      /** Its NATS credentials when it publishes itself (a WMS, an ERP connector); channels use the API. */
      nats: NatsConfigC,
    }),
  ],
  "a system { id, kind, name?, regions?, nats? }",
);

const StoreC = t.union(
  [
    t.intersection([
      t.type({ kind: t.literal("sqlite") }),
      t.partial({
        path: NonEmptyStringC,
        synchronous: t.keyof({ OFF: null, NORMAL: null, FULL: null, EXTRA: null }),
      }),
    ]),
    t.type({ kind: t.literal("eventstoredb"), url: NonEmptyStringC }),
    PostgresStoreC,
  ],
  'a store { kind: "sqlite", path?, synchronous? } | { kind: "eventstoredb", url } | { kind: "postgres", url, schema? }',
);

/** Node tunables that a region may override (see infra/config/node-config.ts for each one's meaning). */
export const NodeTunablesC = t.partial(
  {
    snapshotEvery: PositiveIntC,
    parkTimeoutMs: PositiveIntC,
    idempotencyKeysPerPosition: PositiveIntC,
    defaultReservationTtlSeconds: PositiveIntC,
    countVarianceTolerance: NonNegativeIntC,
    actorCache: t.partial({ max: PositiveIntC, idleMs: PositiveIntC }),
    commit: t.partial({ maxBatch: PositiveIntC, maxRetries: NonNegativeIntC }),
    relay: t.partial({ window: PositiveIntC, batch: PositiveIntC, checkpointEveryMs: PositiveIntC }),
    intake: t.partial({ maxInFlight: PositiveIntC, ackWaitMs: PositiveIntC, requestReply: t.boolean }),
    anchor: t.partial({
      enabled: t.boolean,
      dir: NonEmptyStringC,
      everyMs: PositiveIntC,
      keyEnv: NonEmptyStringC,
    }),
    http: t.partial({ enabled: t.boolean, host: NonEmptyStringC, port: PortC }),
    /** Several nodes per region (docs/scale-out.md); the node id comes from `--node-id`. */
    partitioning: t.partial({
      enabled: t.boolean,
      locations: t.array(NonEmptyStringC),
      preferred: t.array(NonEmptyStringC),
      leaseTtlMs: PositiveIntC,
      renewEveryMs: PositiveIntC,
    }),
  },
  "node settings",
);

export const RegionSpecC = t.intersection(
  [
    t.type({ id: RegionC }),
    t.partial({
      name: TextC,
      /** The region's NATS (its JetStream domain is the region id); the node's credentials. */
      nats: NatsConfigC,
      /** Default: SQLite at `<dataDir>/<region>/events.db`. */
      store: StoreC,
      node: NodeTunablesC,
    }),
  ],
  "a region { id, name?, nats?, store?, node? }",
);

/** A posting target: an ERP that receives committed stock movements (services/postings). */
export const PostingTargetSpecC = t.intersection(
  [
    t.type({
      id: NonEmptyStringC,
      /** The system (an `erp`) whose API this is; its location codes give the target's locations. */
      system: SystemIdC,
      kind: t.keyof({ "sap-s4hana": null, "d365-inventory-visibility": null }),
      baseUrl: NonEmptyStringC,
    }),
    t.partial({
      /** D365: the environment and organisation ids. */
      environmentId: NonEmptyStringC,
      organizationId: NonEmptyStringC,
      timeoutMs: PositiveIntC,
      /** Reconcile this target's balances against the ledger (default true). */
      reconcile: t.boolean,
    }),
  ],
  "a posting target { id, system, kind, baseUrl, environmentId?, organizationId?, timeoutMs?, reconcile? }",
);
export type PostingTargetSpec = t.TypeOf<typeof PostingTargetSpecC>;

/** An ERP stood in by a simulator in this deployment (demo, tests): `stockline up` runs it. */
export const SimulatorSpecC = t.intersection(
  [
    t.type({ target: NonEmptyStringC, port: PortC }),
    t.partial({
      errorRate: t.number,
      lostResponseRate: t.number,
      latencyMs: NonNegativeIntC,
      /** Allow negative stock (SAP's transit storage location across systems). */
      allowNegativeStock: t.boolean,
    }),
  ],
  "a simulator { target, port, errorRate?, lostResponseRate?, latencyMs?, allowNegativeStock? }",
);

/** Formats a connector translates (connectors/<format>/, services/connectors/registry.ts). */
export const CONNECTOR_FORMATS = [
  "x12",
  "epcis",
  "sap-material-document",
  "d365-inventory-visibility",
  "balance-snapshot",
  "shopify",
] as const;
export type ConnectorFormat = (typeof CONNECTOR_FORMATS)[number];

/** A source system that sends its own documents: its format and its transports (services/parts/connectors-part.ts). */
export const ConnectorSourceC = t.intersection(
  [
    t.type({
      system: SystemIdC,
      format: t.keyof(
        Object.fromEntries(CONNECTOR_FORMATS.map((f) => [f, null])) as Record<ConnectorFormat, null>,
        `a connector format (${CONNECTOR_FORMATS.join(", ")})`,
      ),
    }),
    t.partial({
      /** A folder watched for files (EDI, snapshots); each is moved to done/ or failed/ with a report. */
      dropFolder: NonEmptyStringC,
      /** `POST /v1/inbound/<system>` (default true). */
      http: t.boolean,
      /** GS1's EPCIS JSON Schema (not bundled); required for `epcis`. */
      epcisSchemaFile: NonEmptyStringC,
      /**
       * Shopify webhooks: the variable holding the app's shared secret (HMAC-SHA256); `push`: the
       * shop's Admin GraphQL endpoint and the variable holding its access token, to which the
       * connectors part pushes the ATP of every SKU-location the shop sells (services/channels/shopify-push.ts).
       */
      shopify: t.intersection([
        t.type({ secretEnv: NonEmptyStringC }),
        t.partial({ push: t.type({ graphqlUrl: NonEmptyStringC, accessTokenEnv: NonEmptyStringC }) }),
      ]),
      /** Balance snapshots list everything at each location they name (absent items count 0). */
      complete: t.boolean,
    }),
  ],
  "a connector source { system, format, dropFolder?, http?, epcisSchemaFile?, shopify?, complete? }",
);
export type ConnectorSource = t.TypeOf<typeof ConnectorSourceC>;

export const ConnectorsC = t.intersection(
  [
    t.type({ sources: t.array(ConnectorSourceC) }),
    t.partial({ http: t.partial({ host: NonEmptyStringC, port: PortC }) }),
  ],
  "connectors { sources, http? }",
);

export const DistributorConfigC = t.intersection(
  [
    t.type({
      distributor: t.intersection([t.type({ name: TextC }), t.partial({ id: NonEmptyStringC })]),
      regions: t.array(RegionSpecC),
      locations: t.array(LocationC),
      systems: t.array(SystemC),
    }),
    t.partial({
      /** The configuration's own version label (shown by `GET /v1/reference`); a digest is added. */
      version: NonEmptyStringC,
      /** Folder of every part's files (default `.data/<distributor id>`). */
      dataDir: NonEmptyStringC,
      nats: t.partial({
        /**
         * `managed`: `stockline up` starts a local hub and one server per region (secured with a
         * user per part unless `secured: false`). `external`: servers are given (hub, regions).
         */
        mode: t.keyof({ managed: null, external: null }),
        secured: t.boolean,
        /** The hub (global projector, API, reconciler). */
        hub: NatsConfigC,
        /** The hub's JetStream domain (default `hub`). */
        hubDomain: NonEmptyStringC,
      }),
      products: ProductsC,
      statuses: StatusVocabulariesC,
      ownership: OwnershipPolicyC,
      routing: t.type({ rules: t.array(RoutingRuleC) }),
      postings: t.type({ targets: t.array(PostingTargetSpecC) }),
      simulators: t.array(SimulatorSpecC),
      reconciliation: t.partial({ everyMs: PositiveIntC, enabled: t.boolean }),
      api: t.partial({
        http: t.partial({ host: NonEmptyStringC, port: PortC }),
        keys: t.array(ApiKeyC),
        rateLimit: RateLimitC,
        staleAfterMs: PositiveIntC,
        nats: NatsConfigC,
      }),
      node: NodeTunablesC,
      connectors: ConnectorsC,
      alerts: AlertsConfigC,
    }),
  ],
  "a distributor configuration",
);
export type DistributorConfigFile = t.TypeOf<typeof DistributorConfigC>;

export interface DistributorConfig {
  readonly file: DistributorConfigFile;
  /** Where it came from (a path, or `configuration`). */
  readonly source: string;
  readonly id: string;
  /** `<version label>+<first 12 hex of the SHA-256 of the canonical JSON>`: changes with any edit. */
  readonly version: string;
  readonly dataDir: string;
  readonly regions: readonly string[];
  readonly hubDomain: string;
  readonly masterData: MasterData;
}

const problem = (p: string, value: unknown, expected: string): DecodeError => ({
  path: p,
  value,
  expected,
  message: `${p}: got ${JSON.stringify(value)}, expected ${expected}`,
});

const sortedJson = (value: unknown): string =>
  JSON.stringify(value, (_k, v) =>
    isPlainObject(v)
      ? Object.fromEntries(
          Object.keys(v)
            .sort()
            .map((k) => [k, v[k]]),
        )
      : v,
  );

const idOf = (name: string): string =>
  name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-|-$/g, "") || "distributor";

/** Cross-checks what the codecs cannot: references between sections. */
const crossCheck = (f: DistributorConfigFile): DecodeError[] => {
  const problems: DecodeError[] = [];
  const regions = f.regions.map((r) => r.id);
  f.regions.forEach((r, i) => {
    if (regions.indexOf(r.id) !== i) problems.push(problem(`regions.${i}.id`, r.id, "a region id used once"));
  });
  if (regions.length === 0) problems.push(problem("regions", [], "at least one region"));
  const systems = new Map(f.systems.map((s) => [s.id, s]));
  f.systems.forEach((s, i) => {
    if (f.systems.findIndex((o) => o.id === s.id) !== i)
      problems.push(problem(`systems.${i}.id`, s.id, "a system id used once"));
    s.regions?.forEach((r, j) => {
      if (!regions.includes(r))
        problems.push(problem(`systems.${i}.regions.${j}`, r, `one of the regions (${regions.join(", ")})`));
    });
  });
  const known = (id: string) => systems.has(id) || id.startsWith("stockline-");
  f.locations.forEach((l, i) => {
    for (const system of Object.keys(l.codes ?? {}))
      if (!systems.has(system))
        problems.push(problem(`locations.${i}.codes.${system}`, system, "a system listed under systems"));
  });
  for (const system of Object.keys(f.statuses ?? {}))
    if (!systems.has(system))
      problems.push(problem(`statuses.${system}`, system, "a system listed under systems"));
  f.ownership?.rules.forEach((rule, i) => {
    rule.owners.forEach((owner, j) => {
      if (!known(owner))
        problems.push(
          problem(
            `ownership.rules.${i}.owners.${j}`,
            owner,
            "a system listed under systems (or stockline-expiry)",
          ),
        );
    });
  });
  const targets = new Set((f.postings?.targets ?? []).map((p) => p.id));
  f.postings?.targets.forEach((p, i) => {
    if (systems.get(p.system)?.kind !== "erp")
      problems.push(problem(`postings.targets.${i}.system`, p.system, "a system of kind erp"));
    if (p.kind === "d365-inventory-visibility" && (!p.environmentId || !p.organizationId))
      problems.push(
        problem(`postings.targets.${i}`, p.id, "environmentId and organizationId for a d365 target"),
      );
  });
  f.routing?.rules.forEach((rule, i) => {
    if (!targets.has(rule.target))
      problems.push(
        problem(`routing.rules.${i}.target`, rule.target, `a posting target (${[...targets].join(", ")})`),
      );
  });
  f.simulators?.forEach((s, i) => {
    if (!targets.has(s.target))
      problems.push(
        problem(`simulators.${i}.target`, s.target, `a posting target (${[...targets].join(", ")})`),
      );
  });
  f.connectors?.sources.forEach((c, i) => {
    if (!systems.has(c.system))
      problems.push(problem(`connectors.sources.${i}.system`, c.system, "a system listed under systems"));
    if (f.connectors?.sources.findIndex((o) => o.system === c.system) !== i)
      problems.push(problem(`connectors.sources.${i}.system`, c.system, "one connector source per system"));
    if (c.format === "epcis" && !c.epcisSchemaFile)
      problems.push(
        problem(`connectors.sources.${i}.epcisSchemaFile`, undefined, "the path of GS1's EPCIS JSON Schema"),
      );
    if (c.format === "shopify" && !c.shopify && c.http !== false)
      problems.push(
        problem(`connectors.sources.${i}.shopify`, undefined, "{ secretEnv } for Shopify webhooks over HTTP"),
      );
  });
  f.api?.keys?.forEach((k, i) => {
    for (const system of k.systems ?? [])
      if (!known(system))
        problems.push(problem(`api.keys.${i}.systems`, system, "a system listed under systems"));
  });
  problems.push(...alertsProblems(f.alerts));
  return problems;
};

/**
 * What the version's digest covers: the distributor's world and rules, not where its servers run. NATS
 * endpoints and credentials and the data folder are left out, so the parts that `stockline up` starts
 * from its runtime copy (servers filled in) show the version of the file the operator gave.
 */
const describedWorld = (f: DistributorConfigFile): unknown => {
  const { dataDir: _dataDir, nats: _nats, ...rest } = f;
  return {
    ...rest,
    regions: f.regions.map(({ nats: _n, ...r }) => r),
    systems: f.systems.map(({ nats: _n, ...s }) => s),
    ...(f.api ? { api: (({ nats: _n, ...a }) => a)(f.api) } : {}),
  };
};

/** Decodes, cross-checks and indexes a distributor configuration; errors name field, value and expectation. */
export const resolveDistributorConfig = (
  raw: unknown,
  source = "configuration",
  opts: { readonly baseDir?: string } = {},
): DistributorConfig => {
  const decoded = DistributorConfigC.decode(raw);
  if (E.isLeft(decoded))
    throw new ConfigError(source, toDecodeErrors(decoded.left), "distributor configuration");
  const f = decoded.right;
  const problems = crossCheck(f);
  if (f.ownership) {
    const policy = decodeOwnershipPolicy(f.ownership);
    if (E.isLeft(policy)) problems.push(...policy.left.map((e) => ({ ...e, path: `ownership.${e.path}` })));
  }
  const regions = f.regions.map((r) => r.id);
  const md = decodeMasterData(
    {
      locations: f.locations,
      ...(f.products ? { products: f.products } : {}),
      ...(f.statuses ? { statuses: f.statuses } : {}),
    },
    { regions },
  );
  if (E.isLeft(md)) problems.push(...md.left);
  if (problems.length > 0 || E.isLeft(md))
    throw new ConfigError(source, problems, "distributor configuration");
  const id = f.distributor.id ?? idOf(f.distributor.name);
  const digest = createHash("sha256")
    .update(sortedJson(describedWorld(f)))
    .digest("hex")
    .slice(0, 12);
  const baseDir = opts.baseDir ?? process.cwd();
  return {
    file: f,
    source,
    id,
    version: `${f.version ?? "unversioned"}+${digest}`,
    dataDir: path.resolve(baseDir, f.dataDir ?? path.join(".data", id)),
    regions,
    hubDomain: f.nats?.hubDomain ?? "hub",
    masterData: md.right,
  };
};

/** Reads and resolves a configuration file (relative paths inside it are relative to the working directory). */
export const loadDistributorConfig = (file: string): DistributorConfig => {
  const { source, raw } = readConfigFile(
    file,
    "distributor configuration",
    (s, errors) => new ConfigError(s, errors, "distributor configuration"),
  );
  return resolveDistributorConfig(raw, source);
};
