/**
 * Where a process's CPU went, from a V8 `.cpuprofile` (node `--cpu-prof`): self time grouped into
 * the stages of the node (intake and NATS client, decoding, deciding, event building and hashing,
 * SQLite, relay) and the top functions. Run on its own:
 *   npx tsx bench/cpu-profile-summary.ts <file.cpuprofile> [bundle.mjs]
 *
 * Code run through tsx shows up as anonymous functions on line 1 of each file, so the benchmark
 * profiles an esbuild bundle of the node instead (`bundle`): its lines are mapped back to source
 * files through the `// path/to/file.ts` comments esbuild writes before each module.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const NATIVE_JSON_OR_HASH = new Set(["parse", "stringify", "digest", "update", "createHash", "Hash"]);

/**
 * Stages of the node, first match wins: decode (command JSON and io-ts), decide (the machine and the
 * rest of the domain), hash / JSON (canonical JSON, event hashes, JSON.parse/stringify, crypto), store,
 * NATS client, GC, then the node's runtime and the rest.
 */
const CATEGORIES: ReadonlyArray<readonly [string, (url: string, fn: string) => boolean]> = [
  ["idle", (_u, f) => f === "(idle)"],
  ["gc", (_u, f) => f === "(garbage collector)"],
  ["program (native, unattributed)", (_u, f) => f === "(program)"],
  ["nats client", (u) => u.includes("@nats-io")],
  [
    "store (SQLite, PostgreSQL, append worker hand-off)",
    (u) =>
      u.includes("better-sqlite3") ||
      /event-store\/(sqlite|postgres)-/.test(u) ||
      /\/node_modules\/(pg|pg-protocol|pg-pool)\//.test(u) ||
      u.includes("worker-append-store") ||
      u.includes("append-worker"),
  ],
  [
    "decode (command JSON, io-ts)",
    (u) =>
      u.includes("/io-ts/") ||
      u.includes("/fp-ts/") ||
      /(^|\/)domain\/(commands|scalars|decode-errors|upcasters|schema-versions|quantity|units|ids)\.ts/.test(
        u,
      ),
  ],
  [
    "hash / JSON (canonical JSON, event hashes)",
    (u, f) =>
      /(^|\/)domain\/(canonical-json|canonical-event)\.ts/.test(u) ||
      u.includes("crypto") ||
      (u === "" && NATIVE_JSON_OR_HASH.has(f)),
  ],
  ["decide (xstate machine, domain)", (u) => u.includes("/xstate/") || /(^|\/)domain\//.test(u)],
  ["regional node (runtime, intake, relay)", (u) => u.includes("services/regional-node/")],
  ["infra (other)", (u) => /(^|\/)infra\//.test(u)],
  ["pino / prom-client / lru-cache", (u) => /\/(pino|prom-client|lru-cache|tdigest|bintrees)\//.test(u)],
  ["node internals", (u) => u.startsWith("node:")],
  ["native builtins (other)", (u) => u === ""],
];

export interface CpuProfileSummary {
  totalMs: number;
  byCategory: Record<string, number>;
  topFunctions: Array<{ fn: string; where: string; ms: number }>;
}

/** Maps a line of an esbuild bundle to the source file it came from. */
const bundleLineMapper = (bundle: string): ((line: number) => string | undefined) => {
  const marks: Array<{ line: number; file: string }> = [];
  readFileSync(bundle, "utf8")
    .split("\n")
    .forEach((text, line) => {
      const m = /^\/\/ (\S+\.(?:ts|js|mjs|cjs))$/.exec(text);
      if (m) marks.push({ line, file: m[1]! });
    });
  return (line) => {
    let lo = 0;
    let hi = marks.length - 1;
    let found: string | undefined;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (marks[mid]!.line <= line) {
        found = marks[mid]!.file;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  };
};

export const summarizeCpuProfile = (file: string, top = 15, bundle?: string): CpuProfileSummary => {
  const profile = JSON.parse(readFileSync(file, "utf8")) as Profile;
  const fromBundle = bundle ? bundleLineMapper(bundle) : undefined;
  const bundleUrl = bundle ? `file://${path.resolve(bundle)}` : undefined;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => {
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  const byCategory: Record<string, number> = {};
  const byFunction = new Map<string, { fn: string; where: string; us: number }>();
  let total = 0;
  for (const [id, us] of selfUs) {
    const n = byId.get(id);
    if (!n) continue;
    const { functionName, lineNumber } = n.callFrame;
    let url = n.callFrame.url;
    let line = `${lineNumber + 1}`;
    if (fromBundle && url === bundleUrl) {
      url = fromBundle(lineNumber) ?? url;
      line = `bundle line ${lineNumber + 1}`;
    }
    const fn = functionName || "(anonymous)";
    const category = CATEGORIES.find(([, match]) => match(url, fn))?.[0] ?? "other";
    byCategory[category] = (byCategory[category] ?? 0) + us;
    total += us;
    const short = url.replace(/^file:\/\//, "").replace(/.*node_modules\//, "");
    const where = short.includes("/work/") ? path.relative(process.cwd(), short) : short;
    const key = `${fn}@${where}:${lineNumber}`;
    const entry = byFunction.get(key) ?? { fn, where: `${where} (${line})`, us: 0 };
    entry.us += us;
    byFunction.set(key, entry);
  }
  const ms = (us: number) => Math.round(us / 1000);
  return {
    totalMs: ms(total),
    byCategory: Object.fromEntries(
      Object.entries(byCategory)
        .sort((a, b) => b[1] - a[1])
        .map(([k, v]) => [k, ms(v)]),
    ),
    topFunctions: [...byFunction.values()]
      .filter((f) => f.fn !== "(idle)")
      .sort((a, b) => b.us - a.us)
      .slice(0, top)
      .map((f) => ({ fn: f.fn, where: f.where, ms: ms(f.us) })),
  };
};

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const file = process.argv[2];
  if (!file) {
    console.error("usage: npx tsx bench/cpu-profile-summary.ts <file.cpuprofile> [bundle.mjs]");
    process.exit(2);
  }
  const s = summarizeCpuProfile(file, 25, process.argv[3]);
  console.log(`total ${s.totalMs} ms`);
  console.table(Object.entries(s.byCategory).map(([category, ms]) => ({ category, ms })));
  console.table(s.topFunctions);
}
