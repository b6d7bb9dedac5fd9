/**
 * Dead letters (DESIGN §3.10): every command that cannot be applied goes to `INV_DLQ_<R>` on
 * `inv.dlq.<r>.<reason>` as JSON an operator can read, fix and replay: the business context (SKU,
 * location, source system, document, correlation id), the rule or error, and the original payload as
 * text (truncated when huge). Headers repeat the essentials for filtering without parsing.
 *
 * `send` resolves when JetStream acknowledged the dead letter: only then may the original message
 * be acknowledged. The message id says what is dead-lettered, not which delivery brought it: for a
 * decoded command it is derived from the command (`commandDeadLetterId`: idempotency key, code and
 * the command's hash), so the same refused command sent or delivered N times is one dead letter;
 * for bytes that are not a command it is the stream sequence. `INV_DLQ_<R>` deduplicates these ids
 * for 7 days (infra/nats/streams.ts), far beyond JetStream's 2-minute default.
 *
 * Whatever a poison message holds, its dead letter can be published: header values are made
 * well-formed and printable, and a dead letter stays far below the server's max payload (payload
 * text and details are truncated). Its log line is rate-limited per reason and code.
 */
import type { JetStreamClient } from "@nats-io/jetstream";
import { headers as natsHeaders } from "@nats-io/transport-node";
import type { Logger } from "pino";
import { canonicalJson, sha256Hex } from "../../domain/canonical-json.ts";
import type { Command } from "../../domain/commands.ts";
import { commandHashOf } from "../../domain/position.decider.ts";
import { LogLimiter } from "../../infra/logging.ts";
import { counter } from "../../infra/metrics.ts";
import { dlqSubject } from "../../infra/nats/subjects.ts";

/** A short machine-readable reason: the subject's last token. */
export type DeadLetterReason =
  | "malformedJson"
  | "payloadTooLarge"
  | "hostilePayload"
  | "invalidCommand"
  | "wrongRegion"
  | "subjectMismatch"
  /** The authenticated sender may not speak for the command's `source.system`. */
  | "senderMismatch"
  | "rejected"
  | "commitFailed"
  | "sequenceGapTimeout"
  | "transferDispatchFailed"
  /** A committed event the relay can never publish (beyond the server's limits): passed, not relayed. */
  | "unpublishableEvent"
  /** Deciding or evolving the command threw (a bug or an input the domain cannot handle): contained to it. */
  | "decisionFailed"
  /** The intake itself threw on this message before a decision (e.g. encoding its subject). */
  | "intakeFailed"
  /** Handled and redelivered `max_deliver` times without an outcome (the last error is in the message). */
  | "redeliveryExhausted"
  /** An event in `INV_EVT_<R>` the read model cannot decode (written by something other than the relay). */
  | "undecodableEvent"
  /** A location the command names (position, transfer destination or origin) is not in master data. */
  | "unknownLocation"
  /** The command's SKU is not in master data's closed product catalogue. */
  | "unknownSku"
  /** A part of a source's document a connector cannot translate (the place, the value, why; issue 11). */
  | "untranslatable";

export interface DeadLetter {
  readonly reason: DeadLetterReason;
  /** The rejection code or error code (`notOwner`, `insufficientAtp`, `decode`, ...). */
  readonly code: string;
  /** One sentence for the operator. */
  readonly message: string;
  /** The rule that refused it (ownership) or other structured details. */
  readonly details?: Record<string, unknown>;
  readonly context: {
    readonly sku?: string;
    readonly location?: string;
    readonly region?: string;
    readonly sourceSystem?: string;
    readonly document?: unknown;
    readonly idempotencyKey?: string;
    readonly correlationId?: string;
    readonly kind?: string;
  };
  /** Where it came from: `jetstream` (with subject and stream sequence), `request`, `http`, `internal`. */
  readonly intake: { readonly via: string; readonly subject?: string; readonly streamSequence?: number };
  /** The original payload as text (truncated beyond `maxPayloadText`). */
  readonly payload: string;
  readonly payloadBytes: number;
  readonly payloadTruncated: boolean;
  readonly at: string;
  /** Whether the command was applied anyway (a flagged notice rather than a rejection). */
  readonly applied?: boolean;
}

const sent = counter("stockline_node_dead_letters_total", "Dead letters published", ["region", "reason"]);

const MAX_PAYLOAD_TEXT = 16 * 1024;
/** Details beyond this (as JSON) are kept as truncated text: a dead letter must fit NATS's max payload. */
const MAX_DETAILS_TEXT = 16 * 1024;

/**
 * The message id of a decoded command's dead letter: the same command refused for the same reason is
 * one dead letter however often it is sent or delivered. Hashed, so a long key cannot make a long id.
 */
export const commandDeadLetterId = (command: Command, code: string): string => {
  let hash: string;
  try {
    hash = commandHashOf(command);
  } catch {
    hash = "unhashable";
  }
  return `cmd:${sha256Hex(canonicalJson([command.idempotencyKey, code, hash]))}`;
};

const str = (u: unknown): string | undefined => (typeof u === "string" && u.length <= 512 ? u : undefined);

/** Business context from whatever part of a command could be read, without trusting its shape. */
export const contextOf = (raw: unknown): DeadLetter["context"] => {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return {};
  const r = raw as Record<string, unknown>;
  const pos = (typeof r.position === "object" && r.position !== null ? r.position : {}) as Record<
    string,
    unknown
  >;
  const src = (typeof r.source === "object" && r.source !== null ? r.source : {}) as Record<string, unknown>;
  const doc = typeof src.document === "object" && src.document !== null ? src.document : undefined;
  const out: Record<string, unknown> = {
    sku: str(pos.sku),
    location: str(pos.location),
    region: str(pos.region),
    sourceSystem: str(src.system),
    document: doc,
    idempotencyKey: str(r.idempotencyKey),
    correlationId: str(r.correlationId),
    kind: str(r.kind),
  };
  for (const k of Object.keys(out)) if (out[k] === undefined) delete out[k];
  return out as DeadLetter["context"];
};

const safeDocument = (raw: unknown): unknown => {
  try {
    const text = JSON.stringify(raw);
    return text.length <= 2048 ? JSON.parse(text) : { truncated: text.slice(0, 2048) };
  } catch {
    return undefined;
  }
};

/** Details as given, or as truncated JSON text when they are too large (or cannot be serialised). */
const boundedDetails = (details: Record<string, unknown>): Record<string, unknown> => {
  let text: string;
  try {
    text = JSON.stringify(details);
  } catch (err) {
    return { unserialisable: (err as Error).message };
  }
  return text.length <= MAX_DETAILS_TEXT
    ? details
    : { truncated: text.slice(0, MAX_DETAILS_TEXT), bytes: Buffer.byteLength(text) };
};

export const payloadText = (
  payload: Uint8Array | string,
): { text: string; bytes: number; truncated: boolean } => {
  const bytes = typeof payload === "string" ? Buffer.byteLength(payload) : payload.length;
  const text =
    typeof payload === "string"
      ? payload.slice(0, MAX_PAYLOAD_TEXT)
      : Buffer.from(payload.subarray(0, MAX_PAYLOAD_TEXT)).toString("utf8");
  return { text, bytes, truncated: bytes > MAX_PAYLOAD_TEXT };
};

export class DeadLetterPublisher {
  private readonly limited: LogLimiter;

  constructor(
    private readonly js: JetStreamClient,
    private readonly region: string,
    log: Logger,
  ) {
    this.limited = new LogLimiter(log);
  }

  /** Builds a dead letter from a raw payload and whatever could be read of it. */
  build(args: {
    reason: DeadLetterReason;
    code: string;
    message: string;
    details?: Record<string, unknown>;
    raw?: unknown;
    payload: Uint8Array | string;
    intake: DeadLetter["intake"];
    applied?: boolean;
  }): DeadLetter {
    const p = payloadText(args.payload);
    let context: DeadLetter["context"] = {};
    try {
      context = contextOf(args.raw);
      if (context.document !== undefined) context = { ...context, document: safeDocument(context.document) };
    } catch {
      context = {};
    }
    return {
      reason: args.reason,
      code: args.code,
      message: args.message,
      ...(args.details ? { details: boundedDetails(args.details) } : {}),
      context,
      intake: args.intake,
      payload: p.text,
      payloadBytes: p.bytes,
      payloadTruncated: p.truncated,
      at: new Date().toISOString(),
      ...(args.applied !== undefined ? { applied: args.applied } : {}),
    };
  }

  /** Publishes and waits for the stream's ack. `msgId` makes a repeat idempotent. */
  async send(dl: DeadLetter, msgId: string): Promise<void> {
    const h = natsHeaders();
    h.set("Stockline-Reason", dl.reason);
    h.set("Stockline-Code", dl.code);
    if (dl.context.sku) h.set("Stockline-Sku", encodeHeader(dl.context.sku));
    if (dl.context.location) h.set("Stockline-Location", encodeHeader(dl.context.location));
    if (dl.context.sourceSystem) h.set("Stockline-Source-System", encodeHeader(dl.context.sourceSystem));
    if (dl.context.correlationId) h.set("Stockline-Correlation-Id", encodeHeader(dl.context.correlationId));
    await this.js.publish(dlqSubject(this.region, dl.reason), JSON.stringify(dl), {
      msgID: `${this.region}:dlq:${msgId}`,
      headers: h,
      timeout: 10_000,
    });
    sent.inc({ region: this.region, reason: dl.reason });
    this.limited.warn(
      `dead letter ${dl.reason}/${dl.code}`,
      {
        region: this.region,
        reason: dl.reason,
        code: dl.code,
        sku: dl.context.sku,
        location: dl.context.location,
        correlationId: dl.context.correlationId,
        sourceSystem: dl.context.sourceSystem,
      },
      `dead letter: ${dl.message}`,
    );
  }
}

/** Lone UTF-16 surrogates, which `encodeURIComponent` refuses with a URIError. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Header values must be one line of printable text, whatever the poison message held. */
export const encodeHeader = (s: string): string =>
  encodeURIComponent(s.slice(0, 256).replace(LONE_SURROGATE, "\uFFFD")).slice(0, 256);
