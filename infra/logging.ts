import { type Logger, pino } from "pino";

/**
 * Structured logs (DESIGN §6). Every line that concerns a position carries correlationId, region,
 * sku and location: take a child logger with `positionLogger`.
 */
export type { Logger };

export const createLogger = (name: string, bindings: Record<string, unknown> = {}): Logger =>
  pino({
    name,
    level: process.env.LOG_LEVEL ?? (process.env.VITEST ? "silent" : "info"),
    base: { pid: process.pid, ...bindings },
    timestamp: pino.stdTimeFunctions.isoTime,
  });

export const positionLogger = (
  log: Logger,
  p: { region: string; location: string; sku: string; correlationId?: string },
): Logger =>
  log.child({ region: p.region, location: p.location, sku: p.sku, correlationId: p.correlationId });
