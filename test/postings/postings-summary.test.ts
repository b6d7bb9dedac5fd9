/**
 * The postings summary during an ERP outage (issue 10: the status view showed `PENDING 0` while
 * 609 postings waited). The worker reads one batch, the breaker opens and it reads no further: the
 * ledger then holds only that batch (tried ones `failed`, the others `pending`) and the rest waits
 * in JetStream, in no count. The summary counts every waiting event as pending or retrying, with
 * the breaker, the oldest age and the next attempt; the API, the CLI and the status view show it.
 */
import type { AddressInfo } from "node:net";
import { Command } from "commander";
import Fastify from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RoutingConfig } from "../../domain/routing-rules.ts";
import { registerPostingsCommands } from "../../services/cli/postings-command.ts";
import { registerPostingRoutes } from "../../services/postings/posting-routes.ts";
import { type PostingService, postingService } from "../../services/postings/posting-service.ts";
import type { PostingsSummary, TargetSummary } from "../../services/postings/postings-summary.ts";
import { renderPostingsTable } from "../../services/postings/postings-table.ts";
import { createSapConnector } from "../../services/postings/sap-connector.ts";
import { PositionHistory, type PostingsRig, postingsRig, receive, waitFor } from "./fixtures.ts";

const ROUTING: RoutingConfig = {
  targets: [{ id: "sap", systems: ["SAP_S4"] }],
  rules: [{ target: "sap", events: ["*"], locations: "DC*" }],
};
const N = 150;
const FETCH_BATCH = 20;

let rig: PostingsRig;
let service: PostingService;

beforeAll(async () => {
  rig = await postingsRig("summary");
  await rig.startWorker(
    createSapConnector({
      kind: "sap-s4hana",
      id: "sap",
      baseUrl: rig.sapUrl,
      locations: { DC1: { plant: "1010", storageLocation: "0001" } },
      timeoutMs: 2_000,
    }),
    ROUTING,
    {
      breaker: { resetTimeoutMs: 800, volumeThreshold: 2 },
      worker: {
        fetchBatch: FETCH_BATCH,
        backoff: { initialMs: 50, maxMs: 200 },
        ackWaitMs: 5_000,
        backlogSampleMs: 100,
      },
    },
  );
  service = postingService(rig.ledger, rig.workers);
});

afterAll(async () => {
  await rig?.close();
});

const sapOf = (s: PostingsSummary): TargetSummary => {
  const t = s.targets.find((x) => x.target === "sap");
  if (!t) throw new Error(`no sap in ${JSON.stringify(s)}`);
  return t;
};

describe("postings summary", () => {
  it("during an outage every waiting event is pending or retrying, with the open breaker and the next attempt", async () => {
    rig.sap.setOutage(true, { mode: "503" });
    const events = Array.from({ length: N }, (_, i) =>
      new PositionHistory({ region: rig.nats.region, location: "DC1", sku: `OUT-${i}` }).apply(receive(3)),
    ).flat();
    expect(events).toHaveLength(N);
    await rig.nats.publish(events);

    const during = await waitFor(
      "every waiting event counted while the breaker is open",
      () => {
        const s = service.summary();
        const sap = sapOf(s);
        return sap.breaker.state === "open" &&
          sap.retrying.count > 0 &&
          sap.pending.count + sap.retrying.count === N
          ? s
          : undefined;
      },
      20_000,
    );
    const sap = sapOf(during);
    // What the status view counted before: the ledger's rows, at most the one batch the worker holds.
    const ledgerRows = rig.ledger.statusFigures().reduce((n, f) => n + f.count, 0);
    expect(ledgerRows).toBeLessThanOrEqual(FETCH_BATCH);
    expect(sap.pending.queued).toBeGreaterThanOrEqual(N - FETCH_BATCH);
    expect(sap.pending.inFlight + sap.retrying.count).toBe(ledgerRows);
    expect(sap).toMatchObject({ acked: 0, dead: 0 });
    expect(sap.pending.queuedSampledAt).not.toBeNull();
    expect(sap.pending.oldestAgeMs).toBeGreaterThanOrEqual(0);
    expect(sap.retrying.oldestSince).not.toBeNull();
    // While the breaker is open, the next attempt is its trial call, no earlier.
    expect(sap.breaker.nextTrialAt).not.toBeNull();
    expect(sap.retrying.nextAttemptAt! >= sap.breaker.nextTrialAt!).toBe(true);
    expect(sap.regions.map((r) => r.region)).toEqual([rig.nats.region]);
    expect(sap.regions[0]?.pending.count).toBe(sap.pending.count);

    // The status view's table: PENDING is what waits, not 0.
    const table = renderPostingsTable(during);
    const row = table.find((l) => l.startsWith("sap"))!;
    const [, acked, pending, retrying, dead] = row.split(/\s+/);
    expect([acked, pending, retrying, dead]).toEqual([
      "0",
      String(sap.pending.count),
      String(sap.retrying.count),
      "0",
    ]);
    expect(row).toMatch(/OPEN/);
    expect(table.join("\n")).toMatch(/not read yet/);

    // GET /v1/postings/summary and `stockline postings` answer the same.
    const app = Fastify();
    registerPostingRoutes(app, service);
    const res = await app.inject({ method: "GET", url: "/v1/postings/summary" });
    expect(res.statusCode).toBe(200);
    const viaApi = sapOf(res.json() as PostingsSummary);
    expect(viaApi.pending.count + viaApi.retrying.count).toBe(N);
    expect(viaApi.breaker.state).toBe("open");
    expect(Object.keys(viaApi.pending).sort()).toEqual(
      ["count", "inFlight", "oldestAgeMs", "oldestSince", "queued", "queuedSampledAt"].sort(),
    );
    expect(viaApi.retrying.nextAttemptAt).toEqual(expect.any(String));
    await app.listen({ port: 0, host: "127.0.0.1" });
    try {
      const api = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
      const lines: string[] = [];
      const program = new Command().name("stockline").exitOverride();
      registerPostingsCommands(program, (l) => lines.push(l));
      await program.parseAsync(["node", "stockline", "postings", "--api", api]);
      expect(lines[0]).toMatch(/^POSTINGS TO ERPs\s+ACKED\s+PENDING\s+RETRYING\s+DEAD/);
      const cliRow = lines.find((l) => l.startsWith("sap"))!;
      expect(Number(cliRow.split(/\s+/)[2]) + Number(cliRow.split(/\s+/)[3])).toBe(N);
      lines.length = 0;
      await program.parseAsync(["node", "stockline", "postings", "summary", "--json", "--api", api]);
      const json = JSON.parse(lines.join("\n")) as PostingsSummary;
      expect(sapOf(json).pending.count + sapOf(json).retrying.count).toBe(N);
    } finally {
      await app.close();
    }

    // The ERP is back: everything is posted once, nothing waits, the breaker closes.
    rig.sap.setOutage(false);
    const after = await waitFor(
      "everything acknowledged and the backlog empty",
      () => {
        const s = sapOf(service.summary());
        return s.acked === N && s.pending.count === 0 && s.retrying.count === 0 ? s : undefined;
      },
      30_000,
    );
    expect(after.breaker.state).toBe("closed");
    expect(after.retrying.nextAttemptAt).toBeNull();
    expect(rig.sap.ledger().filter((d) => d.origin === "api")).toHaveLength(N);
  }, 60_000);

  it("a process without workers (the API on its own) reads the same summary from the ledger", () => {
    const apiOnly = postingService(rig.ledger, []);
    const sap = sapOf(apiOnly.summary());
    // The breaker as the worker last wrote it, and the backlog as last sampled.
    expect(sap.breaker.state).toBe("closed");
    expect(sap.acked).toBe(N);
    expect(sap.pending.queuedSampledAt).not.toBeNull();
  });

  it("errors of the postings routes name the field and the value, in the one error shape", async () => {
    const app = Fastify();
    // As on stockline's server (infra/http): schemas document, the handlers read the inputs.
    app.setValidatorCompiler(() => () => true);
    registerPostingRoutes(app, service);
    const bad = await app.inject({ method: "GET", url: "/v1/postings?status=waiting" });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toEqual({
      error: "bad_request",
      message: 'status: got "waiting", expected one of pending, failed, acked, dead, skipped',
    });
    const limit = await app.inject({ method: "GET", url: "/v1/postings/dead-letters?limit=lots" });
    expect(limit.json()).toEqual({
      error: "bad_request",
      message: 'limit: got "lots", expected an integer from 1 to 100000',
    });
    const missing = await app.inject({ method: "GET", url: "/v1/postings/dead-letters/999999" });
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toMatchObject({ error: "not_found", message: expect.stringMatching(/999999/) });
    const notDead = rig.ledger.list({ target: "sap", status: "acked", limit: 1 })[0]!;
    const retry = await app.inject({ method: "POST", url: `/v1/postings/dead-letters/${notDead.id}/retry` });
    expect(retry.statusCode).toBe(409);
    expect(retry.json()).toMatchObject({ error: "not_dead", message: expect.stringMatching(/is acked/) });
    await app.close();
  });
});
