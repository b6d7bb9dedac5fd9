/**
 * What the dashboards stand on, without a browser: `GET /v1/whoami`, and the live topics
 * (`GET /v1/live/<topic>`, server-sent events) of a real API over a real regional node — a receipt
 * shows up as an `atp` update naming its SKU, read with the same frame parser as the page
 * (ui/src/live.ts); the key goes in the header only; a topic that does not exist is a 404 naming
 * those that do. And a sampled topic pushes only answers that changed, and stops sampling when the
 * last reader goes.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LIVE_STREAMS_PER_KEY, sampledTopic } from "../../services/api/live-routes.ts";
import { parseSseFrames } from "../../ui/src/live.ts";
import { type ApiSystem, KEYS, receive, startApiSystem } from "../api/api-fixture.ts";

let sys: ApiSystem;
let region: string;

beforeAll(async () => {
  sys = await startApiSystem({ regions: 1 });
  region = sys.regions[0]!;
}, 120_000);
afterAll(async () => {
  await sys?.stop();
}, 60_000);

/** Reads SSE frames from `res` until `until` holds for one (or the deadline passes). */
const readFrames = async (
  res: Response,
  until: (e: { event: string; data: string }) => boolean,
  timeoutMs = 20_000,
) => {
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  const seen: { event: string; data: string }[] = [];
  let buffer = "";
  const deadline = Date.now() + timeoutMs;
  try {
    while (Date.now() < deadline) {
      const next = await Promise.race([
        reader.read(),
        new Promise<"timeout">((r) => setTimeout(() => r("timeout"), Math.max(1, deadline - Date.now()))),
      ]);
      if (next === "timeout" || next.done) break;
      buffer += next.value;
      const parsed = parseSseFrames(buffer);
      buffer = parsed.rest;
      seen.push(...parsed.events);
      if (parsed.events.some(until)) break;
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  return seen;
};

describe("GET /v1/whoami", () => {
  it("names the key's principal and roles; no key is a 401", async () => {
    const ops = await sys.http("GET", "/v1/whoami", { key: KEYS.operations });
    expect(ops.status).toBe(200);
    expect(ops.body.roles).toEqual(["operations"]);
    expect(typeof ops.body.name).toBe("string");
    const shop = await sys.http("GET", "/v1/whoami", { key: KEYS.shopNl });
    expect(shop.body.channel).toBe("SHOP_NL");
    expect((await sys.http("GET", "/v1/whoami", { key: null })).status).toBe(401);
  });
});

describe("GET /v1/live/<topic>", () => {
  it("atp: a hello, then the SKUs whose availability changed", async () => {
    const sku = `LIVE-${Date.now()}`;
    const res = await fetch(`${sys.api.url}/v1/live/atp`, { headers: { "x-api-key": KEYS.commerce } });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/event-stream");
    const frames = readFrames(res, (e) => e.event === "update" && e.data.includes(sku));
    // Sent once the stream is open: the update is this receipt's, not an earlier state.
    const outcome = await sys.command(region, receive(region, "DC-1", sku, 7));
    expect(outcome.outcome).toBe("accepted");
    const seen = await frames;
    expect(seen[0]).toMatchObject({ event: "hello" });
    expect(JSON.parse(seen[0]!.data)).toMatchObject({ topic: "atp" });
    const update = seen.find((e) => e.event === "update" && e.data.includes(sku));
    expect(update, JSON.stringify(seen)).toBeDefined();
    expect(JSON.parse(update!.data).skus).toContain(sku);
  });

  it("needs the key in a header (not in the URL); an unknown topic is a 404 naming the topics", async () => {
    expect((await fetch(`${sys.api.url}/v1/live/atp?key=${KEYS.commerce}`)).status).toBe(401);
    const unknown = await sys.http("GET", "/v1/live/everything", { key: KEYS.operations });
    expect(unknown.status).toBe(404);
    expect(unknown.body.message).toContain("atp");
  });
});

describe("live streams per key", () => {
  it(`at most ${LIVE_STREAMS_PER_KEY} open at once: one more is a 429 until one closes`, async () => {
    const aborts: AbortController[] = [];
    const open = async () => {
      const a = new AbortController();
      const res = await fetch(`${sys.api.url}/v1/live/atp`, {
        headers: { "x-api-key": KEYS.warehouse },
        signal: a.signal,
      });
      if (res.status === 200) aborts.push(a);
      return res;
    };
    try {
      for (let i = 0; i < LIVE_STREAMS_PER_KEY; i++) expect((await open()).status).toBe(200);
      const refused = await open();
      expect(refused.status).toBe(429);
      expect(((await refused.json()) as { message: string }).message).toContain("live streams");
      // Another key is not held up by this one.
      const other = new AbortController();
      const res = await fetch(`${sys.api.url}/v1/live/atp`, {
        headers: { "x-api-key": KEYS.finance },
        signal: other.signal,
      });
      expect(res.status).toBe(200);
      other.abort();
      aborts.shift()!.abort();
      await expect.poll(async () => (await open()).status, { timeout: 10_000 }).toBe(200);
    } finally {
      for (const a of aborts) a.abort();
    }
  });
});

describe("a sampled topic", () => {
  it("is sampled once for all its readers; a reader that joins gets the last answer at once", async () => {
    let reads = 0;
    const topic = sampledTopic({
      roles: ["operations"],
      description: "test",
      everyMs: 20,
      read: async () => ({ n: ++reads }),
    });
    const first: unknown[] = [];
    const second: unknown[] = [];
    const stopFirst = topic.subscribe((v) => first.push(v));
    await expect.poll(() => first.length).toBeGreaterThanOrEqual(2);
    const stopSecond = topic.subscribe((v) => second.push(v));
    expect(second).toEqual([first[first.length - 1]]);
    await expect.poll(() => second.length).toBeGreaterThanOrEqual(3);
    stopFirst();
    stopSecond();
    // Each answer was read once and told to both: reads count the samples, not the readers.
    expect(reads).toBeLessThanOrEqual(first.length + 2);
  });

  it("pushes an answer only when it changed, and stops sampling when unsubscribed", async () => {
    let reads = 0;
    const topic = sampledTopic({
      roles: ["operations"],
      description: "test",
      everyMs: 10,
      read: async () => Math.floor(reads++ / 3),
    });
    const pushed: unknown[] = [];
    const stop = topic.subscribe((v) => pushed.push(v));
    await expect.poll(() => pushed.length, { timeout: 5_000 }).toBeGreaterThanOrEqual(3);
    stop();
    const readsAtStop = reads;
    await new Promise((r) => setTimeout(r, 100));
    expect(reads - readsAtStop).toBeLessThanOrEqual(1); // at most the read in flight
    // Every push differs from the one before: unchanged answers were not sent.
    for (let i = 1; i < pushed.length; i++) expect(pushed[i]).not.toEqual(pushed[i - 1]);
    expect(pushed.slice(0, 3)).toEqual([0, 1, 2]);
  });
});
