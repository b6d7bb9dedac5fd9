/**
 * `stockline part simulator --config <file> --target <id>`: an ERP simulator standing in for a posting
 * target (demo, tests): SAP S/4HANA or Dynamics 365 Inventory Visibility by the target's kind, on the
 * port the configuration gives (`simulators[].port`), with its faults, its ledger kept in
 * `<dataDir>/simulators/<target>.json` across restarts.
 */
import path from "node:path";
import { createD365Simulator } from "../simulators/d365-inventory-visibility-simulator.ts";
import { createSapSimulator } from "../simulators/sap-s4hana-simulator.ts";
import { flagError, type PartContext } from "./part-runtime.ts";

export const startSimulatorPart = async (
  ctx: PartContext,
  targetId: string,
): Promise<Record<string, unknown>> => {
  const { d } = ctx;
  const spec = d.file.simulators?.find((s) => s.target === targetId);
  const target = d.file.postings?.targets.find((t) => t.id === targetId);
  if (!spec || !target)
    throw flagError(
      "--target",
      targetId,
      `a target with a simulator (${(d.file.simulators ?? []).map((s) => s.target).join(", ") || "none configured"})`,
    );
  const faults = {
    ...(spec.latencyMs !== undefined ? { latencyMs: spec.latencyMs } : {}),
    ...(spec.errorRate !== undefined ? { errorRate: spec.errorRate, errorStatus: 503 as const } : {}),
    ...(spec.lostResponseRate !== undefined ? { lostResponseRate: spec.lostResponseRate } : {}),
  };
  const persistPath = path.join(d.dataDir, "simulators", `${targetId}.json`);
  const sim =
    target.kind === "sap-s4hana"
      ? createSapSimulator({ ...faults, persistPath, allowNegativeStock: spec.allowNegativeStock ?? false })
      : createD365Simulator({ ...faults, persistPath });
  const url = await sim.listen(spec.port);
  ctx.defer(`simulator ${targetId}`, () => sim.close());
  return { target: targetId, kind: target.kind, url };
};
