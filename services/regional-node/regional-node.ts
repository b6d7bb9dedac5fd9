/**
 * A regional node, composed (DESIGN §2): intake (JetStream `INV_CMD_<R>`, request/reply `inv.req.<r>`,
 * `POST /v1/commands`) → position actors → group commit to the event store → relay to `INV_EVT_<R>`;
 * dead letters to `INV_DLQ_<R>`. Start it in-process with `startRegionalNode` (tests, benchmarks) or as
 * a process with `main.ts` / `stockline node`.
 *
 * `stop()` is graceful: stop taking commands, settle the ones in hand, flush commits, let the relay
 * publish everything committed, then close.
 */
import { mkdirSync } from "node:fs";
import path from "node:path";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import type { FastifyInstance } from "fastify";
import type { Logger } from "pino";
import { DEFAULT_LIMITS } from "../../domain/position-context.ts";
import { loadAnchorKey } from "../../infra/anchor/anchor-log.ts";
import type { NodeConfig } from "../../infra/config/node-config.ts";
import type { EventStore } from "../../infra/event-store/event-store.ts";
import { openSqliteEventStore } from "../../infra/event-store/sqlite-event-store.ts";
import { createHttpServer } from "../../infra/http/http-server.ts";
import { createLogger } from "../../infra/logging.ts";
import { connectNats, drainAndClose } from "../../infra/nats/connection.ts";
import { ensureRegionStreams } from "../../infra/nats/streams.ts";
import { installAccessControl } from "../api/access-control.ts";
import { CommandHandler } from "./command-handler.ts";
import { DeadLetterPublisher } from "./dead-letters.ts";
import { GroupCommitter } from "./group-committer.ts";
import { HeadAnchorer } from "./head-anchorer.ts";
import { registerCommandRoutes } from "./http-intake.ts";
import { JetStreamIntake } from "./jetstream-intake.ts";
import { type MultiNode, startMultiNode } from "./multi-node.ts";
import { NodeDb } from "./node-db.ts";
import { NodeStatusPublisher } from "./node-status.ts";
import { PositionRuntime } from "./position-runtime.ts";
import { type DeadEvent, Relay, type RelayOptions } from "./relay.ts";
import { RequestReplyIntake } from "./request-reply.ts";
import { appendWorkerAvailable, WorkerAppendStore } from "./worker-append-store.ts";

export interface RegionalNode {
  readonly region: string;
  readonly config: NodeConfig;
  /** Base URL of the HTTP API (`http://host:port`), or undefined when HTTP is disabled. */
  readonly url: string | undefined;
  readonly store: EventStore;
  readonly runtime: PositionRuntime;
  /**
   * The relay. In a multi-node region (`config.partitioning`) the one this node runs while it holds
   * the relay lease, else a relay that is not started (see `multiNode`).
   */
  readonly relay: Relay;
  /** Leases, owned partitions and the relay singleton of a multi-node region; undefined: single node. */
  readonly multiNode: MultiNode | undefined;
  readonly committer: GroupCommitter;
  readonly nc: NatsConnection;
  /** Anchors stream heads outside the store (undefined: disabled, or not a SQLite file store). */
  readonly anchorer: HeadAnchorer | undefined;
  /** Graceful stop; idempotent. */
  stop(): Promise<void>;
}

/** Per key on the node's HTTP intake: far above what a source system sends, a guard against floods. */
const NODE_RATE_LIMIT = { max: 100_000, windowMs: 1_000 };

export interface StartOptions {
  readonly logger?: Logger;
  /** Skip the JetStream intake (e.g. a node that only answers requests). */
  readonly jetstreamIntake?: boolean;
  /** Backoff of the relay and of the transfer outbox (defaults in relay.ts and transfer-outbox.ts). */
  readonly relayBackoff?: RelayOptions["backoff"];
  readonly outboxBackoff?: RelayOptions["outboxBackoff"];
  /** How often the node reports its store head and relay position for the hub (default 1 s). */
  readonly statusEveryMs?: number;
}

/** The dead letter of an event the relay passed or a transfer it could not dispatch. */
const deadEventLetter = (dlq: DeadLetterPublisher, region: string, dead: DeadEvent) => {
  const streamId = dead.streamId === undefined ? undefined : dead.streamId.slice(0, 512);
  let raw: unknown;
  try {
    raw = JSON.parse(dead.data);
  } catch {
    raw = undefined;
  }
  const where =
    dead.globalPosition === undefined
      ? "a derived command"
      : `event ${dead.globalPosition} (${streamId ?? "?"} revision ${dead.revision})`;
  return dlq.build({
    reason: dead.reason,
    code: dead.reason === "unpublishableEvent" ? "beyondServerLimits" : "undeliverable",
    message: `${where}: ${dead.why}`,
    details: {
      region,
      why: dead.why,
      ...(dead.globalPosition !== undefined ? { globalPosition: dead.globalPosition } : {}),
      ...(streamId !== undefined
        ? { streamId, streamIdLength: dead.streamId!.length, revision: dead.revision, type: dead.type }
        : {}),
      bytes: dead.bytes,
    },
    raw,
    payload: dead.data,
    intake: { via: "relay" },
  });
};

const openStore = async (config: NodeConfig, logger: Logger): Promise<EventStore> => {
  if (config.store.kind === "sqlite") {
    mkdirSync(path.dirname(config.store.path), { recursive: true });
    const reader = openSqliteEventStore({
      path: config.store.path,
      synchronous: config.store.synchronous,
      logger,
    });
    // Commits (and their fsync) in a worker thread, off the event loop; see worker-append-store.ts.
    if (config.store.path === ":memory:" || !appendWorkerAvailable()) return reader;
    const store = new WorkerAppendStore(reader, {
      path: config.store.path,
      synchronous: config.store.synchronous,
    });
    try {
      await store.start();
    } catch (err) {
      await store.close().catch(() => {});
      throw err;
    }
    return store;
  }
  if (config.store.kind === "postgres") {
    const { openPostgresEventStore } = await import("../../infra/event-store/postgres-event-store.ts");
    return openPostgresEventStore({ url: config.store.url, schema: config.store.schema, logger });
  }
  const { openEventStoreDbEventStore } = await import("../../infra/event-store/eventstoredb-event-store.ts");
  return openEventStoreDbEventStore({ connectionString: config.store.url, logger });
};

export const startRegionalNode = async (
  config: NodeConfig,
  opts: StartOptions = {},
): Promise<RegionalNode> => {
  const region = config.region;
  const log = (opts.logger ?? createLogger("regional-node")).child({ region });
  mkdirSync(config.dataDir, { recursive: true });

  const store = await openStore(config, log);
  // Several nodes of a region share the store, never a node.db: each has its own folder.
  const nodeDbDir = config.partitioning
    ? path.join(config.dataDir, "nodes", config.partitioning.nodeId)
    : config.dataDir;
  mkdirSync(nodeDbDir, { recursive: true });
  const nodeDb = new NodeDb(path.join(nodeDbDir, "node.db"));
  const closers: Array<() => Promise<void> | void> = [() => store.close(), () => nodeDb.close()];
  const closeAll = async () => {
    for (const c of closers.splice(0).reverse()) {
      try {
        await c();
      } catch (err) {
        log.warn({ err }, "error while closing");
      }
    }
  };

  try {
    const anchorer =
      config.anchor.enabled && config.store.kind === "sqlite" && config.store.path !== ":memory:"
        ? await HeadAnchorer.open({
            region,
            storePath: config.store.path,
            dir: config.anchor.dir,
            everyMs: config.anchor.everyMs,
            key: loadAnchorKey({ keyFile: config.anchor.keyFile, keyEnv: config.anchor.keyEnv }),
            logger: log,
          })
        : undefined;
    if (anchorer) closers.push(() => anchorer.stop());
    const nc = await connectNats({
      servers: config.nats.servers,
      name: config.nats.name,
      auth: config.nats.auth,
      logger: log,
    });
    closers.push(() => drainAndClose(nc));
    const jsm = await jetstreamManager(nc);
    await ensureRegionStreams(jsm, region);
    const js = jetstream(nc);
    if (anchorer && config.anchor.jetstream) await anchorer.attachStream(js, jsm);

    const dlq = new DeadLetterPublisher(js, region, log);
    let handler: CommandHandler | undefined;
    let runtime: PositionRuntime | undefined;
    const committer = new GroupCommitter(store, {
      region,
      maxBatch: config.commit.maxBatch,
      afterCommit: () => runtime?.flushSnapshots(),
    });
    runtime = new PositionRuntime({
      region,
      store,
      committer,
      nodeDb,
      policy: config.ownership,
      decisionConfig: {
        units: config.units,
        defaultReservationTtlSeconds: config.defaultReservationTtlSeconds,
        countVarianceTolerance: config.countVarianceTolerance,
      },
      limits: { ...DEFAULT_LIMITS, idempotencyKeys: config.idempotencyKeysPerPosition },
      snapshotEvery: config.snapshotEvery,
      cache: config.actorCache,
      maxRetries: config.commit.maxRetries,
      parkTimeoutMs: config.parkTimeoutMs,
      logger: log,
      onInternalOutcome: async (command, result) => {
        const settled = await handler!.settle(command, result, JSON.stringify(command), { via: "internal" });
        if (settled.disposition !== "ack") throw new Error("not settled yet");
      },
    });
    handler = new CommandHandler({
      region,
      limits: {
        region,
        maxPayloadBytes: config.intake.maxPayloadBytes,
        maxJsonDepth: config.intake.maxJsonDepth,
        masterData: config.masterData,
      },
      runtime,
      dlq,
      logger: log,
    });
    const rt = runtime;
    const h = handler;

    const makeRelay = () =>
      new Relay({
        region,
        nc,
        store,
        nodeDb,
        window: config.relay.window,
        batch: config.relay.batch,
        checkpointEveryMs: config.relay.checkpointEveryMs,
        logger: log,
        submitLocal: (command) => rt.submit(command),
        onDeadEvent: (dead) =>
          dlq.send(
            deadEventLetter(dlq, region, dead),
            dead.globalPosition !== undefined
              ? `relay:${dead.reason}:${dead.globalPosition}`
              : `relay:${dead.reason}:${(JSON.parse(dead.data) as { idempotencyKey?: string }).idempotencyKey}`,
          ),
        ...(opts.relayBackoff ? { backoff: opts.relayBackoff } : {}),
        ...(opts.outboxBackoff ? { outboxBackoff: opts.outboxBackoff } : {}),
        onDerivedRejected: async (command, result) => {
          const settled = await h.settle(command, result, JSON.stringify(command), { via: "internal" });
          if (settled.disposition !== "ack")
            throw new Error("dead letter of a derived command not published");
        },
      });
    const standby = config.partitioning ? makeRelay() : undefined;
    const single = config.partitioning ? undefined : makeRelay();
    single?.start();
    const multi = config.partitioning
      ? await startMultiNode({
          config,
          partitioning: config.partitioning,
          nc,
          js,
          jsm,
          store,
          nodeDb,
          handler,
          runtime: rt,
          makeRelay,
          logger: log,
        })
      : undefined;
    if (multi) closers.push(() => multi.stop());
    const relayNow = (): Relay => single ?? multi?.relay() ?? standby!;
    anchorer?.start();
    const status = new NodeStatusPublisher({
      region,
      nc,
      relay: single ?? (() => multi?.relay()),
      logger: log,
      ...(opts.statusEveryMs !== undefined ? { everyMs: opts.statusEveryMs } : {}),
    });
    await status.start();

    const jsIntake =
      opts.jetstreamIntake === false || multi
        ? undefined
        : new JetStreamIntake({
            region,
            js,
            jsm,
            handler,
            maxInFlight: config.intake.maxInFlight,
            ackWaitMs: config.intake.ackWaitMs,
            logger: log,
          });
    const reqIntake = config.intake.requestReply
      ? new RequestReplyIntake({ region, nc, handler: multi?.intake.requestHandler ?? handler, logger: log })
      : undefined;

    let app: FastifyInstance | undefined;
    let url: string | undefined;
    if (config.http.enabled) {
      app = await createHttpServer({
        title: `stockline regional node ${region}`,
        logger: log,
        readiness: {
          nats: async () => ({ ok: !nc.isClosed() && nc.info !== undefined }),
        },
      });
      // The same keys and roles as the API; a key speaks only for its own source systems.
      await installAccessControl(app, { apiKeys: config.apiKeys, rateLimit: NODE_RATE_LIMIT });
      registerCommandRoutes(app, handler);
      await app.listen({ host: config.http.host, port: config.http.port });
      const address = app.server.address();
      url = typeof address === "object" && address ? `http://${config.http.host}:${address.port}` : undefined;
    }
    await jsIntake?.start();
    reqIntake?.start();
    log.info({ url, store: config.store.kind, dataDir: config.dataDir }, "regional node started");

    let stopping: Promise<void> | undefined;
    const stop = (): Promise<void> => {
      stopping ??= (async () => {
        log.info("regional node stopping: intake first");
        await app?.close();
        await reqIntake?.stop();
        await jsIntake?.stop();
        await multi?.stop(); // partitions handed over, then the relay (drained) and its lease
        await rt.drain();
        // Derived commands (transfers) may arrive from the relay while it drains.
        const drained = single ? await single.drain(15_000) : true;
        await rt.drain();
        await status.stop();
        await single?.stop();
        rt.close();
        await anchorer?.stop(); // the last line anchors everything committed
        log.info(
          { relayCheckpoint: relayNow().checkpoint, relayDrained: drained, ...committer.stats },
          "regional node stopped",
        );
        await closeAll();
      })();
      return stopping;
    };

    return {
      region,
      config,
      url,
      store,
      runtime: rt,
      get relay() {
        return relayNow();
      },
      multiNode: multi,
      committer,
      nc,
      anchorer,
      stop,
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
};
