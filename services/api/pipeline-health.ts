/**
 * Pipeline health per region for the operations dashboard (issue 12): `GET /v1/pipeline/health`.
 *
 * One answer from what already reports, read when asked:
 * - the hub's freshness of the region (GlobalAtpReader.freshness: link, mirror lag, staleness, why);
 * - the node's own report (KV `node_status_<r>`: store head, relay acknowledged, relay lag, outbox);
 * - every durable consumer of the region's `INV_CMD_<R>` (intake) and `INV_EVT_<R>` (projector,
 *   posting workers, others): `num_pending`, `num_ack_pending` and when it last delivered.
 * Each source is read with a deadline; one that does not answer is `null` with the error, never a
 * hung request. Postings backlog and breakers are `GET /v1/postings/summary`; dead letters
 * `GET /v1/exceptions/dead-letters`.
 */
import { type JetStreamManager, jetstreamManager } from "@nats-io/jetstream";
import { type KV, Kvm } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import type { FastifyInstance } from "fastify";
import { cmdStreamName, evtStreamName, nodeStatusBucketName } from "../../infra/nats/subjects.ts";
import type { RegionFreshness } from "../../projections/global-atp.projection.ts";
import { NODE_STATUS_KEY, type NodeStatusReport } from "../regional-node/node-status.ts";

export type ConsumerStage = "intake" | "projector" | "postings" | "other";

export interface ConsumerLag {
  readonly stream: string;
  readonly consumer: string;
  readonly stage: ConsumerStage;
  readonly pending: number;
  readonly ackPending: number;
  readonly lastActive: string | null;
}

export interface RegionHealth {
  readonly region: string;
  readonly freshness: RegionFreshness | null;
  readonly node: NodeStatusReport | null;
  readonly consumers: readonly ConsumerLag[];
  /** Sources that did not answer, with why. */
  readonly errors: readonly string[];
}

export interface PipelineHealth {
  readonly at: string;
  readonly regions: readonly RegionHealth[];
}

export interface PipelineHealthDeps {
  /** A connection into each region's own JetStream domain. */
  readonly regions: ReadonlyMap<string, NatsConnection>;
  /** The hub's freshness of every region. */
  readonly freshness: () => readonly RegionFreshness[];
  /** Deadline of each read (default 2 s). */
  readonly timeoutMs?: number;
}

export const stageOf = (stream: string, consumer: string): ConsumerStage =>
  stream.startsWith("INV_CMD_")
    ? "intake"
    : /^postings?-/.test(consumer)
      ? "postings"
      : /projector|atp/.test(consumer)
        ? "projector"
        : "other";

const within = <T>(ms: number, what: string, p: Promise<T>): Promise<T> =>
  new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
    p.then(resolve, reject).finally(() => clearTimeout(timer));
  });

const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

export class PipelineHealthReader {
  private readonly jsm = new Map<string, Promise<JetStreamManager>>();
  private readonly kv = new Map<string, Promise<KV>>();

  constructor(private readonly deps: PipelineHealthDeps) {}

  private managerOf(region: string, nc: NatsConnection): Promise<JetStreamManager> {
    let m = this.jsm.get(region);
    if (!m) {
      m = jetstreamManager(nc);
      m.catch(() => this.jsm.delete(region));
      this.jsm.set(region, m);
    }
    return m;
  }

  private statusKvOf(region: string, nc: NatsConnection): Promise<KV> {
    let kv = this.kv.get(region);
    if (!kv) {
      kv = new Kvm(nc).open(nodeStatusBucketName(region));
      kv.catch(() => this.kv.delete(region));
      this.kv.set(region, kv);
    }
    return kv;
  }

  private async regionHealth(region: string, nc: NatsConnection, fresh: RegionFreshness | undefined) {
    const ms = this.deps.timeoutMs ?? 2_000;
    const errors: string[] = [];
    const node = await within(
      ms,
      `node status of ${region}`,
      this.statusKvOf(region, nc).then(async (kv) =>
        (await kv.get(NODE_STATUS_KEY))?.json<NodeStatusReport>(),
      ),
    ).catch((err) => {
      errors.push(message(err));
      return undefined;
    });
    const consumers: ConsumerLag[] = [];
    for (const stream of [cmdStreamName(region), evtStreamName(region)]) {
      await within(
        ms,
        `consumers of ${stream}`,
        (async () => {
          const jsm = await this.managerOf(region, nc);
          for await (const ci of jsm.consumers.list(stream)) {
            const name = ci.config.durable_name;
            if (!name) continue; // ordered readers (watches, replays) are not lag
            consumers.push({
              stream,
              consumer: name,
              stage: stageOf(stream, name),
              pending: ci.num_pending,
              ackPending: ci.num_ack_pending,
              lastActive: ci.delivered.last_active ? new Date(ci.delivered.last_active).toISOString() : null,
            });
          }
        })(),
      ).catch((err) => errors.push(message(err)));
    }
    return { region, freshness: fresh ?? null, node: node ?? null, consumers, errors };
  }

  async read(): Promise<PipelineHealth> {
    const freshness = new Map(this.deps.freshness().map((f) => [f.region, f]));
    const regions = await Promise.all(
      [...this.deps.regions].map(([region, nc]) => this.regionHealth(region, nc, freshness.get(region))),
    );
    return { at: new Date().toISOString(), regions };
  }
}

const EXAMPLE: PipelineHealth = {
  at: "2026-05-01T10:00:02.000Z",
  regions: [
    {
      region: "eu",
      freshness: {
        region: "eu",
        link: "up",
        lastEventAgeMs: 1200,
        mirrorLag: 0,
        relayLagEvents: 0,
        relayLagMs: 0,
        asOf: "2026-05-01T10:00:01.500Z",
        stalenessMs: 500,
        stale: false,
        reasons: [],
        eventsApplied: 1520,
      },
      node: {
        region: "eu",
        at: "2026-05-01T10:00:01.800Z",
        storeHead: 1520,
        relayAcked: 1520,
        lagEvents: 0,
        completeAsOf: "2026-05-01T10:00:01.800Z",
        outbox: [],
      },
      consumers: [
        {
          stream: "INV_CMD_EU",
          consumer: "stockline-node-eu",
          stage: "intake",
          pending: 0,
          ackPending: 0,
          lastActive: "2026-05-01T10:00:01.000Z",
        },
      ],
      errors: [],
    },
  ],
};

export const registerPipelineHealthRoute = (app: FastifyInstance, reader: PipelineHealthReader): void => {
  app.get(
    "/v1/pipeline/health",
    {
      config: { roles: ["operations"] },
      schema: {
        tags: ["operations"],
        summary:
          "Pipeline health per region: hub freshness, the node's store and relay, intake/projector/posting consumer lag",
        response: {
          200: {
            description: "one entry per region; a source that did not answer is null and named in errors",
            type: "object",
            additionalProperties: true,
            examples: [EXAMPLE],
          },
        },
      },
    },
    () => reader.read(),
  );
};
