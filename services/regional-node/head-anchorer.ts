/**
 * The head anchorer of a regional node (issue 9): every `everyMs` (and on a clean stop) it appends to
 * the region's anchor log (infra/anchor/anchor-log.ts), in a directory of its own, one line with the
 * head of every stream that changed since the previous line, read from the global log of the SQLite
 * store since the last anchored position. `stockline verify --anchor` holds the store against it.
 *
 * It reads the store through a read-only connection of its own (WAL: never in the writer's way), one
 * page of rows at a time: the columns outside the event hash of every row, and the event hash of each
 * stream's last row only (one indexed lookup per stream and line). A line is written with one
 * `write` and flushed with `datasync` before the anchorer moves on; a write that fails is cut off the
 * file before the next attempt, so the log never holds half a line followed by another.
 *
 * With `attachStream` every line is also copied to `INV_ANCHOR_<R>` (infra/anchor/anchor-stream.ts),
 * off the anchoring path: a NATS outage delays the copy (lines wait in memory, bounded), never the file.
 */
import { closeSync, createReadStream, fstatSync, mkdirSync, openSync, readSync } from "node:fs";
import { type FileHandle, open } from "node:fs/promises";
import path from "node:path";
import { createInterface } from "node:readline";
import type { JetStreamClient, JetStreamManager } from "@nats-io/jetstream";
import Database from "better-sqlite3";
import type { Logger } from "pino";
import {
  ANCHOR_FORMAT,
  ANCHOR_GENESIS,
  type AnchoredHeadEntry,
  type AnchorKey,
  anchorFileName,
  columnsDigestOfPairs,
  columnsPair,
  lineHash,
  recordedTimesDigest,
  sealLine,
} from "../../infra/anchor/anchor-log.ts";
import {
  anchorStreamName,
  ensureAnchorStream,
  lastStreamedLine,
  publishAnchorLine,
} from "../../infra/anchor/anchor-stream.ts";

/** Lines waiting for the stream copy at most; past it the copy stops until a restart catches it up. */
const MAX_PENDING_COPIES = 10_000;

export interface HeadAnchorerOptions {
  readonly region: string;
  /** The node's SQLite event store. */
  readonly storePath: string;
  /** Directory of the anchor log (`<region>.anchors.jsonl`); keep it apart from the data dir. */
  readonly dir: string;
  readonly everyMs: number;
  readonly key: AnchorKey | undefined;
  readonly logger?: Logger;
  /** Rows per line at most (a line that catches up on a long log is split). */
  readonly maxRowsPerLine?: number;
}

type Row = [
  globalPosition: number,
  streamId: string,
  revision: number,
  metadata: string | null,
  recorded: string,
];

/** The last complete line of a file and where a torn last line (no newline) starts, if any. */
const readTail = (file: string): { last: string | undefined; tornAt: number | undefined; size: number } => {
  let fd: number;
  try {
    fd = openSync(file, "r");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT")
      return { last: undefined, tornAt: undefined, size: 0 };
    throw err;
  }
  try {
    const size = fstatSync(fd).size;
    let start = size;
    let buf = new Uint8Array(0);
    for (;;) {
      const lastNl = buf.lastIndexOf(0x0a);
      const prevNl = lastNl > 0 ? buf.lastIndexOf(0x0a, lastNl - 1) : -1;
      if ((lastNl >= 0 && prevNl >= 0) || start === 0) {
        const torn = lastNl + start === size - 1 ? undefined : lastNl < 0 ? start : start + lastNl + 1;
        const last = lastNl < 0 ? undefined : new TextDecoder().decode(buf.subarray(prevNl + 1, lastNl));
        return { last, tornAt: torn === undefined || torn >= size ? undefined : torn, size };
      }
      const n = Math.min(1 << 16, start);
      start -= n;
      const joined = new Uint8Array(n + buf.length);
      readSync(fd, joined, 0, n, start);
      joined.set(buf, n);
      buf = joined;
    }
  } finally {
    closeSync(fd);
  }
};

export class HeadAnchorer {
  readonly file: string;
  private readonly opts: HeadAnchorerOptions;
  private readonly db: Database.Database;
  private readonly rows;
  private readonly hashAt;
  private fh: FileHandle | undefined;
  private seq: number;
  private prev: string;
  private position: number;
  /** File size after the last line written whole. */
  private size: number;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<number> = Promise.resolve(0);
  private closed = false;
  private copy: { js: JetStreamClient; pending: { seq: number; text: string }[] } | undefined;
  private copying: Promise<void> = Promise.resolve();

  private constructor(
    opts: HeadAnchorerOptions,
    resume: { seq: number; prev: string; position: number; size: number },
  ) {
    this.opts = opts;
    this.file = path.join(opts.dir, anchorFileName(opts.region));
    this.seq = resume.seq;
    this.prev = resume.prev;
    this.position = resume.position;
    this.size = resume.size;
    this.db = new Database(opts.storePath, { readonly: true, fileMustExist: true });
    this.rows = this.db
      .prepare<[number, number], Row>(
        "SELECT global_position, stream_id, revision, metadata, recorded_time FROM events WHERE global_position > ? ORDER BY global_position LIMIT ?",
      )
      .raw(true);
    this.hashAt = this.db
      .prepare<[number], unknown>(
        "SELECT CASE WHEN json_valid(data) THEN json_extract(data, '$.hash') END FROM events WHERE global_position = ?",
      )
      .pluck(true);
  }

  /**
   * Opens the region's anchor log and resumes after its last line. Refuses a store that ends before
   * the anchored position: it was truncated or replaced (verify it; move the anchor aside for a restore).
   */
  static async open(opts: HeadAnchorerOptions): Promise<HeadAnchorer> {
    mkdirSync(opts.dir, { recursive: true });
    const file = path.join(opts.dir, anchorFileName(opts.region));
    const tail = readTail(file);
    let resume = { seq: 0, prev: ANCHOR_GENESIS, position: 0, size: tail.tornAt ?? tail.size };
    if (tail.last !== undefined) {
      let line: { seq?: unknown; position?: unknown; region?: unknown };
      try {
        line = JSON.parse(tail.last) as typeof line;
      } catch {
        throw new Error(
          `anchor log ${file}: its last line is not JSON; check it with stockline verify --anchor`,
        );
      }
      if (typeof line.seq !== "number" || typeof line.position !== "number" || line.region !== opts.region)
        throw new Error(`anchor log ${file}: its last line is not an anchor line of region ${opts.region}`);
      resume = { seq: line.seq, prev: lineHash(tail.last), position: line.position, size: resume.size };
    }
    const anchorer = new HeadAnchorer(opts, resume);
    try {
      const head =
        (anchorer.db.prepare("SELECT MAX(global_position) FROM events").pluck().get() as number | null) ?? 0;
      if (head < resume.position)
        throw new Error(
          `anchor log ${file} anchors ${opts.storePath} up to global position ${resume.position}, but the store ends at ${head}: it was truncated or replaced. Check it with stockline verify --anchor; after restoring a backup, move the anchor log aside`,
        );
      anchorer.fh = await open(file, "a");
      if (tail.tornAt !== undefined) {
        opts.logger?.warn({ file, at: tail.tornAt }, "anchor log ends with an incomplete line: cut off");
        await anchorer.fh.truncate(tail.tornAt);
      }
    } catch (err) {
      anchorer.db.close();
      await anchorer.fh?.close();
      throw err;
    }
    if (!opts.key)
      opts.logger?.warn({ file }, "anchor lines are unkeyed: set an anchor key to make them unforgeable");
    return anchorer;
  }

  /**
   * Copies every line to `INV_ANCHOR_<R>` from now on, after bringing the stream up to the file.
   * Refuses a file that ends before the stream: its end was cut (restore it from the stream).
   */
  async attachStream(js: JetStreamClient, jsm: JetStreamManager): Promise<void> {
    const { region } = this.opts;
    await ensureAnchorStream(jsm, region);
    const streamed = await lastStreamedLine(jsm, region);
    if (streamed > this.seq)
      throw new Error(
        `anchor log ${this.file} ends at line ${this.seq}, but ${anchorStreamName(region)} holds line ${streamed}: the end of the file was cut; restore it from the stream`,
      );
    if (streamed < this.seq) {
      const lines = createInterface({ input: createReadStream(this.file, "utf8"), crlfDelay: Infinity });
      for await (const text of lines) {
        const seq = (JSON.parse(text) as { seq: number }).seq;
        if (seq > streamed) await publishAnchorLine(js, region, seq, text);
      }
      this.opts.logger?.info({ from: streamed + 1, to: this.seq }, "anchor stream caught up with the file");
    }
    this.copy = { js, pending: [] };
  }

  /** Global position of the store covered by the last line written. */
  get anchoredPosition(): number {
    return this.position;
  }

  start(): void {
    if (this.timer || this.closed) return;
    this.timer = setInterval(() => {
      void this.anchor().catch((err: unknown) =>
        this.opts.logger?.error({ err, file: this.file }, "anchoring failed"),
      );
    }, this.opts.everyMs);
    this.timer.unref();
  }

  /** Writes the lines that bring the anchor up to the store's head; resolves with how many. */
  anchor(): Promise<number> {
    const next = this.running.catch(() => 0).then(() => this.catchUp());
    this.running = next;
    return next;
  }

  /** Anchors what is committed, then closes. Idempotent. */
  async stop(): Promise<void> {
    if (this.closed) return;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    try {
      await this.anchor();
      await this.copying;
    } finally {
      this.closed = true;
      await this.fh?.close();
      this.db.close();
    }
  }

  private async catchUp(): Promise<number> {
    if (this.closed || !this.fh) return 0;
    const max = this.opts.maxRowsPerLine ?? 5000;
    let written = 0;
    for (;;) {
      const rows = this.rows.all(this.position, max);
      if (rows.length === 0) return written;
      await this.write(this.lineOf(rows));
      written += 1;
      if (rows.length < max) return written;
      await new Promise((r) => setImmediate(r)); // a long catch-up yields between lines
    }
  }

  private lineOf(rows: readonly Row[]) {
    const byStream = new Map<string, { r: number; g: number; times: string[]; cols: string[] }>();
    for (const [g, s, r, metadata, recorded] of rows) {
      // Each row's part of `columnsDigest` as it is read: no pairs kept to be serialised again.
      const col = columnsPair(g, metadata === null ? null : parseOrText(metadata));
      let acc = byStream.get(s);
      if (!acc) {
        acc = { r, g, times: [], cols: [] };
        byStream.set(s, acc);
      }
      acc.r = r;
      acc.g = g;
      acc.times.push(recorded);
      acc.cols.push(col);
    }
    const heads: AnchoredHeadEntry[] = [...byStream].map(([s, a]) => ({
      s,
      r: a.r,
      h: hashText(this.hashAt.get(a.g)),
      g: a.g,
      t: recordedTimesDigest(a.times),
      c: columnsDigestOfPairs(a.cols),
    }));
    const last = rows[rows.length - 1]!;
    return {
      v: ANCHOR_FORMAT as typeof ANCHOR_FORMAT,
      region: this.opts.region,
      seq: this.seq + 1,
      at: new Date().toISOString(),
      from: this.position,
      position: last[0],
      heads,
      prev: this.prev,
    };
  }

  private async write(line: ReturnType<HeadAnchorer["lineOf"]>): Promise<void> {
    const fh = this.fh!;
    const text = sealLine(line, this.opts.key);
    const bytes = new TextEncoder().encode(`${text}\n`);
    try {
      await fh.write(bytes);
      await fh.datasync();
    } catch (err) {
      await fh.truncate(this.size).catch(() => {});
      throw err;
    }
    this.size += bytes.length;
    this.seq = line.seq;
    this.prev = lineHash(text);
    this.position = line.position;
    if (this.copy) {
      this.copy.pending.push({ seq: line.seq, text });
      this.copying = this.copying.then(() => this.flushCopies());
    }
  }

  /** Publishes the waiting lines in order; on a failure the rest wait for the next line. */
  private async flushCopies(): Promise<void> {
    const copy = this.copy;
    if (!copy) return;
    while (copy.pending.length > 0) {
      const next = copy.pending[0]!;
      try {
        await publishAnchorLine(copy.js, this.opts.region, next.seq, next.text);
        copy.pending.shift();
      } catch (err) {
        this.opts.logger?.warn(
          { err, waiting: copy.pending.length },
          "anchor line not copied to its stream yet",
        );
        if (copy.pending.length > MAX_PENDING_COPIES) {
          this.opts.logger?.error(
            { waiting: copy.pending.length },
            "anchor stream copy stopped: too many lines waiting; a restart catches the stream up from the file",
          );
          this.copy = undefined;
        }
        return;
      }
    }
  }
}

/** An event without a string hash (not a canonical event) is anchored with "" (as verify reads it). */
const hashText = (hash: unknown): string => (typeof hash === "string" ? hash : "");

const parseOrText = (text: string): unknown => {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
};
