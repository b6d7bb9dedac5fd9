/**
 * NATS connections with the settings every stockline process wants: never give up reconnecting (a
 * regional node outlives NATS restarts; the relay resumes from its checkpoint), jittered reconnects so
 * many processes do not stampede a restarted server, and status changes in the structured log.
 */
import { type ConnectionOptions, connect, type NatsConnection } from "@nats-io/transport-node";
import { type Logger, pino } from "pino";
import { type NatsAuth, natsConnectAuth } from "../config/nats-auth.ts";

export type ConnectNatsOptions = Omit<ConnectionOptions, "servers" | "name"> & {
  servers: string | string[];
  /** Client name shown by the server's monitoring (`/connz`). */
  name: string;
  /** Credentials and TLS (secrets read from their file or variable now, never logged). */
  auth?: NatsAuth;
  logger?: Logger;
};

export const connectNats = async (opts: ConnectNatsOptions): Promise<NatsConnection> => {
  const { logger, auth, ...rest } = opts;
  const log = (logger ?? pino({ level: process.env.LOG_LEVEL ?? "silent" })).child({
    nats: opts.name,
  });
  const nc = await connect({
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
    reconnectJitter: 250,
    pingInterval: 10_000,
    maxPingOut: 3,
    // The async stack traces nats.js adds to every request cost 20-35% of pipelined publish throughput here.
    noAsyncTraces: true,
    ...natsConnectAuth(auth),
    ...rest,
  });
  log.info({ server: nc.getServer(), user: auth?.user, tls: auth?.tls !== undefined }, "nats connected");
  void (async () => {
    for await (const s of nc.status()) {
      switch (s.type) {
        case "disconnect":
          log.warn({ server: s.server }, "nats disconnected");
          break;
        case "reconnect":
          log.info({ server: s.server }, "nats reconnected");
          break;
        case "error":
          log.error({ err: s.error }, "nats error");
          break;
        case "slowConsumer":
          log.warn({ subject: s.sub.getSubject(), pending: s.pending }, "nats slow consumer");
          break;
        case "staleConnection":
        case "ldm":
          log.warn({ status: s.type }, "nats connection status");
          break;
        default:
          log.debug({ status: s.type }, "nats status");
      }
    }
  })();
  void nc.closed().then((err) => {
    if (err) log.error({ err }, "nats connection closed with error");
    else log.info("nats connection closed");
  });
  return nc;
};

/**
 * Drains (lets subscriptions finish what they hold and flushes pending publishes), then closes; falls back
 * to a plain close if draining takes longer than `timeoutMs` or the connection is already broken.
 */
export const drainAndClose = async (nc: NatsConnection, timeoutMs = 5_000): Promise<void> => {
  if (nc.isClosed()) return;
  let timer: NodeJS.Timeout | undefined;
  try {
    if (!nc.isDraining()) {
      const drained = nc.drain();
      drained.catch(() => {}); // may reject after we gave up on it and closed
      await Promise.race([
        drained,
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error("drain timeout")), timeoutMs);
        }),
      ]);
    }
  } catch {
    // fall through to close
  } finally {
    clearTimeout(timer);
  }
  if (!nc.isClosed()) await nc.close();
  await nc.closed();
};
