/**
 * `stockline part postings --config <file> --target <id>`: the posting worker of one target (an ERP):
 * per region whose events a routing rule sends to it, a durable consumer `postings-<target>` on
 * `INV_EVT_<R>`, posting through the target's circuit breaker and recording every outcome in the
 * deployment's postings ledger (`<dataDir>/postings.db`).
 */
import { nodeUserOf, postingTargetsOf, routingOf } from "../../infra/config/distributor-parts.ts";
import { guardTarget, PostingWorker } from "../postings/posting-worker.ts";
import { flagError, type PartContext } from "./part-runtime.ts";
import { connectorsOf, openPostingsLedger, regionsRoutedTo } from "./posting-targets.ts";

export const startPostingsPart = async (
  ctx: PartContext,
  targetId: string,
): Promise<Record<string, unknown>> => {
  const { d, log } = ctx;
  const connectors = connectorsOf(d);
  const connector = connectors.get(targetId);
  if (!connector)
    throw flagError(
      "--target",
      targetId,
      `one of the posting targets (${[...connectors.keys()].join(", ") || "none configured"})`,
    );
  const target = guardTarget(connector, { resetTimeoutMs: 3_000 }, log.child({ component: "breaker" }));
  ctx.defer("circuit breaker", () => target.shutdown());
  const ledger = openPostingsLedger(d);
  ctx.defer("postings ledger", () => ledger.close());
  const routing = routingOf(d);
  const regions = regionsRoutedTo(d, targetId);
  for (const region of regions) {
    const nc = await ctx.connect(region, `stockline-postings-${targetId}-${nodeUserOf(region)}`);
    const worker = new PostingWorker({
      nc,
      region,
      target,
      routing,
      ledger,
      logger: log.child({ component: "postings" }),
      backoff: { initialMs: 200, maxMs: 5_000 },
    });
    await worker.start();
    ctx.defer(`postings ${region} -> ${targetId}`, () => worker.stop());
  }
  const baseUrl = postingTargetsOf(d).find((t) => t.id === targetId)?.baseUrl;
  return { target: targetId, baseUrl, regions };
};
