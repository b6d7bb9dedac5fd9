/**
 * What both ERP simulators offer besides their system's API: listening on a loopback port, fault
 * control, and the admin routes `/_sim/ledger` and `/_sim/reset` (never faulted).
 */
import type { FastifyInstance } from "fastify";
import type { FaultInjector, FaultOptions, OutageMode } from "./sim-faults.ts";

export interface SimulatorControls {
  readonly app: FastifyInstance;
  readonly faults: FaultInjector;
  /** Starts listening (port 0 = any free port) on 127.0.0.1 and returns the base URL. */
  listen(port?: number, host?: string): Promise<string>;
  close(): Promise<void>;
  setOutage(down: boolean, opts?: { mode?: OutageMode; forMs?: number }): void;
  setFaults(patch: FaultOptions): void;
  /** Back to an empty state (persisted when the simulator persists). */
  reset(): void;
}

/** Installs the admin ledger and reset routes on `app` and returns the controls around it. */
export const simulatorControls = (
  app: FastifyInstance,
  faults: FaultInjector,
  admin: { entries: () => readonly unknown[]; stats: () => unknown; reset: () => void },
): SimulatorControls => {
  app.get("/_sim/ledger", async () => ({
    entries: admin.entries(),
    stats: admin.stats(),
    faults: faults.counters,
  }));
  app.post("/_sim/reset", async () => {
    admin.reset();
    return { reset: true };
  });
  return {
    app,
    faults,
    async listen(port = 0, host = "127.0.0.1") {
      await app.listen({ port, host });
      const address = app.server.address();
      if (address === null || typeof address === "string") throw new Error("simulator has no TCP address");
      return `http://${host}:${address.port}`;
    },
    close: () => app.close(),
    setOutage: (down, opts) => faults.setOutage(down, opts),
    setFaults: (patch) => faults.set(patch),
    reset: admin.reset,
  };
};
