/**
 * `stockline part projector --config <file> --region <r>`: a region's read side beside its node: the
 * regional ATP projector (durable `atp-projector` on `INV_EVT_<R>`, filling gaps from the region's
 * event store), the ATP read model of the bucket `atp_<r>`, and the region's reservation expiry (it
 * lets reservations lapse as `stockline-expiry`). On a secured topology it connects as the region's
 * own services (`node-<r>`).
 */
import { EXPIRY_SOURCE_SYSTEM } from "../../infra/config/distributor-parts.ts";
import { startReservationExpiry } from "../api/reservation-expiry.ts";
import { AtpReadModel } from "../projectors/atp-read-model.ts";
import { eventStoreReader, RegionalProjector } from "../projectors/regional-projector.ts";
import { flagError, type PartContext } from "./part-runtime.ts";
import { openRegionStore } from "./region-stores.ts";

export const startProjectorPart = async (
  ctx: PartContext,
  region: string,
): Promise<Record<string, unknown>> => {
  const { d, log } = ctx;
  if (!d.regions.includes(region))
    throw flagError("--region", region, `one of the regions (${d.regions.join(", ")})`);
  const store = await openRegionStore(d, region, log);
  ctx.defer(`event store ${region}`, () => store.close());
  const nc = await ctx.connect(region, `stockline-projector-${region}`);
  const projector = new RegionalProjector({
    nc,
    region,
    readStream: eventStoreReader(store.store),
    logger: log.child({ component: "regional-projector" }),
  });
  await projector.start();
  ctx.defer(`projector ${region}`, () => projector.stop());
  const readModel = new AtpReadModel({ nc, region, logger: log.child({ component: "atp-read-model" }) });
  await readModel.start();
  ctx.defer(`read model ${region}`, () => readModel.stop());
  const expiry = await startReservationExpiry({
    nc,
    region,
    domain: region,
    sourceSystem: EXPIRY_SOURCE_SYSTEM,
    logger: log.child({ component: "reservation-expiry" }),
  });
  ctx.defer(`reservation expiry ${region}`, () => expiry.stop());
  return { region, store: store.where };
};
