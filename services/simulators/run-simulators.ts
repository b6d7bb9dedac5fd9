/**
 * Starts both ERP simulators as one process (for `make run` and manual poking):
 *   npx tsx services/simulators/run-simulators.ts [--sap-port 4101] [--d365-port 4102] [--data-dir .data/simulators]
 * Prints the base URLs as one JSON line and stops on SIGINT/SIGTERM.
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { createD365Simulator } from "./d365-inventory-visibility-simulator.ts";
import { createSapSimulator } from "./sap-s4hana-simulator.ts";

const { values } = parseArgs({
  options: {
    "sap-port": { type: "string", default: "4101" },
    "d365-port": { type: "string", default: "4102" },
    "data-dir": { type: "string" },
    "latency-ms": { type: "string", default: "0" },
    "error-rate": { type: "string", default: "0" },
  },
});
const dataDir = values["data-dir"];
const faults = { latencyMs: Number(values["latency-ms"]), errorRate: Number(values["error-rate"]) };
const sap = createSapSimulator({
  ...faults,
  ...(dataDir ? { persistPath: join(dataDir, "sap-s4hana.json") } : {}),
});
const d365 = createD365Simulator({
  ...faults,
  ...(dataDir ? { persistPath: join(dataDir, "d365-inventory-visibility.json") } : {}),
});
const urls = {
  sap: await sap.listen(Number(values["sap-port"])),
  d365: await d365.listen(Number(values["d365-port"])),
};
console.log(JSON.stringify({ simulators: urls }));

const stop = async () => {
  await Promise.all([sap.close(), d365.close()]);
  process.exit(0);
};
process.once("SIGINT", stop);
process.once("SIGTERM", stop);
