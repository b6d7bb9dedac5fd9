/**
 * Runs the parts of a deployment as child processes on one machine (`stockline up`): each part's
 * stdout and stderr go to `<logDir>/<part>.log`; a part is ready when it prints its ready line
 * (`{"ready":true,...}`, see services/parts/part-runtime.ts); a part that dies is restarted after a
 * backoff that doubles from `initialBackoffMs` up to `maxBackoffMs` (back to the start once it has run
 * for `stableAfterMs`); `stop()` stops the parts in reverse order of start, each with SIGTERM and, after
 * `stopTimeoutMs`, SIGKILL.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream, mkdirSync, type WriteStream } from "node:fs";
import path from "node:path";
import { createInterface } from "node:readline";
import type { Logger } from "pino";

export interface PartSpec {
  /** Unique name, e.g. `node-eu`. */
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly env?: NodeJS.ProcessEnv;
}

export interface PartState {
  readonly name: string;
  readonly pid: number | undefined;
  readonly restarts: number;
  readonly ready: boolean;
  /** What the part's last ready line said (e.g. its URL). */
  readonly info: Record<string, unknown> | undefined;
}

export interface SupervisorOptions {
  readonly logDir: string;
  readonly logger: Logger;
  readonly initialBackoffMs?: number;
  readonly maxBackoffMs?: number;
  readonly stableAfterMs?: number;
  readonly readyTimeoutMs?: number;
  readonly stopTimeoutMs?: number;
  /** Called on each ready line and restart (e.g. to write a state file). */
  readonly onChange?: (parts: readonly PartState[]) => void;
}

interface Running {
  readonly spec: PartSpec;
  child: ChildProcess | undefined;
  log: WriteStream;
  restarts: number;
  failures: number;
  startedAt: number;
  ready: boolean;
  info: Record<string, unknown> | undefined;
  readyWaiters: Array<{ resolve: () => void; reject: (e: Error) => void }>;
  exited: Promise<void>;
  timer: NodeJS.Timeout | undefined;
  /** The end of its stderr, for the message when it cannot start. */
  stderrTail: string;
}

/** Set in a part's environment: it stops when its stdin (a pipe from the supervisor) closes. */
export const SUPERVISED_ENV = "STOCKLINE_SUPERVISED";

/** A part exits with 2 when its configuration is wrong: restarting cannot help. */
export const CONFIG_ERROR_EXIT = 2;

export class Supervisor {
  private readonly parts: Running[] = [];
  private stopping = false;

  constructor(private readonly o: SupervisorOptions) {
    mkdirSync(o.logDir, { recursive: true });
  }

  /** Starts a part and resolves when it is ready (rejects if it exits or times out first). */
  async start(spec: PartSpec): Promise<PartState> {
    if (this.parts.some((p) => p.spec.name === spec.name))
      throw new Error(`part ${spec.name} already started`);
    const r: Running = {
      spec,
      child: undefined,
      log: createWriteStream(path.join(this.o.logDir, `${spec.name}.log`), { flags: "a" }),
      restarts: 0,
      failures: 0,
      startedAt: 0,
      ready: false,
      info: undefined,
      readyWaiters: [],
      exited: Promise.resolve(),
      timer: undefined,
      stderrTail: "",
    };
    this.parts.push(r);
    const ready = this.waitReady(r);
    this.spawn(r);
    await ready;
    return this.stateOf(r);
  }

  states(): PartState[] {
    return this.parts.map((p) => this.stateOf(p));
  }

  /** Stops every part, last started first. */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const r of this.parts)
      for (const w of r.readyWaiters.splice(0))
        w.reject(new Error(`stopped before ${r.spec.name} was ready`));
    for (const r of [...this.parts].reverse()) {
      clearTimeout(r.timer);
      const child = r.child;
      if (child && child.exitCode === null && child.signalCode === null) {
        this.o.logger.info({ part: r.spec.name, pid: child.pid }, "stopping part");
        child.kill("SIGTERM");
        const killer = setTimeout(() => child.kill("SIGKILL"), this.o.stopTimeoutMs ?? 15_000);
        await r.exited;
        clearTimeout(killer);
      }
      await new Promise<void>((resolve) => r.log.end(resolve));
    }
  }

  private stateOf(r: Running): PartState {
    return { name: r.spec.name, pid: r.child?.pid, restarts: r.restarts, ready: r.ready, info: r.info };
  }

  private changed(): void {
    this.o.onChange?.(this.states());
  }

  private waitReady(r: Running): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      // Generous: a part's first start transpiles the tree (tsx) while its siblings do the same.
      const timeoutMs = this.o.readyTimeoutMs ?? 180_000;
      const timer = setTimeout(
        () => reject(new Error(`part ${r.spec.name} not ready after ${timeoutMs} ms (see its log)`)),
        timeoutMs,
      );
      r.readyWaiters.push({
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
    });
  }

  private spawn(r: Running): void {
    const { spec } = r;
    const child = spawn(spec.command, [...spec.args], {
      env: { ...process.env, ...spec.env, [SUPERVISED_ENV]: "1" },
      // The child's stdin is a pipe from us: if this process dies (even SIGKILL), it reads EOF and stops.
      stdio: ["pipe", "pipe", "pipe"],
    });
    r.child = child;
    r.ready = false;
    r.startedAt = Date.now();
    this.o.logger.info({ part: spec.name, pid: child.pid, restarts: r.restarts }, "part started");
    r.exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    createInterface({ input: child.stdout! }).on("line", (line) => {
      r.log.write(`${line}\n`);
      if (!line.startsWith('{"ready":true')) return;
      try {
        r.info = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return;
      }
      r.ready = true;
      r.failures = 0;
      for (const w of r.readyWaiters.splice(0)) w.resolve();
      this.o.logger.info({ part: spec.name, pid: child.pid }, "part ready");
      this.changed();
    });
    child.stderr!.on("data", (chunk: Buffer) => {
      r.log.write(chunk);
      r.stderrTail = (r.stderrTail + chunk.toString("utf8")).slice(-2_000);
    });
    child.once("error", (err) => this.o.logger.error({ part: spec.name, err }, "part could not be spawned"));
    child.once("exit", (code, signal) => {
      r.ready = false;
      if (this.stopping) {
        this.o.logger.info({ part: spec.name, code, signal }, "part stopped");
        return;
      }
      if (code === CONFIG_ERROR_EXIT) {
        const why = r.stderrTail.trim().split("\n").slice(-3).join("\n");
        this.o.logger.error({ part: spec.name, code }, "part refused its configuration; not restarting");
        for (const w of r.readyWaiters.splice(0)) w.reject(new Error(`part ${spec.name}: ${why}`));
        this.changed();
        return;
      }
      const ranMs = Date.now() - r.startedAt;
      if (ranMs >= (this.o.stableAfterMs ?? 30_000)) r.failures = 0;
      const initial = this.o.initialBackoffMs ?? 500;
      const delayMs = Math.min(this.o.maxBackoffMs ?? 15_000, initial * 2 ** r.failures);
      r.failures++;
      this.o.logger.warn(
        { part: spec.name, code, signal, ranMs, restartInMs: delayMs, restarts: r.restarts },
        "part exited; restarting",
      );
      r.log.write(`--- stockline up: exited (code ${code}, signal ${signal}); restart in ${delayMs} ms\n`);
      r.timer = setTimeout(() => {
        if (this.stopping) return;
        r.restarts++;
        this.spawn(r);
        this.changed();
      }, delayMs);
      this.changed();
    });
  }
}
