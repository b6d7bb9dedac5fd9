/**
 * `stockline part reconciler --config <file>`: reconciliation on a timer (`reconciliation.everyMs`,
 * default one minute; none when `reconciliation.enabled` is false): each reconciled target's balances
 * against every region's event store and the postings ledger, findings into
 * `<dataDir>/reconciliation.db`. Compensations it proposes are approved through the API.
 */
import path from "node:path";
import { HUB_USERS } from "../../infra/config/distributor-parts.ts";
import { ReconciliationStore } from "../reconciliation/reconciliation-store.ts";
import type { PartContext } from "./part-runtime.ts";
import { openPostingsLedger, reconcilerOf, submitVia } from "./posting-targets.ts";
import { openRegionStore } from "./region-stores.ts";

export const DEFAULT_RECONCILE_EVERY_MS = 60_000;

export const startReconcilerPart = async (ctx: PartContext): Promise<Record<string, unknown>> => {
  const { d, log } = ctx;
  const stores = [];
  for (const region of d.regions) {
    const s = await openRegionStore(d, region, log);
    ctx.defer(`event store ${region}`, () => s.close());
    stores.push(s);
  }
  const ledger = openPostingsLedger(d);
  ctx.defer("postings ledger", () => ledger.close());
  const store = new ReconciliationStore(path.join(d.dataDir, "reconciliation.db"));
  ctx.defer("reconciliation store", () => store.close());
  const nc = await ctx.connect("hub", "stockline-reconciler", HUB_USERS.reconciler);
  const reconciler = reconcilerOf(d, {
    ledger,
    store,
    stores,
    submitCommand: submitVia(nc),
    logger: log.child({ component: "reconciler" }),
  });
  ctx.defer("reconciler", () => reconciler.stop());
  const enabled = d.file.reconciliation?.enabled ?? true;
  const everyMs = d.file.reconciliation?.everyMs ?? DEFAULT_RECONCILE_EVERY_MS;
  if (enabled) {
    let running: Promise<unknown> | undefined;
    const timer = setInterval(() => {
      running ??= reconciler
        .run({ trigger: "scheduled" })
        .then((r) => log.info({ run: r.run.id, findings: r.findings.length }, "reconciliation run"))
        .catch((err: unknown) => log.warn({ err }, "reconciliation run failed"))
        .finally(() => {
          running = undefined;
        });
    }, everyMs);
    ctx.defer("reconciliation timer", async () => {
      clearInterval(timer);
      await running;
    });
  }
  return { enabled, everyMs };
};
