/** `GET /v1/pipeline/health` (services/api/pipeline-health.ts), as the page reads it. */
export interface ConsumerLag {
  readonly stream: string;
  readonly consumer: string;
  readonly stage: "intake" | "projector" | "postings" | "other";
  readonly pending: number;
  readonly ackPending: number;
  readonly lastActive: string | null;
}

export interface RegionFreshness {
  readonly region: string;
  readonly link: "up" | "down" | "unknown";
  readonly mirrorLag?: number;
  readonly relayLagEvents?: number;
  readonly relayLagMs?: number;
  readonly lastEventAgeMs?: number;
  readonly asOf?: string;
  readonly stalenessMs?: number;
  readonly stale: boolean;
  readonly reasons: readonly string[];
  readonly eventsApplied: number;
}

export interface NodeReport {
  readonly at: string;
  readonly storeHead: number;
  readonly relayAcked: number;
  readonly lagEvents: number;
  readonly completeAsOf: string;
  readonly outbox: ReadonlyArray<{ destination: string; depth: number; oldestAgeMs: number }>;
}

export interface RegionHealth {
  readonly region: string;
  readonly freshness: RegionFreshness | null;
  readonly node: NodeReport | null;
  readonly consumers: readonly ConsumerLag[];
  readonly errors: readonly string[];
}

export interface PipelineHealth {
  readonly at: string;
  readonly regions: readonly RegionHealth[];
}

export const pendingOf = (r: RegionHealth, stage: ConsumerLag["stage"]): number =>
  r.consumers.filter((c) => c.stage === stage).reduce((n, c) => n + c.pending + c.ackPending, 0);
