import { type Logger, pino } from "pino";

/**
 * Structured logs (DESIGN §6). Every line that concerns a position carries correlationId, region,
 * sku and location: take a child logger with `positionLogger`.
 */
export type { Logger };

/**
 * Secrets never reach a log line: API keys (headers and config), passwords, tokens and NATS
 * credentials are censored wherever a line carries them at these paths (at the top or one level
 * down). Every logger of the project takes these options.
 */
const SECRET_FIELDS = [
  "apiKey",
  "password",
  "pass",
  "token",
  "secret",
  "nkey",
  "seed",
  "creds",
  "authorization",
  "cookie",
];
export const REDACT = {
  paths: [
    ...SECRET_FIELDS.flatMap((f) => [f, `*.${f}`, `*.*.${f}`]),
    'headers["x-api-key"]',
    '*.headers["x-api-key"]',
    "*.headers.authorization",
    "*.headers.cookie",
    "apiKeys[*].key",
    "*.apiKeys[*].key",
  ],
  censor: "[redacted]",
};

export const createLogger = (name: string, bindings: Record<string, unknown> = {}): Logger =>
  pino({
    name,
    level: process.env.LOG_LEVEL ?? (process.env.VITEST ? "silent" : "info"),
    base: { pid: process.pid, ...bindings },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: REDACT,
  });

export const positionLogger = (
  log: Logger,
  p: { region: string; location: string; sku: string; correlationId?: string },
): Logger =>
  log.child({ region: p.region, location: p.location, sku: p.sku, correlationId: p.correlationId });

type LimitedLevel = "info" | "warn" | "error";

interface KindWindow {
  startedAt: number;
  logged: number;
  suppressed: number;
  level: LimitedLevel;
  msg: string;
}

/**
 * Repeated lines of one kind (a poison flood, an outage) are counted, not each written: per kind, the
 * first `burst` lines of a window are logged, the rest only counted, and one summary line with the
 * count follows when the window ends. A flood of 10,000 bad messages then writes a few lines per kind
 * and window instead of 10,000 (issue 8: 280k lines). Kinds must be few (a reason and a code, never
 * an id); past `maxKinds` they share one.
 */
export class LogLimiter {
  private readonly windowMs: number;
  private readonly burst: number;
  private readonly maxKinds: number;
  private readonly kinds = new Map<string, KindWindow>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly log: Logger,
    opts: { windowMs?: number; burst?: number; maxKinds?: number } = {},
  ) {
    this.windowMs = opts.windowMs ?? 10_000;
    this.burst = opts.burst ?? 3;
    this.maxKinds = opts.maxKinds ?? 200;
  }

  info(kind: string, obj: object, msg: string): void {
    this.write("info", kind, obj, msg);
  }

  warn(kind: string, obj: object, msg: string): void {
    this.write("warn", kind, obj, msg);
  }

  error(kind: string, obj: object, msg: string): void {
    this.write("error", kind, obj, msg);
  }

  private write(level: LimitedLevel, kind: string, obj: object, msg: string): void {
    if (!this.log.isLevelEnabled(level)) return;
    const now = Date.now();
    const key = this.kinds.has(kind) || this.kinds.size < this.maxKinds ? kind : "(other kinds)";
    let w = this.kinds.get(key);
    if (w && now - w.startedAt >= this.windowMs) {
      this.summarise(key, w, now);
      w = undefined;
    }
    if (!w) {
      w = { startedAt: now, logged: 0, suppressed: 0, level, msg };
      this.kinds.set(key, w);
    }
    if (w.logged < this.burst) {
      w.logged++;
      this.log[level]({ ...obj, logKind: key }, msg);
      return;
    }
    w.suppressed++;
    this.timer ??= setTimeout(() => this.flush(), this.windowMs).unref();
  }

  /** Writes the summaries of the windows that have ended (a timer calls it; `stop` flushes all). */
  flush(all = false): void {
    this.timer = undefined;
    const now = Date.now();
    for (const [kind, w] of this.kinds) {
      if (all || now - w.startedAt >= this.windowMs) {
        this.summarise(kind, w, now);
        this.kinds.delete(kind);
      }
    }
    if ([...this.kinds.values()].some((w) => w.suppressed > 0))
      this.timer = setTimeout(() => this.flush(), this.windowMs).unref();
  }

  /** Writes what is still counted; call when the component stops. */
  stop(): void {
    clearTimeout(this.timer);
    this.flush(true);
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private summarise(kind: string, w: KindWindow, now: number): void {
    if (w.suppressed === 0) return;
    this.log[w.level](
      { logKind: kind, suppressed: w.suppressed, windowMs: now - w.startedAt },
      `${w.msg} (${w.suppressed} more like this in ${Math.round((now - w.startedAt) / 1000)} s, not logged one by one)`,
    );
  }
}
