/**
 * `verify` / `replay --verify` held against the published copy (`--against`): the relay's events in
 * `INV_EVT_<R>` on a real nats-server catch what the chain alone cannot, a stream rewritten with every
 * hash recomputed, and a truncated tail without a snapshot.
 */
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { Command } from "commander";
import Fastify from "fastify";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { CanonicalEvent } from "../../domain/canonical-event.ts";
import { positionStreamId } from "../../domain/ids.ts";
import { connectNats, drainAndClose } from "../../infra/nats/connection.ts";
import { ensureRegionStreams } from "../../infra/nats/streams.ts";
import { evtSubject } from "../../infra/nats/subjects.ts";
import { startTopology, type Topology } from "../../infra/nats/topology.ts";
import { registerPositionRoutes } from "../../services/audit/position-routes.ts";
import { jetStreamPublishedHeads } from "../../services/audit/published-heads.ts";
import { type AuditIo, registerAuditCommands } from "../../services/cli/audit-command.ts";
import {
  buildFixture,
  eventsOf,
  type Fixture,
  ORIGIN,
  OTHER,
  rewriteWithRecomputedHashes as rewriteStream,
  tamper,
} from "./audit-fixture.ts";

let topology: Topology;
let url: string;
let f: Fixture;

beforeAll(async () => {
  topology = await startTopology({ regions: ["eu-west"], cuttableLinks: false });
  url = topology.regions["eu-west"]!.url;
}, 60_000);
afterAll(async () => {
  await topology?.stop();
});

beforeEach(async () => {
  f = await buildFixture();
  // What the relay did: every stored event of the region published with its msg id.
  const nc = await connectNats({ servers: url, name: "test-publish" });
  try {
    const jsm = await jetstreamManager(nc);
    await jsm.streams.delete("INV_EVT_EU_WEST").catch(() => false);
    await ensureRegionStreams(jsm, "eu-west");
    const js = jetstream(nc);
    for (const p of [ORIGIN, OTHER])
      for (const e of eventsOf(f, p))
        await js.publish(evtSubject(p.region, p.location, p.sku), JSON.stringify(e), {
          msgID: `${p.region}:${positionStreamId(p)}:${e.revision}`,
        });
  } finally {
    await drainAndClose(nc);
  }
});
afterEach(async () => {
  await f.close();
});

const run = async (...args: string[]) => {
  const out: string[] = [];
  let code = 0;
  const io: AuditIo = { out: (s) => out.push(s), err: (s) => out.push(s), setExitCode: (c) => (code = c) };
  await registerAuditCommands(new Command().name("stockline").exitOverride(), io).parseAsync([
    "node",
    "stockline",
    ...args,
  ]);
  return { code, out: out.join("\n") };
};

/** What an attacker with the file does: change one event and re-chain the whole stream consistently. */
const rewriteWithRecomputedHashes = (index: number, delta: number): CanonicalEvent[] => {
  const original = eventsOf(f, ORIGIN);
  rewriteStream(f.paths.eu, positionStreamId(ORIGIN), original, index, delta);
  return original;
};

const verify = (...extra: string[]) => run("verify", "--region", "eu-west", "--store", f.paths.eu, ...extra);

describe("verify --against the published event stream", () => {
  it("passes when the store holds what was published", async () => {
    const r = await verify("--against", url);
    expect(r.code).toBe(0);
  });

  it("names a stream rewritten with every hash recomputed, which the chain alone cannot see", async () => {
    const original = rewriteWithRecomputedHashes(1, 50);
    expect((await verify()).code).toBe(0);
    const r = await verify("--against", url);
    expect(r.code).toBe(1);
    const last = original.length - 1;
    expect(r.out).toMatch(
      new RegExp(
        `revision ${last} \\[diverged\\] revision ${last} is not the event published to INV_EVT_EU_WEST#\\d+`,
      ),
    );
  });

  it("names a truncated tail that no snapshot remembers", async () => {
    const last = eventsOf(f, ORIGIN).length - 1;
    tamper(
      f.paths.eu,
      "DELETE FROM events WHERE stream_id = ? AND revision = ?",
      positionStreamId(ORIGIN),
      last,
    );
    expect((await verify()).code).toBe(0);
    const r = await run(
      "replay",
      ORIGIN.location,
      ORIGIN.sku,
      "--region",
      "eu-west",
      "--store",
      f.paths.eu,
      "--verify",
      "--against",
      url,
    );
    expect(r.code).toBe(1);
    expect(r.out).toContain(
      `revisions ${last}..${last} are missing at the end: they were published to INV_EVT_EU_WEST#`,
    );
  });

  it("refuses --against without a region, and an unreachable server, as usage errors", async () => {
    expect(
      (await run("verify", "--location", ORIGIN.location, "--store", f.paths.eu, "--against", url)).code,
    ).toBe(2);
    expect((await verify("--against", "nats://127.0.0.1:1")).code).toBe(2);
  });

  it("GET …/history?verify=true holds the head against the published events too", async () => {
    const original = rewriteWithRecomputedHashes(0, 1);
    const nc = await connectNats({ servers: url, name: "test-routes" });
    const app = Fastify();
    try {
      registerPositionRoutes(app, {
        stores: [
          {
            region: "eu-west",
            store: f.eu,
            published: jetStreamPublishedHeads(await jetstreamManager(nc), "eu-west"),
          },
        ],
      });
      const path = `/v1/positions/${encodeURIComponent(ORIGIN.location)}/${encodeURIComponent(ORIGIN.sku)}/history?verify=true`;
      const res = await app.inject(path);
      expect(res.statusCode).toBe(200);
      const body = res.json<{
        verification: { ok: boolean; issues: { kind: string; revision: number }[] };
      }>();
      expect(body.verification.ok).toBe(false);
      expect(body.verification.issues.map((i) => [i.kind, i.revision])).toEqual([
        ["diverged", original.length - 1],
      ]);
    } finally {
      await app.close();
      await drainAndClose(nc);
    }
  });
});
