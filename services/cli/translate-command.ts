/**
 * `stockline translate --config <file> --source <system> FILE`: what a document of a source yields,
 * without sending anything: how an integrator tries a new mapping (issue 11). The commands go to
 * stdout as JSON lines; every untranslatable part goes to stderr as a JSON line
 * `{"untranslatable":{document,at,value,reason}}`, then a summary line. Exit 0 when every part
 * translated, 1 when any part is untranslatable (what the connector would dead-letter), 2 for a
 * wrong configuration, source or file. `--ack` prints X12's 997 after the commands (or into a file).
 *
 * The source is a `connectors.sources[]` entry; `--format` tries a format for a system that has no
 * entry yet (with `--epcis-schema` for EPCIS).
 */
import { readFileSync, writeFileSync } from "node:fs";
import type { Command } from "commander";
import { ConfigError } from "../../infra/config/config-loading.ts";
import {
  CONNECTOR_FORMATS,
  type ConnectorFormat,
  type ConnectorSource,
  loadDistributorConfig,
} from "../../infra/config/distributor-config.ts";
import { translatorOf } from "../connectors/registry.ts";

interface TranslateFlags {
  config: string;
  source: string;
  format?: string;
  kind?: string;
  epcisSchema?: string;
  receivedAt?: string;
  ack?: string | boolean;
}

export interface TranslateIo {
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
}

const stdio: TranslateIo = {
  out: (l) => process.stdout.write(`${l}\n`),
  err: (l) => process.stderr.write(`${l}\n`),
};

/** Runs the command; returns the exit code. */
export const runTranslate = (file: string, f: TranslateFlags, io: TranslateIo = stdio): number => {
  const usage = (message: string): number => {
    io.err(`stockline translate: ${message}`);
    return 2;
  };
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(readFileSync(file));
  } catch (e) {
    return usage(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  try {
    const d = loadDistributorConfig(f.config);
    if (!d.file.systems.some((s) => s.id === f.source))
      return usage(
        `--source: got ${JSON.stringify(f.source)}, expected a system of the configuration (${d.file.systems.map((s) => s.id).join(", ")})`,
      );
    const configured = d.file.connectors?.sources.find((s) => s.system === f.source);
    if (f.format !== undefined && !(CONNECTOR_FORMATS as readonly string[]).includes(f.format))
      return usage(
        `--format: got ${JSON.stringify(f.format)}, expected one of ${CONNECTOR_FORMATS.join(", ")}`,
      );
    const format = (f.format ?? configured?.format) as ConnectorFormat | undefined;
    if (!format)
      return usage(
        `${JSON.stringify(f.source)} has no entry under connectors.sources: give --format (${CONNECTOR_FORMATS.join(", ")})`,
      );
    const source: ConnectorSource = {
      ...(configured && configured.format === format ? configured : {}),
      system: f.source,
      format,
      ...(f.epcisSchema ? { epcisSchemaFile: f.epcisSchema } : {}),
    };
    if (format === "epcis" && !source.epcisSchemaFile)
      return usage(
        "EPCIS needs GS1's EPCIS JSON Schema: connectors.sources[].epcisSchemaFile or --epcis-schema",
      );
    const translate = translatorOf(source);
    const r = translate(
      { bytes, name: file, ...(f.kind ? { kind: f.kind } : {}) },
      { system: f.source, masterData: d.masterData, receivedAt: f.receivedAt ?? new Date().toISOString() },
    );
    for (const c of r.translation.commands) io.out(JSON.stringify(c));
    for (const p of r.translation.untranslatable) io.err(JSON.stringify({ untranslatable: p }));
    for (const p of r.ignored ?? []) io.err(JSON.stringify({ ignored: p }));
    if (f.ack !== undefined && f.ack !== false && r.acknowledgment !== undefined) {
      if (typeof f.ack === "string") writeFileSync(f.ack, r.acknowledgment);
      else io.out(r.acknowledgment);
    }
    const bad = r.translation.untranslatable.length;
    io.err(
      `${r.translation.commands.length} command(s), ${bad} untranslatable part(s)${bad > 0 ? ": the connector would dead-letter them (reason untranslatable)" : ""}`,
    );
    return bad > 0 ? 1 : 0;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    io.err(`invalid configuration (${err.source}):`);
    for (const e of err.errors)
      io.err(`  ${e.path || "(document)"}: got ${JSON.stringify(e.value)}, expected ${e.expected}`);
    return 2;
  }
};

export const registerTranslateCommand = (program: Command): Command =>
  program
    .command("translate")
    .description(
      "print the canonical commands a source's document yields (JSON lines), or why parts of it cannot be translated (exit 1); sends nothing",
    )
    .argument(
      "<file>",
      "the document (X12, EPCIS JSON, SAP/D365 JSON, CSV or JSON snapshot, Shopify webhook)",
    )
    .requiredOption("--config <file>", "the distributor configuration (JSON)")
    .requiredOption("--source <system>", "the source system that sent it (connectors.sources[].system)")
    .option(
      "--format <format>",
      `try a format for a system without a connector entry (${CONNECTOR_FORMATS.join(", ")})`,
    )
    .option("--kind <kind>", "Dynamics 365: onhand (default), setonhand, reserve, unreserve")
    .option("--epcis-schema <file>", "GS1's EPCIS JSON Schema (else connectors.sources[].epcisSchemaFile)")
    .option("--received-at <iso>", "when the document was received (default now)")
    .option("--ack [file]", "X12: print the 997 after the commands (or write it to file)")
    .action((file: string, f: TranslateFlags) => {
      process.exitCode = runTranslate(file, f);
    });
