/**
 * `stockline translate` (issue 11): an integrator tries a source's document against the
 * configuration without sending anything. The 944 sample of ../shared/samples/x12 (read, not copied)
 * yields its receipt (exit 0) and, with --ack, the 997; the same 944 with W07-01 changed to 'ABC'
 * (constructed here) names W07-01 and its value (exit 1); a source without a format is exit 2.
 */
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { runTranslate } from "../../services/cli/translate-command.ts";
import { tempDir } from "../regional-node/node-fixtures.ts";
import { connectorConfig, WMS_SYSTEM, writeConfig, X12_SYSTEM } from "./connector-config-fixture.ts";
import { SAMPLES } from "./x12-fixture.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const SAMPLE_944 = path.join(SAMPLES, "944_stupidedi.edi");
const tmp = tempDir("translate");
afterAll(() => tmp.remove());

const config = writeConfig(tmp.dir, connectorConfig("us-east"));
const RECEIVED_AT = "2026-07-14T12:30:00Z";

const run = (file: string, flags: Record<string, unknown> = {}) => {
  const out: string[] = [];
  const err: string[] = [];
  const code = runTranslate(
    file,
    { config, source: X12_SYSTEM, receivedAt: RECEIVED_AT, ...flags },
    { out: (l) => out.push(l), err: (l) => err.push(l) },
  );
  return { code, out, err };
};

describe("stockline translate", () => {
  it("prints the 944 sample's receipt as a JSON line and exits 0", () => {
    const r = run(SAMPLE_944);
    expect(r.code).toBe(0);
    // W17*F*20260714*WR12345, N1*WH*...*9*1234567890001, W07*100*EA**UK*ITEM123***LOT456, N9*PO*REF789
    expect(r.out.map((l) => JSON.parse(l))).toEqual([
      {
        kind: "receiveGoods",
        idempotencyKey: "acme-3pl:X12 944:WR12345:1",
        source: { system: "acme-3pl", document: { type: "X12 944", id: "WR12345", line: "1" } },
        businessTime: "2026-07-14T00:00:00Z",
        correlationId: "WR12345",
        position: { sku: "SKU-123", location: "ACME-WH", region: "us-east" },
        quantity: { value: 100, uom: "EA" },
        status: "available",
        lot: "LOT456",
        documents: { po: "REF789" },
      },
    ]);
    expect(r.err).toEqual(["1 command(s), 0 untranslatable part(s)"]);
  });

  it("--ack prints the 997 after the commands", () => {
    const r = run(SAMPLE_944, { ack: true });
    expect(r.code).toBe(0);
    const ack = r.out[1] ?? "";
    expect(ack).toContain("AK2*944*0001~");
    expect(ack).toContain("AK9*A*1*1*1~");
  });

  it("a W07-01 that is not a number: the place and the value on stderr, exit 1, the 997 rejects the set", () => {
    const bad = path.join(tmp.dir, "944-bad.edi");
    writeFileSync(bad, readFileSync(SAMPLE_944, "utf8").replace("W07*100*EA", "W07*ABC*EA"));
    const r = run(bad, { ack: true });
    expect(r.code).toBe(1);
    const parts = r.err.filter((l) => l.startsWith("{")).map((l) => JSON.parse(l).untranslatable);
    expect(parts.map((p) => [p.at, p.value])).toContainEqual(["W07-01", "ABC"]);
    expect(parts.find((p) => p.at === "W07-01").document).toMatchObject({ type: "X12 944" });
    expect(r.out.filter((l) => l.startsWith("{"))).toEqual([]);
    expect(r.out.join("\n")).toContain("AK5*R");
    expect(r.err.at(-1)).toMatch(
      /0 command\(s\), \d+ untranslatable part\(s\): the connector would dead-letter them/,
    );
  });

  it("a system without a connector entry needs --format (exit 2); with it the document is tried", () => {
    const none = run(SAMPLE_944, { source: WMS_SYSTEM });
    expect(none.code).toBe(2);
    expect(none.err.join("\n")).toContain("has no entry under connectors.sources: give --format");
    // wms-1 has no code for the warehouse or the item: both named, nothing guessed.
    const tried = run(SAMPLE_944, { source: WMS_SYSTEM, format: "x12" });
    expect(tried.code).toBe(1);
    expect(tried.err.some((l) => l.includes('"at":"N1-04"') || l.includes('"at":"W07-05"'))).toBe(true);
  });

  it("is a command of the stockline CLI (exit code and stdout of the real process)", () => {
    const p = spawnSync(
      process.execPath,
      [
        "--import",
        "tsx",
        "services/cli.ts",
        "translate",
        "--config",
        config,
        "--source",
        X12_SYSTEM,
        SAMPLE_944,
      ],
      { cwd: ROOT, encoding: "utf8", timeout: 60_000 },
    );
    expect(p.status).toBe(0);
    expect(JSON.parse(p.stdout.trim().split("\n")[0] ?? "{}")).toMatchObject({
      kind: "receiveGoods",
      position: { location: "ACME-WH", sku: "SKU-123" },
    });
  }, 60_000);
});
