/**
 * Command dead letters an operator can act on (DESIGN §3.10): read `INV_DLQ_<R>` by stream sequence
 * with business filters, retry one (its original payload or a corrected one), and keep what was
 * done in the KV bucket `dlq_state_<r>`, one entry per dead letter keyed by its stream sequence.
 * A dead letter is never deleted (it is the audit record); it is only marked.
 *
 * Retry goes over request/reply `inv.req.<r>` by default, not back into `INV_CMD_<R>`: the node
 * answers only once the outcome is durable, so the retry records the real decision (accepted,
 * duplicate, rejected with the rule) and the listing can say "resolved" with certainty. The command's
 * own idempotency key keeps a repeated retry from applying twice (the node answers `duplicate`).
 * `via: "stream"` republishes to `INV_CMD_<R>` instead (msg-id `<r>:dlq-retry:<seq>:<attempt>`, so
 * a double click inside the duplicate window is one message) for when the node should take it in
 * its own time; its outcome is then unknown here and the dead letter shows as "retried".
 */
import {
  DeliverPolicy,
  type JetStreamClient,
  type JetStreamManager,
  jetstream,
  jetstreamManager,
} from "@nats-io/jetstream";
import { type KV, Kvm } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import * as E from "fp-ts/lib/Either.js";
import * as t from "io-ts";
import type { Logger } from "pino";
import { decodeCommandReply } from "../../domain/command-reply.ts";
import { type Command, decodeCommand } from "../../domain/commands.ts";
import type { DecodeError } from "../../domain/decode-errors.ts";
import { gauge } from "../../infra/metrics.ts";
import {
  assertRegionId,
  cmdSubject,
  dlqStreamName,
  dlqSubject,
  parseDlqSubject,
  reqSubject,
} from "../../infra/nats/subjects.ts";

// --- what is stored -------------------------------------------------------------------------------------

/** The dead letter as the regional node writes it (`services/regional-node/dead-letters.ts`), read leniently. */
export const StoredDeadLetterC = t.intersection(
  [
    t.type({
      reason: t.string,
      code: t.string,
      message: t.string,
      payload: t.string,
      at: t.string,
    }),
    t.partial({
      details: t.UnknownRecord,
      context: t.partial({
        sku: t.string,
        location: t.string,
        region: t.string,
        sourceSystem: t.string,
        document: t.unknown,
        idempotencyKey: t.string,
        correlationId: t.string,
        kind: t.string,
      }),
      intake: t.partial({ via: t.string, subject: t.string, streamSequence: t.number }),
      payloadBytes: t.number,
      payloadTruncated: t.boolean,
      applied: t.boolean,
    }),
  ],
  "DeadLetter",
);
export type StoredDeadLetter = t.TypeOf<typeof StoredDeadLetterC>;

export type RetryOutcome =
  | "accepted"
  | "duplicate"
  | "rejected"
  | "invalid"
  | "parked"
  | "deadLettered"
  | "submitted"
  | "unavailable";

export const RetryAttemptC = t.intersection([
  t.type({
    attempt: t.number,
    at: t.string,
    by: t.string,
    via: t.keyof({ request: null, stream: null }),
    corrected: t.boolean,
    outcome: t.string,
  }),
  t.partial({
    msgId: t.string,
    reason: t.type({ code: t.string, message: t.string }),
    eventIds: t.array(t.string),
  }),
]);
export type RetryAttempt = t.TypeOf<typeof RetryAttemptC> & { outcome: RetryOutcome };

export const DeadLetterStateC = t.intersection([
  t.type({ seq: t.number, attempts: t.array(RetryAttemptC) }),
  t.partial({ resolvedAt: t.string, resolvedBy: t.string, resolution: t.string, note: t.string }),
]);
export type DeadLetterState = t.TypeOf<typeof DeadLetterStateC>;

/**
 * `open`: nobody has fixed it (failed retries count as open); `retried`: a retry was handed over whose
 * outcome is not known yet (republished to the stream, or parked by a sequence gap); `resolved`: a
 * retry was applied (or was already applied), or an operator marked it resolved.
 */
export type DeadLetterStatus = "open" | "retried" | "resolved";

const RESOLVING: ReadonlySet<string> = new Set(["accepted", "duplicate"]);
const PENDING: ReadonlySet<string> = new Set(["submitted", "parked"]);

export const statusOf = (state: DeadLetterState | undefined): DeadLetterStatus => {
  if (!state) return "open";
  if (state.resolvedAt !== undefined) return "resolved";
  const last = state.attempts[state.attempts.length - 1];
  return last && PENDING.has(last.outcome) ? "retried" : "open";
};

export interface CommandDeadLetter {
  readonly region: string;
  /** Stream sequence in `INV_DLQ_<R>`: the dead letter's id. */
  readonly seq: number;
  readonly subject: string;
  /** From the subject (always readable, even when the body is not). */
  readonly reason: string;
  /** When the stream stored it. */
  readonly storedAt: string;
  readonly status: DeadLetterStatus;
  /** The decoded body; absent when it could not be read (then `raw` has the text). */
  readonly deadLetter?: StoredDeadLetter;
  readonly raw?: string;
  readonly state?: DeadLetterState;
}

export interface DeadLetterFilter {
  readonly reason?: string;
  readonly sku?: string;
  readonly location?: string;
  readonly sourceSystem?: string;
  /** ISO time: only dead letters stored at or after it. */
  readonly since?: string;
  readonly status?: DeadLetterStatus;
  /** Paging: only sequences above this one. */
  readonly after?: number;
  /** Page size (default 100, at most 1000). */
  readonly limit?: number;
  /** Messages read at most for one page, matching or not (default 10 000). */
  readonly scanLimit?: number;
}

export interface DeadLetterPage {
  readonly items: CommandDeadLetter[];
  /** Pass as `after` for the next page; absent when the stream was read to its end. */
  readonly nextAfter?: number;
  readonly scanned: number;
}

export type RetryResult =
  | {
      readonly ok: true;
      readonly repeated: boolean;
      readonly attempt: RetryAttempt;
      readonly item: CommandDeadLetter;
    }
  | {
      readonly ok: false;
      readonly status: 400 | 404;
      readonly error: string;
      readonly message: string;
      readonly errors?: readonly DecodeError[];
    };

// --- the desk of one region -----------------------------------------------------------------------------

export const dlqStateBucketName = (region: string): string => `dlq_state_${assertRegionId(region)}`;

const td = new TextDecoder();

const openDepth = gauge(
  "stockline_dlq_open",
  "Command dead letters in INV_DLQ_<R> not resolved (stream messages minus resolved)",
  ["region"],
);

export interface CommandDeadLetterDeskOptions {
  /** A connection that reaches the region's JetStream and its node's `inv.req.<r>`. */
  readonly nc: NatsConnection;
  readonly region: string;
  /** JetStream domain of the region when `nc` is not the region's own server. */
  readonly domain?: string;
  /** How long a request/reply retry waits for the node (default 10 s). */
  readonly requestTimeoutMs?: number;
  readonly logger?: Logger;
}

export class CommandDeadLetterDesk {
  readonly region: string;
  readonly stream: string;
  private readonly js: JetStreamClient;
  private jsm: JetStreamManager | undefined;
  private kv: KV | undefined;

  constructor(private readonly o: CommandDeadLetterDeskOptions) {
    this.region = assertRegionId(o.region);
    this.stream = dlqStreamName(o.region);
    this.js = jetstream(o.nc, o.domain ? { domain: o.domain } : {});
  }

  private async manager(): Promise<JetStreamManager> {
    this.jsm ??= await jetstreamManager(this.o.nc, this.o.domain ? { domain: this.o.domain } : {});
    return this.jsm;
  }

  private async bucket(): Promise<KV> {
    // `create` opens the bucket when it exists with a compatible configuration.
    this.kv ??= await new Kvm(this.js).create(dlqStateBucketName(this.region), { history: 10 });
    return this.kv;
  }

  private async stateOf(seq: number): Promise<{ state: DeadLetterState | undefined; revision: number }> {
    const entry = await (await this.bucket()).get(String(seq));
    if (entry?.operation !== "PUT" || entry.length === 0) return { state: undefined, revision: 0 };
    const decoded = DeadLetterStateC.decode(entry.json());
    if (E.isLeft(decoded)) throw new Error(`dlq state ${this.region}/${seq} is not a dead-letter state`);
    return { state: decoded.right, revision: entry.revision };
  }

  /** Every recorded state of the region (the operator-touched dead letters: few). */
  async states(): Promise<Map<number, DeadLetterState>> {
    const kv = await this.bucket();
    const out = new Map<number, DeadLetterState>();
    const keys: string[] = [];
    for await (const k of await kv.keys()) keys.push(k);
    await Promise.all(
      keys.map(async (k) => {
        const { state } = await this.stateOf(Number(k));
        if (state) out.set(state.seq, state);
      }),
    );
    return out;
  }

  private item(
    m: { subject: string; seq: number; data: Uint8Array; time: Date },
    state: DeadLetterState | undefined,
  ): CommandDeadLetter {
    const text = td.decode(m.data);
    let deadLetter: StoredDeadLetter | undefined;
    try {
      const d = StoredDeadLetterC.decode(JSON.parse(text));
      if (E.isRight(d)) deadLetter = d.right;
    } catch {
      // not JSON: shown raw
    }
    return {
      region: this.region,
      seq: m.seq,
      subject: m.subject,
      reason: parseDlqSubject(m.subject)?.reason ?? deadLetter?.reason ?? "unknown",
      storedAt: m.time.toISOString(),
      status: statusOf(state),
      ...(deadLetter ? { deadLetter } : { raw: text.slice(0, 16 * 1024) }),
      ...(state ? { state } : {}),
    };
  }

  /** One dead letter by stream sequence, with its state. */
  async get(seq: number): Promise<CommandDeadLetter | undefined> {
    if (!Number.isSafeInteger(seq) || seq < 1) return undefined;
    const m = await (await this.manager()).streams.getMessage(this.stream, { seq }).catch((err: unknown) => {
      if (isStreamNotFound(err)) return null;
      throw err;
    });
    if (!m) return undefined;
    const { state } = await this.stateOf(seq);
    return this.item(m, state);
  }

  /** A page of dead letters in stream order, filtered. Business filters are applied to the decoded body. */
  async list(filter: DeadLetterFilter = {}): Promise<DeadLetterPage> {
    const limit = Math.min(Math.max(1, filter.limit ?? 100), 1000);
    const scanLimit = filter.scanLimit ?? 10_000;
    const jsm = await this.manager();
    const filterSubject = filter.reason ? dlqSubject(this.region, filter.reason) : undefined;
    const startSeq = (filter.after ?? 0) + 1;
    // The last sequence that can match, so the read stops there instead of waiting for more.
    let lastSeq: number;
    try {
      if (filterSubject) {
        const last = await jsm.streams.getMessage(this.stream, { last_by_subj: filterSubject });
        lastSeq = last?.seq ?? 0;
      } else lastSeq = (await jsm.streams.info(this.stream)).state.last_seq;
    } catch (err) {
      if (isStreamNotFound(err)) return { items: [], scanned: 0 };
      throw err;
    }
    if (lastSeq < startSeq) return { items: [], scanned: 0 };
    const states = await this.states();
    const sinceMs = filter.since ? Date.parse(filter.since) : undefined;
    const byTime = filter.after === undefined && sinceMs !== undefined;
    const consumer = await this.js.consumers.get(this.stream, {
      ...(filterSubject ? { filter_subjects: filterSubject } : {}),
      ...(byTime
        ? { deliver_policy: DeliverPolicy.StartTime, opt_start_time: new Date(sinceMs).toISOString() }
        : { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: startSeq }),
    });
    const items: CommandDeadLetter[] = [];
    let scanned = 0;
    let lastRead = startSeq - 1;
    let atEnd = false;
    try {
      while (items.length < limit && scanned < scanLimit && !atEnd) {
        const batch = await consumer.fetch({
          max_messages: Math.min(256, scanLimit - scanned),
          expires: 1_000,
        });
        let got = 0;
        for await (const m of batch) {
          got++;
          scanned++;
          lastRead = m.seq;
          if (m.seq >= lastSeq || m.info.pending === 0) atEnd = true;
          const it = this.item(m, states.get(m.seq));
          if (matches(it, filter, sinceMs)) items.push(it);
          if (items.length >= limit || atEnd) break;
        }
        if (got === 0) atEnd = true; // nothing more arrived within `expires`
      }
    } finally {
      await consumer.delete().catch(() => false);
    }
    return { items, scanned, ...(atEnd ? {} : { nextAfter: lastRead }) };
  }

  /** Messages in the stream, resolved ones, and the difference (also set as the `stockline_dlq_open` gauge). */
  async depth(): Promise<{ messages: number; resolved: number; open: number }> {
    let messages = 0;
    try {
      messages = (await (await this.manager()).streams.info(this.stream)).state.messages;
    } catch (err) {
      if (!isStreamNotFound(err)) throw err;
    }
    let resolved = 0;
    for (const s of (await this.states()).values()) if (statusOf(s) === "resolved") resolved++;
    const open = Math.max(0, messages - resolved);
    openDepth.set({ region: this.region }, open);
    return { messages, resolved, open };
  }

  /**
   * Retries a dead letter: `payload` (a corrected command, any JSON value) or else the stored original
   * is decoded and checked first; an invalid one is refused with the field errors and nothing is sent.
   * A dead letter already resolved is not sent again: the recorded attempt is returned (`repeated`).
   */
  async retry(
    seq: number,
    opts: { payload?: unknown; by: string; via?: "request" | "stream" },
  ): Promise<RetryResult> {
    const item = await this.get(seq);
    if (!item)
      return { ok: false, status: 404, error: "not_found", message: `no dead letter ${this.region}/${seq}` };
    const recorded = item.state?.attempts ?? [];
    if (item.status === "resolved") {
      const last = recorded.filter((a) => RESOLVING.has(a.outcome)).pop() ?? recorded[recorded.length - 1];
      if (last) return { ok: true, repeated: true, attempt: last as RetryAttempt, item };
      return {
        ok: false,
        status: 400,
        error: "resolved",
        message: `dead letter ${this.region}/${seq} was marked resolved by ${item.state?.resolvedBy ?? "an operator"} without a retry`,
      };
    }
    const prepared = this.prepare(item, opts.payload);
    if (!prepared.ok) return prepared;
    const { command, text } = prepared;
    const via = opts.via ?? "request";
    const attemptNo = recorded.length + 1;
    const base = {
      attempt: attemptNo,
      at: new Date().toISOString(),
      by: opts.by,
      via,
      corrected: opts.payload !== undefined,
    };
    let attempt: RetryAttempt;
    if (via === "stream") {
      const msgId = `${this.region}:dlq-retry:${seq}:${attemptNo}`;
      await this.js.publish(cmdSubject(this.region, command.position.location, command.position.sku), text, {
        msgID: msgId,
        timeout: 10_000,
      });
      attempt = { ...base, outcome: "submitted", msgId };
    } else {
      const before = await this.lastSeq();
      attempt = { ...base, ...(await this.request(text)) };
      // The node dead-letters an ownership or idempotency refusal on the request path too: that new
      // dead letter repeats this one, so it is marked as its echo instead of showing up as a second open one.
      if (attempt.outcome === "rejected") await this.markEchoes(before, command.idempotencyKey, seq, opts.by);
    }
    const state = await this.record(seq, attempt);
    this.o.logger?.info(
      {
        region: this.region,
        seq,
        attempt: attempt.attempt,
        outcome: attempt.outcome,
        by: opts.by,
        sku: command.position.sku,
        location: command.position.location,
        correlationId: command.correlationId,
      },
      "dead letter retried",
    );
    const stored = (state.attempts[state.attempts.length - 1] ?? attempt) as RetryAttempt;
    return { ok: true, repeated: false, attempt: stored, item: { ...item, state, status: statusOf(state) } };
  }

  private async lastSeq(): Promise<number> {
    try {
      return (await (await this.manager()).streams.info(this.stream)).state.last_seq;
    } catch (err) {
      if (isStreamNotFound(err)) return 0;
      throw err;
    }
  }

  private async markEchoes(after: number, idempotencyKey: string, of: number, by: string): Promise<void> {
    try {
      const page = await this.list({ after, limit: 100, scanLimit: 1_000 });
      for (const d of page.items) {
        const dl = d.deadLetter;
        if (dl?.intake?.via !== "request" || dl.context?.idempotencyKey !== idempotencyKey) continue;
        await this.update(d.seq, (s) => ({
          ...s,
          resolvedAt: new Date().toISOString(),
          resolvedBy: by,
          resolution: `echo of the retry of ${this.region}/${of}`,
        }));
      }
    } catch (err) {
      this.o.logger?.warn({ err, region: this.region, seq: of }, "echo of a refused retry not marked");
    }
  }

  /** Marks a dead letter resolved without a retry (e.g. a notice, or fixed at the source). */
  async resolve(
    seq: number,
    opts: { by: string; note?: string },
  ): Promise<{ ok: true; item: CommandDeadLetter } | { ok: false; status: 404; message: string }> {
    const item = await this.get(seq);
    if (!item) return { ok: false, status: 404, message: `no dead letter ${this.region}/${seq}` };
    if (item.status === "resolved") return { ok: true, item };
    const state = await this.update(seq, (s) => ({
      ...s,
      resolvedAt: new Date().toISOString(),
      resolvedBy: opts.by,
      resolution: "marked",
      ...(opts.note ? { note: opts.note } : {}),
    }));
    return { ok: true, item: { ...item, state, status: statusOf(state) } };
  }

  private prepare(
    item: CommandDeadLetter,
    corrected: unknown,
  ):
    | { ok: true; command: Command; text: string }
    | { ok: false; status: 400; error: string; message: string; errors?: readonly DecodeError[] } {
    let value = corrected;
    if (corrected === undefined) {
      const dl = item.deadLetter;
      if (!dl)
        return {
          ok: false,
          status: 400,
          error: "unreadable",
          message: "the dead letter's body is unreadable; send a corrected payload",
        };
      if (dl.payloadTruncated)
        return {
          ok: false,
          status: 400,
          error: "payload_truncated",
          message: `the original payload (${dl.payloadBytes} bytes) was truncated in the dead letter; send a corrected payload`,
        };
      try {
        value = JSON.parse(dl.payload);
      } catch (err) {
        return {
          ok: false,
          status: 400,
          error: "original_invalid",
          message: `the original payload is not JSON (${(err as Error).message}); send a corrected payload`,
        };
      }
    }
    const decoded = decodeCommand(value);
    if (E.isLeft(decoded))
      return {
        ok: false,
        status: 400,
        error: corrected === undefined ? "original_invalid" : "bad_request",
        message: `${corrected === undefined ? "the original payload is not a valid command; send a corrected payload: " : "payload: "}${decoded.left.map((e) => e.message).join("; ")}`,
        errors: decoded.left,
      };
    const command = decoded.right;
    if (command.position.region !== this.region)
      return {
        ok: false,
        status: 400,
        error: "bad_request",
        message: `position.region: got ${JSON.stringify(command.position.region)}, expected ${JSON.stringify(this.region)} (the dead letter's region)`,
        errors: [
          {
            path: "position.region",
            value: command.position.region,
            expected: JSON.stringify(this.region),
            message: `position.region must be ${this.region}`,
          },
        ],
      };
    return { ok: true, command, text: JSON.stringify(value) };
  }

  private async request(text: string): Promise<Pick<RetryAttempt, "outcome" | "reason" | "eventIds">> {
    let body: unknown;
    try {
      const msg = await this.o.nc.request(reqSubject(this.region), text, {
        timeout: this.o.requestTimeoutMs ?? 10_000,
      });
      body = JSON.parse(td.decode(msg.data));
    } catch (err) {
      // No node answered (or not in time). If it did apply it, the next retry answers `duplicate`.
      return { outcome: "unavailable", reason: { code: "unavailable", message: (err as Error).message } };
    }
    const reply = decodeCommandReply(body);
    if (E.isLeft(reply))
      return {
        outcome: "unavailable",
        reason: { code: "badReply", message: "the node's reply could not be decoded" },
      };
    const r = reply.right;
    switch (r.outcome) {
      case "accepted":
      case "duplicate":
        return { outcome: r.outcome, eventIds: r.events.map((e) => e.eventId) };
      case "rejected":
      case "deadLettered":
        return { outcome: r.outcome, reason: { code: r.reason.code, message: r.reason.message } };
      case "invalid":
        return {
          outcome: "invalid",
          reason: { code: "invalid", message: r.errors.map((e) => e.message).join("; ") },
        };
      case "parked":
        return {
          outcome: "parked",
          reason: {
            code: "parked",
            message: `${r.system} sequence ${r.got} waits for ${r.expectedSequence}`,
          },
        };
    }
  }

  private record(seq: number, attempt: RetryAttempt): Promise<DeadLetterState> {
    return this.update(seq, (s) => {
      // Renumber when a concurrent retry took this number first.
      const a = { ...attempt, attempt: s.attempts.length + 1 };
      return {
        ...s,
        attempts: [...s.attempts, a],
        ...(RESOLVING.has(a.outcome) && s.resolvedAt === undefined
          ? { resolvedAt: a.at, resolvedBy: a.by, resolution: `retry ${a.attempt}: ${a.outcome}` }
          : {}),
      };
    });
  }

  /** Compare-and-set on the state entry, so concurrent operators never overwrite each other. */
  private async update(
    seq: number,
    change: (s: DeadLetterState) => DeadLetterState,
  ): Promise<DeadLetterState> {
    const kv = await this.bucket();
    for (let i = 0; ; i++) {
      const { state, revision } = await this.stateOf(seq);
      const next = change(state ?? { seq, attempts: [] });
      try {
        if (revision === 0) await kv.create(String(seq), JSON.stringify(next));
        else await kv.update(String(seq), JSON.stringify(next), revision);
        return next;
      } catch (err) {
        if (i >= 5) throw err;
      }
    }
  }
}

const isStreamNotFound = (err: unknown): boolean =>
  typeof err === "object" && err !== null && (err as { code?: unknown }).code === 10059;

const matches = (it: CommandDeadLetter, f: DeadLetterFilter, sinceMs: number | undefined): boolean => {
  const c = it.deadLetter?.context ?? {};
  if (f.sku !== undefined && c.sku !== f.sku) return false;
  if (f.location !== undefined && c.location !== f.location) return false;
  if (f.sourceSystem !== undefined && c.sourceSystem !== f.sourceSystem) return false;
  if (f.status !== undefined && it.status !== f.status) return false;
  if (sinceMs !== undefined && Date.parse(it.storedAt) < sinceMs) return false;
  return true;
};

// --- several regions ------------------------------------------------------------------------------------

/** Samples `stockline_dlq_open{region}` of each desk on an interval (unref'd: it never holds a process up). */
export const startDeadLetterDepthSampler = (
  desks: Iterable<CommandDeadLetterDesk>,
  opts: { intervalMs?: number; logger?: Logger } = {},
): { stop(): void; sample(): Promise<void> } => {
  const list = [...desks];
  // One sample at a time; a caller that asks meanwhile waits for the one running.
  let running: Promise<void> | undefined;
  const run = async () => {
    await Promise.all(
      list.map((d) =>
        d
          .depth()
          .catch((err: unknown) => opts.logger?.warn({ err, region: d.region }, "dlq depth not sampled")),
      ),
    );
  };
  const sample = (): Promise<void> => {
    running ??= run().finally(() => {
      running = undefined;
    });
    return running;
  };
  const timer = setInterval(() => void sample(), opts.intervalMs ?? 5_000);
  timer.unref();
  void sample();
  return { stop: () => clearInterval(timer), sample };
};
