/**
 * One path for a command from every intake (JetStream, request/reply, HTTP): parse and guard, decide on
 * its position actor, dead-letter what cannot be applied, and say what to answer and whether the
 * source message may be acknowledged (only once its outcome is durable).
 *
 * Dead-letter policy: the asynchronous intake (JetStream) dead-letters every command it cannot apply,
 * since no caller is waiting. The synchronous intakes answer the caller; they dead-letter only what an
 * operator must see anyway: ownership violations and idempotency conflicts (DESIGN §3.7, §3.9), and
 * locations or SKUs unknown to master data (fixed there, then the dead letter is retried).
 *
 * Containment (DESIGN §3.13): an error thrown while deciding one command (`decisionFailed`) or by the
 * intake on one message (`intakeFailed`) is that command's dead letter on every intake, with the error
 * and the command's business context, never a crash or an endless redelivery. Only what may pass by
 * itself (the store or the dead-letter stream unavailable) is answered `retry`; the JetStream intake
 * bounds those retries and dead-letters the message at its last delivery (`deadLetterExhausted`).
 */
import { createHash, randomUUID } from "node:crypto";
import type { Logger } from "pino";
import type { CanonicalEvent } from "../../domain/canonical-event.ts";
import type { Command } from "../../domain/commands.ts";
import { BoundedMemo } from "../../infra/bounded-memo.ts";
import { LogLimiter } from "../../infra/logging.ts";
import { CountingChild, counter } from "../../infra/metrics.ts";
import { parseCmdSubject, parseReqSubjectSystem, sourceCmdSubject } from "../../infra/nats/subjects.ts";
import { type IntakeLimits, type Parsed, parseCommandBytes, parseCommandValue } from "./command-intake.ts";
import type { CommandReply } from "./command-reply.ts";
import { commandDeadLetterId, contextOf, type DeadLetter, type DeadLetterPublisher } from "./dead-letters.ts";
import type { HandleResult, PositionRuntime } from "./position-runtime.ts";

export type Via = "jetstream" | "request" | "http" | "internal";

export interface Settled {
  readonly reply: CommandReply;
  /** `ack`: the outcome is durable; `retry`: not handled, redeliver later. */
  readonly disposition: "ack" | "retry";
  /** With `retry`: what failed (for the log, and the dead letter if redelivery runs out). */
  readonly error?: string;
}

export interface MessageMeta {
  readonly via: Via;
  readonly subject?: string;
  /** JetStream stream sequence: makes the dead letter's message id stable across redeliveries. */
  readonly streamSequence?: number;
  /** Who sent it, as authenticated (an HTTP API key): it may post only for its own source systems. */
  readonly sender?: { readonly name: string; readonly systems: readonly string[] };
}

/** What a subject proves and expects (bounded: a few per position). */
const provenBySubject = new BoundedMemo<string | null>(100_000);
const expectedSubjects = new BoundedMemo<string>(100_000);

/** The source system a per-source NATS subject proves (`inv.cmd.<r>.<system>...`, `inv.req.<r>.<system>`). */
const provenSystem = (meta: MessageMeta): string | undefined => {
  const subject = meta.subject;
  if (subject === undefined) return undefined;
  if (meta.via === "jetstream")
    return provenBySubject.get(subject, () => parseCmdSubject(subject)?.system ?? null) ?? undefined;
  if (meta.via === "request") return parseReqSubjectSystem(subject);
  return undefined;
};

/** `sourceCmdSubject` of a command's position (`positionSubject`, its `cmdSubject`) for `system`. */
const expectedSourceSubject = (command: Command, system: string, positionSubject: string): string =>
  expectedSubjects.get(`${system}\u0000${positionSubject}`, () =>
    sourceCmdSubject(command.position.region, system, command.position.location, command.position.sku),
  );

const commands = counter("stockline_node_commands_total", "Commands handled, by intake and outcome", [
  "region",
  "via",
  "outcome",
]);

const ALWAYS_DEAD_LETTER = new Set(["notOwner", "idempotencyConflict"]);
/** Refusals an operator fixes in master data (then retries the dead letter): dead-lettered on every intake. */
const MASTER_DATA_REASONS = new Set(["unknownLocation", "unknownSku"]);

const errorText = (err: unknown): { name: string; message: string } =>
  err instanceof Error ? { name: err.name, message: err.message } : { name: "Error", message: String(err) };

/** What an operator needs to find a command: kind, key, SKU, location and document, in one phrase. */
const commandPhrase = (c: Command): string => {
  const doc = c.source?.document as { type?: unknown; id?: unknown } | undefined;
  const document = doc ? ` (${String(doc.type)} ${String(doc.id)})` : "";
  return `${c.kind} ${c.idempotencyKey} for SKU ${c.position.sku} at ${c.position.location}${document}`;
};

export class CommandHandler {
  private readonly limited: LogLimiter;
  /** The counter's children of this region by intake and outcome: labels are hashed once, not per command. */
  private readonly counted = new Map<string, CountingChild>();

  constructor(
    private readonly o: {
      readonly region: string;
      readonly limits: IntakeLimits;
      readonly runtime: PositionRuntime;
      readonly dlq: DeadLetterPublisher;
      readonly logger: Logger;
    },
  ) {
    this.limited = new LogLimiter(o.logger);
  }

  handleBytes(data: Uint8Array, meta: MessageMeta): Promise<Settled> {
    return this.contained(
      () => this.handleParsed(parseCommandBytes(data, this.o.limits), data, meta),
      data,
      meta,
    );
  }

  handleValue(raw: unknown, meta: MessageMeta): Promise<Settled> {
    let text: string;
    try {
      text = JSON.stringify(raw) ?? String(raw);
    } catch {
      text = "(not serialisable)";
    }
    return this.contained(
      () => this.handleParsed(parseCommandValue(raw, this.o.limits), text, meta),
      text,
      meta,
    );
  }

  /** Whatever the intake throws on one message is that message's dead letter, not the caller's error. */
  private async contained(
    run: () => Promise<Settled>,
    payload: Uint8Array | string,
    meta: MessageMeta,
  ): Promise<Settled> {
    try {
      return await run();
    } catch (err) {
      const e = errorText(err);
      this.limited.error(
        `intake failed ${e.name}`,
        { err, via: meta.via },
        "the intake threw on a message; it is dead-lettered",
      );
      const dl = this.o.dlq.build({
        reason: "intakeFailed",
        code: e.name,
        message: `the intake threw ${e.name} on this message: ${e.message}`,
        details: { error: e },
        raw: this.readable(payload),
        payload,
        intake: this.intakeOf(meta),
      });
      const reply: CommandReply =
        meta.via === "jetstream"
          ? { outcome: "deadLettered", reason: { code: "intakeFailed", message: dl.message } }
          : { outcome: "rejected", reason: { code: "intakeFailed", message: dl.message } };
      const id =
        meta.streamSequence !== undefined
          ? `seq:${meta.streamSequence}`
          : `intake:${createHash("sha256").update(payload).digest("hex")}`;
      return this.publish(dl, id, meta, reply);
    }
  }

  /**
   * The JetStream intake's last word on a message that was redelivered `max_deliver` times without an
   * outcome: a dead letter with the last error. Resolves true once it is stored (then the message may
   * go), false if it could not be.
   */
  async deadLetterExhausted(
    data: Uint8Array,
    meta: MessageMeta,
    info: { deliveries: number; lastError: string },
  ): Promise<boolean> {
    try {
      const raw = this.readable(data);
      const ctx = contextOf(raw);
      const what =
        ctx.sku !== undefined ? ` (SKU ${ctx.sku} at ${ctx.location}, key ${ctx.idempotencyKey})` : "";
      const dl = this.o.dlq.build({
        reason: "redeliveryExhausted",
        code: "redeliveryExhausted",
        message: `message${what} not handled after ${info.deliveries} deliveries; last error: ${info.lastError}`,
        details: { deliveries: info.deliveries, lastError: info.lastError },
        raw,
        payload: data,
        intake: this.intakeOf(meta),
      });
      await this.o.dlq.send(dl, `exhausted:${meta.streamSequence ?? randomUUID()}`);
      this.countOutcome(meta.via, "redeliveryExhausted");
      return true;
    } catch (err) {
      this.limited.error(
        "exhausted dead letter failed",
        { err, seq: meta.streamSequence },
        "dead letter of an exhausted message not stored",
      );
      return false;
    }
  }

  /** Whatever JSON can be read of a payload, for the dead letter's business context. */
  private readable(payload: Uint8Array | string): unknown {
    const bytes = typeof payload === "string" ? payload.length : payload.length;
    if (bytes > this.o.limits.maxPayloadBytes) return undefined;
    try {
      return JSON.parse(typeof payload === "string" ? payload : Buffer.from(payload).toString("utf8"));
    } catch {
      return undefined;
    }
  }

  private async handleParsed(
    parsed: Parsed,
    payload: Uint8Array | string,
    meta: MessageMeta,
  ): Promise<Settled> {
    const asyncIntake = meta.via === "jetstream";
    if (!parsed.ok) {
      const errors = parsed.errors ?? [
        { path: "", value: null, expected: parsed.reason, message: parsed.message },
      ];
      const masterData = MASTER_DATA_REASONS.has(parsed.reason);
      const reply: CommandReply = masterData
        ? { outcome: "rejected", reason: { code: parsed.code, message: parsed.message, ...parsed.details } }
        : { outcome: "invalid", errors: [...errors] };
      if (!asyncIntake && !masterData) return this.count(meta, "invalid", { reply, disposition: "ack" });
      // A master-data refusal keeps the command as the intake completed it (regions filled, statuses
      // canonical), so that once master data is fixed the dead letter can be retried as it is.
      const completed = masterData && parsed.command !== undefined;
      const details = {
        ...parsed.details,
        ...(parsed.errors ? { errors: parsed.errors } : {}),
        ...(completed ? { payloadCompletedFromMasterData: true } : {}),
      };
      const dl = this.o.dlq.build({
        reason: parsed.reason,
        code: parsed.code,
        message: parsed.message,
        ...(Object.keys(details).length > 0 ? { details } : {}),
        raw: parsed.raw,
        payload: completed ? JSON.stringify(parsed.raw) : payload,
        intake: this.intakeOf(meta),
      });
      return this.deadLetter(
        dl,
        meta,
        parsed.command,
        asyncIntake ? { outcome: "deadLettered", reason: { code: dl.code, message: dl.message } } : reply,
      );
    }
    const command = parsed.command;
    // On a per-source subject the server proved the sender (only its user may publish there): issue 9.
    // A command on its own 5-token subject proves none (compared, not parsed: the common case).
    const proven =
      meta.via === "jetstream" && meta.subject === parsed.subject ? undefined : provenSystem(meta);
    if (meta.subject !== undefined && meta.via === "jetstream") {
      // Built by the intake, where an id that cannot be encoded is a dead letter rather than a throw.
      const expected =
        proven === undefined ? parsed.subject : expectedSourceSubject(command, proven, parsed.subject);
      if (meta.subject !== expected) {
        const dl = this.o.dlq.build({
          reason: "subjectMismatch",
          code: "subjectMismatch",
          message: `command for ${expected} was published on ${meta.subject}`,
          details: { expectedSubject: expected },
          raw: parsed.raw,
          payload,
          intake: this.intakeOf(meta),
        });
        return this.deadLetter(dl, meta, command, {
          outcome: "deadLettered",
          reason: { code: dl.code, message: dl.message },
        });
      }
    }
    if (proven !== undefined && proven !== command.source.system) {
      const dl = this.o.dlq.build({
        reason: "senderMismatch",
        code: "senderMismatch",
        message: `sent by ${JSON.stringify(proven)} (on ${meta.subject}) claiming to be ${JSON.stringify(command.source.system)}`,
        details: { sender: proven, claimedSystem: command.source.system },
        raw: parsed.raw,
        payload,
        intake: this.intakeOf(meta),
      });
      return this.senderMismatch(dl, meta, command, asyncIntake);
    }
    const sender = meta.sender;
    if (sender !== undefined && !sender.systems.includes(command.source.system)) {
      const allowed = sender.systems.length > 0 ? sender.systems.join(", ") : "none";
      const dl = this.o.dlq.build({
        reason: "senderMismatch",
        code: "senderMismatch",
        message: `sender ${JSON.stringify(sender.name)} may not post for source system ${JSON.stringify(command.source.system)} (allowed: ${allowed})`,
        details: {
          sender: sender.name,
          claimedSystem: command.source.system,
          allowedSystems: sender.systems,
        },
        raw: parsed.raw,
        payload,
        intake: this.intakeOf(meta),
      });
      return this.senderMismatch(dl, meta, command, asyncIntake);
    }
    const result = await this.o.runtime.submit(command, { withDuplicateEvents: !asyncIntake });
    return this.settle(command, result, payload, meta);
  }

  /** Turns a runtime result into the answer and, where due, a dead letter. */
  async settle(
    command: Command,
    result: HandleResult,
    payload: Uint8Array | string,
    meta: MessageMeta,
  ): Promise<Settled> {
    switch (result.kind) {
      case "accepted":
        if (result.forcedAfterGap) {
          const dl = this.o.dlq.build({
            reason: "sequenceGapTimeout",
            code: "sequenceGapTimeout",
            message: `${command.source.system} sequence ${command.source.sequence} applied although earlier ones never arrived within the park timeout`,
            raw: command,
            payload,
            intake: this.intakeOf(meta),
            applied: true,
          });
          try {
            await this.o.dlq.send(dl, `gap:${command.idempotencyKey}`);
          } catch (err) {
            // Not settled: the caller keeps the command (parked row) and tries again.
            this.limited.error(
              "gap notice failed",
              { err, correlationId: command.correlationId },
              "gap notice not published; will retry",
            );
            return this.count(meta, "retry", {
              reply: { outcome: "accepted", events: result.events as CanonicalEvent[] },
              disposition: "retry",
              error: `gap notice not published: ${errorText(err).message}`,
            });
          }
        }
        return this.count(meta, "accepted", {
          reply: { outcome: "accepted", events: result.events as CanonicalEvent[] },
          disposition: "ack",
        });
      case "duplicate":
        return this.count(meta, "duplicate", {
          reply: { outcome: "duplicate", events: (result.events ?? []) as CanonicalEvent[] },
          disposition: "ack",
        });
      case "parked":
        return this.count(meta, "parked", {
          reply: {
            outcome: "parked",
            system: result.system,
            expectedSequence: result.expectedSequence,
            got: result.got,
          },
          disposition: "ack",
        });
      case "rejected": {
        const reason = result.reason as unknown as { code: string; message: string } & Record<
          string,
          unknown
        >;
        const reply: CommandReply = { outcome: "rejected", reason };
        if (meta.via !== "jetstream" && meta.via !== "internal" && !ALWAYS_DEAD_LETTER.has(reason.code)) {
          return this.count(meta, "rejected", { reply, disposition: "ack" });
        }
        const { code, message, ...details } = reason;
        const dl = this.o.dlq.build({
          reason: "rejected",
          code,
          message,
          details,
          raw: command,
          payload,
          intake: this.intakeOf(meta),
        });
        return this.deadLetter(dl, meta, command, reply);
      }
      case "failed": {
        if (result.code === "decisionFailed") {
          const message = `${commandPhrase(command)} could not be decided: ${result.error}`;
          const dl = this.o.dlq.build({
            reason: "decisionFailed",
            code: "decisionFailed",
            message,
            details: { error: result.error, ...(result.stage ? { stage: result.stage } : {}) },
            raw: command,
            payload,
            intake: this.intakeOf(meta),
          });
          const reason = { code: "decisionFailed", message };
          return this.deadLetter(
            dl,
            meta,
            command,
            meta.via === "jetstream" ? { outcome: "deadLettered", reason } : { outcome: "rejected", reason },
          );
        }
        if (result.retryable) {
          this.limited.error(
            "commit failed",
            {
              err: result.error,
              correlationId: command.correlationId,
              region: this.o.region,
              sku: command.position.sku,
              location: command.position.location,
            },
            "command could not be committed; will be redelivered",
          );
          return this.count(meta, "retry", {
            reply: { outcome: "rejected", reason: { code: "unavailable", message: result.error } },
            disposition: "retry",
            error: result.error,
          });
        }
        const dl = this.o.dlq.build({
          reason: "commitFailed",
          code: "revisionConflicts",
          message: result.error,
          raw: command,
          payload,
          intake: this.intakeOf(meta),
        });
        return this.deadLetter(dl, meta, command, {
          outcome: "deadLettered",
          reason: { code: dl.code, message: dl.message },
        });
      }
    }
  }

  private intakeOf(meta: MessageMeta): DeadLetter["intake"] {
    return {
      via: meta.via,
      ...(meta.subject !== undefined ? { subject: meta.subject } : {}),
      ...(meta.streamSequence !== undefined ? { streamSequence: meta.streamSequence } : {}),
    };
  }

  /** A sender mismatch is dead-lettered; a synchronous caller also hears "rejected". */
  private senderMismatch(
    dl: DeadLetter,
    meta: MessageMeta,
    command: Command,
    asyncIntake: boolean,
  ): Promise<Settled> {
    return this.deadLetter(dl, meta, command, {
      outcome: asyncIntake ? "deadLettered" : "rejected",
      reason: { code: dl.code, message: dl.message },
    });
  }

  /**
   * A decoded command's dead letter is identified by the command (key, code, hash): sent or delivered
   * N times, it is one dead letter. Bytes that are not a command are identified by their message.
   */
  private deadLetter(
    dl: DeadLetter,
    meta: MessageMeta,
    command: Command | undefined,
    reply: CommandReply,
  ): Promise<Settled> {
    const id = command
      ? commandDeadLetterId(command, dl.code)
      : meta.streamSequence !== undefined
        ? `seq:${meta.streamSequence}`
        : `anon:${randomUUID()}`;
    return this.publish(dl, id, meta, reply);
  }

  private async publish(
    dl: DeadLetter,
    id: string,
    meta: MessageMeta,
    reply: CommandReply,
  ): Promise<Settled> {
    try {
      await this.o.dlq.send(dl, id);
    } catch (err) {
      this.limited.error(
        "dead letter not published",
        { err, reason: dl.reason, correlationId: dl.context.correlationId },
        "dead letter not published; will retry",
      );
      const error = `dead letter ${dl.reason}/${dl.code} not published: ${errorText(err).message}`;
      return this.count(meta, "retry", { reply, disposition: "retry", error });
    }
    return this.count(meta, "deadLettered", { reply, disposition: "ack" });
  }

  private count(meta: MessageMeta, outcome: string, s: Settled): Settled {
    this.countOutcome(meta.via, outcome);
    return s;
  }

  private countOutcome(via: Via, outcome: string): void {
    const key = `${via}\u0000${outcome}`;
    let child = this.counted.get(key);
    if (child === undefined) {
      child = new CountingChild(commands, { region: this.o.region, via, outcome });
      this.counted.set(key, child);
    }
    child.inc();
  }
}
