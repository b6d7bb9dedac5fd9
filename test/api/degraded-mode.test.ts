/**
 * Degraded mode as documented in services/api/DEGRADED-MODE.md, with the region's leaf link really
 * cut: last known figures flagged stale with the haircut, holds only within the constrained ATP,
 * held durably, then confirmed or compensated (and queued releases delivered) when the link returns.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ApiSystem, eventually, KEYS, receive, startApiSystem, waitForAtp } from "./api-fixture.ts";

let sys: ApiSystem;
let region: string;

beforeAll(async () => {
  sys = await startApiSystem({ regions: 1 });
  region = sys.regions[0]!;
});
afterAll(async () => {
  await sys?.stop();
});

const sku = "DEG-1";
const reserve = (qty: number, key: string) =>
  sys.http("POST", "/v1/reservations", {
    key: KEYS.commerce,
    body: { sku, region, location: "DC1", quantity: qty, channel: "web", ttlSeconds: 600 },
    headers: { "idempotency-key": key },
  });
const dc1 = (body: { locations: Array<{ location: string }> }) =>
  body.locations.find((l) => l.location === "DC1") as Record<string, unknown>;

describe("degraded mode", () => {
  it("stale figures with the haircut, holds within the constrained ATP, confirmed or compensated on return", async () => {
    expect((await sys.command(region, receive(region, "DC1", sku, 12))).outcome).toBe("accepted");
    await waitForAtp(sys, sku, "DC1", 12);
    const e = await reserve(2, "deg-e");
    expect(e.status).toBe(201);
    await waitForAtp(sys, sku, "DC1", 10);

    await sys.topology.cutLink(region);
    const stale = await eventually(async () => {
      const r = await sys.http("GET", `/v1/availability/${sku}`);
      return r.body.stale === true ? r.body : undefined;
    }, "region reported stale");
    // Last known figures, flagged, and what may be promised: floor(10 × (1 − 0.2)) = 8.
    expect(dc1(stale)).toMatchObject({ atp: 10, promisable: 8, stale: true });
    expect(stale.freshness[0]).toMatchObject({ region, stale: true, link: "down" });

    const a = await reserve(5, "deg-a");
    expect(a.status).toBe(202);
    expect(a.body).toMatchObject({ status: "held", degraded: true, quantity: 5 });
    const b = await reserve(4, "deg-b");
    expect(b.status).toBe(409);
    expect(b.body).toMatchObject({ error: "insufficient_atp", degraded: true, available: 3 });
    const c = await reserve(3, "deg-c");
    expect(c.status).toBe(202);
    expect(dc1((await sys.http("GET", `/v1/availability/${sku}`)).body)).toMatchObject({
      promisable: 0,
      heldDegraded: 8,
    });
    // A held reservation released by its caller is never sent.
    const delC = await sys.http("DELETE", `/v1/reservations/${c.body.reservationId}`, { key: KEYS.commerce });
    expect(delC.status).toBe(200);
    expect(delC.body.status).toBe("released");
    const d = await reserve(3, "deg-d");
    expect(d.status).toBe(202);
    // A confirmed reservation released while the region is unreachable is queued.
    const delE = await sys.http("DELETE", `/v1/reservations/${e.body.reservationId}`, { key: KEYS.commerce });
    expect(delE.status).toBe(202);
    expect(delE.body.status).toBe("releasePending");

    // Holds are durable: they survive an API restart while the link is down.
    await sys.restartApi();
    const held = await sys.http("GET", "/v1/degraded/holds", { key: KEYS.operations });
    expect(held.body.held.map((h: { reservationId: string }) => h.reservationId).sort()).toEqual(
      [a.body.reservationId, d.body.reservationId].sort(),
    );
    expect(held.body.pendingReleases).toHaveLength(1);

    // Meanwhile the region goes on: a local channel reserves 6 of the 10 (ATP 4 at the node).
    const local = await sys.parts.get(region)!.nc.request(
      `inv.req.${region}`,
      JSON.stringify({
        kind: "placeReservation",
        idempotencyKey: "local-1",
        source: { system: "pos", document: { type: "order", id: "POS-1" } },
        businessTime: new Date().toISOString(),
        correlationId: "local-1",
        position: { region, location: "DC1", sku },
        quantity: { value: 6, uom: "EA" },
        reservationId: "local-1",
        channel: "store",
        ttlSeconds: 600,
      }),
      { timeout: 5_000 },
    );
    expect(JSON.parse(new TextDecoder().decode(local.data)).outcome).toBe("accepted");

    await sys.topology.restoreLink(region);
    // On return: the queued release (ATP 4 → 6), then holds oldest first: A (5) fits, D (3) does not.
    const report = await eventually(
      async () => {
        const r = await sys.http("GET", "/v1/degraded/holds", { key: KEYS.operations });
        return r.body.held.length === 0 && r.body.pendingReleases.length === 0 ? r.body : undefined;
      },
      "holds settled",
      15_000,
    );
    expect(report.compensated.map((h: { reservationId: string }) => h.reservationId)).toEqual([
      d.body.reservationId,
    ]);
    expect(report.compensated[0].detail).toContain("insufficientAtp");
    const gotA = await eventually(async () => {
      const r = await sys.http("GET", `/v1/reservations/${a.body.reservationId}`);
      return r.body.status === "open" ? r.body : undefined;
    }, "A open at the region");
    expect(gotA.quantity).toBe(5);
    expect((await sys.http("GET", `/v1/reservations/${d.body.reservationId}`)).body.status).toBe(
      "compensated",
    );
    const after = await eventually(
      async () => {
        const r = await sys.http("GET", `/v1/availability/${sku}`);
        return r.body.stale === false && dc1(r.body).atp === 1 ? r.body : undefined;
      },
      "fresh figures after return",
      15_000,
    );
    expect(dc1(after)).toMatchObject({ atp: 1, promisable: 1, reserved: 11, heldDegraded: 0 });
  });
});
