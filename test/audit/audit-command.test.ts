/** The audit CLI commands, run in-process through commander as `stockline` runs them. */
import { join } from "node:path";
import { Command } from "commander";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { positionStreamId } from "../../domain/ids.ts";
import { type AuditIo, registerAuditCommands } from "../../services/cli/audit-command.ts";
import { at } from "../domain/position-spec.ts";
import {
  buildFixture,
  DESTINATION,
  type Fixture,
  ORIGIN,
  OTHER,
  TRANSFER_CORRELATION,
  tamper,
} from "./audit-fixture.ts";

let f: Fixture;
beforeEach(async () => {
  f = await buildFixture();
});
afterEach(async () => {
  await f.close();
});

const run = async (...args: string[]) => {
  const out: string[] = [];
  const err: string[] = [];
  let code = 0;
  const io: AuditIo = { out: (s) => out.push(s), err: (s) => err.push(s), setExitCode: (c) => (code = c) };
  const program = registerAuditCommands(new Command().name("stockline").exitOverride(), io);
  await program.parseAsync(["node", "stockline", ...args]);
  return { code, out: out.join("\n"), err: err.join("\n") };
};

describe("stockline replay", () => {
  it("prints each event with the state after it and exits 0 when the chain verifies", async () => {
    const r = await run("replay", ORIGIN.location, ORIGIN.sku, "--store", f.paths.eu, "--verify");
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/rev\s+type\s+qty/);
    expect(r.out).toMatch(/TransferShipped\s+20/);
    expect(r.out).toMatch(/chain verified: 7 events/);
  });

  it("names the altered revision and exits 1", async () => {
    tamper(
      f.paths.eu,
      "UPDATE events SET data = json_set(data, '$.quantity', 2) WHERE stream_id = ? AND revision = 3",
      positionStreamId(ORIGIN),
    );
    const r = await run("replay", ORIGIN.location, ORIGIN.sku, "--store", f.paths.eu, "--verify");
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/CHAIN BROKEN: 1 problem/);
    expect(r.out).toMatch(/revision 3 \[hash\] revision 3 \(TransferShipped/);
  });

  it("as of a recorded time, JSON output, and usage errors exit 2", async () => {
    const r = await run(
      "replay",
      ORIGIN.location,
      ORIGIN.sku,
      "--store",
      f.paths.eu,
      "--as-of",
      at(25),
      "--json",
    );
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out).events).toHaveLength(3);
    const bad = await run(
      "replay",
      ORIGIN.location,
      ORIGIN.sku,
      "--store",
      f.paths.eu,
      "--as-of",
      "yesterday",
    );
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/--as-of: got "yesterday", expected an ISO 8601 timestamp/);
    const missing = await run("replay", ORIGIN.location, ORIGIN.sku, "--store", join(f.dir, "none.db"));
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/no event store at/);
    const unknown = await run("replay", ORIGIN.location, "nope", "--store", f.paths.eu);
    expect(unknown.code).toBe(2);
  });
});

describe("stockline verify", () => {
  it("verifies a region's store, and exits 1 naming the broken position when a row was deleted", async () => {
    const ok = await run("verify", "--region", "eu-west", "--store", f.paths.eu);
    expect(ok.code).toBe(0);
    expect(ok.out).toMatch(/verified region eu-west: 3 positions, 10 events: every chain intact/);

    tamper(f.paths.eu, "DELETE FROM events WHERE stream_id = ? AND revision = 0", positionStreamId(OTHER));
    const broken = await run("verify", "--location", OTHER.location, "--store", f.paths.eu);
    expect(broken.code).toBe(1);
    expect(broken.out).toMatch(/1 position\(s\) BROKEN/);
    expect(broken.out).toMatch(/revision 0 \[gap\] revision 0 is missing/);
  });

  it("needs a scope", async () => {
    expect((await run("verify", "--store", f.paths.eu)).code).toBe(2);
  });
});

describe("stockline trace", () => {
  it("shows the transfer's events in both regions", async () => {
    const r = await run("trace", TRANSFER_CORRELATION, "--store", f.paths.eu, "--store", f.paths.us);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/2 event\(s\) in region\(s\) eu-west, us-east/);
    expect(r.out).toMatch(/wms: transferOrder TO-9-out/);
    expect(r.out).toMatch(new RegExp(`us-east\\s+${DESTINATION.location}.*TransferInboundRecorded`));
    const none = await run("trace", "nobody", "--store", f.paths.eu);
    expect(none.code).toBe(2);
  });
});
