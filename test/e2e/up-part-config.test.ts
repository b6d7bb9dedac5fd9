/**
 * A part refuses a wrong configuration at start, with exit code 2 and one line naming the field, the
 * value and what was expected (what `stockline up` shows instead of restarting it forever).
 */
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const dir = mkdtempSync(path.join(tmpdir(), "stockline-part-config-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const part = (...args: string[]): Promise<{ code: number | null; stderr: string }> =>
  new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      ["--import", "tsx", path.join(ROOT, "services", "cli.ts"), "part", ...args],
      { cwd: ROOT, timeout: 60_000 },
      (_err, _out, stderr) => resolve({ code: child.exitCode, stderr }),
    );
  });

describe("stockline part with a wrong configuration", () => {
  it("names the field, the value and what was expected, and exits 2", async () => {
    const minimal = JSON.parse(readFileSync(path.join(ROOT, "config", "minimal.json"), "utf8"));
    const file = path.join(dir, "bad.json");
    writeFileSync(
      file,
      JSON.stringify({ ...minimal, locations: [{ id: "WH-1", region: "mars" }], dataDir: dir }),
    );
    const r = await part("node", "--config", file, "--region", "main");
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("locations.0.region");
    expect(r.stderr).toContain("mars");
    expect(r.stderr).toContain("one of the regions (main)");
  }, 60_000);

  it("refuses a region the configuration does not have", async () => {
    const file = path.join(dir, "good.json");
    const minimal = JSON.parse(readFileSync(path.join(ROOT, "config", "minimal.json"), "utf8"));
    writeFileSync(file, JSON.stringify({ ...minimal, dataDir: dir }));
    const r = await part("projector", "--config", file, "--region", "nowhere");
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--region.*nowhere.*main/);
  }, 60_000);
});
