/**
 * The `make bench` harness at a tiny scale: real nats-server topology, node, projectors, API and
 * memory probe, all phases. It checks that the run produces every figure the issues ask for as a
 * finite number, a verdict per target, and that the workload was handled as intended (every
 * command accepted and seen in INV_EVT and in both ATP buckets, nothing dead-lettered).
 */
import { describe, expect, it } from "vitest";
import { benchParams, runBench } from "../../bench/run.ts";

const REQUIRED = [
  "e2e_commands_per_s",
  "raw_js_publish_per_s",
  "raw_sqlite_append_per_s",
  "e2e_p50_ms",
  "e2e_p99_ms",
  "rss_mb",
  "e2e_vs_raw_js",
  "regional_atp_p99_ms",
  "global_atp_p99_ms",
  "atp_query_per_s",
  "atp_query_p99_ms",
  "bare_route_per_s",
  "rss_1m_positions_mb",
  "null_pipeline_per_s",
  "e2e_vs_null",
  "e2e_commands_per_s_hot",
  "cpu_us_per_command",
  "regional_atp_p99_ms_at_1000_per_s",
  "global_atp_p99_ms_at_1000_per_s",
] as const;

/** Measured when the machine's PostgreSQL answers (it does where `make test` runs), else null with a reason. */
const WITH_POSTGRES = [
  "e2e_commands_per_s_postgres",
  "e2e_commands_per_s_postgres_2_nodes",
  "scale_out_2_nodes_vs_1",
  "peer_emmett_pg_commands_per_s",
  "peer_emmett_pg_commands_per_s_hot",
  "e2e_vs_emmett",
  "e2e_vs_emmett_hot",
] as const;

const TARGETS = [
  "e2e_vs_raw_js",
  "regional_atp_p99_ms",
  "global_atp_p99_ms",
  "atp_query_vs_bare",
  "atp_query_p99_ms",
  "rss_1m_positions_mb",
  "e2e_vs_null",
  "regional_atp_p99_ms_at_1000_per_s",
  "global_atp_p99_ms_at_1000_per_s",
] as const;

describe("make bench harness", () => {
  it("produces every figure, a verdict per target, and accounts for every command", async () => {
    const params = {
      ...benchParams(),
      positions: 60,
      e2eCommands: 600,
      rawMessages: 600,
      sqliteRows: 1000,
      rate: 400,
      latencySeconds: 1,
      httpSeconds: 1,
      readModelPositions: 20_000,
      hotPositions: 10,
      hotCommandsPerPosition: 30,
      peerCommands: 300,
      slaRate: 300,
      profile: false,
    };
    const r = (await runBench(params)) as Record<string, unknown> & {
      targets: Record<string, { value: number; target: string; pass: boolean }>;
      context: { date: string; node: string; cpus: number; params: unknown };
      details: {
        e2e: { commands: number; deadLettered: number; nodeOutcomes: Record<string, number> };
        fixedLoad: { commands: number; withEvent: number; regionalMissing: number; globalMissing: number };
        halfMaxLoad: { commands: number; withEvent: number; regionalMissing: number; globalMissing: number };
        slaLoad: { commands: number; withEvent: number; regionalMissing: number; globalMissing: number };
        e2eHot: { commands: number; deadLettered: number };
        e2ePostgres: { commands?: number; deadLettered?: number; skipped?: string };
        e2ePostgres2Nodes: { commands?: number; deadLettered?: number; skipped?: string };
        nullPipeline: { commands: number; events: number; child: { publishFailures: number } };
        peerEmmett:
          | { skipped: string }
          | { uniform: { commands: number; failed: number }; hot: { commands: number; failed: number } };
      };
      skipped: Record<string, string>;
    };
    for (const key of REQUIRED) {
      expect(typeof r[key], key).toBe("number");
      expect(Number.isFinite(r[key] as number), `${key} = ${String(r[key])}`).toBe(true);
    }
    for (const key of TARGETS) {
      expect(Number.isFinite(r.targets[key]?.value), key).toBe(true);
      expect(typeof r.targets[key]?.pass, key).toBe("boolean");
    }
    expect(r.context.node).toBe(process.version);
    expect(r.context.cpus).toBeGreaterThan(0);
    expect(Number.isNaN(Date.parse(r.context.date))).toBe(false);

    const {
      e2e,
      fixedLoad,
      halfMaxLoad,
      slaLoad,
      e2eHot,
      e2ePostgres,
      e2ePostgres2Nodes,
      nullPipeline,
      peerEmmett,
    } = r.details;
    // Every command through the null pipeline gave exactly one event (none lost, none twice).
    expect(nullPipeline.events).toBe(nullPipeline.commands);
    expect(nullPipeline.child.publishFailures).toBe(0);
    expect(e2eHot.deadLettered).toBe(0);
    expect(r.cpu_us_per_command).toBeGreaterThan(0);
    if ("skipped" in peerEmmett) {
      for (const key of WITH_POSTGRES) expect(r[key], key).toBeNull();
      expect(r.skipped.peer_emmett_pg_commands_per_s).toBe(peerEmmett.skipped);
    } else {
      for (const key of WITH_POSTGRES) expect(Number.isFinite(r[key] as number), key).toBe(true);
      expect(peerEmmett.uniform.failed).toBe(0);
      expect(peerEmmett.hot.failed).toBe(0);
      expect(e2ePostgres.deadLettered).toBe(0);
      expect(e2ePostgres.commands).toBe(600);
      expect(e2ePostgres2Nodes.deadLettered).toBe(0);
      expect(e2ePostgres2Nodes.commands).toBe(600);
    }
    expect(e2e.deadLettered).toBe(0);
    // The warm-up's commands are accepted too: at least the measured ones, none rejected.
    expect(e2e.nodeOutcomes["jetstream:accepted"]).toBeGreaterThanOrEqual(e2e.commands);
    expect(Object.keys(e2e.nodeOutcomes)).toEqual(["jetstream:accepted"]);
    for (const load of [fixedLoad, halfMaxLoad, slaLoad]) {
      expect(load.withEvent).toBe(load.commands);
      expect(load.regionalMissing).toBe(0);
      expect(load.globalMissing).toBe(0);
    }
  }, 240_000);
});
