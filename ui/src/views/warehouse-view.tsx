/**
 * Warehouse support (issue 12): a position's history and anomalies (negative balance, uncovered
 * reservations, count variances), the commands parked for a sequence gap, and the trace of a
 * document across regions (a correlation id in the history opens it).
 */
import { useState } from "preact/hooks";
import type { ViewProps } from "./view-props.ts";
import { ParkedPanel } from "./warehouse/parked-panel.tsx";
import { PositionPanel } from "./warehouse/position-panel.tsx";
import { TracePanel } from "./warehouse/trace-panel.tsx";

export function WarehouseView({ api, live }: ViewProps) {
  const [traced, setTraced] = useState<string | undefined>(undefined);
  return (
    <section data-view="warehouse">
      <h2>Warehouse support</h2>
      <div class="panels">
        <PositionPanel api={api} live={live} onTrace={setTraced} />
        <ParkedPanel api={api} />
        <TracePanel api={api} correlationId={traced} />
      </div>
    </section>
  );
}
