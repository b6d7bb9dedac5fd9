/**
 * One path for a command from every intake (JetStream, request/reply, HTTP): parse and guard, decide on
 * its position actor, dead-letter what cannot be applied, and say what to answer and whether the
 * source message may be acknowledged (only once its outcome is durable).
 *
 * Dead-letter policy: the asynchronous intake (JetStream) dead-letters every command it cannot apply,
 * since no caller is waiting. The synchronous intakes answer the caller; they dead-letter only what an
 * operator must see anyway: ownership violations and idempotency conflicts (DESIGN §3.7, §3.9).
 */
import { randomUUID } from "node:crypto";
import type { Logger } from "pino";
import type { Command } from "../../domain/commands.ts";
import { counter } from "../../infra/metrics.ts";
import { cmdSubject } from "../../infra/nats/subjects.ts";
import { type IntakeLimits, type Parsed, parseCommandBytes, parseCommandValue } from "./command-intake.ts";
import type { CommandReply } from "./command-reply.ts";
import type { DeadLetter, DeadLetterPublisher } from "./dead-letters.ts";
import type { HandleResult, PositionRuntime } from "./position-runtime.ts";

export type Via = "jetstream" | "request" | "http" | "internal";

export interface Settled {
  readonly reply: CommandReply;
  /** `ack`: the outcome is durable; `retry`: not handled, redeliver later. */
  readonly disposition: "ack" | "retry";
}

export interface MessageMeta {
  readonly via: Via;
  readonly subject?: string;
  /** JetStream stream sequence: makes the dead letter's message id stable across redeliveries. */
  readonly streamSequence?: number;
}

const commands = counter("stockline_node_commands_total", "Commands handled, by intake and outcome", [
  "region",
  "via",
  "outcome",
]);

const ALWAYS_DEAD_LETTER = new Set(["notOwner", "idempotencyConflict"]);

export class CommandHandler {
  constructor(
    private readonly o: {
      readonly region: string;
      readonly limits: IntakeLimits;
      readonly runtime: PositionRuntime;
      readonly dlq: DeadLetterPublisher;
      readonly logger: Logger;
    },
  ) {}

  handleBytes(data: Uint8Array, meta: MessageMeta): Promise<Settled> {
    return this.handleParsed(parseCommandBytes(data, this.o.limits), data, meta);
  }

  handleValue(raw: unknown, meta: MessageMeta): Promise<Settled> {
    const parsed = parseCommandValue(raw, this.o.limits);
    let text: string;
    try {
      text = JSON.stringify(raw) ?? String(raw);
    } catch {
      text = String(raw);
    }
    return this.handleParsed(parsed, text, meta);
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
      const reply: CommandReply = { outcome: "invalid", errors: [...errors] };
      if (!asyncIntake) return this.count(meta, "invalid", { reply, disposition: "ack" });
      const dl = this.o.dlq.build({
        reason: parsed.reason,
        code: parsed.code,
        message: parsed.message,
        ...(parsed.errors ? { details: { errors: parsed.errors } } : {}),
        raw: parsed.raw,
        payload,
        intake: this.intakeOf(meta),
      });
      return this.deadLetter(dl, meta, undefined, {
        outcome: "deadLettered",
        reason: { code: dl.code, message: dl.message },
      });
    }
    const command = parsed.command;
    if (meta.subject !== undefined && meta.via === "jetstream") {
      const expected = cmdSubject(command.position.region, command.position.location, command.position.sku);
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
          await this.o.dlq.send(dl, `gap:${command.idempotencyKey}`);
        }
        return this.count(meta, "accepted", {
          reply: { outcome: "accepted", events: [...result.events] },
          disposition: "ack",
        });
      case "duplicate":
        return this.count(meta, "duplicate", {
          reply: { outcome: "duplicate", events: [...(result.events ?? [])] },
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
        if (result.retryable) {
          this.o.logger.error(
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

  private async deadLetter(
    dl: DeadLetter,
    meta: MessageMeta,
    command: Command | undefined,
    reply: CommandReply,
  ): Promise<Settled> {
    const id =
      meta.streamSequence !== undefined
        ? `seq:${meta.streamSequence}`
        : command
          ? `key:${command.idempotencyKey}:${dl.code}`
          : `anon:${randomUUID()}`;
    try {
      await this.o.dlq.send(dl, id);
    } catch (err) {
      this.o.logger.error(
        { err, reason: dl.reason, correlationId: dl.context.correlationId },
        "dead letter not published; will retry",
      );
      return this.count(meta, "retry", { reply, disposition: "retry" });
    }
    return this.count(meta, "deadLettered", { reply, disposition: "ack" });
  }

  private count(meta: MessageMeta, outcome: string, s: Settled): Settled {
    commands.inc({ region: this.o.region, via: meta.via, outcome });
    return s;
  }
}
