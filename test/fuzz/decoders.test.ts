/**
 * Fuzzing every decoder reachable from outside (DESIGN §3.13, §6): whatever it is given, a decoder
 * answers with a value or with errors naming field, value and expectation, and never throws; what
 * it accepts can be encoded into every subject, stream id and KV key without a throw and within the
 * server's limits, has real calendar times, and can be decided without a throw. `FUZZ_RUNS` scales
 * the runs; fast-check prints the seed and the shrunk counterexample of a failure.
 */
import fc from "fast-check";
import * as E from "fp-ts/lib/Either.js";
import { describe, expect, it } from "vitest";
import { decodeCanonicalEvent, pendingEventCodec } from "../../domain/canonical-event.ts";
import { decodeCommand } from "../../domain/commands.ts";
import { toDecodeErrors } from "../../domain/decode-errors.ts";
import { parsePositionKey, parsePositionStreamId } from "../../domain/ids.ts";
import { decodeOwnershipPolicy } from "../../domain/ownership-policy.ts";
import {
  decide,
  defaultEnv,
  initialPositionState,
  toCanonicalEvents,
} from "../../domain/position.decider.ts";
import { UnitMasterC } from "../../domain/units.ts";
import { ConfigError } from "../../infra/config/config-loading.ts";
import { type NodeConfig, NodeConfigFileC, resolveNodeConfig } from "../../infra/config/node-config.ts";
import {
  cmdStreamName,
  cmdWildcard,
  dlqStreamName,
  evtStreamName,
  parseCmdSubject,
  parseDlqSubject,
  parseEvtSubject,
  reqSubject,
} from "../../infra/nats/subjects.ts";
import {
  parseGlobalAtpKey,
  parseRegionalAtpKey,
  parseRegionalReservationKey,
} from "../../projections/atp-keys.ts";
import { type ApiConfig, ApiConfigFileC, resolveApiConfig } from "../../services/api/api-config.ts";
import { positionOfReservationId, reservationIdFor } from "../../services/api/reservation-ids.ts";
import { PlaceReservationBodyC } from "../../services/api/reservation-service.ts";
import {
  DeadLetterStateC,
  RetryAttemptC,
  StoredDeadLetterC,
} from "../../services/dead-letters/command-dead-letters.ts";
import { parseCommandBytes } from "../../services/regional-node/command-intake.ts";
import { decodeCommandReply } from "../../services/regional-node/command-reply.ts";
import {
  acceptedCommandProblems,
  controlLineBytes,
  NATS_CONTROL_LINE,
  NATS_MAX_PAYLOAD,
} from "./boundary-rules.ts";
import { materialize, mutatedCommand } from "./command-arbitraries.ts";
import { hostileBytes, hostileId, hostileNumber, hostileTimestamp } from "./hostile-values.ts";

const RUNS = Number(process.env.FUZZ_RUNS ?? 300);

/** fast-check's report (seed, path, counterexample) with megabyte-long strings cut to a readable size. */
const OPTIONS: fc.Parameters<unknown> = {
  numRuns: RUNS,
  reporter: (details) => {
    if (!details.failed) return;
    const message = fc
      .defaultReportMessage(details)
      ?.replace(/(.)\1{80,}/g, (run, c: string) => `${c.repeat(8)}<...${run.length} × ${JSON.stringify(c)}>`);
    throw new Error(message);
  },
};
const REGION = "fzz";

/** A mutated command as the node would see it (the key placeholder filled in). */
const command = mutatedCommand(REGION, "fzy").map((p) =>
  p.type === "command" ? materialize(p.value, "k-1") : undefined,
);

/** Region ids as a deployment might write them: plain, long, or not a region at all. */
const regionish = fc.oneof(
  fc.constantFrom("eu", "us-east-1", "fzz"),
  fc.integer({ min: 30, max: 5_000 }).map((n) => "r".repeat(n)),
  hostileId,
);

/** Configuration files of a node and of the API, some fields hostile. */
const configs: fc.Arbitrary<unknown> = fc.oneof(
  fc.record(
    {
      region: regionish,
      nats: fc.record({
        servers: fc.array(fc.oneof(hostileId, fc.constant("nats://127.0.0.1:4222")), { maxLength: 2 }),
      }),
      intake: fc.record(
        { maxInFlight: hostileNumber, maxPayloadBytes: hostileNumber, ackWaitMs: hostileNumber },
        { requiredKeys: [] },
      ),
      parkTimeoutMs: hostileNumber,
      defaultReservationTtlSeconds: hostileNumber,
    },
    { requiredKeys: ["region"] },
  ),
  fc.record({
    regions: fc.array(regionish, { maxLength: 3 }),
    apiKeys: fc.constant([{ name: "shop", key: "k", roles: ["commerce"] }]),
  }),
);

/** Objects shaped like what the decoders expect, and anything else. */
const anyInput: fc.Arbitrary<unknown> = fc.oneof(
  command,
  configs,
  fc.anything({ maxDepth: 4 }),
  fc.jsonValue({ maxDepth: 4 }),
  fc.dictionary(
    fc.constantFrom("region", "regions", "apiKeys", "sku", "quantity", "type", "kind", "rules", "__proto__"),
    fc.oneof(hostileId, hostileNumber, hostileTimestamp, fc.jsonValue({ maxDepth: 2 })),
  ),
);

type Either = E.Either<unknown, unknown>;
const asEither = (r: unknown): Either => r as Either;

/** Decoders from outside: each returns a Right or a Left of decode errors. */
const DECODERS: ReadonlyArray<readonly [string, (u: unknown) => Either]> = [
  ["decodeCommand", (u) => asEither(decodeCommand(u))],
  ["decodeCanonicalEvent", (u) => asEither(decodeCanonicalEvent(u))],
  ["pendingEventCodec", (u) => E.mapLeft(toDecodeErrors)(pendingEventCodec.decode(u))],
  ["decodeCommandReply", (u) => asEither(decodeCommandReply(u))],
  ["decodeOwnershipPolicy", (u) => asEither(decodeOwnershipPolicy(u))],
  ["UnitMasterC", (u) => E.mapLeft(toDecodeErrors)(UnitMasterC.decode(u))],
  ["NodeConfigFileC", (u) => E.mapLeft(toDecodeErrors)(NodeConfigFileC.decode(u))],
  ["ApiConfigFileC", (u) => E.mapLeft(toDecodeErrors)(ApiConfigFileC.decode(u))],
  ["PlaceReservationBodyC", (u) => E.mapLeft(toDecodeErrors)(PlaceReservationBodyC.decode(u))],
  ["StoredDeadLetterC", (u) => E.mapLeft(toDecodeErrors)(StoredDeadLetterC.decode(u))],
  ["DeadLetterStateC", (u) => E.mapLeft(toDecodeErrors)(DeadLetterStateC.decode(u))],
  ["RetryAttemptC", (u) => E.mapLeft(toDecodeErrors)(RetryAttemptC.decode(u))],
];

const clearErrors = (left: unknown): boolean =>
  Array.isArray(left) &&
  left.length > 0 &&
  left.every(
    (e: { path?: unknown; expected?: unknown; message?: unknown }) =>
      typeof e.path === "string" &&
      typeof e.expected === "string" &&
      e.expected.length > 0 &&
      typeof e.message === "string" &&
      e.message.length > 0,
  );

describe("decoders answer a value or clear errors, never a throw", () => {
  it.each(DECODERS)("%s", (_name, decode) => {
    fc.assert(
      fc.property(anyInput, (u) => {
        const r = decode(u);
        if (E.isLeft(r)) expect(clearErrors(r.left), JSON.stringify(r.left)?.slice(0, 500)).toBe(true);
      }),
      OPTIONS,
    );
  });

  it("configuration resolvers throw only a ConfigError naming the fields", () => {
    fc.assert(
      fc.property(anyInput, (u) => {
        for (const resolve of [resolveNodeConfig, resolveApiConfig] as Array<(raw: unknown) => unknown>) {
          let config: unknown;
          try {
            config = resolve(u);
          } catch (err) {
            expect(err).toBeInstanceOf(ConfigError);
            continue;
          }
          // What a configuration names becomes stream names and subjects at start.
          const regions =
            resolve === resolveNodeConfig ? [(config as NodeConfig).region] : (config as ApiConfig).regions;
          for (const r of regions) {
            for (const name of [
              cmdStreamName(r),
              evtStreamName(r),
              dlqStreamName(r),
              reqSubject(r),
              cmdWildcard(r),
            ])
              expect(controlLineBytes(name)).toBeLessThanOrEqual(NATS_CONTROL_LINE);
          }
        }
      }),
      OPTIONS,
    );
  });

  it("the intake's parser turns any bytes into a command or a dead-letter verdict", () => {
    const bytes = fc.oneof(
      hostileBytes,
      command.map((c) => new TextEncoder().encode(JSON.stringify(c) ?? "")),
    );
    fc.assert(
      fc.property(bytes, (b) => {
        const p = parseCommandBytes(b, { region: REGION, maxPayloadBytes: 64 * 1024, maxJsonDepth: 32 });
        if (!p.ok) expect(p.message.length).toBeGreaterThan(0);
      }),
      OPTIONS,
    );
  });

  it("parsers of subjects, stream ids, KV keys and reservation ids never throw", () => {
    const text = fc.oneof(
      hostileId,
      fc.string({ unit: "binary" }),
      fc.constantFrom(
        "inv.cmd.fzz.%E0%A4%A.x",
        "position-%ZZ~a",
        "=E0=A4=A.x",
        "r1.%%%.x",
        "fzz/position-a~b",
      ),
    );
    fc.assert(
      fc.property(text, (s) => {
        parseCmdSubject(s);
        parseEvtSubject(s);
        parseDlqSubject(s);
        parsePositionStreamId(s);
        parsePositionKey(s);
        parseRegionalAtpKey(s);
        parseRegionalReservationKey(s);
        parseGlobalAtpKey(s);
        positionOfReservationId(s);
      }),
      OPTIONS,
    );
  });
});

describe("what a decoder accepts can be encoded and decided", () => {
  it("an accepted command makes subjects, stream ids and KV keys within the server's limits, with real times", () => {
    fc.assert(
      fc.property(command, (u) => {
        const r = decodeCommand(u);
        if (E.isLeft(r)) return;
        expect(acceptedCommandProblems(r.right as unknown as Record<string, unknown>)).toEqual([]);
      }),
      OPTIONS,
    );
  });

  it("an accepted command is decided without a throw, and its events decode as canonical events", () => {
    fc.assert(
      fc.property(command, (u) => {
        const r = decodeCommand(u);
        if (E.isLeft(r)) return;
        const c = r.right;
        const outcome = decide(c, initialPositionState(c.position), defaultEnv("2024-05-01T10:00:00.000Z"));
        if (outcome.kind !== "accepted") return;
        const events = toCanonicalEvents(outcome.events, {
          prevRevision: -1,
          prevHash: "0".repeat(64),
          recordedTime: "2024-05-01T10:00:00.000Z",
        });
        for (const e of events) {
          const json = JSON.stringify(e);
          const d = decodeCanonicalEvent(JSON.parse(json));
          expect(E.isRight(d) ? [] : d.left.map((x) => x.message)).toEqual([]);
          // The relay publishes it as one message.
          expect(Buffer.byteLength(json)).toBeLessThanOrEqual(NATS_MAX_PAYLOAD);
        }
      }),
      OPTIONS,
    );
  });

  it("an accepted reservation request (POST /v1/reservations) makes a command the node can carry", () => {
    const body = fc.record({
      sku: fc.oneof(hostileId, fc.constant("S1")),
      region: fc.constant(REGION),
      quantity: fc.oneof(fc.integer({ min: 1, max: 10 }), hostileNumber),
      channel: fc.oneof(hostileId, fc.constant("web")),
      location: fc.oneof(hostileId, fc.constant("DC1")),
      ttlSeconds: fc.oneof(fc.constant(3600), hostileNumber),
    });
    fc.assert(
      fc.property(body, (b) => {
        const r = PlaceReservationBodyC.decode(b);
        if (E.isLeft(r)) return;
        const v = r.right;
        const location = v.location ?? "DC1";
        const reservationId = reservationIdFor({ region: v.region, location, sku: v.sku }, "caller", "k-1");
        expect(
          acceptedCommandProblems({
            position: { region: v.region, location, sku: v.sku },
            reservationId,
            channel: v.channel,
          }),
        ).toEqual([]);
      }),
      OPTIONS,
    );
  });
});
