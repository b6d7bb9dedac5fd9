/**
 * Outbound routing (issue 5, DESIGN §3.7): which committed events go to which target systems
 * (ERPs) at which locations. Every rule that matches an event adds its target; a target never
 * receives an event whose movement it owns itself (`event.source.system` is one of the target's
 * `systems`): that would echo the movement back to where it came from and, with a connector that
 * reads the target, loop.
 *
 * Location patterns are globs over the raw location id (`*`, `?`), as in the ownership policy.
 */
import * as E from "fp-ts/lib/Either.js";
import * as t from "io-ts";
import { type CanonicalEvent, EVENT_TYPES, type EventType } from "./canonical-event.ts";
import { type DecodeError, toDecodeErrors } from "./decode-errors.ts";
import { matchesGlob } from "./ownership-policy.ts";
import { NonEmptyStringC, RegionC, SystemIdC } from "./scalars.ts";

const eventTypeKeys = Object.fromEntries([...EVENT_TYPES, "*"].map((k) => [k, null])) as Record<
  EventType | "*",
  null
>;
export const EventTypePatternC = t.keyof(
  eventTypeKeys,
  `an event type (${[...EVENT_TYPES, "*"].join(", ")})`,
);

export const RoutingTargetC = t.type(
  {
    id: NonEmptyStringC,
    /** The names under which this target appears as `source.system` of the movements it owns. */
    systems: t.array(SystemIdC),
  },
  "a routing target { id, systems }",
);
export type RoutingTarget = t.TypeOf<typeof RoutingTargetC>;

export const RoutingRuleC = t.intersection(
  [
    t.type({ target: NonEmptyStringC, events: t.array(EventTypePatternC) }),
    t.partial({
      name: NonEmptyStringC,
      /** Glob over the location id (default `*`). */
      locations: NonEmptyStringC,
      /** Regions the rule applies to (default: all). */
      regions: t.array(RegionC),
    }),
  ],
  "a routing rule { target, events, locations?, regions?, name? }",
);
export type RoutingRule = t.TypeOf<typeof RoutingRuleC>;

export const RoutingConfigC = t.type(
  { targets: t.array(RoutingTargetC), rules: t.array(RoutingRuleC) },
  "RoutingConfig { targets, rules }",
);
export type RoutingConfig = t.TypeOf<typeof RoutingConfigC>;

const problem = (path: string, value: unknown, expected: string): DecodeError => ({
  path,
  value,
  expected,
  message: `${path}: got ${JSON.stringify(value)}, expected ${expected}`,
});

/** Decodes and cross-checks a routing configuration: rules name known targets, ids are unique. */
export const decodeRoutingConfig = (input: unknown): E.Either<DecodeError[], RoutingConfig> => {
  const r = RoutingConfigC.decode(input);
  if (E.isLeft(r)) return E.left(toDecodeErrors(r.left));
  const cfg = r.right;
  const problems: DecodeError[] = [];
  const ids = new Set<string>();
  cfg.targets.forEach((target, i) => {
    if (ids.has(target.id)) problems.push(problem(`targets.${i}.id`, target.id, "a target id used once"));
    ids.add(target.id);
    if (target.systems.length === 0)
      problems.push(problem(`targets.${i}.systems`, target.systems, "at least one system name"));
  });
  cfg.rules.forEach((rule, i) => {
    if (!ids.has(rule.target))
      problems.push(problem(`rules.${i}.target`, rule.target, `one of the targets (${[...ids].join(", ")})`));
    if (rule.events.length === 0)
      problems.push(problem(`rules.${i}.events`, rule.events, "at least one event type or *"));
  });
  return problems.length > 0 ? E.left(problems) : E.right(cfg);
};

export interface RoutingDecision {
  /** Targets the event must be posted to, in configuration order. */
  readonly deliver: readonly string[];
  /** Targets a rule selected but that own the movement (no echo). */
  readonly suppressed: readonly { readonly target: string; readonly reason: string }[];
}

type RoutedEvent = Pick<CanonicalEvent, "type" | "position" | "source">;

const ruleMatches = (rule: RoutingRule, event: RoutedEvent): boolean =>
  (rule.events.includes("*") || rule.events.includes(event.type)) &&
  matchesGlob(rule.locations ?? "*", event.position.location) &&
  (rule.regions === undefined || rule.regions.includes(event.position.region));

/** Whether `target` originated the event (the event is its own movement). */
export const isOwnMovement = (target: RoutingTarget, event: Pick<CanonicalEvent, "source">): boolean =>
  target.systems.includes(event.source.system);

export const routeEvent = (config: RoutingConfig, event: RoutedEvent): RoutingDecision => {
  const deliver: string[] = [];
  const suppressed: { target: string; reason: string }[] = [];
  for (const target of config.targets) {
    if (!config.rules.some((rule) => rule.target === target.id && ruleMatches(rule, event))) continue;
    if (isOwnMovement(target, event)) {
      suppressed.push({
        target: target.id,
        reason: `echo: ${event.type} was reported by ${event.source.system}, which is ${target.id}`,
      });
    } else deliver.push(target.id);
  }
  return { deliver, suppressed };
};

/** Whether the event should reach `targetId` (a rule selects it and the target does not own it). */
export const routesTo = (config: RoutingConfig, targetId: string, event: RoutedEvent): boolean =>
  routeEvent(config, event).deliver.includes(targetId);

export const targetOf = (config: RoutingConfig, targetId: string): RoutingTarget | undefined =>
  config.targets.find((t) => t.id === targetId);
