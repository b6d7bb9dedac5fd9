/**
 * Issue 13: partitions moved while commands flow. Two node processes share four locations; in the
 * middle of a flood a third node joins (the richest node hands one location over: stop pulling,
 * settle what is in hand, release; the newcomer takes it and loads its positions from the store),
 * then one of the first two stops gracefully (its locations and, if it has it, the relay go to the
 * others at once, without waiting for a TTL). Every command exactly once, revisions contiguous with an
 * unbroken hash chain, and no revision conflict on any node: no two nodes appended to one position at
 * the same time.
 */
import { jetstream } from "@nats-io/jetstream";
import { afterAll, describe, expect, it } from "vitest";
import { evtStreamName } from "../../infra/nats/subjects.ts";
import { TEST_POSTGRES_URL } from "../infra/event-store/postgres-fixture.ts";
import { publishAll, streamCount, waitFor } from "../regional-node/node-fixtures.ts";
import {
  expectExactlyOnce,
  flood,
  LOCATIONS,
  leaseOwners,
  openScaleOutRun,
  startNodeProcess,
  waitForAllApplied,
  writeNodeConfig,
} from "./multi-node-fixture.ts";

const servers = [process.env.NATS_URL ?? "nats://127.0.0.1:4222"];
const cleanups: Array<() => Promise<void> | void> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

const CONFLICT = "revision conflict";

describe("partitions moved between node processes while commands flow", () => {
  it("a node joining and a node leaving move locations without losing or doubling a command", async () => {
    const { region, schema, tmp, nc, jsm, nodes } = await openScaleOutRun({
      label: "moved",
      regionPrefix: "mv",
      servers,
      cleanups,
    });
    // Moves here are hand-overs, not expiries: a long TTL keeps a starved event loop from losing a lease.
    const configFile = writeNodeConfig({
      dir: tmp.dir,
      region,
      servers,
      url: TEST_POSTGRES_URL,
      schema,
      lease: { ttlMs: 30_000, renewEveryMs: 2_000 },
    });
    const start = async (id: string) => {
      const node = await startNodeProcess(region, configFile, id, "info");
      nodes.push(node);
      return node;
    };
    const countOf = async (id: string) => {
      const owners = await leaseOwners(nc, region).catch(() => new Map<string, string>());
      return LOCATIONS.filter((l) => owners.get(l) === id).length;
    };
    await start("n1");
    const n2 = await start("n2");
    await waitFor(
      "two locations each",
      async () => (await countOf("n1")) === 2 && (await countOf("n2")) === 2,
      60_000,
    );

    const n = 3_000;
    const { commands, keys, expected } = flood(region, n, 25, "mv");
    // Paced (30 commands every 500 ms) while the locations move, the rest at once afterwards.
    let published = 0;
    let movesDone = false;
    const publishing = (async () => {
      for (let i = 0; i < commands.length; i += 30) {
        await publishAll(jetstream(nc), commands.slice(i, i + 30));
        published = Math.min(commands.length, i + 30);
        if (!movesDone) await new Promise((r) => setTimeout(r, 500));
      }
    })();
    await waitFor(
      "some progress",
      async () => (await streamCount(jsm, evtStreamName(region))) >= 100,
      60_000,
    );

    await start("n3");
    await waitFor("the newcomer holding a location", async () => (await countOf("n3")) >= 1, 60_000);
    expect(published).toBeLessThan(n); // it moved while commands flowed

    n2.child.kill("SIGTERM");
    expect(await n2.exited).toBe(0);
    await waitFor(
      "n1 and n3 holding every location",
      async () => {
        const owners = await leaseOwners(nc, region);
        return (
          LOCATIONS.every((l) => owners.get(l) === "n1" || owners.get(l) === "n3") && owners.has("relay")
        );
      },
      60_000,
    );
    expect(published).toBeLessThan(n); // these moved while commands flowed too
    movesDone = true;
    await publishing;
    await waitForAllApplied({ schema, jsm, region, n, timeoutMs: 90_000 });
    for (const node of nodes.filter((x) => x !== n2)) node.child.kill("SIGTERM");
    for (const node of nodes.filter((x) => x !== n2)) expect(await node.exited).toBe(0);

    const moves = nodes.flatMap((x) => x.logLines('"lease released"')).length;
    expect(moves).toBeGreaterThanOrEqual(3); // n1 handed one over, n2 gave back its two (and the rest at the end)
    expect(nodes.flatMap((x) => x.logLines('"lease lost'))).toEqual([]);
    expect(nodes.flatMap((x) => x.logLines(CONFLICT))).toEqual([]);
    await expectExactlyOnce({ schema, nc, jsm, region, keys, expected });
  }, 240_000);
});
