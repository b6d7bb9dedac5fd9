#!/usr/bin/env -S npx tsx
/**
 * `stockline ...`: the one command line of the project (DESIGN §5). Each command lives in
 * `services/cli/<name>-command.ts` and is loaded here; this file only assembles them.
 */
import { Command } from "commander";
import { registerApiCommand } from "./cli/api-command.ts";
import { registerAuditCommands } from "./cli/audit-command.ts";
import { registerChannelCommands } from "./cli/channel-command.ts";
import { registerConfigCommands } from "./cli/config-command.ts";
import { registerDeadLetterCommands } from "./cli/dead-letter-command.ts";
import { registerDemoKpiCommand } from "./cli/demo-kpi-command.ts";
import { registerFeedCommand } from "./cli/feed-command.ts";
import { registerKeysCommands } from "./cli/keys-command.ts";
import { registerNodeCommand } from "./cli/node-command.ts";
import { registerPartCommand } from "./cli/part-command.ts";
import { registerPostingsCommands } from "./cli/postings-command.ts";
import { registerReconcileFindingsCommands } from "./cli/reconcile-findings-command.ts";
import { registerRunCommand } from "./cli/run-command.ts";
import { registerSchemasCommands } from "./cli/schemas-command.ts";
import { registerTranslateCommand } from "./cli/translate-command.ts";
import { registerUpCommand } from "./cli/up-command.ts";

const program = new Command()
  .name("stockline")
  .description("event-sourced inventory synchronisation across ERPs, warehouses and channels")
  .showHelpAfterError();

const demo = program
  .command("demo")
  .description("a scripted day at two warehouses through the domain only, no servers")
  .action(async () => {
    await import("./demo-scenario.ts");
  });
registerDemoKpiCommand(demo);

registerNodeCommand(program);
registerApiCommand(program);
registerAuditCommands(program);
registerPostingsCommands(program);
registerReconcileFindingsCommands(program);
registerChannelCommands(program);
registerDeadLetterCommands(program);
registerKeysCommands(program);
registerConfigCommands(program);
registerSchemasCommands(program);
registerTranslateCommand(program);

registerRunCommand(program);
registerPartCommand(program);
registerUpCommand(program);
registerFeedCommand(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  // An operator reads one line with what went wrong, not a stack trace (LOG_LEVEL=debug shows it).
  const cause = err instanceof Error && err.cause instanceof Error ? `: ${err.cause.message}` : "";
  console.error(`stockline: ${err instanceof Error ? err.message : String(err)}${cause}`);
  if (process.env.LOG_LEVEL === "debug") console.error(err);
  process.exitCode = 1;
}
