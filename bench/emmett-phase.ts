/**
 * The peer phase of `make bench` (`peer_emmett_pg_commands_per_s`, `..._hot`): Emmett over PostgreSQL
 * in its own child (bench/emmett-child.ts), each workload on a fresh database dropped after. When the
 * server is not reachable the phase is skipped with the reason (the figures are then null).
 */
import path from "node:path";
import { fileURLToPath } from "node:url";
import { forkChild } from "./child-process.ts";
import type { EmmettFigures, EmmettRun } from "./emmett-child.ts";
import { postgresUnreachable, withFreshDatabase } from "./postgres-bench-db.ts";

const here = path.dirname(fileURLToPath(import.meta.url));

export interface PeerWorkload {
  readonly positions: number;
  readonly commands: number;
  readonly warmup: number;
}

export type EmmettPhase =
  | { skipped: string }
  | { uniform: EmmettFigures & PeerWorkload; hot: EmmettFigures & PeerWorkload; inFlight: number };

export const measureEmmett = async (o: {
  adminUrl: string;
  region: string;
  runId: string;
  inFlight: number;
  uniform: PeerWorkload;
  hot: PeerWorkload;
  log: (msg: string) => void;
}): Promise<EmmettPhase> => {
  const unreachable = await postgresUnreachable(o.adminUrl);
  if (unreachable) return { skipped: unreachable };
  const child = forkChild(path.join(here, "emmett-child.ts"));
  const one = async (label: string, w: PeerWorkload) => {
    const db = `stockline_bench_${o.runId}_emmett_${label}`;
    return withFreshDatabase(o.adminUrl, db, o.log, async (url) => {
      o.log(
        `Emmett over PostgreSQL (${label}): ${w.commands} commands over ${w.positions} positions, ${o.inFlight} in flight`,
      );
      const run: EmmettRun = {
        url,
        region: o.region,
        positions: w.positions,
        runId: `${o.runId}${label[0]}`,
        commands: w.commands,
        warmup: w.warmup,
        inFlight: o.inFlight,
      };
      const figures = await child.request<EmmettFigures>("run", run, 900_000);
      return { ...figures, ...w };
    });
  };
  try {
    const uniform = await one("uniform", o.uniform);
    const hot = await one("hot", o.hot);
    return { uniform, hot, inFlight: o.inFlight };
  } finally {
    await child.stop(10_000).catch(() => {});
  }
};
