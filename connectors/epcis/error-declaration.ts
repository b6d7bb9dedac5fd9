/**
 * EPCIS error declarations (EPCIS 2.0 §7.4.1.4): an event sent again with the same eventID and an
 * `errorDeclaration` says that event was in error. stockline undoes what the declared event did:
 * the commands it yielded are translated again from the repeated event and each is reversed (table
 * below). Reversals have keys of their own (`<system>:<eventID>:reversal:<line>`, caused by the
 * original command's key), so the original, its reversal and repeats of either are each applied once.
 * The events named by `correctiveEventIDs` are ordinary events and are translated when they arrive
 * (in this document or another); nothing waits for them.
 *
 * | declared command            | reversal                                                           |
 * | receiveGoods / receiveTransfer / receiveReturn | adjustStock −q in the status received into      |
 * | confirmPick                 | reversePick q (picked back to available)                            |
 * | postShipment                | adjustStock +q available (there is no adjustment of picked stock)   |
 * | changeStatus from → to      | changeStatus to → from                                              |
 * | adjustStock ±q              | adjustStock ∓q                                                      |
 * | consumeForProduction        | adjustStock +q available                                            |
 * | recordProductionOutput      | adjustStock −q in the output's status                               |
 * | shipTransfer, recordCount   | untranslatable: a transfer is undone at both ends by its owner; a count is a level, the corrective count replaces it |
 */
import * as E from "fp-ts/lib/Either.js";
import { type Command, decodeCommand, formatDecodeErrors } from "../../domain/commands.ts";
import type { Problem } from "./event-items.ts";
import { cbvWord } from "./identifiers.ts";

const negate = (q: { value: number; uom: string }, sign: 1 | -1) => ({ value: sign * q.value, uom: q.uom });

/** The body of the command that undoes `c`, or why there is none. */
const reversalBody = (c: Command, reasonCode: string): Record<string, unknown> | string => {
  const adjust = (q: { value: number; uom: string }, sign: 1 | -1, status: string) => ({
    kind: "adjustStock",
    quantity: negate(q, sign),
    reasonCode,
    status,
  });
  switch (c.kind) {
    case "receiveGoods":
    case "receiveTransfer":
      return adjust(c.quantity, -1, c.status ?? "available");
    case "receiveReturn":
      return adjust(c.quantity, -1, c.into);
    case "recordProductionOutput":
      return adjust(c.quantity, -1, c.status ?? "available");
    case "postShipment":
    case "consumeForProduction":
      return adjust(c.quantity, 1, "available");
    case "adjustStock":
      return {
        kind: "adjustStock",
        quantity: negate(c.quantity, -1),
        reasonCode,
        ...(c.status ? { status: c.status } : {}),
      };
    case "confirmPick": {
      const { lot, serials, expiry } = c;
      return {
        kind: "reversePick",
        quantity: c.quantity,
        ...(lot ? { lot } : {}),
        ...(serials ? { serials } : {}),
        ...(expiry ? { expiry } : {}),
      };
    }
    case "changeStatus": {
      const { lot, serials, expiry } = c;
      return {
        kind: "changeStatus",
        quantity: c.quantity,
        fromStatus: c.toStatus,
        toStatus: c.fromStatus,
        ...(lot ? { lot } : {}),
        ...(serials ? { serials } : {}),
        ...(expiry ? { expiry } : {}),
      };
    }
    case "shipTransfer":
      return "a shipped transfer is reversed at both ends by the transfer's owner (the destination expects it in transit); a translator cannot undo it";
    case "recordCount":
      return "a count is a level: the corrective event's count replaces it; it is not reversed";
    default:
      return `a ${c.kind} is not reversed by an error declaration`;
  }
};

/**
 * Reversals of the commands of a declared event. `declared` are the commands the event yields as
 * if it were new; `atOf` says where each came from (for the problems).
 */
export const reversals = (
  declared: readonly Command[],
  reason: string | undefined,
  at: (c: Command) => string,
): { commands: Command[]; problems: Problem[] } => {
  const word = reason === undefined ? "unspecified" : cbvWord(reason, "ER");
  const reasonCode = /^[a-z_]{1,40}$/.test(word)
    ? `epcis:errorDeclaration:${word}`
    : "epcis:errorDeclaration";
  const commands: Command[] = [];
  const problems: Problem[] = [];
  for (const c of declared) {
    const body = reversalBody(c, reasonCode);
    if (typeof body === "string") {
      problems.push({ at: at(c), value: c.kind, reason: `an error declaration of this event: ${body}` });
      continue;
    }
    const line = `reversal.${c.source.document.line ?? ""}`;
    const candidate = {
      ...body,
      idempotencyKey: `${c.source.system}:${c.correlationId}:${line}`,
      causationId: c.idempotencyKey,
      source: { system: c.source.system, document: { ...c.source.document, line } },
      businessTime: c.businessTime,
      correlationId: c.correlationId,
      position: c.position,
      ...(c.documents ? { documents: c.documents } : {}),
    };
    const decoded = decodeCommand(candidate);
    if (E.isRight(decoded)) commands.push(decoded.right);
    else
      problems.push({
        at: at(c),
        value: candidate,
        reason: `a valid reversal: ${formatDecodeErrors(decoded.left)}`,
      });
  }
  return { commands, problems };
};
