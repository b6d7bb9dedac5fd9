/**
 * `stockline feed --config <file> [--rate n] [--seed n] [--duration s]`: feeds a deployment that
 * `stockline up` runs with the demo's day of commands (services/up/feed-driver.ts): opening stock,
 * then reservations through the API and the warehouse and ERP messages that follow, published on
 * NATS as those systems. `make run` is `stockline up --config config/demo.json` plus this.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import type { Command } from "commander";
import { pino } from "pino";
import { DemoFeed, loadCatalog } from "../local-system/demo-feed.ts";
import { loadPartConfig } from "../parts/part-runtime.ts";
import { commerceKeyOf, connectFeed, feedWorldOf, operationsKeyOf, statusLine } from "../up/feed-driver.ts";

interface FeedFlags {
  config: string;
  dataDir?: string;
  api?: string;
  rate: string;
  seed: string;
  duration?: string;
  every: string;
}

const number = (flag: string, raw: string): number => {
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0)
    throw new Error(`--${flag}: got ${JSON.stringify(raw)}, expected a number >= 0`);
  return n;
};

/** The API's URL from the run's state (what `stockline up` started), unless given. */
const apiOf = (dataDir: string): string => {
  const state = JSON.parse(readFileSync(path.join(dataDir, "up", "state.json"), "utf8")) as {
    parts: { name: string; info?: { url?: string } }[];
  };
  const url = state.parts.find((p) => p.name === "api")?.info?.url;
  if (!url) throw new Error(`no running API in ${dataDir}/up/state.json; give --api`);
  return url;
};

export const registerFeedCommand = (program: Command): Command =>
  program
    .command("feed")
    .description("feed a deployment started by stockline up with the demo's day of commands")
    .requiredOption("--config <file>", "the distributor configuration the deployment runs")
    .option("--data-dir <dir>", "its data folder (as given to stockline up)")
    .option("--api <url>", "the API (default: from the run's state)")
    .option("--rate <n>", "commands per second in the steady mix", "50")
    .option("--seed <n>", "seed of the feed's choices", "20101201")
    .option("--duration <seconds>", "stop after this many seconds (default: until Ctrl-C)")
    .option("--every <seconds>", "seconds between progress lines", "5")
    .action(async (f: FeedFlags) => {
      const out = (line: string) => process.stdout.write(`${line}\n`);
      const d = loadPartConfig({ config: f.config, ...(f.dataDir ? { dataDir: f.dataDir } : {}) });
      const logger = pino(
        { level: process.env.LOG_LEVEL ?? "info" },
        pino.destination({ dest: path.join(d.dataDir, "logs", "feed.log"), mkdir: true, sync: false }),
      );
      const { world, skipped } = feedWorldOf(d);
      if (world.regions.length === 0)
        throw new Error(
          "no region has locations, a WMS and an ERP to feed (systems[].kind, systems[].regions)",
        );
      if (skipped.length > 0) out(`not fed (no location, WMS or ERP): ${skipped.join(", ")}`);
      const apiUrl = f.api ?? apiOf(d.dataDir);
      const conn = connectFeed(d, { apiUrl, apiKey: commerceKeyOf(d, process.env), logger });
      const catalog = loadCatalog();
      const feed = new DemoFeed(world, conn.transport, {
        catalog,
        rate: number("rate", f.rate),
        seed: number("seed", f.seed),
        logger,
      });
      out(
        `feeding ${world.regions.map((r) => `${r.region} (${r.locations.join(", ")})`).join("; ")} at ${f.rate}/s through ${apiUrl}; ${feed.positions} positions, catalogue ${catalog.source}`,
      );
      const running = feed.start().catch((err: unknown) => out(`feed stopped: ${(err as Error).message}`));
      const opsKey = operationsKeyOf(d, process.env);
      const progress = setInterval(() => {
        const s = feed.stats;
        const r = s.reservations;
        out(
          `sent ${s.sent}  reservations ${r.confirmed} kept, ${r.short} short, ${r.picked} picked, ${r.released} released, ${r.missed} missed${s.publishFailures ? `  publish failures ${s.publishFailures}` : ""}`,
        );
        if (opsKey)
          void statusLine(apiUrl, opsKey).then(out, (err: unknown) =>
            out(`  (status: ${(err as Error).message})`),
          );
      }, number("every", f.every) * 1000);
      let stopping = false;
      const stop = async (why: string) => {
        if (stopping) process.exit(130);
        stopping = true;
        out(`${why}: stopping the feed ...`);
        clearInterval(progress);
        await feed.stop();
        await running;
        await conn.close();
        logger.flush();
        out(`feed stopped after ${feed.stats.sent} commands`);
        process.exit(0);
      };
      process.on("SIGINT", () => void stop("SIGINT"));
      process.on("SIGTERM", () => void stop("SIGTERM"));
      if (f.duration)
        setTimeout(() => void stop(`${f.duration} s are up`), number("duration", f.duration) * 1000);
    });
