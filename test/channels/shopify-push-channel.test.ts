/**
 * Issue 14: each shop is sent its own channel figure, not the raw ATP. Two shops (two channels) sell
 * from the same position, whose rules give them different figures; each shop's Shopify (the
 * simulator, speaking Shopify's GraphQL) ends with its channel's figure. The positions are in a real
 * SQLite event store, as the regional node stores them, and the figures come from their streams.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { ChannelRules } from "../../domain/channel-rules.ts";
import type { Command } from "../../domain/commands.ts";
import { type Position, positionStreamId } from "../../domain/ids.ts";
import { indexMasterData } from "../../domain/master-data.ts";
import { defaultEnv, initialPositionState, type PositionState } from "../../domain/position.decider.ts";
import { openSqliteEventStore, type SqliteEventStore } from "../../infra/event-store/sqlite-event-store.ts";
import { createLogger } from "../../infra/logging.ts";
import { channelFigureFromStores, ShopifyPush } from "../../services/channels/shopify-push.ts";
import {
  createShopifySimulator,
  DEFAULT_ACCESS_TOKEN,
  type ShopifySimulator,
} from "../../services/simulators/shopify-simulator.ts";
import { reserveAs, setRules } from "../domain/channel-spec.ts";
import { NOW, receive, step } from "../domain/position-spec.ts";

const NL = "shop-nl";
const BE = "shop-be";
const AMS: Position = { region: "eu", location: "DC-AMS", sku: "SKU-A" };
const PLAIN: Position = { region: "eu", location: "DC-AMS", sku: "SKU-B" };
const masterData = indexMasterData({
  locations: [
    { id: "DC-AMS", region: "eu", codes: { [NL]: { locationId: "111" }, [BE]: { locationId: "222" } } },
  ],
  products: {
    items: [
      { sku: "SKU-A", baseUom: "EA", codes: { [NL]: "1001", [BE]: "2001" } },
      { sku: "SKU-B", baseUom: "EA", codes: { [NL]: "1002", [BE]: "2002" } },
    ],
  },
});

// ATP 60: shop-be keeps 10 protected; shop-nl has a 25% buffer and at most 30 a day, of which it used 5.
const RULES: ChannelRules = {
  protections: [{ id: "P-BE", channel: BE, quantity: 10, period: "day" }],
  buffers: [
    { id: "B-NL", channel: NL, scope: { level: "sku", sku: "SKU-A" }, amount: { percent: 25 }, priority: 0 },
  ],
  quotas: [{ id: "Q-NL", channel: NL, quantity: 30, period: "day" }],
};

let dir: string;
let store: SqliteEventStore;
const sims: ShopifySimulator[] = [];
const pushes: ShopifyPush[] = [];

const submit = async (state: PositionState, command: Command): Promise<PositionState> => {
  const r = step(state, command, defaultEnv(NOW));
  if (r.outcome.kind !== "accepted") throw new Error(JSON.stringify(r.outcome));
  await store.appendToStream(
    positionStreamId(state.position),
    r.stored.map((e) => ({ eventId: e.eventId, type: e.type, data: e })),
    { expectedRevision: state.revision },
  );
  return r.state;
};

const shop = async (system: string, withFigures: boolean) => {
  const sim = createShopifySimulator();
  sims.push(sim);
  const base = await sim.listen();
  const push = new ShopifyPush({
    system,
    masterData,
    graphqlUrl: `${base}/admin/api/2024-07/graphql.json`,
    accessToken: DEFAULT_ACCESS_TOKEN,
    coalesceMs: 20,
    logger: createLogger("shopify-push-channel", { level: "silent" }),
    ...(withFigures ? { figureOf: channelFigureFromStores([{ region: "eu", store }], () => NOW) } : {}),
  });
  pushes.push(push);
  return { sim, push };
};

let ams: PositionState;
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "stockline-shopify-channel-"));
  store = openSqliteEventStore({ path: join(dir, "eu.db"), synchronous: "OFF" });
  ams = initialPositionState(AMS);
  for (const c of [
    receive(65, { position: AMS }),
    setRules(RULES, { position: AMS }),
    reserveAs(NL, "nl-1", 5, { position: AMS }),
  ])
    ams = await submit(ams, c);
  await submit(initialPositionState(PLAIN), receive(9, { position: PLAIN }));
});
afterEach(async () => {
  for (const p of pushes.splice(0)) await p.stop();
  for (const s of sims.splice(0)) await s.close();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("the channel push sends each shop its own figure", () => {
  it("given one position and two shops, each shop's level is its channel's figure, not ATP 60", async () => {
    const nl = await shop(NL, true);
    const be = await shop(BE, true);
    for (const s of [nl, be]) {
      s.push.positionChanged(AMS, 60);
      s.push.positionChanged(PLAIN, 9);
    }
    // shop-nl: 60 − 10 held for shop-be = 50, buffer 25% of 60 = 15 → 35, quota 30 − 5 used → 25.
    await expect.poll(() => nl.sim.level("1001", "111"), { timeout: 5000 }).toBe(25);
    // shop-be: its own protection does not limit it, no buffer or quota: ATP.
    await expect.poll(() => be.sim.level("2001", "222"), { timeout: 5000 }).toBe(60);
    // A position without rules: the figure is its ATP.
    await expect.poll(() => nl.sim.level("1002", "111"), { timeout: 5000 }).toBe(9);
    await expect.poll(() => be.sim.level("2002", "222"), { timeout: 5000 }).toBe(9);
  });

  it("when a channel reserves, the next change sends the figures of the new state", async () => {
    const nl = await shop(NL, true);
    nl.push.positionChanged(AMS, 60);
    await expect.poll(() => nl.sim.level("1001", "111"), { timeout: 5000 }).toBe(25);
    ams = await submit(ams, reserveAs(NL, "nl-2", 20, { position: AMS }));
    nl.push.positionChanged(AMS, 40);
    // 40 − 10 held = 30, buffer 25% of 40 = 10 → 20, quota 30 − 25 used → 5.
    await expect.poll(() => nl.sim.level("1001", "111"), { timeout: 5000 }).toBe(5);
  });

  it("without figureOf (a shop with no channel rules) the raw ATP is sent, as before", async () => {
    const raw = await shop(NL, false);
    raw.push.positionChanged(AMS, 60);
    await expect.poll(() => raw.sim.level("1001", "111"), { timeout: 5000 }).toBe(60);
  });
});
