/**
 * `stockline up --config <file> [--data-dir d]`: every part of the deployment the configuration
 * describes, on this machine, under one supervisor (services/up/up.ts), until Ctrl-C or SIGTERM,
 * which stop the parts in reverse order and then NATS.
 */
import type { Command } from "commander";
import { startUp, type UpRun } from "../up/up.ts";

export const registerUpCommand = (program: Command): Command =>
  program
    .command("up")
    .description(
      "run every part of a deployment (nodes, projectors, global view, API, postings, reconciler) on this machine",
    )
    .requiredOption("--config <file>", "the distributor configuration (JSON), e.g. config/demo.json")
    .option("--data-dir <dir>", "data folder (overrides the configuration's dataDir)")
    .action(async (o: { config: string; dataDir?: string }) => {
      const out = (line: string) => process.stdout.write(`${line}\n`);
      // Signals count from the start: one while the parts start stops what is started.
      const starting = new AbortController();
      let run: UpRun | undefined;
      let signals = 0;
      const onSignal = (signal: string) => {
        if (++signals > 1) {
          out("second signal: exiting now");
          process.exit(130);
        }
        out(`${signal}: stopping every part (API first, nodes last), then NATS ...`);
        if (!run) return starting.abort();
        void run.stop().then(
          () => {
            out("stopped");
            process.exit(0);
          },
          (err: unknown) => {
            out(`stop failed: ${(err as Error).message}`);
            process.exit(1);
          },
        );
      };
      process.on("SIGINT", () => onSignal("SIGINT"));
      process.on("SIGTERM", () => onSignal("SIGTERM"));
      try {
        run = await startUp({
          config: o.config,
          ...(o.dataDir ? { dataDir: o.dataDir } : {}),
          out,
          signal: starting.signal,
        });
      } catch (err) {
        if (!starting.signal.aborted) throw err;
        out("stopped");
        process.exit(0);
      }
      out("stockline up is running; Ctrl-C stops it");
    });
