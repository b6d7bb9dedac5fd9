/**
 * Condition sources: small pollers over what exists, each answering the conditions that hold now
 * about business objects. They read; they never change anything. Each can run in any process that
 * reaches what it reads (the regions' NATS for dead letters, the postings ledger and reconciliation
 * files, the hub's freshness report), so the alerting can run as its own part.
 */
import type { RegionFreshness } from "../../projections/global-atp.projection.ts";
import {
  type CommandDeadLetter,
  type CommandDeadLetterDesk,
  statusOf,
} from "../dead-letters/command-dead-letters.ts";
import type { PostingRow, PostingsLedger } from "../postings/postings-ledger.ts";
import type { FindingRow, ReconciliationStore } from "../reconciliation/reconciliation-store.ts";
import { type AlertKind, RUNBOOK, type Signal } from "./alert-model.ts";

export interface ConditionSource {
  readonly name: string;
  /** Kinds this source reports: its snapshot clears open alerts of these kinds it no longer holds. */
  readonly kinds: readonly AlertKind[];
  poll(now: number): Promise<readonly Signal[]>;
}

const MAX_DOCUMENTS = 5;
const few = (xs: Iterable<string>): string[] => [...new Set(xs)].slice(0, MAX_DOCUMENTS);

/** `ASN 4711` from a command's `source.document` ({ type, id } or whatever the sender gave). */
export const documentLabel = (doc: unknown): string | undefined => {
  if (typeof doc === "string") return doc;
  if (typeof doc !== "object" || doc === null) return undefined;
  const d = doc as Record<string, unknown>;
  const id = d.id ?? d.number ?? d.documentId;
  if (typeof id !== "string" && typeof id !== "number") return undefined;
  return typeof d.type === "string" ? `${d.type} ${id}` : String(id);
};

const quantityOfPayload = (payload: string | undefined): number | undefined => {
  if (!payload) return undefined;
  try {
    const q = (JSON.parse(payload) as { quantity?: unknown }).quantity;
    return typeof q === "number" && Number.isFinite(q) ? q : undefined;
  } catch {
    return undefined;
  }
};

// --- command dead letters (INV_DLQ_<R>) -------------------------------------------------------------------

/**
 * Open command dead letters per region, reason, location and SKU. Reads each stream incrementally
 * (from the last sequence seen) and the operators' marks (`dlq_state_<r>`, few) at every poll: a dead
 * letter retried or resolved leaves the group; the group clears when none is open.
 */
export const commandDeadLetterSource = (
  desks: Iterable<CommandDeadLetterDesk>,
  opts: { readonly pageSize?: number } = {},
): ConditionSource => {
  const perDesk = [...desks].map((desk) => ({ desk, after: 0, open: new Map<number, CommandDeadLetter>() }));
  return {
    name: "command dead letters",
    kinds: ["commandDeadLetter"],
    async poll() {
      const signals: Signal[] = [];
      for (const d of perDesk) {
        for (;;) {
          const page = await d.desk.list({ after: d.after, limit: opts.pageSize ?? 500 });
          for (const it of page.items) d.open.set(it.seq, it);
          if (page.items.length > 0) d.after = Math.max(d.after, ...page.items.map((i) => i.seq));
          if (page.nextAfter === undefined || page.items.length === 0) break;
          d.after = Math.max(d.after, page.nextAfter);
        }
        const states = await d.desk.states();
        const groups = new Map<string, CommandDeadLetter[]>();
        for (const [seq, it] of d.open) {
          const status = statusOf(states.get(seq));
          if (status === "resolved") d.open.delete(seq);
          // `retried`: handed over, its outcome pending; a failed retry is open again.
          if (status !== "open") continue;
          const c = it.deadLetter?.context ?? {};
          const key = `${d.desk.region}/${it.reason}/${c.location ?? "-"}/${c.sku ?? "-"}`;
          groups.set(key, [...(groups.get(key) ?? []), it]);
        }
        for (const [object, items] of groups) signals.push(commandSignal(d.desk.region, object, items));
      }
      return signals;
    },
  };
};

const commandSignal = (region: string, object: string, items: CommandDeadLetter[]): Signal => {
  const last = items[items.length - 1]!;
  const c = last.deadLetter?.context ?? {};
  const quantities = items.map((i) => quantityOfPayload(i.deadLetter?.payload));
  const quantity = quantities.every((q) => q !== undefined)
    ? quantities.reduce<number>((a, q) => a + (q ?? 0), 0)
    : undefined;
  const documents = few(
    items.map((i) => documentLabel(i.deadLetter?.context?.document)).filter((d) => !!d) as string[],
  );
  const what = items.length === 1 ? "A command was" : `${items.length} commands were`;
  const where = [c.sku && `SKU ${c.sku}`, c.location && `at ${c.location}`].filter(Boolean).join(" ");
  const seqs = items.map((i) => i.seq);
  return {
    kind: "commandDeadLetter",
    object,
    severity:
      last.reason === "redeliveryExhausted" || last.reason === "decisionFailed" ? "critical" : "warning",
    title: `Command dead letter (${last.reason}) ${where || `in ${region}`}`.trim(),
    summary:
      `${what} not applied in region ${region} ${where ? `for ${where}` : ""}: ${last.deadLetter?.message ?? last.reason}.`.replace(
        / +/g,
        " ",
      ),
    action: `Fix it at the source or retry with a corrected payload: stockline dlq commands list --region ${region}${c.sku ? ` --sku ${c.sku}` : ""}, then stockline dlq commands retry ${region} ${seqs[0]} (or resolve it).`,
    runbook: RUNBOOK.commandDidNotTakeEffect,
    context: {
      region,
      ...(c.location ? { location: c.location } : {}),
      ...(c.sku ? { sku: c.sku } : {}),
      ...(documents.length ? { documents } : {}),
      ...(quantity !== undefined ? { quantity } : {}),
      ...(c.sourceSystem ? { sourceSystem: c.sourceSystem } : {}),
      details: {
        reason: last.reason,
        code: last.deadLetter?.code ?? "unknown",
        sequences: seqs.slice(0, 20).join(","),
      },
    },
    count: items.length,
  };
};

// --- posting dead letters and breakers (the postings ledger) -------------------------------------------

/** Postings an ERP refused (status `dead`), per target, location and SKU. */
export const postingDeadLetterSource = (
  ledger: PostingsLedger,
  opts: { limit?: number } = {},
): ConditionSource => ({
  name: "posting dead letters",
  kinds: ["postingDeadLetter"],
  async poll() {
    const groups = new Map<string, PostingRow[]>();
    for (const r of ledger.list({ status: "dead", limit: opts.limit ?? 5000 })) {
      const key = `${r.target}/${r.location}/${r.sku}`;
      groups.set(key, [...(groups.get(key) ?? []), r]);
    }
    return [...groups].map(([object, rows]): Signal => {
      const last = rows[rows.length - 1]!;
      const quantity = rows.reduce((a, r) => a + r.effect, 0);
      const n = rows.length === 1 ? "A posting" : `${rows.length} postings`;
      return {
        kind: "postingDeadLetter",
        object,
        severity: "critical",
        title: `${last.target} refused postings of SKU ${last.sku} at ${last.location}`,
        summary: `${n} to ${last.target} (${quantity > 0 ? "+" : ""}${quantity} units of ${last.sku} at ${last.location}) failed for good: ${last.lastError ?? last.errorClass ?? "no error recorded"}.`,
        action: `Fix the cause in the ERP (master data, a blocked material), then stockline dlq retry ${last.id}; stockline dlq show ${last.id} has every attempt.`,
        runbook: RUNBOOK.erpDown,
        context: {
          erp: last.target,
          region: last.region,
          location: last.location,
          sku: last.sku,
          documents: few(rows.map((r) => r.sourceDocument)),
          quantity,
          sourceSystem: last.sourceSystem,
          details: {
            postingIds: rows
              .slice(0, 20)
              .map((r) => r.id)
              .join(","),
            errorClass: last.errorClass ?? "",
          },
        },
        count: rows.length,
      };
    });
  },
});

/** Targets whose circuit breaker is open, with what waits behind them. */
export const breakerSource = (ledger: PostingsLedger): ConditionSource => ({
  name: "breakers",
  kinds: ["breakerOpen"],
  async poll() {
    const figures = ledger.statusFigures();
    return ledger
      .breakers()
      .filter((b) => b.state === "open")
      .map((b): Signal => {
        const waiting = figures
          .filter((f) => f.target === b.target && (f.status === "pending" || f.status === "failed"))
          .reduce((a, f) => a + f.count, 0);
        return {
          kind: "breakerOpen",
          object: b.target,
          severity: "critical",
          title: `${b.target} is unavailable: its circuit breaker is open`,
          summary: `Postings to ${b.target} wait (${waiting} pending or retrying) since ${b.since}; nothing is lost, they are posted once each when it answers.`,
          action:
            `Check the ERP's availability; stockline postings shows the backlog. ${b.nextTrialAt ? `Next trial call at ${b.nextTrialAt}.` : ""}`.trim(),
          runbook: RUNBOOK.erpDown,
          context: { erp: b.target, details: { since: b.since, waiting } },
          count: 1,
        };
      });
  },
});

// --- unexplained drift (reconciliation findings) -------------------------------------------------------

/** Open reconciliation findings (unexplained drift, missing postings), per ERP, position and class. */
export const driftSource = (store: ReconciliationStore): ConditionSource => ({
  name: "reconciliation findings",
  kinds: ["drift"],
  async poll() {
    return store.findings({ status: "open", limit: 5000 }).map(driftSignal);
  },
});

const driftSignal = (f: FindingRow): Signal => {
  const unexplained = f.class === "unexplained";
  return {
    kind: "drift",
    object: `${f.target}/${f.location}/${f.sku}/${f.class}`,
    severity: unexplained ? "critical" : "warning",
    title: `${unexplained ? "Unexplained drift" : "Missing posting"} in ${f.target}: SKU ${f.sku} at ${f.location} (${f.quantity > 0 ? "+" : ""}${f.quantity})`,
    summary: `${f.target} holds ${f.actual} of ${f.sku} at ${f.location}, stockline says ${f.canonical}: ${f.explanation}`,
    action: unexplained
      ? `Find out who booked it in ${f.target}. If right: stockline reconcile approve ${f.id}; if wrong: correct it in the ERP; if nothing is to be done: stockline reconcile findings dismiss ${f.id} --reason "...".`
      : `Approve the replay of the missing postings: stockline reconcile approve ${f.id}.`,
    runbook: RUNBOOK.reconciliationFindings,
    context: {
      erp: f.target,
      region: f.region,
      location: f.location,
      sku: f.sku,
      quantity: f.quantity,
      details: {
        findingId: f.id,
        class: f.class,
        erpBalance: f.actual,
        canonical: f.canonical,
        timesSeen: f.timesSeen,
      },
    },
    count: 1,
  };
};

// --- stale regions (the hub's freshness) ---------------------------------------------------------------

/** Anything that knows each region's freshness: the GlobalProjector, or a GlobalAtpReader. */
export interface FreshnessView {
  freshness(now?: number): readonly RegionFreshness[];
}

/** Regions the hub reports stale: their availability figures may be behind. */
export const staleRegionSource = (
  view: FreshnessView,
  locationsOf: (region: string) => readonly string[] = () => [],
): ConditionSource => ({
  name: "region freshness",
  kinds: ["staleRegion"],
  async poll(now) {
    return view
      .freshness(now)
      .filter((f) => f.stale)
      .map((f): Signal => {
        const secs = f.stalenessMs === undefined ? undefined : Math.round(f.stalenessMs / 1000);
        const locations = locationsOf(f.region);
        return {
          kind: "staleRegion",
          object: f.region,
          severity: "warning",
          title: `Region ${f.region} is stale at the hub${secs === undefined ? "" : ` (${secs} s behind)`}`,
          summary:
            `Global availability of ${locations.length ? locations.join(", ") : `region ${f.region}`} may be behind; reservations against it are held within the constrained figure. ${f.reasons.join("; ")}`.trim(),
          action: `Find where it waits: hub link and mirror (stockline_hub_link_up, stockline_hub_mirror_lag), the region's relay (stockline_node_relay_lag_events), the projector (stockline_projection_consumer_pending).`,
          runbook: RUNBOOK.figuresDisagree,
          context: {
            region: f.region,
            ...(locations.length ? { locations } : {}),
            details: {
              link: f.link,
              ...(secs !== undefined ? { stalenessSeconds: secs } : {}),
              ...(f.relayLagEvents !== undefined ? { relayLagEvents: f.relayLagEvents } : {}),
              ...(f.mirrorLag !== undefined ? { mirrorLag: f.mirrorLag } : {}),
            },
          },
          count: 1,
        };
      });
  },
});
