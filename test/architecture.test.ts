import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { describe, expect, it } from "vitest";

// DESIGN §4: dependencies point inward (services -> infra, projections -> domain). This test reads
// every import of the tree with the TypeScript pre-processor and fails on an import that breaks it.
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const layers = ["domain", "projections", "connectors", "infra", "services"] as const;
type Layer = (typeof layers)[number];

/** Which of our layers a layer may import from. */
const allowedLayers: Record<Layer, readonly Layer[]> = {
  domain: ["domain"],
  projections: ["projections", "domain"],
  // Translators are pure (DESIGN §3.15): a native document in, canonical commands out.
  connectors: ["connectors", "domain"],
  infra: ["infra", "domain", "projections"],
  services: ["services", "infra", "projections", "connectors", "domain"],
};

/** Packages that do I/O: never in the pure layers. */
const ioModule =
  /^(node:)?(fs|fs\/promises|net|http|https|http2|dgram|dns|tls|child_process|worker_threads|cluster)$|^(@nats-io\/|nats$|better-sqlite3|@eventstore\/|fastify|@fastify\/|pino|prom-client|undici)/;

/** Layers that do no I/O. */
const pure = (layer: Layer): boolean =>
  layer === "domain" || layer === "projections" || layer === "connectors";

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

/**
 * Imports between service folders (`services/<folder>/...`; a file directly in services/ is its own
 * node), each with the file-level imports behind it: "from -> to" -> ["services/a/x.ts -> services/b/y.ts"].
 */
const serviceFolderImports = (): Map<string, Map<string, string[]>> => {
  const services = path.join(root, "services");
  const folderOf = (file: string) => path.relative(services, file).split(path.sep)[0] ?? file;
  const graph = new Map<string, Map<string, string[]>>();
  for (const file of sourceFiles("services")) {
    for (const spec of importsOf(file)) {
      if (!spec.startsWith(".")) continue;
      const target = path.resolve(path.dirname(file), spec);
      if (path.relative(services, target).startsWith("..")) continue;
      const from = folderOf(file);
      const to = folderOf(target);
      if (from === to) continue;
      const edge = `${path.relative(root, file)} -> ${path.relative(root, target)}`;
      const out = graph.get(from) ?? new Map<string, string[]>();
      out.set(to, [...(out.get(to) ?? []), edge]);
      graph.set(from, out);
    }
  }
  return graph;
};

/** Strongly connected groups of more than one node (Tarjan): each is a loop of imports. */
const loopsOf = (graph: ReadonlyMap<string, ReadonlyMap<string, readonly string[]>>): string[][] => {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const loops: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, index.size);
    low.set(v, index.get(v)!);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v)?.keys() ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const group: string[] = [];
    for (let w = stack.pop(); w !== undefined; w = stack.pop()) {
      onStack.delete(w);
      group.push(w);
      if (w === v) break;
    }
    if (group.length > 1) loops.push(group.sort());
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return loops;
};

/**
 * Imports known to close a loop between service folders, each to be removed; an entry whose import
 * is gone fails the test too, so the list only shrinks.
 */
const KNOWN_LOOP_IMPORTS: readonly string[] = [
  // Access control (API keys, roles, rate limit) is plain HTTP and belongs in infra/http; until it
  // moves there, the node takes it from the API and regional-node -> api -> projectors -> regional-node.
  "services/regional-node/regional-node.ts -> services/api/access-control.ts",
];

const withoutKnownLoops = (graph: Map<string, Map<string, string[]>>) => {
  const out = new Map<string, Map<string, string[]>>();
  for (const [from, targets] of graph) {
    const kept = new Map<string, string[]>();
    for (const [to, edges] of targets) {
      const left = edges.filter((e) => !KNOWN_LOOP_IMPORTS.includes(e));
      if (left.length > 0) kept.set(to, left);
    }
    out.set(from, kept);
  }
  return out;
};

describe("architecture (DESIGN §4)", () => {
  for (const layer of layers) {
    it(`${layer}/ imports only ${allowedLayers[layer].join(", ")}${pure(layer) ? ", and no I/O module" : ""}`, () => {
      const violations: string[] = [];
      for (const file of sourceFiles(layer)) {
        for (const spec of importsOf(file)) {
          const where = `${path.relative(root, file)} imports "${spec}"`;
          if (spec.startsWith(".")) {
            const target = layerOf(path.resolve(path.dirname(file), spec));
            if (target && !allowedLayers[layer].includes(target)) violations.push(where);
            if (!target) violations.push(`${where} (outside the layers)`);
          } else if (pure(layer) && ioModule.test(spec)) {
            violations.push(where);
          }
        }
      }
      expect(violations).toEqual([]);
    });
  }

  it("service folders depend on each other in one direction only (no loop of imports)", () => {
    const graph = withoutKnownLoops(serviceFolderImports());
    const loops = loopsOf(graph).map((group) =>
      group.flatMap((from) =>
        [...(graph.get(from) ?? new Map<string, string[]>())]
          .filter(([to]) => group.includes(to))
          .flatMap(([, edges]) => edges),
      ),
    );
    expect(loops).toEqual([]);
  });

  it("the dead-letter desk does not import the regional node (the node starts the desk)", () => {
    expect(serviceFolderImports().get("dead-letters")?.get("regional-node") ?? []).toEqual([]);
  });

  it("every known loop import still exists (remove its entry when it goes)", () => {
    const all = [...serviceFolderImports().values()].flatMap((targets) => [...targets.values()].flat());
    expect(KNOWN_LOOP_IMPORTS.filter((e) => !all.includes(e))).toEqual([]);
  });

  it("detects a loop between folders (the rule itself can fail)", () => {
    const graph = new Map([
      ["regional-node", new Map([["dead-letters", ["a -> b"]]])],
      ["dead-letters", new Map([["regional-node", ["b -> a"]]])],
      ["api", new Map([["regional-node", ["c -> a"]]])],
    ]);
    expect(loopsOf(graph)).toEqual([["dead-letters", "regional-node"]]);
  });

  it("detects a violation (the rule itself can fail)", () => {
    const spec = ts.preProcessFile('import { connect } from "@nats-io/transport-node";', true, true);
    expect(spec.importedFiles.map((f) => f.fileName).some((s) => ioModule.test(s))).toBe(true);
  });
});
