/**
 * Real regional SQLite stores in a temp dir, filled with events the domain decider produced
 * (`decide` + `toCanonicalEvents`, through `step`), as the regional node stores them
 * (`data` = the canonical event). Two regions; a transfer from eu-west to us-east whose derived
 * inbound at the destination comes from `inboundTransferCommandFor`.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { type CanonicalEvent, chainEvents, GENESIS_HASH } from "../../domain/canonical-event.ts";
import type { Command } from "../../domain/commands.ts";
import { type Position, positionStreamId } from "../../domain/ids.ts";
import {
  defaultEnv,
  inboundTransferCommandFor,
  initialPositionState,
  type PositionState,
} from "../../domain/position.decider.ts";
import { openSqliteEventStore, type SqliteEventStore } from "../../infra/event-store/sqlite-event-store.ts";
import {
  at,
  count,
  pick,
  receive,
  receiveTransfer,
  reserve,
  shipTransfer,
  step,
} from "../domain/position-spec.ts";

export const ORIGIN: Position = { region: "eu-west", location: "DC 1.A*", sku: "SKU>1 ü" };
export const OTHER: Position = { region: "eu-west", location: "DC 1.A*", sku: "SKU-2" };
export const ELSEWHERE: Position = { region: "eu-west", location: "DC 9", sku: "SKU>1 ü" };
export const DESTINATION: Position = { region: "us-east", location: "DC2", sku: "SKU>1 ü" };
export const TRANSFER_CORRELATION = "corr-TO-9";

export interface Fixture {
  readonly dir: string;
  readonly paths: { readonly eu: string; readonly us: string };
  readonly eu: SqliteEventStore;
  readonly us: SqliteEventStore;
  /** Decider state of each position after each accepted command, in order. */
  readonly states: Map<string, PositionState[]>;
  readonly events: Map<string, CanonicalEvent[]>;
  /** Recorded time of each command of the origin, in order (one per accepted command). */
  readonly originRecorded: string[];
  close(): Promise<void>;
}

const key = (p: Position) => `${p.region}/${positionStreamId(p)}`;

export const buildFixture = async (): Promise<Fixture> => {
  const dir = mkdtempSync(join(tmpdir(), "stockline-audit-"));
  const paths = { eu: join(dir, "eu-west.db"), us: join(dir, "us-east.db") };
  const eu = openSqliteEventStore({ path: paths.eu, synchronous: "OFF" });
  const us = openSqliteEventStore({ path: paths.us, synchronous: "OFF" });
  const states = new Map<string, PositionState[]>();
  const events = new Map<string, CanonicalEvent[]>();
  const originRecorded: string[] = [];

  /** Decides one command at recorded time `now`, appends its events to the position's store. */
  const submit = async (p: Position, command: Command, now: string): Promise<CanonicalEvent[]> => {
    const history = states.get(key(p)) ?? [];
    const state = history[history.length - 1] ?? initialPositionState(p);
    const r = step(state, command, defaultEnv(now));
    if (r.outcome.kind !== "accepted")
      throw new Error(`fixture: ${command.kind} ${JSON.stringify(r.outcome)}`);
    const store = p.region === "us-east" ? us : eu;
    await store.appendToStream(
      positionStreamId(p),
      r.stored.map((e) => ({ eventId: e.eventId, type: e.type, data: e })),
      { expectedRevision: state.revision },
    );
    states.set(key(p), [...history, r.state]);
    events.set(key(p), [...(events.get(key(p)) ?? []), ...r.stored]);
    if (key(p) === key(ORIGIN)) originRecorded.push(now);
    return r.stored;
  };

  const o = { position: ORIGIN };
  await submit(ORIGIN, receive(100, { ...o, businessTime: at(0) }), at(1));
  await submit(ORIGIN, reserve("r1", 10, { ...o, businessTime: at(10) }), at(11));
  await submit(ORIGIN, pick(5, { ...o, businessTime: at(20) }), at(21));
  const [shipped] = await submit(
    ORIGIN,
    shipTransfer(20, "TO-9", {
      ...o,
      businessTime: at(30),
      correlationId: TRANSFER_CORRELATION,
      destination: { region: DESTINATION.region, location: DESTINATION.location },
      source: { system: "wms", document: { type: "transferOrder", id: "TO-9-out" } },
    }),
    at(31),
  );
  // A count taken at 00:15 but sent at 00:40: 90 available as of 00:15 (100 received, then 10 lost).
  await submit(ORIGIN, count(90, { ...o, businessTime: at(15) }), at(41));
  await submit(ORIGIN, receive(7, { ...o, businessTime: at(50) }), at(51));

  if (shipped?.type !== "TransferShipped") throw new Error("fixture: no TransferShipped");
  await submit(DESTINATION, inboundTransferCommandFor(shipped), at(32));
  await submit(
    DESTINATION,
    receiveTransfer(20, "TO-9", {
      position: DESTINATION,
      businessTime: at(60),
      correlationId: "corr-TO-9-in",
    }),
    at(61),
  );

  await submit(OTHER, receive(3, { position: OTHER }), at(2));
  await submit(OTHER, receive(4, { position: OTHER }), at(3));
  await submit(ELSEWHERE, receive(1, { position: ELSEWHERE }), at(4));

  return {
    dir,
    paths,
    eu,
    us,
    states,
    events,
    originRecorded,
    async close() {
      await eu.close();
      await us.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
};

export const statesOf = (f: Fixture, p: Position): PositionState[] => f.states.get(key(p)) ?? [];
export const eventsOf = (f: Fixture, p: Position): CanonicalEvent[] => f.events.get(key(p)) ?? [];

/**
 * What an attacker with write access to the file does: a raw connection, the append-only triggers
 * dropped, then `sql` run. (Use while the adapter's connection is open: WAL lets both coexist.)
 */
export const tamper = (file: string, sql: string, ...args: unknown[]): number => {
  const db = new Database(file);
  try {
    db.exec("DROP TRIGGER IF EXISTS events_are_append_only_update");
    db.exec("DROP TRIGGER IF EXISTS events_are_append_only_delete");
    return db.prepare(sql).run(...args).changes;
  } finally {
    db.close();
  }
};

/**
 * What an attacker with the file does to hide an edit: change the event at `index` (its quantity by
 * `delta`), re-chain the whole stream with recomputed hashes and write every event back in place.
 * `events` is the stream as stored; returns the forged stream.
 */
export const rewriteWithRecomputedHashes = (
  file: string,
  streamId: string,
  events: readonly CanonicalEvent[],
  index: number,
  delta: number,
): CanonicalEvent[] => {
  const forged = chainEvents(
    GENESIS_HASH,
    events.map(({ hash: _h, prevHash: _p, ...e }, i) =>
      i === index ? { ...e, quantity: e.quantity + delta } : e,
    ),
  );
  for (const e of forged)
    tamper(
      file,
      "UPDATE events SET data = ? WHERE stream_id = ? AND revision = ?",
      JSON.stringify(e),
      streamId,
      e.revision,
    );
  return forged;
};
