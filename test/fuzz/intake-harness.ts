/**
 * Sends fuzz cases to a running node, one at a time, through the intake each case names, and
 * classifies what became of each (DESIGN §3.10, §3.13):
 *
 * - fine: `applied` (and the stored events say what was sent), `duplicate`, `parked` (a gap in the
 *   source's sequence; applied or dead-lettered later), `rejected` (a business refusal with a
 *   code), `invalid` (a clear 4xx or invalid reply naming field and expectation), `deadLettered`
 *   (in `INV_DLQ_<R>` with a reason), `unsendable` (the NATS client or server refuses it before it
 *   reaches the node: over max payload, or a subject too long for the control line);
 * - failures: `5xx`, `crash` (the node process exited), `stall` (no outcome within the bound),
 *   `silentlyWrong` (accepted although it breaks a boundary rule, or stored differently from what
 *   was sent), `unclear` (a refusal that names nothing, a reply that does not match its codec),
 *   `lost` (acknowledged, but neither stored nor dead-lettered).
 *
 * A case runs to its outcome before the next is sent, so a crash or a stall is the current input's
 * (a throw after the answer kills the node during the next case: a crash names the case before too).
 */
import * as E from "fp-ts/lib/Either.js";
import {
  cmdStreamName,
  cmdSubject,
  reqSubject,
  sourceCmdSubject,
  sourceReqSubject,
} from "../../infra/nats/subjects.ts";
import {
  BatchReplyC,
  type CommandReply,
  decodeCommandReply,
} from "../../services/regional-node/command-reply.ts";
import {
  acceptedCommandProblems,
  controlLineBytes,
  NATS_CONTROL_LINE,
  storedEventProblems,
} from "./boundary-rules.ts";
import { type FuzzCase, materialize } from "./command-arbitraries.ts";
import {
  BAD,
  COLUMNS,
  type Column,
  type Finding,
  type OutcomeClass,
  type RunReport,
} from "./fuzz-outcomes.ts";
import { HTTP_KEY, type NodeUnderTest, type StoredEvent } from "./node-under-test.ts";

/** A receipt no fuzz case touches (its own SKU), so that it is always accepted. */
const receiptOf = (region: string, key: string) => ({
  kind: "receiveGoods",
  idempotencyKey: key,
  source: { system: "wms-1", document: { type: "ASN", id: key } },
  businessTime: "2024-05-01T10:00:00.000Z",
  correlationId: key,
  position: { region, location: "DC1", sku: "COMPANION" },
  quantity: { value: 1, uom: "EA" },
});

const STALL_MS = Number(process.env.FUZZ_STALL_MS ?? 8_000);
const delay = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const te = new TextEncoder();

const summary = (v: unknown): string => {
  if (v instanceof Uint8Array)
    return `bytes ${Buffer.from(v.subarray(0, 60)).toString("hex")}${v.length > 60 ? `... (${v.length} bytes)` : ""}`;
  let s: string;
  try {
    s = JSON.stringify(v, (_k, x: unknown) =>
      typeof x === "string" && x.length > 60 ? `<${x.length} chars ${x.slice(0, 16)}...>` : x,
    );
  } catch {
    s = String(v);
  }
  return s.length > 600 ? `${s.slice(0, 600)}...` : s;
};

interface Sent {
  readonly value: Record<string, unknown>;
  readonly key: string;
  /** What became of it (set once classified). */
  outcome?: OutcomeClass;
}

/** A case made concrete: the bytes to send, the command they hold, and what it repeats. */
interface Prepared {
  readonly index: number;
  readonly bytes: Uint8Array;
  readonly value?: Record<string, unknown>;
  readonly input: string;
  /** The stream sequence, once published to JetStream. */
  seq?: number;
  /** The history entry of this command (new commands only). */
  readonly sent?: Sent;
  /** The earlier command a replay repeats. */
  readonly replayOf?: Sent;
}

type Classified = { outcome: OutcomeClass; detail: string; code?: string; parkedKey?: string };

/** Whether an invalid/4xx answer names its problems: each error has an expectation and a message. */
const namesFields = (errors: unknown): boolean =>
  Array.isArray(errors) &&
  errors.length > 0 &&
  errors.every(
    (e) =>
      typeof e === "object" &&
      e !== null &&
      typeof (e as { path?: unknown }).path === "string" &&
      typeof (e as { expected?: unknown }).expected === "string" &&
      (e as { expected: string }).expected.length > 0 &&
      typeof (e as { message?: unknown }).message === "string",
  );

export class IntakeHarness {
  private readonly history: Sent[] = [];
  private readonly counts = Object.fromEntries(COLUMNS.map((i) => [i, {}])) as RunReport["counts"];
  private readonly codes = new Map<string, number>();
  private readonly findings: Finding[] = [];
  private readonly parked: Array<{
    index: number;
    intake: Column;
    key: string;
    input: string;
    value: Record<string, unknown> | undefined;
  }> = [];
  private restarts = 0;
  private recent: string[] = [];

  constructor(private readonly node: NodeUnderTest) {}

  report(): RunReport {
    return { counts: this.counts, codes: this.codes, findings: this.findings, restarts: this.restarts };
  }

  /** Runs one case to its outcome and records it. */
  async run(index: number, c: FuzzCase): Promise<void> {
    const prepared = this.prepare(index, c);
    let r: Classified;
    try {
      r = await this.send(c, prepared);
    } catch (err) {
      r = { outcome: "unclear", detail: `harness error: ${(err as Error).message}` };
    }
    // A connection reset may arrive before the exit is seen: give a dying node a moment.
    for (
      let i = 0;
      i < 20 && this.node.process.alive && (r.outcome === "stall" || r.outcome === "crash");
      i++
    )
      await delay(50);
    if (!this.node.process.alive) {
      const exit = this.node.process.exit;
      // A throw after the answer (a timer, a later action) kills the node while the next case runs.
      const before =
        this.recent.length > 0 ? `; the case before: ${this.recent[this.recent.length - 1]}` : "";
      r = {
        outcome: "crash",
        detail: `node exited (${exit?.code ?? exit?.signal}) ${exit?.stderrTail
          .split("\n")
          .filter((l) => l.includes("rror"))
          .slice(-2)
          .join(" | ")
          .slice(0, 600)}${before}`,
      };
      await this.recover(c.intake === "jetstream" ? prepared.seq : undefined, index, prepared.input);
    }
    if (prepared.sent) prepared.sent.outcome = r.outcome;
    if (prepared.replayOf?.outcome === "applied") r = this.checkReplay(r, prepared.replayOf, c);
    this.record(index, c.intake, r, prepared.input);
    this.recent = [
      ...this.recent.slice(-1),
      `case ${index} via ${c.intake}: ${prepared.input.slice(0, 300)}`,
    ];
    if (r.outcome === "parked" && r.parkedKey)
      this.parked.push({
        index,
        intake: c.intake,
        key: r.parkedKey,
        input: prepared.input,
        value: prepared.value,
      });
  }

  /**
   * A repeat of an applied command is a duplicate and stores nothing; the same key with another
   * payload is a conflict, refused (DESIGN §3.9). Either applied again is a second fact from one.
   */
  private checkReplay(r: Classified, earlier: Sent, c: FuzzCase): Classified {
    if (c.payload.type !== "replay") return r;
    const conflict = c.payload.conflict;
    if (!conflict && r.outcome !== "duplicate")
      return r.outcome === "applied" || r.outcome === "silentlyWrong"
        ? { outcome: "silentlyWrong", detail: `a repeat of ${earlier.key} was applied again` }
        : r;
    if (conflict && (r.outcome === "duplicate" || r.outcome === "applied"))
      return {
        outcome: "silentlyWrong",
        detail: `another payload under the key of ${earlier.key} was ${r.outcome}, not refused as a conflict`,
      };
    return r;
  }

  private record(index: number, intake: Column, r: Classified, input: string): void {
    const counts = this.counts[intake];
    counts[r.outcome] = (counts[r.outcome] ?? 0) + 1;
    if (r.code) this.codes.set(r.code, (this.codes.get(r.code) ?? 0) + 1);
    if (BAD.has(r.outcome))
      this.findings.push({ index, intake, outcome: r.outcome, input, detail: r.detail });
  }

  private prepare(index: number, c: FuzzCase): Prepared {
    const key = `fz-${index}`;
    let value: unknown;
    let label = "";
    let replayOf: Sent | undefined;
    const p = c.payload;
    if (p.type === "bytes") return { index, bytes: p.bytes, input: summary(p.bytes) };
    if (p.type === "replay") {
      // Repeats of applied commands are the ones whose answer is specified (duplicate or conflict).
      const applied = this.history.filter((h) => h.outcome === "applied");
      const pool = applied.length > 0 ? applied : this.history;
      const earlier = pool[pool.length - Math.min(p.back, pool.length)];
      if (earlier === undefined) {
        value = materialize({ kind: "receiveGoods" }, key);
        label = "replay of nothing: ";
      } else if (p.conflict) {
        replayOf = earlier;
        const v = structuredClone(earlier.value);
        // A field every kind's codec reads (an extra field may rightly be ignored by the hash).
        v.correlationId = `${String(v.correlationId)}-other`;
        value = v;
        label = `conflicting replay of ${earlier.key}: `;
      } else {
        replayOf = earlier;
        value = earlier.value;
        label = `replay of ${earlier.key}: `;
      }
    } else {
      value = materialize(p.value, key);
      label = p.mutations.length > 0 ? `[${p.mutations.join("; ")}] ` : "[valid] ";
    }
    let text: string;
    try {
      text = JSON.stringify(value) ?? "null";
    } catch {
      text = "null";
    }
    const record =
      typeof value === "object" && value !== null && !Array.isArray(value)
        ? (value as Record<string, unknown>)
        : undefined;
    const sent =
      record && p.type === "command" ? { value: record, key: String(record.idempotencyKey) } : undefined;
    if (sent) this.history.push(sent);
    return {
      index,
      bytes: te.encode(text),
      ...(record ? { value: record } : {}),
      input: `${label}${summary(value)}`,
      ...(sent ? { sent } : {}),
      ...(replayOf ? { replayOf } : {}),
    };
  }

  private async send(c: FuzzCase, p: Prepared): Promise<Classified> {
    switch (c.intake) {
      case "http":
        return this.viaHttp(c, p);
      case "request":
        return this.viaRequest(c, p);
      case "jetstream":
        return this.viaJetStream(c, p);
    }
  }

  // --- outcomes of a reply (HTTP item or request/reply) ---------------------------------------------------

  private classifyReply(reply: CommandReply, value: Record<string, unknown> | undefined): Classified {
    switch (reply.outcome) {
      case "accepted": {
        const problems = value
          ? [...acceptedCommandProblems(value), ...storedEventProblems(value, reply.events)]
          : [];
        return problems.length > 0
          ? { outcome: "silentlyWrong", detail: problems.join("; ") }
          : { outcome: "applied", detail: "" };
      }
      case "duplicate":
        return { outcome: "duplicate", detail: "" };
      case "parked":
        return {
          outcome: "parked",
          detail: "",
          ...(value ? { parkedKey: String(value.idempotencyKey) } : {}),
        };
      case "rejected":
        if (reply.reason.code === "internalError" || reply.reason.code === "unavailable")
          return {
            outcome: "5xx",
            detail: `rejected ${reply.reason.code}: ${reply.reason.message}`.slice(0, 400),
          };
        return { outcome: "rejected", detail: "", code: `rejected:${reply.reason.code}` };
      case "invalid":
        return namesFields(reply.errors)
          ? {
              outcome: "invalid",
              detail: "",
              code: `invalid:${reply.errors[0]?.path || reply.errors[0]?.expected}`,
            }
          : { outcome: "unclear", detail: `invalid without field errors: ${summary(reply.errors)}` };
      case "deadLettered":
        return { outcome: "deadLettered", detail: "", code: `dlq:${reply.reason.code}` };
    }
  }

  private async viaHttp(c: FuzzCase, p: Prepared): Promise<Classified> {
    const isBytes = c.payload.type === "bytes";
    const item = Buffer.from(p.bytes).toString("utf8");
    const goodKey = `good-${p.index}`;
    const good = JSON.stringify(receiptOf(this.node.region, goodKey));
    const body = isBytes
      ? p.bytes
      : c.frame === "batch"
        ? `{"commands":[${item}]}`
        : c.frame === "withGood"
          ? `{"commands":[${item},${good}]}`
          : c.frame === "array"
            ? `[${item}]`
            : p.bytes;
    let res: Response;
    try {
      res = await fetch(`${this.node.process.url}/v1/commands`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-api-key": HTTP_KEY },
        body,
        signal: AbortSignal.timeout(STALL_MS),
      });
    } catch (err) {
      return { outcome: "stall", detail: `HTTP request failed: ${(err as Error).message}` };
    }
    const text = await res.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    if (res.status >= 500) return { outcome: "5xx", detail: `HTTP ${res.status}: ${text.slice(0, 300)}` };
    // Refusals before the intake (no key, rate limit) mean the case never reached it.
    if (res.status === 401 || res.status === 429)
      return { outcome: "unclear", detail: `HTTP ${res.status} before the intake: ${text.slice(0, 200)}` };
    if (res.status >= 400) {
      const b = json as { message?: unknown; errors?: unknown } | undefined;
      if (
        typeof b?.message === "string" &&
        b.message.length > 0 &&
        (b.errors === undefined || namesFields(b.errors))
      )
        return { outcome: "invalid", detail: "", code: `http${res.status}` };
      return {
        outcome: "unclear",
        detail: `HTTP ${res.status} without a clear message: ${text.slice(0, 200)}`,
      };
    }
    if (isBytes || c.frame === "bare") {
      // Raw bytes that happen to be a batch are fine; anything else must not be a 200.
      const batch = BatchReplyC.decode(json);
      if (E.isRight(batch)) return { outcome: "invalid", detail: "", code: "http200:batch" };
      return {
        outcome: "unclear",
        detail: `HTTP ${res.status} for a body that is not a batch: ${text.slice(0, 200)}`,
      };
    }
    const batch = BatchReplyC.decode(json);
    const items = c.frame === "withGood" ? 2 : 1;
    if (E.isLeft(batch) || batch.right.outcomes.length !== items)
      return {
        outcome: "silentlyWrong",
        detail: `HTTP 200 whose body does not match its codec: ${text.slice(0, 300)}`,
      };
    const companion = batch.right.outcomes[1];
    if (companion && companion.outcome !== "accepted")
      return {
        outcome: "silentlyWrong",
        detail: `the good command after it in the batch was ${companion.outcome}: ${summary(companion).slice(0, 200)}`,
      };
    return this.classifyReply(batch.right.outcomes[0] as CommandReply, p.value);
  }

  /** The system a case's subject names: its own claim (`source`), another one (`impostor`). */
  private subjectSystem(c: FuzzCase, value: Record<string, unknown> | undefined): string | undefined {
    const claimed = (value?.source as { system?: unknown } | undefined)?.system;
    if (c.subject === "source") return typeof claimed === "string" ? claimed : "wms-1";
    if (c.subject === "impostor") return claimed === "erp" ? "wms-1" : "erp";
    return undefined;
  }

  private reqSubjectOf(c: FuzzCase, value: Record<string, unknown> | undefined): string {
    const system = this.subjectSystem(c, value);
    if (system === undefined) return reqSubject(this.node.region);
    try {
      const subject = sourceReqSubject(this.node.region, system);
      return controlLineBytes(subject) <= NATS_CONTROL_LINE ? subject : reqSubject(this.node.region);
    } catch {
      return reqSubject(this.node.region);
    }
  }

  private async viaRequest(c: FuzzCase, p: Prepared): Promise<Classified> {
    if (p.bytes.length > this.node.maxPayload)
      return { outcome: "unsendable", detail: "", code: "client:maxPayload" };
    let data: unknown;
    try {
      const msg = await this.node.nc.request(this.reqSubjectOf(c, p.value), p.bytes, { timeout: STALL_MS });
      data = msg.json();
    } catch (err) {
      const m = (err as Error).message;
      if (/no responders/i.test(m))
        return { outcome: "crash", detail: `no responders on ${reqSubject(this.node.region)}` };
      return { outcome: "stall", detail: `request: ${m}` };
    }
    const reply = decodeCommandReply(data);
    if (E.isLeft(reply))
      return {
        outcome: "silentlyWrong",
        detail: `reply does not match its codec: ${summary(data).slice(0, 300)}`,
      };
    return this.classifyReply(reply.right, p.value);
  }

  private jsSubject(c: FuzzCase, value: Record<string, unknown> | undefined): string {
    const r = this.node.region;
    if (c.subject === "odd") return `inv.cmd.${r}.a.b.c`;
    const pos = value?.position as { location?: unknown; sku?: unknown } | undefined;
    const system = this.subjectSystem(c, value);
    if (c.subject !== "other" && typeof pos?.location === "string" && typeof pos.sku === "string") {
      try {
        return system === undefined
          ? cmdSubject(r, pos.location, pos.sku)
          : sourceCmdSubject(r, system, pos.location, pos.sku);
      } catch {
        // A client with its own (broken) encoding: publish where the harness can.
      }
    }
    return cmdSubject(r, "DC2", "OTHER");
  }

  private async viaJetStream(c: FuzzCase, p: Prepared): Promise<Classified> {
    const subject = this.jsSubject(c, p.value);
    if (controlLineBytes(subject) > NATS_CONTROL_LINE)
      return { outcome: "unsendable", detail: "", code: "client:controlLine" };
    if (p.bytes.length > this.node.maxPayload)
      return { outcome: "unsendable", detail: "", code: "client:maxPayload" };
    const before = this.node.storeHead();
    const ack = await this.node.js.publish(subject, p.bytes, { timeout: 10_000 });
    const seq = ack.seq;
    p.seq = seq;
    const deadline = Date.now() + STALL_MS;
    for (;;) {
      const info = await this.node.consumer().catch(() => undefined);
      if (info && info.ack_floor.stream_seq >= seq && info.num_ack_pending === 0) break;
      if (!this.node.process.alive) return { outcome: "crash", detail: "" };
      if (Date.now() > deadline) {
        await this.node.jsm.streams.deleteMessage(cmdStreamName(this.node.region), seq).catch(() => false);
        return {
          outcome: "stall",
          detail: `not acknowledged within ${STALL_MS} ms (redelivered ${info?.num_redelivered ?? "?"}); removed from the stream by the harness`,
        };
      }
      await delay(5);
    }
    // The dead letter is in the stream before the command is acked; the harness's reader may lag.
    await this.node.deadLettersRead();
    return this.classifyJetStream(p, seq, (e) => e.globalPosition > before);
  }

  /**
   * What became of an acknowledged JetStream message: its dead letter (by stream sequence, or the
   * letter of the same command sent before), its stored events (`fresh` tells the ones it stored
   * from a duplicate's), parked (a sequence gap; resolved at the end), or lost.
   */
  private classifyJetStream(p: Prepared, seq: number, fresh: (e: StoredEvent) => boolean): Classified {
    const dl =
      this.node.deadLetterBySeq.get(seq) ??
      this.node.deadLetterByPayload.get(Buffer.from(p.bytes).toString("utf8"));
    if (dl) {
      const clear =
        typeof dl.reason === "string" &&
        typeof dl.code === "string" &&
        typeof dl.message === "string" &&
        dl.message.length > 0;
      return clear
        ? { outcome: "deadLettered", detail: "", code: `dlq:${dl.reason}/${dl.code}` }
        : { outcome: "unclear", detail: `dead letter without reason: ${summary(dl)}` };
    }
    const value = p.value;
    const key = value ? String(value.idempotencyKey) : undefined;
    const events = key ? this.node.eventsOf(key) : [];
    if (value && events.length > 0) {
      const stored = events.filter(fresh);
      if (stored.length === 0) return { outcome: "duplicate", detail: "" };
      const problems = [
        ...acceptedCommandProblems(value),
        ...storedEventProblems(
          value,
          stored.map((e) => e.data),
        ),
      ];
      return problems.length > 0
        ? { outcome: "silentlyWrong", detail: problems.join("; ") }
        : { outcome: "applied", detail: "" };
    }
    const src = value?.source as { sequence?: unknown } | undefined;
    if (key && typeof src?.sequence === "number") return { outcome: "parked", detail: "", parkedKey: key };
    return {
      outcome: "lost",
      detail: `stream sequence ${seq} acknowledged, but neither stored nor dead-lettered`,
    };
  }

  /**
   * Many cases published to JetStream at once, as a busy or hostile source does: the intake decides
   * them concurrently (bounded by max_ack_pending), and every message must still be accounted for.
   * The first message of a key is the one whose events are checked; later ones are duplicates.
   */
  async runBurst(startIndex: number, cases: readonly FuzzCase[]): Promise<void> {
    const before = this.node.storeHead();
    const sent: Array<{ index: number; p: Prepared; seq: number }> = [];
    const pending: Array<Promise<void>> = [];
    for (const [i, c0] of cases.entries()) {
      const c: FuzzCase = { ...c0, intake: "jetstream" };
      const index = startIndex + i;
      const p = this.prepare(index, c);
      const subject = this.jsSubject(c, p.value);
      if (controlLineBytes(subject) > NATS_CONTROL_LINE || p.bytes.length > this.node.maxPayload) {
        this.record(index, "burst", { outcome: "unsendable", detail: "", code: "client:limit" }, p.input);
        continue;
      }
      pending.push(
        this.node.js.publish(subject, p.bytes, { timeout: 30_000 }).then((ack) => {
          sent.push({ index, p, seq: ack.seq });
        }),
      );
    }
    await Promise.all(pending);
    const last = Math.max(0, ...sent.map((m) => m.seq));
    const deadline = Date.now() + STALL_MS + 20 * sent.length;
    let info = await this.node.consumer().catch(() => undefined);
    while (
      this.node.process.alive &&
      Date.now() < deadline &&
      !(info && info.ack_floor.stream_seq >= last && info.num_ack_pending === 0)
    ) {
      await delay(20);
      info = await this.node.consumer().catch(() => undefined);
    }
    if (!this.node.process.alive) {
      this.findings.push({
        index: startIndex,
        intake: "burst",
        outcome: "crash",
        input: `a burst of ${sent.length} messages (cases ${startIndex}..${startIndex + cases.length - 1})`,
        detail: `node exited (${this.node.process.exit?.code}) ${this.node.process.exit?.stderrTail.slice(-400)}`,
      });
      await this.recover(undefined, startIndex, "burst");
      return;
    }
    await this.node.deadLettersRead();
    const firstOfKey = new Map<string, number>();
    for (const m of [...sent].sort((a, b) => a.seq - b.seq)) {
      const key = m.p.value ? String(m.p.value.idempotencyKey) : undefined;
      const acked = info !== undefined && info.ack_floor.stream_seq >= m.seq;
      const first = key === undefined || !firstOfKey.has(key);
      if (key !== undefined && first) firstOfKey.set(key, m.seq);
      let r = this.classifyJetStream(m.p, m.seq, (e) => first && e.globalPosition > before);
      // Above the ack floor, a message without an outcome of its own may still be in the works.
      if (!acked && (r.outcome === "lost" || r.outcome === "parked"))
        r = {
          outcome: "stall",
          detail: `no outcome ${STALL_MS + 20 * sent.length} ms after a burst of ${sent.length} (ack floor ${info?.ack_floor.stream_seq}, message ${m.seq})`,
        };
      if (m.p.sent) m.p.sent.outcome = r.outcome;
      this.record(m.index, "burst", r, m.p.input);
      if (r.outcome === "parked" && r.parkedKey)
        this.parked.push({
          index: m.index,
          intake: "burst",
          key: r.parkedKey,
          input: m.p.input,
          value: m.p.value,
        });
    }
  }

  /** After a crash: restart; a JetStream message that crashes the node again is removed, as an operator would. */
  private async recover(seq: number | undefined, index: number, input: string): Promise<void> {
    this.restarts++;
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        await this.node.process.start();
      } catch {
        // crashed while starting
      }
      // The message that killed it is redelivered after the ack wait: wait that long to see a crash loop.
      await delay(seq === undefined ? 0 : this.node.ackWaitMs + 1_500);
      if (this.node.process.alive) return;
      this.restarts++;
      if (seq !== undefined) {
        await this.node.jsm.streams.deleteMessage(cmdStreamName(this.node.region), seq).catch(() => false);
        this.findings.push({
          index,
          intake: "jetstream",
          outcome: "crash",
          input,
          detail: `crash loop: the node died again after a restart until stream sequence ${seq} was removed by hand`,
        });
      }
    }
    throw new Error("the node does not come back after a crash");
  }

  /**
   * What became of a parked command once it left the park: applied, dead-lettered, or a duplicate of
   * a delivery already applied (same position, source system and sequence: DESIGN §3.12), which is
   * rightly neither stored nor dead-lettered. Undefined while it is parked or unaccounted.
   */
  private parkedOutcome(key: string, value: Record<string, unknown> | undefined): string | undefined {
    if (this.node.eventsOf(key).length > 0) return "applied";
    if (this.node.deadLetters.some((d) => d.context?.idempotencyKey === key && d.applied !== true))
      return "deadLettered";
    if (this.node.stillParked(key)) return undefined;
    const pos = value?.position as { location?: unknown; sku?: unknown } | undefined;
    const src = value?.source as { system?: unknown; sequence?: unknown } | undefined;
    const same = this.node.allEvents().some((e) => {
      const p = e.data.position as { location?: unknown; sku?: unknown };
      const s = e.data.source as { system?: unknown; sequence?: unknown };
      return (
        p.location === pos?.location &&
        p.sku === pos?.sku &&
        s.system === src?.system &&
        s.sequence === src?.sequence
      );
    });
    return same ? "duplicateSequence" : undefined;
  }

  /** After the last case: parked commands resolved, the relay caught up, the consumer drained, the node alive. */
  async finish(liveness: () => Promise<string[]>, cases: number): Promise<void> {
    const deadline = Date.now() + this.node.parkTimeoutMs * 3 + 10_000;
    for (const p of this.parked) {
      let resolved: string | undefined;
      while (resolved === undefined && Date.now() < deadline) {
        resolved = this.parkedOutcome(p.key, p.value);
        if (resolved === undefined) await delay(100);
      }
      this.codes.set(
        `afterPark:${resolved ?? "none"}`,
        (this.codes.get(`afterPark:${resolved ?? "none"}`) ?? 0) + 1,
      );
      if (resolved === undefined)
        this.findings.push({
          index: p.index,
          intake: p.intake,
          outcome: "lost",
          input: p.input,
          detail: this.node.stillParked(p.key)
            ? `still parked ${this.node.parkTimeoutMs * 3 + 10_000} ms after, with a park timeout of ${this.node.parkTimeoutMs} ms`
            : "parked, then neither applied, nor a duplicate of an applied sequence, nor dead-lettered",
        });
    }
    const until = Date.now() + 30_000;
    while (Date.now() < until && (await this.node.firstUnpublished()) !== undefined) await delay(200);
    const head = this.node.storeHead();
    const evt = await this.node.evtCount();
    const stuck = await this.node.firstUnpublished();
    if (stuck) {
      const sku = String((stuck.data.position as { sku?: unknown } | undefined)?.sku ?? "");
      this.findings.push({
        index: -1,
        intake: "end",
        outcome: "stall",
        input: `event ${stuck.globalPosition} of ${stuck.streamId.slice(0, 80)} (sku of ${sku.length} chars, key ${String(stuck.data.idempotencyKey).slice(0, 40)})`,
        detail: `relay behind: ${evt} of the store's ${head} events are in INV_EVT_<R> after 30 s`,
      });
    }
    let info = await this.node.consumer();
    const drainUntil = Date.now() + 15_000;
    while ((info.num_pending > 0 || info.num_ack_pending > 0) && Date.now() < drainUntil) {
      await delay(200);
      info = await this.node.consumer();
    }
    if (info.num_pending > 0 || info.num_ack_pending > 0)
      this.findings.push({
        index: -1,
        intake: "end",
        outcome: "stall",
        input: "",
        detail: `intake consumer not drained: ${info.num_pending} pending, ${info.num_ack_pending} unacknowledged`,
      });
    for (const problem of await liveness())
      this.findings.push({
        index: -1,
        intake: "end",
        outcome: "stall",
        input: "known good command",
        detail: problem,
      });
    // A poison message is dead-lettered once, not once per delivery.
    const letters = new Map<number, number>();
    for (const d of this.node.deadLetters) {
      const seq = d.intake?.streamSequence;
      if (typeof seq === "number") letters.set(seq, (letters.get(seq) ?? 0) + 1);
    }
    for (const [seq, n] of letters)
      if (n > 1)
        this.findings.push({
          index: -1,
          intake: "end",
          outcome: "silentlyWrong",
          input: `stream sequence ${seq}`,
          detail: `dead-lettered ${n} times`,
        });
    // Bounded logs: a warning per refused input is fine, a loop that logs per retry is not.
    const bound = 10 * cases + 1_000;
    if (this.node.process.stderrLines > bound)
      this.findings.push({
        index: -1,
        intake: "end",
        outcome: "stall",
        input: "",
        detail: `the node logged ${this.node.process.stderrLines} lines (${this.node.process.stderrBytes} bytes) for ${cases} cases (bound ${bound})`,
      });
  }
}
