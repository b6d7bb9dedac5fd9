import { type JetStreamClient, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectNats, drainAndClose } from "../../../infra/nats/connection.ts";
import {
  measureRawJetStreamPublish,
  PipelinedPublisher,
  PublishPipelineBrokenError,
} from "../../../infra/nats/pipelined-publisher.ts";
import { ensureAtpBucket, ensureHubMirrors, ensureRegionStreams } from "../../../infra/nats/streams.ts";
import { atpBucketName, evtStreamName, evtSubject, parseEvtSubject } from "../../../infra/nats/subjects.ts";
import { leafConnections, startTopology, type Topology } from "../../../infra/nats/topology.ts";

const enc = new TextEncoder();

const waitFor = async (what: string, check: () => Promise<boolean>, timeoutMs = 15_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
};

/** Every message of a stream as [sequence, Nats-Msg-Id], read with an ordered consumer. */
const readStream = async (js: JetStreamClient, stream: string, lastSeq: number) => {
  const out: Array<[number, string]> = [];
  if (lastSeq === 0) return out;
  const consumer = await js.consumers.get(stream);
  const messages = await consumer.consume();
  const timer = setTimeout(() => messages.stop(), 10_000);
  for await (const m of messages) {
    out.push([m.seq, m.headers?.get("Nats-Msg-Id") ?? ""]);
    if (m.seq >= lastSeq) break;
  }
  clearTimeout(timer);
  await messages.close();
  return out;
};

const lastSeq = async (nc: NatsConnection, domain: string, stream: string) =>
  (await (await jetstreamManager(nc, { domain })).streams.info(stream)).state.last_seq;

/** Publishes positions [from, to) of a region's event stream with msg ids `<region>:p:<n>`. */
const publishRange = async (pub: PipelinedPublisher, region: string, from: number, to: number) => {
  for (let n = from; n < to; n++) {
    await pub.publish({
      subject: evtSubject(region, `DC ${n % 3}`, `sku.${n % 7}`),
      data: enc.encode(JSON.stringify({ n })),
      msgId: `${region}:p:${n}`,
      position: n,
    });
  }
};

describe("NATS topology: hub + leaf-linked regional JetStream domains", () => {
  let t: Topology;
  let hubNc: NatsConnection;
  const regionNc: Record<string, NatsConnection> = {};

  beforeAll(async () => {
    t = await startTopology({ regions: ["eu", "us"] });
    hubNc = await connectNats({ servers: t.hub.url, name: "test-hub" });
    for (const r of ["eu", "us"]) {
      regionNc[r] = await connectNats({ servers: t.regions[r]!.url, name: `test-${r}` });
      // Created through the hub connection: this only works if domain routing over the leaf link does.
      await ensureRegionStreams(await jetstreamManager(hubNc, { domain: r }), r);
    }
    await ensureHubMirrors(await jetstreamManager(hubNc, { domain: "hub" }), ["eu", "us"]);
  });

  afterAll(async () => {
    for (const nc of [hubNc, ...Object.values(regionNc)]) if (nc) await drainAndClose(nc, 1_000);
    await t?.stop();
  });

  it("addresses each region's JetStream from the hub by domain, and the streams live in the region", async () => {
    for (const r of ["eu", "us"]) {
      const viaHub = await jetstreamManager(hubNc, { domain: r });
      expect((await viaHub.getAccountInfo()).domain).toBe(r);
      // The region's own server (its default domain) holds the stream the hub created.
      const local = await jetstreamManager(regionNc[r]!);
      expect((await local.streams.info(evtStreamName(r))).config.subjects).toEqual([`inv.evt.${r}.>`]);
    }
    const hubJsm = await jetstreamManager(hubNc, { domain: "hub" });
    expect((await hubJsm.getAccountInfo()).domain).toBe("hub");
    expect((await hubJsm.streams.info(evtStreamName("eu"))).config.mirror?.external?.api).toBe("$JS.eu.API");
    expect(await leafConnections(t.hub.monitorUrl)).toBe(2);
  });

  it("ensures streams idempotently and applies config changes with an update", async () => {
    const jsm = await jetstreamManager(hubNc, { domain: "eu" });
    const again = await ensureRegionStreams(jsm, "eu");
    expect([again.cmd.outcome, again.evt.outcome, again.dlq.outcome]).toEqual([
      "unchanged",
      "unchanged",
      "unchanged",
    ]);
    const changed = await ensureRegionStreams(jsm, "eu", { duplicateWindowMs: 60_000 });
    expect(changed.evt.outcome).toBe("updated");
    expect(changed.evt.info.config.duplicate_window).toBe(60_000 * 1e6);
    await ensureRegionStreams(jsm, "eu"); // back to the default for the other tests
    await expect(ensureRegionStreams(jsm, "eu", { cmdRetention: "workqueue" })).rejects.toThrow(/retention/);

    const kv = await ensureAtpBucket(new Kvm(jetstream(hubNc, { domain: "eu" })), "eu");
    await kv.put("DC1.sku-1", "42");
    const local = await ensureAtpBucket(new Kvm(regionNc.eu!), "eu");
    expect((await local.get("DC1.sku-1"))?.string()).toBe("42");
    expect(atpBucketName("eu")).toBe("atp_eu");
  });

  it("deduplicates by Nats-Msg-Id on a region's event stream", async () => {
    const js = jetstream(regionNc.us!);
    const subject = evtSubject("us", "DC.1", "SKU *>");
    const first = await js.publish(subject, enc.encode("a"), { msgID: "us:dedupe:1" });
    const again = await js.publish(subject, enc.encode("a"), { msgID: "us:dedupe:1" });
    expect(first.duplicate).toBe(false);
    expect(again.duplicate).toBe(true);
    expect(again.seq).toBe(first.seq);
    const stored = await (await jetstreamManager(regionNc.us!)).streams.getMessage(evtStreamName("us"), {
      seq: first.seq,
    });
    expect(parseEvtSubject(stored!.subject)).toEqual({ region: "us", location: "DC.1", sku: "SKU *>" });
  });

  it("mirrors a region's events to the hub and catches up after a hub outage, without loss or duplicates", async () => {
    const stream = evtStreamName("eu");
    const pub = new PipelinedPublisher(jetstream(regionNc.eu!), { window: 256 });
    await publishRange(pub, "eu", 0, 500);
    await pub.flush();
    const regionLast = () => lastSeq(regionNc.eu!, "eu", stream);
    const mirrorLast = () => lastSeq(hubNc, "hub", stream);
    await waitFor("mirror to follow", async () => (await mirrorLast()) === (await regionLast()));

    await t.stopHub();
    await publishRange(pub, "eu", 500, 1500); // the region keeps taking events while the hub is away
    expect(await pub.flush()).toBe(1499);
    await t.startHub();
    await publishRange(pub, "eu", 1500, 2000);
    await pub.flush();

    const last = await regionLast();
    await waitFor("mirror to catch up", async () => (await mirrorLast()) === last);
    const origin = await readStream(jetstream(regionNc.eu!), stream, last);
    const mirror = await readStream(jetstream(hubNc, { domain: "hub" }), stream, last);
    expect(origin.filter(([, id]) => id.startsWith("eu:p:"))).toHaveLength(2000);
    expect(mirror).toEqual(origin);
  });

  it("stops mirroring while a leaf link is cut and catches up when it is restored", async () => {
    const stream = evtStreamName("us");
    const pub = new PipelinedPublisher(jetstream(regionNc.us!), { window: 256 });
    await publishRange(pub, "us", 0, 300);
    await pub.flush();
    await waitFor(
      "mirror to follow",
      async () => (await lastSeq(hubNc, "hub", stream)) === (await lastSeq(regionNc.us!, "us", stream)),
    );
    const before = await lastSeq(hubNc, "hub", stream);

    await t.cutLink("us");
    expect(t.linkState("us")).toBe("cut");
    expect(await leafConnections(t.regions.us!.monitorUrl)).toBe(0);
    await expect(jetstreamManager(hubNc, { domain: "us", timeout: 1_000 })).rejects.toThrow();
    await publishRange(pub, "us", 300, 800);
    await pub.flush();
    await new Promise((r) => setTimeout(r, 500));
    expect(await lastSeq(hubNc, "hub", stream)).toBe(before);

    await t.restoreLink("us");
    const last = await lastSeq(regionNc.us!, "us", stream);
    await waitFor("mirror to catch up", async () => (await lastSeq(hubNc, "hub", stream)) === last);
    expect(await readStream(jetstream(hubNc, { domain: "hub" }), stream, last)).toEqual(
      await readStream(jetstream(regionNc.us!), stream, last),
    );
  });

  it("breaks the publish pipeline when the region dies; resuming from ackedThrough stores every message once", async () => {
    const total = 3000;
    const region = "eu";
    const stream = evtStreamName(region);
    const seqBefore = await lastSeq(regionNc.eu!, region, stream);
    const js = jetstream(regionNc.eu!);
    let from = 0;
    let breaks = 0;
    let killed: Promise<void> | undefined;
    let restarted = false;
    // The relay's loop: publish from the checkpoint; when the pipeline breaks, resume after ackedThrough.
    for (let attempt = 1; ; attempt++) {
      const pub = new PipelinedPublisher(js, { window: 512, ackTimeoutMs: 1_500 });
      try {
        for (let n = from; n < total; n++) {
          if (n === 1000 && !killed) killed = t.stopRegion(region, { kill: true });
          await pub.publish({
            subject: evtSubject(region, "DC-9", `crash-${n % 5}`),
            data: enc.encode(String(n)),
            msgId: `eu:crash:${n}`,
            position: n,
          });
        }
        expect(await pub.flush()).toBe(total - 1);
        break;
      } catch (err) {
        if (!(err instanceof PublishPipelineBrokenError) || attempt > 8) throw err;
        breaks++;
        const acked = err.ackedThrough as number | undefined;
        if (acked !== undefined) from = acked + 1;
        if (killed && !restarted) {
          await killed;
          await t.startRegion(region);
          restarted = true;
        }
      }
    }
    expect(breaks).toBeGreaterThan(0);
    expect(restarted).toBe(true);

    const last = await lastSeq(regionNc.eu!, region, stream);
    const ids = (await readStream(js, stream, last)).filter(([seq]) => seq > seqBefore).map(([, id]) => id);
    expect(ids).toHaveLength(total);
    expect(new Set(ids)).toEqual(new Set(Array.from({ length: total }, (_, n) => `eu:crash:${n}`)));
  });

  it("measures the raw acked JetStream publish baseline", async () => {
    const r = await measureRawJetStreamPublish({
      nc: regionNc.us!,
      subject: evtSubject("us", "bench", "raw"),
      count: 2_000,
      payloadBytes: 512,
      window: 256,
    });
    expect(r.count).toBe(2_000);
    expect(r.perSecond).toBeGreaterThan(0);
  });
});
