/**
 * A distributor configuration with connector sources, written to a temporary file (what
 * `stockline translate` and `stockline part connectors` read): the X12 samples' codes
 * (test/connectors/x12-fixture.ts) mapped for the 3PL `acme-3pl` in a region of the caller's choosing.
 */
import { writeFileSync } from "node:fs";
import path from "node:path";

export const X12_SYSTEM = "acme-3pl";
export const WMS_SYSTEM = "wms-1";

export const connectorConfig = (
  region: string,
  opts: { dropFolder?: string; extra?: Record<string, unknown> } = {},
): Record<string, unknown> => ({
  distributor: { name: "Connector test", id: `connectors-${region}` },
  regions: [{ id: region }],
  locations: [
    {
      id: "ACME-WH",
      region,
      name: "ACME WAREHOUSE",
      // The 944 sample names its warehouse by D-U-N-S+4 (N1 qualifier 9).
      codes: { [X12_SYSTEM]: { idQualifier: "9", id: "1234567890001" } },
    },
  ],
  systems: [
    { id: X12_SYSTEM, kind: "3pl" },
    { id: WMS_SYSTEM, kind: "wms" },
  ],
  products: {
    items: [
      {
        sku: "SKU-123",
        baseUom: "EA",
        conversions: [{ uom: "CA", quantity: 12, of: "EA" }],
        codes: { [X12_SYSTEM]: "ITEM123" },
      },
    ],
  },
  connectors: {
    http: { port: 0 },
    sources: [
      { system: X12_SYSTEM, format: "x12", ...(opts.dropFolder ? { dropFolder: opts.dropFolder } : {}) },
    ],
  },
  ...opts.extra,
});

export const writeConfig = (dir: string, config: Record<string, unknown>): string => {
  const file = path.join(dir, "config.json");
  writeFileSync(file, JSON.stringify(config, null, 2));
  return file;
};
