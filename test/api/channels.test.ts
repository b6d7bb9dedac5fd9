/**
 * Channels speak for themselves: an API key bound to a channel places reservations as that channel
 * (`source.system`, so ownership rules can name it), with the channel's own reservation id
 * (idempotent on channel and id) and its business time.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sourceReqSubject } from "../../infra/nats/subjects.ts";
import { type ApiSystem, KEYS, receive, startApiSystem, waitForAtp } from "./api-fixture.ts";

let sys: ApiSystem;
let region: string;
/** Commands the API sent, by request subject (a plain subscriber sees every request). */
const sent: Array<{ subject: string; command: Record<string, unknown> }> = [];

beforeAll(async () => {
  sys = await startApiSystem({
    regions: 1,
    // NL-* locations: reservations are SHOP_NL's (and the expiry's); elsewhere anyone's.
    ownership: {
      rules: [
        {
          name: "SHOP_NL owns reservations at NL-*",
          movements: ["reservation"],
          owners: ["SHOP_NL", "stockline-expiry"],
          locations: "NL-*",
        },
      ],
      otherwise: "allow",
    },
  });
  region = sys.regions[0]!;
  const sub = sys.hubNc.subscribe(`inv.req.${region}.>`);
  void (async () => {
    for await (const m of sub)
      sent.push({ subject: m.subject, command: JSON.parse(new TextDecoder().decode(m.data)) });
  })();
});
afterAll(async () => {
  await sys?.stop();
});

const reserve = (key: string, body: Record<string, unknown>) =>
  sys.http("POST", "/v1/reservations", { key, body: { region, ...body } });

const stock = async (location: string, sku: string, qty: number) => {
  expect((await sys.command(region, receive(region, location, sku, qty))).outcome).toBe("accepted");
  await waitForAtp(sys, sku, location, qty);
};

describe("a key bound to a channel", () => {
  it("places the reservation as the channel's command, with its own id and business time; a repeat is idempotent, another payload a 409 naming the id", async () => {
    const sku = "CH-1";
    await stock("DC1", sku, 10);
    const businessTime = new Date(Date.now() - 60_000).toISOString();
    const body = { sku, location: "DC1", quantity: 3, channelReservationId: "order-1/line-1", businessTime };

    const first = await reserve(KEYS.shopNl, body);
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({
      status: "confirmed",
      channel: "SHOP_NL",
      channelReservationId: "order-1/line-1",
      businessTime,
    });
    const command = sent.find((s) => s.command.reservationId === first.body.reservationId)!;
    expect(command.subject).toBe(sourceReqSubject(region, "SHOP_NL"));
    expect(command.command.source).toEqual({
      system: "SHOP_NL",
      document: { type: "reservation", id: "order-1/line-1" },
    });
    expect(command.command.businessTime).toBe(businessTime);
    expect(command.command.channel).toBe("SHOP_NL");

    const again = await reserve(KEYS.shopNl, body);
    expect(again.status).toBe(201);
    expect(again.body.reservationId).toBe(first.body.reservationId);
    expect(again.body.replayed).toBe(true);
    await waitForAtp(sys, sku, "DC1", 7);

    const other = await reserve(KEYS.shopNl, { ...body, quantity: 4 });
    expect(other.status).toBe(409);
    expect(other.body.error).toBe("reservation_id_conflict");
    expect(other.body.message).toContain('"order-1/line-1"');
    expect(other.body.channelReservationId).toBe("order-1/line-1");

    // The channel finds it by its own id; another channel does not.
    const byOwnId = await sys.http("GET", "/v1/reservations/by-channel-id/order-1%2Fline-1", {
      key: KEYS.shopNl,
    });
    expect(byOwnId.status).toBe(200);
    expect(byOwnId.body).toMatchObject({
      reservationId: first.body.reservationId,
      status: "open",
      quantity: 3,
    });
    const noChannel = await sys.http("GET", "/v1/reservations/by-channel-id/order-1%2Fline-1", {
      key: KEYS.commerce,
    });
    expect(noChannel.status).toBe(400);

    // Another channel's same id is its own reservation.
    const be = await reserve(KEYS.shopBe, body);
    expect(be.status).toBe(201);
    expect(be.body.reservationId).not.toBe(first.body.reservationId);
    expect(be.body.channel).toBe("SHOP_BE");
    await waitForAtp(sys, sku, "DC1", 4);
    const beByOwnId = await sys.http("GET", "/v1/reservations/by-channel-id/order-1%2Fline-1", {
      key: KEYS.shopBe,
    });
    expect(beByOwnId.body.reservationId).toBe(be.body.reservationId);
    const unknownOwnId = await sys.http("GET", "/v1/reservations/by-channel-id/nope", { key: KEYS.shopNl });
    expect(unknownOwnId.status).toBe(404);
  });

  it("ownership rules name the channel: SHOP_BE is refused where SHOP_NL owns reservations, SHOP_NL places and releases there", async () => {
    const sku = "CH-OWN";
    await stock("NL-DC1", sku, 5);
    const be = await reserve(KEYS.shopBe, { sku, location: "NL-DC1", quantity: 1 });
    expect(be.status).toBe(422);
    expect(be.body).toMatchObject({ error: "rejected", code: "notOwner" });
    expect(JSON.stringify(be.body.reason)).toContain("SHOP_NL owns reservations at NL-*");

    const nl = await reserve(KEYS.shopNl, {
      sku,
      location: "NL-DC1",
      quantity: 2,
      channelReservationId: "o-2",
    });
    expect(nl.status).toBe(201);
    await waitForAtp(sys, sku, "NL-DC1", 3);
    const released = await sys.http("DELETE", `/v1/reservations/${nl.body.reservationId}`, {
      key: KEYS.shopNl,
    });
    expect(released.status).toBe(200);
    expect(released.body.status).toBe("released");
    const release = sent.find(
      (s) => s.command.kind === "releaseReservation" && s.command.reservationId === nl.body.reservationId,
    )!;
    expect((release.command.source as { system: string }).system).toBe("SHOP_NL");
    await waitForAtp(sys, sku, "NL-DC1", 5);
  });

  it("may not speak for another channel; keys without a channel keep today's behaviour and cannot give a channel's id", async () => {
    const mismatch = await reserve(KEYS.shopNl, {
      sku: "CH-X",
      location: "DC1",
      quantity: 1,
      channel: "SHOP_BE",
    });
    expect(mismatch.status).toBe(403);
    expect(mismatch.body.error).toBe("forbidden");
    expect(mismatch.body.message).toContain("SHOP_NL");

    const sku = "CH-LEGACY";
    await stock("DC1", sku, 2);
    const legacy = await reserve(KEYS.commerce, { sku, location: "DC1", quantity: 1, channel: "web" });
    expect(legacy.status).toBe(201);
    const command = sent.find((s) => s.command.reservationId === legacy.body.reservationId)!;
    expect((command.command.source as { system: string }).system).toBe("stockline-api");

    const ownId = await reserve(KEYS.commerce, {
      sku,
      location: "DC1",
      quantity: 1,
      channel: "web",
      channelReservationId: "x-1",
    });
    expect(ownId.status).toBe(400);
    expect(ownId.body.errors[0].path).toBe("channelReservationId");
  });

  it("a business time outside the bounds of timestamps is a 400 naming the field", async () => {
    const r = await reserve(KEYS.shopNl, {
      sku: "CH-1",
      location: "DC1",
      quantity: 1,
      businessTime: "3000-01-01T00:00:00Z",
    });
    expect(r.status).toBe(400);
    expect(r.body.errors).toContainEqual(expect.objectContaining({ path: "businessTime" }));
  });
});
