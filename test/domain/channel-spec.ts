/**
 * Builders for channel specs (issue 14): `setChannelRules` commands and reservations sent by a
 * channel (`source.system`), in the style of position-spec.ts.
 */
import type { ChannelRules } from "../../domain/channel-rules.ts";
import type { Command, CommandOf } from "../../domain/commands.ts";
import { at, POS, reserve } from "./position-spec.ts";

let counter = 0;

/** An operator's (`erp`) allocation: the position's channel rules from now on. */
export const setRules = (
  rules: ChannelRules,
  o: Partial<Omit<CommandOf<"setChannelRules">, "kind" | "rules">> = {},
): Command => {
  counter++;
  return {
    kind: "setChannelRules",
    idempotencyKey: `rules-${counter}`,
    source: { system: "erp", document: { type: "allocation", id: `alloc-${counter}` } },
    businessTime: at(0),
    correlationId: `rules-corr-${counter}`,
    position: POS,
    rules,
    ...o,
  } as Command;
};

/** A reservation placed by `channel` (its `source.system`, as the API sends a channel key's). */
export const reserveAs = (
  channel: string,
  id: string,
  n: number,
  o: Partial<Omit<CommandOf<"placeReservation">, "kind">> = {},
): Command =>
  reserve(id, n, {
    source: { system: channel, document: { type: "reservation", id } },
    channel,
    ...o,
  });
