/**
 * A watched drop folder of one source (issue 11): EDI interchanges and balance snapshots arrive as
 * files. Each file is translated and sent (inbound-sender.ts), then moved to `done/` (every part
 * translated) or `failed/` (some part dead-lettered) with `<file>.report.json` beside it: the
 * commands' idempotency keys, each untranslatable part, and for X12 the 997 (also as `<file>.997`).
 * Files are never deleted.
 *
 * Watching: `fs.watch` wakes a scan, and a scan also runs every `rescanMs` (watch events are lost on
 * some file systems and across restarts). A file is taken once it has not changed for `settleMs`
 * (a sender still writing it is left alone); dot files and `*.tmp` / `*.part` are ignored, so a
 * sender may write under such a name and rename.
 *
 * When NATS does not acknowledge, the file stays and the next scan sends it again. When the move
 * fails after the commands were sent, the file is remembered (name, size, time) and not sent again
 * by this process; after a restart it would be, which is harmless: the same document gives the same
 * idempotency keys, so the node applies each command once, and its dead letters have the same ids.
 */
import { existsSync, type FSWatcher, watch } from "node:fs";
import { mkdir, readdir, readFile, rename, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import type { Logger } from "pino";
import type { TranslationContext } from "../../connectors/translation.ts";
import type { Arrival, InboundSender, SendReport } from "./inbound-sender.ts";
import type { InboundTranslator } from "./registry.ts";

export interface DropFolderOptions {
  readonly system: string;
  readonly format: string;
  readonly folder: string;
  readonly translate: InboundTranslator;
  readonly context: (receivedAt: string) => TranslationContext;
  readonly sender: InboundSender;
  readonly log: Logger;
  readonly settleMs?: number;
  readonly rescanMs?: number;
}

export interface FileOutcome {
  readonly file: string;
  readonly movedTo: "done" | "failed";
  readonly report: Record<string, unknown>;
}

const IGNORED = /^\.|\.(tmp|part|partial)$/i;

/** A name in `dir` that is not taken yet: `name`, else `name.<n>` before the extension. */
const freeName = (dir: string, name: string): string => {
  if (!existsSync(path.join(dir, name)) && !existsSync(path.join(dir, `${name}.report.json`))) return name;
  const ext = path.extname(name);
  const stem = name.slice(0, name.length - ext.length);
  for (let n = 1; ; n++) {
    const candidate = `${stem}.${n}${ext}`;
    if (!existsSync(path.join(dir, candidate)) && !existsSync(path.join(dir, `${candidate}.report.json`)))
      return candidate;
  }
};

export class DropFolder {
  private watcher: FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  private scanning: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  /** Files sent whose move failed: `name|size|mtime`, not to be sent twice by this process. */
  private readonly sentNotMoved = new Set<string>();
  private readonly listeners: Array<(o: FileOutcome) => void> = [];

  constructor(private readonly o: DropFolderOptions) {}

  /** Called after each file is moved (tests, logs). */
  onFile(listener: (o: FileOutcome) => void): void {
    this.listeners.push(listener);
  }

  async start(): Promise<void> {
    await mkdir(path.join(this.o.folder, "done"), { recursive: true });
    await mkdir(path.join(this.o.folder, "failed"), { recursive: true });
    this.watcher = watch(this.o.folder, () => this.scan());
    this.watcher.on("error", (err) =>
      this.o.log.warn({ err, folder: this.o.folder }, "drop folder watch failed"),
    );
    this.timer = setInterval(() => this.scan(), this.o.rescanMs ?? 2_000);
    this.scan();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.watcher?.close();
    clearInterval(this.timer);
    await this.scanning;
  }

  /** Scans now (one scan at a time; a request during a scan runs another after it). */
  scan(): void {
    if (this.stopped) return;
    if (this.scanning) {
      this.again = true;
      return;
    }
    this.scanning = this.scanOnce()
      .catch((err) => this.o.log.error({ err, folder: this.o.folder }, "drop folder scan failed"))
      .finally(() => {
        this.scanning = undefined;
        if (this.again && !this.stopped) {
          this.again = false;
          setTimeout(() => this.scan(), this.o.settleMs ?? 500);
        }
      });
  }

  private async scanOnce(): Promise<void> {
    const settle = this.o.settleMs ?? 500;
    const names = (await readdir(this.o.folder)).filter((n) => !IGNORED.test(n)).sort();
    let young = false;
    for (const name of names) {
      if (this.stopped) return;
      const file = path.join(this.o.folder, name);
      const s = await stat(file).catch(() => undefined);
      if (!s?.isFile()) continue;
      if (Date.now() - s.mtimeMs < settle) {
        young = true;
        continue;
      }
      const id = `${name}|${s.size}|${s.mtimeMs}`;
      if (this.sentNotMoved.has(id)) continue;
      await this.take(name, id);
    }
    if (young) this.again = true;
  }

  private async take(name: string, id: string): Promise<void> {
    const { system, format, log } = this.o;
    const file = path.join(this.o.folder, name);
    const bytes = new Uint8Array(await readFile(file));
    const receivedAt = new Date().toISOString();
    const result = this.o.translate({ bytes, name }, this.o.context(receivedAt));
    const arrival: Arrival = { via: "drop-folder", where: file };
    let sent: SendReport;
    try {
      sent = await this.o.sender.send(system, bytes, result, arrival);
    } catch (err) {
      // Kept where it is: the next scan sends it again (its keys make that harmless).
      log.warn({ err, file, system }, "drop folder: sending failed; the file stays for the next scan");
      return;
    }
    const movedTo = result.translation.untranslatable.length > 0 ? "failed" : "done";
    const dir = path.join(this.o.folder, movedTo);
    const target = freeName(dir, name);
    const report = {
      file: name,
      system,
      format,
      receivedAt,
      outcome: movedTo,
      commands: sent.commands,
      idempotencyKeys: sent.idempotencyKeys,
      deadLettered: sent.deadLettered,
      untranslatable: result.translation.untranslatable,
      ...(result.ignored && result.ignored.length > 0 ? { ignored: result.ignored } : {}),
      ...(result.acknowledgment ? { acknowledgment: result.acknowledgment } : {}),
    };
    try {
      await writeFile(path.join(dir, `${target}.report.json`), `${JSON.stringify(report, null, 2)}\n`);
      if (result.acknowledgment) await writeFile(path.join(dir, `${target}.997`), result.acknowledgment);
      await rename(file, path.join(dir, target));
    } catch (err) {
      this.sentNotMoved.add(id);
      log.error(
        { err, file, system, commands: sent.commands },
        "drop folder: sent but could not be moved; not sent again by this process (a resend after a restart is harmless: same idempotency keys)",
      );
      return;
    }
    log.info(
      { file: name, system, movedTo, commands: sent.commands, deadLettered: sent.deadLettered },
      `drop folder: ${name} -> ${movedTo}/`,
    );
    const outcome: FileOutcome = { file: path.join(dir, target), movedTo, report };
    for (const l of this.listeners) l(outcome);
  }
}
