/**
 * The profile summary of `BENCH_PROFILE=1` (bench/cpu-profile-summary.ts) sorts a V8 profile's self time
 * into the node's stages: decode, decide, hash / JSON, store, NATS client, GC. A hand-made profile with
 * known samples per function.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { summarizeCpuProfile } from "../../bench/cpu-profile-summary.ts";

const dir = mkdtempSync(path.join(os.tmpdir(), "cpu-profile-summary-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const frames: Array<[string, string, number]> = [
  ["(root)", "", 0],
  ["(garbage collector)", "", 7],
  ["(idle)", "", 50],
  ["decodeCommand", "file:///app/domain/commands.ts", 11],
  ["validate", "file:///app/node_modules/io-ts/es6/index.js", 4],
  ["transition", "file:///app/node_modules/xstate/dist/xstate.js", 13],
  ["decidePosition", "file:///app/domain/position-decisions.ts", 2],
  ["canonicalJson", "file:///app/domain/canonical-json.ts", 5],
  ["stringify", "", 3],
  ["run", "file:///app/node_modules/better-sqlite3/lib/methods/wrappers.js", 17],
  ["processMsg", "file:///app/node_modules/@nats-io/nats-core/lib/protocol.js", 19],
  ["onMessage", "file:///app/services/regional-node/jetstream-intake.ts", 23],
];

describe("cpu profile summary", () => {
  it("puts each function's self time in its stage and ranks the functions", () => {
    const nodes = frames.map(([functionName, url], i) => ({
      id: i + 1,
      callFrame: { functionName, url, lineNumber: 0 },
      ...(i === 0 ? { children: frames.slice(1).map((_, j) => j + 2) } : {}),
    }));
    const samples: number[] = [];
    const timeDeltas: number[] = [];
    frames.forEach(([, , n], i) => {
      for (let k = 0; k < n; k++) {
        samples.push(i + 1);
        timeDeltas.push(1000); // 1 ms each
      }
    });
    const file = path.join(dir, "fixture.cpuprofile");
    writeFileSync(file, JSON.stringify({ nodes, samples, timeDeltas, startTime: 0, endTime: 1 }));
    const s = summarizeCpuProfile(file, 3);
    expect(s.totalMs).toBe(frames.reduce((sum, [, , n]) => sum + n, 0));
    expect(s.byCategory).toMatchObject({
      gc: 7,
      idle: 50,
      "decode (command JSON, io-ts)": 15,
      "decide (xstate machine, domain)": 15,
      "hash / JSON (canonical JSON, event hashes)": 8,
      "store (SQLite, PostgreSQL, append worker hand-off)": 17,
      "nats client": 19,
      "regional node (runtime, intake, relay)": 23,
    });
    expect(s.topFunctions.map((f) => [f.fn, f.ms])).toEqual([
      ["onMessage", 23],
      ["processMsg", 19],
      ["run", 17],
    ]);
  });
});
