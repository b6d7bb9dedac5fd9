/**
 * Child process of the benchmark: what sits downstream of the regional node.
 * - the regional projector (`INV_EVT_<R>` -> KV `atp_<r>`), gap fills read from the node's SQLite file;
 * - the availability API (`startApiServer`) on the hub, which runs its own global projector
 *   (hub mirror -> `atp_global`) and serves `GET /v1/availability/:sku`;
 * - a bare fastify server with one route returning a fixed JSON body of the same size, so the HTTP
 *   comparison runs in the same kind of process under the same conditions.
 */
import { mkdirSync } from "node:fs";
import path from "node:path";
import type { NatsConnection } from "@nats-io/transport-node";
import Fastify, { type FastifyInstance } from "fastify";
import type { SqliteEventStore } from "../infra/event-store/sqlite-event-store.ts";
import { openSqliteEventStore } from "../infra/event-store/sqlite-event-store.ts";
import { createLogger } from "../infra/logging.ts";
import { connectNats, drainAndClose } from "../infra/nats/connection.ts";
import { resolveApiConfig } from "../services/api/api-config.ts";
import { type ApiServer, startApiServer } from "../services/api/api-server.ts";
import { eventStoreReader, RegionalProjector } from "../services/projectors/regional-projector.ts";
import { processFigures, serveParent } from "./child-process.ts";

export interface ServicesStart {
  readonly region: string;
  readonly regionUrl: string;
  readonly hubUrl: string;
  /** The node's event store file (read only for gap fills). */
  readonly storePath: string;
  readonly dataDir: string;
  readonly apiKey: string;
}

let regionNc: NatsConnection | undefined;
let hubNc: NatsConnection | undefined;
let projector: RegionalProjector | undefined;
let api: ApiServer | undefined;
let bare: FastifyInstance | undefined;
let store: SqliteEventStore | undefined;
let bareBody: unknown = {};

const logger = createLogger("bench-services");
logger.level = process.env.BENCH_LOG_LEVEL ?? "warn";

serveParent({
  async start(payload) {
    const p = payload as ServicesStart;
    mkdirSync(p.dataDir, { recursive: true });
    regionNc = await connectNats({ servers: p.regionUrl, name: "bench-projector" });
    hubNc = await connectNats({ servers: p.hubUrl, name: "bench-api" });
    // Opened on the first gap only: the node owns the file, a gap should not happen here.
    const readStream = eventStoreReader({
      readStream: (id, o) => {
        store ??= openSqliteEventStore({ path: p.storePath });
        return store.readStream(id, o);
      },
    });
    projector = new RegionalProjector({ nc: regionNc, region: p.region, readStream, logger });
    await projector.start();
    const config = resolveApiConfig({
      regions: [p.region],
      apiKeys: [
        // A limit the benchmark never reaches: the limiter still runs on every request, as in production.
        {
          name: "bench",
          key: p.apiKey,
          roles: ["commerce"],
          rateLimit: { max: 1_000_000_000, windowMs: 1000 },
        },
      ],
      http: { host: "127.0.0.1", port: 0 },
      nats: { servers: [p.hubUrl], name: "bench-api" },
      dataDir: path.join(p.dataDir, "api"),
    });
    api = await startApiServer(config, { nc: hubNc, logger });
    bare = Fastify({ logger: false });
    bare.get("/bare/:sku", async () => bareBody);
    await bare.listen({ host: "127.0.0.1", port: 0 });
    const address = bare.server.address();
    const bareUrl = typeof address === "object" && address ? `http://127.0.0.1:${address.port}` : "";
    return { apiUrl: api.url, bareUrl };
  },
  /** The body the bare route answers (a real availability response, captured by the parent). */
  setBareBody(body) {
    bareBody = JSON.parse(String(body));
    return { bytes: Buffer.byteLength(JSON.stringify(bareBody)) };
  },
  stats() {
    return { projector: projector?.stats, ...processFigures() };
  },
  async stop() {
    await bare?.close().catch(() => {});
    await api?.close().catch(() => {});
    await projector?.stop().catch(() => {});
    for (const nc of [regionNc, hubNc]) if (nc) await drainAndClose(nc, 2_000).catch(() => {});
    await store?.close().catch(() => {});
  },
});
