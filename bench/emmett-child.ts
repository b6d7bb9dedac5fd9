/**
 * Child process of the benchmark: the peer, Emmett's `CommandHandler` over
 * `@event-driven-io/emmett-postgresql` on the machine's PostgreSQL, deciding the bench workload
 * (bench/workload.ts, parsed from the same JSON the node receives) with bench/emmett-decider.ts.
 * `inFlight` commands are handled at once; commands of one stream wait for the one before (as the
 * node's actor handles one command at a time), and a version conflict left over is retried by the
 * handler itself (`retry: { onVersionConflict: true }`, Emmett's defaults).
 * Requests: `run` (one measurement on a fresh database the parent made; the store and its pool are
 * closed after), `stop`.
 */
import { CommandHandler } from "@event-driven-io/emmett";
import { getPostgreSQLEventStore, type PostgresEventStore } from "@event-driven-io/emmett-postgresql";
import pg from "pg";
import { processFigures, serveParent } from "./child-process.ts";
import { decide, evolve, initialState, type PeerCommand, type PeerEvent } from "./emmett-decider.ts";
import { Workload } from "./workload.ts";

export interface EmmettRun {
  /** Connection string of the (fresh) database. */
  readonly url: string;
  readonly region: string;
  readonly positions: number;
  readonly runId: string;
  readonly commands: number;
  readonly warmup: number;
  readonly inFlight: number;
}

export interface EmmettFigures {
  perSecond: number;
  commands: number;
  ms: number;
  events: number;
  rejected: number;
  failed: number;
  firstError?: string;
  cpuMs: number;
}

const td = new TextDecoder();

const handle = CommandHandler<ReturnType<typeof initialState>, PeerEvent>({
  evolve,
  initialState,
  retry: { onVersionConflict: true },
});

const drive = async (
  es: PostgresEventStore,
  commands: readonly PeerCommand[],
  inFlight: number,
): Promise<{ events: number; rejected: number; failed: number; firstError?: string }> => {
  let next = 0;
  let events = 0;
  let rejected = 0;
  let failed = 0;
  let firstError: string | undefined;
  const tails = new Map<string, Promise<void>>();
  const one = async (c: PeerCommand) => {
    const streamId = `position-${c.position.location}-${c.position.sku}`;
    const before = tails.get(streamId);
    const run = (async () => {
      if (before) await before;
      try {
        const r = await handle(es, streamId, (state) => decide(c, state));
        events += r.newEvents.length;
        for (const e of r.newEvents) if (e.type === "ReservationRejected") rejected++;
      } catch (err) {
        failed++;
        firstError ??= err instanceof Error ? err.message : String(err);
      }
    })();
    tails.set(streamId, run);
    await run;
    if (tails.get(streamId) === run) tails.delete(streamId);
  };
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < commands.length) await one(commands[next++]!);
    }),
  );
  return { events, rejected, failed, ...(firstError ? { firstError } : {}) };
};

serveParent({
  async run(payload): Promise<EmmettFigures> {
    const p = payload as EmmettRun;
    // Our own pool (pg's default size, as Emmett's own would be), so that its connections' errors are
    // handled: when the parent drops the database (WITH (FORCE)) before a run is over (a request timed
    // out), the server ends them (57P01) and an unhandled 'error' on the pool or on a client between
    // two queries of a transaction would kill this process. The queries then fail, counted as `failed`.
    const pool = new pg.Pool({ connectionString: p.url });
    pool.on("error", () => {});
    pool.on("connect", (client) => client.on("error", () => {}));
    const store = getPostgreSQLEventStore(p.url, {
      schema: { autoMigration: "CreateOrUpdate" },
      connectionOptions: { pool },
    });
    try {
      // Before any command: concurrent first calls, each creating the schema, hang (pool exhausted).
      await store.schema.migrate();
      const workload = new Workload(p.region, p.positions, p.runId);
      const parse = (n: number) => workload.take(n).map((c) => JSON.parse(td.decode(c.data)) as PeerCommand);
      await drive(store, parse(p.warmup), p.inFlight);
      // Parsing is part of the work (the node decodes each command's JSON too): measured.
      const raw = workload.take(p.commands);
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      const commands = raw.map((c) => JSON.parse(td.decode(c.data)) as PeerCommand);
      const r = await drive(store, commands, p.inFlight);
      const ms = performance.now() - t0;
      const cpu = process.cpuUsage(cpu0);
      return {
        perSecond: Math.round(((p.commands - r.failed) / ms) * 1000),
        commands: p.commands,
        ms: Math.round(ms),
        ...r,
        cpuMs: Math.round((cpu.user + cpu.system) / 1000),
      };
    } finally {
      await store.close();
      await pool.end();
    }
  },
  stats() {
    return processFigures();
  },
  stop() {
    return {};
  },
});
