/**
 * What an operator sees while the local system runs: a start banner saying where to look, then every
 * few seconds plain-text tables — per region what was committed, relayed and projected and which
 * dead letters arrived (with the latest ones spelled out); global ATP of a few SKUs per DC and region
 * with a freshness flag; postings per ERP; and on a schedule a reconciliation with its findings.
 */
import path from "node:path";
import { dlqStreamName, evtStreamName } from "../../infra/nats/subjects.ts";
import { summarizePostings } from "../postings/postings-summary.ts";
import { renderPostingsTable } from "../postings/postings-table.ts";
import type { RunResult } from "../reconciliation/reconciler.ts";
import type { DemoFeed, FeedKind } from "./demo-feed.ts";
import type { LocalSystem } from "./local-system.ts";

type Out = (text: string) => void;

const fmt = (n: number | undefined): string =>
  n === undefined ? "-" : n.toLocaleString("en-US").replace(/,/g, " ");
const pad = (s: unknown, n: number) => String(s).padEnd(n);
const lpad = (s: unknown, n: number) => String(s).padStart(n);
const clip = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);
const mmss = (ms: number) => {
  const s = Math.floor(ms / 1000);
  return `${String(Math.floor(s / 60)).padStart(2, "0")}:${String(s % 60).padStart(2, "0")}`;
};

/** A path as the user would type it from the current folder. */
export const shown = (p: string): string => {
  const rel = path.relative(process.cwd(), p);
  return rel && !rel.startsWith("..") ? rel : p;
};

const ERP_NAMES: Record<string, string> = { sap: "SAP S/4HANA", d365: "Dynamics 365" };

export const renderBanner = (
  sys: LocalSystem,
  feed: DemoFeed | undefined,
  opts: { rate: number; seed: number; requestedApiPort: number; durationS?: number },
): string => {
  const api = sys.apiUrl;
  const k = sys.keys;
  const sku = feedSkus(feed)[0] ?? "85123A";
  const eu = sys.layouts[0];
  const dc = eu?.dcs[0]?.id ?? "DC-AMS";
  const stores = sys.regions.map((r) => `--store ${shown(sys.parts.get(r)?.storePath ?? "")}`).join(" ");
  const cli = "npx tsx services/cli.ts";
  const apiOpt = api === "http://127.0.0.1:8080" ? "" : ` --api ${api}`;
  const lines = [
    "",
    "stockline — local system is up",
    "",
    `  NATS       hub ${sys.topology.hub.url}; ${sys.regions.map((r) => `${r} ${sys.topology.regions[r]?.url}`).join("; ")} (leaf-linked JetStream domains)`,
    ...(sys.topology.credentials
      ? [
          `             secured: a user per role, passwords in ${shown(path.join(sys.topology.dir, "credentials"))}`,
        ]
      : []),
    `  ERPs       ${Object.entries(sys.simulatorUrls)
      .map(([id, url]) => `${ERP_NAMES[id] ?? id} simulator ${url}`)
      .join("; ")}`,
    `  API        ${api}    docs ${api}/docs    metrics ${api}/metrics`,
    ...(opts.requestedApiPort !== 0 && !api.endsWith(`:${opts.requestedApiPort}`)
      ? [`             (port ${opts.requestedApiPort} was taken, so the API took a free one)`]
      : []),
    `  API keys   commerce ${k.commerce}   warehouse ${k.warehouse}   operations ${k.operations}   finance ${k.finance}`,
    `  data       ${shown(sys.dataDir)} (event stores ${sys.regions.map((r) => shown(sys.parts.get(r)?.storePath ?? "")).join(", ")})`,
    `  logs       ${sys.logFile ? shown(sys.logFile) : "(caller's logger)"}`,
    "",
    "Every few seconds a status view follows. How to read it:",
    "  EVENTS    committed to the region's event store      RELAYED   of those, published to INV_EVT_<R>",
    "  PROJ.LAG  events not yet in the regional ATP model   HUB VIEW  freshness of the region in the global view",
    "  DEAD LETTERS  commands refused into INV_DLQ_<R>, by reason; the new ones are spelled out below the table",
    "  OUTBOX    transfers a region derived and has not yet handed to the destination region (waiting, oldest age)",
    "  ATP       available to promise per DC, region and in total, as the API answers it (* = region stale)",
    "  POSTINGS  events booked into each ERP: acknowledged, pending (not attempted yet, read or still in INV_EVT_<R>),",
    "            retrying after an error (next attempt shown), dead-lettered; the ERP's circuit breaker",
    "",
    "Try, in another terminal:",
    `  curl -s -H 'x-api-key: ${k.commerce}' ${api}/v1/availability/${sku}`,
    `  curl -s -X POST -H 'x-api-key: ${k.commerce}' -H 'content-type: application/json' \\`,
    `       -d '{"sku":"${sku}","region":"eu","quantity":2,"channel":"webshop-eu"}' ${api}/v1/reservations`,
    `  curl -s -H 'x-api-key: ${k.warehouse}' '${api}/v1/positions/${dc}/${sku}?region=eu'`,
    `  ${cli} replay ${dc} ${sku} --store ${shown(sys.parts.get("eu")?.storePath ?? "")} --verify`,
    `  ${cli} verify --region eu --store ${shown(sys.parts.get("eu")?.storePath ?? "")}`,
    `  ${cli} trace <order id, shown below> ${stores} --postings ${shown(path.join(sys.dataDir, "postings.db"))}`,
    `  STOCKLINE_API_KEY=${k.operations} ${cli} dlq list${apiOpt}        (postings the ERPs refused)`,
    `  STOCKLINE_API_KEY=${k.operations} ${cli} dlq commands list${apiOpt}   (commands the nodes refused; then dlq commands show|retry <region> <seq> [--payload fixed.json])`,
    `  STOCKLINE_API_KEY=${k.operations} ${cli} reconcile${apiOpt}       (ERP balances vs the event ledger)`,
    "",
  ];
  if (feed) {
    const c = feed.catalog;
    lines.push(
      `Feed: ${fmt(feed.positions)} SKU-locations (${sys.regions.length} regions × ${sys.layouts[0]?.dcs.length ?? 0} DCs × ${c.items.length} SKUs), ` +
        `${opts.rate} commands/s, seed ${opts.seed}${opts.durationS ? `, for ${opts.durationS} s` : ", until Ctrl-C"}`,
    );
    lines.push(
      c.attribution
        ? `  ${c.attribution.replace(/ read at run time from .*/, "")} read at run time from ${shown(c.file ?? "")}`
        : "  SKUs are synthetic (the UCI Online Retail sample was not found beside the repository)",
    );
    lines.push(
      "  WMS picks, receipts, shipments, transfers and counts go to INV_CMD_<R>; web-shop reservations go through the API.",
      "  Now and then an ERP books a receipt at a DC (refused: the WMS owns receipts there) and a connector sends a broken message: both become dead letters.",
      "",
    );
  }
  return lines.join("\n");
};

const feedSkus = (feed: DemoFeed | undefined): string[] => (feed ? feed.catalog.items.map((i) => i.sku) : []);

interface RegionFigures {
  region: string;
  committed: number;
  relayed: number;
  projectorPending: number | undefined;
  deadLetters: Record<string, number>;
  deadTotal: number;
  latestDead: { reason: string; code: string; message: string; where: string }[];
  /** The transfer outbox per destination region, only where something waits or delivery fails. */
  outbox: string;
}

/** `us 12 (oldest 40s, backing off)`, per destination; `-` when nothing waits. */
const outboxText = (
  status: ReadonlyArray<{ destination: string; depth: number; oldestAgeMs: number; state: string }>,
): string => {
  const waiting = status.filter((s) => s.depth > 0 || s.state === "backingOff");
  if (waiting.length === 0) return "-";
  return waiting
    .map(
      (s) =>
        `${s.destination} ${fmt(s.depth)} (oldest ${Math.round(s.oldestAgeMs / 1000)}s${s.state === "backingOff" ? ", backing off" : ""})`,
    )
    .join("; ");
};

export class StatusView {
  private readonly startedAt = Date.now();
  private lastSent = 0;
  private lastAt = Date.now();
  private readonly seenDead = new Map<string, number>();

  constructor(
    private readonly sys: LocalSystem,
    private readonly feed: DemoFeed | undefined,
    private readonly out: Out,
    private readonly opts: { skusShown?: number } = {},
  ) {}

  private async regionFigures(region: string): Promise<RegionFigures> {
    const p = this.sys.parts.get(region);
    if (!p) throw new Error(`no region ${region}`);
    // Relayed first: read the other way round, the relay could look ahead of the store. The store's
    // head is then what follows the relay's checkpoint (the relay is close behind it).
    const relayed = p.node.relay.checkpoint;
    let committed = relayed;
    for (;;) {
      const page = await p.node.store.readAll({ fromPosition: committed, maxCount: 1_000 });
      if (page.length === 0) break;
      committed = page[page.length - 1]!.globalPosition;
    }
    let projectorPending: number | undefined;
    try {
      const ci = await p.jsm.consumers.info(evtStreamName(region), "atp-projector");
      projectorPending = ci.num_pending + ci.num_ack_pending;
    } catch {
      projectorPending = undefined;
    }
    const deadLetters: Record<string, number> = {};
    const latestDead: RegionFigures["latestDead"] = [];
    let deadTotal = 0;
    try {
      const stream = dlqStreamName(region);
      const si = await p.jsm.streams.info(stream, { subjects_filter: ">" });
      for (const [subject, n] of Object.entries(si.state.subjects ?? {})) {
        const reason = subject.split(".").at(-1) ?? subject;
        deadLetters[reason] = (deadLetters[reason] ?? 0) + n;
      }
      deadTotal = si.state.messages;
      // Spell out the dead letters that arrived since the last view (at most five per region).
      const seen = this.seenDead.get(region) ?? si.state.first_seq - 1;
      const from = Math.max(seen + 1, si.state.last_seq - 4);
      for (let seq = from; seq <= si.state.last_seq && seq > 0; seq++) {
        const m = await p.jsm.streams.getMessage(stream, { seq }).catch(() => null);
        if (!m) continue;
        const d = m.json<{
          reason: string;
          code: string;
          message: string;
          context?: { location?: string; sku?: string; sourceSystem?: string };
        }>();
        latestDead.push({
          reason: d.reason,
          code: d.code,
          message: d.message,
          where: [d.context?.location, d.context?.sku].filter(Boolean).join(" "),
        });
      }
      this.seenDead.set(region, si.state.last_seq);
    } catch {
      // no dead letters stream yet
    }
    return {
      region,
      committed,
      relayed,
      projectorPending,
      deadLetters,
      deadTotal,
      latestDead,
      outbox: outboxText(p.node.relay.outbox.status()),
    };
  }

  async render(): Promise<string> {
    const sys = this.sys;
    const now = Date.now();
    const lines: string[] = [];
    const feed = this.feed;
    let feedLine = "no feed";
    if (feed) {
      const s = feed.stats;
      // The opening stock is a burst before the mix: leave it out of the rate.
      const mixSent = s.sent - s.byKind["opening receipt"];
      const rate = ((mixSent - this.lastSent) * 1000) / Math.max(1, now - this.lastAt);
      this.lastSent = mixSent;
      this.lastAt = now;
      const kinds = (Object.entries(s.byKind) as [FeedKind, number][])
        .filter(([, n]) => n > 0)
        .map(([k, n]) => `${k} ${fmt(n)}`)
        .join(", ");
      const expired = [...sys.parts.values()].reduce((n, p) => n + p.expiry.stats.expired, 0);
      feedLine =
        `feed       ${rate.toFixed(1)} cmd/s, ${fmt(s.sent)} sent: ${kinds}\n` +
        `web shops  ${fmt(s.reservations.confirmed)} reservations confirmed, ${fmt(s.reservations.short)} refused as short (409), ` +
        `${fmt(s.reservations.abandoned)} carts abandoned, ${fmt(expired)} reservations expired` +
        (s.reservations.failed + s.publishFailures > 0
          ? `; ${s.reservations.failed + s.publishFailures} FAILED (${s.lastError ?? ""})`
          : "");
    }
    lines.push(
      `── stockline · running ${mmss(now - this.startedAt)} · ${new Date(now).toISOString().slice(11, 19)} UTC ${"─".repeat(80)}`,
    );
    lines.push(feedLine);
    lines.push("");

    // Regions.
    const freshness = new Map(sys.global.freshness(now).map((f) => [f.region, f]));
    const figures = await Promise.all(sys.regions.map((r) => this.regionFigures(r)));
    lines.push(
      `${pad("REGION", 8)}${lpad("EVENTS", 9)}${lpad("RELAYED", 9)}${lpad("PROJ.LAG", 10)}  ${pad("HUB VIEW", 22)}${pad("OUTBOX", 14)}DEAD LETTERS (INV_DLQ)`,
    );
    for (const f of figures) {
      const fr = freshness.get(f.region);
      const hub = fr
        ? fr.stale
          ? `STALE ${Math.round((fr.stalenessMs ?? 0) / 1000)}s (${fr.relayLagEvents ? `relay ${fmt(fr.relayLagEvents)} behind` : fr.link})`
          : `fresh, link ${fr.link}`
        : "?";
      const dead =
        f.deadTotal === 0
          ? "none"
          : `${f.deadTotal}: ${Object.entries(f.deadLetters)
              .map(([r, n]) => `${r} ${n}`)
              .join(", ")}`;
      lines.push(
        `${pad(f.region, 8)}${lpad(fmt(f.committed), 9)}${lpad(fmt(f.relayed), 9)}${lpad(fmt(f.projectorPending), 10)}  ${pad(hub, 22)}${pad(f.outbox, 14)}${dead}`,
      );
    }
    // New dead letters by region and reason, with the latest one as the example.
    const newDead = new Map<string, { n: number; example: string }>();
    for (const f of figures)
      for (const d of f.latestDead) {
        const where = d.code === "malformedJson" || !d.where ? "" : ` [${d.where}]`;
        const key = `${f.region} ${d.reason}`;
        newDead.set(key, { n: (newDead.get(key)?.n ?? 0) + 1, example: `${clip(d.message, 130)}${where}` });
      }
    if (newDead.size > 0) lines.push("  new since the last view:");
    for (const [key, { n, example }] of newDead) lines.push(`    ${pad(`${key} ×${n}`, 24)} ${example}`);
    lines.push("");

    // Global ATP of a few SKUs.
    const skus = feedSkus(feed).slice(0, this.opts.skusShown ?? 6);
    if (skus.length > 0) {
      const catalog = feed ? feed.catalog : undefined;
      const descOf = new Map(catalog?.items.map((i) => [i.sku, i.description]));
      const head = [`${pad("ATP (global view)", 44)}`];
      for (const l of sys.layouts) {
        for (const dc of l.dcs) head.push(lpad(dc.id, 8));
        head.push(lpad(l.region.toUpperCase(), 7));
      }
      head.push(lpad("TOTAL", 8), lpad("RESERVED", 10), lpad("ON HAND", 9));
      lines.push(head.join(""));
      for (const sku of skus) {
        const g = sys.global.getGlobalAvailability(sku);
        const row = [pad(`${pad(sku, 8)} ${clip(descOf.get(sku) ?? "", 34)}`, 44)];
        for (const l of sys.layouts) {
          for (const dc of l.dcs) row.push(lpad(fmt(g?.locations[`${l.region}/${dc.id}`]?.atp), 8));
          const stale = freshness.get(l.region)?.stale ? "*" : "";
          row.push(lpad(`${fmt(g?.byRegion[l.region]?.atp)}${stale}`, 7));
        }
        row.push(lpad(fmt(g?.total.atp), 8), lpad(fmt(g?.total.reserved), 10), lpad(fmt(g?.total.onHand), 9));
        lines.push(row.join(""));
      }
      const anyStale = [...freshness.values()].some((f) => f.stale);
      lines.push(
        anyStale
          ? "  * region stale: its last known figures, held back by the degraded-mode haircut for reservations"
          : `  every region fresh; figures complete as of ${fmtTime(minAsOf([...freshness.values()].map((f) => f.asOf)))}`,
      );
      lines.push("");
    }

    // Postings: the summary the API serves (GET /v1/postings/summary), breakers as this process holds them.
    const summary = summarizePostings(sys.ledger, {
      now: new Date(now),
      targets: sys.targets.map((t) => t.connector.id),
      breakers: new Map(sys.targets.map((t) => [t.connector.id, t.status()])),
    });
    lines.push(
      ...renderPostingsTable(summary, (id) => {
        const regions = sys.layouts.filter((l) => l.erpTarget === id).map((l) => l.region);
        return `${id} (${ERP_NAMES[id] ?? id}, ${regions.join("+")})`;
      }),
    );
    if (feed?.stats.tracedOrder) {
      const o = feed.stats.tracedOrder;
      lines.push("");
      lines.push(
        `  an order to trace: ${o.order} (${o.region}/${o.location} ${o.sku}): npx tsx services/cli.ts trace ${o.order} --store ${shown(sys.parts.get(o.region)?.storePath ?? "")} --postings ${shown(path.join(sys.dataDir, "postings.db"))}`,
      );
    }
    if (feed?.stats.crossRegionTransfer) {
      const t = feed.stats.crossRegionTransfer;
      lines.push(
        `  a transfer across regions: ${t.transferOrder} ${t.sku} ${t.from} -> ${t.to}: npx tsx services/cli.ts trace ${t.transferOrder} ${sys.regions.map((r) => `--store ${shown(sys.parts.get(r)?.storePath ?? "")}`).join(" ")} --postings ${shown(path.join(sys.dataDir, "postings.db"))}`,
      );
    }
    return lines.join("\n");
  }

  async print(): Promise<void> {
    this.out(`${await this.render()}\n`);
  }

  /** A reconciliation run, summarised: the report's head and every position with a finding. */
  async reconcile(trigger: string): Promise<RunResult | undefined> {
    try {
      const r = await this.sys.reconciler.run({ trigger });
      this.out(renderReconciliation(r, this.sys.apiUrl, this.sys.keys.operations));
      return r;
    } catch (err) {
      // The reconciler already retried its balance reads; an ERP that stays down shows here.
      this.out(`\nreconciliation failed: ${(err as Error).message}; next scheduled run in a minute\n`);
      return undefined;
    }
  }
}

const minAsOf = (xs: readonly (string | undefined)[]): string | undefined => {
  if (xs.some((x) => x === undefined)) return undefined;
  return (xs as string[]).sort()[0];
};
const fmtTime = (iso: string | undefined) => (iso ? `${iso.slice(11, 23)} UTC` : "-");

/** The report's two head lines, then only the targets and positions with findings. */
export const renderReconciliation = (r: RunResult, apiUrl: string, operationsKey: string): string => {
  const report = r.report.split("\n");
  const lines = ["", `══ RECONCILIATION ${"═".repeat(100)}`, ...report.slice(0, 2)];
  if (r.findings.length > 0) {
    // Keep group headers and rows that belong to a finding (finding rows and their indented notes).
    let group: string[] = [];
    let keep = false;
    const flush = () => {
      if (keep) lines.push(...group);
      group = [];
      keep = false;
    };
    for (const line of report.slice(2)) {
      if (line === "") {
        flush();
        group.push(line);
        continue;
      }
      if (!line.startsWith(" ")) {
        group.push(line);
        continue;
      }
      if (line.trimStart().startsWith("SKU")) {
        group.push(line);
        continue;
      }
      if (line.includes("in sync")) continue;
      group.push(line);
      keep = true;
    }
    flush();
  }
  const counts = r.findings.reduce<Record<string, number>>((m, f) => {
    m[f.class] = (m[f.class] ?? 0) + 1;
    return m;
  }, {});
  lines.push(
    "",
    counts.unexplained
      ? "  UNEXPLAINED findings are changes made in an ERP outside the sync: approve the proposed adjustment or investigate."
      : counts.inFlight
        ? "  In-flight findings are postings not yet acknowledged while the feed runs: they clear on the next run."
        : "  Every ERP balance matches the event ledger.",
    `  full report: curl -s -H 'x-api-key: ${operationsKey}' ${apiUrl}/v1/reconciliation/runs/${r.run.id}/report`,
    "═".repeat(119),
    "",
  );
  return lines.join("\n");
};
