/**
 * `stockline config check <file>` validates a distributor configuration the way every part will read it
 * and prints what it describes (exit 2 with each wrong field, its value and what was expected);
 * `stockline config reference` prints the configuration reference (docs/configuration.md).
 */
import type { Command } from "commander";
import { ConfigError } from "../../infra/config/config-loading.ts";
import { renderConfigReference } from "../../infra/config/config-reference.ts";
import { loadDistributorConfig } from "../../infra/config/distributor-config.ts";

type Out = (line: string) => void;

export const registerConfigCommands = (program: Command, out: Out = (l) => console.log(l)): void => {
  const config = program
    .command("config")
    .description("the distributor configuration: check one, print the reference");
  config
    .command("check")
    .argument("<file>", "a distributor configuration (JSON)")
    .description("validate a configuration and summarise what it describes")
    .action((file: string) => {
      try {
        const d = loadDistributorConfig(file);
        const f = d.file;
        out(`${f.distributor.name} (${d.id}), configuration ${d.version}`);
        for (const region of d.regions) {
          const locations = d.masterData.locationsOf(region).map((l) => l.id);
          out(`  region ${region}: ${locations.length} location(s) ${locations.join(", ")}`);
        }
        out(`  systems: ${f.systems.map((s) => `${s.id} (${s.kind})`).join(", ")}`);
        const items = f.products?.items.length ?? 0;
        out(
          `  products: ${items} listed, catalogue ${f.products?.catalogue ?? (f.products ? "closed" : "open")}`,
        );
        out(
          `  status vocabularies: ${Object.keys(f.statuses ?? {}).join(", ") || "(none: canonical codes only)"}`,
        );
        out(
          `  ownership rules: ${f.ownership?.rules.length ?? 0}, otherwise ${f.ownership?.otherwise ?? "allow"}`,
        );
        out(
          `  posting targets: ${(f.postings?.targets ?? []).map((t) => `${t.id} -> ${t.system}`).join(", ") || "(none)"}`,
        );
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        out(`invalid distributor configuration (${err.source}):`);
        for (const e of err.errors)
          out(`  ${e.path || "(document)"}: got ${JSON.stringify(e.value)}, expected ${e.expected}`);
        process.exitCode = 2;
      }
    });
  config
    .command("reference")
    .description("print the configuration reference (Markdown, as in docs/configuration.md)")
    .action(() => {
      process.stdout.write(renderConfigReference());
    });
};
