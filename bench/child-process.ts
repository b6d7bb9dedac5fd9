/**
 * The benchmark's processes: the regional node, the projectors and API, and the memory probe each run
 * in a child process, so that each gets its own event loop (this machine has 2 cores; one process
 * would serialise everything) and its memory figure is its own. Parent and child talk over the IPC
 * channel with request/response messages `{ id, type, payload }` -> `{ id, ok, result | error }`.
 */
import { type ChildProcess, fork } from "node:child_process";

interface Request {
  readonly id: number;
  readonly type: string;
  readonly payload?: unknown;
}
interface Response {
  readonly id: number;
  readonly ok: boolean;
  readonly result?: unknown;
  readonly error?: string;
}

export interface ChildHandle {
  readonly pid: number;
  request<T = unknown>(type: string, payload?: unknown, timeoutMs?: number): Promise<T>;
  /** Asks the child to stop (`stop` request), then kills it if it has not exited within the timeout. */
  stop(timeoutMs?: number): Promise<void>;
}

const live = new Set<ChildProcess>();
let exitHook = false;

/**
 * Forks a module with an IPC channel: TypeScript through tsx (default), or plain JavaScript with
 * `tsx: false`; extra node flags go in `execArgv`.
 */
export const forkChild = (
  file: string,
  opts: { execArgv?: string[]; env?: NodeJS.ProcessEnv; tsx?: boolean } = {},
): ChildHandle => {
  const child = fork(file, [], {
    execArgv: [...(opts.tsx === false ? [] : ["--import", "tsx"]), ...(opts.execArgv ?? [])],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
    env: { ...process.env, ...opts.env },
  });
  live.add(child);
  if (!exitHook) {
    exitHook = true;
    process.once("exit", () => {
      for (const c of live) c.kill("SIGKILL");
    });
  }
  let nextId = 1;
  const waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let exitedWith: string | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once("exit", (code, signal) => {
      live.delete(child);
      exitedWith = `exited with ${signal ?? code}`;
      for (const w of waiting.values()) w.reject(new Error(`${file} ${exitedWith}`));
      waiting.clear();
      resolve();
    });
  });
  child.on("message", (m: Response) => {
    const w = waiting.get(m.id);
    if (!w) return;
    waiting.delete(m.id);
    if (m.ok) w.resolve(m.result);
    else w.reject(new Error(`${file}: ${m.error}`));
  });
  const request = <T>(type: string, payload?: unknown, timeoutMs = 120_000): Promise<T> => {
    if (exitedWith) return Promise.reject(new Error(`${file} ${exitedWith}`));
    const id = nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        waiting.delete(id);
        reject(new Error(`${file}: no answer to ${type} within ${timeoutMs} ms`));
      }, timeoutMs);
      waiting.set(id, {
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v as T);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      child.send({ id, type, payload } satisfies Request);
    });
  };
  const handle: ChildHandle = {
    pid: child.pid ?? -1,
    request,
    async stop(timeoutMs = 30_000) {
      if (exitedWith) return;
      await Promise.race([
        request("stop", undefined, timeoutMs).catch(() => {}),
        new Promise((r) => setTimeout(r, timeoutMs)),
      ]);
      if (!exitedWith) {
        child.disconnect();
        await Promise.race([exited, new Promise((r) => setTimeout(r, 2_000))]);
      }
      if (!exitedWith) child.kill("SIGKILL");
      await exited;
    },
  };
  return handle;
};

export type Handlers = Record<string, (payload: unknown) => unknown | Promise<unknown>>;

/**
 * In a child: answers the parent's requests with `handlers`. A `stop` handler runs, is answered, and
 * the process exits; the child also exits when the parent goes away.
 */
export const serveParent = (handlers: Handlers): void => {
  if (!process.send) throw new Error("not started with an IPC channel (use forkChild)");
  const reply = (r: Response) => process.send?.(r);
  process.on("message", (m: Request) => {
    const handler = handlers[m.type];
    if (!handler) {
      reply({ id: m.id, ok: false, error: `unknown request ${m.type}` });
      return;
    }
    Promise.resolve()
      .then(() => handler(m.payload))
      .then(
        (result) => {
          reply({ id: m.id, ok: true, result });
          if (m.type === "stop") setTimeout(() => process.exit(0), 50);
        },
        (err: unknown) =>
          reply({
            id: m.id,
            ok: false,
            error: err instanceof Error ? (err.stack ?? err.message) : String(err),
          }),
      );
  });
  process.on("disconnect", () => process.exit(0));
};

/** Memory and CPU of this process, in MB and ms. */
export const processFigures = () => {
  const mem = process.memoryUsage();
  const cpu = process.cpuUsage();
  return {
    rssMb: mem.rss / 1e6,
    heapUsedMb: mem.heapUsed / 1e6,
    maxRssMb: (process.resourceUsage().maxRSS * 1024) / 1e6,
    cpuUserMs: cpu.user / 1e3,
    cpuSystemMs: cpu.system / 1e3,
  };
};
