/**
 * A poison flood (issue 8, "done when"): a real node on the real nats-server gets 10,000 bad messages
 * (malformed JSON, lone surrogates, commands that do not decode, oversized payloads, and commands
 * whose handling throws), then 200 good commands. The good ones are all applied, every bad one is
 * accounted for in `INV_DLQ_<R>` (one dead letter each), and the node's log stays bounded.
 *
 * Before: the bad ones were nak'ed and redelivered without end (a lone surrogate threw `URIError`
 * while encoding the subject; a throw in the machine escaped the runtime), they filled
 * `max_ack_pending`, no good command was applied (0 of 200 after 25 s), and the log took 280k lines.
 *
 * The ack wait is set far beyond the test's deadline, so nothing here may rely on its expiry.
 */
import { Writable } from "node:stream";
import { type JetStreamClient, type JetStreamManager, jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { positionStreamId } from "../../domain/ids.ts";
import { NO_STREAM } from "../../infra/event-store/event-store.ts";
import { connectNats } from "../../infra/nats/connection.ts";
import { cmdSubject, dlqStreamName } from "../../infra/nats/subjects.ts";
import { type RegionalNode, startRegionalNode } from "../../services/regional-node/regional-node.ts";
import {
  cleanUpNodeTest,
  nodeConfig,
  publishAll,
  readStream,
  receipt,
  streamCount,
  tempDir,
  uniqueRegion,
  waitFor,
} from "./node-fixtures.ts";

const servers = [process.env.NATS_URL ?? "nats://127.0.0.1:4222"];
const region = uniqueRegion("pf");
const tmp = tempDir("poison-flood");
let node: RegionalNode | undefined;
let nc: NatsConnection;
let js: JetStreamClient;
let jsm: JetStreamManager;

/** The node's log, as pino writes it in production (level info), counted line by line. */
const logLines: string[] = [];
const logStream = new Writable({
  write(chunk: Buffer, _enc, done) {
    for (const line of chunk.toString("utf8").split("\n")) if (line.length > 0) logLines.push(line);
    done();
  },
});

const MAX_PAYLOAD = 16 * 1024;

beforeAll(async () => {
  nc = await connectNats({ servers, name: "poison-flood-test" });
  js = jetstream(nc);
  jsm = await jetstreamManager(nc);
});

afterAll(async () => {
  await cleanUpNodeTest({ node, jsm, nc, region, tmp });
});

describe("a poison flood of 10,000 bad messages, then 200 good commands", () => {
  it("applies the good ones, dead-letters each bad one once, and keeps the log bounded", async () => {
    node = await startRegionalNode(
      nodeConfig(region, tmp.dir, servers, {
        intake: { ackWaitMs: 600_000, maxPayloadBytes: MAX_PAYLOAD },
      }),
      { logger: pino({ level: "info" }, logStream) },
    );
    // A position the machine cannot rehydrate (an event without `documents`, as another writer left
    // it): every command to it throws while it is decided.
    await node.store.appendToStream(
      positionStreamId({ location: "DC1", sku: "BROKEN" }),
      [
        {
          eventId: "00000000-0000-4000-8000-000000000002",
          type: "ReservationPlaced",
          data: {
            type: "ReservationPlaced",
            position: { region, location: "DC1", sku: "BROKEN" },
            idempotencyKey: "legacy-1",
            commandHash: "0".repeat(64),
            quantity: 1,
            reservationId: "LEGACY",
            revision: 0,
            businessTime: "2024-05-01T10:00:00.000Z",
            expiresAt: "2024-05-02T10:00:00.000Z",
          },
        },
      ],
      { expectedRevision: NO_STREAM },
    );

    const kinds = ["malformed", "loneSurrogate", "decode", "oversized", "throws"] as const;
    const share = { malformed: 2_500, loneSurrogate: 2_000, decode: 2_500, oversized: 500, throws: 2_500 };
    const bad: Array<{ subject: string; data: string }> = [];
    for (const kind of kinds) {
      for (let i = 0; i < share[kind]; i++) {
        switch (kind) {
          case "malformed":
            bad.push({ subject: cmdSubject(region, "DC1", "M"), data: `{"kind": "receiveGoods", ${i}` });
            break;
          case "loneSurrogate":
            bad.push({
              subject: cmdSubject(region, "DC1", "LONE"),
              data: JSON.stringify(receipt({ region, sku: `LONE-\uD800-${i}`, key: `lone-${i}` })),
            });
            break;
          case "decode":
            bad.push({
              subject: cmdSubject(region, "DC1", "D"),
              data: JSON.stringify({
                ...receipt({ region, sku: "D", key: `dec-${i}` }),
                quantity: { value: "7" },
              }),
            });
            break;
          case "oversized":
            bad.push({
              subject: cmdSubject(region, "DC1", "O"),
              data: JSON.stringify({
                ...receipt({ region, sku: "O", key: `big-${i}` }),
                pad: "x".repeat(MAX_PAYLOAD),
              }),
            });
            break;
          case "throws":
            bad.push({
              subject: cmdSubject(region, "DC1", "BROKEN"),
              data: JSON.stringify(receipt({ region, sku: "BROKEN", key: `thr-${i}` })),
            });
            break;
        }
      }
    }
    expect(bad).toHaveLength(10_000);
    // Interleaved, as a misbehaving sender would mix them.
    const mixed = bad.map((b, i) => ({ b, k: (i * 7919) % bad.length })).sort((x, y) => x.k - y.k);
    const good = Array.from({ length: 200 }, (_, i) =>
      receipt({ region, sku: `GOOD-${i % 20}`, key: `good-${i}`, qty: 1 }),
    );

    await publishAll(
      js,
      mixed.map((m) => m.b),
    );
    await publishAll(
      js,
      good.map((c) => ({ subject: cmdSubject(region, "DC1", c.position.sku), data: JSON.stringify(c) })),
    );

    // The good commands are applied (read from the event store), without waiting for any ack wait.
    await waitFor(
      "the 200 good commands applied",
      async () => {
        let applied = 0;
        for (let p = 0; p < 20; p++)
          applied += (await node!.store.readStream(positionStreamId({ location: "DC1", sku: `GOOD-${p}` })))
            .length;
        return applied === 200;
      },
      120_000,
    );
    for (let p = 0; p < 20; p++) {
      const events = await node.store.readStream(positionStreamId({ location: "DC1", sku: `GOOD-${p}` }));
      const last = events[events.length - 1]?.data as { balancesAfter: { onHand: { available: number } } };
      expect(last.balancesAfter.onHand.available).toBe(10);
    }

    // Every bad message is one dead letter of the intake: bad messages were published first, so they
    // hold stream sequences 1..10,000.
    await waitFor(
      "10,000 dead letters",
      async () => (await streamCount(jsm, dlqStreamName(region))) >= 10_000,
      120_000,
    );
    const letters = await readStream(js, dlqStreamName(region), 10_000, 60_000);
    const fromIntake = letters.filter(
      (m) => (m.data as { intake?: { via?: string } }).intake?.via === "jetstream",
    );
    const sequences = new Set(
      fromIntake.map((m) => (m.data as { intake: { streamSequence: number } }).intake.streamSequence),
    );
    expect(fromIntake).toHaveLength(10_000);
    expect(sequences.size).toBe(10_000);
    expect(Math.min(...sequences)).toBe(1);
    expect(Math.max(...sequences)).toBe(10_000);
    const byReason = new Map<string, number>();
    for (const m of fromIntake) {
      const r = (m.data as { reason: string }).reason;
      byReason.set(r, (byReason.get(r) ?? 0) + 1);
    }
    expect(byReason.get("malformedJson")).toBe(share.malformed);
    expect(byReason.get("payloadTooLarge")).toBe(share.oversized);
    expect(byReason.get("decisionFailed")).toBe(share.throws);
    // A lone surrogate is refused by the codec (invalidCommand) or, before it, by the intake that
    // could not encode its subject (intakeFailed); both are one dead letter each.
    expect((byReason.get("invalidCommand") ?? 0) + (byReason.get("intakeFailed") ?? 0)).toBe(
      share.decode + share.loneSurrogate,
    );
    // Nothing is left in flight, held for redelivery, or redelivered.
    const consumer = await jsm.consumers.info(`INV_CMD_${region.toUpperCase()}`, `stockline-node-${region}`);
    expect(consumer.num_ack_pending).toBe(0);
    expect(consumer.num_redelivered).toBe(0);

    await node.stop();
    node = undefined;
    expect(logLines.length).toBeLessThan(1_000);
  }, 300_000);
});
