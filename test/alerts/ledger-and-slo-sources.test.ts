/**
 * The condition sources the done-when test does not drive: postings an ERP refused and open breakers
 * (a real postings ledger on SQLite), and the sync-latency SLO (a prom-client registry with the
 * histogram as infra/sync-metrics.ts defines it). Each names its business object; a cleared condition
 * is no longer reported.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Histogram, Registry } from "prom-client";
import { afterAll, describe, expect, it } from "vitest";
import type { CanonicalEvent } from "../../domain/canonical-event.ts";
import { breakerSource, postingDeadLetterSource } from "../../services/alerts/condition-sources.ts";
import { SYNC_LATENCY_METRIC, sloSource } from "../../services/alerts/slo-source.ts";
import { PostingsLedger } from "../../services/postings/postings-ledger.ts";

const dir = mkdtempSync(path.join(tmpdir(), "stockline-alert-sources-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const eventOf = (i: number, sku: string): CanonicalEvent =>
  ({
    eventId: `e-${i}`,
    type: "PickConfirmed",
    position: { region: "eu", location: "DC1", sku },
    revision: i,
    correlationId: `c-${i}`,
    source: { system: "wms-1", document: { type: "pick", id: `P-${i}` } },
    businessTime: "2026-12-06T02:00:00.000Z",
  }) as unknown as CanonicalEvent;

describe("postings ledger sources", () => {
  it("refused postings grouped per ERP, location and SKU with documents and net quantity; an open breaker with what waits", async () => {
    const ledger = new PostingsLedger(path.join(dir, "postings.db"));
    try {
      const dead = [1, 2].map((i) =>
        ledger.open({ key: `k${i}`, target: "sap-eu", event: eventOf(i, "SKU-1"), effect: -5 * i }),
      );
      for (const r of dead)
        ledger.markDead(r.id, { error: "M7/021 deficit of SL 0001", errorClass: "refused" });
      ledger.open({ key: "k3", target: "sap-eu", event: eventOf(3, "SKU-2"), effect: 1 }); // pending
      const source = postingDeadLetterSource(ledger);
      const [s, ...rest] = await source.poll(Date.now());
      expect(rest).toEqual([]);
      expect(s).toMatchObject({
        kind: "postingDeadLetter",
        object: "sap-eu/DC1/SKU-1",
        severity: "critical",
        count: 2,
        runbook: "an-erp-is-down-or-refusing-postings",
        context: {
          erp: "sap-eu",
          location: "DC1",
          sku: "SKU-1",
          quantity: -15,
          documents: ["pick:P-1", "pick:P-2"],
        },
      });
      expect(s!.summary).toContain("M7/021");
      for (const r of dead) ledger.markReplaying(r.id);
      expect(await source.poll(Date.now())).toEqual([]);

      const breakers = breakerSource(ledger);
      ledger.recordBreaker("sap-eu", "open", "2026-12-06T03:00:05.000Z");
      expect(await breakers.poll(Date.now())).toMatchObject([
        { kind: "breakerOpen", object: "sap-eu", context: { erp: "sap-eu", details: { waiting: 3 } } },
      ]);
      ledger.recordBreaker("sap-eu", "closed", null);
      expect(await breakers.poll(Date.now())).toEqual([]);
    } finally {
      ledger.close();
    }
  });
});

describe("sync-latency SLO source", () => {
  it("breaches when fewer than the objective's share reach a stage within the bound, clears when they do again", async () => {
    const registry = new Registry();
    const h = new Histogram({
      name: SYNC_LATENCY_METRIC,
      help: "test",
      labelNames: ["stage", "region"],
      buckets: [1, 5, 30],
      registers: [registry],
    });
    const source = sloSource(registry, { seconds: 5, objective: 0.9, minSamples: 10, stages: ["posted"] });
    const observe = (n: number, seconds: number, stage = "posted") => {
      for (let i = 0; i < n; i++) h.observe({ stage, region: "eu" }, seconds);
    };
    observe(8, 0.5);
    observe(4, 20); // 8 of 12 within 5 s
    observe(50, 60, "applied"); // not held to it
    expect(await source.poll(0)).toMatchObject([
      {
        kind: "sloBreach",
        object: "posted/eu",
        context: { region: "eu", details: { stage: "posted", events: 12 } },
      },
    ]);
    observe(3, 0.5); // too few to judge: the verdict stays
    expect(await source.poll(0)).toHaveLength(1);
    observe(20, 0.5);
    expect(await source.poll(0)).toEqual([]);
  });
});
