/**
 * `stockline schemas write` regenerates the JSON Schemas of every command and event (docs/schemas/,
 * committed) from the codecs, refusing to change a published version incompatibly;
 * `stockline schemas check` says whether the committed files are current and every published
 * version is still read (exit 1 with each problem otherwise). DESIGN §3.16.
 */
import type { Command } from "commander";
import { SCHEMA_DIR } from "../reference/schema-catalogue.ts";
import {
  checkPublishedSchemas,
  schemaCheckOk,
  writePublishedSchemas,
} from "../reference/schema-governance.ts";

type Out = (line: string) => void;

export const registerSchemasCommands = (
  program: Command,
  out: Out = (l) => console.log(l),
  err: Out = (l) => console.error(l),
): void => {
  const schemas = program
    .command("schemas")
    .description("JSON Schemas of the canonical commands and events (docs/schemas)");
  schemas
    .command("write")
    .option("--dir <dir>", "where the schemas live", SCHEMA_DIR)
    .description("regenerate the schemas of the current versions and the index from the codecs")
    .action((o: { dir: string }) => {
      const r = writePublishedSchemas(o.dir);
      if (!r.ok) {
        err("stockline: these changes break a published schema; give the type a new version in");
        err("domain/schema-versions.ts and an upcaster from the old one in domain/upcasters.ts:");
        for (const b of r.breaking) err(`  ${b}`);
        process.exitCode = 1;
        return;
      }
      out(`${r.written.length} file(s) written, ${r.unchanged} unchanged, in ${o.dir}`);
      for (const f of r.written) out(`  ${f}`);
    });
  schemas
    .command("check")
    .option("--dir <dir>", "where the schemas live", SCHEMA_DIR)
    .description("whether the committed schemas are current and every published version is still read")
    .action((o: { dir: string }) => {
      const c = checkPublishedSchemas(o.dir);
      if (schemaCheckOk(c)) {
        out(`schemas in ${o.dir} are current`);
        return;
      }
      for (const f of c.stale) err(`stale (run stockline schemas write): ${f}`);
      for (const b of c.breaking) err(`breaks a published version: ${b}`);
      for (const u of c.unreadable) err(`example no longer read: ${u}`);
      for (const m of c.missing) err(`published version missing: ${m}`);
      process.exitCode = 1;
    });
};
