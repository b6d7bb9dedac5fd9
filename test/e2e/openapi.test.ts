/**
 * The served OpenAPI documents, fetched over HTTP from started servers: the local system's API (every
 * `/v1` route of the deployable: availability, reservations, positions, trace, postings,
 * reconciliation, exceptions) and a regional node's command intake. Every `/v1` operation declares
 * the API key (x-api-key or bearer) and the shared errors; no response is a bare "Default Response";
 * no example reads "string"; bodies and successes have examples.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { jetstreamManager } from "@nats-io/jetstream";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectNats } from "../../infra/nats/connection.ts";
import { type LocalSystem, startLocalSystem } from "../../services/local-system/local-system.ts";
import { type RegionalNode, startRegionalNode } from "../../services/regional-node/regional-node.ts";
import {
  cleanUpNodeTest,
  NODE_HTTP_KEYS,
  nodeConfig,
  tempDir,
  uniqueRegion,
} from "../regional-node/node-fixtures.ts";

// biome-ignore lint/suspicious/noExplicitAny: the document is walked field by field
type Doc = any;
const METHODS = ["get", "post", "put", "patch", "delete"];

let sys: LocalSystem;
let dir: string;
let node: RegionalNode;
const region = uniqueRegion("oa");
const tmp = tempDir("openapi");
const docs: Record<string, Doc> = {};

const fetchDoc = async (base: string): Promise<Doc> => {
  const res = await fetch(`${base}/openapi.json`);
  expect(res.status).toBe(200);
  return res.json();
};

const operations = (doc: Doc) =>
  Object.entries(doc.paths as Record<string, Record<string, Doc>>).flatMap(([p, item]) =>
    METHODS.filter((m) => item[m]).map((m) => ({
      name: `${m.toUpperCase()} ${p}`,
      path: p,
      method: m,
      op: item[m],
    })),
  );

/** Every value of `example` and of `examples` anywhere in the document, with where it is. */
const examplesIn = (v: unknown, at = ""): Array<{ at: string; value: unknown }> => {
  if (Array.isArray(v)) return v.flatMap((x, i) => examplesIn(x, `${at}[${i}]`));
  if (v === null || typeof v !== "object") return [];
  return Object.entries(v).flatMap(([k, x]) => {
    const here = `${at}.${k}`;
    if (k === "example") return [{ at: here, value: x }];
    if (k === "examples" && Array.isArray(x)) return x.map((value, i) => ({ at: `${here}[${i}]`, value }));
    if (k === "examples" && x && typeof x === "object")
      return Object.entries(x).map(([n, e]) => ({
        at: `${here}.${n}`,
        value: (e as { value?: unknown }).value,
      }));
    return examplesIn(x, here);
  });
};

/** Every string inside an example value (nested), to find a generated "string". */
const stringsIn = (v: unknown): string[] =>
  typeof v === "string" ? [v] : v && typeof v === "object" ? Object.values(v).flatMap(stringsIn) : [];

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), "stockline-openapi-"));
  sys = await startLocalSystem({
    regions: ["eu"],
    dataDir: dir,
    apiPort: 0,
    logger: pino({ level: "silent" }),
  });
  node = await startRegionalNode(
    nodeConfig(region, tmp.dir, [process.env.NATS_URL ?? "nats://127.0.0.1:4222"], {
      http: { enabled: true, port: 0 },
      apiKeys: NODE_HTTP_KEYS,
    }),
  );
  docs.api = await fetchDoc(sys.apiUrl);
  docs.node = await fetchDoc(node.url as string);
}, 120_000);

afterAll(async () => {
  await sys?.stop();
  rmSync(dir, { recursive: true, force: true });
  const nc = await connectNats({
    servers: process.env.NATS_URL ?? "nats://127.0.0.1:4222",
    name: "openapi-test",
  });
  await cleanUpNodeTest({ node, jsm: await jetstreamManager(nc), nc, region, tmp });
}, 60_000);

describe.each(["api", "node"])("the OpenAPI document of the %s", (which) => {
  it("every /v1 operation declares the API key: x-api-key or bearer, with the schemes defined", () => {
    const doc = docs[which];
    expect(doc.components.securitySchemes).toEqual({
      apiKey: expect.objectContaining({ type: "apiKey", in: "header", name: "x-api-key" }),
      bearer: expect.objectContaining({ type: "http", scheme: "bearer" }),
    });
    const ops = operations(doc);
    expect(ops.filter((o) => o.path.startsWith("/v1/")).length).toBeGreaterThan(0);
    const unsecured = ops
      .filter((o) => o.path.startsWith("/v1/"))
      .filter((o) => JSON.stringify(o.op.security) !== JSON.stringify([{ apiKey: [] }, { bearer: [] }]))
      .map((o) => o.name);
    expect(unsecured).toEqual([]);
    // The public routes are not in the document (hidden), so none of them claims a key.
    expect(ops.filter((o) => !o.path.startsWith("/v1/")).map((o) => o.name)).toEqual([]);
  });

  it("every /v1 operation lists the shared errors in the one error shape", () => {
    for (const o of operations(docs[which]).filter((x) => x.path.startsWith("/v1/"))) {
      const statuses = Object.keys(o.op.responses);
      expect(statuses, o.name).toEqual(expect.arrayContaining(["400", "401", "403", "404", "429", "500"]));
      if (o.method === "post") expect(statuses, o.name).toEqual(expect.arrayContaining(["413", "415"]));
      const unauthorized = o.op.responses["401"].content["application/json"];
      expect(unauthorized.schema.required, o.name).toEqual(["error", "message"]);
      expect(unauthorized.example, o.name).toMatchObject({ error: "unauthorized" });
    }
  });

  it('no response is only "Default Response"; every success and every body has an example', () => {
    const ops = operations(docs[which]);
    const defaults = ops.flatMap((o) =>
      Object.entries(o.op.responses as Record<string, { description: string }>)
        .filter(([, r]) => r.description === "Default Response")
        .map(([s]) => `${o.name} ${s}`),
    );
    expect(defaults).toEqual([]);
    for (const o of ops) {
      for (const [status, r] of Object.entries(o.op.responses as Record<string, Doc>)) {
        if (!status.startsWith("2") || !r.content) continue;
        const media = r.content["application/json"];
        expect(media.example ?? media.examples, `${o.name} ${status}`).toBeDefined();
      }
      if (o.op.requestBody) {
        const media = o.op.requestBody.content["application/json"];
        expect(media.example ?? media.examples, `${o.name} body`).toBeDefined();
      }
    }
  });

  it('no example anywhere is, or holds, the placeholder "string"', () => {
    const placeholders = examplesIn(docs[which].paths).filter((e) => stringsIn(e.value).includes("string"));
    expect(placeholders).toEqual([]);
  });
});

describe("bodies and parameters generated from the codecs that decode them", () => {
  it("the exception routes: retry's `via` and the dead-letter query's `status` are the codecs' enums", () => {
    const paths = docs.api.paths;
    const retry = paths["/v1/exceptions/dead-letters/{region}/{seq}/retry"].post;
    expect(retry.requestBody.content["application/json"].schema.properties.via.enum).toEqual([
      "request",
      "stream",
    ]);
    expect(retry.requestBody.content["application/json"].example).toMatchObject({ via: "request" });
    const list = paths["/v1/exceptions/dead-letters"].get.parameters;
    expect(list.find((p: Doc) => p.name === "status").schema.enum).toEqual(["open", "retried", "resolved"]);
    expect(list.find((p: Doc) => p.name === "limit").schema).toMatchObject({ type: "integer", minimum: 1 });
  });

  it("positions: the SKU and location carry the limits of the id codecs", () => {
    const params = docs.api.paths["/v1/positions/{location}/{sku}"].get.parameters;
    expect(params.find((p: Doc) => p.name === "sku").schema).toMatchObject({
      type: "string",
      maxLength: 128,
    });
  });

  it("the node's POST /v1/commands: each item is one of the command kinds, receiveGoods among them", () => {
    const body = docs.node.paths["/v1/commands"].post.requestBody.content["application/json"];
    const items = body.schema.anyOf[0].properties.commands.items;
    const kinds = items.oneOf.map((s: Doc) => s.properties.kind.enum[0]);
    expect(kinds).toEqual(
      expect.arrayContaining(["receiveGoods", "confirmPick", "recordCount", "adjustStock"]),
    );
    expect(body.example.commands[0].kind).toBe("receiveGoods");
  });

  it("the docs UI is served without a key", async () => {
    const res = await fetch(`${sys.apiUrl}/docs/`);
    expect(res.status).toBe(200);
  });
});
