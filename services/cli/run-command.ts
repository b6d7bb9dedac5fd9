/**
 * `stockline run [--duration s] [--rate n] [--data-dir d] [--api-port p] [--seed n] [--keep] [--open-nats]`: starts
 * the whole local system (services/local-system), feeds it a realistic stream of commands and shows
 * what happens every few seconds, with a reconciliation after ~30 s and then every minute. Runs until
 * Ctrl-C (SIGINT/SIGTERM stop it gracefully) or for `--duration` seconds.
 */
import path from "node:path";
import type { Command } from "commander";
import { DemoFeed, loadCatalog } from "../local-system/demo-feed.ts";
import { type FeedTransport, type FeedWorld, httpFeedApi } from "../local-system/feed-world.ts";
import { type LocalSystem, startLocalSystem } from "../local-system/local-system.ts";
import { renderBanner, StatusView, shown } from "../local-system/status-view.ts";

interface RunOptions {
  duration?: string;
  rate: string;
  dataDir: string;
  apiPort: string;
  seed: string;
  every: string;
  keep?: boolean;
  /** `--open-nats`: anonymous NATS without permissions (default: secured). */
  openNats?: boolean;
}

const positiveNumber = (name: string, raw: string, { integer = false, zero = false } = {}): number => {
  const n = Number(raw);
  if (!Number.isFinite(n) || (integer && !Number.isInteger(n)) || n < 0 || (!zero && n === 0))
    throw new Error(
      `${name}: got ${JSON.stringify(raw)}, expected a ${integer ? "whole " : ""}number > ${zero ? "-1" : "0"}`,
    );
  return n;
};

const delay = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * The demo feed's view of the in-process system: its regions and DCs, publishing as each region's
 * WMS or ERP (the system's own `publish` picks the source's connection), and the API with the
 * commerce key.
 */
export const localFeedInput = (sys: LocalSystem): { world: FeedWorld; transport: FeedTransport } => ({
  world: {
    regions: sys.layouts.map((l) => ({
      region: l.region,
      locations: l.dcs.map((d) => d.id),
      wms: l.wms,
      erp: l.erpSystem,
    })),
  },
  transport: {
    publish: (to, payload) => sys.publish(to.region, to.location, to.sku, payload),
    ...httpFeedApi({ apiUrl: sys.apiUrl, apiKey: sys.keys.commerce }),
  },
});

export const runLocalSystem = async (o: RunOptions): Promise<void> => {
  const durationS = o.duration === undefined ? undefined : positiveNumber("--duration", o.duration);
  const rate = positiveNumber("--rate", o.rate);
  const seed = positiveNumber("--seed", o.seed, { integer: true, zero: true });
  const apiPort = positiveNumber("--api-port", o.apiPort, { integer: true, zero: true });
  const everyMs = positiveNumber("--every", o.every) * 1000;
  const out = (s: string) => process.stdout.write(`${s}\n`);

  out(
    `starting stockline: a NATS hub and regions eu and us, ERP simulators, API (data in ${shown(path.resolve(o.dataDir))}) ...`,
  );
  const t0 = Date.now();
  let sys: LocalSystem;
  try {
    sys = await startLocalSystem({
      dataDir: o.dataDir,
      apiPort,
      fresh: true,
      keepNatsData: o.keep ?? false,
      secured: !o.openNats,
    });
  } catch (err) {
    process.stderr.write(`could not start the local system: ${(err as Error).message}\n`);
    process.exitCode = 1;
    return;
  }
  const catalog = loadCatalog();
  const { world, transport } = localFeedInput(sys);
  // The mix starts once the shops see every SKU's opening stock (the feed polls the availability API).
  const feed = new DemoFeed(world, transport, {
    catalog,
    rate,
    seed,
    logger: sys.logger.child({ component: "demo-feed" }),
  });
  out(
    renderBanner(sys, feed, { rate, seed, requestedApiPort: apiPort, ...(durationS ? { durationS } : {}) }),
  );
  out(
    `started in ${((Date.now() - t0) / 1000).toFixed(1)} s; loading opening stock (${feed.positions} receipts), then the steady mix`,
  );
  out("");

  const view = new StatusView(sys, feed, out);
  let stopping = false;
  let resolveStop: () => void = () => {};
  const stopped = new Promise<void>((r) => {
    resolveStop = r;
  });
  const requestStop = (why: string) => {
    if (stopping) return;
    stopping = true;
    out(`\n${why}: stopping gracefully (feed, API, posting workers, projectors, nodes, nats-server) ...`);
    resolveStop();
  };
  const onSignal = (sig: string) => () => {
    if (stopping) {
      out("second signal: exiting now");
      process.exit(130);
    }
    requestStop(sig);
  };
  const sigint = onSignal("SIGINT");
  const sigterm = onSignal("SIGTERM");
  process.on("SIGINT", sigint);
  process.on("SIGTERM", sigterm);

  const feeding = feed.start().catch((err) => {
    out(`feed stopped: ${(err as Error).message}`);
  });

  // Status view and reconciliation: one at a time, so tables never interleave.
  let busy: Promise<unknown> = Promise.resolve();
  const serially = (f: () => Promise<unknown>) => {
    busy = busy.then(f).catch((err) => out(`(status view: ${(err as Error).message})`));
    return busy;
  };
  const statusTimer = setInterval(() => {
    if (!stopping) void serially(() => view.print());
  }, everyMs);
  let reconTimer: NodeJS.Timeout | undefined;
  const firstRecon = setTimeout(() => {
    if (stopping) return;
    void serially(() => view.reconcile("demo: after 30 s"));
    reconTimer = setInterval(() => {
      if (!stopping) void serially(() => view.reconcile("demo: every minute"));
    }, 60_000);
  }, 30_000);
  const durationTimer = durationS
    ? setTimeout(() => requestStop(`${durationS} s are up`), durationS * 1000)
    : undefined;

  await stopped;
  clearInterval(statusTimer);
  clearTimeout(firstRecon);
  if (reconTimer) clearInterval(reconTimer);
  if (durationTimer) clearTimeout(durationTimer);
  await feed.stop();
  await feeding;
  await busy;
  // A last look once what was sent has been answered.
  await delay(1_500);
  await view.print().catch(() => {});
  const t1 = Date.now();
  await sys.stop();
  process.off("SIGINT", sigint);
  process.off("SIGTERM", sigterm);
  out(`stopped in ${((Date.now() - t1) / 1000).toFixed(1)} s; no nats-server left running.`);
  out(
    `The event stores, postings ledger and reconciliation runs stay in ${shown(sys.dataDir)} for audit until the next run, e.g.:`,
  );
  out(`  npx tsx services/cli.ts verify --region eu --store ${shown(sys.parts.get("eu")?.storePath ?? "")}`);
  if (feed.stats.tracedOrder)
    out(
      `  npx tsx services/cli.ts trace ${feed.stats.tracedOrder.order} ${sys.regions.map((r) => `--store ${shown(sys.parts.get(r)?.storePath ?? "")}`).join(" ")} --postings ${shown(path.join(sys.dataDir, "postings.db"))}`,
    );
};

export const registerRunCommand = (program: Command): Command =>
  program
    .command("run")
    .description(
      "start the local system (NATS hub + regions eu and us, nodes, projections, API, ERP simulators, postings, reconciliation), feed it and show it working",
    )
    .option("--duration <seconds>", "stop after this many seconds (default: run until Ctrl-C)")
    .option("--rate <n>", "commands per second in the steady mix", "50")
    .option("--data-dir <dir>", "data folder (wiped at start)", path.join(".data", "local"))
    .option("--api-port <port>", "API port (a free one when taken; 0 = any)", "8080")
    .option("--seed <n>", "seed of the feed's choices", "20101201")
    .option("--every <seconds>", "seconds between status views", "5")
    .option("--keep", "also keep the nats-server folders (config, logs, JetStream) after stopping")
    .option("--open-nats", 'run NATS without users and permissions (default: secured, RUNBOOK "Trust model")')
    .action(async (o: RunOptions) => {
      await runLocalSystem(o);
      // Everything is stopped; some parts keep a bounded timeout (drain, server stop) referenced for
      // up to 15 s after they finished. Do not make the operator wait for those.
      await new Promise<void>((r) => process.stdout.write("", () => r()));
      process.exit(process.exitCode ?? 0);
    });
