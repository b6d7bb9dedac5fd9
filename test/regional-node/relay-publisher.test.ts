/**
 * The relay's publisher against a real nats-server (127.0.0.1:4222, a stream of its own): the
 * watermark covers what the stream acknowledged, a repeated msg id is deduplicated by the stream,
 * and a subject no stream captures breaks the pipeline instead of being dropped silently.
 */
import { randomBytes } from "node:crypto";
import { jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectNats } from "../../infra/nats/connection.ts";
import { PublishPipelineBrokenError } from "../../infra/nats/pipelined-publisher.ts";
import { RelayPublisher } from "../../services/regional-node/relay-publisher.ts";

const id = randomBytes(4).toString("hex");
const stream = `RELAYPUB_${id}`;
const subject = `relaypub.${id}`;
const encoder = new TextEncoder();
let nc: NatsConnection;

beforeAll(async () => {
  nc = await connectNats({
    servers: process.env.NATS_URL ?? "nats://127.0.0.1:4222",
    name: "relay-publisher-test",
  });
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: stream, subjects: [`${subject}.>`] });
});

afterAll(async () => {
  const jsm = await jetstreamManager(nc);
  await jsm.streams.delete(stream).catch(() => false);
  await nc.close();
});

const message = (i: number, msgId = `m${i}`) => ({
  subject: `${subject}.a`,
  data: encoder.encode(JSON.stringify({ i })),
  msgId,
  position: i,
});

describe("RelayPublisher", () => {
  it("acknowledges everything in order through a small window, and dedupes a repeated msg id", async () => {
    const p = new RelayPublisher<number>(nc, { window: 8, ackTimeoutMs: 5_000 });
    try {
      for (let i = 1; i <= 200; i++) await p.publish(message(i));
      await p.publish(message(201, "m5")); // same msg id as message 5
      expect(await p.flush()).toBe(201);
      expect(p.inFlight).toBe(0);
      expect(p.stats).toEqual({ published: 201, duplicates: 1 });
      const jsm = await jetstreamManager(nc);
      expect((await jsm.streams.info(stream)).state.messages).toBe(200);
      const last = await jsm.streams.getMessage(stream, { seq: 200 });
      expect(last?.header.get("Nats-Msg-Id")).toBe("m200");
    } finally {
      p.close();
    }
  });

  it("breaks, keeping the watermark, when no stream takes a message", async () => {
    const p = new RelayPublisher<number>(nc, { window: 8, ackTimeoutMs: 2_000 });
    try {
      await p.publish(message(1, `x${id}-1`));
      await p.flush();
      await p.publish({ ...message(2, `x${id}-2`), subject: `nostream.${id}` });
      const err = await p.flush().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(PublishPipelineBrokenError);
      expect((err as PublishPipelineBrokenError<number>).ackedThrough).toBe(1);
      expect(p.isBroken).toBe(true);
      await expect(p.publish(message(3, `x${id}-3`))).rejects.toBeInstanceOf(PublishPipelineBrokenError);
    } finally {
      p.close();
    }
  });
});
