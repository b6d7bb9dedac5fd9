/**
 * A federation for integration tests: hub + regions as real nats-server processes, each region with
 * its SQLite event store, `INV_EVT_<R>`, a regional projector and an ATP read model; on the hub a
 * global projector. `commit` does what the regional node and its relay do: append the decided
 * events to the region's store, then publish them to `INV_EVT_<R>` with `Nats-Msg-Id =
 * <region>:<streamId>:<revision>`.
 */
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import type { CanonicalEvent } from "../../domain/canonical-event.ts";
import { positionStreamId } from "../../domain/ids.ts";
import { openSqliteEventStore, type SqliteEventStore } from "../../infra/event-store/sqlite-event-store.ts";
import { connectNats, drainAndClose } from "../../infra/nats/connection.ts";
import { PipelinedPublisher } from "../../infra/nats/pipelined-publisher.ts";
import { ensureRegionStreams } from "../../infra/nats/streams.ts";
import { evtSubject } from "../../infra/nats/subjects.ts";
import { startTopology, type Topology } from "../../infra/nats/topology.ts";
import { AtpReadModel } from "../../services/projectors/atp-read-model.ts";
import { GlobalProjector } from "../../services/projectors/global-projector.ts";
import { eventStoreReader, RegionalProjector } from "../../services/projectors/regional-projector.ts";

const te = new TextEncoder();

export interface Federation {
  readonly topology: Topology;
  readonly regions: readonly string[];
  readonly hubNc: NatsConnection;
  readonly regionNc: Record<string, NatsConnection>;
  readonly stores: Record<string, SqliteEventStore>;
  readonly projectors: Record<string, RegionalProjector>;
  readonly readModels: Record<string, AtpReadModel>;
  readonly global: GlobalProjector;
  /**
   * Appends events to their region's store (in order, with the expected revision) and publishes them,
   * unless `publish` says no (a relay that lost it: the projector must fill the gap from the store).
   */
  commit(events: readonly CanonicalEvent[], publish?: (e: CanonicalEvent) => boolean): Promise<void>;
  /** Publishes already stored events again (a relay retry: deduplicated by msg id). */
  republish(events: readonly CanonicalEvent[]): Promise<void>;
  stop(): Promise<void>;
}

export const waitFor = async (what: string, check: () => boolean | Promise<boolean>, timeoutMs = 20_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
};

export const startFederation = async (
  regions: readonly string[],
  opts: { staleAfterMs?: number; probeIntervalMs?: number } = {},
): Promise<Federation> => {
  const topology = await startTopology({ regions });
  const hubNc = await connectNats({ servers: topology.hub.url, name: "test-hub" });
  const regionNc: Record<string, NatsConnection> = {};
  const stores: Record<string, SqliteEventStore> = {};
  const projectors: Record<string, RegionalProjector> = {};
  const readModels: Record<string, AtpReadModel> = {};
  const publishers: Record<string, PipelinedPublisher<number>> = {};
  for (const r of regions) {
    regionNc[r] = await connectNats({ servers: topology.regions[r]!.url, name: `test-${r}` });
    await ensureRegionStreams(await jetstreamManager(regionNc[r]!), r);
    stores[r] = openSqliteEventStore({ path: ":memory:" });
    publishers[r] = new PipelinedPublisher(jetstream(regionNc[r]!), { window: 256 });
    projectors[r] = new RegionalProjector({
      nc: regionNc[r]!,
      region: r,
      readStream: eventStoreReader(stores[r]!),
    });
    readModels[r] = new AtpReadModel({ nc: regionNc[r]!, region: r });
  }
  const global = new GlobalProjector({
    nc: hubNc,
    regions,
    staleAfterMs: opts.staleAfterMs ?? 3_000,
    probeIntervalMs: opts.probeIntervalMs ?? 250,
    probeTimeoutMs: 500,
  });
  for (const r of regions) {
    await projectors[r]!.start();
    await readModels[r]!.start();
  }
  await global.start();

  const publish = async (events: readonly CanonicalEvent[]) => {
    for (const e of events) {
      const r = e.position.region;
      await publishers[r]!.publish({
        subject: evtSubject(r, e.position.location, e.position.sku),
        data: te.encode(JSON.stringify(e)),
        msgId: `${r}:${positionStreamId(e.position)}:${e.revision}`,
        position: e.revision,
      });
    }
    for (const r of regions) await publishers[r]!.flush();
  };

  return {
    topology,
    regions,
    hubNc,
    regionNc,
    stores,
    projectors,
    readModels,
    global,
    async commit(events, keep = () => true) {
      for (const e of events) {
        await stores[e.position.region]!.appendToStream(
          positionStreamId(e.position),
          [{ eventId: e.eventId, type: e.type, data: e }],
          { expectedRevision: e.revision === 0 ? "no_stream" : e.revision - 1 },
        );
      }
      await publish(events.filter(keep));
    },
    republish: publish,
    async stop() {
      await global.stop().catch(() => {});
      for (const r of regions) {
        await readModels[r]?.stop().catch(() => {});
        await projectors[r]?.stop().catch(() => {});
      }
      for (const nc of [hubNc, ...Object.values(regionNc)]) await drainAndClose(nc, 1_000).catch(() => {});
      for (const s of Object.values(stores)) await s.close().catch(() => {});
      await topology.stop();
    },
  };
};
