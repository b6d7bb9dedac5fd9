/**
 * The published JSON Schemas (DESIGN §3.16): the committed docs/schemas are what the codecs generate
 * (this test fails when they are stale), a change that breaks a published version is named with its
 * path (and `schemas write` refuses to make it), every published example is still read, and the API
 * serves the index and each schema to every role.
 */
import { execFile } from "node:child_process";
import { cpSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import Fastify, { type RouteOptions } from "fastify";
import { describe, expect, it } from "vitest";
import { EVENT_TYPES } from "../../domain/canonical-event.ts";
import { COMMAND_KINDS } from "../../domain/commands.ts";
import { ROLES } from "../../infra/http/api-keys.ts";
import type { JsonSchema } from "../../infra/http/codec-json-schema.ts";
import { currentSchemas, SCHEMA_DIR } from "../../services/reference/schema-catalogue.ts";
import { breakingChanges } from "../../services/reference/schema-compatibility.ts";
import {
  checkPublishedSchemas,
  schemaCheckOk,
  writePublishedSchemas,
} from "../../services/reference/schema-governance.ts";
import { registerSchemaRoutes } from "../../services/reference/schema-routes.ts";

const run = promisify(execFile);
const committed = (file: string) =>
  JSON.parse(readFileSync(path.join(SCHEMA_DIR, file), "utf8")) as JsonSchema;
const clone = <T>(v: T): T => structuredClone(v);
type Props = Record<string, JsonSchema>;
const propsOf = (s: JsonSchema | undefined) => (s?.properties ?? {}) as Props;
/** The schema of a nested property, e.g. `at(schema, "quantity", "value")`. */
const at = (s: JsonSchema, ...keys: string[]): JsonSchema =>
  keys.reduce((acc, k) => propsOf(acc)[k] as JsonSchema, s);

describe("committed schemas", () => {
  it("are what the codecs generate: one file per command kind and event type, and the index", () => {
    const check = checkPublishedSchemas();
    expect(check).toEqual({ stale: [], breaking: [], unreadable: [], missing: [] });
    expect(readdirSync(path.join(SCHEMA_DIR, "commands")).length).toBe(COMMAND_KINDS.length);
    expect(readdirSync(path.join(SCHEMA_DIR, "events")).length).toBe(EVENT_TYPES.length);
    const index = committed("index.json");
    expect(Object.keys(index.commands as object).sort()).toEqual([...COMMAND_KINDS].sort());
    expect((index.events as Record<string, unknown>).GoodsReceived).toEqual({
      current: 1,
      versions: { 1: "events/GoodsReceived.v1.json" },
    });
    // Generated from the codecs: the hidden item codec of a bounded array is declared, hashes have examples.
    const receive = committed("commands/receiveGoods.v1.json");
    expect(propsOf(receive).serials).toMatchObject({
      type: "array",
      maxItems: 250,
      items: { type: "string" },
    });
    expect(propsOf(committed("events/GoodsReceived.v1.json")).hash?.example).toMatch(/^[0-9a-f]{64}$/);
  });

  it("a stale or incompatibly changed copy is reported, and `schemas write` refuses to overwrite it", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "stockline-schemas-"));
    cpSync(SCHEMA_DIR, dir, { recursive: true });
    // As if the codec had lost `status` since receiveGoods v1 was published: the file has it, the code not.
    const file = path.join(dir, "commands/receiveGoods.v1.json");
    const published = JSON.parse(readFileSync(file, "utf8")) as JsonSchema;
    propsOf(published).bin = { type: "string" };
    writeFileSync(file, JSON.stringify(published, null, 2));
    const check = checkPublishedSchemas(dir);
    expect(schemaCheckOk(check)).toBe(false);
    expect(check.stale).toEqual(["commands/receiveGoods.v1.json"]);
    expect(check.breaking).toEqual(["commands/receiveGoods.v1.json: bin: property removed"]);
    expect(writePublishedSchemas(dir)).toEqual({ ok: false, breaking: check.breaking });
    expect(JSON.parse(readFileSync(file, "utf8"))).toEqual(published); // not overwritten

    // A compatible difference (the file lacks an optional property the codec now has) is rewritten.
    delete propsOf(published).bin;
    delete propsOf(published).lot;
    writeFileSync(file, JSON.stringify(published));
    expect(checkPublishedSchemas(dir).breaking).toEqual([]);
    expect(writePublishedSchemas(dir)).toMatchObject({
      ok: true,
      written: ["commands/receiveGoods.v1.json"],
    });
    expect(schemaCheckOk(checkPublishedSchemas(dir))).toBe(true);
  });

  it("an example of a published version the current codec no longer reads is reported", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "stockline-schemas-"));
    cpSync(SCHEMA_DIR, dir, { recursive: true });
    const file = path.join(dir, "events/StockAdjusted.v1.json");
    const published = JSON.parse(readFileSync(file, "utf8")) as JsonSchema;
    const [example] = published.examples as Array<Record<string, unknown>>;
    published.examples = [{ ...example, reasonCode: undefined, reason: "SHRINK" }];
    writeFileSync(file, JSON.stringify(published));
    const { unreadable } = checkPublishedSchemas(dir);
    expect(unreadable).toHaveLength(1);
    expect(unreadable[0]).toMatch(/^events\/StockAdjusted\.v1\.json: .*reasonCode/);
  });
});

describe("breakingChanges", () => {
  const receive = committed("commands/receiveGoods.v1.json");
  const placed = committed("events/ReservationPlaced.v1.json");

  it("finds nothing between a schema and itself, or when an optional property or an enum value is added", () => {
    expect(breakingChanges(receive, receive, "commands")).toEqual([]);
    const added = clone(receive);
    propsOf(added).note = { type: "string" };
    (propsOf(added).status as JsonSchema).enum = [
      ...((propsOf(receive).status?.enum as string[]) ?? []),
      "quarantine",
    ];
    expect(breakingChanges(receive, added, "commands")).toEqual([]);
    const wider = clone(receive);
    at(wider, "quantity", "value").maximum = 10 ** 15;
    expect(breakingChanges(receive, wider, "commands")).toEqual([]);
  });

  it("names a removed property, a newly required one, a narrowed enum, bound or type", () => {
    const next = clone(receive);
    delete propsOf(next).lot;
    (next.required as string[]).push("status");
    (propsOf(next).status as JsonSchema).enum = ["available", "blocked"];
    at(next, "quantity", "value").maximum = 1000;
    propsOf(at(next, "position")).region = { type: "integer" };
    expect(breakingChanges(receive, next, "commands").sort()).toEqual([
      "lot: property removed",
      'position.region: type "string" became "integer"',
      "quantity.value: maximum 1000000000000 became 1000",
      'status: enum value(s) ["inspection","consigned"] removed',
      "status: optional property now required",
    ]);
  });

  it("for events, also a required property made optional; for commands that is fine", () => {
    const next = clone(placed);
    next.required = (next.required as string[]).filter((k) => k !== "expiresAt");
    expect(breakingChanges(placed, next, "events")).toEqual([
      "expiresAt: required property now optional (readers of events rely on it)",
    ]);
    expect(breakingChanges(placed, next, "commands")).toEqual([]);
    const narrowed = clone(placed);
    propsOf(at(narrowed, "balancesAfter")).lifecycle = { type: "string", enum: ["active"] };
    expect(breakingChanges(placed, narrowed, "events")).toEqual([
      'balancesAfter.lifecycle: enum value(s) ["onHold","discontinued"] removed',
    ]);
  });
});

describe("GET /v1/schemas", () => {
  it("lists every kind and type with its versions and serves each schema, to every role", async () => {
    const app = Fastify();
    const routes: RouteOptions[] = [];
    app.addHook("onRoute", (r) => {
      routes.push(r);
    });
    registerSchemaRoutes(app);
    await app.ready();
    for (const r of routes) expect((r.config as { roles?: unknown }).roles).toEqual([...ROLES]);

    const index = await app.inject({ url: "/v1/schemas" });
    expect(index.statusCode).toBe(200);
    const body = index.json();
    expect(Object.keys(body.commands)).toHaveLength(COMMAND_KINDS.length);
    expect(Object.keys(body.events)).toHaveLength(EVENT_TYPES.length);
    expect(body.commands.receiveGoods).toEqual({
      current: 1,
      versions: { 1: "/v1/schemas/receiveGoods.v1" },
    });

    const one = await app.inject({ url: body.commands.receiveGoods.versions[1] });
    expect(one.statusCode).toBe(200);
    expect(one.json()).toEqual(committed("commands/receiveGoods.v1.json"));
    const latest = await app.inject({ url: "/v1/schemas/GoodsReceived.json" });
    expect(latest.json()).toEqual(committed("events/GoodsReceived.v1.json"));
    expect(currentSchemas().find((s) => s.name === "GoodsReceived")?.schema).toEqual(latest.json());

    const missing = await app.inject({ url: "/v1/schemas/receiveGoods.v9" });
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toMatchObject({
      error: "not_found",
      message: expect.stringContaining("receiveGoods.v9"),
    });
    await app.close();
  });
});

describe("stockline schemas", () => {
  it("check passes on the committed files; write fills an empty directory", async () => {
    const check = await run(process.execPath, ["--import", "tsx", "services/cli.ts", "schemas", "check"]);
    expect(check.stdout).toContain("are current");
    const dir = mkdtempSync(path.join(tmpdir(), "stockline-schemas-"));
    const write = await run(process.execPath, [
      "--import",
      "tsx",
      "services/cli.ts",
      "schemas",
      "write",
      "--dir",
      dir,
    ]);
    expect(write.stdout).toContain(`${COMMAND_KINDS.length + EVENT_TYPES.length + 1} file(s) written`);
    expect(readFileSync(path.join(dir, "index.json"), "utf8")).toBe(
      readFileSync(path.join(SCHEMA_DIR, "index.json"), "utf8"),
    );
  }, 60_000);
});
