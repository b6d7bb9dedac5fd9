/**
 * Reservations through the API against a real regional node: a race for scarce stock, expiry (also
 * across restarts), a pick that consumes its reservation, release, and idempotent retries.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type ApiSystem,
  eventually,
  KEYS,
  pick,
  receive,
  startApiSystem,
  waitForAtp,
} from "./api-fixture.ts";

let sys: ApiSystem;
let region: string;

beforeAll(async () => {
  sys = await startApiSystem({ regions: 1 });
  region = sys.regions[0]!;
});
afterAll(async () => {
  await sys?.stop();
});

const reserve = (
  body: Record<string, unknown>,
  key: string = KEYS.commerce,
  headers: Record<string, string> = {},
) => sys.http("POST", "/v1/reservations", { key, body: { region, channel: "web", ...body }, headers });

describe("reservations", () => {
  it("50 concurrent reservations for stock that covers 10: exactly 10 accepted, 40 refused with the available quantity, ATP never negative", async () => {
    const sku = "RACE-1";
    expect((await sys.command(region, receive(region, "DC1", sku, 10))).outcome).toBe("accepted");
    await waitForAtp(sys, sku, "DC1", 10);
    const answers = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        reserve({ sku, location: "DC1", quantity: 1, ttlSeconds: 600 }, KEYS.commerce, {
          "idempotency-key": `race-${i}`,
        }),
      ),
    );
    const accepted = answers.filter((a) => a.status === 201);
    const refused = answers.filter((a) => a.status === 409);
    expect(accepted).toHaveLength(10);
    expect(refused).toHaveLength(40);
    expect(new Set(accepted.map((a) => a.body.reservationId)).size).toBe(10);
    for (const r of refused) {
      expect(r.body.error).toBe("insufficient_atp");
      expect(r.body.requested).toBe(1);
      expect(r.body.available).toBe(0);
    }
    const body = await waitForAtp(sys, sku, "DC1", 0);
    const loc = body.locations.find((l: { location: string }) => l.location === "DC1");
    expect(loc.reserved).toBe(10);
    expect(loc.available).toBe(10);
    // The node's own figure: nothing more can be reserved and nothing went negative.
    const more = await reserve({ sku, location: "DC1", quantity: 1 }, KEYS.commerce, {
      "idempotency-key": "race-after",
    });
    expect(more.status).toBe(409);
  });

  it("a retry with the same Idempotency-Key returns the first answer and reserves nothing more", async () => {
    const sku = "IDEM-1";
    await sys.command(region, receive(region, "DC1", sku, 5));
    await waitForAtp(sys, sku, "DC1", 5);
    const first = await reserve({ sku, location: "DC1", quantity: 2 }, KEYS.commerce, {
      "idempotency-key": "idem-a",
    });
    const again = await reserve({ sku, location: "DC1", quantity: 2 }, KEYS.commerce, {
      "idempotency-key": "idem-a",
    });
    expect(first.status).toBe(201);
    expect(again.status).toBe(201);
    expect(again.body.reservationId).toBe(first.body.reservationId);
    await waitForAtp(sys, sku, "DC1", 3);
    const other = await reserve({ sku, location: "DC1", quantity: 3 }, KEYS.commerce, {
      "idempotency-key": "idem-a",
    });
    expect(other.status).toBe(422);
    expect(other.body.error).toBe("idempotency_conflict");
  });

  it("any location of a region: most available first, then the next one when short", async () => {
    const sku = "SRC-1";
    await sys.command(region, receive(region, "DC1", sku, 3));
    await sys.command(region, receive(region, "DC2", sku, 8));
    await waitForAtp(sys, sku, "DC2", 8);
    const a = await reserve({ sku, quantity: 5 }, KEYS.commerce, { "idempotency-key": "src-a" });
    expect(a.status).toBe(201);
    expect(a.body.location).toBe("DC2");
    const b = await reserve(
      { sku, quantity: 3, sourcing: { rule: "priority", locations: ["DC2", "DC1"] } },
      KEYS.commerce,
      {
        "idempotency-key": "src-b",
      },
    );
    expect(b.status).toBe(201);
    expect(b.body.location).toBe("DC2");
    const c = await reserve(
      { sku, quantity: 3, sourcing: { rule: "priority", locations: ["DC2", "DC1"] } },
      KEYS.commerce,
      {
        "idempotency-key": "src-c",
      },
    );
    expect(c.status).toBe(201);
    expect(c.body.location).toBe("DC1");
    const d = await reserve({ sku, quantity: 1 }, KEYS.commerce, { "idempotency-key": "src-d" });
    expect(d.status).toBe(409);
  });

  it("GET reads an open reservation, DELETE releases it and the stock returns", async () => {
    const sku = "REL-1";
    await sys.command(region, receive(region, "DC1", sku, 4));
    await waitForAtp(sys, sku, "DC1", 4);
    const r = await reserve({ sku, location: "DC1", quantity: 3 }, KEYS.commerce, {
      "idempotency-key": "rel-a",
    });
    expect(r.status).toBe(201);
    const id = r.body.reservationId as string;
    const read = await eventually(async () => {
      const g = await sys.http("GET", `/v1/reservations/${id}`, { key: KEYS.warehouse });
      return g.body.status === "open" ? g : undefined;
    }, "reservation open in the read model");
    expect(read.body).toMatchObject({ status: "open", quantity: 3, location: "DC1", sku, channel: "web" });
    await waitForAtp(sys, sku, "DC1", 1);
    const del = await sys.http("DELETE", `/v1/reservations/${id}`, { key: KEYS.commerce });
    expect(del.status).toBe(200);
    expect(del.body).toMatchObject({ status: "released", quantity: 3 });
    await waitForAtp(sys, sku, "DC1", 4);
    const again = await sys.http("DELETE", `/v1/reservations/${id}`, { key: KEYS.commerce });
    expect(again.status).toBe(200);
    expect(again.body.status).toBe("released");
    const missing = await sys.http("GET", "/v1/reservations/r1.nope.x", { key: KEYS.commerce });
    expect(missing.status).toBe(404);
  });

  it("a pick that references the reservation consumes it", async () => {
    const sku = "PICK-1";
    await sys.command(region, receive(region, "DC1", sku, 6));
    await waitForAtp(sys, sku, "DC1", 6);
    const r = await reserve({ sku, location: "DC1", quantity: 4 }, KEYS.commerce, {
      "idempotency-key": "pick-a",
    });
    expect(r.status).toBe(201);
    await waitForAtp(sys, sku, "DC1", 2);
    const picked = await sys.command(region, pick(region, "DC1", sku, 4, r.body.reservationId));
    expect(picked.outcome).toBe("accepted");
    // Available 2, nothing reserved: ATP stays 2 (the pick took the reserved units, not the free ones).
    const body = await eventually(async () => {
      const b = await sys.http("GET", `/v1/availability/${sku}`);
      const l = b.body.locations.find((x: { location: string }) => x.location === "DC1");
      return l.reserved === 0 ? b.body : undefined;
    }, "reservation consumed");
    const loc = body.locations.find((x: { location: string }) => x.location === "DC1");
    expect(loc).toMatchObject({ atp: 2, available: 2, reserved: 0 });
    const g = await sys.http("GET", `/v1/reservations/${r.body.reservationId}`);
    expect(g.body.status).toBe("closed");
  });

  it("a reservation expires at its TTL and the stock returns, also when the node and the API restarted meanwhile", async () => {
    const sku = "EXP-1";
    await sys.command(region, receive(region, "DC1", sku, 5));
    await waitForAtp(sys, sku, "DC1", 5);
    const short = await reserve({ sku, location: "DC1", quantity: 2, ttlSeconds: 1 }, KEYS.commerce, {
      "idempotency-key": "exp-a",
    });
    expect(short.status).toBe(201);
    await waitForAtp(sys, sku, "DC1", 3);
    await waitForAtp(sys, sku, "DC1", 5, 8_000);

    const r = await reserve({ sku, location: "DC1", quantity: 3, ttlSeconds: 2 }, KEYS.commerce, {
      "idempotency-key": "exp-b",
    });
    expect(r.status).toBe(201);
    await waitForAtp(sys, sku, "DC1", 2);
    // Everything that could remember a timer goes away until after the expiry time.
    await sys.stopRegion(region);
    await sys.restartApi();
    await new Promise((res) => setTimeout(res, Math.max(0, Date.parse(r.body.expiresAt) - Date.now() + 300)));
    await sys.startRegion(region);
    await waitForAtp(sys, sku, "DC1", 5, 10_000);
    expect(sys.parts.get(region)!.expiry.stats.expired).toBeGreaterThanOrEqual(1);
  });
});
