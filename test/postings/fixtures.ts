/**
 * Shared set-up of the postings and reconciliation tests: realistic canonical events from the
 * position decider, JetStream streams with a unique region per test run on the machine's
 * nats-server, both ERP simulators over HTTP, and a way to wait for a condition.
 */
import { randomBytes } from "node:crypto";
import { type JetStreamManager, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { headers, type NatsConnection } from "@nats-io/transport-node";
import type { CanonicalEvent } from "../../domain/canonical-event.ts";
import type { Command } from "../../domain/commands.ts";
import type { Position } from "../../domain/ids.ts";
import {
  decide,
  defaultEnv,
  evolve,
  initialPositionState,
  type PositionState,
  toCanonicalEvents,
} from "../../domain/position.decider.ts";
import { connectNats, drainAndClose } from "../../infra/nats/connection.ts";
import { ensureRegionStreams } from "../../infra/nats/streams.ts";
import { cmdStreamName, dlqStreamName, evtStreamName, evtSubject } from "../../infra/nats/subjects.ts";
import { postingKey } from "../../services/postings/posting-worker.ts";

export const NATS_URL = process.env.NATS_URL ?? "nats://127.0.0.1:4222";

/** A region id unique to this test run, so streams never collide with other runs. */
export const uniqueRegion = (prefix: string): string => `${prefix}-${randomBytes(4).toString("hex")}`;

let seq = 0;
const BASE_TIME = Date.parse("2025-03-03T08:00:00Z");

export type CommandDraft = { kind: Command["kind"] } & Record<string, unknown>;

/** One position's history: commands are decided and turned into stored, hash-chained events. */
export class PositionHistory {
  state: PositionState;
  readonly events: CanonicalEvent[] = [];
  constructor(readonly position: Position) {
    this.state = initialPositionState(position);
  }

  /** Decides a command (defaults: source `wms`, a fresh key and document); returns its events. */
  apply(draft: CommandDraft, source = "wms"): CanonicalEvent[] {
    seq++;
    const businessTime = new Date(BASE_TIME + seq * 1000).toISOString();
    const command = {
      idempotencyKey: `k-${seq}`,
      source: { system: source, document: { type: "doc", id: `D${seq}` } },
      businessTime,
      correlationId: `corr-${seq}`,
      position: this.position,
      ...draft,
    } as Command;
    const outcome = decide(command, this.state, defaultEnv(businessTime));
    if (outcome.kind !== "accepted")
      throw new Error(`command ${draft.kind} not accepted: ${JSON.stringify(outcome)}`);
    const stored = toCanonicalEvents(outcome.events, {
      prevRevision: this.state.revision,
      prevHash: this.state.lastHash,
      recordedTime: new Date().toISOString(),
    });
    for (const e of stored) {
      this.state = evolve(this.state, e);
      this.events.push(e);
    }
    return stored;
  }
}

export const ea = (value: number) => ({ value, uom: "EA" });
export const receive = (n: number, extra: Record<string, unknown> = {}): CommandDraft => ({
  kind: "receiveGoods",
  quantity: ea(n),
  ...extra,
});
export const pick = (n: number): CommandDraft => ({ kind: "confirmPick", quantity: ea(n) });
export const ship = (n: number): CommandDraft => ({ kind: "postShipment", quantity: ea(n) });
export const adjust = (n: number): CommandDraft => ({
  kind: "adjustStock",
  quantity: ea(n),
  reasonCode: "DAMAGE",
});

export interface NatsFixture {
  readonly nc: NatsConnection;
  readonly jsm: JetStreamManager;
  readonly region: string;
  publish(events: readonly CanonicalEvent[]): Promise<void>;
  close(): Promise<void>;
}

/** Streams of a fresh region on the machine's nats-server; `close` deletes them. */
export const natsFixture = async (prefix: string): Promise<NatsFixture> => {
  const nc = await connectNats({ servers: NATS_URL, name: `test-${prefix}` });
  const jsm = await jetstreamManager(nc);
  const region = uniqueRegion(prefix);
  await ensureRegionStreams(jsm, region, { duplicateWindowMs: 60_000 });
  const js = jetstream(nc);
  return {
    nc,
    jsm,
    region,
    // As the relay does: the event as JSON on its subject, `Nats-Msg-Id = <region>:<streamId>:<revision>`.
    async publish(events) {
      for (const e of events) {
        const h = headers();
        await js.publish(
          evtSubject(e.position.region, e.position.location, e.position.sku),
          JSON.stringify(e),
          {
            msgID: postingKey(e),
            headers: h,
          },
        );
      }
    },
    async close() {
      for (const s of [cmdStreamName(region), evtStreamName(region), dlqStreamName(region)]) {
        await jsm.streams.delete(s).catch(() => undefined);
      }
      await drainAndClose(nc);
    },
  };
};

export const waitFor = async <T>(
  what: string,
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 15_000,
): Promise<T> => {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
};
