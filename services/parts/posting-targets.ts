/**
 * The posting targets of a distributor as connectors (services/postings), the postings ledger file
 * they share, and the event ledger over every region's store that reconciliation reads. Used by the
 * posting workers, the reconciler and the API (dead-letter replays, on-demand runs).
 */
import path from "node:path";
import type { NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "pino";
import type { Command } from "../../domain/commands.ts";
import { unitsOf } from "../../domain/units.ts";
import type { DistributorConfig } from "../../infra/config/distributor-config.ts";
import { postingTargetsOf, routingOf } from "../../infra/config/distributor-parts.ts";
import { sourceReqSubject } from "../../infra/nats/subjects.ts";
import { createD365Connector } from "../postings/d365-connector.ts";
import { PostingsLedger } from "../postings/postings-ledger.ts";
import { createSapConnector } from "../postings/sap-connector.ts";
import type { TargetConnector } from "../postings/target-connector.ts";
import { type EventLedger, eventStoreLedger, Reconciler } from "../reconciliation/reconciler.ts";
import type { ReconciliationStore } from "../reconciliation/reconciliation-store.ts";
import { type CommandReply, decodeCommandReply } from "../regional-node/command-reply.ts";
import type { OpenedStore } from "./region-stores.ts";

export const connectorsOf = (d: DistributorConfig): Map<string, TargetConnector> =>
  new Map(
    postingTargetsOf(d).map((t) => [
      t.id,
      t.kind === "sap-s4hana" ? createSapConnector(t) : createD365Connector(t),
    ]),
  );

/** The one postings ledger of the deployment (SQLite in WAL mode: workers, API and reconciler share it). */
export const openPostingsLedger = (d: DistributorConfig): PostingsLedger =>
  new PostingsLedger(path.join(d.dataDir, "postings.db"));

/** Regions whose committed events a routing rule sends to `target`. */
export const regionsRoutedTo = (d: DistributorConfig, target: string): string[] => {
  const rules = routingOf(d).rules.filter((r) => r.target === target);
  return d.regions.filter((region) => rules.some((r) => !r.regions || r.regions.includes(region)));
};

/** One event ledger over every region's store: a location's events are in its region's store. */
export const eventLedgerOf = (d: DistributorConfig, stores: readonly OpenedStore[]): EventLedger => {
  const ledgers = new Map(stores.map((s) => [s.region, eventStoreLedger(s.store)]));
  const of = (region: string | undefined): EventLedger => {
    const l = region === undefined ? undefined : ledgers.get(region);
    if (!l) throw new Error(`no event store for region ${JSON.stringify(region)}`);
    return l;
  };
  return {
    skusAt: (location) => of(d.masterData.location(location)?.region).skusAt(location),
    eventsOf: (position) => of(position.region).eventsOf(position),
  };
};

/** Sends a compensating command over request/reply on its source's subject (the reconciler speaks as the ERP). */
export const submitVia =
  (nc: NatsConnection) =>
  async (command: Command): Promise<CommandReply> => {
    const msg = await nc.request(
      sourceReqSubject(command.position.region, command.source.system),
      JSON.stringify(command),
      { timeout: 5_000 },
    );
    const reply = decodeCommandReply(JSON.parse(new TextDecoder().decode(msg.data)));
    if (reply._tag === "Left") throw new Error(`undecodable reply from ${command.position.region}`);
    return reply.right;
  };

/** A reconciler over every target that reconciles (`reconcile` not false) and every region. */
export const reconcilerOf = (
  d: DistributorConfig,
  deps: {
    readonly ledger: PostingsLedger;
    readonly store: ReconciliationStore;
    readonly stores: readonly OpenedStore[];
    readonly submitCommand: (command: Command) => Promise<unknown>;
    readonly replayPosting?: (postingId: number) => Promise<unknown>;
    readonly logger: Logger;
  },
): Reconciler => {
  const reconciled = new Set(
    (d.file.postings?.targets ?? []).filter((t) => t.reconcile !== false).map((t) => t.id),
  );
  const units = d.masterData.units;
  return new Reconciler({
    region: d.regions.join("+"),
    regionOf: (location) => d.masterData.location(location)?.region ?? d.regions[0] ?? "",
    targets: [...connectorsOf(d).values()].filter((c) => reconciled.has(c.id)),
    routing: routingOf(d),
    postings: deps.ledger,
    events: eventLedgerOf(d, deps.stores),
    store: deps.store,
    logger: deps.logger,
    submitCommand: deps.submitCommand,
    baseUomOf: (sku) => unitsOf(units, sku)?.baseUom ?? "EA",
    ...(deps.replayPosting ? { replayPosting: deps.replayPosting } : {}),
  });
};
