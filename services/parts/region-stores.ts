/**
 * The event stores of the regions, opened for reading by processes beside the nodes (the API's
 * position, history and trace routes; the reconciler; a regional projector filling gaps): the SQLite
 * file of a region on this machine (WAL: readers do not block the node's writer), or the region's
 * EventStoreDB or PostgreSQL by URL. Where each store is comes from the same derivation as the node's own
 * configuration (`nodeConfigOf`), so they cannot disagree.
 */
import { mkdirSync } from "node:fs";
import path from "node:path";
import type { Logger } from "pino";
import type { DistributorConfig } from "../../infra/config/distributor-config.ts";
import { nodeConfigOf } from "../../infra/config/distributor-parts.ts";
import { resolveNodeConfig } from "../../infra/config/node-config.ts";
import { redactStoreUrl } from "../../infra/config/postgres-store-config.ts";
import type { EventStore } from "../../infra/event-store/event-store.ts";
import { openSqliteEventStore } from "../../infra/event-store/sqlite-event-store.ts";

export interface OpenedStore {
  readonly region: string;
  readonly store: EventStore;
  /** A file path or a URL, for logs and the ready line. */
  readonly where: string;
  close(): Promise<void>;
}

export const openRegionStore = async (
  d: DistributorConfig,
  region: string,
  logger: Logger,
): Promise<OpenedStore> => {
  // Only the store's location is read from the node's configuration (keys and NATS do not matter here).
  const { apiKeys: _keys, ...raw } = nodeConfigOf(d, region);
  const config = resolveNodeConfig(raw, d.source);
  if (config.store.kind === "sqlite") {
    mkdirSync(path.dirname(config.store.path), { recursive: true });
    const store = openSqliteEventStore({ path: config.store.path, logger });
    return { region, store, where: config.store.path, close: async () => store.close() };
  }
  if (config.store.kind === "postgres") {
    const { openPostgresEventStore } = await import("../../infra/event-store/postgres-event-store.ts");
    const store = await openPostgresEventStore({
      url: config.store.url,
      schema: config.store.schema,
      logger,
    });
    const where = `${redactStoreUrl(config.store.url)} (schema ${config.store.schema})`;
    return { region, store, where, close: async () => store.close() };
  }
  const { openEventStoreDbEventStore } = await import("../../infra/event-store/eventstoredb-event-store.ts");
  const store = openEventStoreDbEventStore({ connectionString: config.store.url, logger });
  return { region, store, where: config.store.url, close: async () => store.close() };
};
