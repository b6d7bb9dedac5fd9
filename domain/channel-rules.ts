/**
 * Channel availability (issue 14): what each sales channel may sell of a position's ATP.
 *
 * Rules, as an operator or the ERP sets them for a position (`setChannelRules`):
 * - **exclusions**: a location a channel never sells from (its figure there is 0);
 * - **protections** (supply protection, a protected minimum): `quantity` units per period kept for
 *   one channel; what the channel has not used of it is held out of every *other* channel's figure.
 *   Held amounts are given out in priority order and never add up to more than ATP;
 * - **buffers**: absolute or a percent of ATP, at SKU, SKU-location, category or channel level, for
 *   one channel or all. In priority order (lower first; at equal priority the more specific level
 *   first, then by id) the first matching buffer applies and later ones only if they say
 *   `stack: true`; the others are reported as overridden;
 * - **quotas** (product allocation, a maximum): at most `quantity` units per period for a channel.
 *
 * Periods: `day` (the UTC calendar day of the reservation's business time) or `untilRevoked` (from
 * the first rules that name it until rules without it). Use is what a channel reserved in the
 * period; a reservation released or expired gives its units back, a picked one stays used.
 *
 * `availableToSell` is pure and explains itself: the ATP breakdown first, then each rule that
 * concerns the channel at this position with its effect. Quotas and protections are per position
 * (one SKU-location): the position decides reservations one at a time, so they cannot be oversold.
 */
import * as t from "io-ts";
import type { Position } from "./ids.ts";
import type { AtpBreakdown } from "./position-context.ts";
import { CodeC, LevelAmountC, LocationIdC, NonNegativeIntC, SkuC, SystemIdC } from "./scalars.ts";

/** Rules of one kind kept per position at most (bounded like every list at a boundary, DESIGN §3.13). */
export const MAX_CHANNEL_RULES = 64;

const bounded = <C extends t.Mixed>(item: C, what: string) =>
  t.refinement(t.array(item), (a) => a.length <= MAX_CHANNEL_RULES, `${what} (at most ${MAX_CHANNEL_RULES})`);

export const PercentC = t.refinement(
  t.number,
  (n) => Number.isInteger(n) && n >= 0 && n <= 100,
  "a whole percent from 0 to 100",
);

export const PeriodC = t.keyof({ day: null, untilRevoked: null }, '"day" | "untilRevoked"');
export type Period = t.TypeOf<typeof PeriodC>;

export const BufferScopeC = t.union(
  [
    t.type({ level: t.literal("sku"), sku: SkuC }),
    t.type({ level: t.literal("skuLocation"), sku: SkuC, location: LocationIdC }),
    t.type({ level: t.literal("category"), category: CodeC }),
    t.type({ level: t.literal("channel") }),
  ],
  "a buffer scope { level: sku | skuLocation | category | channel, ... }",
);
export type BufferScope = t.TypeOf<typeof BufferScopeC>;

export const BufferAmountC = t.union(
  [t.type({ absolute: LevelAmountC }), t.type({ percent: PercentC })],
  "{ absolute } or { percent }",
);

export const BufferRuleC = t.intersection(
  [
    t.type({ id: CodeC, scope: BufferScopeC, amount: BufferAmountC, priority: NonNegativeIntC }),
    // channel absent: every channel.
    t.partial({ channel: SystemIdC, stack: t.boolean }),
  ],
  "a buffer { id, scope, amount, priority, channel?, stack? }",
);
export type BufferRule = t.TypeOf<typeof BufferRuleC>;

export const ExclusionRuleC = t.type(
  { id: CodeC, channel: SystemIdC, location: LocationIdC },
  "an exclusion { id, channel, location }",
);
export type ExclusionRule = t.TypeOf<typeof ExclusionRuleC>;

export const ProtectionRuleC = t.intersection(
  [
    t.type({ id: CodeC, channel: SystemIdC, quantity: LevelAmountC, period: PeriodC }),
    t.partial({ priority: NonNegativeIntC }),
  ],
  "a protected minimum { id, channel, quantity, period, priority? }",
);
export type ProtectionRule = t.TypeOf<typeof ProtectionRuleC>;

export const QuotaRuleC = t.type(
  { id: CodeC, channel: SystemIdC, quantity: LevelAmountC, period: PeriodC },
  "a maximum quota { id, channel, quantity, period }",
);
export type QuotaRule = t.TypeOf<typeof QuotaRuleC>;

export const ChannelRulesC = t.partial(
  {
    buffers: bounded(BufferRuleC, "buffers"),
    exclusions: bounded(ExclusionRuleC, "exclusions"),
    protections: bounded(ProtectionRuleC, "protections"),
    quotas: bounded(QuotaRuleC, "quotas"),
  },
  "ChannelRules",
);
export type ChannelRules = t.TypeOf<typeof ChannelRulesC>;

export const NO_CHANNEL_RULES: ChannelRules = {};

/** Problems of a rule set a codec cannot see (duplicate ids), as messages naming the rule. */
export const channelRulesProblems = (rules: ChannelRules): string[] => {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const [kind, list] of Object.entries(rules) as [string, { id: string }[]][]) {
    for (const r of list ?? []) {
      if (seen.has(r.id)) out.push(`${kind}: rule id ${JSON.stringify(r.id)} is used twice`);
      seen.add(r.id);
    }
  }
  return out;
};

// ---------------------------------------------------------------------------------------------
// Use per channel and period (part of the position's state, built from its events)

export interface ChannelUse {
  /** The latest day (`YYYY-MM-DD`, UTC) with use, and what was used on it. */
  readonly day: string;
  readonly onDay: number;
  /** Used since the channel's `untilRevoked` rules began. */
  readonly untilRevoked: number;
}
export type ChannelUsage = Readonly<Record<string, ChannelUse>>;

export const dayOf = (iso: string): string => new Date(Date.parse(iso)).toISOString().slice(0, 10);

const useOf = (usage: ChannelUsage, channel: string): ChannelUse | undefined =>
  Object.hasOwn(usage, channel) ? usage[channel] : undefined;

/** What `channel` used of a rule's period on `day`. */
export const usedIn = (usage: ChannelUsage, channel: string, period: Period, day: string): number => {
  const u = useOf(usage, channel);
  if (!u) return 0;
  return period === "untilRevoked" ? u.untilRevoked : u.day === day ? u.onDay : 0;
};

/** Adds (or, for a release, takes back) `quantity` used by `channel` on `day`. */
export const recordUse = (
  usage: ChannelUsage,
  channel: string,
  day: string,
  quantity: number,
): ChannelUsage => {
  const u = useOf(usage, channel) ?? { day, onDay: 0, untilRevoked: 0 };
  const onDay =
    u.day === day ? Math.max(0, u.onDay + quantity) : day > u.day ? Math.max(0, quantity) : u.onDay;
  const next: ChannelUse = {
    day: day > u.day ? day : u.day,
    onDay,
    untilRevoked: Math.max(0, u.untilRevoked + quantity),
  };
  return { ...usage, [channel]: next };
};

/** New rules: a channel no `untilRevoked` rule names any more starts from zero when named again. */
export const usageUnderRules = (usage: ChannelUsage, rules: ChannelRules): ChannelUsage => {
  const revocable = new Set(
    [...(rules.protections ?? []), ...(rules.quotas ?? [])]
      .filter((r) => r.period === "untilRevoked")
      .map((r) => r.channel),
  );
  return Object.fromEntries(
    Object.entries(usage).map(([c, u]) => [c, revocable.has(c) ? u : { ...u, untilRevoked: 0 }]),
  );
};

// ---------------------------------------------------------------------------------------------
// Available to sell

export interface ChannelContext {
  readonly position: Position;
  /** The SKU's category (master data), for category-level buffers. */
  readonly category?: string;
  /** The day (`YYYY-MM-DD`, UTC) whose `day` periods count. */
  readonly day: string;
  readonly usage: ChannelUsage;
}

export type RuleKind = "atp" | "exclusion" | "protection" | "buffer" | "quota";

export interface RuleEffect {
  /** `atp`, or the rule's kind and id (`buffer:B1`). */
  readonly rule: string;
  readonly kind: RuleKind;
  readonly effect: string;
  readonly before: number;
  readonly after: number;
}

export interface ChannelAvailability {
  readonly channel: string;
  readonly quantity: number;
  readonly explanation: readonly RuleEffect[];
}

export interface HeldProtection {
  readonly rule: string;
  readonly channel: string;
  readonly protected: number;
  readonly used: number;
  /** Kept out of the other channels' figures: unused protection, given out in priority order up to ATP. */
  readonly held: number;
}

const byPriorityThenId =
  <R extends { id: string }>(p: (r: R) => number) =>
  (a: R, b: R) =>
    p(a) - p(b) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** What each protected minimum holds now; the sum never exceeds ATP. */
export const protectionsHeld = (
  breakdown: AtpBreakdown,
  rules: ChannelRules,
  ctx: ChannelContext,
): HeldProtection[] => {
  let left = breakdown.atp;
  return [...(rules.protections ?? [])].sort(byPriorityThenId((r) => r.priority ?? 0)).map((r) => {
    const used = usedIn(ctx.usage, r.channel, r.period, ctx.day);
    const held = Math.min(left, Math.max(0, r.quantity - used));
    left -= held;
    return { rule: r.id, channel: r.channel, protected: r.quantity, used, held };
  });
};

const LEVEL_ORDER: Record<BufferScope["level"], number> = { skuLocation: 0, sku: 1, category: 2, channel: 3 };

const scopeMatches = (s: BufferScope, ctx: ChannelContext): boolean => {
  switch (s.level) {
    case "sku":
      return s.sku === ctx.position.sku;
    case "skuLocation":
      return s.sku === ctx.position.sku && s.location === ctx.position.location;
    case "category":
      return ctx.category !== undefined && s.category === ctx.category;
    case "channel":
      return true;
  }
};

const scopeText = (s: BufferScope): string =>
  s.level === "sku"
    ? `SKU ${s.sku}`
    : s.level === "skuLocation"
      ? `SKU ${s.sku} at ${s.location}`
      : s.level === "category"
        ? `category ${s.category}`
        : "channel";

const periodText = (p: Period): string => (p === "day" ? "per day" : "until revoked");

/**
 * What `channel` may sell from the position whose ATP is `breakdown`: ATP, then its exclusion,
 * the other channels' protected minimums, its buffers and its quotas, each with its effect.
 */
export const availableToSell = (
  breakdown: AtpBreakdown,
  rules: ChannelRules,
  channel: string,
  ctx: ChannelContext,
): ChannelAvailability => {
  const steps: RuleEffect[] = [];
  let q = breakdown.atp;
  const step = (rule: string, kind: RuleKind, effect: string, after: number) => {
    steps.push({ rule, kind, effect, before: q, after });
    q = after;
  };
  step(
    "atp",
    "atp",
    breakdown.sellable
      ? `available ${breakdown.available} − reserved ${breakdown.reserved} − safety stock ${breakdown.safetyStock} = ${breakdown.net}, ATP ${breakdown.atp}`
      : `the position is ${breakdown.lifecycle}: ATP 0`,
    breakdown.atp,
  );
  steps[0] = { ...(steps[0] as RuleEffect), before: breakdown.available };

  const excluded = (rules.exclusions ?? []).find(
    (r) => r.channel === channel && r.location === ctx.position.location,
  );
  if (excluded) {
    step(`exclusion:${excluded.id}`, "exclusion", `${channel} never sells from ${ctx.position.location}`, 0);
    return { channel, quantity: 0, explanation: steps };
  }

  for (const h of protectionsHeld(breakdown, rules, ctx)) {
    if (h.channel === channel) {
      step(
        `protection:${h.rule}`,
        "protection",
        `protects ${h.protected} for ${channel} (used ${h.used}); it limits the other channels, not this one`,
        q,
      );
    } else if (h.protected > 0) {
      step(
        `protection:${h.rule}`,
        "protection",
        `${h.held} held for ${h.channel} (protected ${h.protected}, used ${h.used})`,
        Math.max(0, q - h.held),
      );
    }
  }

  const buffers = (rules.buffers ?? [])
    .filter((b) => (b.channel === undefined || b.channel === channel) && scopeMatches(b.scope, ctx))
    .sort(
      (a, b) =>
        a.priority - b.priority ||
        LEVEL_ORDER[a.scope.level] - LEVEL_ORDER[b.scope.level] ||
        (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
    );
  let first: BufferRule | undefined;
  for (const b of buffers) {
    const where = `${scopeText(b.scope)}, priority ${b.priority}`;
    if (first && b.stack !== true) {
      step(
        `buffer:${b.id}`,
        "buffer",
        `not applied (${where}): buffer ${first.id} takes precedence and buffers do not stack unless stack: true`,
        q,
      );
      continue;
    }
    first ??= b;
    const size =
      "absolute" in b.amount ? b.amount.absolute : Math.ceil((breakdown.atp * b.amount.percent) / 100);
    const how = "absolute" in b.amount ? `${size}` : `${b.amount.percent}% of ATP ${breakdown.atp} = ${size}`;
    step(`buffer:${b.id}`, "buffer", `buffer ${how} (${where})`, Math.max(0, q - size));
  }

  for (const r of (rules.quotas ?? []).filter((x) => x.channel === channel)) {
    const used = usedIn(ctx.usage, channel, r.period, ctx.day);
    const left = Math.max(0, r.quantity - used);
    step(
      `quota:${r.id}`,
      "quota",
      `quota ${r.quantity} ${periodText(r.period)}, used ${used}: at most ${left}`,
      Math.min(q, left),
    );
  }
  return { channel, quantity: q, explanation: steps };
};

/** The explanation as one line per rule, for messages and logs. */
export const explainText = (a: ChannelAvailability): string =>
  a.explanation.map((s) => `${s.rule}: ${s.effect} (${s.before} → ${s.after})`).join("; ");
