/**
 * What a regional node answers for one command, on `inv.req.<r>` (request/reply) and per item of
 * `POST /v1/commands`. Callers (the availability/reservation API) decode it with `commandReplyCodec`.
 *
 * - `accepted`: the events were committed (they are in the event store); `events` are the stored events.
 * - `duplicate`: the idempotency key was seen with the same payload; the first handling stands, and
 *   `events` are the events it produced (when still readable), so a retry sees the first outcome.
 * - `rejected`: the command was refused; `reason` has a `code`, a `message` and details
 *   (e.g. `atp` for `insufficientAtp`, `rule` for `notOwner`).
 * - `parked`: a gap in the source's sequence; the command is held durably and applied when the gap
 *   fills or after the park timeout.
 * - `invalid`: the command did not decode; `errors` name field, value and what was expected.
 * - `deadLettered`: only in batch/async paths: the command was sent to the dead-letter stream.
 */
import * as E from "fp-ts/lib/Either.js";
import * as t from "io-ts";
import { canonicalEventCodec } from "./canonical-event.ts";
import { type DecodeError, toDecodeErrors } from "./decode-errors.ts";

const DecodeErrorC = t.type({ path: t.string, value: t.unknown, expected: t.string, message: t.string });

const ReasonC = t.intersection([t.type({ code: t.string, message: t.string }), t.UnknownRecord]);

export const AcceptedReplyC = t.type({
  outcome: t.keyof({ accepted: null, duplicate: null }),
  events: t.array(canonicalEventCodec),
});
export const RejectedReplyC = t.type({ outcome: t.literal("rejected"), reason: ReasonC });
export const ParkedReplyC = t.type({
  outcome: t.literal("parked"),
  system: t.string,
  expectedSequence: t.number,
  got: t.number,
});
export const InvalidReplyC = t.type({ outcome: t.literal("invalid"), errors: t.array(DecodeErrorC) });
export const DeadLetteredReplyC = t.type({
  outcome: t.literal("deadLettered"),
  reason: ReasonC,
});

export const commandReplyCodec = t.union(
  [AcceptedReplyC, RejectedReplyC, ParkedReplyC, InvalidReplyC, DeadLetteredReplyC],
  "CommandReply",
);
export type CommandReply = t.TypeOf<typeof commandReplyCodec>;

export const decodeCommandReply = (input: unknown): E.Either<DecodeError[], CommandReply> => {
  const r = commandReplyCodec.decode(input);
  return E.isRight(r) ? E.right(r.right) : E.left(toDecodeErrors(r.left));
};

/** Body of `POST /v1/commands`: `{ commands: [...] }` (or a bare array). Reply: one outcome per item. */
export const BatchReplyC = t.type({ outcomes: t.array(commandReplyCodec) });
export type BatchReply = t.TypeOf<typeof BatchReplyC>;
