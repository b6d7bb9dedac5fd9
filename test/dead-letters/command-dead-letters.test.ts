/**
 * Command dead letters an operator can act on: bad commands dead-lettered by a real in-process
 * regional node (real nats-server on 127.0.0.1:4222, a region of its own), read back with filters and
 * paging, retried with a corrected payload (applied once, checked in the event store), retried again
 * (nothing more applied), listed as resolved; and the same over HTTP with keys and roles.
 */
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { positionStreamId } from "../../domain/ids.ts";
import { createHttpServer } from "../../infra/http/http-server.ts";
import { createLogger } from "../../infra/logging.ts";
import { connectNats, drainAndClose } from "../../infra/nats/connection.ts";
import { cmdSubject, dlqStreamName, reqSubject } from "../../infra/nats/subjects.ts";
import { installAccessControl } from "../../services/api/access-control.ts";
import { resolveApiConfig } from "../../services/api/api-config.ts";
import {
  CommandDeadLetterDesk,
  dlqStateBucketName,
} from "../../services/dead-letters/command-dead-letters.ts";
import { registerExceptionRoutes } from "../../services/dead-letters/exception-routes.ts";
import { type RegionalNode, startRegionalNode } from "../../services/regional-node/regional-node.ts";
import {
  deleteRegionStreams,
  nodeConfig,
  receipt,
  streamCount,
  tempDir,
  uniqueRegion,
  waitFor,
} from "../regional-node/node-fixtures.ts";

const NATS = "127.0.0.1:4222";
const region = uniqueRegion("dl");
const tmp = tempDir("dead-letters");
const log = createLogger("dead-letters-test");
let node: RegionalNode;
let nc: NatsConnection;
let desk: CommandDeadLetterDesk;
let app: FastifyInstance;

const KEYS = {
  operations: "k-ops-0123456789abcdefghijklmnopqrstu",
  commerce: "k-shop-0123456789abcdefghijklmnopqrstu",
};

/** What was published, in publication order; sequences are read back from the stream. */
const bad = {
  malformed: { sku: "SKU-M", text: "{ not json" },
  // quantity missing: invalidCommand, with the business context still readable
  invalid: {
    sku: "SKU-I",
    command: { ...receipt({ region, sku: "SKU-I", key: "inv-1" }), quantity: undefined },
  },
  // an ERP reporting a receipt the WMS owns: rejected by the ownership rule
  notOwner: {
    sku: "SKU-O",
    command: receipt({ region, sku: "SKU-O", key: "own-1", qty: 7, system: "erp-x" }),
  },
  notOwner2: {
    sku: "SKU-P",
    command: receipt({ region, sku: "SKU-P", key: "own-2", qty: 3, system: "erp-x" }),
  },
};

const seqOf = { malformed: 1, invalid: 2, notOwner: 3, notOwner2: 4 };

beforeAll(async () => {
  node = await startRegionalNode(
    nodeConfig(region, tmp.dir, [NATS], {
      ownership: {
        rules: [{ name: "WMS owns receipts", movements: ["receipt"], owners: ["wms-1"] }],
        otherwise: "allow",
      },
    }),
    { logger: log },
  );
  nc = await connectNats({ servers: NATS, name: "dead-letters-test" });
  const js = jetstream(nc);
  const jsm = await jetstreamManager(nc);
  // One at a time, so the dead letters keep publication order.
  await js.publish(cmdSubject(region, "DC1", bad.malformed.sku), bad.malformed.text);
  await waitFor("1 dead letter", async () => (await streamCount(jsm, dlqStreamName(region))) === 1);
  for (const [i, c] of [bad.invalid, bad.notOwner, bad.notOwner2].entries()) {
    await js.publish(cmdSubject(region, "DC1", c.sku), JSON.stringify(c.command));
    await waitFor(
      `${i + 2} dead letters`,
      async () => (await streamCount(jsm, dlqStreamName(region))) === i + 2,
    );
  }
  desk = new CommandDeadLetterDesk({ nc, region, logger: log });

  app = await createHttpServer({ title: "exceptions test", logger: log });
  await installAccessControl(
    app,
    resolveApiConfig({
      regions: [region],
      apiKeys: [
        { name: "ops", key: KEYS.operations, roles: ["operations"] },
        { name: "shop", key: KEYS.commerce, roles: ["commerce"] },
      ],
    }),
  );
  registerExceptionRoutes(app, {
    desks: new Map([[region, desk]]),
    postingDeadLetters: () => [{ id: 1, target: "sap", status: "dead" }],
    openFindings: () => [{ id: "f-1", class: "unexplained" }],
  });
  await app.ready();
}, 30_000);

afterAll(async () => {
  await app?.close();
  await node?.stop();
  if (nc) {
    const jsm = await jetstreamManager(nc);
    await deleteRegionStreams(jsm, region);
    await new Kvm(jetstream(nc)).open(dlqStateBucketName(region)).then(
      (kv) => kv.destroy(),
      () => undefined,
    );
    await drainAndClose(nc);
  }
  tmp.remove();
});

const eventsAt = async (sku: string) =>
  node.store.readStream(positionStreamId({ location: "DC1", sku }), { from: 0 });

describe("reading INV_DLQ_<R>", () => {
  it("decodes every dead letter with its sequence, reason and business context", async () => {
    const page = await desk.list();
    expect(page.items.map((d) => [d.seq, d.reason, d.status])).toEqual([
      [seqOf.malformed, "malformedJson", "open"],
      [seqOf.invalid, "invalidCommand", "open"],
      [seqOf.notOwner, "rejected", "open"],
      [seqOf.notOwner2, "rejected", "open"],
    ]);
    expect(page.nextAfter).toBeUndefined();
    const owner = page.items[2]!;
    expect(owner.deadLetter).toMatchObject({
      code: "notOwner",
      context: { sku: "SKU-O", location: "DC1", sourceSystem: "erp-x", document: { id: "ASN-own-1" } },
    });
    expect(JSON.parse(owner.deadLetter!.payload)).toEqual(bad.notOwner.command);
    expect(page.items[0]!.deadLetter!.payload).toBe(bad.malformed.text);
  });

  it("filters by reason, SKU, location, source system and time, and pages by sequence", async () => {
    const seqs = async (f: Parameters<CommandDeadLetterDesk["list"]>[0]) =>
      (await desk.list(f)).items.map((d) => d.seq);
    expect(await seqs({ reason: "rejected" })).toEqual([seqOf.notOwner, seqOf.notOwner2]);
    expect(await seqs({ reason: "hostilePayload" })).toEqual([]);
    expect(await seqs({ sku: "SKU-I" })).toEqual([seqOf.invalid]);
    expect(await seqs({ sourceSystem: "erp-x" })).toEqual([seqOf.notOwner, seqOf.notOwner2]);
    expect(await seqs({ location: "DC2" })).toEqual([]);
    expect(await seqs({ since: new Date(Date.now() + 60_000).toISOString() })).toEqual([]);
    expect(await seqs({ since: new Date(Date.now() - 600_000).toISOString() })).toHaveLength(4);

    const first = await desk.list({ limit: 3 });
    expect(first.items.map((d) => d.seq)).toEqual([1, 2, 3]);
    expect(first.nextAfter).toBe(3);
    const second = await desk.list({ limit: 3, after: first.nextAfter });
    expect(second.items.map((d) => d.seq)).toEqual([4]);
    expect(second.nextAfter).toBeUndefined();
    expect(await desk.get(99)).toBeUndefined();
  });
});

describe("retrying", () => {
  it("refuses payloads that do not decode, naming the field, and sends nothing", async () => {
    const original = await desk.retry(seqOf.malformed, { by: "test" });
    expect(original).toMatchObject({ ok: false, status: 400, error: "original_invalid" });
    const broken = { ...bad.notOwner.command, source: { ...bad.notOwner.command.source, system: "wms-1" } };
    const wrong = await desk.retry(seqOf.notOwner, {
      by: "test",
      payload: { ...broken, quantity: { value: "seven", uom: "EA" } },
    });
    expect(wrong.ok).toBe(false);
    if (!wrong.ok) expect(wrong.errors?.some((e) => e.path.startsWith("quantity"))).toBe(true);
    const otherRegion = await desk.retry(seqOf.notOwner, {
      by: "test",
      payload: { ...broken, position: { ...broken.position, region: "elsewhere" } },
    });
    expect(otherRegion).toMatchObject({ ok: false, status: 400 });
    expect(await eventsAt("SKU-O")).toHaveLength(0);
    expect((await desk.get(seqOf.notOwner))?.status).toBe("open");
  });

  it("records a retry the node refuses again, and leaves the dead letter open", async () => {
    // The same command refused again (here sent once more by request) is the dead letter already
    // there: its id is derived from the command, not from the delivery.
    const repeat = await nc.request(reqSubject(region), JSON.stringify(bad.notOwner2.command), {
      timeout: 10_000,
    });
    expect(repeat.json()).toMatchObject({ outcome: "rejected", reason: { code: "notOwner" } });
    expect(await desk.get(5)).toBeUndefined();
    // A changed payload the node still refuses is a dead letter of its own.
    const stillRefused = { ...bad.notOwner2.command, quantity: { value: 4, uom: "EA" } };
    const r = await desk.retry(seqOf.notOwner2, { by: "alice", payload: stillRefused });
    expect(r).toMatchObject({ ok: true, repeated: false, attempt: { attempt: 1, outcome: "rejected" } });
    if (r.ok) expect(r.attempt.reason?.code).toBe("notOwner");
    const after = await desk.get(seqOf.notOwner2);
    expect(after?.status).toBe("open");
    expect(after?.state?.attempts).toHaveLength(1);
    // The node dead-lettered the refusal; that echo is marked, not left open beside the original.
    const echo = await desk.get(5);
    expect(echo?.deadLetter).toMatchObject({ code: "notOwner", intake: { via: "request" } });
    expect(echo?.status).toBe("resolved");
    expect(echo?.state?.resolution).toBe(`echo of the retry of ${region}/${seqOf.notOwner2}`);
  });

  it("applies a corrected payload once; a second retry sends nothing and answers the first outcome", async () => {
    const corrected = {
      ...bad.notOwner.command,
      source: { ...bad.notOwner.command.source, system: "wms-1" },
    };
    const first = await desk.retry(seqOf.notOwner, { by: "alice", payload: corrected });
    expect(first).toMatchObject({
      ok: true,
      repeated: false,
      attempt: { outcome: "accepted", corrected: true },
    });
    const stored = await eventsAt("SKU-O");
    expect(stored).toHaveLength(1);
    expect(stored[0]?.data).toMatchObject({ type: "GoodsReceived", quantity: 7 });
    if (first.ok) expect(first.attempt.eventIds).toEqual([stored[0]?.eventId]);

    const again = await desk.retry(seqOf.notOwner, { by: "bob", payload: corrected });
    expect(again).toMatchObject({ ok: true, repeated: true, attempt: { outcome: "accepted", by: "alice" } });
    expect(await eventsAt("SKU-O")).toHaveLength(1);

    const shown = await desk.get(seqOf.notOwner);
    expect(shown?.status).toBe("resolved");
    expect(shown?.state).toMatchObject({
      resolvedBy: "alice",
      attempts: [{ attempt: 1, outcome: "accepted" }],
    });
    expect((await desk.list({ status: "open" })).items.map((d) => d.seq)).not.toContain(seqOf.notOwner);
    expect((await desk.list({ status: "resolved" })).items.map((d) => d.seq)).toEqual([seqOf.notOwner, 5]);
    // The dead letter itself stays in the stream (audit).
    expect((await desk.list()).items.map((d) => d.seq)).toEqual([1, 2, 3, 4, 5]);
  });

  it("republishes to INV_CMD_<R> when asked (via stream): shown as retried, applied by the node", async () => {
    const corrected = { ...receipt({ region, sku: "SKU-I", key: "inv-1", qty: 2 }) };
    const r = await desk.retry(seqOf.invalid, { by: "carol", payload: corrected, via: "stream" });
    expect(r).toMatchObject({
      ok: true,
      attempt: { outcome: "submitted", msgId: `${region}:dlq-retry:${seqOf.invalid}:1` },
    });
    expect((await desk.get(seqOf.invalid))?.status).toBe("retried");
    await waitFor("the republished command applied", async () => (await eventsAt("SKU-I")).length === 1);
    // Confirming it over request/reply answers `duplicate` (its idempotency key) and resolves it.
    const confirm = await desk.retry(seqOf.invalid, { by: "carol", payload: corrected });
    expect(confirm).toMatchObject({ ok: true, attempt: { attempt: 2, outcome: "duplicate" } });
    expect((await desk.get(seqOf.invalid))?.status).toBe("resolved");
    expect(await eventsAt("SKU-I")).toHaveLength(1);
  });

  it("counts depth as stream messages minus resolved", async () => {
    expect(await desk.depth()).toEqual({ messages: 5, resolved: 3, open: 2 });
  });
});

describe("HTTP routes", () => {
  const get = (url: string, key: string = KEYS.operations) =>
    app.inject({ method: "GET", url, headers: { "x-api-key": key } });
  const post = (url: string, body: unknown, key: string = KEYS.operations) =>
    app.inject({ method: "POST", url, payload: body as object, headers: { "x-api-key": key } });

  it("needs the operations role", async () => {
    expect((await app.inject({ method: "GET", url: "/v1/exceptions" })).statusCode).toBe(401);
    expect((await get("/v1/exceptions", KEYS.commerce)).statusCode).toBe(403);
    expect((await get("/v1/exceptions")).statusCode).toBe(200);
  });

  it("GET /v1/exceptions lists open command dead letters, posting dead letters and findings", async () => {
    const res = await get("/v1/exceptions");
    const body = res.json();
    const open = (await desk.list({ status: "open" })).items.map((d) => d.seq);
    expect(body.commandDeadLetters.map((d: { seq: number }) => d.seq)).toEqual(open);
    expect(body.commandDeadLetters[0]).toMatchObject({ region, reason: "malformedJson", status: "open" });
    expect(body.summary.commandDeadLetters[region]).toEqual(await desk.depth());
    expect(body.postingDeadLetters).toEqual([{ id: 1, target: "sap", status: "dead" }]);
    expect(body.findings).toEqual([{ id: "f-1", class: "unexplained" }]);
  });

  it("lists with filters, shows one, answers 400 and 404 clearly", async () => {
    const list = await get(`/v1/exceptions/dead-letters?region=${region}&reason=rejected`);
    expect(list.statusCode).toBe(200);
    expect(list.json().deadLetters.map((d: { seq: number }) => d.seq)).toEqual([
      seqOf.notOwner,
      seqOf.notOwner2,
      5,
    ]);
    expect(list.json().deadLetters[0]).toMatchObject({
      sku: "SKU-O",
      sourceSystem: "erp-x",
      status: "resolved",
    });

    const paged = await get(`/v1/exceptions/dead-letters?region=${region}&limit=1&after=1`);
    expect(paged.json()).toMatchObject({ deadLetters: [{ seq: 2 }], next: { [region]: 2 } });

    const badLimit = await get("/v1/exceptions/dead-letters?limit=many");
    expect(badLimit.statusCode).toBe(400);
    expect(badLimit.json().errors[0]).toMatchObject({ path: "limit", value: "many" });
    expect((await get("/v1/exceptions/dead-letters?status=closed")).statusCode).toBe(400);
    expect((await get("/v1/exceptions/dead-letters?after=1")).statusCode).toBe(400);
    expect((await get("/v1/exceptions/dead-letters?region=mars")).statusCode).toBe(404);

    const shown = await get(`/v1/exceptions/dead-letters/${region}/${seqOf.notOwner2}`);
    expect(shown.statusCode).toBe(200);
    expect(shown.json()).toMatchObject({ seq: seqOf.notOwner2, deadLetter: { code: "notOwner" } });
    expect((await get(`/v1/exceptions/dead-letters/${region}/999`)).statusCode).toBe(404);
    expect((await get(`/v1/exceptions/dead-letters/${region}/abc`)).statusCode).toBe(400);
  });

  it("POST retry: 400 on a bad payload, 200 when applied, repeated without re-sending", async () => {
    const url = `/v1/exceptions/dead-letters/${region}/${seqOf.notOwner2}/retry`;
    const invalid = await post(url, { payload: { kind: "receiveGoods" } });
    expect(invalid.statusCode).toBe(400);
    expect(invalid.json().errors.length).toBeGreaterThan(0);
    expect((await post(url, { via: "carrier-pigeon" })).statusCode).toBe(400);
    expect((await post(url, {}, KEYS.commerce)).statusCode).toBe(403);

    const corrected = {
      ...bad.notOwner2.command,
      source: { ...bad.notOwner2.command.source, system: "wms-1" },
    };
    const ok = await post(url, { payload: corrected, by: "dave" });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toMatchObject({
      repeated: false,
      status: "resolved",
      attempt: { attempt: 2, outcome: "accepted", by: "dave (key ops)" },
    });
    const repeat = await post(url, {});
    expect(repeat.statusCode).toBe(200);
    expect(repeat.json()).toMatchObject({ repeated: true, attempt: { attempt: 2 } });
    expect(await eventsAt("SKU-P")).toHaveLength(1);
    expect((await post(`/v1/exceptions/dead-letters/${region}/999/retry`, {})).statusCode).toBe(404);
  });

  it("POST resolve marks without retrying", async () => {
    const res = await post(`/v1/exceptions/dead-letters/${region}/${seqOf.malformed}/resolve`, {
      note: "connector fixed",
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      status: "resolved",
      state: { note: "connector fixed", resolvedBy: "ops" },
    });
    expect(await desk.depth()).toEqual({ messages: 5, resolved: 5, open: 0 });
    expect((await get("/v1/exceptions")).json().commandDeadLetters).toEqual([]);
  });
});
