/**
 * `stockline api --config <file>`: runs the availability and reservation API (with its own global
 * projector on the hub) until SIGTERM/SIGINT. `--expiry-region <r> --expiry-nats <url>` also runs
 * the reservation expiry of a region (it belongs next to the region's node; see reservation-expiry.ts).
 */
import type { Command } from "commander";
import { natsAuthFromEnv } from "../../infra/config/nats-auth.ts";
import { createLogger } from "../../infra/logging.ts";
import { connectNats, drainAndClose } from "../../infra/nats/connection.ts";
import { loadApiConfig } from "../api/api-config.ts";
import { startApiServer } from "../api/api-server.ts";
import { startReservationExpiry } from "../api/reservation-expiry.ts";

export const registerApiCommand = (program: Command): Command =>
  program
    .command("api")
    .description("run the availability and reservation API (OpenAPI at /openapi.json, UI at /docs)")
    .option("--config <file>", "JSON configuration file (STOCKLINE_API_* environment variables override it)")
    .option("--port <port>", "HTTP port (overrides the configuration)")
    .option(
      "--hub-domain <domain>",
      "JetStream domain of the hub (default STOCKLINE_HUB_DOMAIN or hub; stockline part api takes it from the distributor configuration)",
    )
    .option("--expiry-region <region>", "also run the reservation expiry of this region")
    .option("--expiry-nats <url>", "the region's NATS for --expiry-region", "nats://127.0.0.1:4222")
    .action(
      async (opts: {
        config?: string;
        port?: string;
        hubDomain?: string;
        expiryRegion?: string;
        expiryNats: string;
      }) => {
        const log = createLogger("api");
        const env = { ...process.env, ...(opts.port ? { STOCKLINE_API_HTTP_PORT: opts.port } : {}) };
        const config = loadApiConfig(opts.config, env);
        const hubDomain = opts.hubDomain ?? process.env.STOCKLINE_HUB_DOMAIN;
        const api = await startApiServer(config, { logger: log, ...(hubDomain ? { hubDomain } : {}) }).catch(
          (err: NodeJS.ErrnoException) => {
            // The one start failure an operator fixes with a flag: say which.
            if (err?.code === "EADDRINUSE")
              throw new Error(
                `port ${config.http.port} on ${config.http.host} is taken: choose another with --port <port> or STOCKLINE_API_HTTP_PORT`,
              );
            throw err;
          },
        );
        const stops: Array<() => Promise<void>> = [() => api.close()];
        if (opts.expiryRegion) {
          const nc = await connectNats({
            servers: opts.expiryNats,
            name: `stockline-expiry-${opts.expiryRegion}`,
            // The region's credentials: STOCKLINE_NATS_* (infra/config/nats-auth.ts).
            auth: natsAuthFromEnv(process.env),
            logger: log,
          });
          const expiry = await startReservationExpiry({ nc, region: opts.expiryRegion, logger: log });
          stops.unshift(async () => {
            await expiry.stop();
            await drainAndClose(nc);
          });
        }
        process.stdout.write(
          `stockline API listening on ${api.url} (OpenAPI ${api.url}/openapi.json, UI ${api.url}/docs)\n` +
            `  operator commands reach it with --api ${api.url} or STOCKLINE_API_URL=${api.url}, and a key with --key or STOCKLINE_API_KEY\n`,
        );
        const shutdown = async () => {
          for (const s of stops) await s().catch((err) => log.warn({ err }, "error while stopping"));
          process.exit(0);
        };
        process.once("SIGTERM", () => void shutdown());
        process.once("SIGINT", () => void shutdown());
      },
    );
