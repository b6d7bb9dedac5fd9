/**
 * System-of-record ownership (DESIGN §3.7): which source system may report which kind of
 * movement at which locations. Rules are tried in order; the first rule whose movement kinds and
 * location pattern match decides. A command matched by no rule follows `otherwise`.
 *
 * Location patterns are globs over the raw location id: `*` any run of characters, `?` one.
 */
import * as E from "fp-ts/lib/Either.js";
import * as t from "io-ts";
import { type Command, MOVEMENT_KINDS, MOVEMENT_OF, type MovementKind } from "./commands.ts";
import { type DecodeError, toDecodeErrors } from "./decode-errors.ts";
import { NonEmptyStringC, SystemIdC } from "./scalars.ts";

const movementKeys = Object.fromEntries([...MOVEMENT_KINDS, "*"].map((k) => [k, null])) as Record<
  MovementKind | "*",
  null
>;
export const MovementPatternC = t.keyof(
  movementKeys,
  `a movement kind (${[...MOVEMENT_KINDS, "*"].join(", ")})`,
);

export const OwnershipRuleC = t.intersection(
  [
    t.type({
      name: NonEmptyStringC,
      movements: t.array(MovementPatternC),
      owners: t.array(SystemIdC),
    }),
    t.partial({ locations: NonEmptyStringC }),
  ],
  "an ownership rule { name, movements, owners, locations? }",
);
export type OwnershipRule = t.TypeOf<typeof OwnershipRuleC>;

export const OwnershipPolicyC = t.type(
  { rules: t.array(OwnershipRuleC), otherwise: t.keyof({ allow: null, deny: null }, '"allow" | "deny"') },
  "OwnershipPolicy",
);
export type OwnershipPolicy = t.TypeOf<typeof OwnershipPolicyC>;

/** A policy that lets every source do everything (tests, demo). */
export const ALLOW_ALL: OwnershipPolicy = { rules: [], otherwise: "allow" };

export const decodeOwnershipPolicy = (input: unknown): E.Either<DecodeError[], OwnershipPolicy> => {
  const r = OwnershipPolicyC.decode(input);
  if (E.isLeft(r)) return E.left(toDecodeErrors(r.left));
  const problems: DecodeError[] = [];
  r.right.rules.forEach((rule, i) => {
    if (rule.owners.length === 0) {
      problems.push({
        path: `rules.${i}.owners`,
        value: rule.owners,
        expected: "at least one owning system",
        message: `rules.${i}.owners: got [], expected at least one owning system`,
      });
    }
    if (rule.movements.length === 0) {
      problems.push({
        path: `rules.${i}.movements`,
        value: rule.movements,
        expected: "at least one movement kind",
        message: `rules.${i}.movements: got [], expected at least one movement kind`,
      });
    }
  });
  return problems.length > 0 ? E.left(problems) : E.right(r.right);
};

const globCache = new Map<string, RegExp>();
export const matchesGlob = (pattern: string, value: string): boolean => {
  let re = globCache.get(pattern);
  if (!re) {
    const body = [...pattern]
      .map((ch) => (ch === "*" ? ".*" : ch === "?" ? "." : ch.replace(/[\\^$.|+()[\]{}]/g, "\\$&")))
      .join("");
    re = new RegExp(`^${body}$`, "su");
    if (globCache.size < 10_000) globCache.set(pattern, re);
  }
  return re.test(value);
};

export type OwnershipVerdict =
  | { readonly allowed: true; readonly rule?: string }
  | { readonly allowed: false; readonly rule: string; readonly reason: string };

type OwnedCommand = Pick<Command, "kind" | "source" | "position">;

/**
 * `recordInboundTransfer` is exempt: it is derived by stockline from a `TransferShipped` the
 * origin's owner reported and the origin accepted (see `inboundTransferCommandFor`); intake must
 * not accept it from outside.
 */
export const checkOwnership = (policy: OwnershipPolicy, command: OwnedCommand): OwnershipVerdict => {
  if (command.kind === "recordInboundTransfer")
    return { allowed: true, rule: "(derived from the origin's shipment)" };
  const movement = MOVEMENT_OF[command.kind];
  const system = command.source.system;
  const location = command.position.location;
  for (const rule of policy.rules) {
    const movementMatches = rule.movements.includes("*") || rule.movements.includes(movement);
    if (!movementMatches || !matchesGlob(rule.locations ?? "*", location)) continue;
    if (rule.owners.includes(system)) return { allowed: true, rule: rule.name };
    return {
      allowed: false,
      rule: rule.name,
      reason: `${movement} at ${JSON.stringify(location)} is owned by ${rule.owners.join(" or ")} (rule ${JSON.stringify(rule.name)}), not by ${system}`,
    };
  }
  if (policy.otherwise === "allow") return { allowed: true };
  return {
    allowed: false,
    rule: "(otherwise)",
    reason: `no ownership rule covers ${movement} at ${JSON.stringify(location)}, and the policy denies what it does not cover`,
  };
};
