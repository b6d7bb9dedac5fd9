/**
 * The availability and reservation API as a process part: `startApiServer(config, deps)`.
 *
 * - Availability comes from the global read model (`deps.availability`, the hub's GlobalProjector);
 *   without one, the server starts its own GlobalProjector on the hub connection.
 * - Reservations go to `inv.req.<r>` on the hub connection (`deps.nc`, or one opened from config).
 * - `api.db` in `config.dataDir` holds the reservation index, idempotency records, degraded holds
 *   and queued releases; the reconciler retries holds every `degraded.reconcileEveryMs`.
 */
import path from "node:path";
import type { NatsConnection } from "@nats-io/transport-node";
import type { FastifyInstance } from "fastify";
import type { Logger } from "pino";
import { createHttpServer } from "../../infra/http/http-server.ts";
import { createLogger } from "../../infra/logging.ts";
import { connectNats, drainAndClose } from "../../infra/nats/connection.ts";
import { GlobalProjector } from "../projectors/global-projector.ts";
import { installAccessControl, ROUTE_ROLES } from "./access-control.ts";
import type { ApiConfig } from "./api-config.ts";
import { AvailabilityService, type AvailabilitySource } from "./availability.ts";
import { registerAvailabilityRoutes } from "./availability-routes.ts";
import { batchedTopic, type LiveTopics, registerLiveRoutes } from "./live-routes.ts";
import { RegionalEntryReader } from "./region-link.ts";
import { registerReservationRoutes } from "./reservation-routes.ts";
import { ReservationService } from "./reservation-service.ts";
import { ReservationStore } from "./reservation-store.ts";
import { registerUiRoutes } from "./ui-routes.ts";
import { registerWhoamiRoute } from "./whoami-route.ts";

/**
 * The largest request body (413 beyond it): a reservation or a query of 1000 SKUs is a few
 * hundred KB at most, and far below NATS's max payload, so no body reaches the server unchecked.
 */
export const API_BODY_LIMIT_BYTES = 512 * 1024;

export interface ApiDeps {
  /** A connection to the hub (owned by the caller); opened from `config.nats` when absent. */
  readonly nc?: NatsConnection;
  /** The global read model; a GlobalProjector is started on the hub connection when absent. */
  readonly availability?: AvailabilitySource;
  /** The hub's JetStream domain for that GlobalProjector (default `hub`; from the configuration). */
  readonly hubDomain?: string;
  readonly logger?: Logger;
  /** Source system named in reservation commands (default `stockline-api`). */
  readonly sourceSystem?: string;
  /** More `/v1` routes on the same server (positions, postings, reconciliation), behind the same keys and roles. */
  readonly extraRoutes?: (app: FastifyInstance) => void | Promise<void>;
  /** Live topics of the dashboards (`/v1/live/<topic>`) besides `atp`, which the server feeds itself. */
  readonly liveTopics?: LiveTopics;
}

export interface ApiServer {
  readonly url: string;
  readonly app: FastifyInstance;
  readonly reservations: ReservationService;
  readonly availability: AvailabilityService;
  readonly store: ReservationStore;
  close(): Promise<void>;
}

export const startApiServer = async (config: ApiConfig, deps: ApiDeps = {}): Promise<ApiServer> => {
  const log = deps.logger ?? createLogger("api");
  const closers: Array<() => Promise<void> | void> = [];
  const closeAll = async () => {
    for (const c of closers.splice(0).reverse()) {
      try {
        await c();
      } catch (err) {
        log.warn({ err }, "error while closing the API");
      }
    }
  };
  try {
    let nc = deps.nc;
    if (!nc) {
      const own = await connectNats({
        servers: [...config.nats.servers],
        name: config.nats.name,
        auth: config.nats.auth,
        logger: log,
      });
      closers.push(() => drainAndClose(own));
      nc = own;
    }
    let source = deps.availability;
    if (!source) {
      const projector = new GlobalProjector({
        nc,
        regions: config.regions,
        staleAfterMs: config.degraded.staleAfterMs,
        ...(deps.hubDomain ? { hubDomain: deps.hubDomain } : {}),
        durableName: `global-atp-${config.nats.name.replace(/[^A-Za-z0-9_-]/g, "_")}`,
        logger: log,
      });
      await projector.start();
      closers.push(() => projector.stop());
      source = projector;
    }
    const store = new ReservationStore(path.join(config.dataDir, "api.db"));
    closers.push(() => store.close());
    const availability = new AvailabilityService(source, store, {
      haircut: config.degraded.haircut,
      cacheEntries: config.cacheEntries,
      regions: config.regions,
      ...(config.knownSku ? { knownSku: config.knownSku } : {}),
    });
    closers.push(() => availability.close());
    const reader = new RegionalEntryReader(nc, {
      timeoutMs: Math.min(2_000, config.reservations.requestTimeoutMs),
    });
    const reservations = new ReservationService({
      nc,
      store,
      availability,
      reader,
      config,
      logger: log,
      ...(deps.sourceSystem ? { sourceSystem: deps.sourceSystem } : {}),
    });

    const hubNc = nc;
    const app = await createHttpServer({
      title: "stockline availability and reservations",
      logger: log,
      readiness: { nats: async () => ({ ok: !hubNc.isClosed() }) },
      bodyLimitBytes: API_BODY_LIMIT_BYTES,
    });
    closers.push(() => app.close());
    await installAccessControl(app, config);
    registerAvailabilityRoutes(app, {
      service: availability,
      regions: config.regions,
      readTimePhased: (region, location, sku) => reader.get(region, location, sku),
    });
    registerReservationRoutes(app, reservations);
    // The dashboards (/ui) and what they need: who the key is, live topics.
    registerWhoamiRoute(app);
    await registerUiRoutes(app);
    registerLiveRoutes(app, {
      atp: batchedTopic({
        roles: ROUTE_ROLES.availability,
        description: "SKUs whose global availability changed (`{ skus }`, at most every 500 ms)",
        field: "skus",
        source: (listener) => {
          const stops = [source.onChange(listener), store.onChange(listener)];
          return () => {
            for (const stop of stops) stop();
          };
        },
      }),
      ...deps.liveTopics,
    });
    await deps.extraRoutes?.(app);
    await app.listen({ host: config.http.host, port: config.http.port });
    const address = app.server.address();
    const url = typeof address === "object" && address ? `http://${config.http.host}:${address.port}` : "";

    // Held reservations are retried on a timer: the region's return is not an event we receive.
    let reconciling: Promise<unknown> | undefined;
    const timer = setInterval(() => {
      reconciling ??= reservations
        .reconcile()
        .then((r) => {
          if (r.confirmed + r.compensated + r.expired + r.released > 0)
            log.info(r, "degraded holds reconciled");
        })
        .catch((err) => log.warn({ err }, "reconcile failed"))
        .finally(() => {
          reconciling = undefined;
        });
    }, config.degraded.reconcileEveryMs);
    timer.unref();
    closers.push(async () => {
      clearInterval(timer);
      await reconciling;
    });
    log.info({ url, regions: config.regions }, "API started");
    let closing: Promise<void> | undefined;
    return { url, app, reservations, availability, store, close: () => (closing ??= closeAll()) };
  } catch (err) {
    await closeAll();
    throw err;
  }
};
