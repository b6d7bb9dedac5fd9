/**
 * `stockline part global --config <file>`: the global projector on the hub: a mirror of each region's
 * `INV_EVT_<R>` in the hub's JetStream domain (from the configuration, `nats.hubDomain`), consumed with
 * the one durable `global-atp`, global ATP per SKU in the bucket `atp_global` with each region's
 * freshness beside it (what the API serves from: services/projectors/global-atp-reader.ts).
 */
import { HUB_USERS } from "../../infra/config/distributor-parts.ts";
import { GlobalProjector } from "../projectors/global-projector.ts";
import type { PartContext } from "./part-runtime.ts";

export const GLOBAL_DURABLE = "global-atp";

export const startGlobalPart = async (ctx: PartContext): Promise<Record<string, unknown>> => {
  const { d, log } = ctx;
  const nc = await ctx.connect("hub", "stockline-global-projector", HUB_USERS.projector);
  const global = new GlobalProjector({
    nc,
    regions: d.regions,
    hubDomain: d.hubDomain,
    durableName: GLOBAL_DURABLE,
    ...(d.file.api?.staleAfterMs ? { staleAfterMs: d.file.api.staleAfterMs } : {}),
    publishFreshness: true,
    logger: log.child({ component: "global-projector" }),
  });
  await global.start();
  ctx.defer("global projector", () => global.stop());
  return { hubDomain: d.hubDomain, regions: d.regions };
};
