/**
 * Configuration of the availability and reservation API: a JSON file, then `STOCKLINE_API_*`
 * environment overrides, validated with io-ts (errors name field, value and what was expected).
 *
 * API keys carry roles; a role reaches only its routes (see `access-control.ts`). Their secrets are
 * digests (`keySha256`), a key file or an environment variable (infra/http/api-keys.ts); a key in
 * clear (`key`) only in a configuration built in-process, never in a file. Rate limits are per API
 * key: a key's own `rateLimit`, else the default.
 *
 * A key bound to a `channel` speaks for that channel: its reservations are commands whose
 * `source.system` is the channel, sent on `inv.req.<r>.<channel>`. On a secured NATS the API's user
 * must be allowed to publish there: give it every channel of `channels` (see CHANNELS.md).
 *
 * `products` (or `knownSku`, set in-process from the distributor's configuration) is the product
 * catalogue: availability and reservations of a SKU outside it are refused as unknown.
 */
import path from "node:path";
import * as E from "fp-ts/lib/Either.js";
import * as t from "io-ts";
import { type DecodeError, toDecodeErrors } from "../../domain/decode-errors.ts";
import {
  NonEmptyStringC,
  PositiveIntC,
  RegionC,
  ReservationTtlSecondsC,
  SkuC,
  SystemIdC,
} from "../../domain/scalars.ts";
import {
  applyEnv,
  ConfigError,
  type EnvOverride,
  PortC,
  readConfigFile,
} from "../../infra/config/config-loading.ts";
import { type NatsAuth, NatsConfigC, natsAuthEnvPaths, natsAuthOf } from "../../infra/config/nats-auth.ts";
import { ApiKeyC, type ApiKeyConfig, RateLimitC, resolveApiKeys } from "../../infra/http/api-keys.ts";

export { type ApiKeyConfig, ROLES, type Role, RoleC } from "../../infra/http/api-keys.ts";

/** A fraction in [0, 1): the share of a stale region's ATP withheld in degraded mode. */
const HaircutC = new t.Type<number, number, unknown>(
  "a number >= 0 and < 1 (e.g. 0.2 withholds 20%)",
  (u): u is number => typeof u === "number" && Number.isFinite(u) && u >= 0 && u < 1,
  (u, c) => (typeof u === "number" && Number.isFinite(u) && u >= 0 && u < 1 ? t.success(u) : t.failure(u, c)),
  t.identity,
);

export const ApiConfigFileC = t.intersection([
  t.type({ regions: t.array(RegionC), apiKeys: t.array(ApiKeyC) }),
  t.partial({
    http: t.partial({ host: NonEmptyStringC, port: PortC }),
    /** The hub's NATS (reservations go to `inv.req.<r>` across the leaf links). */
    nats: NatsConfigC,
    /** Folder of `api.db` (reservation index, idempotency, degraded holds). */
    dataDir: NonEmptyStringC,
    rateLimit: RateLimitC,
    reservations: t.partial({
      defaultTtlSeconds: ReservationTtlSecondsC,
      maxTtlSeconds: ReservationTtlSecondsC,
      /** How long to wait for the regional node's decision. */
      requestTimeoutMs: PositiveIntC,
      /** Candidate locations tried per "any location in a region" reservation. */
      maxCandidates: PositiveIntC,
    }),
    degraded: t.partial({
      /** A region out of sync for longer than this is stale (also the global projector's threshold). */
      staleAfterMs: PositiveIntC,
      haircut: HaircutC,
      /** How often held reservations are retried against their region. */
      reconcileEveryMs: PositiveIntC,
    }),
    /** Availability cache entries (SKU × region filter). */
    cacheEntries: PositiveIntC,
    /** The product catalogue: SKUs outside it are unknown (404 on availability, refused reservations). */
    products: t.array(SkuC),
    /**
     * The channels the API may speak for (its NATS user's systems besides its own); every key's
     * `channel` must be one of them. Default: the channels of the keys.
     */
    channels: t.array(SystemIdC),
  }),
]);
export type ApiConfigFile = t.TypeOf<typeof ApiConfigFileC>;

export interface ApiConfig {
  readonly regions: readonly string[];
  readonly apiKeys: readonly ApiKeyConfig[];
  readonly http: { readonly host: string; readonly port: number };
  readonly nats: { readonly servers: readonly string[]; readonly name: string; readonly auth: NatsAuth };
  readonly dataDir: string;
  readonly rateLimit: { readonly max: number; readonly windowMs: number };
  readonly reservations: {
    readonly defaultTtlSeconds: number;
    readonly maxTtlSeconds: number;
    readonly requestTimeoutMs: number;
    readonly maxCandidates: number;
  };
  readonly degraded: {
    readonly staleAfterMs: number;
    readonly haircut: number;
    readonly reconcileEveryMs: number;
  };
  readonly cacheEntries: number;
  /** Channels the API speaks for (the `channel` of its keys): its NATS user must publish as each. */
  readonly channels: readonly string[];
  /**
   * Whether a SKU is in the product catalogue; absent: no catalogue (a SKU never seen is answered
   * with zeros and `known: false`).
   */
  readonly knownSku?: (sku: string) => boolean;
}

/** The `source.system` values the API's NATS user must be allowed to send as (`api: { systems }`). */
export const natsSystemsOfApi = (config: ApiConfig, sourceSystem: string): string[] => [
  ...new Set([sourceSystem, ...config.channels]),
];

export class ApiConfigError extends ConfigError {
  constructor(source: string, errors: readonly DecodeError[]) {
    super(source, errors, "API configuration");
    this.name = "ApiConfigError";
  }
}

const configError = (source: string, p: string, value: unknown, expected: string): ApiConfigError =>
  new ApiConfigError(source, [{ path: p, value, expected, message: `${p}: expected ${expected}` }]);

/** Decodes a raw configuration object and fills the defaults. */
export const resolveApiConfig = (
  raw: unknown,
  source = "configuration",
  opts: { env?: NodeJS.ProcessEnv; allowClearKeys?: boolean } = {},
): ApiConfig => {
  const decoded = ApiConfigFileC.decode(raw);
  if (E.isLeft(decoded)) throw new ApiConfigError(source, toDecodeErrors(decoded.left));
  const f = decoded.right;
  const keys = resolveApiKeys(f.apiKeys, {
    env: opts.env ?? process.env,
    allowClear: opts.allowClearKeys ?? true,
  });
  if (keys.errors.length > 0) throw new ApiConfigError(source, keys.errors);
  const keyChannels = [...new Set(keys.keys.flatMap((k) => (k.channel !== undefined ? [k.channel] : [])))];
  if (f.channels) {
    const allowed = f.channels;
    const i = keys.keys.findIndex((k) => k.channel !== undefined && !allowed.includes(k.channel));
    if (i >= 0) {
      const p = `apiKeys.${i}.channel`;
      const value = keys.keys[i]!.channel;
      const expected = `one of the channels the API speaks for (channels: ${allowed.join(", ")})`;
      throw new ApiConfigError(source, [
        { path: p, value, expected, message: `${p}: got ${JSON.stringify(value)}, expected ${expected}` },
      ]);
    }
  }
  const defaultTtl = f.reservations?.defaultTtlSeconds ?? 15 * 60;
  const maxTtl = f.reservations?.maxTtlSeconds ?? 7 * 24 * 3600;
  if (defaultTtl > maxTtl)
    throw configError(
      source,
      "reservations.defaultTtlSeconds",
      defaultTtl,
      `at most maxTtlSeconds (${maxTtl})`,
    );
  return {
    regions: f.regions,
    apiKeys: keys.keys,
    http: { host: f.http?.host ?? "127.0.0.1", port: f.http?.port ?? 0 },
    nats: {
      servers: f.nats?.servers ?? ["nats://127.0.0.1:4222"],
      name: f.nats?.name ?? "stockline-api",
      auth: natsAuthOf(f.nats, source),
    },
    dataDir: path.resolve(f.dataDir ?? path.join(".data", "api")),
    rateLimit: f.rateLimit ?? { max: 1000, windowMs: 1000 },
    reservations: {
      defaultTtlSeconds: defaultTtl,
      maxTtlSeconds: maxTtl,
      requestTimeoutMs: f.reservations?.requestTimeoutMs ?? 5_000,
      maxCandidates: f.reservations?.maxCandidates ?? 5,
    },
    degraded: {
      staleAfterMs: f.degraded?.staleAfterMs ?? 15_000,
      haircut: f.degraded?.haircut ?? 0.2,
      reconcileEveryMs: f.degraded?.reconcileEveryMs ?? 2_000,
    },
    cacheEntries: f.cacheEntries ?? 100_000,
    channels: f.channels ?? keyChannels,
    ...(f.products ? { knownSku: catalogue(f.products) } : {}),
  };
};

const catalogue = (products: readonly string[]): ((sku: string) => boolean) => {
  const set = new Set(products);
  return (sku) => set.has(sku);
};

const ENV: readonly EnvOverride[] = [
  ["STOCKLINE_API_NATS_SERVERS", ["nats", "servers"], "list"],
  ...natsAuthEnvPaths("STOCKLINE_API_NATS", ["nats"]),
  ["STOCKLINE_API_HTTP_HOST", ["http", "host"], "string"],
  ["STOCKLINE_API_HTTP_PORT", ["http", "port"], "number"],
  ["STOCKLINE_API_DATA_DIR", ["dataDir"], "string"],
  ["STOCKLINE_API_REGIONS", ["regions"], "list"],
];

/** Loads the configuration: the JSON file, then `STOCKLINE_API_*` variables. */
export const loadApiConfig = (file: string | undefined, env: NodeJS.ProcessEnv = process.env): ApiConfig => {
  const { source, raw } = readConfigFile(
    file,
    "API configuration",
    (source, errors) => new ApiConfigError(source, errors),
  );
  // A file is committed or copied around: its secrets are digests, a key file or a variable.
  return resolveApiConfig(applyEnv(raw, env, ENV), source, { env, allowClearKeys: file === undefined });
};
