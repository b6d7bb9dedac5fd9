/**
 * The anchor log of a region (issue 9, "Tamper evidence with an anchor"): an append-only file of JSON
 * lines, outside the event store, in which the regional node writes the head (revision, hash, global
 * position) of every stream that changed since the previous line. `stockline verify --anchor` holds
 * the store against it offline: a stream rewritten with every hash recomputed, or cut short, no longer
 * reaches what was anchored.
 *
 * The file is tamper-evident on its own:
 * - each line names the sha256 of the previous line's text (`prev`), and its `seq` and `from` follow
 *   the previous line's `seq` and `position`: a line edited, removed or moved breaks the next one;
 * - each line is keyed: HMAC-SHA256 over its canonical JSON without `mac` (appended as the last member),
 *   with a secret that lives neither in the repo nor next to the file (`key: "hmac-sha256:<key id>"`);
 *   a line written without a key says so (`key: "none"`) and verify warns that it can be forged.
 * - Lines cut from the END of the file cannot be seen from the file alone: keep a copy off the machine
 *   (RUNBOOK "Anchors"); verify warns when the store holds events long after the last line.
 *
 * Columns of an event row that the event hash does not cover are anchored too, per stream and line,
 * as 16-hex-digit sha256 digests over the rows the line covers: `t` over their `recorded_time`, `c` over
 * their global position and metadata. (Revision, event id, type and stream id are checked against the
 * hashed event itself, see services/audit/replay.ts `checkLink`.)
 */
import * as crypto from "node:crypto";
import { closeSync, createReadStream, fstatSync, openSync, readFileSync, readSync } from "node:fs";
import { createInterface } from "node:readline";
import * as E from "fp-ts/lib/Either.js";
import * as t from "io-ts";
import { canonicalJson, sha256Hex } from "../../domain/canonical-json.ts";
import { formatDecodeErrors, toDecodeErrors } from "../../domain/decode-errors.ts";
import { IsoTimestampC, NonNegativeIntC, PositiveIntC, RegionC, Sha256HexC } from "../../domain/scalars.ts";

export const ANCHOR_FORMAT = 1;
/** `prev` of the first line. */
export const ANCHOR_GENESIS = "0".repeat(64);
export const UNKEYED = "none";
/** A key shorter than this is refused (HMAC-SHA256: a 256-bit secret). */
export const MIN_ANCHOR_KEY_BYTES = 32;
export const DEFAULT_ANCHOR_KEY_ENV = "STOCKLINE_ANCHOR_KEY";

export const anchorFileName = (region: string): string => `${region}.anchors.jsonl`;

const Digest16C = new t.Type<string, string, unknown>(
  "16 lowercase hex digits",
  (u): u is string => typeof u === "string" && /^[0-9a-f]{16}$/.test(u),
  (u, c) => (typeof u === "string" && /^[0-9a-f]{16}$/.test(u) ? t.success(u) : t.failure(u, c)),
  t.identity,
);

/** One stream's head as anchored: `s` stream id, `r` revision, `h` event hash, `g` global position. */
const AnchoredHeadC = t.type({
  s: t.string,
  r: NonNegativeIntC,
  h: t.string,
  g: PositiveIntC,
  t: Digest16C,
  c: Digest16C,
});
export type AnchoredHeadEntry = t.TypeOf<typeof AnchoredHeadC>;

const AnchorLineC = t.intersection([
  t.type({
    v: t.literal(ANCHOR_FORMAT),
    region: RegionC,
    seq: PositiveIntC,
    at: IsoTimestampC,
    /** The line covers the global positions (from, position] of the store. */
    from: NonNegativeIntC,
    position: NonNegativeIntC,
    heads: t.array(AnchoredHeadC),
    prev: Sha256HexC,
    key: t.string,
  }),
  t.partial({ mac: Sha256HexC }),
]);
export type AnchorLine = t.TypeOf<typeof AnchorLineC>;
export type UnsealedLine = Omit<AnchorLine, "mac" | "key">;

// ---------------------------------------------------------------------------------------------
// Keys

export interface AnchorKey {
  /** Names the key in each line without revealing it (an HMAC of a fixed label). */
  readonly id: string;
  readonly secret: Uint8Array;
}

export const anchorKeyOf = (secret: Uint8Array, where: string): AnchorKey => {
  if (secret.length < MIN_ANCHOR_KEY_BYTES)
    throw new Error(
      `${where}: an anchor key of ${secret.length} bytes, expected at least ${MIN_ANCHOR_KEY_BYTES} (e.g. openssl rand -hex 32)`,
    );
  const id = crypto.createHmac("sha256", secret).update("stockline anchor key id").digest("hex").slice(0, 16);
  return { id, secret };
};

/**
 * The key from a file (its content, surrounding whitespace trimmed) or else from an environment
 * variable; undefined when neither is set. Errors name the file or variable, never the secret.
 */
export const loadAnchorKey = (opts: {
  keyFile?: string | undefined;
  keyEnv?: string | undefined;
  env?: NodeJS.ProcessEnv;
}): AnchorKey | undefined => {
  if (opts.keyFile !== undefined) {
    let text: string;
    try {
      text = readFileSync(opts.keyFile, "utf8");
    } catch (err) {
      throw new Error(`anchor key file ${opts.keyFile}: ${(err as Error).message}`);
    }
    return anchorKeyOf(new TextEncoder().encode(text.trim()), `anchor key file ${opts.keyFile}`);
  }
  const name = opts.keyEnv ?? DEFAULT_ANCHOR_KEY_ENV;
  const value = (opts.env ?? process.env)[name];
  if (value === undefined || value.trim() === "") return undefined;
  return anchorKeyOf(new TextEncoder().encode(value.trim()), `environment variable ${name}`);
};

const macOf = (key: AnchorKey, body: string): string =>
  crypto.createHmac("sha256", key.secret).update(body, "utf8").digest("hex");

// ---------------------------------------------------------------------------------------------
// Writing

export const digest16 = (text: string): string => sha256Hex(text).slice(0, 16);
/** `t` of a head: the `recorded_time` column of the rows a line covers, in revision order. */
export const recordedTimesDigest = (times: readonly string[]): string => digest16(times.join("\n"));
/**
 * One row's part of `columnsDigest`: the canonical JSON of its [global position, metadata] pair. A
 * row without metadata (most) needs no canonical form of its own.
 */
export const columnsPair = (position: number, metadata: unknown): string =>
  metadata === null && Number.isSafeInteger(position)
    ? `[${position},null]`
    : canonicalJson([position, metadata]);
/** `columnsDigest` of rows given as their `columnsPair`s (the anchorer writes them as it reads rows). */
export const columnsDigestOfPairs = (pairs: readonly string[]): string => digest16(`[${pairs.join(",")}]`);
/** `c` of a head: global position and metadata (null when none) of the rows a line covers. */
export const columnsDigest = (rows: readonly (readonly [number, unknown])[]): string =>
  columnsDigestOfPairs(rows.map(([position, metadata]) => columnsPair(position, metadata)));

/** The text of a line (canonical JSON, no newline), keyed when a key is given. */
export const sealLine = (line: UnsealedLine, key: AnchorKey | undefined): string => {
  const body = { ...line, key: key ? `hmac-sha256:${key.id}` : UNKEYED };
  const text = canonicalJson(body);
  // The MAC goes last, after the canonical body it covers (one serialisation per line).
  return key ? `${text.slice(0, -1)},"mac":"${macOf(key, text)}"}` : text;
};

export const lineHash = (text: string): string => sha256Hex(text);

// ---------------------------------------------------------------------------------------------
// Reading and checking the file itself

const lastByteIsNewline = (file: string): boolean => {
  const fd = openSync(file, "r");
  try {
    const size = fstatSync(fd).size;
    if (size === 0) return true;
    const b = new Uint8Array(1);
    readSync(fd, b, 0, 1, size - 1);
    return b[0] === 0x0a;
  } finally {
    closeSync(fd);
  }
};

/** A stream's head as one line anchored it. */
export interface AnchoredHead {
  readonly line: number;
  readonly at: string;
  readonly revision: number;
  readonly hash: string;
  readonly globalPosition: number;
  readonly recordedTimes: string;
  readonly columns: string;
}

export interface AnchorProblem {
  readonly line: number;
  readonly message: string;
}

export interface AnchorLog {
  readonly file: string;
  readonly region: string | undefined;
  /** Lines read and found sound: every line before the first problem. */
  readonly lines: number;
  readonly firstAt: string | undefined;
  readonly lastAt: string | undefined;
  /** Global position of the store covered by the last sound line. */
  readonly position: number;
  /** Anchored heads of each stream, in line order (increasing revisions). */
  readonly heads: ReadonlyMap<string, readonly AnchoredHead[]>;
  /** Problems of the file itself (reading stops at the first: nothing after it can be trusted). */
  readonly problems: readonly AnchorProblem[];
  readonly warnings: readonly string[];
  /** Whether every line's MAC was checked against a given key (false when no key was given). */
  readonly macsChecked: boolean;
}

/**
 * Reads an anchor log line by line and checks its own integrity: canonical JSON of the expected shape,
 * consecutive `seq`, `prev` = sha256 of the previous line, `from` = the previous `position`, one region,
 * revisions of a stream increasing, and each MAC with the given keys (by key id).
 */
export const readAnchorLog = (
  file: string,
  opts: { keys?: readonly AnchorKey[]; region?: string | undefined } = {},
): Promise<AnchorLog> =>
  readAnchorLines(
    file,
    createInterface({ input: createReadStream(file, "utf8"), crlfDelay: Number.POSITIVE_INFINITY }),
    lastByteIsNewline(file),
    opts,
  );

/** `readAnchorLog` of lines from anywhere (e.g. the JetStream copy); `file` names them in messages. */
export const readAnchorLines = async (
  file: string,
  source: AsyncIterable<string>,
  endsWithNewline: boolean,
  opts: { keys?: readonly AnchorKey[]; region?: string | undefined } = {},
): Promise<AnchorLog> => {
  const keys = new Map((opts.keys ?? []).map((k) => [k.id, k]));
  const heads = new Map<string, AnchoredHead[]>();
  const problems: AnchorProblem[] = [];
  const warnings: string[] = [];
  let region = opts.region;
  let prev: { seq: number; hash: string; position: number } = { seq: 0, hash: ANCHOR_GENESIS, position: 0 };
  let lines = 0;
  let firstAt: string | undefined;
  let lastAt: string | undefined;
  let unkeyed = 0;
  let keyedSeen = false;
  const unchecked = new Set<string>();
  let pendingTorn: { line: number; text: string } | undefined;

  let n = 0;
  const fail = (message: string) => problems.push({ line: n, message: `line ${n}: ${message}` });
  for await (const text of source) {
    n += 1;
    if (problems.length > 0) continue; // count the lines after the first problem only
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch {
      pendingTorn = { line: n, text };
      fail("is not JSON");
      continue;
    }
    const decoded = AnchorLineC.decode(raw);
    if (E.isLeft(decoded)) {
      fail(`is not an anchor line: ${formatDecodeErrors(toDecodeErrors(decoded.left))}`);
      continue;
    }
    const line = decoded.right;
    const { mac: _mac, ...unsealed } = raw as Record<string, unknown>;
    const body = canonicalJson(unsealed);
    if ((line.mac === undefined ? body : `${body.slice(0, -1)},"mac":"${line.mac}"}`) !== text) {
      fail("is not in the canonical form the node writes (it was edited)");
      continue;
    }
    region ??= line.region;
    if (line.region !== region) {
      fail(`anchors region ${line.region}, expected ${region}`);
      continue;
    }
    if (line.seq !== prev.seq + 1) {
      fail(`has seq ${line.seq}, expected ${prev.seq + 1}: a line was removed, inserted or moved`);
      continue;
    }
    if (line.prev !== prev.hash) {
      fail(
        `names previous line hash ${line.prev.slice(0, 12)}…, the previous line hashes to ${prev.hash.slice(0, 12)}…: ${
          n === 1 ? "the first line was replaced" : `line ${n - 1} was edited or replaced`
        }`,
      );
      continue;
    }
    if (line.from !== prev.position || line.position < line.from) {
      fail(`covers global positions (${line.from}, ${line.position}], expected to start at ${prev.position}`);
      continue;
    }
    if (line.key === UNKEYED) {
      // With a key in hand every line must carry its MAC: an unkeyed line is what a forger writes.
      if (keyedSeen || keys.size > 0) {
        fail(
          `is unkeyed${keys.size > 0 ? ", but the log was to be checked with a key" : " in a keyed log"} (a forged line?)`,
        );
        continue;
      }
      unkeyed += 1;
    } else {
      keyedSeen = true;
      const id = /^hmac-sha256:([0-9a-f]{16})$/.exec(line.key)?.[1];
      if (id === undefined || line.mac === undefined) {
        fail(`has key ${JSON.stringify(line.key)} and ${line.mac ? "a" : "no"} mac`);
        continue;
      }
      const key = keys.get(id);
      if (key === undefined && keys.size > 0) {
        fail(`is keyed with key ${id}, which is none of the keys given (${[...keys.keys()].join(", ")})`);
        continue;
      }
      if (key === undefined) unchecked.add(id);
      else {
        const want = new Uint8Array(Buffer.from(macOf(key, body), "hex"));
        if (!crypto.timingSafeEqual(want, new Uint8Array(Buffer.from(line.mac, "hex")))) {
          fail("has a MAC that does not match its content: the line was edited");
          continue;
        }
      }
    }
    const headProblem = line.heads
      .map((h) => {
        if (h.g <= line.from || h.g > line.position)
          return `head of ${h.s} at global position ${h.g} is outside the line's range (${line.from}, ${line.position}]`;
        const before = heads.get(h.s)?.at(-1);
        if (before && h.r <= before.revision)
          return `anchors ${h.s} at revision ${h.r}, line ${before.line} already at ${before.revision}`;
        return undefined;
      })
      .find((p) => p !== undefined);
    if (headProblem !== undefined) {
      fail(headProblem);
      continue;
    }
    for (const h of line.heads) {
      const list = heads.get(h.s) ?? [];
      list.push({
        line: line.seq,
        at: line.at,
        revision: h.r,
        hash: h.h,
        globalPosition: h.g,
        recordedTimes: h.t,
        columns: h.c,
      });
      heads.set(h.s, list);
    }
    lines += 1;
    firstAt ??= line.at;
    lastAt = line.at;
    prev = { seq: line.seq, hash: lineHash(text), position: line.position };
  }
  // A last line cut short by a crash while writing (no newline, not JSON) is not a forgery of its own.
  if (
    problems.length === 1 &&
    pendingTorn !== undefined &&
    pendingTorn.line === n &&
    problems[0]?.line === n &&
    !endsWithNewline
  ) {
    problems.pop();
    warnings.push(
      `line ${n} is incomplete (no newline, not JSON): the node stopped while writing it; the anchor ends at line ${n - 1}`,
    );
  }
  if (problems.length > 0 && n > (problems[0]?.line ?? n))
    warnings.push(`${n - (problems[0]?.line ?? n)} line(s) after line ${problems[0]?.line} were not read`);
  if (unkeyed > 0)
    warnings.push(
      `${unkeyed} line(s) are unkeyed (written without an anchor key): whoever can write ${file} can rewrite them consistently`,
    );
  for (const id of unchecked)
    warnings.push(
      `lines keyed with key ${id} were not authenticated: no such key given (--anchor-key-file or ${DEFAULT_ANCHOR_KEY_ENV})`,
    );
  return {
    file,
    region,
    lines,
    firstAt,
    lastAt,
    position: prev.position,
    heads,
    problems,
    warnings,
    macsChecked: keys.size > 0 && unchecked.size === 0 && unkeyed === 0,
  };
};
