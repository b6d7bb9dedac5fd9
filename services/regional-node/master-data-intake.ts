/**
 * Intake against master data (issue 10): what a source may leave out or say in its own words, and what
 * it may not get wrong.
 *
 * Before decoding (on the raw JSON, on a copy): `position.region` and a transfer's `destination.region`
 * / `origin.region` may be omitted and are filled with the location's region; when given they must
 * agree with it. `status`, `fromStatus`, `toStatus` and a return's `into` may be the source system's own
 * code (`source.system`'s vocabulary: `QI`, `BLOCKED`, ...) and become the canonical status; the event
 * keeps only the canonical one (the original stays in the command's payload, e.g. in its dead letter).
 *
 * After decoding: every location the command names must be in master data, and its SKU in the
 * catalogue (when closed). Each refusal names the field, the value and what was expected.
 */
import type { Command } from "../../domain/commands.ts";
import type { DecodeError } from "../../domain/decode-errors.ts";
import type { MasterData } from "../../domain/master-data.ts";
import { STOCK_STATUSES } from "../../domain/statuses.ts";
import type { DeadLetterReason } from "./dead-letters.ts";

export interface MasterDataRefusal {
  readonly reason: DeadLetterReason;
  readonly code: string;
  readonly message: string;
  readonly errors: readonly DecodeError[];
  readonly details: Record<string, unknown>;
}

type Obj = Record<string, unknown>;
const isObj = (u: unknown): u is Obj => typeof u === "object" && u !== null && !Array.isArray(u);

/** Location references a command kind may carry besides its position (a Map: `kind` is untrusted, e.g. `__proto__`). */
const LOCATION_REFS: ReadonlyMap<string, readonly string[]> = new Map([
  ["shipTransfer", ["destination"]],
  ["receiveTransfer", ["origin"]],
  ["recordInboundTransfer", ["origin"]],
]);

/** Status fields per command kind, and which canonical statuses each admits. */
const RETURN_DISPOSITIONS = ["inspection", "available"] as const;
const STATUS_FIELDS: ReadonlyMap<string, readonly string[]> = new Map([
  ["receiveGoods", ["status"]],
  ["shipTransfer", ["status"]],
  ["receiveTransfer", ["status"]],
  ["recordCount", ["status"]],
  ["adjustStock", ["status"]],
  ["recordProductionOutput", ["status"]],
  ["changeStatus", ["fromStatus", "toStatus"]],
  ["receiveReturn", ["into"]],
]);

const error = (path: string, value: unknown, expected: string): DecodeError => ({
  path,
  value,
  expected,
  message: `${path}: got ${JSON.stringify(value)}, expected ${expected}`,
});

/**
 * Known ids that look like a misspelt one, nearest first: equal but for case and separators, or
 * differing only in one short stretch (what a common prefix and suffix leave over: 1 character in 4,
 * at least 1), which catches a letter dropped, doubled or mistyped without an edit-distance library.
 */
export const closestLocations = (md: MasterData, id: string, max = 3): string[] => {
  const norm = (s: string) => s.toUpperCase().replace(/[^A-Z0-9]/g, "");
  const wanted = norm(id);
  const differing = (known: string): number => {
    const shorter = Math.min(known.length, wanted.length);
    let prefix = 0;
    while (prefix < shorter && known[prefix] === wanted[prefix]) prefix++;
    let suffix = 0;
    while (
      suffix < shorter - prefix &&
      known[known.length - 1 - suffix] === wanted[wanted.length - 1 - suffix]
    )
      suffix++;
    return Math.max(known.length, wanted.length) - prefix - suffix;
  };
  const near = md.locations
    .map((l) => ({ id: l.id, differing: differing(norm(l.id)) }))
    .filter((c) => c.differing <= Math.max(1, Math.floor(wanted.length / 4)) && wanted.length > 0)
    .sort((a, b) => a.differing - b.differing);
  // The same id but for case and separators is the answer, not one of several.
  const same = near.filter((c) => c.differing === 0);
  return (same.length > 0 ? same : near).slice(0, max).map((c) => c.id);
};

/**
 * Fills a location reference's region from master data (a copy of `ref`), or says why it cannot agree.
 * A location not in master data gets the node's region for now, so that the command decodes and is
 * then refused as `unknownLocation` with all its business context.
 */
const completeRef = (
  ref: Obj,
  field: string,
  md: MasterData,
  nodeRegion: string,
): { value: Obj } | { refusal: DecodeError; details: Obj } => {
  if (typeof ref.location !== "string") return { value: ref };
  const known = md.location(ref.location);
  if (ref.region === undefined) return { value: { ...ref, region: known?.region ?? nodeRegion } };
  if (known && typeof ref.region === "string" && ref.region !== known.region)
    return {
      refusal: error(
        `${field}.region`,
        ref.region,
        `${JSON.stringify(known.region)} (the region of location ${JSON.stringify(known.id)} in master data), or no region`,
      ),
      details: {
        field: `${field}.region`,
        location: known.id,
        givenRegion: ref.region,
        region: known.region,
      },
    };
  return { value: ref };
};

/** The codes a source may use for a status field: canonical ones and its own that map to an admitted status. */
const allowedCodes = (md: MasterData, system: string, admitted: readonly string[]): string[] => {
  const statuses = md.input.statuses;
  const own = Object.entries((statuses && Object.hasOwn(statuses, system) && statuses[system]) || {})
    .filter(([, status]) => admitted.includes(status))
    .map(([code]) => code);
  return [...admitted, ...own];
};

/** Before decoding: a copy of the command with regions filled and statuses mapped, or a refusal. */
export const completeFromMasterData = (
  raw: unknown,
  md: MasterData,
  nodeRegion: string,
): { readonly ok: true; readonly value: unknown } | ({ readonly ok: false } & MasterDataRefusal) => {
  if (!isObj(raw)) return { ok: true, value: raw };
  const out: Obj = { ...raw };
  const regionErrors: DecodeError[] = [];
  const regionDetails: Obj[] = [];
  const kind = typeof raw.kind === "string" ? raw.kind : "";
  for (const field of ["position", ...(LOCATION_REFS.get(kind) ?? [])]) {
    const ref = raw[field];
    if (!isObj(ref)) continue;
    const r = completeRef(ref, field, md, nodeRegion);
    if ("value" in r) out[field] = r.value;
    else {
      regionErrors.push(r.refusal);
      regionDetails.push(r.details);
    }
  }
  if (regionErrors.length > 0)
    return {
      ok: false,
      reason: "wrongRegion",
      code: "regionMismatch",
      message: `${regionErrors.map((e) => e.message).join("; ")}: leave the region out or fix master data`,
      errors: regionErrors,
      details: { mismatches: regionDetails },
    };
  const system = isObj(raw.source) && typeof raw.source.system === "string" ? raw.source.system : undefined;
  const statusErrors: DecodeError[] = [];
  for (const field of STATUS_FIELDS.get(kind) ?? []) {
    const code = raw[field];
    if (typeof code !== "string") continue; // missing, or of the wrong type: the codec says so
    if (system === undefined) continue; // no source system: the codec refuses the command anyway
    const admitted: readonly string[] = field === "into" ? RETURN_DISPOSITIONS : STOCK_STATUSES;
    const status = md.canonicalStatus(system, code);
    if (status !== undefined && admitted.includes(status)) {
      out[field] = status;
      continue;
    }
    if (status === undefined && admitted.includes(code)) continue;
    const what = field === "into" ? "a return disposition" : "a stock status";
    const own = allowedCodes(md, system, admitted).filter((c) => !admitted.includes(c));
    const ownText =
      own.length > 0
        ? `, or a code of ${system}: ${own.join(", ")}`
        : ` (${system} has no status codes of its own in master data)`;
    statusErrors.push(error(field, code, `${what}: ${admitted.join(", ")}${ownText}`));
  }
  if (statusErrors.length > 0 && system !== undefined)
    return {
      ok: false,
      reason: "invalidCommand",
      code: "unknownStatusCode",
      message: statusErrors.map((e) => e.message).join("; "),
      errors: statusErrors,
      details: {
        sourceSystem: system,
        statuses: statusErrors.map((e) => ({
          field: e.path,
          value: e.value,
          allowed: allowedCodes(md, system, e.path === "into" ? RETURN_DISPOSITIONS : STOCK_STATUSES),
        })),
      },
    };
  return { ok: true, value: out };
};

/** After decoding: the locations a command names are in master data, its SKU in the catalogue. */
export const checkMasterData = (command: Command, md: MasterData): MasterDataRefusal | undefined => {
  const refs: Array<[string, string]> = [["position.location", command.position.location]];
  if (command.kind === "shipTransfer") refs.push(["destination.location", command.destination.location]);
  if ((command.kind === "receiveTransfer" || command.kind === "recordInboundTransfer") && command.origin)
    refs.push(["origin.location", command.origin.location]);
  const unknown = refs
    .filter(([, id]) => md.location(id) === undefined)
    .map(([field, location]) => ({ field, location, closest: closestLocations(md, location) }));
  if (unknown.length > 0)
    return {
      reason: "unknownLocation",
      code: "unknownLocation",
      message: unknown
        .map(({ field, location, closest }, i) => {
          const hint = closest.length > 0 ? `; did you mean ${closest.join(" or ")}?` : "";
          return `${i === 0 ? "L" : "l"}ocation ${JSON.stringify(location)} (${field}) is not in master data${hint}`;
        })
        .join("; "),
      errors: unknown.map(({ field, location, closest }) =>
        error(
          field,
          location,
          `a location in master data${closest.length > 0 ? ` (closest: ${closest.join(", ")})` : ""}`,
        ),
      ),
      details: { locations: unknown },
    };
  if (!md.knowsSku(command.position.sku))
    return {
      reason: "unknownSku",
      code: "unknownSku",
      message: `SKU ${JSON.stringify(command.position.sku)} is not in the product catalogue of master data (closed catalogue)`,
      errors: [error("position.sku", command.position.sku, "a SKU listed in master data's products")],
      details: { sku: command.position.sku },
    };
  return undefined;
};
