/**
 * Where the simulation's inputs come from: the distributor from its configuration (regions, DCs,
 * WMS and ERP per region, the shop, ownership and routing, how each ERP's posting target answers),
 * and stockline's latencies from the last bench result when there is one.
 */
import { existsSync, readFileSync } from "node:fs";
import * as E from "fp-ts/lib/Either.js";
import { formatDecodeErrors } from "../../domain/decode-errors.ts";
import { ALLOW_ALL, decodeOwnershipPolicy } from "../../domain/ownership-policy.ts";
import type { DistributorConfig } from "../../infra/config/distributor-config.ts";
import { channelsOf, routingOf } from "../../infra/config/distributor-parts.ts";
import { feedWorldOf } from "../up/feed-driver.ts";
import { DEFAULT_STOCKLINE, type KpiWorld, type StocklineParameters } from "./kpi-parameters.ts";

/** The distributor as the simulation needs it; an error names what the configuration lacks. */
export const kpiWorldOf = (d: DistributorConfig): KpiWorld => {
  const { world } = feedWorldOf(d);
  if (world.regions.length < 1)
    throw new Error(
      `${d.source}: no region has locations, a WMS and an ERP (systems[].kind, systems[].regions)`,
    );
  const shop = channelsOf(d)[0];
  if (!shop) throw new Error(`${d.source}: systems: expected a system of kind "channel" (the web shop)`);
  const policy = d.file.ownership ? decodeOwnershipPolicy(d.file.ownership) : E.right(ALLOW_ALL);
  if (E.isLeft(policy)) throw new Error(`${d.source}: ownership: ${formatDecodeErrors(policy.left)}`);
  const routing = routingOf(d);
  const regions = world.regions.map((r) => {
    const target = d.file.postings?.targets.find((t) => t.system === r.erp);
    if (!target)
      throw new Error(
        `${d.source}: postings.targets: expected a target with system ${JSON.stringify(r.erp)} (the ERP of region ${r.region})`,
      );
    const sim = d.file.simulators?.find((s) => s.target === target.id);
    return {
      region: r.region,
      locations: r.locations,
      wms: r.wms,
      erp: r.erp,
      posting: {
        target: target.id,
        latencyMs: sim?.latencyMs ?? 0,
        errorRate: sim?.errorRate ?? 0,
        lostResponseRate: sim?.lostResponseRate ?? 0,
      },
    };
  });
  return { distributor: d.file.distributor.name, regions, shop, policy: policy.right, routing };
};

/**
 * Stockline's latencies: from a bench result (`make bench`) when the file is there, at the load that
 * has no backlog (half the measured maximum); otherwise the bench's targets, said to be targets.
 */
export const stocklineParametersFrom = (benchFile: string): StocklineParameters => {
  if (!existsSync(benchFile)) return DEFAULT_STOCKLINE;
  const r = JSON.parse(readFileSync(benchFile, "utf8")) as Record<string, unknown> & {
    context?: { date?: string };
  };
  const pick = (key: string, fallback: StocklineParameters["commitLatencyMs"]) => {
    const v = r[key];
    return typeof v === "number" && Number.isFinite(v) && v >= 0
      ? { value: v, source: `measured: ${benchFile} ${key} (${r.context?.date ?? "undated"})` }
      : fallback;
  };
  return {
    ...DEFAULT_STOCKLINE,
    commitLatencyMs: pick("e2e_p99_ms_at_half_max", DEFAULT_STOCKLINE.commitLatencyMs),
    globalAtpLatencyMs: pick("global_atp_p99_ms_at_half_max", DEFAULT_STOCKLINE.globalAtpLatencyMs),
  };
};
