import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

// The real documents these tests translate (SAP, Dynamics 365, Shopify, X12, EPCIS) are kept beside
// the repository in ../shared/samples, never in it (their licences). Where a checkout has no such
// folder they cannot run: they are left out, and the run says so, rather than failing on a missing file.
const SAMPLES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "shared", "samples");
const NEEDS_SAMPLES = [
  "test/connectors/connectors-part.test.ts",
  "test/connectors/d365-inventory-visibility.test.ts",
  "test/connectors/epcis-mapping.test.ts",
  "test/connectors/epcis-samples.test.ts",
  "test/connectors/epcis-validation.test.ts",
  "test/connectors/registry.test.ts",
  "test/connectors/sap-material-document.test.ts",
  "test/connectors/shopify-webhooks.test.ts",
  "test/connectors/translate-command.test.ts",
  "test/connectors/x12-samples.test.ts",
  "test/e2e/connectors-day.test.ts",
  "test/simulators/d365-inventory-visibility-simulator.test.ts",
  "test/simulators/sap-s4hana-simulator.test.ts",
];
const samplesMissing = !existsSync(SAMPLES);
if (samplesMissing)
  console.warn(
    `${SAMPLES} is missing: the ${NEEDS_SAMPLES.length} test files that read the sample documents are not run (${NEEDS_SAMPLES.join(", ")})`,
  );

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    exclude: ["**/node_modules/**", ...(samplesMissing ? NEEDS_SAMPLES : [])],
    // Integration tests start real nats-server processes; give them room but keep every test bounded.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
    // 2-core machine: more parallel files only adds contention between nats-server processes.
    maxWorkers: 2,
    reporters: ["default"],
  },
});
