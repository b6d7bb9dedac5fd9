/**
 * Fuzz inputs for the regional node: valid commands of every kind, mutated the way an integrator or
 * an attacker would (fields dropped or of the wrong type, hostile ids, numbers past exact integers,
 * impossible dates, absurd durations, deep nesting, prototype keys), raw bytes, and repeats of
 * earlier messages, with or without a conflicting payload. Each case says which intake carries it.
 *
 * Commands carry the placeholder `KEY` as idempotency key and correlation id; the harness replaces it
 * with a key unique to the run (`materialize`), so a case generated from a seed is the same input in
 * every run and still new to a fresh node.
 */
import fc from "fast-check";
import { COMMAND_KINDS, type CommandKind } from "../../domain/commands.ts";
import {
  hostileBytes,
  hostileId,
  hostileNumber,
  hostileTimestamp,
  hostileTtl,
  nested,
  wrongType,
} from "./hostile-values.ts";

export const KEY = "$KEY";
export type Intake = "http" | "request" | "jetstream";
export const INTAKES: readonly Intake[] = ["http", "request", "jetstream"];

/**
 * Where a NATS case is sent: its position's subject (`own`), its source system's subject
 * (`source`: `inv.cmd.<r>.<system>.<location>.<sku>`, `inv.req.<r>.<system>`), another system's
 * (`impostor`, a sender claiming to be someone else), another position's (`other`), or an odd
 * subject inside the stream (`odd`). `other` and `odd` are JetStream only.
 */
export type SubjectMode = "own" | "source" | "impostor" | "other" | "odd";
/**
 * How an HTTP case is framed: `{ commands: [x] }`, the same followed by a good command (which the
 * bad one must not spoil), `[x]`, or `x` alone (not a batch). Raw bytes are the body as they are.
 */
export type HttpFrame = "batch" | "withGood" | "array" | "bare";

export type Payload =
  | { readonly type: "command"; readonly value: unknown; readonly mutations: readonly string[] }
  | { readonly type: "bytes"; readonly bytes: Uint8Array }
  /** The `back`-th latest command sent before, as is or with a different quantity under the same key. */
  | { readonly type: "replay"; readonly back: number; readonly conflict: boolean };

export interface FuzzCase {
  readonly intake: Intake;
  readonly subject: SubjectMode;
  readonly frame: HttpFrame;
  readonly payload: Payload;
}

const LOCATIONS = ["DC1", "DC2", "STORE-7"] as const;
const SKUS = ["S1", "S2", "S3", "WATER-1.5L"] as const;
const STATUSES = ["available", "inspection", "blocked", "consigned"] as const;
const T0 = Date.parse("2024-05-01T10:00:00Z");

const time = fc.integer({ min: 0, max: 72 * 3600 }).map((s) => new Date(T0 + s * 1000).toISOString());
const qty = fc.integer({ min: 1, max: 50 }).map((value) => ({ value, uom: "EA" }));
const resId = fc.constantFrom("R1", "R2", "R3");
const toId = fc.constantFrom("TO-1", "TO-2");

/** A well-formed command of `kind` for a position of `region` (or, rarely, the other region). */
const validOf = (
  kind: CommandKind,
  region: string,
  otherRegion: string,
): fc.Arbitrary<Record<string, unknown>> =>
  fc
    .record({
      location: fc.constantFrom(...LOCATIONS),
      sku: fc.constantFrom(...SKUS),
      businessTime: time,
      quantity: qty,
      status: fc.constantFrom(...STATUSES),
      reservationId: resId,
      transferOrder: toId,
      // A sequence in one command of five: sequences park on gaps, which is its own behaviour.
      sequence: fc.oneof(
        { arbitrary: fc.constant(null), weight: 4 },
        { arbitrary: fc.integer({ min: 0, max: 4 }), weight: 1 },
      ),
      system: fc.constantFrom("wms-1", "erp", "oms"),
      destination: fc.oneof(
        { arbitrary: fc.constantFrom(...LOCATIONS).map((location) => ({ region, location })), weight: 9 },
        { arbitrary: fc.constant({ region: otherRegion, location: "DC9" }), weight: 1 },
      ),
      order: fc.option(fc.constantFrom("SO-1", "SO-2"), { freq: 2 }),
    })
    .map((r) => {
      const base: Record<string, unknown> = {
        kind,
        idempotencyKey: KEY,
        source: {
          system: r.system,
          document: { type: "DOC", id: `D-${kind}` },
          ...(r.sequence !== null ? { sequence: r.sequence } : {}),
        },
        businessTime: r.businessTime,
        correlationId: KEY,
        position: { region, location: r.location, sku: r.sku },
        ...(r.order !== null ? { documents: { order: r.order } } : {}),
      };
      const transfer = { documents: { transferOrder: r.transferOrder } };
      switch (kind) {
        case "receiveGoods":
        case "recordProductionOutput":
          return { ...base, quantity: r.quantity, status: r.status, lot: "L1" };
        case "confirmPick":
          return { ...base, quantity: r.quantity, reservationId: r.reservationId };
        case "reversePick":
        case "postShipment":
        case "consumeForProduction":
          return { ...base, quantity: r.quantity };
        case "shipTransfer":
          return {
            ...base,
            ...transfer,
            quantity: r.quantity,
            destination: r.destination,
            eta: r.businessTime,
          };
        case "recordInboundTransfer":
          return {
            ...base,
            ...transfer,
            quantity: r.quantity,
            origin: { region, location: "DC2" },
            causationId: "evt-origin",
          };
        case "expectReceipt":
          return { ...base, documents: { po: "PO-1" }, quantity: r.quantity, expectedAt: r.businessTime };
        case "receiveTransfer":
          return { ...base, ...transfer, quantity: r.quantity };
        case "receiveReturn":
          return { ...base, quantity: r.quantity, into: "inspection" };
        case "recordCount":
          return { ...base, counted: { value: r.quantity.value * 3, uom: "EA" } };
        case "adjustStock":
          return { ...base, quantity: { value: -r.quantity.value, uom: "EA" }, reasonCode: "DAMAGE" };
        case "changeStatus":
          return { ...base, quantity: r.quantity, fromStatus: "available", toStatus: "blocked" };
        case "placeReservation":
          return {
            ...base,
            quantity: r.quantity,
            reservationId: r.reservationId,
            channel: "web",
            ttlSeconds: 3600,
          };
        case "releaseReservation":
        case "expireReservation":
          return { ...base, reservationId: r.reservationId };
        case "setSafetyStock":
          return { ...base, quantity: { value: r.quantity.value, uom: "EA" } };
        case "changeLifecycle":
          return { ...base, action: r.quantity.value % 2 ? "hold" : "releaseHold", reason: "QA" };
        case "setChannelRules":
          return { ...base, rules: {} };
      }
      return base;
    });

/** A well-formed command of any kind (receipts more often, so that there is stock to move). */
export const validCommand = (region: string, otherRegion: string): fc.Arbitrary<Record<string, unknown>> =>
  fc.oneof(
    { arbitrary: validOf("receiveGoods", region, otherRegion), weight: 6 },
    { arbitrary: validOf("placeReservation", region, otherRegion), weight: 3 },
    {
      arbitrary: fc.constantFrom(...COMMAND_KINDS).chain((k) => validOf(k, region, otherRegion)),
      weight: 10,
    },
  );

// --- mutations ---------------------------------------------------------------------------------------------

type Path = readonly string[];

const leafPaths = (v: unknown, prefix: Path = []): Path[] => {
  if (typeof v !== "object" || v === null) return [prefix];
  const out: Path[] = prefix.length > 0 ? [prefix] : [];
  for (const [k, child] of Object.entries(v)) out.push(...leafPaths(child, [...prefix, k]));
  return out;
};

const clone = <T>(v: T): T => structuredClone(v);

const setAt = (root: Record<string, unknown>, path: Path, value: unknown, drop = false): void => {
  let o: Record<string, unknown> = root;
  for (const k of path.slice(0, -1)) {
    const next = o[k];
    if (typeof next !== "object" || next === null) o[k] = {};
    o = o[k] as Record<string, unknown>;
  }
  const last = path[path.length - 1];
  if (last === undefined) return;
  if (drop) delete o[last];
  // defineProperty: a `__proto__` key becomes an own property, as JSON.parse would make it.
  // A copy of the value: two mutations may draw the same object, and a later one walking into it
  // would otherwise make the command cyclic (seen at 20,000 runs: a cycle through quantity.document).
  else
    Object.defineProperty(o, last, {
      value: typeof value === "object" && value !== null ? clone(value) : value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
};

type Mutation = { readonly describe: string; readonly apply: (c: Record<string, unknown>) => void };

const ID_PATHS: readonly Path[] = [
  ["position", "sku"],
  ["position", "location"],
  ["idempotencyKey"],
  ["correlationId"],
  ["reservationId"],
  ["source", "system"],
  ["source", "document", "id"],
  ["documents", "order"],
  ["channel"],
  ["quantity", "uom"],
];
const NUMBER_PATHS: readonly Path[] = [
  ["quantity", "value"],
  ["counted", "value"],
  ["source", "sequence"],
  ["ttlSeconds"],
];
const TIME_PATHS: readonly Path[] = [["businessTime"], ["expiresAt"], ["eta"], ["expectedAt"], ["expiry"]];
const EXTRA_KEYS = ["extra", "__proto__", "constructor", "prototype", "toString", "hasOwnProperty", "kind "];

const show = (v: unknown): string => {
  if (typeof v === "string")
    return v.length > 40 ? `<${v.length} chars ${JSON.stringify(v.slice(0, 12))}...>` : JSON.stringify(v);
  try {
    const s = JSON.stringify(v) ?? String(v);
    return s.length > 60 ? `${s.slice(0, 57)}...` : s;
  } catch {
    return String(v);
  }
};

const mutation = (paths: readonly Path[]): fc.Arbitrary<Mutation> =>
  fc.oneof(
    {
      arbitrary: fc.tuple(fc.constantFrom(...ID_PATHS), hostileId).map(
        ([p, v]): Mutation => ({
          describe: `${p.join(".")}=${show(v)}`,
          apply: (c) => setAt(c, p, v),
        }),
      ),
      weight: 8,
    },
    {
      arbitrary: fc.tuple(fc.constantFrom(...NUMBER_PATHS), hostileNumber).map(
        ([p, v]): Mutation => ({
          describe: `${p.join(".")}=${show(v)}`,
          apply: (c) => setAt(c, p, v),
        }),
      ),
      weight: 4,
    },
    {
      arbitrary: hostileTtl.map(
        (v): Mutation => ({
          describe: `ttlSeconds=${show(v)}`,
          apply: (c) => {
            c.ttlSeconds = v;
            delete c.expiresAt;
          },
        }),
      ),
      weight: 2,
    },
    {
      arbitrary: fc.tuple(fc.constantFrom(...TIME_PATHS), hostileTimestamp).map(
        ([p, v]): Mutation => ({
          describe: `${p.join(".")}=${show(v)}`,
          apply: (c) => setAt(c, p, v),
        }),
      ),
      weight: 4,
    },
    {
      arbitrary: fc.constantFrom(...paths).map(
        (p): Mutation => ({
          describe: `drop ${p.join(".")}`,
          apply: (c) => setAt(c, p, undefined, true),
        }),
      ),
      weight: 3,
    },
    {
      arbitrary: fc.tuple(fc.constantFrom(...paths), wrongType).map(
        ([p, v]): Mutation => ({
          describe: `${p.join(".")}=${show(v)}`,
          apply: (c) => setAt(c, p, v),
        }),
      ),
      weight: 3,
    },
    {
      arbitrary: fc
        .tuple(
          fc.constantFrom(...EXTRA_KEYS),
          fc.constantFrom([], ["position"], ["source"]),
          fc.jsonValue({ maxDepth: 2 }),
        )
        .map(
          ([k, at, v]): Mutation => ({
            describe: `extra ${[...at, k].join(".")}=${show(v)}`,
            apply: (c) => setAt(c, [...at, k], v),
          }),
        ),
      weight: 2,
    },
    {
      arbitrary: fc.tuple(fc.constantFrom(...paths), fc.integer({ min: 8, max: 80 }), fc.boolean()).map(
        ([p, depth, asArray]): Mutation => ({
          describe: `${p.join(".")} nested ${depth} deep`,
          apply: (c) => setAt(c, p, nested(depth, 1, asArray)),
        }),
      ),
      weight: 1,
    },
    {
      arbitrary: fc
        .oneof(hostileId, fc.constantFrom("ReceiveGoods", "receiveGoods ", "toString", "__proto__"))
        .map(
          (k): Mutation => ({
            describe: `kind=${show(k)}`,
            apply: (c) => {
              c.kind = k;
            },
          }),
        ),
      weight: 1,
    },
  );

/** A valid command with 0 to 3 mutations (none in about two cases of five). */
export const mutatedCommand = (region: string, otherRegion: string): fc.Arbitrary<Payload> =>
  validCommand(region, otherRegion).chain((cmd) =>
    fc
      .oneof(
        { arbitrary: fc.constant(0), weight: 1 },
        { arbitrary: fc.integer({ min: 1, max: 3 }), weight: 3 },
      )
      .chain((n) => fc.array(mutation(leafPaths(cmd)), { minLength: n, maxLength: n }))
      .map((ms) => {
        const value = clone(cmd);
        for (const m of ms) m.apply(value);
        return { type: "command" as const, value, mutations: ms.map((m) => m.describe) };
      }),
  );

export const payloadArb = (region: string, otherRegion: string): fc.Arbitrary<Payload> =>
  fc.oneof(
    { arbitrary: mutatedCommand(region, otherRegion), weight: 16 },
    {
      arbitrary: hostileBytes.map((bytes) => ({ type: "bytes" as const, bytes })),
      weight: 2,
    },
    {
      arbitrary: fc
        .record({ back: fc.integer({ min: 1, max: 20 }), conflict: fc.boolean() })
        .map((r) => ({ type: "replay" as const, ...r })),
      weight: 2,
    },
  );

export const fuzzCaseArb = (region: string, otherRegion: string): fc.Arbitrary<FuzzCase> =>
  fc.record({
    intake: fc.constantFrom(...INTAKES),
    subject: fc.oneof(
      { arbitrary: fc.constant<SubjectMode>("own"), weight: 6 },
      { arbitrary: fc.constant<SubjectMode>("source"), weight: 3 },
      { arbitrary: fc.constantFrom<SubjectMode>("impostor", "other", "odd"), weight: 2 },
    ),
    frame: fc.oneof(
      { arbitrary: fc.constant<HttpFrame>("batch"), weight: 6 },
      { arbitrary: fc.constant<HttpFrame>("withGood"), weight: 2 },
      { arbitrary: fc.constantFrom<HttpFrame>("array", "bare"), weight: 2 },
    ),
    payload: payloadArb(region, otherRegion),
  });

/** Replaces the `KEY` placeholder (anywhere a string equals it) with the run's key for this case. */
export const materialize = (value: unknown, key: string, depth = 0): unknown => {
  if (value === KEY) return key;
  // Mutations may give an array a `constructor` key or nest deeply: no Array#map, bounded depth.
  if (typeof value !== "object" || value === null || depth > 200) return value;
  if (Array.isArray(value)) {
    const out: unknown[] = [];
    for (let i = 0; i < value.length; i++) out.push(materialize(value[i], key, depth + 1));
    return out;
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    Object.defineProperty(out, k, {
      value: materialize(v, key, depth + 1),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
};
