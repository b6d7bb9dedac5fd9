/**
 * The head anchorer writes each head's `c` (global position and metadata of the rows a line covers)
 * pair by pair instead of through one `columnsDigest` call: for any rows, metadata absent or JSON in
 * any key order, the line holds `columnsDigest` of those rows, and `t` likewise.
 */
import { mkdirSync, readFileSync } from "node:fs";
import path from "node:path";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { type AnchorLine, columnsDigest, recordedTimesDigest } from "../../infra/anchor/anchor-log.ts";
import { SqliteEventStore } from "../../infra/event-store/sqlite-event-store.ts";
import { HeadAnchorer } from "../../services/regional-node/head-anchorer.ts";
import { tempDir } from "../regional-node/node-fixtures.ts";

const tmp = tempDir("anchor-columns");
afterAll(() => tmp.remove());
let run = 0;

const metadataArb = fc.oneof(
  fc.constant(undefined),
  fc.dictionary(
    fc.constantFrom("b", "a", "10", "z", "é"),
    fc.oneof(fc.integer(), fc.string(), fc.constant(null)),
  ),
);

describe("head anchorer columns", () => {
  it("anchors columnsDigest and recordedTimesDigest of the rows of each stream", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 3 }), metadataArb), { minLength: 1, maxLength: 30 }),
        async (rows) => {
          const dir = path.join(tmp.dir, String(run++));
          mkdirSync(dir, { recursive: true });
          const storePath = path.join(dir, "store.db");
          const store = new SqliteEventStore({ path: storePath });
          const revisions = new Map<string, number>();
          for (const [s, metadata] of rows) {
            const streamId = `position-DC~S${s}`;
            const revision = (revisions.get(streamId) ?? -1) + 1;
            revisions.set(streamId, revision);
            store.appendManySync([
              {
                streamId,
                expectedRevision: "any",
                events: [
                  {
                    eventId: `e-${run}-${streamId}-${revision}`,
                    type: "T",
                    data: { hash: `h${revision}` },
                    ...(metadata ? { metadata } : {}),
                  },
                ],
              },
            ]);
          }
          const anchorer = await HeadAnchorer.open({
            region: "eu",
            storePath,
            dir: path.join(dir, "anchors"),
            everyMs: 60_000,
            key: undefined,
          });
          await anchorer.anchor();
          await anchorer.stop();
          const stored = await store.readAll({ fromPosition: 0, maxCount: 1_000 });
          await store.close();
          const lines = readFileSync(anchorer.file, "utf8")
            .trim()
            .split("\n")
            .map((text) => JSON.parse(text) as AnchorLine);
          const heads = lines.flatMap((l) => l.heads);
          expect(heads.map((h) => h.s)).toEqual([...new Set(stored.map((e) => e.streamId))]);
          for (const h of heads) {
            const mine = stored.filter((e) => e.streamId === h.s);
            expect(h.c).toBe(columnsDigest(mine.map((e) => [e.globalPosition, e.metadata ?? null] as const)));
            expect(h.t).toBe(recordedTimesDigest(mine.map((e) => e.recordedTime)));
          }
        },
      ),
      { numRuns: 25 },
    );
  });
});
