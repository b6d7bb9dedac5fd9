/**
 * Governance of the published schemas (DESIGN §3.16), shared by `stockline schemas write|check` and
 * the test that fails on a broken contract:
 * - `checkPublishedSchemas`: the committed files against the codecs — stale or missing files, a
 *   published version changed incompatibly (schema-compatibility.ts), an example of any published
 *   version (old ones included) the current codec no longer reads through the upcasters;
 * - `writePublishedSchemas`: regenerates the current versions and the index, and refuses to
 *   overwrite a published version with an incompatible one (that is a version bump and an upcaster).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import {
  currentSchemas,
  decodeExample,
  type PublishedSchema,
  readPublishedSchemas,
  renderSchemaFiles,
  SCHEMA_DIR,
} from "./schema-catalogue.ts";
import { breakingChanges } from "./schema-compatibility.ts";

export interface SchemaCheck {
  /** Files whose committed text differs from what the codecs generate (or that are missing). */
  readonly stale: readonly string[];
  /** `<file>: <path>: <change>` for each incompatible change to a published version. */
  readonly breaking: readonly string[];
  /** `<file>: <why>` for each published example the current codec refuses. */
  readonly unreadable: readonly string[];
  /** Published versions the index promises but no file holds (1 .. current of every type). */
  readonly missing: readonly string[];
}

export const schemaCheckOk = (c: SchemaCheck): boolean =>
  c.stale.length + c.breaking.length + c.unreadable.length + c.missing.length === 0;

const breakingAgainst = (published: readonly PublishedSchema[], current: readonly PublishedSchema[]) => {
  const byFile = new Map(published.map((p) => [p.file, p]));
  return current.flatMap((c) => {
    const p = byFile.get(c.file);
    return p ? breakingChanges(p.schema, c.schema, c.family).map((b) => `${c.file}: ${b}`) : [];
  });
};

export const checkPublishedSchemas = (dir: string = SCHEMA_DIR): SchemaCheck => {
  const current = currentSchemas();
  const published = readPublishedSchemas(dir);
  const stale = [...renderSchemaFiles(current)].flatMap(([file, text]) => {
    const at = path.join(dir, file);
    return existsSync(at) && readFileSync(at, "utf8") === text ? [] : [file];
  });
  const unreadable = published.flatMap((p) => {
    const why = decodeExample(p);
    return why === undefined ? [] : [`${p.file}: ${why}`];
  });
  const files = new Set(published.map((p) => p.file));
  const missing = current.flatMap((c) =>
    Array.from({ length: c.version - 1 }, (_, i) => `${c.family}/${c.name}.v${i + 1}.json`).filter(
      (f) => !files.has(f),
    ),
  );
  return { stale, breaking: breakingAgainst(published, current), unreadable, missing };
};

export type WriteOutcome =
  | { readonly ok: true; readonly written: readonly string[]; readonly unchanged: number }
  | { readonly ok: false; readonly breaking: readonly string[] };

export const writePublishedSchemas = (dir: string = SCHEMA_DIR): WriteOutcome => {
  const current = currentSchemas();
  const breaking = breakingAgainst(readPublishedSchemas(dir), current);
  if (breaking.length > 0) return { ok: false, breaking };
  const written: string[] = [];
  let unchanged = 0;
  for (const [file, text] of renderSchemaFiles(current)) {
    const at = path.join(dir, file);
    if (existsSync(at) && readFileSync(at, "utf8") === text) {
      unchanged++;
      continue;
    }
    mkdirSync(path.dirname(at), { recursive: true });
    writeFileSync(at, text);
    written.push(file);
  }
  return { ok: true, written, unchanged };
};
