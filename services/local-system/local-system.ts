/**
 * The whole stockline system on one machine (`stockline run`, `make run`, the end-to-end test): a NATS
 * hub and two regions (real nats-server processes, leaf-linked JetStream domains), per region a
 * regional node on SQLite, its ATP projector, read model and reservation expiry; on the hub the global
 * projector and the API (availability, reservations, positions and trace, postings, reconciliation);
 * the ERP simulators (SAP S/4HANA for eu, Dynamics 365 for us) with their posting workers; and one
 * reconciler over both regions.
 *
 * Everything is composed from the parts the other modules export; nothing here decides inventory.
 * `stop()` is graceful and runs in reverse order of start: intake first, nats-server last.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, rmSync } from "node:fs";
import path from "node:path";
import { type JetStreamManager, jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import getPort from "get-port";
import { type Logger, pino } from "pino";
import type { Command } from "../../domain/commands.ts";
import type { OwnershipPolicy } from "../../domain/ownership-policy.ts";
import type { RoutingConfig } from "../../domain/routing-rules.ts";
import { resolveNodeConfig } from "../../infra/config/node-config.ts";
import type { EventStore } from "../../infra/event-store/event-store.ts";
import { REDACT } from "../../infra/logging.ts";
import { connectNats, drainAndClose } from "../../infra/nats/connection.ts";
import { startConsumerLagSampler } from "../../infra/nats/consumer-lag.ts";
import {
  cmdStreamName,
  cmdSubject,
  evtStreamName,
  sourceCmdSubject,
  sourceReqSubject,
} from "../../infra/nats/subjects.ts";
import { HUB_DOMAIN, type SecurityOptions, startTopology, type Topology } from "../../infra/nats/topology.ts";
import { resolveApiConfig } from "../api/api-config.ts";
import { type ApiServer, startApiServer } from "../api/api-server.ts";
import { type ReservationExpiry, startReservationExpiry } from "../api/reservation-expiry.ts";
import { registerPositionRoutes } from "../audit/position-routes.ts";
import { jetStreamPublishedHeads } from "../audit/published-heads.ts";
import { ledgerPostingsFor } from "../audit/trace.ts";
import { CommandDeadLetterDesk, startDeadLetterDepthSampler } from "../dead-letters/command-dead-letters.ts";
import { registerExceptionRoutes } from "../dead-letters/exception-routes.ts";
import { createD365Connector } from "../postings/d365-connector.ts";
import { registerPostingRoutes } from "../postings/posting-routes.ts";
import {
  type GuardedTarget,
  guardTarget,
  PostingWorker,
  postingService,
} from "../postings/posting-worker.ts";
import { PostingsLedger } from "../postings/postings-ledger.ts";
import { createSapConnector } from "../postings/sap-connector.ts";
import type { TargetConnector } from "../postings/target-connector.ts";
import { AtpReadModel } from "../projectors/atp-read-model.ts";
import { GlobalProjector } from "../projectors/global-projector.ts";
import { eventStoreReader, RegionalProjector } from "../projectors/regional-projector.ts";
import { type EventLedger, eventStoreLedger, Reconciler } from "../reconciliation/reconciler.ts";
import { registerReconciliationRoutes } from "../reconciliation/reconciliation-routes.ts";
import { ReconciliationStore } from "../reconciliation/reconciliation-store.ts";
import { type CommandReply, decodeCommandReply } from "../regional-node/command-reply.ts";
import { type RegionalNode, startRegionalNode } from "../regional-node/regional-node.ts";
import {
  createD365Simulator,
  type D365Simulator,
} from "../simulators/d365-inventory-visibility-simulator.ts";
import { createSapSimulator, type SapSimulator } from "../simulators/sap-s4hana-simulator.ts";
import type { FaultOptions } from "../simulators/sim-faults.ts";

// --- the demo company -----------------------------------------------------------------------------------

export interface DistributionCentre {
  readonly id: string;
  readonly city: string;
}

/** A region: its DCs, the WMS that owns their physical moves and the ERP that books them. */
export interface RegionLayout {
  readonly region: string;
  readonly dcs: readonly DistributionCentre[];
  /** `source.system` of the region's WMS. */
  readonly wms: string;
  /** Posting target id of the region's ERP. */
  readonly erpTarget: "sap" | "d365";
  /** `source.system` under which the ERP reports its own movements. */
  readonly erpSystem: string;
}

export const LAYOUTS: Readonly<Record<string, RegionLayout>> = {
  eu: {
    region: "eu",
    dcs: [
      { id: "DC-AMS", city: "Amsterdam" },
      { id: "DC-FRA", city: "Frankfurt" },
    ],
    wms: "WMS_EU",
    erpTarget: "sap",
    erpSystem: "SAP_S4",
  },
  us: {
    region: "us",
    dcs: [
      { id: "DC-NJ", city: "Newark" },
      { id: "DC-DAL", city: "Dallas" },
    ],
    wms: "WMS_US",
    erpTarget: "d365",
    erpSystem: "D365",
  },
};

/** SAP plants and D365 sites of the DCs. */
const SAP_LOCATIONS = {
  "DC-AMS": { plant: "NL01", storageLocation: "0001" },
  "DC-FRA": { plant: "DE01", storageLocation: "0001" },
};
const D365_LOCATIONS = {
  "DC-NJ": { siteId: "NJ", locationId: "NJ-01" },
  "DC-DAL": { siteId: "TX", locationId: "DAL-01" },
};

export const API_SOURCE_SYSTEM = "stockline-api";
export const EXPIRY_SOURCE_SYSTEM = "stockline-expiry";

/**
 * Who owns what in a region (DESIGN §3.7): its WMS owns the physical moves at its DCs, the shops
 * reserve through the API (and the expiry service lets reservations lapse), the ERP books
 * adjustments (reconciliation compensations) and announces purchase orders (expected receipts).
 * Anything else is refused: an ERP receipt at a DC is a realistic dead letter.
 */
export const ownershipFor = (l: RegionLayout): OwnershipPolicy => ({
  rules: [
    {
      name: `${l.wms} owns physical moves at the DCs`,
      movements: ["receipt", "pick", "shipment", "transfer", "return", "count", "statusChange"],
      locations: "DC-*",
      owners: [l.wms],
    },
    {
      name: "shops reserve through the API",
      movements: ["reservation"],
      owners: [API_SOURCE_SYSTEM, EXPIRY_SOURCE_SYSTEM],
    },
    { name: `${l.erpSystem} books adjustments`, movements: ["adjustment"], owners: [l.erpSystem] },
    {
      name: `${l.erpSystem} announces purchase orders`,
      movements: ["expectedReceipt"],
      owners: [l.erpSystem],
    },
  ],
  otherwise: "deny",
});

/** Events that move stock go to the region's ERP; reservations and picks stay in stockline. */
export const STOCK_EVENTS = [
  "GoodsReceived",
  "ShipmentPosted",
  "TransferShipped",
  "TransferReceived",
  "ReturnReceived",
  "CountRecorded",
  "StockAdjusted",
  "StatusChanged",
  "ProductionConsumed",
  "ProductionOutput",
] as const;

export const routingFor = (regions: readonly string[]): RoutingConfig => ({
  targets: [
    { id: "sap", systems: ["SAP_S4"] },
    { id: "d365", systems: ["D365"] },
  ],
  rules: regions.map((r) => ({
    name: `${r} stock movements to ${LAYOUTS[r]?.erpTarget}`,
    target: LAYOUTS[r]?.erpTarget ?? "sap",
    events: [...STOCK_EVENTS],
    regions: [r],
  })),
});

/** API keys of the demo, one per role (local use only; a deployment gives hashed keys). */
/** Generated per run (shown by the status view): no demo secret is the same twice or in the repo. */
const demoKey = (role: string): string => `demo-${role}-${randomBytes(24).toString("base64url")}`;
export const DEMO_KEYS: Readonly<Record<"commerce" | "warehouse" | "operations" | "finance", string>> = {
  commerce: demoKey("commerce"),
  warehouse: demoKey("warehouse"),
  operations: demoKey("operations"),
  finance: demoKey("finance"),
};

// --- the running system ---------------------------------------------------------------------------------

/** The `source.system` a payload claims, if it is readable JSON with one. */
const claimedSystem = (payload: unknown): string | undefined => {
  let value = payload;
  if (payload instanceof Uint8Array)
    try {
      value = JSON.parse(new TextDecoder().decode(payload));
    } catch {
      return undefined;
    }
  const system = (value as { source?: { system?: unknown } } | null)?.source?.system;
  return typeof system === "string" && system.length > 0 ? system : undefined;
};

export interface RegionRuntime {
  readonly layout: RegionLayout;
  readonly node: RegionalNode;
  /** The store's data folder and event store file. */
  readonly dataDir: string;
  readonly storePath: string;
  /** A connection to the region's own server (projector, read model, expiry, posting worker). */
  readonly nc: NatsConnection;
  /** Secured: a connection per source system of the region (its WMS and ERP), as that system's user. */
  readonly sources: ReadonlyMap<string, NatsConnection>;
  readonly jsm: JetStreamManager;
  readonly projector: RegionalProjector;
  readonly readModel: AtpReadModel;
  readonly expiry: ReservationExpiry;
  readonly worker: PostingWorker;
}

export interface LocalSystemOptions {
  /** Regions to run, a subset of `LAYOUTS` (default eu and us). */
  readonly regions?: readonly string[];
  /** Default `.data/local`. */
  readonly dataDir?: string;
  /** Default 8080; a free port when it is taken; 0 picks a free one. */
  readonly apiPort?: number;
  /** Remove the data folder first (default true: each run starts from nothing). */
  readonly fresh?: boolean;
  /** Keep the nats-server folders (config, logs, JetStream stores) after `stop()` (default false). */
  readonly keepNatsData?: boolean;
  /** Faults of both ERP simulators (default: a little latency, 2% errors, 1% lost responses). */
  readonly simulatorFaults?: FaultOptions;
  /** A region out of sync for longer than this is flagged stale (default 10 s). */
  readonly staleAfterMs?: number;
  /** Component logs (default: `<dataDir>/logs/stockline.log`, level LOG_LEVEL or info). */
  readonly logger?: Logger;
  /**
   * Run NATS secured (issue 9, RUNBOOK "Trust model"): users with permissions per role, each WMS and
   * ERP publishing as its own user on its own subjects (default false: anonymous, as before).
   */
  readonly secured?: boolean;
}

/**
 * The NATS users of the demo: one per source system (the WMSs and ERPs, on their own subjects), the
 * hub's API (reservations and expiry as the API, plus the projector's rights) and the reconciler (it
 * books compensations as the ERPs).
 */
export const securityFor = (layouts: readonly RegionLayout[]): SecurityOptions => ({
  sources: {
    ...Object.fromEntries(
      [...new Set(layouts.flatMap((l) => [l.wms, l.erpSystem]))].map((system) => [
        system,
        { systems: [system] },
      ]),
    ),
    api: { systems: [API_SOURCE_SYSTEM, EXPIRY_SOURCE_SYSTEM], projector: true },
    reconciler: { systems: [...new Set(layouts.map((l) => l.erpSystem))] },
  },
});

export interface LocalSystem {
  readonly dataDir: string;
  readonly logFile: string | undefined;
  readonly regions: readonly string[];
  readonly layouts: readonly RegionLayout[];
  readonly apiUrl: string;
  readonly keys: typeof DEMO_KEYS;
  readonly topology: Topology;
  readonly hubNc: NatsConnection;
  readonly global: GlobalProjector;
  readonly api: ApiServer;
  readonly parts: ReadonlyMap<string, RegionRuntime>;
  readonly ledger: PostingsLedger;
  readonly reconciler: Reconciler;
  readonly reconciliationStore: ReconciliationStore;
  readonly routing: RoutingConfig;
  readonly targets: readonly GuardedTarget[];
  readonly sap: SapSimulator | undefined;
  readonly d365: D365Simulator | undefined;
  readonly simulatorUrls: { readonly sap?: string; readonly d365?: string };
  readonly logger: Logger;
  /** Region of a DC. */
  regionOf(location: string): string | undefined;
  /** Sends a command over request/reply to its region's node and returns the decided reply. */
  decide(command: Command): Promise<CommandReply>;
  /** Publishes a command (or raw bytes) to `INV_CMD_<R>`, as a WMS connector would; resolves on the stream's ack. */
  publish(region: string, location: string, sku: string, payload: unknown, msgId?: string): Promise<void>;
  stop(): Promise<void>;
}

const fileLogger = (file: string): { logger: Logger; flush: () => void } => {
  const dest = pino.destination({ dest: file, mkdir: true, sync: false });
  const logger = pino(
    {
      level: process.env.LOG_LEVEL ?? "info",
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: REDACT,
    },
    dest,
  );
  return { logger, flush: () => dest.flushSync() };
};

const te = new TextEncoder();

export const startLocalSystem = async (opts: LocalSystemOptions = {}): Promise<LocalSystem> => {
  const regions = [...(opts.regions ?? ["eu", "us"])];
  for (const r of regions)
    if (!LAYOUTS[r])
      throw new Error(
        `region ${JSON.stringify(r)} has no layout; choose from ${Object.keys(LAYOUTS).join(", ")}`,
      );
  const layouts = regions.map((r) => LAYOUTS[r] as RegionLayout);
  const dataDir = path.resolve(opts.dataDir ?? path.join(".data", "local"));
  if (opts.fresh ?? true) rmSync(dataDir, { recursive: true, force: true });
  mkdirSync(dataDir, { recursive: true });

  let logFile: string | undefined;
  let flushLog = () => {};
  let log: Logger;
  if (opts.logger) log = opts.logger;
  else {
    logFile = path.join(dataDir, "logs", "stockline.log");
    const f = fileLogger(logFile);
    log = f.logger;
    flushLog = f.flush;
  }

  const locationRegion = new Map<string, string>();
  for (const l of layouts) for (const dc of l.dcs) locationRegion.set(dc.id, l.region);

  // Everything started is stopped in reverse order, also when a later step fails.
  const stops: Array<{ what: string; stop: () => Promise<void> | void }> = [];
  const stopAll = async () => {
    for (const s of stops.splice(0).reverse()) {
      try {
        await s.stop();
      } catch (err) {
        log.warn({ err, component: s.what }, "error while stopping");
      }
    }
    log.info("local system stopped");
    flushLog();
  };

  try {
    const topology = await startTopology({
      regions,
      baseDir: path.join(dataDir, "nats"),
      keepData: opts.keepNatsData ?? false,
      logger: log.child({ component: "topology" }),
      ...(opts.secured ? { security: securityFor(layouts) } : {}),
    });
    const creds = topology.credentials;
    /** A connection as `user` on `server`; anonymous on an open topology. */
    const connectAs = async (server: string, user: string, name: string): Promise<NatsConnection> => {
      const url = server === HUB_DOMAIN ? topology.hub.url : (topology.regions[server]?.url as string);
      const nc = await connectNats({ servers: url, name, auth: creds?.auth(server, user), logger: log });
      stops.push({ what: `connection ${name}`, stop: () => drainAndClose(nc) });
      return nc;
    };
    stops.push({ what: "nats topology", stop: () => topology.stop() });

    // ERP simulators: SAP S/4HANA books the eu DCs, Dynamics 365 the us DCs.
    const faults: FaultOptions = opts.simulatorFaults ?? {
      latencyMs: 3,
      jitterMs: 10,
      errorRate: 0.02,
      errorStatus: 503,
      lostResponseRate: 0.01,
    };
    const wantsSap = layouts.some((l) => l.erpTarget === "sap");
    const wantsD365 = layouts.some((l) => l.erpTarget === "d365");
    // Negative stock allowed: the SAP connector books a transfer receipt as a move out of the transit
    // storage location (311), which balances for SAP-to-SAP transfers only; a transfer from a us DC
    // (Dynamics 365) never entered SAP's transit, so TRAN goes below zero while the DC's own storage
    // location (what reconciliation compares) is right. Known gap: TransferReceived carries no origin.
    const sap = wantsSap ? createSapSimulator({ ...faults, allowNegativeStock: true }) : undefined;
    const d365 = wantsD365 ? createD365Simulator({ ...faults }) : undefined;
    const simulatorUrls: { sap?: string; d365?: string } = {};
    if (sap) {
      simulatorUrls.sap = await sap.listen(0);
      stops.push({ what: "SAP simulator", stop: () => sap.close() });
    }
    if (d365) {
      simulatorUrls.d365 = await d365.listen(0);
      stops.push({ what: "D365 simulator", stop: () => d365.close() });
    }
    const connectors = new Map<string, TargetConnector>();
    if (simulatorUrls.sap)
      connectors.set(
        "sap",
        createSapConnector({
          kind: "sap-s4hana",
          id: "sap",
          baseUrl: simulatorUrls.sap,
          locations: SAP_LOCATIONS,
        }),
      );
    if (simulatorUrls.d365)
      connectors.set(
        "d365",
        createD365Connector({
          kind: "d365-inventory-visibility",
          id: "d365",
          baseUrl: simulatorUrls.d365,
          environmentId: "stockline-demo",
          organizationId: "usmf",
          locations: D365_LOCATIONS,
        }),
      );
    const targets = [...connectors.values()].map((c) =>
      guardTarget(c, { resetTimeoutMs: 3_000 }, log.child({ component: "breaker" })),
    );
    stops.push({
      what: "circuit breakers",
      stop: () => {
        for (const t of targets) t.shutdown();
      },
    });

    const ledger = new PostingsLedger(path.join(dataDir, "postings.db"));
    stops.push({ what: "postings ledger", stop: () => ledger.close() });
    const routing = routingFor(regions);

    // Per region: node, projector, read model, reservation expiry, posting worker.
    const parts = new Map<string, RegionRuntime>();
    for (const layout of layouts) {
      const region = layout.region;
      const url = topology.regions[region]?.url as string;
      const regionDir = path.join(dataDir, region);
      const node = await startRegionalNode(
        resolveNodeConfig({
          region,
          dataDir: regionDir,
          nats: {
            servers: [url],
            name: `stockline-node-${region}`,
            ...creds?.auth(region, `node-${region}`),
          },
          http: { enabled: false },
          ownership: ownershipFor(layout),
          // Commands are facts of a demo day: a short gap in a source's sequence should not hold them long.
          parkTimeoutMs: 5_000,
        }),
        { logger: log.child({ component: "node" }) },
      );
      stops.push({ what: `node ${region}`, stop: () => node.stop() });
      // The region's own services (projector, read model, expiry, postings, dead-letter desk): the node's user.
      const nc = await connectAs(region, `node-${region}`, `stockline-local-${region}`);
      // Each source system publishes as itself, on its own subjects (secured) or the shared ones.
      const sources = new Map<string, NatsConnection>();
      if (creds)
        for (const system of [layout.wms, layout.erpSystem])
          sources.set(system, await connectAs(region, system, `stockline-${system}-${region}`));
      const jsm = await jetstreamManager(nc);
      const projector = new RegionalProjector({
        nc,
        region,
        readStream: eventStoreReader(node.store),
        logger: log.child({ component: "regional-projector" }),
      });
      await projector.start();
      stops.push({ what: `projector ${region}`, stop: () => projector.stop() });
      const readModel = new AtpReadModel({ nc, region, logger: log.child({ component: "atp-read-model" }) });
      await readModel.start();
      stops.push({ what: `read model ${region}`, stop: () => readModel.stop() });
      const expiry = await startReservationExpiry({
        nc,
        region,
        domain: region,
        sourceSystem: EXPIRY_SOURCE_SYSTEM,
        logger: log.child({ component: "reservation-expiry" }),
      });
      stops.push({ what: `reservation expiry ${region}`, stop: () => expiry.stop() });
      const target = targets.find((t) => t.connector.id === layout.erpTarget) as GuardedTarget;
      const worker = new PostingWorker({
        nc,
        region,
        target,
        routing,
        ledger,
        logger: log.child({ component: "postings" }),
        backoff: { initialMs: 200, maxMs: 5_000 },
      });
      await worker.start();
      stops.push({ what: `postings ${region} -> ${target.connector.id}`, stop: () => worker.stop() });
      parts.set(region, {
        layout,
        node,
        dataDir: regionDir,
        storePath: node.config.store.kind === "sqlite" ? node.config.store.path : "",
        nc,
        sources,
        jsm,
        projector,
        readModel,
        expiry,
        worker,
      });
    }

    const hubNc = await connectAs(HUB_DOMAIN, "api", "stockline-local-hub");
    const reconcilerNc = creds
      ? await connectAs(HUB_DOMAIN, "reconciler", "stockline-local-reconciler")
      : hubNc;
    const staleAfterMs = opts.staleAfterMs ?? 10_000;
    const global = new GlobalProjector({
      nc: hubNc,
      regions,
      staleAfterMs,
      logger: log.child({ component: "global-projector" }),
    });
    await global.start();
    stops.push({ what: "global projector", stop: () => global.stop() });

    const decide = async (command: Command): Promise<CommandReply> => {
      // On the ERP's own request subject: the reconciler books compensations as the ERP.
      const msg = await reconcilerNc.request(
        sourceReqSubject(command.position.region, command.source.system),
        JSON.stringify(command),
        { timeout: 5_000 },
      );
      const reply = decodeCommandReply(JSON.parse(new TextDecoder().decode(msg.data)));
      if (reply._tag === "Left") throw new Error(`undecodable reply from ${command.position.region}`);
      return reply.right;
    };

    // One reconciler over every region: each target's locations belong to one region's ledger.
    const ledgers = new Map<string, EventLedger>(
      [...parts].map(([r, p]) => [r, eventStoreLedger(p.node.store as EventStore)]),
    );
    const ledgerOf = (region: string): EventLedger => {
      const l = ledgers.get(region);
      if (!l) throw new Error(`no event ledger for region ${region}`);
      return l;
    };
    const events: EventLedger = {
      skusAt: (location) => ledgerOf(locationRegion.get(location) ?? "").skusAt(location),
      eventsOf: (position) => ledgerOf(position.region).eventsOf(position),
    };
    const reconciliationStore = new ReconciliationStore(path.join(dataDir, "reconciliation.db"));
    stops.push({ what: "reconciliation store", stop: () => reconciliationStore.close() });
    const service = postingService(
      ledger,
      [...parts.values()].map((p) => p.worker),
    );
    const reconciler = new Reconciler({
      region: regions.join("+"),
      regionOf: (location) => locationRegion.get(location) ?? regions[0] ?? "",
      targets: [...connectors.values()],
      routing,
      postings: ledger,
      events,
      store: reconciliationStore,
      logger: log.child({ component: "reconciler" }),
      submitCommand: decide,
      replayPosting: (id) => service.retry(id),
    });
    stops.push({ what: "reconciler", stop: () => reconciler.stop() });

    // Command dead letters per region (retried over the region's request/reply), and the lag and depth gauges.
    const desks = new Map(
      [...parts].map(([region, p]) => [region, new CommandDeadLetterDesk({ nc: p.nc, region, logger: log })]),
    );
    const depthSampler = startDeadLetterDepthSampler(desks.values(), { logger: log });
    const lagSampler = startConsumerLagSampler({
      sources: [
        ...[...parts].map(([r, p]) => ({ jsm: p.jsm, streams: [cmdStreamName(r), evtStreamName(r)] })),
        // The hub's mirrors carry the regions' stream names; their consumer is the global projector's.
        { jsm: await jetstreamManager(hubNc, { domain: HUB_DOMAIN }), streams: regions.map(evtStreamName) },
      ],
      logger: log,
    });
    stops.push({ what: "dead-letter depth sampler", stop: () => depthSampler.stop() });
    stops.push({ what: "consumer lag sampler", stop: () => lagSampler.stop() });

    const requested = opts.apiPort ?? 8080;
    const apiPort = requested === 0 ? 0 : await getPort({ host: "127.0.0.1", port: requested });
    const config = resolveApiConfig({
      regions,
      dataDir: path.join(dataDir, "api"),
      http: { host: "127.0.0.1", port: apiPort },
      apiKeys: [
        { name: "webshop", key: DEMO_KEYS.commerce, roles: ["commerce"] },
        { name: "warehouse", key: DEMO_KEYS.warehouse, roles: ["warehouse"] },
        { name: "operations", key: DEMO_KEYS.operations, roles: ["operations"] },
        { name: "finance", key: DEMO_KEYS.finance, roles: ["finance"] },
      ],
      degraded: { staleAfterMs },
    });
    const api = await startApiServer(config, {
      nc: hubNc,
      availability: global,
      logger: log.child({ component: "api" }),
      sourceSystem: API_SOURCE_SYSTEM,
      extraRoutes: (app) => {
        registerPositionRoutes(app, {
          stores: [...parts].map(([region, p]) => ({
            region,
            store: p.node.store,
            published: jetStreamPublishedHeads(p.jsm, region),
          })),
          postingsFor: ledgerPostingsFor(ledger),
        });
        registerPostingRoutes(app, service);
        registerReconciliationRoutes(app, { reconciler, store: reconciliationStore });
        registerExceptionRoutes(app, {
          desks,
          postingDeadLetters: () => ledger.list({ status: "dead", limit: 500 }),
          openFindings: () => reconciliationStore.findings({ status: "open" }),
        });
      },
    });
    // Intake first on stop: the API goes before anything behind it.
    stops.push({ what: "API", stop: () => api.close() });
    log.info({ api: api.url, dataDir, regions }, "local system started");

    let stopping: Promise<void> | undefined;
    return {
      dataDir,
      logFile,
      regions,
      layouts,
      apiUrl: api.url,
      keys: DEMO_KEYS,
      topology,
      hubNc,
      global,
      api,
      parts,
      ledger,
      reconciler,
      reconciliationStore,
      routing,
      targets,
      sap,
      d365,
      simulatorUrls,
      logger: log,
      regionOf: (location) => locationRegion.get(location),
      decide,
      publish: async (region, location, sku, payload, msgId) => {
        const p = parts.get(region);
        if (!p) throw new Error(`unknown region ${region}`);
        const data = payload instanceof Uint8Array ? payload : te.encode(JSON.stringify(payload));
        const system = claimedSystem(payload);
        const source = system === undefined ? undefined : p.sources.get(system);
        // Secured, a source's command goes as that source on its subject; anything else as the node.
        const subject =
          source && system !== undefined
            ? sourceCmdSubject(region, system, location, sku)
            : cmdSubject(region, location, sku);
        await jetstream(source ?? p.nc).publish(subject, data, msgId ? { msgID: msgId } : {});
      },
      stop: () => {
        stopping ??= stopAll();
        return stopping;
      },
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
};
