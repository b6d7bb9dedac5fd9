/**
 * Fuzzing the API's reservation intake (`POST /v1/reservations`) and its reads by ids from outside
 * (reservations, availability, positions, history, trace) of a real system (hub, one region, its node, projectors and the API; test/api/api-fixture.ts): every
 * request ends in a decision (201, 409, 422), a held reservation (202, meant for an unreachable
 * region; counted), or a 4xx that says what is wrong, never a 5xx or a stall;
 * a confirmed reservation is for the SKU, location and quantity that were sent, and reads back.
 *
 * `FUZZ_RUNS` scales the run (half as many cases as the node's intakes get); `FUZZ_SEED` repeats one.
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ApiSystem, KEYS, receive, startApiSystem, waitForAtp } from "../api/api-fixture.ts";
import {
  hostileBytes,
  hostileId,
  hostileNumber,
  hostileTimestamp,
  nested,
  wrongType,
} from "./hostile-values.ts";

const RUNS = Math.ceil(Number(process.env.FUZZ_RUNS ?? 300) / 2);
const SEED = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const STALL_MS = Number(process.env.FUZZ_STALL_MS ?? 8_000);

let sys: ApiSystem;
let region: string;
beforeAll(async () => {
  sys = await startApiSystem({ regions: 1 });
  region = sys.regions[0]!;
  for (const sku of ["S1", "S2"]) await sys.command(region, receive(region, "DC1", sku, 1_000_000));
  await waitForAtp(sys, "S1", "DC1", 1_000_000);
});
afterAll(async () => {
  await sys?.stop();
});

type Field = "sku" | "location" | "quantity" | "channel" | "ttlSeconds" | "uom" | "order" | "idempotencyKey";

/** A valid body with some fields replaced by hostile values, dropped, or nested deep. */
const bodyArb = fc
  .record({
    sku: fc.constantFrom("S1", "S2", "S9"),
    location: fc.option(fc.constant("DC1"), { freq: 3 }),
    quantity: fc.integer({ min: 1, max: 5 }),
    channel: fc.constant("web"),
    ttlSeconds: fc.option(fc.constantFrom(60, 3600), { freq: 2 }),
    mutations: fc.array(
      fc.tuple(
        fc.constantFrom<Field>(
          "sku",
          "location",
          "quantity",
          "channel",
          "ttlSeconds",
          "uom",
          "order",
          "idempotencyKey",
        ),
        fc.oneof(
          { arbitrary: hostileId, weight: 4 },
          { arbitrary: hostileNumber, weight: 2 },
          { arbitrary: wrongType, weight: 1 },
          { arbitrary: fc.constant(undefined), weight: 1 },
          { arbitrary: fc.integer({ min: 8, max: 60 }).map((d) => nested(d, "x", d % 2 === 0)), weight: 1 },
        ),
      ),
      { maxLength: 3 },
    ),
  })
  .map(({ mutations, location, ttlSeconds, ...rest }) => {
    const body: Record<string, unknown> = { ...rest, region: "$REGION" };
    if (location !== null) body.location = location;
    if (ttlSeconds !== null) body.ttlSeconds = ttlSeconds;
    for (const [field, value] of mutations) {
      if (value === undefined) delete body[field];
      else body[field] = value;
    }
    return {
      body,
      mutations: mutations.map(
        ([f, v]) =>
          `${f}=${typeof v === "string" && v.length > 40 ? `<${v.length} chars>` : JSON.stringify(v)}`,
      ),
    };
  });

/** Reads whose parameters are ids from outside (`:a`, `:b` are replaced by the case's ids). */
const READ_ROUTES = [
  "/v1/reservations/:a",
  "/v1/availability/:a",
  "/v1/availability/:a/timeline",
  "/v1/positions/:a/:b",
  "/v1/positions/:a/:b/history",
  "/v1/trace/:a",
] as const;

type Case =
  | { readonly type: "place"; readonly body: Record<string, unknown>; readonly mutations: string[] }
  | { readonly type: "raw"; readonly bytes: Uint8Array }
  /** A read of a route whose path parameters and query come from outside. */
  | {
      readonly type: "read";
      readonly route: string;
      readonly ids: readonly string[];
      readonly query: string;
    };

const caseArb: fc.Arbitrary<Case> = fc.oneof(
  { arbitrary: bodyArb.map((b) => ({ type: "place" as const, ...b })), weight: 8 },
  { arbitrary: hostileBytes.map((bytes) => ({ type: "raw" as const, bytes })), weight: 1 },
  {
    arbitrary: fc.record({
      type: fc.constant("read" as const),
      route: fc.constantFrom(...READ_ROUTES),
      ids: fc.array(fc.oneof(hostileId, fc.constantFrom("S1", "DC1")), { minLength: 2, maxLength: 2 }),
      query: fc.oneof(
        fc.constant(""),
        fc
          .tuple(
            fc.constantFrom("region", "asOf", "date", "verify", "limit"),
            fc.oneof(hostileId, hostileTimestamp),
          )
          .map(([k, v]) => `?${k}=${pathSegment(v)}`),
      ),
    }),
    weight: 2,
  },
);

/** Decisions and holds; any other 4xx is fine when it says why, except those that never reach the intake. */
const DECISIONS = new Set([200, 201, 202, 409, 422]);
const NOT_REACHED = new Set([401, 403, 429]);

interface Finding {
  readonly index: number;
  readonly input: string;
  readonly detail: string;
}

const show = (v: unknown): string => {
  const s = JSON.stringify(v, (_k, x: unknown) =>
    typeof x === "string" && x.length > 60 ? `<${x.length} chars ${x.slice(0, 12)}...>` : x,
  );
  return (s ?? String(v)).slice(0, 400);
};

/** A path segment as a careless client sends it: percent-encoded UTF-8, lone surrogates as the bytes WTF-8 would use. */
const pathSegment = (id: string): string =>
  [...id]
    .map((ch) => {
      const c = ch.codePointAt(0) ?? 0;
      if (c >= 0xd800 && c <= 0xdfff)
        return `%${(0xe0 | (c >> 12)).toString(16)}%${(0x80 | ((c >> 6) & 0x3f)).toString(16)}%${(0x80 | (c & 0x3f)).toString(16)}`;
      return encodeURIComponent(ch);
    })
    .join("");

describe("fuzz: the API's reservation intake", () => {
  it(
    `${RUNS} requests end in a decision or a clear 4xx`,
    async () => {
      const cases = fc.sample(caseArb, { seed: SEED, numRuns: RUNS });
      const counts = new Map<string, number>();
      const findings: Finding[] = [];
      for (const [i, c] of cases.entries()) {
        const url = sys.api.url;
        let input: string;
        let init: RequestInit;
        let target = `${url}/v1/reservations`;
        if (c.type === "place") {
          const body = JSON.stringify(c.body).replaceAll('"$REGION"', JSON.stringify(region));
          input = `[${c.mutations.join("; ")}] ${show(JSON.parse(body))}`;
          init = { method: "POST", body };
        } else if (c.type === "raw") {
          input = `bytes ${Buffer.from(c.bytes.subarray(0, 40)).toString("hex")} (${c.bytes.length} bytes)`;
          init = { method: "POST", body: c.bytes };
        } else {
          const path = c.route
            .replace(":a", pathSegment(c.ids[0] ?? ""))
            .replace(":b", pathSegment(c.ids[1] ?? ""));
          input = `GET ${c.route} ids ${show(c.ids)} ${c.query.slice(0, 80)}`;
          target = `${url}${path}${c.query}`;
          init = { method: "GET" };
        }
        let status: number;
        let text: string;
        try {
          const res = await fetch(target, {
            ...init,
            headers: {
              "x-api-key": KEYS.commerce,
              ...(init.body ? { "content-type": "application/json" } : {}),
            },
            signal: AbortSignal.timeout(STALL_MS),
          });
          status = res.status;
          text = await res.text();
        } catch (err) {
          findings.push({ index: i, input, detail: `stall: ${(err as Error).message}` });
          counts.set("stall", (counts.get("stall") ?? 0) + 1);
          continue;
        }
        counts.set(String(status), (counts.get(String(status)) ?? 0) + 1);
        let json: Record<string, unknown> | undefined;
        try {
          json = JSON.parse(text) as Record<string, unknown>;
        } catch {
          json = undefined;
        }
        if (!DECISIONS.has(status) && (status < 400 || status >= 500 || NOT_REACHED.has(status))) {
          findings.push({ index: i, input, detail: `HTTP ${status}: ${text.slice(0, 300)}` });
          continue;
        }
        if (status >= 400 && (typeof json?.message !== "string" || json.message.length === 0)) {
          findings.push({
            index: i,
            input,
            detail: `HTTP ${status} without a message: ${text.slice(0, 300)}`,
          });
          continue;
        }
        if (status === 201 && c.type === "place") {
          // Confirmed: for what was sent, and readable back by its id.
          const sent = c.body;
          const problems: string[] = [];
          if (json?.sku !== sent.sku) problems.push(`sku ${show(json?.sku)} but ${show(sent.sku)} was sent`);
          if (json?.quantity !== sent.quantity)
            problems.push(`quantity ${show(json?.quantity)} but ${show(sent.quantity)} was sent`);
          if (sent.location !== undefined && json?.location !== sent.location)
            problems.push(`location ${show(json?.location)} but ${show(sent.location)} was sent`);
          const id = json?.reservationId;
          if (typeof id !== "string") problems.push("no reservation id");
          else {
            const back = await fetch(`${url}/v1/reservations/${encodeURIComponent(id)}`, {
              headers: { "x-api-key": KEYS.commerce },
              signal: AbortSignal.timeout(STALL_MS),
            }).catch((err: Error) => err);
            if (back instanceof Error || back.status !== 200)
              problems.push(
                `reading it back: ${back instanceof Error ? back.message : `HTTP ${back.status}`}`,
              );
          }
          if (problems.length > 0)
            findings.push({ index: i, input, detail: `silently wrong: ${problems.join("; ")}` });
        }
      }
      const table = [...counts.entries()]
        .sort()
        .map(([k, n]) => `${k} ${n}`)
        .join(", ");
      console.log(
        `fuzz of POST/GET /v1/reservations: ${RUNS} cases, FUZZ_SEED=${SEED}\nstatus counts: ${table}`,
      );
      const report = findings.map((f) => `- case ${f.index}: ${f.input}\n    ${f.detail}`).join("\n");
      if (findings.length > 0) console.log(report.slice(0, 20_000));
      expect(
        findings.length,
        `repeat with FUZZ_SEED=${SEED} FUZZ_RUNS=${RUNS * 2}\n${report.slice(0, 8_000)}`,
      ).toBe(0);
    },
    120_000 + RUNS * 500,
  );
});
