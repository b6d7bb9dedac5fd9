/**
 * How a stockline process proves who it is to NATS, one codec for every process (node, API, CLI).
 *
 * The configuration names where a secret is, never the secret: a user's password, a token, an nkey
 * seed or a `.creds` file come from a file or an environment variable, so a committed config file
 * holds only paths and variable names (and nothing to redact in a log of it). The secret is read when
 * the connection is made (`natsConnectAuth`) and lives only in the connection's options.
 * TLS: a CA file (verify the server), optionally a client certificate and key (mutual TLS).
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { type ConnectionOptions, credsAuthenticator, nkeyAuthenticator } from "@nats-io/transport-node";
import * as E from "fp-ts/lib/Either.js";
import * as t from "io-ts";
import { type DecodeError, toDecodeErrors } from "../../domain/decode-errors.ts";
import { NonEmptyStringC } from "../../domain/scalars.ts";
import { ConfigError, type EnvOverride } from "./config-loading.ts";

export const NatsTlsC = t.partial({
  /** CA certificate(s) the server's certificate must chain to. */
  caFile: NonEmptyStringC,
  /** Client certificate and key, for servers that verify clients (`verify: true`). */
  certFile: NonEmptyStringC,
  keyFile: NonEmptyStringC,
});

/** The credential fields of a `nats` block: at most one way to authenticate, secrets by reference. */
export const NatsAuthC = t.partial({
  user: NonEmptyStringC,
  passwordFile: NonEmptyStringC,
  /** Name of the environment variable holding the password. */
  passwordEnv: NonEmptyStringC,
  tokenFile: NonEmptyStringC,
  tokenEnv: NonEmptyStringC,
  /** A user nkey seed (`SU...`), the server knowing the public key. */
  nkeySeedFile: NonEmptyStringC,
  nkeySeedEnv: NonEmptyStringC,
  /** A `.creds` file (user JWT and seed) from `nsc`. */
  credsFile: NonEmptyStringC,
  tls: NatsTlsC,
  /** Prefix of the connection's reply subjects, where a server lets each user read only its own. */
  inboxPrefix: NonEmptyStringC,
});
export type NatsAuth = t.TypeOf<typeof NatsAuthC>;

/** A process's `nats` block: servers, client name and credentials. */
export const NatsConfigC = t.intersection([
  t.partial({ servers: t.array(NonEmptyStringC), name: NonEmptyStringC }),
  NatsAuthC,
]);
export type NatsConfigFile = t.TypeOf<typeof NatsConfigC>;

/** The credential fields of a decoded `nats` block, checked and with resolved paths. */
export const natsAuthOf = (f: NatsConfigFile | undefined, source: string, prefix = "nats"): NatsAuth => {
  if (!f) return {};
  const { servers: _s, name: _n, ...auth } = f;
  return resolveNatsAuth(auth, source, prefix);
};

/** Environment overrides of the credential fields (file paths and user, never a secret itself). */
export const natsAuthEnvPaths = (prefix: string, at: readonly string[]): EnvOverride[] =>
  (
    [
      ["USER", ["user"]],
      ["PASSWORD_FILE", ["passwordFile"]],
      ["TOKEN_FILE", ["tokenFile"]],
      ["NKEY_SEED_FILE", ["nkeySeedFile"]],
      ["CREDS_FILE", ["credsFile"]],
      ["INBOX_PREFIX", ["inboxPrefix"]],
      ["TLS_CA_FILE", ["tls", "caFile"]],
      ["TLS_CERT_FILE", ["tls", "certFile"]],
      ["TLS_KEY_FILE", ["tls", "keyFile"]],
    ] as const
  ).map(([env, keys]) => [`${prefix}_${env}`, [...at, ...keys], "string"] as const);

const FILE_FIELDS = ["passwordFile", "tokenFile", "nkeySeedFile", "credsFile"] as const;

const fieldError = (p: string, value: unknown, expected: string): DecodeError => ({
  path: p,
  value,
  expected,
  message: `${p}: expected ${expected}`,
});

/**
 * Checks that the fields make one way of authenticating and resolves file paths; `prefix` is where the
 * block sits in its configuration (e.g. `nats`) for the error messages.
 */
export const resolveNatsAuth = (auth: NatsAuth, source: string, prefix = "nats"): NatsAuth => {
  const methods = [
    auth.user !== undefined ? "user" : undefined,
    auth.tokenFile !== undefined || auth.tokenEnv !== undefined ? "token" : undefined,
    auth.nkeySeedFile !== undefined || auth.nkeySeedEnv !== undefined ? "nkey" : undefined,
    auth.credsFile !== undefined ? "creds" : undefined,
  ].filter((m) => m !== undefined);
  const errors: DecodeError[] = [];
  if (methods.length > 1)
    errors.push(fieldError(prefix, methods.join(", "), "at most one of user, token, nkeySeed, credsFile"));
  const hasPassword = auth.passwordFile !== undefined || auth.passwordEnv !== undefined;
  if (hasPassword && auth.user === undefined)
    errors.push(fieldError(`${prefix}.user`, undefined, "a user name with passwordFile/passwordEnv"));
  for (const [file, env] of [
    ["passwordFile", "passwordEnv"],
    ["tokenFile", "tokenEnv"],
    ["nkeySeedFile", "nkeySeedEnv"],
  ] as const)
    if (auth[file] !== undefined && auth[env] !== undefined)
      errors.push(fieldError(`${prefix}.${file}`, auth[file], `either ${file} or ${env}, not both`));
  if (auth.tls && (auth.tls.certFile === undefined) !== (auth.tls.keyFile === undefined))
    errors.push(fieldError(`${prefix}.tls`, auth.tls, "certFile and keyFile together"));
  if (errors.length > 0) throw new ConfigError(source, errors);
  const out: Record<string, unknown> = { ...auth };
  for (const f of FILE_FIELDS) if (auth[f] !== undefined) out[f] = path.resolve(auth[f]);
  if (auth.tls) out.tls = Object.fromEntries(Object.entries(auth.tls).map(([k, v]) => [k, path.resolve(v)]));
  return out as NatsAuth;
};

/** Decodes a raw `nats` credential block (e.g. from the environment of a CLI command). */
export const decodeNatsAuth = (raw: unknown, source: string, prefix = "nats"): NatsAuth => {
  const decoded = NatsAuthC.decode(raw);
  if (E.isLeft(decoded))
    throw new ConfigError(
      source,
      toDecodeErrors(decoded.left).map((e) => ({ ...e, path: `${prefix}.${e.path}` })),
    );
  return resolveNatsAuth(decoded.right, source, prefix);
};

/**
 * The credentials a CLI command takes from its environment, `<P>` being e.g. `STOCKLINE_NATS`:
 * `<P>_USER` with `<P>_PASSWORD` or `<P>_PASSWORD_FILE`, `<P>_TOKEN[_FILE]`, `<P>_NKEY_SEED[_FILE]`,
 * `<P>_CREDS_FILE`, `<P>_TLS_CA_FILE`, `<P>_TLS_CERT_FILE`, `<P>_TLS_KEY_FILE`, `<P>_INBOX_PREFIX`.
 */
export const natsAuthFromEnv = (env: NodeJS.ProcessEnv, prefix = "STOCKLINE_NATS"): NatsAuth => {
  const v = (suffix: string): string | undefined => {
    const value = env[`${prefix}_${suffix}`];
    return value === undefined || value === "" ? undefined : value;
  };
  const raw: Record<string, unknown> = {};
  const set = (key: string, value: string | undefined) => {
    if (value !== undefined) raw[key] = value;
  };
  set("user", v("USER"));
  set("passwordFile", v("PASSWORD_FILE"));
  if (v("PASSWORD") !== undefined) raw.passwordEnv = `${prefix}_PASSWORD`;
  set("tokenFile", v("TOKEN_FILE"));
  if (v("TOKEN") !== undefined) raw.tokenEnv = `${prefix}_TOKEN`;
  set("nkeySeedFile", v("NKEY_SEED_FILE"));
  if (v("NKEY_SEED") !== undefined) raw.nkeySeedEnv = `${prefix}_NKEY_SEED`;
  set("credsFile", v("CREDS_FILE"));
  set("inboxPrefix", v("INBOX_PREFIX"));
  const tls: Record<string, string> = {};
  for (const [k, s] of [
    ["caFile", "TLS_CA_FILE"],
    ["certFile", "TLS_CERT_FILE"],
    ["keyFile", "TLS_KEY_FILE"],
  ] as const) {
    const value = v(s);
    if (value !== undefined) tls[k] = value;
  }
  if (Object.keys(tls).length > 0) raw.tls = tls;
  return decodeNatsAuth(raw, `environment ${prefix}_*`, prefix);
};

/** Is anything set at all (a process without credentials connects anonymously, as before). */
export const hasNatsAuth = (auth: NatsAuth | undefined): boolean =>
  auth !== undefined && Object.keys(auth).length > 0;

const readSecret = (file: string, field: string): string => {
  try {
    return readFileSync(file, "utf8").trim();
  } catch (err) {
    throw new Error(`nats.${field} ${JSON.stringify(file)}: cannot be read (${(err as Error).message})`);
  }
};

const envSecret = (env: NodeJS.ProcessEnv, name: string, field: string): string => {
  const value = env[name];
  if (value === undefined || value === "")
    throw new Error(`nats.${field}: environment variable ${name} is not set`);
  return value;
};

/**
 * The connection options that carry the credentials, secrets read now from their file or variable.
 * Errors name the field and the file or variable, never the secret.
 */
export const natsConnectAuth = (
  auth: NatsAuth | undefined,
  env: NodeJS.ProcessEnv = process.env,
): Partial<ConnectionOptions> => {
  if (!auth) return {};
  const out: Partial<ConnectionOptions> = {};
  if (auth.user !== undefined) {
    out.user = auth.user;
    if (auth.passwordFile !== undefined) out.pass = readSecret(auth.passwordFile, "passwordFile");
    else if (auth.passwordEnv !== undefined) out.pass = envSecret(env, auth.passwordEnv, "passwordEnv");
  }
  if (auth.tokenFile !== undefined) out.token = readSecret(auth.tokenFile, "tokenFile");
  else if (auth.tokenEnv !== undefined) out.token = envSecret(env, auth.tokenEnv, "tokenEnv");
  const seed =
    auth.nkeySeedFile !== undefined
      ? readSecret(auth.nkeySeedFile, "nkeySeedFile")
      : auth.nkeySeedEnv !== undefined
        ? envSecret(env, auth.nkeySeedEnv, "nkeySeedEnv")
        : undefined;
  if (seed !== undefined) out.authenticator = nkeyAuthenticator(new TextEncoder().encode(seed));
  if (auth.credsFile !== undefined)
    out.authenticator = credsAuthenticator(new TextEncoder().encode(readSecret(auth.credsFile, "credsFile")));
  if (auth.tls) out.tls = { ...auth.tls };
  if (auth.inboxPrefix !== undefined) out.inboxPrefix = auth.inboxPrefix;
  return out;
};
