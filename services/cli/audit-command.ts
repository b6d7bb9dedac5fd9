/**
 * Audit commands of `stockline` (issue 5):
 *   stockline replay <location> <sku> [--region r] [--as-of t] [--by recorded|business] [--verify] [--against url] [--anchor file] [--store path] [--json]
 *   stockline verify (--location l | --region r) [--against url] [--anchor file [--anchor-key-file f]] [--store path] [--json]
 *   stockline trace <correlationId> [--store path ...] [--region r ...] [--postings path ...] [--json]
 *
 * A store is a regional SQLite event store: `--store <path>`, or the node's default for `--region r`
 * (`.data/<r>/events.db`). `--against <nats-url>` (with `--region`) also holds each stream's head
 * against the last event the relay published to `INV_EVT_<R>` there (`--js-domain d` to reach it
 * through another server, e.g. the hub's mirror): a truncated tail or a rewritten stream shows even
 * when every hash was recomputed. `--anchor <file>` does the same offline against the region's anchor log
 * (infra/anchor/anchor-log.ts), after checking the log's own chain and MACs (keys from
 * `--anchor-key-file`, repeatable, or STOCKLINE_ANCHOR_KEY). Exit codes: 0 fine, 1 a chain is broken
 * (or the anchor is, or the store does not reach it), 2 bad usage or nothing found.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { jetstreamManager } from "@nats-io/jetstream";
import { SingleBar } from "cli-progress";
import type { Command } from "commander";
import { Option } from "commander";
import * as E from "fp-ts/lib/Either.js";
import type * as t from "io-ts";
import { toDecodeErrors } from "../../domain/decode-errors.ts";
import { positionStreamId } from "../../domain/ids.ts";
import { IsoTimestampC, RegionC } from "../../domain/scalars.ts";
import {
  type AnchorKey,
  type AnchorLog,
  loadAnchorKey,
  readAnchorLines,
  readAnchorLog,
} from "../../infra/anchor/anchor-log.ts";
import { anchorStreamName, streamedLines } from "../../infra/anchor/anchor-stream.ts";
import { natsAuthFromEnv } from "../../infra/config/nats-auth.ts";
import { openSqliteEventStore, type SqliteEventStore } from "../../infra/event-store/sqlite-event-store.ts";
import { connectNats, drainAndClose } from "../../infra/nats/connection.ts";
import { anchorStoreIssues } from "../audit/anchor-check.ts";
import { renderAnchor, renderReplay, renderTrace, renderVerifyMany } from "../audit/audit-report.ts";
import { jetStreamPublishedHeads } from "../audit/published-heads.ts";
import { type AsOfBy, type PublishedHeads, replayPosition, verifyPositions } from "../audit/replay.ts";
import { ledgerPostingsFor, type PostingRecord, type PostingsFor, traceCorrelation } from "../audit/trace.ts";

export interface AuditIo {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  readonly setExitCode: (code: number) => void;
  /** Where progress bars draw (default process.stderr; they only draw on a TTY). */
  readonly progressStream?: NodeJS.WritableStream;
}

const processIo: AuditIo = {
  out: (s) => process.stdout.write(`${s}\n`),
  err: (s) => process.stderr.write(`${s}\n`),
  setExitCode: (code) => {
    process.exitCode = code;
  },
};

export const EXIT_BROKEN = 1;
export const EXIT_USAGE = 2;

class UsageError extends Error {}

/** The node's default store of a region (infra/config/node-config.ts: `.data/<region>/events.db`). */
export const defaultStorePath = (region: string): string => path.resolve(".data", region, "events.db");

const optionError = (option: string, errors: t.Errors): string =>
  toDecodeErrors(errors)
    .map((e) => `${option}: got ${JSON.stringify(e.value)}, expected ${e.expected}`)
    .join("; ");

const checkRegion = (region: string): string => {
  const r = RegionC.decode(region);
  if (E.isLeft(r)) throw new UsageError(optionError("--region", r.left));
  return region;
};

const openExisting = (file: string): SqliteEventStore => {
  // Opening creates a missing file: an audit must not invent an empty store.
  if (!existsSync(file)) throw new UsageError(`no event store at ${file}`);
  return openSqliteEventStore({ path: file });
};

const storePathOf = (opts: { store?: string; region?: string }): string => {
  if (opts.store) return path.resolve(opts.store);
  if (opts.region) return defaultStorePath(checkRegion(opts.region));
  throw new UsageError("give --store <path> or --region <r> (whose default store is .data/<r>/events.db)");
};

const checkTime = (field: string, value: string): string => {
  const r = IsoTimestampC.decode(value);
  if (E.isLeft(r)) throw new UsageError(optionError(field, r.left));
  return value;
};

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

const guarded =
  <A extends unknown[]>(io: AuditIo, body: (...args: A) => Promise<number>) =>
  async (...args: A): Promise<void> => {
    try {
      io.setExitCode(await body(...args));
    } catch (error) {
      if (!(error instanceof UsageError)) throw error;
      io.err(`error: ${error.message}`);
      io.setExitCode(EXIT_USAGE);
    }
  };

const progressBar = (io: AuditIo, format: string): SingleBar =>
  new SingleBar(
    { stream: io.progressStream ?? process.stderr, format, hideCursor: true, clearOnComplete: true },
    // The legacy preset without colours keeps logs and ticket pastes clean.
    { barCompleteChar: "#", barIncompleteChar: "-", format },
  );

interface AgainstOpts {
  against?: string;
  jsDomain?: string;
  anchor?: string;
  anchorKeyFile?: string[];
}
interface ReplayOpts extends AgainstOpts {
  region?: string;
  asOf?: string;
  by: AsOfBy;
  verify?: boolean;
  store?: string;
  json?: boolean;
}
interface VerifyOpts extends AgainstOpts {
  location?: string;
  region?: string;
  store?: string;
  json?: boolean;
}

/** A connection for the audit; a server that cannot be reached is a usage error naming the flag. */
const connectAudit = async (
  flag: string,
  servers: string,
): Promise<Awaited<ReturnType<typeof connectNats>>> => {
  try {
    // Credentials from STOCKLINE_NATS_* (infra/config/nats-auth.ts), never on the command line.
    return await connectNats({
      servers,
      name: "stockline-audit",
      reconnect: false,
      auth: natsAuthFromEnv(process.env),
    });
  } catch (err) {
    throw new UsageError(`${flag} ${servers}: ${(err as Error).message}`);
  }
};
/** Runs `body` with the published heads of `--against` (a NATS connection for its duration), or none. */
const withPublished = async <T>(
  opts: AgainstOpts,
  region: string | undefined,
  body: (published: PublishedHeads | undefined) => Promise<T>,
): Promise<T> => {
  if (!opts.against) return body(undefined);
  if (!region) throw new UsageError("--against needs --region <r> (whose INV_EVT_<R> to read)");
  const nc = await connectAudit("--against", opts.against);
  try {
    const jsm = await jetstreamManager(nc, opts.jsDomain ? { domain: opts.jsDomain } : {});
    return await body(jetStreamPublishedHeads(jsm, region));
  } finally {
    await drainAndClose(nc).catch(() => {});
  }
};
/**
 * The anchor log of `--anchor`, read and checked (keys from `--anchor-key-file` and the environment):
 * a file, or `nats://…` for its copy in INV_ANCHOR_<R> (with `--region`, and `--js-domain` if needed).
 */
const loadAnchor = async (opts: AgainstOpts, region: string | undefined): Promise<AnchorLog | undefined> => {
  if (!opts.anchor) return undefined;
  const keys = anchorKeys(opts);
  if (/^(nats|tls):\/\//.test(opts.anchor)) {
    if (!region)
      throw new UsageError("--anchor <nats-url> needs --region <r> (whose INV_ANCHOR_<R> to read)");
    const nc = await connectAudit("--anchor", opts.anchor);
    try {
      const jsm = await jetstreamManager(nc, opts.jsDomain ? { domain: opts.jsDomain } : {});
      const name = `${anchorStreamName(region)} at ${opts.anchor}`;
      return await readAnchorLines(name, streamedLines(jsm, region), true, { keys, region });
    } catch (err) {
      throw new UsageError(`--anchor ${opts.anchor}: ${(err as Error).message}`);
    } finally {
      await drainAndClose(nc).catch(() => {});
    }
  }
  const file = path.resolve(opts.anchor);
  if (!existsSync(file)) throw new UsageError(`no anchor log at ${file}`);
  return readAnchorLog(file, { keys, region });
};

const anchorKeys = (opts: AgainstOpts): AnchorKey[] => {
  let keys: AnchorKey[];
  try {
    const fromEnv = loadAnchorKey({ env: process.env });
    keys = [
      ...(opts.anchorKeyFile ?? []).map((f) => loadAnchorKey({ keyFile: path.resolve(f) }) as AnchorKey),
      ...(fromEnv ? [fromEnv] : []),
    ];
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  return keys;
};

interface TraceOpts {
  store?: string[];
  region?: string[];
  postings?: string[];
  json?: boolean;
}

const anchorJson = (log: AnchorLog, store?: Awaited<ReturnType<typeof anchorStoreIssues>>) => ({
  file: log.file,
  lines: log.lines,
  firstAt: log.firstAt,
  lastAt: log.lastAt,
  position: log.position,
  streams: log.heads.size,
  macsChecked: log.macsChecked,
  problems: log.problems,
  warnings: [...log.warnings, ...(store?.warnings ?? [])],
  ...(store ? { store } : {}),
});

/** Long streams get a progress bar (on a TTY) while they replay. */
const PROGRESS_FROM_EVENTS = 5000;

export const registerAuditCommands = (program: Command, io: AuditIo = processIo): Command => {
  program
    .command("replay")
    .description(
      "replay a position's stream: each event and the state after it; --verify checks the hash chain",
    )
    .argument("<location>", "location id, verbatim")
    .argument("<sku>", "SKU id, verbatim")
    .option("--region <region>", "region of the position (and of its default store)")
    .option("--as-of <time>", "ISO 8601 time: replay only the events up to it (see --by)")
    .addOption(
      new Option("--by <clock>", "recorded: what we knew at --as-of; business: what the stock was at --as-of")
        .choices(["recorded", "business"])
        .default("recorded"),
    )
    .option("--verify", "verify the hash chain; exit 1 when it is broken")
    .option("--against <nats-url>", "with --verify and --region: hold the head against INV_EVT_<R> there")
    .option(
      "--js-domain <domain>",
      "JetStream domain of INV_EVT_<R> behind --against (e.g. the region's, from the hub)",
    )
    .option(
      "--anchor <file>",
      "hold the store against this anchor log (<dir>/<region>.anchors.jsonl), or its copy at nats://…",
    )
    .option(
      "--anchor-key-file <path>",
      "key of the anchor log's MACs (repeatable, for rotated keys; default STOCKLINE_ANCHOR_KEY)",
      collect,
    )
    .option("--store <path>", "SQLite event store (default .data/<region>/events.db)")
    .option("--json", "print the result as JSON")
    .action(
      guarded(io, async (location: string, sku: string, opts: ReplayOpts) => {
        const asOf = opts.asOf ? { time: checkTime("--as-of", opts.asOf), by: opts.by } : undefined;
        const region = opts.region ? checkRegion(opts.region) : undefined;
        if (opts.anchor && !opts.verify) throw new UsageError("--anchor needs --verify");
        const anchor = await loadAnchor(opts, region);
        const store = openExisting(storePathOf(opts));
        try {
          const head = await store.streamRevision(positionStreamId({ location, sku }));
          const bar =
            head !== null && head + 1 >= PROGRESS_FROM_EVENTS
              ? progressBar(io, "replaying [{bar}] {value}/{total} events")
              : undefined;
          bar?.start(head === null ? 0 : head + 1, 0);
          const r = await withPublished(opts, region, (published) =>
            replayPosition(
              store,
              { location, sku, region },
              {
                verify: opts.verify ?? false,
                ...(asOf ? { asOf } : {}),
                ...(published ? { published } : {}),
                ...(anchor ? { anchored: anchor.heads.get(positionStreamId({ location, sku })) ?? [] } : {}),
                onEvents: (n) => bar?.update(n),
              },
            ),
          );
          bar?.stop();
          if (r === undefined) {
            io.err(
              `error: no events for location ${JSON.stringify(location)}, SKU ${JSON.stringify(sku)} in ${store.path}`,
            );
            return EXIT_USAGE;
          }
          io.out(
            opts.json
              ? JSON.stringify(anchor ? { ...r, anchor: anchorJson(anchor) } : r, null, 2)
              : [renderReplay(r), ...(anchor ? [renderAnchor(anchor)] : [])].join("\n"),
          );
          return (r.verification && !r.verification.ok) || (anchor?.problems.length ?? 0) > 0
            ? EXIT_BROKEN
            : 0;
        } finally {
          await store.close();
        }
      }),
    );

  program
    .command("verify")
    .description("verify the hash chain of every position at a location, or in a region's store")
    .option("--location <location>", "only the positions at this location")
    .option("--region <region>", "the region (its default store, and the region every event must name)")
    .option("--against <nats-url>", "with --region: hold every head against INV_EVT_<R> there")
    .option(
      "--js-domain <domain>",
      "JetStream domain of INV_EVT_<R> behind --against (e.g. the region's, from the hub)",
    )
    .option(
      "--anchor <file>",
      "hold the store against this anchor log (<dir>/<region>.anchors.jsonl), or its copy at nats://…",
    )
    .option(
      "--anchor-key-file <path>",
      "key of the anchor log's MACs (repeatable, for rotated keys; default STOCKLINE_ANCHOR_KEY)",
      collect,
    )
    .option("--store <path>", "SQLite event store (default .data/<region>/events.db)")
    .option("--json", "print the result as JSON")
    .action(
      guarded(io, async (opts: VerifyOpts) => {
        if (!opts.location && !opts.region) throw new UsageError("give --location <l> or --region <r>");
        const region = opts.region ? checkRegion(opts.region) : undefined;
        const anchor = await loadAnchor(opts, region);
        const store = openExisting(storePathOf(opts));
        try {
          const bar = progressBar(io, "verifying [{bar}] {value}/{total} positions, {events} events");
          let started = false;
          const r = await withPublished(opts, region, (published) =>
            verifyPositions(
              store,
              {
                location: opts.location,
                region,
                ...(published ? { published } : {}),
                ...(anchor ? { anchor } : {}),
              },
              (p) => {
                if (!started) {
                  bar.start(p.streamsTotal, 0, { events: 0 });
                  started = true;
                }
                bar.update(p.streamsDone, { events: p.eventsChecked });
              },
            ),
          );
          if (started) bar.stop();
          const scope = [opts.location ? `location ${opts.location}` : "", region ? `region ${region}` : ""]
            .filter(Boolean)
            .join(" in ");
          // The global log's end against the anchor only makes sense for a whole region's store.
          const atStore = anchor && !opts.location ? await anchorStoreIssues(store, anchor) : undefined;
          io.out(
            opts.json
              ? JSON.stringify(anchor ? { ...r, anchor: anchorJson(anchor, atStore) } : r, null, 2)
              : [renderVerifyMany(scope, r), ...(anchor ? [renderAnchor(anchor, atStore)] : [])].join("\n"),
          );
          const anchorBroken = (anchor?.problems.length ?? 0) > 0 || (atStore?.issues.length ?? 0) > 0;
          if (r.streams === 0 && !anchorBroken && r.ok) {
            io.err(`error: no positions found for ${scope} in ${store.path}`);
            return EXIT_USAGE;
          }
          return r.ok && !anchorBroken ? 0 : EXIT_BROKEN;
        } finally {
          await store.close();
        }
      }),
    );

  program
    .command("trace")
    .description("lineage of a correlation id: source documents, events in every region, postings and acks")
    .argument("<correlationId>")
    .option("--store <path>", "a regional SQLite event store (repeatable)", collect)
    .option("--region <region>", "a region whose default store to search (repeatable)", collect)
    .option(
      "--postings <path>",
      "a postings ledger (SQLite) to read postings and acks from (repeatable)",
      collect,
    )
    .option("--json", "print the trace as JSON")
    .action(
      guarded(io, async (correlationId: string, opts: TraceOpts) => {
        const files = [
          ...(opts.store ?? []).map((s) => path.resolve(s)),
          ...(opts.region ?? []).map((r) => defaultStorePath(checkRegion(r))),
        ];
        if (files.length === 0) throw new UsageError("give at least one --store <path> or --region <r>");
        const stores = files.map((f) => ({ name: f, store: openExisting(f) }));
        const ledgers: { list(f: object): readonly PostingRecord[]; close(): void }[] = [];
        try {
          for (const p of opts.postings ?? []) {
            if (!existsSync(p)) throw new UsageError(`no postings ledger at ${p}`);
            const { PostingsLedger } = await import("../postings/postings-ledger.ts");
            ledgers.push(new PostingsLedger(p));
          }
          const postingsFor: PostingsFor | undefined =
            ledgers.length === 0
              ? undefined
              : async (ids, corr) =>
                  (await Promise.all(ledgers.map((l) => ledgerPostingsFor(l)(ids, corr)))).flat();
          const t = await traceCorrelation(correlationId, stores, postingsFor);
          io.out(opts.json ? JSON.stringify(t, null, 2) : renderTrace(t));
          return t.events.length === 0 ? EXIT_USAGE : 0;
        } finally {
          for (const l of ledgers) l.close();
          for (const s of stores) await s.store.close();
        }
      }),
    );
  return program;
};
