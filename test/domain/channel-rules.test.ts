import * as E from "fp-ts/lib/Either.js";
import { describe, expect, it } from "vitest";
import {
  availableToSell,
  type ChannelContext,
  type ChannelRules,
  ChannelRulesC,
  channelRulesProblems,
  protectionsHeld,
  recordUse,
  usageUnderRules,
} from "../../domain/channel-rules.ts";
import { atpBreakdown } from "../../domain/position-context.ts";

const POSITION = { region: "eu", location: "DC1", sku: "SKU-1" };
const DAY = "2026-05-01";
const ctx = (o: Partial<ChannelContext> = {}): ChannelContext => ({
  position: POSITION,
  day: DAY,
  usage: {},
  ...o,
});
/** ATP 100: available 120, reserved 15, safety stock 5. */
const B100 = atpBreakdown({ available: 120, reserved: 15, safetyStock: 5, lifecycle: "active" });

const figure = (rules: ChannelRules, channel: string, c: ChannelContext = ctx()) =>
  availableToSell(B100, rules, channel, c);

describe("available to sell: every answer explains itself, the ATP breakdown first", () => {
  it("without rules a channel may sell ATP, and the breakdown says why", () => {
    const a = figure({}, "amazon");
    expect(a.quantity).toBe(100);
    expect(a.explanation).toEqual([
      {
        rule: "atp",
        kind: "atp",
        effect: "available 120 − reserved 15 − safety stock 5 = 100, ATP 100",
        before: 120,
        after: 100,
      },
    ]);
  });

  it("a position that is not sellable gives every channel 0", () => {
    const held = atpBreakdown({ available: 50, reserved: 0, safetyStock: 0, lifecycle: "onHold" });
    const a = availableToSell(held, {}, "web", ctx());
    expect(a.quantity).toBe(0);
    expect(a.explanation[0]?.effect).toContain("onHold");
  });
});

describe("exclusions", () => {
  const rules: ChannelRules = { exclusions: [{ id: "X1", channel: "amazon", location: "DC1" }] };
  it("a channel never sells from an excluded location", () => {
    const a = figure(rules, "amazon");
    expect(a.quantity).toBe(0);
    expect(a.explanation.at(-1)).toMatchObject({ rule: "exclusion:X1", before: 100, after: 0 });
  });
  it("other channels and other locations are not excluded", () => {
    expect(figure(rules, "web").quantity).toBe(100);
    expect(figure(rules, "amazon", ctx({ position: { ...POSITION, location: "DC2" } })).quantity).toBe(100);
  });
});

describe("buffers: absolute or percent, at four levels, in a stated priority, not stacking unless said", () => {
  it("an absolute buffer for all channels", () => {
    const a = figure(
      { buffers: [{ id: "B1", scope: { level: "channel" }, amount: { absolute: 10 }, priority: 1 }] },
      "web",
    );
    expect(a.quantity).toBe(90);
    expect(a.explanation[1]).toMatchObject({ rule: "buffer:B1", kind: "buffer", before: 100, after: 90 });
  });

  it("a percent buffer of ATP, rounded up (a buffer errs on the safe side)", () => {
    const b = atpBreakdown({ available: 33, reserved: 0, safetyStock: 0, lifecycle: "active" });
    const a = availableToSell(
      b,
      { buffers: [{ id: "P", scope: { level: "channel" }, amount: { percent: 10 }, priority: 1 }] },
      "web",
      ctx(),
    );
    expect(a.quantity).toBe(29);
    expect(a.explanation[1]?.effect).toContain("10% of ATP 33 = 4");
  });

  it("SKU, SKU-location and category scopes match only their positions", () => {
    const rules: ChannelRules = {
      buffers: [
        { id: "S", scope: { level: "sku", sku: "OTHER" }, amount: { absolute: 1 }, priority: 1 },
        {
          id: "L",
          scope: { level: "skuLocation", sku: "SKU-1", location: "DC2" },
          amount: { absolute: 2 },
          priority: 1,
        },
        { id: "C", scope: { level: "category", category: "shoes" }, amount: { absolute: 3 }, priority: 1 },
      ],
    };
    expect(figure(rules, "web").quantity).toBe(100);
    expect(figure(rules, "web", ctx({ category: "shoes" })).quantity).toBe(97);
    const dc2 = ctx({ position: { ...POSITION, location: "DC2" } });
    expect(figure(rules, "web", dc2).quantity).toBe(98);
  });

  it("a buffer for one channel leaves the others alone", () => {
    const rules: ChannelRules = {
      buffers: [
        { id: "A", channel: "amazon", scope: { level: "channel" }, amount: { absolute: 30 }, priority: 1 },
      ],
    };
    expect(figure(rules, "amazon").quantity).toBe(70);
    expect(figure(rules, "web").quantity).toBe(100);
  });

  it("the first buffer by priority applies; later ones are reported as overridden", () => {
    const rules: ChannelRules = {
      buffers: [
        { id: "LOW", scope: { level: "channel" }, amount: { absolute: 40 }, priority: 5 },
        { id: "HIGH", scope: { level: "sku", sku: "SKU-1" }, amount: { absolute: 10 }, priority: 1 },
      ],
    };
    const a = figure(rules, "web");
    expect(a.quantity).toBe(90);
    expect(a.explanation.slice(1)).toMatchObject([
      { rule: "buffer:HIGH", before: 100, after: 90 },
      { rule: "buffer:LOW", before: 90, after: 90 },
    ]);
    expect(a.explanation[2]?.effect).toContain("do not stack");
  });

  it("at equal priority the more specific level wins: SKU-location, SKU, category, channel", () => {
    const rules: ChannelRules = {
      buffers: [
        { id: "CH", scope: { level: "channel" }, amount: { absolute: 1 }, priority: 1 },
        { id: "CAT", scope: { level: "category", category: "shoes" }, amount: { absolute: 2 }, priority: 1 },
        { id: "SKU", scope: { level: "sku", sku: "SKU-1" }, amount: { absolute: 3 }, priority: 1 },
        {
          id: "LOC",
          scope: { level: "skuLocation", sku: "SKU-1", location: "DC1" },
          amount: { absolute: 4 },
          priority: 1,
        },
      ],
    };
    const c = ctx({ category: "shoes" });
    expect(figure(rules, "web", c).quantity).toBe(96);
    const withoutLoc = { buffers: rules.buffers?.filter((b) => b.id !== "LOC") };
    expect(figure(withoutLoc, "web", c).quantity).toBe(97);
    expect(
      figure({ buffers: rules.buffers?.filter((b) => b.id === "CH" || b.id === "CAT") }, "web", c).quantity,
    ).toBe(98);
  });

  it("a buffer that says stack: true applies on top of the one before it", () => {
    const rules: ChannelRules = {
      buffers: [
        { id: "BASE", scope: { level: "channel" }, amount: { absolute: 10 }, priority: 1 },
        {
          id: "EXTRA",
          scope: { level: "sku", sku: "SKU-1" },
          amount: { percent: 20 },
          priority: 2,
          stack: true,
        },
        { id: "IGNORED", scope: { level: "channel" }, amount: { absolute: 50 }, priority: 3 },
      ],
    };
    const a = figure(rules, "web");
    // 100 − 10 − 20% of ATP 100
    expect(a.quantity).toBe(70);
    expect(a.explanation.map((s) => [s.rule, s.after])).toEqual([
      ["atp", 100],
      ["buffer:BASE", 90],
      ["buffer:EXTRA", 70],
      ["buffer:IGNORED", 70],
    ]);
  });

  it("a buffer larger than what is left gives 0, never less", () => {
    const a = figure(
      { buffers: [{ id: "B", scope: { level: "channel" }, amount: { absolute: 500 }, priority: 0 }] },
      "web",
    );
    expect(a.quantity).toBe(0);
  });
});

describe("protected minimums (supply protection)", () => {
  const rules: ChannelRules = {
    protections: [{ id: "P-B2B", channel: "b2b", quantity: 30, period: "day" }],
  };
  it("hold the unused protection out of every other channel's figure", () => {
    const web = figure(rules, "web");
    expect(web.quantity).toBe(70);
    expect(web.explanation[1]).toMatchObject({ rule: "protection:P-B2B", before: 100, after: 70 });
    expect(web.explanation[1]?.effect).toContain("30 held for b2b");
  });
  it("do not limit the protected channel itself", () => {
    const b2b = figure(rules, "b2b");
    expect(b2b.quantity).toBe(100);
    expect(b2b.explanation[1]).toMatchObject({ rule: "protection:P-B2B", before: 100, after: 100 });
  });
  it("hold only what the protected channel has not used in the period", () => {
    const used = recordUse({}, "b2b", DAY, 12);
    expect(figure(rules, "web", ctx({ usage: used })).quantity).toBe(82);
    // Yesterday's use does not count for a day period.
    expect(figure(rules, "web", ctx({ usage: used, day: "2026-05-02" })).quantity).toBe(70);
  });
  it("until revoked, use counts across days", () => {
    const r: ChannelRules = {
      protections: [{ id: "P", channel: "b2b", quantity: 30, period: "untilRevoked" }],
    };
    const used = recordUse(recordUse({}, "b2b", DAY, 10), "b2b", "2026-05-02", 5);
    expect(figure(r, "web", ctx({ usage: used, day: "2026-05-03" })).quantity).toBe(85);
  });
  it("are given out in priority order and never hold more than ATP together", () => {
    const scarce = atpBreakdown({ available: 50, reserved: 0, safetyStock: 0, lifecycle: "active" });
    const r: ChannelRules = {
      protections: [
        { id: "P2", channel: "store", quantity: 40, period: "day", priority: 2 },
        { id: "P1", channel: "b2b", quantity: 30, period: "day", priority: 1 },
      ],
    };
    const held = protectionsHeld(scarce, r, ctx());
    expect(held.map((h) => [h.rule, h.held])).toEqual([
      ["P1", 30],
      ["P2", 20],
    ]);
    expect(availableToSell(scarce, r, "web", ctx()).quantity).toBe(0);
    expect(availableToSell(scarce, r, "b2b", ctx()).quantity).toBe(30);
    expect(availableToSell(scarce, r, "store", ctx()).quantity).toBe(20);
  });
});

describe("maximum quotas (product allocation)", () => {
  const rules: ChannelRules = { quotas: [{ id: "Q-AMZ", channel: "amazon", quantity: 25, period: "day" }] };
  it("cap what the channel may sell at what is left of its quota in the period", () => {
    const a = figure(rules, "amazon", ctx({ usage: recordUse({}, "amazon", DAY, 13) }));
    expect(a.quantity).toBe(12);
    expect(a.explanation.at(-1)).toMatchObject({ rule: "quota:Q-AMZ", before: 100, after: 12 });
    expect(a.explanation.at(-1)?.effect).toBe("quota 25 per day, used 13: at most 12");
  });
  it("start again the next day; other channels are not capped", () => {
    const usage = recordUse({}, "amazon", DAY, 25);
    expect(figure(rules, "amazon", ctx({ usage })).quantity).toBe(0);
    expect(figure(rules, "amazon", ctx({ usage, day: "2026-05-02" })).quantity).toBe(25);
    expect(figure(rules, "web", ctx({ usage })).quantity).toBe(100);
  });
  it("never raise a figure above what the other rules leave", () => {
    const r: ChannelRules = {
      ...rules,
      buffers: [{ id: "B", scope: { level: "channel" }, amount: { absolute: 90 }, priority: 0 }],
    };
    expect(figure(r, "amazon").quantity).toBe(10);
  });
});

describe("why can Amazon sell only 12?", () => {
  it("ATP, then the exclusion check, the others' protections, the buffers and the quota", () => {
    const rules: ChannelRules = {
      exclusions: [{ id: "X", channel: "amazon", location: "DC9" }],
      protections: [{ id: "P-B2B", channel: "b2b", quantity: 20, period: "day" }],
      buffers: [
        { id: "B-AMZ", channel: "amazon", scope: { level: "channel" }, amount: { percent: 10 }, priority: 1 },
      ],
      quotas: [{ id: "Q-AMZ", channel: "amazon", quantity: 50, period: "day" }],
    };
    const a = figure(rules, "amazon", ctx({ usage: recordUse({}, "amazon", DAY, 38) }));
    expect(a.quantity).toBe(12);
    expect(a.explanation.map((s) => [s.rule, s.before, s.after])).toEqual([
      ["atp", 120, 100],
      ["protection:P-B2B", 100, 80],
      ["buffer:B-AMZ", 80, 70],
      ["quota:Q-AMZ", 70, 12],
    ]);
  });
});

describe("rules at the boundary", () => {
  it("decode with the codec and name what is wrong", () => {
    expect(
      E.isRight(ChannelRulesC.decode({ quotas: [{ id: "Q", channel: "a", quantity: 1, period: "day" }] })),
    ).toBe(true);
    expect(
      E.isLeft(
        ChannelRulesC.decode({
          buffers: [{ id: "B", scope: { level: "channel" }, amount: { percent: 101 }, priority: 0 }],
        }),
      ),
    ).toBe(true);
    expect(
      E.isLeft(ChannelRulesC.decode({ quotas: [{ id: "Q", channel: "a", quantity: 1, period: "week" }] })),
    ).toBe(true);
    expect(
      E.isLeft(
        ChannelRulesC.decode({
          exclusions: Array.from({ length: 65 }, (_, i) => ({ id: `X${i}`, channel: "a", location: "L" })),
        }),
      ),
    ).toBe(true);
  });
  it("duplicate rule ids are a problem", () => {
    expect(
      channelRulesProblems({
        quotas: [{ id: "R", channel: "a", quantity: 1, period: "day" }],
        protections: [{ id: "R", channel: "b", quantity: 1, period: "day" }],
      }),
    ).toEqual(['protections: rule id "R" is used twice']);
  });
  it("rules without an untilRevoked rule for a channel reset its untilRevoked use", () => {
    const usage = recordUse({}, "amazon", DAY, 7);
    expect(usageUnderRules(usage, {}).amazon?.untilRevoked).toBe(0);
    expect(
      usageUnderRules(usage, {
        quotas: [{ id: "Q", channel: "amazon", quantity: 9, period: "untilRevoked" }],
      }).amazon?.untilRevoked,
    ).toBe(7);
  });
});
