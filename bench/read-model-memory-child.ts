/**
 * Child process of the benchmark: the memory of a regional ATP read model holding many positions.
 * Loads `positions` entries into the read model's in-memory columns (`AtpColumns`, what
 * `AtpReadModel` fills from its KV watch) and reports this process's RSS before and after, after a
 * full GC (run with `--expose-gc`). The entries are what the regional projector writes to `atp_<r>`:
 * figures by status, an open reservation on some, times and revision.
 */

import type { RegionalAtpEntry } from "../projections/regional-atp.projection.ts";
import { AtpColumns } from "../services/projectors/atp-read-model.ts";
import { processFigures, serveParent } from "./child-process.ts";

const gc = (): void => {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g) {
    g();
    g();
  }
};

const LOCATIONS = ["DC-NORTH", "DC-SOUTH", "DC-EAST", "DC-WEST", "STORE-0042"];

export const syntheticEntry = (region: string, i: number): RegionalAtpEntry => {
  const location = LOCATIONS[i % LOCATIONS.length]!;
  const sku = `SKU-${String(1_000_000 + Math.floor(i / LOCATIONS.length))}`;
  const available = 10 + (i % 500);
  const reserved = i % 7 === 0 ? 3 : 0;
  const recordedTime = new Date(Date.parse("2025-03-03T08:00:00.000Z") + i * 1000).toISOString();
  return {
    position: { region, location, sku },
    onHand: { available, inspection: i % 11 === 0 ? 2 : 0, blocked: 0, consigned: 0, picked: i % 5 },
    inboundInTransit: 0,
    inbound: {},
    atp: {
      available,
      reserved,
      safetyStock: 0,
      net: available - reserved,
      atp: available - reserved,
      sellable: true,
      lifecycle: "active",
    },
    lastRevision: 3 + (i % 40),
    lastEventId: `evt-${i}`,
    businessTime: recordedTime,
    recordedTime,
  };
};

serveParent({
  load(payload) {
    const { positions, region } = payload as { positions: number; region: string };
    gc();
    const before = processFigures();
    const started = performance.now();
    const columns = new AtpColumns(region);
    for (let i = 0; i < positions; i++) columns.upsert(syntheticEntry(region, i));
    const loadMs = performance.now() - started;
    gc();
    const after = processFigures();
    // Read one back so the model is provably live (and the figures are not optimised away).
    const probe = columns.availability(syntheticEntry(region, positions - 1).position.sku);
    return {
      positions: columns.size,
      loadMs,
      rssBeforeMb: before.rssMb,
      rssAfterMb: after.rssMb,
      heapBeforeMb: before.heapUsedMb,
      heapAfterMb: after.heapUsedMb,
      maxRssMb: after.maxRssMb,
      probeLocations: probe.locations.length,
    };
  },
  stop() {
    return {};
  },
});
