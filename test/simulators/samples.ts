/**
 * Reads the real payload samples kept outside the repository (`<repo>/../shared/samples/payloads`,
 * see its SOURCES.md for provenance and licences; they are not copied into this repository).
 */
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const SAMPLES_DIR = resolve(
  dirname(fileURLToPath(import.meta.url)),
  "../../../shared/samples/payloads",
);

/** A fresh parsed copy of one sample, e.g. `sample("sap-s4hana/material_document_create_gr_101_po.json")`. */
export const sample = <T = Record<string, unknown>>(relativePath: string): T =>
  JSON.parse(readFileSync(resolve(SAMPLES_DIR, relativePath), "utf8")) as T;
