/**
 * Issue 13 / issue 15: two node processes of one region on one PostgreSQL store, each deciding its
 * share of the locations under a lease; one is killed with SIGKILL in the middle of a flood (the one
 * running the relay, so the singleton moves too). The survivor takes its partitions and the relay
 * within seconds, loads their positions from the store and goes on; at the end every command is in
 * the store exactly once, balances are as sent, revisions contiguous, INV_EVT_<R> has every event
 * once, and there are no dead letters.
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

describe("two nodes on one PostgreSQL store, one killed with SIGKILL mid-flood", () => {
  it("the survivor takes the dead node's partitions and the relay; every command exactly once", async () => {
    const { region, schema, tmp, nc, jsm, nodes } = await openScaleOutRun({
      label: "failover",
      regionPrefix: "fo",
      servers,
      cleanups,
    });
    const configFile = writeNodeConfig({ dir: tmp.dir, region, servers, url: TEST_POSTGRES_URL, schema });
    nodes.push(await startNodeProcess(region, configFile, "n1", "info"));
    nodes.push(await startNodeProcess(region, configFile, "n2", "info"));
    await waitFor(
      "the partitions shared by both nodes",
      async () => {
        const owners = await leaseOwners(nc, region).catch(() => new Map<string, string>());
        const of = (id: string) => LOCATIONS.filter((l) => owners.get(l) === id).length;
        return of("n1") === 2 && of("n2") === 2 && owners.has("relay");
      },
      30_000,
    );

    const n = 3_000;
    const { commands, keys, expected } = flood(region, n, 25, "fo");
    await publishAll(jetstream(nc), commands);
    await waitFor(
      "some progress",
      async () => (await streamCount(jsm, evtStreamName(region))) >= 600,
      30_000,
    );

    const owners = await leaseOwners(nc, region);
    const victimId = owners.get("relay")!;
    const victim = nodes.find((x) => x.id === victimId)!;
    const survivorId = victimId === "n1" ? "n2" : "n1";
    victim.child.kill("SIGKILL");
    const killedAt = Date.now();
    await victim.exited;
    expect(await streamCount(jsm, evtStreamName(region))).toBeLessThan(n); // it really died mid-flood

    await waitFor(
      "the survivor holding every partition and the relay",
      async () => {
        const now = await leaseOwners(nc, region);
        return [...LOCATIONS, "relay"].every((name) => now.get(name) === survivorId);
      },
      60_000,
    ).catch((err: unknown) => {
      const survivor = nodes.find((x) => x.id === survivorId)!;
      console.error(survivor.logLines('"lease').slice(-15).join("\n"));
      throw err;
    });
    const takeoverMs = Date.now() - killedAt;
    const survivorNode = nodes.find((x) => x.id === survivorId)!;
    console.log(
      `survivor: ${survivorNode.logLines('"lease lost').length} leases lost, ${survivorNode.logLines('"lease acquired"').length} acquired`,
    );
    console.log(
      `takeover of 2 partitions and the relay after SIGKILL: ${takeoverMs} ms (lease TTL 10000 ms)`,
    );

    await waitForAllApplied({ schema, jsm, region, n, timeoutMs: 90_000 });
    const survivor = nodes.find((x) => x.id === survivorId)!;
    survivor.child.kill("SIGTERM");
    expect(await survivor.exited).toBe(0);

    await expectExactlyOnce({ schema, nc, jsm, region, keys, expected });
  }, 240_000);
});
