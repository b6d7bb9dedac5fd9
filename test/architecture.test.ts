import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { describe, expect, it } from "vitest";

// DESIGN §4: dependencies point inward (services -> infra, projections -> domain). This test reads
// every import of the tree with the TypeScript pre-processor and fails on an import that breaks it.
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const layers = ["domain", "projections", "infra", "services"] as const;
type Layer = (typeof layers)[number];

/** Which of our layers a layer may import from. */
const allowedLayers: Record<Layer, readonly Layer[]> = {
  domain: ["domain"],
  projections: ["projections", "domain"],
  infra: ["infra", "domain", "projections"],
  services: ["services", "infra", "projections", "domain"],
};

/** Packages that do I/O: never in the pure layers. */
const ioModule =
  /^(node:)?(fs|fs\/promises|net|http|https|http2|dgram|dns|tls|child_process|worker_threads|cluster)$|^(@nats-io\/|nats$|better-sqlite3|@eventstore\/|fastify|@fastify\/|pino|prom-client|undici)/;

const sourceFiles = (dir: string): string[] =>
  !existsSync(path.join(root, dir))
    ? []
    : readdirSync(path.join(root, dir), { recursive: true, encoding: "utf8" })
        .filter((f) => f.endsWith(".ts"))
        .map((f) => path.join(root, dir, f));

const importsOf = (file: string): string[] =>
  ts.preProcessFile(readFileSync(file, "utf8"), true, true).importedFiles.map((f) => f.fileName);

const layerOf = (file: string): Layer | undefined =>
  layers.find((l) => path.relative(root, file).split(path.sep)[0] === l);

describe("architecture (DESIGN §4)", () => {
  for (const layer of layers) {
    it(`${layer}/ imports only ${allowedLayers[layer].join(", ")}${layer === "domain" || layer === "projections" ? ", and no I/O module" : ""}`, () => {
      const violations: string[] = [];
      for (const file of sourceFiles(layer)) {
        for (const spec of importsOf(file)) {
          const where = `${path.relative(root, file)} imports "${spec}"`;
          if (spec.startsWith(".")) {
            const target = layerOf(path.resolve(path.dirname(file), spec));
            if (target && !allowedLayers[layer].includes(target)) violations.push(where);
            if (!target) violations.push(`${where} (outside the layers)`);
          } else if ((layer === "domain" || layer === "projections") && ioModule.test(spec)) {
            violations.push(where);
          }
        }
      }
      expect(violations).toEqual([]);
    });
  }

  it("detects a violation (the rule itself can fail)", () => {
    const spec = ts.preProcessFile('import { connect } from "@nats-io/transport-node";', true, true);
    expect(spec.importedFiles.map((f) => f.fileName).some((s) => ioModule.test(s))).toBe(true);
  });
});
