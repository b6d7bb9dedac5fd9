import { describe, expect, it } from "vitest";
import type { ChannelRules } from "../../domain/channel-rules.ts";
import { checkOwnership, type OwnershipPolicy } from "../../domain/ownership-policy.ts";
import { atpOf, defaultEnv, rehydrate } from "../../domain/position.decider.ts";
import { channelAvailabilityOf } from "../../domain/position-channels.ts";
import { reserveAs, setRules } from "./channel-spec.ts";
import { at, expire, given, NOW, POS, pick, receive, release, reserve } from "./position-spec.ts";

const QUOTA: ChannelRules = { quotas: [{ id: "Q-AMZ", channel: "amazon", quantity: 10, period: "day" }] };

describe("setChannelRules: allocation changes are events in the position's stream", () => {
  it("records ChannelRulesChanged with the rules and the category, moving no stock", () => {
    const r = given(receive(50)).when(setRules(QUOTA, { category: "shoes" }));
    r.then({ type: "ChannelRulesChanged", quantity: 0, rules: QUOTA, category: "shoes" });
    expect(r.state.channelRules).toEqual({ rules: QUOTA, category: "shoes" });
    expect(atpOf(r.state).atp).toBe(50);
  });

  it("refuses rules with a rule id used twice, naming it", () => {
    given()
      .when(
        setRules({
          quotas: [
            { id: "Q", channel: "a", quantity: 1, period: "day" },
            { id: "Q", channel: "b", quantity: 1, period: "day" },
          ],
        }),
      )
      .thenRejects("invalidChannelRules", { problems: ['quotas: rule id "Q" is used twice'] });
  });

  it("is owned like any movement: the allocation movement can be given to the ERP alone", () => {
    const policy: OwnershipPolicy = {
      rules: [{ name: "allocation by ERP", movements: ["allocation"], owners: ["erp"] }],
      otherwise: "allow",
    };
    expect(checkOwnership(policy, setRules(QUOTA)).allowed).toBe(true);
    const fromShop = setRules(QUOTA, { source: { system: "shop", document: { type: "x", id: "1" } } });
    expect(checkOwnership(policy, fromShop).allowed).toBe(false);
    given()
      .when(fromShop, defaultEnv(NOW, { policy }))
      .thenRejects("notOwner", { rule: "allocation by ERP" });
  });
});

describe("reservations respect the channel's figure", () => {
  it("a position without channel rules decides as before (ATP only, whoever sends)", () => {
    given(receive(5))
      .when(reserveAs("amazon", "r1", 5))
      .then({ type: "ReservationPlaced", quantity: 5 });
    given(receive(5))
      .when(reserveAs("amazon", "r1", 6))
      .thenRejects("insufficientAtp");
  });

  it("a quota caps the channel's reservations in its period, and says why", () => {
    const r = given(receive(50), setRules(QUOTA), reserveAs("amazon", "a1", 8)).when(
      reserveAs("amazon", "a2", 3),
    );
    r.thenRejects("insufficientChannelAvailability", {
      channel: "amazon",
      requested: 3,
      availability: { quantity: 2 },
    });
    if (r.outcome.kind === "rejected") {
      expect(r.outcome.reason.message).toContain("quota:Q-AMZ: quota 10 per day, used 8: at most 2");
    }
    given(receive(50), setRules(QUOTA), reserveAs("amazon", "a1", 8))
      .when(reserveAs("amazon", "a2", 2))
      .then({ type: "ReservationPlaced", quantity: 2 });
  });

  it("the next day the quota starts again", () => {
    given(receive(50), setRules(QUOTA), reserveAs("amazon", "a1", 10))
      .when(reserveAs("amazon", "a2", 10, { businessTime: at(24 * 60) }))
      .then({ type: "ReservationPlaced", quantity: 10 });
  });

  it("a released or expired reservation gives its units back to the quota; a picked one does not", () => {
    given(receive(50), setRules(QUOTA), reserveAs("amazon", "a1", 10), release("a1"))
      .when(reserveAs("amazon", "a2", 10))
      .then({ type: "ReservationPlaced" });
    given(receive(50), setRules(QUOTA), reserveAs("amazon", "a1", 10, { ttlSeconds: 60 }))
      .when(expire("a1"), defaultEnv(at(5)))
      .then({ type: "ReservationExpired" });
    const expired = given(
      receive(50),
      setRules(QUOTA),
      reserveAs("amazon", "a1", 10, { ttlSeconds: 60 }),
    ).when(expire("a1"), defaultEnv(at(5)));
    expect(channelAvailabilityOf(expired.state, atpOf(expired.state), "amazon", NOW).quantity).toBe(10);
    given(receive(50), setRules(QUOTA), reserveAs("amazon", "a1", 10), pick(10, { reservationId: "a1" }))
      .when(reserveAs("amazon", "a2", 1))
      .thenRejects("insufficientChannelAvailability");
  });

  it("other channels' protected minimums reduce what a channel may reserve", () => {
    const rules: ChannelRules = {
      protections: [{ id: "P-B2B", channel: "b2b", quantity: 15, period: "day" }],
    };
    given(receive(20), setRules(rules))
      .when(reserveAs("web", "w1", 6))
      .thenRejects("insufficientChannelAvailability", { availability: { quantity: 5 } });
    given(receive(20), setRules(rules))
      .when(reserveAs("b2b", "b1", 20))
      .then({ type: "ReservationPlaced" });
    // Once b2b used its protection, the rest is everyone's.
    given(receive(30), setRules(rules), reserveAs("b2b", "b1", 15))
      .when(reserveAs("web", "w1", 15))
      .then({ type: "ReservationPlaced" });
  });

  it("an exclusion refuses the channel at that location only", () => {
    const rules: ChannelRules = { exclusions: [{ id: "X", channel: "amazon", location: POS.location }] };
    given(receive(20), setRules(rules))
      .when(reserveAs("amazon", "a1", 1))
      .thenRejects("insufficientChannelAvailability", { availability: { quantity: 0 } });
    given(receive(20), setRules(rules))
      .when(reserveAs("web", "w1", 1))
      .then({ type: "ReservationPlaced" });
  });

  it("buffers keep units out of a channel's reservations", () => {
    const rules: ChannelRules = {
      buffers: [
        {
          id: "B",
          channel: "amazon",
          scope: { level: "sku", sku: POS.sku },
          amount: { percent: 50 },
          priority: 0,
        },
      ],
    };
    given(receive(20), setRules(rules))
      .when(reserveAs("amazon", "a1", 11))
      .thenRejects("insufficientChannelAvailability");
    given(receive(20), setRules(rules))
      .when(reserveAs("amazon", "a1", 10))
      .then({ type: "ReservationPlaced" });
  });

  it("a category buffer applies when the rules were set with the SKU's category", () => {
    const rules: ChannelRules = {
      buffers: [
        { id: "C", scope: { level: "category", category: "shoes" }, amount: { absolute: 5 }, priority: 0 },
      ],
    };
    given(receive(10), setRules(rules, { category: "shoes" }))
      .when(reserveAs("web", "w1", 6))
      .thenRejects("insufficientChannelAvailability");
    given(receive(10), setRules(rules))
      .when(reserveAs("web", "w1", 10))
      .then({ type: "ReservationPlaced" });
  });

  it("ATP is still checked first: a channel figure never lets a reservation past ATP", () => {
    given(receive(5), setRules(QUOTA)).when(reserve("r", 6)).thenRejects("insufficientAtp");
  });

  it("new rules keep the day's use: raising a quota does not forget what was sold", () => {
    const raised: ChannelRules = {
      quotas: [{ id: "Q-AMZ", channel: "amazon", quantity: 12, period: "day" }],
    };
    given(receive(50), setRules(QUOTA), reserveAs("amazon", "a1", 10), setRules(raised))
      .when(reserveAs("amazon", "a2", 3))
      .thenRejects("insufficientChannelAvailability", { availability: { quantity: 2 } });
  });

  it("until revoked: use counts across days until rules without it", () => {
    const forever: ChannelRules = {
      quotas: [{ id: "Q", channel: "amazon", quantity: 10, period: "untilRevoked" }],
    };
    given(receive(50), setRules(forever), reserveAs("amazon", "a1", 10))
      .when(reserveAs("amazon", "a2", 1, { businessTime: at(3 * 24 * 60) }))
      .thenRejects("insufficientChannelAvailability");
    given(receive(50), setRules(forever), reserveAs("amazon", "a1", 10), setRules({}), setRules(forever))
      .when(reserveAs("amazon", "a2", 10))
      .then({ type: "ReservationPlaced" });
  });

  it("replay gives the same channel figures as live handling", () => {
    const s = given(
      receive(40),
      setRules({ ...QUOTA, protections: [{ id: "P", channel: "b2b", quantity: 10, period: "day" }] }),
      reserveAs("amazon", "a1", 4),
      reserveAs("b2b", "b1", 3),
      release("a1"),
      reserveAs("amazon", "a2", 6),
    );
    const replayed = rehydrate(POS, s.history);
    expect(replayed).toEqual(s.state);
    for (const ch of ["amazon", "b2b", "web"]) {
      expect(channelAvailabilityOf(replayed, atpOf(replayed), ch, NOW)).toEqual(
        channelAvailabilityOf(s.state, atpOf(s.state), ch, NOW),
      );
    }
    expect(channelAvailabilityOf(s.state, atpOf(s.state), "amazon", NOW).quantity).toBe(4);
    expect(channelAvailabilityOf(s.state, atpOf(s.state), "web", NOW).quantity).toBe(24);
  });
});
