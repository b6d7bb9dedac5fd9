/**
 * `stockline part api --config <file>`: the API with every route: availability and reservations,
 * positions, history and trace (each region's event store: SQLite read on this machine, or
 * EventStoreDB by URL), command dead letters (per region over NATS: CommandDeadLetterDesk), postings
 * and their dead letters (the postings ledger file; a replay posts through the target's connector),
 * reconciliation (its store; an on-demand run or an approval here, scheduled runs in the reconciler).
 *
 * Availability: the API reads the global projector's bucket `atp_global` (GlobalAtpReader) rather
 * than projecting itself. Exactly one process (`stockline part global`, durable `global-atp`) consumes
 * the hub's mirrors and writes the bucket; two writers of one bucket could each load the other's older
 * entry on restart and skip events. So an API restarts in a second (no replay), and several API
 * processes can serve from the same bucket.
 */
import path from "node:path";
import { jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import {
  API_SOURCE_SYSTEM,
  apiConfigOf,
  HUB_USERS,
  nodeConfigOf,
  routingOf,
} from "../../infra/config/distributor-parts.ts";
import { resolveNodeConfig } from "../../infra/config/node-config.ts";
import { startAlerting } from "../alerts/alerting.ts";
import { resolveApiConfig } from "../api/api-config.ts";
import { startApiServer } from "../api/api-server.ts";
import { registerChannelRoutes } from "../api/channel-routes.ts";
import { registerChannelRulesRoutes } from "../api/channel-rules-routes.ts";
import { ControlTowerTrends } from "../api/control-tower-trends.ts";
import { registerControlTowerRoutes } from "../api/global-atp-routes.ts";
import { dashboardLiveTopics } from "../api/live-topics.ts";
import { ParkedCommandsReader, registerParkedRoutes } from "../api/parked-commands.ts";
import { PipelineHealthReader, registerPipelineHealthRoute } from "../api/pipeline-health.ts";
import { registerPromiseRoutes } from "../api/promise-routes.ts";
import { SkuIndex } from "../api/sku-index.ts";
import { registerPositionRoutes } from "../audit/position-routes.ts";
import { jetStreamPublishedHeads } from "../audit/published-heads.ts";
import { ledgerPostingsFor } from "../audit/trace.ts";
import { CommandDeadLetterDesk } from "../dead-letters/command-dead-letters.ts";
import { registerExceptionRoutes } from "../dead-letters/exception-routes.ts";
import { registerPostingRoutes } from "../postings/posting-routes.ts";
import { guardTarget, PostingWorker, postingService } from "../postings/posting-worker.ts";
import { GlobalAtpReader } from "../projectors/global-atp-reader.ts";
import { DriftHistory } from "../reconciliation/drift-history.ts";
import { registerDriftHistoryRoutes } from "../reconciliation/drift-history-routes.ts";
import { registerReconciliationRoutes } from "../reconciliation/reconciliation-routes.ts";
import { ReconciliationStore } from "../reconciliation/reconciliation-store.ts";
import { registerReferenceRoutes } from "../reference/reference-routes.ts";
import { registerSchemaRoutes } from "../reference/schema-routes.ts";
import type { PartContext } from "./part-runtime.ts";
import {
  connectorsOf,
  openPostingsLedger,
  reconcilerOf,
  regionsRoutedTo,
  submitVia,
} from "./posting-targets.ts";
import { type OpenedStore, openRegionStore } from "./region-stores.ts";

export const startApiPart = async (ctx: PartContext): Promise<Record<string, unknown>> => {
  const { d, log } = ctx;
  const raw = apiConfigOf(d);
  const config = {
    ...resolveApiConfig(raw, d.source, { allowClearKeys: false }),
    knownSku: (sku: string) => d.masterData.knowsSku(sku),
  };
  const hubNc = await ctx.connect("hub", "stockline-api", HUB_USERS.api);
  const reader = new GlobalAtpReader({
    nc: hubNc,
    hubDomain: d.hubDomain,
    regions: d.regions,
    staleAfterMs: config.degraded.staleAfterMs,
    logger: log.child({ component: "global-atp-reader" }),
  });
  await reader.start();
  ctx.defer("global ATP reader", () => reader.stop());
  // The control tower (issue 12): every SKU of the view, and trends read from the hub's mirrors.
  const skuIndex = new SkuIndex(reader);
  await skuIndex.seedFromBucket(hubNc, d.hubDomain);
  ctx.defer("SKU index", () => skuIndex.stop());
  const trends = new ControlTowerTrends({
    nc: hubNc,
    hubDomain: d.hubDomain,
    regions: d.regions,
    freshness: (now) => reader.freshness(now),
    slo: d.file.alerts?.slo ?? { seconds: 60, objective: 0.99 },
    logger: log.child({ component: "control-tower-trends" }),
  });
  trends.start();
  ctx.defer("control-tower trends", () => trends.stop());

  // Per region: its store (positions, history, trace) and its own services' connection (dead letters).
  const stores: OpenedStore[] = [];
  const regionNc = new Map<string, NatsConnection>();
  for (const region of d.regions) {
    const s = await openRegionStore(d, region, log);
    ctx.defer(`event store ${region}`, () => s.close());
    stores.push(s);
    regionNc.set(region, await ctx.connect(region, `stockline-api-${region}`));
  }
  const desks = new Map(
    [...regionNc].map(([region, nc]) => [region, new CommandDeadLetterDesk({ nc, region, logger: log })]),
  );

  // Postings: the ledger the workers write; a dead letter's replay posts through the target's connector.
  const ledger = openPostingsLedger(d);
  ctx.defer("postings ledger", () => ledger.close());
  const routing = routingOf(d);
  const replayers = [...connectorsOf(d)].map(([id, connector]) => {
    const target = guardTarget(connector, { resetTimeoutMs: 3_000 }, log.child({ component: "breaker" }));
    ctx.defer(`circuit breaker ${id}`, () => target.shutdown());
    const region = regionsRoutedTo(d, id)[0] ?? d.regions[0] ?? "";
    // Never started: it only replays (the target's worker process consumes the events).
    return new PostingWorker({
      nc: regionNc.get(region) ?? hubNc,
      region,
      target,
      routing,
      ledger,
      logger: log.child({ component: "postings-replay" }),
    });
  });
  const postings = postingService(ledger, replayers);

  const reconciliationStore = new ReconciliationStore(path.join(d.dataDir, "reconciliation.db"));
  ctx.defer("reconciliation store", () => reconciliationStore.close());
  const driftHistory = new DriftHistory(path.join(d.dataDir, "reconciliation.db"));
  ctx.defer("drift history", () => driftHistory.close());
  const reconcilerNc = await ctx.connect("hub", "stockline-api-reconciler", HUB_USERS.reconciler);
  const reconciler = reconcilerOf(d, {
    ledger,
    store: reconciliationStore,
    stores,
    submitCommand: submitVia(reconcilerNc),
    replayPosting: (id) => postings.retry(id),
    logger: log.child({ component: "reconciler" }),
  });
  ctx.defer("reconciler", () => reconciler.stop());

  const published = new Map(
    await Promise.all(
      [...regionNc].map(
        async ([region, nc]) =>
          [region, jetStreamPublishedHeads(await jetstreamManager(nc), region)] as const,
      ),
    ),
  );
  // The dashboards (/ui): pipeline health, parked commands, live topics.
  const health = new PipelineHealthReader({ regions: regionNc, freshness: () => reader.freshness() });
  const parked = new ParkedCommandsReader(
    new Map(
      d.regions.map((r) => {
        const { apiKeys: _keys, ...raw } = nodeConfigOf(d, r);
        return [r, path.join(resolveNodeConfig(raw, d.source).dataDir, "node.db")];
      }),
    ),
  );
  ctx.defer("parked commands reader", () => parked.close());
  const api = await startApiServer(config, {
    nc: hubNc,
    availability: reader,
    logger: log.child({ component: "api" }),
    sourceSystem: API_SOURCE_SYSTEM,
    liveTopics: dashboardLiveTopics({ health, desks, postingsSummary: () => postings.summary() }),
    extraRoutes: (app) => {
      registerPositionRoutes(app, {
        stores: stores.map((s) => ({
          region: s.region,
          store: s.store,
          ...(published.get(s.region) ? { published: published.get(s.region) } : {}),
        })),
        postingsFor: ledgerPostingsFor(ledger),
      });
      registerPostingRoutes(app, postings);
      registerReconciliationRoutes(app, { reconciler, store: reconciliationStore });
      registerDriftHistoryRoutes(app, { history: driftHistory });
      registerControlTowerRoutes(app, { source: reader, skus: skuIndex, regions: d.regions, trends });
      registerExceptionRoutes(app, {
        desks,
        postingDeadLetters: () => ledger.list({ status: "dead", limit: 500 }),
        openFindings: () => reconciliationStore.findings({ status: "open" }),
      });
      registerReferenceRoutes(app, d);
      // A channel's figure: the SKU's locations from the global view, each position's rules from its stream.
      const channelDeps = {
        stores: stores.map((s) => ({ region: s.region, store: s.store })),
        locationsOf: async (sku: string) =>
          Object.values(reader.getGlobalAvailability(sku)?.locations ?? {}).map((l) => ({
            region: l.region,
            location: l.location,
          })),
      };
      registerChannelRoutes(app, channelDeps);
      registerPromiseRoutes(app, channelDeps);
      // Channel rules set by an operator: a setChannelRules command to the region, as the API's system.
      registerChannelRulesRoutes(app, {
        nc: hubNc,
        stores: channelDeps.stores,
        sourceSystem: API_SOURCE_SYSTEM,
        requestTimeoutMs: config.reservations.requestTimeoutMs,
      });
      registerSchemaRoutes(app);
      registerPipelineHealthRoute(app, health);
      registerParkedRoutes(app, parked);
    },
  });
  ctx.defer("API", () => api.close());
  // Alerts watch what this process already holds: dead-letter desks, postings, findings, freshness.
  if (d.file.alerts) {
    const alerting = startAlerting(d, {
      logger: log,
      desks: desks.values(),
      ledger,
      reconciliation: reconciliationStore,
      freshness: reader,
    });
    ctx.defer("alerting", () => alerting.stop());
  }
  return { url: api.url, openapi: `${api.url}/openapi.json` };
};
