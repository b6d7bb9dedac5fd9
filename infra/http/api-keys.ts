/**
 * API keys: who a caller is (DESIGN §3, trust model in RUNBOOK "HTTP trust model").
 *
 * A key entry names a principal (`name`), its roles, the source systems or channels it may speak for
 * (`systems`, checked on command intake) and its secrets. Secrets are held only as SHA-256 digests:
 * API keys are random and long (at least `MIN_KEY_CHARS`), so an unsalted fast digest is what the
 * field uses for them (a password hash would only slow every request). A principal may have several
 * secrets at once (rotation: add the new one, move the clients, drop the old one). They come from:
 *   - `keySha256`: one digest or a list (`stockline keys hash` prints one);
 *   - `keyFile`: a file with one key per line (or `sha256:<hex>`), `#` comments;
 *   - `keyEnv`: an environment variable holding keys (or `sha256:<hex>`), comma separated;
 *   - `key`: a key in clear, for in-process composition and tests only (a config read from a file
 *     refuses it, so that no secret sits in a committed config).
 * A presented key is digested and compared with every digest in constant time (`timingSafeEqual`).
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import * as t from "io-ts";
import type { DecodeError } from "../../domain/decode-errors.ts";
import { NonEmptyStringC, PositiveIntC, Sha256HexC, SystemIdC } from "../../domain/scalars.ts";

export const ROLES = ["commerce", "warehouse", "operations", "finance"] as const;
export type Role = (typeof ROLES)[number];
export const RoleC = t.keyof(
  { commerce: null, warehouse: null, operations: null, finance: null },
  '"commerce" | "warehouse" | "operations" | "finance"',
);

/** Shortest key accepted in clear: 32 characters (e.g. 24 random bytes in base64url). */
export const MIN_KEY_CHARS = 32;

export const RateLimitC = t.type({ max: PositiveIntC, windowMs: PositiveIntC });

export const ApiKeyC = t.intersection([
  // The caller's name goes into idempotency keys and source systems: the limits of a system id.
  t.type({ name: SystemIdC, roles: t.array(RoleC) }),
  t.partial({
    key: NonEmptyStringC,
    keySha256: t.union([Sha256HexC, t.array(Sha256HexC)]),
    keyFile: NonEmptyStringC,
    keyEnv: NonEmptyStringC,
    /** Source systems or channels this key may post commands for (`source.system`). */
    systems: t.array(SystemIdC),
    /** The channel this key speaks for: its reservations are that channel's commands (`source.system`). */
    channel: SystemIdC,
    rateLimit: RateLimitC,
  }),
]);
export type ApiKeyEntry = t.TypeOf<typeof ApiKeyC>;

/** A key entry with its secrets resolved to digests. */
export interface ApiKeyConfig {
  readonly name: string;
  readonly roles: readonly Role[];
  /** Hex SHA-256 digests of the valid secrets (several during a rotation). */
  readonly keySha256: readonly string[];
  readonly systems: readonly string[];
  /** The channel this key speaks for (reservations placed with it are the channel's commands). */
  readonly channel?: string;
  readonly rateLimit?: { readonly max: number; readonly windowMs: number };
}

export const sha256Hex = (key: string): string => createHash("sha256").update(key, "utf8").digest("hex");

const err = (path: string, value: unknown, expected: string): DecodeError => ({
  path,
  value,
  expected,
  message: `${path}: expected ${expected}`,
});

/** One secret as written in a file or variable: a key in clear or `sha256:<hex>`. */
const secretDigest = (secret: string, where: string): string | DecodeError => {
  const s = secret.trim();
  if (s.startsWith("sha256:")) {
    const hex = s.slice(7);
    return Sha256HexC.is(hex) ? hex : err(where, "sha256:…", "sha256: and 64 lowercase hex characters");
  }
  // The key itself is never echoed: only its length.
  if (s.length < MIN_KEY_CHARS)
    return err(where, `(a key of ${s.length} characters)`, `a key of at least ${MIN_KEY_CHARS} characters`);
  return sha256Hex(s);
};

/**
 * Resolves key entries to digests; errors name the entry and where its secret came from, never the
 * secret. `allowClear`: whether `key` (a secret inline) is accepted.
 */
export const resolveApiKeys = (
  entries: readonly ApiKeyEntry[],
  opts: { env: NodeJS.ProcessEnv; allowClear: boolean; field?: string },
): { keys: ApiKeyConfig[]; errors: DecodeError[] } => {
  const field = opts.field ?? "apiKeys";
  const errors: DecodeError[] = [];
  const keys: ApiKeyConfig[] = [];
  entries.forEach((k, i) => {
    const at = `${field}.${i}`;
    const digests: string[] = [];
    const add = (d: string | DecodeError) => {
      if (typeof d === "string") digests.push(d);
      else errors.push(d);
    };
    if (k.roles.length === 0) errors.push(err(`${at}.roles`, k.roles, "at least one role"));
    if (k.key !== undefined) {
      if (!opts.allowClear)
        errors.push(
          err(`${at}.key`, "(a key)", "no key in clear in a config file: keyFile, keyEnv or keySha256"),
        );
      else add(secretDigest(k.key, `${at}.key`));
    }
    if (k.keySha256 !== undefined)
      digests.push(...(Array.isArray(k.keySha256) ? k.keySha256 : [k.keySha256]));
    if (k.keyFile !== undefined) {
      let text: string | undefined;
      try {
        text = readFileSync(k.keyFile, "utf8");
      } catch (e) {
        errors.push(
          err(
            `${at}.keyFile`,
            k.keyFile,
            `a readable file ${k.keyFile} (${(e as NodeJS.ErrnoException).code})`,
          ),
        );
      }
      const lines = text?.split("\n") ?? [];
      for (const [n, raw] of lines.entries()) {
        const line = raw.trim();
        if (line.length > 0 && !line.startsWith("#"))
          add(secretDigest(line, `${at}.keyFile ${k.keyFile} line ${n + 1}`));
      }
    }
    if (k.keyEnv !== undefined) {
      const value = opts.env[k.keyEnv];
      if (value === undefined || value.trim() === "")
        errors.push(err(`${at}.keyEnv`, k.keyEnv, `the environment variable ${k.keyEnv} set`));
      else
        for (const [n, item] of value.split(",").entries())
          if (item.trim().length > 0) add(secretDigest(item, `${at}.keyEnv ${k.keyEnv} item ${n + 1}`));
    }
    if (digests.length === 0 && !errors.some((e) => e.path.startsWith(at)))
      errors.push(err(at, k.name, "at least one secret: key, keySha256, keyFile or keyEnv"));
    keys.push({
      name: k.name,
      roles: k.roles,
      keySha256: [...new Set(digests)],
      systems: k.systems ?? [],
      ...(k.channel !== undefined ? { channel: k.channel } : {}),
      ...(k.rateLimit ? { rateLimit: k.rateLimit } : {}),
    });
  });
  const names = entries.map((k) => k.name);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup !== undefined) errors.push(err(field, dup, "unique key names"));
  const seen = new Map<string, string>();
  for (const k of keys)
    for (const d of k.keySha256) {
      const other = seen.get(d);
      if (other !== undefined && other !== k.name)
        errors.push(err(field, `${other} and ${k.name}`, "a secret used by one key name only"));
      seen.set(d, k.name);
    }
  return { keys, errors };
};

export interface Caller {
  readonly name: string;
  readonly roles: ReadonlySet<Role>;
  /** Source systems or channels the caller may post commands for. */
  readonly systems: ReadonlySet<string>;
  /** The channel the caller speaks for, when its key is bound to one. */
  readonly channel?: string;
  readonly rateLimit: { readonly max: number; readonly windowMs: number };
}

/** Resolves presented keys to callers by digest, in constant time over all digests. */
export class ApiKeyRing {
  private readonly entries: Array<{ digest: Uint8Array; caller: Caller }> = [];

  constructor(keys: readonly ApiKeyConfig[], defaultLimit: { max: number; windowMs: number }) {
    for (const k of keys) {
      const caller: Caller = {
        name: k.name,
        roles: new Set(k.roles),
        systems: new Set(k.systems),
        ...(k.channel !== undefined ? { channel: k.channel } : {}),
        rateLimit: k.rateLimit ?? defaultLimit,
      };
      for (const hex of k.keySha256)
        this.entries.push({ digest: new Uint8Array(Buffer.from(hex, "hex")), caller });
    }
  }

  resolve(presented: string): Caller | undefined {
    const digest = new Uint8Array(createHash("sha256").update(presented, "utf8").digest());
    let found: Caller | undefined;
    // Every digest is compared, so the time does not tell which entry (or whether any) matched.
    for (const e of this.entries) if (timingSafeEqual(e.digest, digest)) found ??= e.caller;
    return found;
  }
}
