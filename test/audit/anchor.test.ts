/**
 * Tamper evidence with an anchor (issue 9): a real regional node anchors its stream heads in an anchor
 * log outside the store while it takes traffic; then, offline, `stockline verify --anchor` names what
 * an attacker with write access to the SQLite file did, where the hash chain alone passes: a tail
 * rewritten with recomputed hashes, a truncated tail, an edited column outside the event hash. An
 * edited anchor line is named as such.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { Command } from "commander";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CanonicalEvent } from "../../domain/canonical-event.ts";
import { positionStreamId } from "../../domain/ids.ts";
import {
  ANCHOR_GENESIS,
  type AnchorLine,
  anchorFileName,
  lineHash,
  loadAnchorKey,
  readAnchorLog,
  sealLine,
} from "../../infra/anchor/anchor-log.ts";
import { anchorStreamName, streamedLines } from "../../infra/anchor/anchor-stream.ts";
import { loadNodeConfig, resolveNodeConfig } from "../../infra/config/node-config.ts";
import { openSqliteEventStore } from "../../infra/event-store/sqlite-event-store.ts";
import { connectNats } from "../../infra/nats/connection.ts";
import { reqSubject } from "../../infra/nats/subjects.ts";
import { type AuditIo, registerAuditCommands } from "../../services/cli/audit-command.ts";
import { type RegionalNode, startRegionalNode } from "../../services/regional-node/regional-node.ts";
import {
  deleteRegionStreams,
  nodeConfig,
  receipt,
  tempDir,
  uniqueRegion,
} from "../regional-node/node-fixtures.ts";
import { rewriteWithRecomputedHashes, tamper } from "./audit-fixture.ts";

const servers = [process.env.NATS_URL ?? "nats://127.0.0.1:4222"];
const region = uniqueRegion("an");
const tmp = tempDir("anchor");
const dataDir = path.join(tmp.dir, "data");
const anchorDir = path.join(tmp.dir, "anchors"); // apart from the data dir
const keyFile = path.join(tmp.dir, "anchor.key");
const pristine = path.join(tmp.dir, "pristine");
/** Anchored one revision per line (the test anchors after each command). */
const A = { location: "DC1", sku: "A-1" };
/** Anchored by the node's timer, several revisions per line when they come together. */
const B = { location: "DC1", sku: "B-1" };
const C = { location: "DC2", sku: "C-1" };
let node: RegionalNode | undefined;
let nc: NatsConnection;
let copies = 0;

const send = async (sku: string, key: string, qty: number, location = "DC1") => {
  const reply = await nc.request(
    reqSubject(region),
    JSON.stringify(receipt({ region, location, sku, key, qty })),
    { timeout: 10_000 },
  );
  expect((reply.json() as { outcome: string }).outcome).toBe("accepted");
};

beforeAll(async () => {
  writeFileSync(keyFile, `${"k3y-".repeat(12)}\n`);
  node = await startRegionalNode(
    nodeConfig(region, dataDir, servers, { anchor: { dir: anchorDir, everyMs: 100, keyFile } }),
  );
  await node.nc.flush(); // its request subscription is on the server
  nc = await connectNats({ servers, name: "anchor-test" });
  for (let i = 0; i < 5; i++) {
    await send(A.sku, `a-${i}`, 10 + i);
    await node.anchorer!.anchor();
  }
  await Promise.all([1, 2, 3, 4, 5, 6].map((i) => send(B.sku, `b-${i}`, i)));
  await Promise.all([1, 2, 3].map((i) => send(C.sku, `c-${i}`, i, C.location)));
  await new Promise((r) => setTimeout(r, 300)); // the timer anchors some of it
  await send(B.sku, "b-7", 7);
  await node.stop(); // a clean stop anchors what is left
  node = undefined;
  mkdirSync(pristine);
  for (const f of ["events.db", "events.db-wal", "events.db-shm"])
    if (existsSync(path.join(dataDir, f))) copyFileSync(path.join(dataDir, f), path.join(pristine, f));
  copyFileSync(path.join(anchorDir, anchorFileName(region)), path.join(pristine, "anchor.jsonl"));
}, 60_000);

afterAll(async () => {
  await node?.stop();
  if (nc) {
    await deleteRegionStreams(await jetstreamManager(nc), region);
    await nc.close();
  }
  tmp.remove();
});

/** A fresh copy of the store and anchor as the node left them, for one attack. */
const copy = () => {
  const dir = path.join(tmp.dir, `work-${++copies}`);
  mkdirSync(dir);
  for (const f of ["events.db", "events.db-wal", "events.db-shm", "anchor.jsonl"])
    if (existsSync(path.join(pristine, f))) copyFileSync(path.join(pristine, f), path.join(dir, f));
  return { store: path.join(dir, "events.db"), anchor: path.join(dir, "anchor.jsonl") };
};

const run = async (...args: string[]) => {
  const out: string[] = [];
  let code = 0;
  const io: AuditIo = { out: (s) => out.push(s), err: (s) => out.push(s), setExitCode: (c) => (code = c) };
  await registerAuditCommands(new Command().name("stockline").exitOverride(), io).parseAsync([
    "node",
    "stockline",
    ...args,
  ]);
  return { code, out: out.join("\n") };
};

const verify = (w: { store: string; anchor: string }, withAnchor: boolean) =>
  run(
    "verify",
    "--region",
    region,
    "--store",
    w.store,
    ...(withAnchor ? ["--anchor", w.anchor, "--anchor-key-file", keyFile] : []),
  );

const eventsOf = async (file: string, p: { location: string; sku: string }): Promise<CanonicalEvent[]> => {
  const store = openSqliteEventStore({ path: file });
  try {
    return (await store.readStream(positionStreamId(p))).map((e) => e.data as CanonicalEvent);
  } finally {
    await store.close();
  }
};

/** Which anchor line anchored revision `k` of a stream, and the revisions that line covered. */
const anchoredRange = (anchorFile: string, streamId: string, k: number) => {
  let from = 0;
  for (const text of readFileSync(anchorFile, "utf8").trim().split("\n")) {
    const line = JSON.parse(text) as { seq: number; heads: { s: string; r: number }[] };
    const head = line.heads.find((h) => h.s === streamId);
    if (!head) continue;
    if (head.r >= k) return { from, to: head.r, line: line.seq };
    from = head.r + 1;
  }
  throw new Error(`revision ${k} of ${streamId} was never anchored`);
};

describe("stockline verify --anchor (offline)", () => {
  it("the node anchored every head, keyed; the untouched store verifies with exit 0", async () => {
    const w = copy();
    const log = await readAnchorLog(w.anchor, {});
    expect(log.problems).toEqual([]);
    expect(log.heads.get(positionStreamId(A))?.map((h) => h.revision)).toEqual([0, 1, 2, 3, 4]);
    expect(log.heads.get(positionStreamId(B))?.at(-1)?.revision).toBe(6);
    expect(log.heads.get(positionStreamId(C))?.at(-1)?.revision).toBe(2);
    expect(readFileSync(w.anchor, "utf8")).not.toContain('"key":"none"');

    const r = await verify(w, true);
    expect(r.out).toContain("every chain intact");
    expect(r.out).toContain("every MAC checked");
    expect(r.out).toContain("0 event(s) after the last anchor line");
    expect(r.code).toBe(0);
  });

  it("names a tail rewritten with recomputed hashes, which the chain alone passes", async () => {
    const w = copy();
    const a = positionStreamId(A);
    rewriteWithRecomputedHashes(w.store, a, await eventsOf(w.store, A), 2, 50);
    const b = positionStreamId(B);
    rewriteWithRecomputedHashes(w.store, b, await eventsOf(w.store, B), 3, -1);

    const plain = await verify(w, false);
    expect(plain.out).toContain("every chain intact");
    expect(plain.code).toBe(0);

    const r = await verify(w, true);
    expect(r.code).toBe(1);
    // A was anchored revision by revision: the first revision that differs, exactly.
    const lineA = anchoredRange(w.anchor, a, 2).line;
    expect(r.out).toContain(`revision 2 [rewritten] revision 2 was rewritten after anchor line ${lineA} (`);
    expect(r.out).toContain(`revision 1 still matches anchor line ${anchoredRange(w.anchor, a, 1).line}`);
    // B: bounded by the line that anchored revision 3 and the last one that matched before it.
    const rb = anchoredRange(w.anchor, b, 3);
    expect(r.out).toContain(
      rb.from === rb.to
        ? `revision 3 [rewritten] revision 3 was rewritten after anchor line ${rb.line}`
        : `revision ${rb.from} [rewritten] rewritten between revision ${rb.from} and ${rb.to}: anchor line ${rb.line}`,
    );
  });

  it("names a truncated tail with its first missing revision", async () => {
    const w = copy();
    const a = positionStreamId(A);
    expect(tamper(w.store, "DELETE FROM events WHERE stream_id = ? AND revision >= 3", a)).toBe(2);
    const c = positionStreamId(C);
    expect(tamper(w.store, "DELETE FROM events WHERE stream_id = ?", c)).toBe(3);

    expect((await verify(w, false)).code).toBe(0);
    const r = await verify(w, true);
    expect(r.code).toBe(1);
    expect(r.out).toContain(
      `revision 3 [truncated] revisions 3..4 are missing at the end: anchor line ${anchoredRange(w.anchor, a, 4).line} (`,
    );
    expect(r.out).toMatch(
      /revision 0 \[truncated\] the stream is missing: anchor line \d+ .* anchored it at revision 2/,
    );

    // One stream through replay as well.
    const one = await run(
      "replay",
      A.location,
      A.sku,
      "--store",
      w.store,
      "--verify",
      "--anchor",
      w.anchor,
      "--anchor-key-file",
      keyFile,
    );
    expect(one.code).toBe(1);
    expect(one.out).toContain("revisions 3..4 are missing at the end");
  });

  it("names an edited column outside the event hash: recorded time (anchor), metadata (always)", async () => {
    const w = copy();
    const a = positionStreamId(A);
    tamper(
      w.store,
      "UPDATE events SET recorded_time = '2020-01-01T00:00:00.000Z' WHERE stream_id = ? AND revision = 1",
      a,
    );
    expect((await verify(w, false)).code).toBe(0);
    const r = await verify(w, true);
    expect(r.code).toBe(1);
    expect(r.out).toContain(
      `revision 1 [column] the recorded_time of revision 1 (2020-01-01T00:00:00.000Z) differs from what anchor line ${anchoredRange(w.anchor, a, 1).line} (`,
    );

    tamper(
      w.store,
      `UPDATE events SET metadata = '{"approvedBy":"me"}' WHERE stream_id = ? AND revision = 0`,
      a,
    );
    const m = await verify(w, false);
    expect(m.code).toBe(1);
    expect(m.out).toContain("revision 0 [envelope] revision 0: the stored row has metadata");
  });

  it("names an edited, removed or re-sealed anchor line as a broken anchor", async () => {
    const w = copy();
    const lines = readFileSync(w.anchor, "utf8").trim().split("\n");
    expect(lines.length).toBeGreaterThan(3);
    const edited = lines.map((l, i) =>
      i === 1 ? l.replace(/"r":(\d+)/, (_, n) => `"r":${Number(n) + 1}`) : l,
    );
    expect(edited[1]).not.toBe(lines[1]);
    writeFileSync(w.anchor, `${edited.join("\n")}\n`);
    let r = await verify(w, true);
    expect(r.code).toBe(1);
    expect(r.out).toContain("ANCHOR BROKEN: line 2: has a MAC that does not match its content");

    writeFileSync(w.anchor, `${lines.filter((_, i) => i !== 2).join("\n")}\n`);
    r = await verify(w, true);
    expect(r.code).toBe(1);
    expect(r.out).toContain("ANCHOR BROKEN: line 3: has seq 4, expected 3");

    // Without the key an attacker can only write unkeyed lines: refused when verify has the key.
    // (every line re-sealed without a key and re-chained: sound but for the missing MACs)
    let prev = ANCHOR_GENESIS;
    const unkeyed = lines.map((l) => {
      const { mac: _m, key: _k, ...rest } = JSON.parse(l) as AnchorLine;
      const text = sealLine({ ...rest, prev }, undefined);
      prev = lineHash(text);
      return text;
    });
    writeFileSync(w.anchor, `${unkeyed.join("\n")}\n`);
    expect((await readAnchorLog(w.anchor)).problems).toEqual([]);
    r = await verify(w, true);
    expect(r.code).toBe(1);
    expect(r.out).toContain("ANCHOR BROKEN: line 1: is unkeyed, but the log was to be checked with a key");
    // Without a key, verify can only warn.
    r = await run("verify", "--region", region, "--store", w.store, "--anchor", w.anchor);
    expect(r.code).toBe(0);
    expect(r.out).toContain("NOT authenticated (no key)");
    expect(r.out).toContain(`warning: ${lines.length} line(s) are unkeyed`);
  });
});

describe("the head anchorer across restarts", () => {
  const region2 = uniqueRegion("ar");
  const dir = path.join(tmp.dir, "restart");
  const config = (data: string) =>
    nodeConfig(region2, path.join(dir, data), servers, {
      anchor: { dir: path.join(dir, "anchors"), everyMs: 100, keyFile },
    });
  const file = path.join(dir, "anchors", anchorFileName(region2));
  const sendTo = async (sku: string, key: string) => {
    const reply = await nc.request(
      reqSubject(region2),
      JSON.stringify(receipt({ region: region2, sku, key })),
      {
        timeout: 10_000,
      },
    );
    expect((reply.json() as { outcome: string }).outcome).toBe("accepted");
  };
  afterAll(async () => {
    if (nc) await deleteRegionStreams(await jetstreamManager(nc), region2);
  });

  it("continues the chain after a restart, cuts a line torn by a crash, refuses a store behind it", async () => {
    let n = await startRegionalNode(config("data"));
    await n.nc.flush(); // its request subscription is on the server
    await sendTo("R-1", "r-1");
    await sendTo("R-1", "r-2");
    await n.stop();
    // A crash while writing a line leaves it without its newline.
    writeFileSync(file, `${readFileSync(file, "utf8")}{"at":"2026-`);
    const torn = await readAnchorLog(file);
    expect(torn.problems).toEqual([]);
    expect(torn.warnings.join("\n")).toContain("is incomplete (no newline, not JSON)");

    n = await startRegionalNode(config("data"));
    await n.nc.flush();
    await sendTo("R-1", "r-3");
    await sendTo("R-2", "r-4");
    await n.stop();
    const log = await readAnchorLog(file, { keys: [loadAnchorKey({ keyFile })!] });
    expect(log.problems).toEqual([]);
    expect(log.warnings).toEqual([]);
    expect(log.macsChecked).toBe(true);
    expect(log.heads.get(positionStreamId({ location: "DC1", sku: "R-1" }))?.at(-1)?.revision).toBe(2);
    expect(log.position).toBe(4);
    const r = await run(
      "verify",
      "--region",
      region2,
      "--store",
      path.join(dir, "data", "events.db"),
      "--anchor",
      file,
      "--anchor-key-file",
      keyFile,
    );
    expect(r.out).toContain("every MAC checked");
    expect(r.code).toBe(0);

    // Another (empty) store under the same anchor: it ends before what was anchored.
    await expect(startRegionalNode(config("other"))).rejects.toThrow(
      /anchors .* up to global position 4, but the store ends at 0: it was truncated or replaced/,
    );
  });
});

describe("anchor settings", () => {
  it("default to <dataDir>/anchors every second, are set apart by file or environment, and refuse a short key", () => {
    const d = resolveNodeConfig({ region: "eu", dataDir: tmp.dir });
    expect(d.anchor).toEqual({
      enabled: true,
      dir: path.join(tmp.dir, "anchors"),
      everyMs: 1000,
      keyFile: undefined,
      keyEnv: "STOCKLINE_ANCHOR_KEY",
      jetstream: false,
    });
    const e = loadNodeConfig({
      env: {
        STOCKLINE_REGION: "eu",
        STOCKLINE_ANCHOR_DIR: "/mnt/anchors",
        STOCKLINE_ANCHOR_EVERY_MS: "250",
        STOCKLINE_ANCHOR_KEY_FILE: "/run/secrets/anchor.key",
      },
    });
    expect(e.anchor).toMatchObject({ dir: "/mnt/anchors", everyMs: 250, keyFile: "/run/secrets/anchor.key" });

    expect(loadAnchorKey({ env: {} })).toBeUndefined();
    const short = path.join(tmp.dir, "short.key");
    writeFileSync(short, "secret");
    expect(() => loadAnchorKey({ keyFile: short })).toThrow(
      `anchor key file ${short}: an anchor key of 6 bytes, expected at least 32`,
    );
    expect(() => loadAnchorKey({ env: { STOCKLINE_ANCHOR_KEY: "x".repeat(31) } })).toThrow(
      "environment variable STOCKLINE_ANCHOR_KEY: an anchor key of 31 bytes",
    );
  });
});

describe("the anchor's copy in INV_ANCHOR_<R>", () => {
  const region3 = uniqueRegion("ac");
  const dir = path.join(tmp.dir, "copy");
  const anchors = path.join(dir, "anchors");
  const file = path.join(anchors, anchorFileName(region3));
  const store = path.join(dir, "data", "events.db");
  const config = (jetstream: boolean) =>
    nodeConfig(region3, path.join(dir, "data"), servers, {
      anchor: { dir: anchors, everyMs: 100, keyFile, jetstream },
    });
  const sendTo = async (sku: string, key: string) => {
    const reply = await nc.request(
      reqSubject(region3),
      JSON.stringify(receipt({ region: region3, sku, key })),
      {
        timeout: 10_000,
      },
    );
    expect((reply.json() as { outcome: string }).outcome).toBe("accepted");
  };
  const collect = async (lines: AsyncIterable<string>) => {
    const out: string[] = [];
    for await (const l of lines) out.push(l);
    return out;
  };
  afterAll(async () => {
    if (!nc) return;
    const jsm = await jetstreamManager(nc);
    await deleteRegionStreams(jsm, region3);
    await jsm.streams.delete(anchorStreamName(region3)).catch(() => false);
  });

  it("holds every line, refuses deletes and purges, and shows a tail cut from both store and file", async () => {
    let n = await startRegionalNode(config(false));
    await n.nc.flush();
    await sendTo("R-1", "r-1");
    await sendTo("R-1", "r-2");
    await n.stop();
    n = await startRegionalNode(config(true)); // catches the stream up with the file
    await n.nc.flush();
    await sendTo("R-1", "r-3");
    await n.anchorer!.anchor();
    await sendTo("R-2", "r-4");
    await n.stop();

    const jsm = await jetstreamManager(nc);
    const fileLines = readFileSync(file, "utf8").trim().split("\n");
    expect(await collect(streamedLines(jsm, region3))).toEqual(fileLines);
    const info = await jsm.streams.info(anchorStreamName(region3));
    expect(info.config.deny_delete && info.config.deny_purge).toBe(true);
    await expect(jsm.streams.deleteMessage(anchorStreamName(region3), 1)).rejects.toThrow();
    await expect(jsm.streams.purge(anchorStreamName(region3))).rejects.toThrow();

    const url = servers[0]!;
    const verifyWith = (anchor: string) =>
      run("verify", "--region", region3, "--store", store, "--anchor", anchor, "--anchor-key-file", keyFile);
    expect((await verifyWith(url)).code).toBe(0);

    // The attacker cuts R-1's last event from the store and the lines from the one that anchored it.
    const r1 = positionStreamId({ location: "DC1", sku: "R-1" });
    const cutAt = fileLines.findIndex((l) =>
      (JSON.parse(l) as { heads: { s: string; r: number }[] }).heads.some((h) => h.s === r1 && h.r === 2),
    );
    expect(cutAt).toBeGreaterThan(0);
    writeFileSync(file, `${fileLines.slice(0, cutAt).join("\n")}\n`);
    tamper(store, "DELETE FROM events WHERE stream_id = ? AND revision = 2", r1);
    tamper(
      store,
      "DELETE FROM events WHERE stream_id = ?",
      positionStreamId({ location: "DC1", sku: "R-2" }),
    );
    expect((await verifyWith(file)).code).toBe(0); // the file alone cannot tell
    const r = await verifyWith(url);
    expect(r.code).toBe(1);
    expect(r.out).toContain("revision 2 [truncated] revisions 2..2 are missing at the end");
    expect(r.out).toContain(`anchor ${anchorStreamName(region3)} at ${url}:`);

    await expect(startRegionalNode(config(true))).rejects.toThrow(
      new RegExp(
        `ends at line ${cutAt}, but ${anchorStreamName(region3)} holds line ${fileLines.length}: the end of the file was cut`,
      ),
    );
  });
});
