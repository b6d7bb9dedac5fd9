/**
 * Configuration of the availability and reservation API: a JSON file, then `STOCKLINE_API_*`
 * environment overrides, validated with io-ts (errors name field, value and what was expected).
 *
 * API keys carry roles; a role reaches only its routes (see `access-control.ts`). A key is given in
 * clear (`key`, local and tests) or as the hex SHA-256 of the key (`keySha256`, deployments). Rate
 * limits are per API key: a key's own `rateLimit`, else the default.
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
  Sha256HexC,
  SystemIdC,
} from "../../domain/scalars.ts";
import {
  applyEnv,
  ConfigError,
  type EnvOverride,
  PortC,
  readConfigFile,
} from "../../infra/config/config-loading.ts";
import {
  type NatsAuth,
  NatsConfigC,
  natsAuthEnvPaths,
  natsAuthOf,
} from "../../infra/config/nats-auth.ts";

export const ROLES = ["commerce", "warehouse", "operations", "finance"] as const;
export type Role = (typeof ROLES)[number];
export const RoleC = t.keyof(
  { commerce: null, warehouse: null, operations: null, finance: null },
  '"commerce" | "warehouse" | "operations" | "finance"',
);

/** A fraction in [0, 1): the share of a stale region's ATP withheld in degraded mode. */
const HaircutC = new t.Type<number, number, unknown>(
  "a number >= 0 and < 1 (e.g. 0.2 withholds 20%)",
  (u): u is number => typeof u === "number" && Number.isFinite(u) && u >= 0 && u < 1,
  (u, c) => (typeof u === "number" && Number.isFinite(u) && u >= 0 && u < 1 ? t.success(u) : t.failure(u, c)),
  t.identity,
);

const RateLimitC = t.type({ max: PositiveIntC, windowMs: PositiveIntC });

const ApiKeyC = t.intersection([
  // The caller's name goes into idempotency keys and source systems: the limits of a system id.
  t.type({ name: SystemIdC, roles: t.array(RoleC) }),
  t.partial({ key: NonEmptyStringC, keySha256: Sha256HexC, rateLimit: RateLimitC }),
]);
export type ApiKeyConfig = t.TypeOf<typeof ApiKeyC>;

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
}

export class ApiConfigError extends ConfigError {
  constructor(source: string, errors: readonly DecodeError[]) {
    super(source, errors, "API configuration");
    this.name = "ApiConfigError";
  }
}

const configError = (source: string, p: string, value: unknown, expected: string): ApiConfigError =>
  new ApiConfigError(source, [{ path: p, value, expected, message: `${p}: expected ${expected}` }]);

/** Decodes a raw configuration object and fills the defaults. */
export const resolveApiConfig = (raw: unknown, source = "configuration"): ApiConfig => {
  const decoded = ApiConfigFileC.decode(raw);
  if (E.isLeft(decoded)) throw new ApiConfigError(source, toDecodeErrors(decoded.left));
  const f = decoded.right;
  f.apiKeys.forEach((k, i) => {
    if ((k.key === undefined) === (k.keySha256 === undefined))
      throw configError(source, `apiKeys.${i}`, k.name, "exactly one of key or keySha256");
    if (k.roles.length === 0) throw configError(source, `apiKeys.${i}.roles`, k.roles, "at least one role");
  });
  const names = f.apiKeys.map((k) => k.name);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup !== undefined) throw configError(source, "apiKeys", dup, "unique key names");
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
    apiKeys: f.apiKeys,
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
  ...natsAuthEnvPaths("STOCKLINE_API_NATS", ["nats"]),
      reconcileEveryMs: f.degraded?.reconcileEveryMs ?? 2_000,
    },
    cacheEntries: f.cacheEntries ?? 100_000,
  };
};

const ENV: readonly EnvOverride[] = [
  ["STOCKLINE_API_NATS_SERVERS", ["nats", "servers"], "list"],
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
  return resolveApiConfig(applyEnv(raw, env, ENV), source);
};
