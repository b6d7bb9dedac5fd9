/**
 * NATS subjects, stream names and KV bucket names of stockline (DESIGN §5), built and parsed in one place.
 *
 * Location ids, SKUs and dead-letter reasons come from outside and may contain `.`, `*`, `>`, spaces or
 * unicode; they are encoded as single subject tokens with `encodeSubjectToken`. Region ids are ours and
 * restricted to `[a-z0-9-]+`, so they appear verbatim in subjects and (upper-cased) in stream names.
 */
import { decodeSubjectToken, encodeSubjectToken, isRegion } from "../../domain/ids.ts";
import { MAX_REGION_CHARS } from "../../domain/limits.ts";

export class InvalidRegionIdError extends Error {
  constructor(readonly region: string) {
    super(
      `region id ${JSON.stringify(region)} is invalid: expected [a-z0-9-]+, at most ${MAX_REGION_CHARS} characters`,
    );
    this.name = "InvalidRegionIdError";
  }
}

export const assertRegionId = (region: string): string => {
  if (!isRegion(region)) throw new InvalidRegionIdError(region);
  return region;
};

export const isRegionId = (region: string): boolean => isRegion(region);

export type PositionAddress = { region: string; location: string; sku: string };
/** A command subject's address, with the sending system when the subject is a per-source one. */
export type CmdAddress = PositionAddress & { system?: string };
export type DlqAddress = { region: string; reason: string };

// --- subjects ---------------------------------------------------------------------------------------------

/** `inv.cmd.<region>.<location>.<sku>`: commands into a regional node. */
export const cmdSubject = (region: string, location: string, sku: string): string =>
  `inv.cmd.${assertRegionId(region)}.${encodeSubjectToken(location)}.${encodeSubjectToken(sku)}`;

/**
 * `inv.cmd.<region>.<system>.<location>.<sku>`: a command sent by source system `<system>` (issue 9).
 * On a secured server only that system's user may publish here, so the subject proves the sender; the
 * node refuses a command on it whose `source.system` is another (`senderMismatch`). The 5-token
 * `cmdSubject` stays for the node's own derived commands (and for servers without permissions).
 */
export const sourceCmdSubject = (region: string, system: string, location: string, sku: string): string =>
  `inv.cmd.${assertRegionId(region)}.${encodeSubjectToken(system)}.${encodeSubjectToken(location)}.${encodeSubjectToken(sku)}`;

/** Every command source system `<system>` may send to a region (its publish permission). */
export const sourceCmdWildcard = (region: string, system: string): string =>
  `inv.cmd.${assertRegionId(region)}.${encodeSubjectToken(system)}.*.*`;

/** `inv.req.<region>.<system>`: request/reply of source system `<system>` (same proof as the commands). */
export const sourceReqSubject = (region: string, system: string): string =>
  `inv.req.${assertRegionId(region)}.${encodeSubjectToken(system)}`;

/** The system a per-source request subject proves, or `undefined` for `inv.req.<region>` (or not ours). */
export const parseReqSubjectSystem = (subject: string): string | undefined => {
  const parts = subject.split(".");
  if (parts.length !== 4 || parts[0] !== "inv" || parts[1] !== "req") return undefined;
  return safeDecode(parts[3] as string);
};

/** `inv.evt.<region>.<location>.<sku>`: committed events out of a regional node (published by the relay). */
export const evtSubject = (region: string, location: string, sku: string): string =>
  `inv.evt.${assertRegionId(region)}.${encodeSubjectToken(location)}.${encodeSubjectToken(sku)}`;

/** `inv.req.<region>`: request/reply decisions (reservations) answered by the owning regional node. */
export const reqSubject = (region: string): string => `inv.req.${assertRegionId(region)}`;

/** `inv.dlq.<region>.<reason>`: dead letters, the reason being a short machine-readable code. */
export const dlqSubject = (region: string, reason: string): string =>
  `inv.dlq.${assertRegionId(region)}.${encodeSubjectToken(reason)}`;

/** Every command of a region (the subject filter of `INV_CMD_<R>`). */
export const cmdWildcard = (region: string): string => `inv.cmd.${assertRegionId(region)}.>`;
/** Every event of a region (the subject filter of `INV_EVT_<R>`). */
export const evtWildcard = (region: string): string => `inv.evt.${assertRegionId(region)}.>`;
/** Every dead letter of a region (the subject filter of `INV_DLQ_<R>`). */
export const dlqWildcard = (region: string): string => `inv.dlq.${assertRegionId(region)}.>`;
/** Events of one SKU at any location of a region. */
export const evtSkuWildcard = (region: string, sku: string): string =>
  `inv.evt.${assertRegionId(region)}.*.${encodeSubjectToken(sku)}`;
/** Events of every SKU at one location of a region. */
export const evtLocationWildcard = (region: string, location: string): string =>
  `inv.evt.${assertRegionId(region)}.${encodeSubjectToken(location)}.*`;

// --- parsers ----------------------------------------------------------------------------------------------

const safeDecode = (token: string): string | undefined => {
  try {
    const decoded = decodeSubjectToken(token);
    // Only accept canonical encodings, so that one position has exactly one subject.
    return decoded.length > 0 && encodeSubjectToken(decoded) === token ? decoded : undefined;
  } catch {
    return undefined;
  }
};

const parsePositionSubject = (kind: "cmd" | "evt", subject: string): PositionAddress | undefined => {
  const parts = subject.split(".");
  if (parts.length !== 5 || parts[0] !== "inv" || parts[1] !== kind) return undefined;
  const [, , region, locToken, skuToken] = parts as [string, string, string, string, string];
  if (!isRegionId(region)) return undefined;
  const location = safeDecode(locToken);
  const sku = safeDecode(skuToken);
  if (location === undefined || sku === undefined) return undefined;
  return { region, location, sku };
};

/** Parses `inv.evt.<region>.<location>.<sku>`; `undefined` when the subject is not a canonical event subject. */
export const parseEvtSubject = (subject: string): PositionAddress | undefined =>
  parsePositionSubject("evt", subject);

/**
 * Parses `inv.cmd.<region>.<location>.<sku>` and `inv.cmd.<region>.<system>.<location>.<sku>` (then with
 * `system`); `undefined` when the subject is not a canonical command subject.
 */
export const parseCmdSubject = (subject: string): CmdAddress | undefined => {
  const parts = subject.split(".");
  if (parts.length !== 6) return parsePositionSubject("cmd", subject);
  const system = safeDecode(parts[3] as string);
  const address = parsePositionSubject("cmd", [...parts.slice(0, 3), ...parts.slice(4)].join("."));
  return system === undefined || address === undefined ? undefined : { ...address, system };
};

/** Parses `inv.dlq.<region>.<reason>`; `undefined` when the subject is not a canonical dead-letter subject. */
export const parseDlqSubject = (subject: string): DlqAddress | undefined => {
  const parts = subject.split(".");
  if (parts.length !== 4 || parts[0] !== "inv" || parts[1] !== "dlq") return undefined;
  const [, , region, reasonToken] = parts as [string, string, string, string];
  if (!isRegionId(region)) return undefined;
  const reason = safeDecode(reasonToken);
  return reason === undefined ? undefined : { region, reason };
};

// --- streams and buckets ----------------------------------------------------------------------------------

// Stream names upper-case the region and turn `-` into `_`; `_` is not a region character, so the mapping
// stays injective (two regions never share a stream name).
const streamSuffix = (region: string): string => assertRegionId(region).toUpperCase().replace(/-/g, "_");

/** `INV_CMD_<R>`: the regional command intake stream. */
export const cmdStreamName = (region: string): string => `INV_CMD_${streamSuffix(region)}`;
/** `INV_EVT_<R>`: the regional event stream, and the name of its mirror on the hub. */
export const evtStreamName = (region: string): string => `INV_EVT_${streamSuffix(region)}`;
/** `INV_DLQ_<R>`: the regional dead-letter stream. */
export const dlqStreamName = (region: string): string => `INV_DLQ_${streamSuffix(region)}`;
/** `atp_<r>`: the regional ATP read model (KV bucket names allow `-`). */
export const atpBucketName = (region: string): string => `atp_${assertRegionId(region)}`;
/** The open reservations of a region's positions, one key each (kept out of the position entries). */
export const atpReservationsBucketName = (region: string): string => `atp_res_${assertRegionId(region)}`;
/** `node_status_<r>`: what a region's node reports about itself (store head, relay), read by the hub. */
export const nodeStatusBucketName = (region: string): string => `node_status_${assertRegionId(region)}`;
/** The JetStream API prefix of a region's domain, as used by hub mirrors (`$JS.<r>.API`). */
export const domainApiPrefix = (domain: string): string => `$JS.${assertRegionId(domain)}.API`;
