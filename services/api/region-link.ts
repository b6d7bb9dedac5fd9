/**
 * The API's way to a regional node: one command by request/reply on `inv.req.<r>` (the node answers
 * once the outcome is durable), and reads of the region's ATP read model `atp_<r>` across the hub's
 * leaf link (JetStream domain of the region).
 *
 * A request ends in a decoded reply or in one of two failures the caller must tell apart:
 * `unreachable` (no responders: nobody got the command) and `timeout` (the command may have been
 * decided; its outcome is unknown, so retry it verbatim, which the node answers as a duplicate).
 * A third, `denied`, is a deployment error: the server refused the API's user to publish on the
 * command's subject (it does not speak for that `source.system`, e.g. a channel; CHANNELS.md).
 */
import { jetstream } from "@nats-io/jetstream";
import { type KV, Kvm } from "@nats-io/kv";
import {
  type NatsConnection,
  NoRespondersError,
  PermissionViolationError,
  RequestError,
  TimeoutError,
} from "@nats-io/transport-node";
import * as E from "fp-ts/lib/Either.js";
import { type CommandReply, decodeCommandReply } from "../../domain/command-reply.ts";
import { formatDecodeErrors } from "../../domain/decode-errors.ts";
import {
  atpBucketName,
  atpReservationsBucketName,
  reqSubject,
  sourceReqSubject,
} from "../../infra/nats/subjects.ts";
import { regionalAtpKey, regionalReservationKey } from "../../projections/atp-keys.ts";
import type { RegionalAtpEntry, ReservationView } from "../../projections/regional-atp.projection.ts";

export type RequestOutcome =
  | { readonly kind: "reply"; readonly reply: CommandReply }
  | { readonly kind: "unreachable"; readonly message: string }
  | { readonly kind: "timeout"; readonly message: string }
  | { readonly kind: "denied"; readonly message: string };

const td = new TextDecoder();

const isNoResponders = (err: unknown): boolean =>
  err instanceof NoRespondersError ||
  (err instanceof RequestError && err.isNoResponders()) ||
  (err instanceof Error && err.cause instanceof NoRespondersError);

const permissionViolation = (err: unknown): PermissionViolationError | undefined =>
  err instanceof PermissionViolationError
    ? err
    : err instanceof Error && err.cause instanceof PermissionViolationError
      ? err.cause
      : undefined;

const isTimeout = (err: unknown): boolean =>
  err instanceof TimeoutError || (err instanceof Error && err.cause instanceof TimeoutError);

/**
 * `inv.req.<r>.<source.system>`: on a secured server the API's user may publish only for the systems it
 * speaks for, and the node refuses a command whose `source.system` differs from the subject's (issue 9).
 */
const requestSubjectOf = (region: string, command: unknown): string => {
  const system = (command as { source?: { system?: unknown } } | null)?.source?.system;
  return typeof system === "string" && system.length > 0
    ? sourceReqSubject(region, system)
    : reqSubject(region);
};

/** Sends one command to its region's node and waits for the decision. */
export const requestDecision = async (
  nc: NatsConnection,
  region: string,
  command: unknown,
  timeoutMs: number,
): Promise<RequestOutcome> => {
  try {
    const msg = await nc.request(requestSubjectOf(region, command), JSON.stringify(command), {
      timeout: timeoutMs,
    });
    const decoded = decodeCommandReply(JSON.parse(td.decode(msg.data)));
    if (E.isLeft(decoded))
      throw new Error(
        `regional node ${region} sent an undecodable reply: ${formatDecodeErrors(decoded.left)}`,
      );
    return { kind: "reply", reply: decoded.right };
  } catch (err) {
    const denied = permissionViolation(err);
    if (denied) {
      const system = (command as { source?: { system?: unknown } } | null)?.source?.system;
      return {
        kind: "denied",
        message: `the API's NATS user may not publish to ${denied.subject || requestSubjectOf(region, command)}: it does not speak for source system ${JSON.stringify(system)} (add it to the user's systems; services/api/CHANNELS.md)`,
      };
    }
    if (isNoResponders(err))
      return { kind: "unreachable", message: `no regional node answers on ${reqSubject(region)}` };
    if (isTimeout(err))
      return { kind: "timeout", message: `regional node ${region} did not answer within ${timeoutMs} ms` };
    throw err;
  }
};

/** Reads positions of `atp_<r>` through the region's JetStream domain (from the hub, over the leaf link). */
export class RegionalEntryReader {
  private readonly buckets = new Map<string, Promise<KV>>();

  constructor(
    private readonly nc: NatsConnection,
    private readonly opts: { timeoutMs: number; sameDomain?: boolean } = { timeoutMs: 1_000 },
  ) {}

  private bucket(region: string, name: string = atpBucketName(region)): Promise<KV> {
    let kv = this.buckets.get(name);
    if (!kv) {
      const js = jetstream(this.nc, {
        ...(this.opts.sameDomain ? {} : { domain: region }),
        timeout: this.opts.timeoutMs,
      });
      kv = new Kvm(js).open(name);
      kv.catch(() => this.buckets.delete(name));
      this.buckets.set(name, kv);
    }
    return kv;
  }

  /** The entry, `undefined` if the position has none; throws when the region cannot be reached. */
  async get(region: string, location: string, sku: string): Promise<RegionalAtpEntry | undefined> {
    const kv = await this.bucket(region);
    const e = await withTimeout(kv.get(regionalAtpKey(location, sku)), this.opts.timeoutMs, region);
    if (e?.operation !== "PUT" || e.length === 0) return undefined;
    return JSON.parse(td.decode(e.value)) as RegionalAtpEntry;
  }

  /** An open reservation of the position, `undefined` if it has none by that id; throws when unreachable. */
  async reservation(
    region: string,
    location: string,
    sku: string,
    reservationId: string,
  ): Promise<ReservationView | undefined> {
    const kv = await this.bucket(region, atpReservationsBucketName(region));
    const e = await withTimeout(
      kv.get(regionalReservationKey(location, sku, reservationId)),
      this.opts.timeoutMs,
      region,
    );
    if (e?.operation !== "PUT" || e.length === 0) return undefined;
    return JSON.parse(td.decode(e.value)) as ReservationView;
  }
}

const withTimeout = <T>(p: Promise<T>, ms: number, region: string): Promise<T> => {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`read model of region ${region} not reachable within ${ms} ms`)),
        ms,
      );
    }),
  ]).finally(() => clearTimeout(timer));
};
