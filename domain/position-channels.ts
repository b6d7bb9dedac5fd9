/**
 * A position's channel rules and what each channel used of them (issue 14), as part of its state:
 * `ChannelRulesChanged` sets the rules; while a position has rules, every `ReservationPlaced`
 * counts as use of its channel (`source.system`) in its period, and a release or expiry gives the
 * units back. Both are built from events, so a replay gives the same channel figures as live.
 * A position that never had rules has neither field and decides exactly as before.
 */
import type { PendingEvent } from "./canonical-event.ts";
import {
  availableToSell,
  type ChannelAvailability,
  type ChannelRules,
  type ChannelUsage,
  dayOf,
  recordUse,
  usageUnderRules,
} from "./channel-rules.ts";
import type { AtpBreakdown, PositionContext } from "./position-context.ts";
import type { Reservation } from "./reservation-book.ts";

/** The rules of a position and the SKU's category they were set with. */
export interface PositionChannelRules {
  readonly rules: ChannelRules;
  readonly category?: string;
}

/** The channel state fields of the position context (absent until the first rules). */
export interface ChannelState {
  readonly channelRules?: PositionChannelRules;
  readonly channelUsage?: ChannelUsage;
}

/**
 * The channel part of an event's effect. `before` is the context before the event (a released
 * reservation is read there), `ctx` the context after its balance effect.
 */
export const applyChannelEffect = <C extends ChannelState>(
  before: { readonly reservations: unknown } & ChannelState,
  ctx: C,
  e: PendingEvent,
  reservationOf: (id: string) => Reservation | undefined,
): C => {
  if (e.type === "ChannelRulesChanged") {
    const channelRules: PositionChannelRules = {
      rules: e.rules,
      ...(e.category !== undefined ? { category: e.category } : {}),
    };
    return { ...ctx, channelRules, channelUsage: usageUnderRules(before.channelUsage ?? {}, e.rules) };
  }
  if (!before.channelRules) return ctx;
  const usage = before.channelUsage ?? {};
  if (e.type === "ReservationPlaced") {
    return { ...ctx, channelUsage: recordUse(usage, e.source.system, dayOf(e.businessTime), e.quantity) };
  }
  if (e.type === "ReservationReleased" || e.type === "ReservationExpired") {
    const r = reservationOf(e.reservationId);
    if (!r?.seller) return ctx;
    return { ...ctx, channelUsage: recordUse(usage, r.seller, dayOf(r.placedAt), -r.quantity) };
  }
  return ctx;
};

/** What `channel` may sell at the position on `day` (default: the day of `now`), explained. */
export const channelAvailabilityOf = (
  ctx: PositionContext,
  breakdown: AtpBreakdown,
  channel: string,
  now: string,
): ChannelAvailability =>
  availableToSell(breakdown, ctx.channelRules?.rules ?? {}, channel, {
    position: ctx.position,
    ...(ctx.channelRules?.category !== undefined ? { category: ctx.channelRules.category } : {}),
    day: dayOf(now),
    usage: ctx.channelUsage ?? {},
  });
