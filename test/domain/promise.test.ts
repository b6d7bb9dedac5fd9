import { describe, expect, it } from "vitest";
import { type ChannelRules, recordUse } from "../../domain/channel-rules.ts";
import type { Position } from "../../domain/ids.ts";
import { atpBreakdown } from "../../domain/position-context.ts";
import { type PromiseSource, promiseDate } from "../../domain/promise.ts";
import { timePhasedAtp } from "../../projections/time-phased-atp.ts";

const NOW = "2026-05-08T09:00:00Z";
const DC1: Position = { region: "eu", location: "DC1", sku: "SKU-1" };
const DC2: Position = { region: "eu", location: "DC2", sku: "SKU-1" };
const US: Position = { region: "us", location: "NYC", sku: "SKU-1" };

/** A source as the API would build it: the position's ATP now and its time-phased days. */
const source = (
  position: Position,
  available: number,
  arrivals: { transfer?: { inTransit: number; eta: string }; po?: { quantity: number; expectedAt: string } },
  o: Partial<PromiseSource> = {},
): PromiseSource => {
  const breakdown = atpBreakdown({ available, reserved: 0, safetyStock: 0, lifecycle: "active" });
  const tp = timePhasedAtp(
    [
      {
        position,
        atp: breakdown,
        inbound: arrivals.transfer
          ? [
              {
                transferOrder: "TO-1",
                shipped: arrivals.transfer.inTransit,
                received: 0,
                ...arrivals.transfer,
              },
            ]
          : [],
        expectedReceipts: arrivals.po ? [{ po: "PO-1", ...arrivals.po }] : [],
      },
    ],
    [],
    NOW,
  );
  return { position, breakdown, days: tp.days, ...o };
};

describe("promise dates: the earliest day a channel can be promised a quantity, and from where", () => {
  it("today, from the location with most to sell, when stock is on hand", () => {
    const a = promiseDate({ sku: "SKU-1", quantity: 5, channel: "web" }, [
      source(DC1, 6, {}),
      source(DC2, 9, {}),
    ]);
    expect(a).toMatchObject({
      kind: "promised",
      date: "2026-05-08",
      lines: [{ position: DC2, quantity: 5 }],
    });
  });

  it("on the day an inbound transfer arrives (its ETA), or an open PO (its date)", () => {
    const byTransfer = promiseDate({ sku: "SKU-1", quantity: 12, channel: "web" }, [
      source(DC1, 8, { transfer: { inTransit: 4, eta: "2026-05-12T10:00:00Z" } }),
    ]);
    expect(byTransfer).toMatchObject({
      kind: "promised",
      date: "2026-05-12",
      lines: [{ position: DC1, quantity: 12 }],
    });
    const byPo = promiseDate({ sku: "SKU-1", quantity: 12, channel: "web" }, [
      source(DC1, 8, { po: { quantity: 10, expectedAt: "2026-05-15T00:00:00Z" } }),
    ]);
    expect(byPo).toMatchObject({ kind: "promised", date: "2026-05-15" });
  });

  it("partial when asked: 8 now, 4 on the 12th", () => {
    const a = promiseDate({ sku: "SKU-1", quantity: 12, channel: "web", partial: true }, [
      source(DC1, 8, { transfer: { inTransit: 4, eta: "2026-05-12T10:00:00Z" } }),
    ]);
    expect(a.kind).toBe("promised");
    expect(a.lines.map((l) => [l.date, l.position.location, l.quantity])).toEqual([
      ["2026-05-08", "DC1", 8],
      ["2026-05-12", "DC1", 4],
    ]);
  });

  it("partial lines over locations, without taking a location's units twice", () => {
    const a = promiseDate({ sku: "SKU-1", quantity: 10, channel: "web", partial: true }, [
      source(DC1, 3, {}),
      source(DC2, 4, { po: { quantity: 5, expectedAt: "2026-05-10T00:00:00Z" } }),
    ]);
    expect(a.lines.map((l) => [l.date, l.position.location, l.quantity])).toEqual([
      ["2026-05-08", "DC2", 4],
      ["2026-05-08", "DC1", 3],
      ["2026-05-10", "DC2", 3],
    ]);
  });

  it("the channel's rules apply: an excluded location is never promised from, a quota caps each day", () => {
    const rules: ChannelRules = {
      exclusions: [{ id: "X", channel: "amazon", location: "DC2" }],
      quotas: [{ id: "Q", channel: "amazon", quantity: 5, period: "day" }],
    };
    const usage = recordUse({}, "amazon", "2026-05-08", 5);
    const sources = [source(DC1, 20, {}, { rules, usage }), source(DC2, 50, {}, { rules, usage })];
    const a = promiseDate({ sku: "SKU-1", quantity: 5, channel: "amazon" }, sources);
    // Today's quota is used up; tomorrow is a new day. DC2 never sells to amazon.
    expect(a).toMatchObject({ kind: "promised", date: "2026-05-09", lines: [{ position: DC1 }] });
    expect(a.lines[0]?.availability.explanation.map((s) => s.rule)).toEqual(["atp", "quota:Q"]);
    // Another channel is promised today, from DC2.
    expect(promiseDate({ sku: "SKU-1", quantity: 30, channel: "web" }, sources)).toMatchObject({
      date: "2026-05-08",
      lines: [{ position: DC2 }],
    });
  });

  it("only from the delivery region when one is given", () => {
    const a = promiseDate({ sku: "SKU-1", quantity: 5, channel: "web", region: "eu" }, [
      source(US, 100, {}),
      source(DC1, 2, { transfer: { inTransit: 3, eta: "2026-05-11T00:00:00Z" } }),
    ]);
    expect(a).toMatchObject({ kind: "promised", date: "2026-05-11", lines: [{ position: DC1 }] });
  });

  it("short when the horizon does not cover it: what can be promised, and how much is missing", () => {
    expect(promiseDate({ sku: "SKU-1", quantity: 50, channel: "web" }, [source(DC1, 8, {})])).toMatchObject({
      kind: "short",
      promised: 0,
      short: 50,
      lines: [],
    });
    expect(
      promiseDate({ sku: "SKU-1", quantity: 50, channel: "web", partial: true }, [source(DC1, 8, {})]),
    ).toMatchObject({ kind: "short", promised: 8, short: 42 });
  });

  it("partial: a day quota renews each day, while stock promised on earlier days stays taken", () => {
    const rules: ChannelRules = { quotas: [{ id: "Q", channel: "amazon", quantity: 20, period: "day" }] };
    // 30 on hand, 25 asked: 20 today (the quota), 5 tomorrow (a new day's quota; 10 of stock left).
    const a = promiseDate({ sku: "SKU-1", quantity: 25, channel: "amazon", partial: true }, [
      source(DC1, 30, {}, { rules }),
    ]);
    expect(a.kind).toBe("promised");
    expect(a.lines.map((l) => [l.date, l.quantity])).toEqual([
      ["2026-05-08", 20],
      ["2026-05-09", 5],
    ]);
    // Tomorrow's figure counts today's line as reserved: ATP 30 − 20 = 10.
    expect(a.lines[1]?.availability.explanation[0]).toMatchObject({ rule: "atp", after: 10 });
    // 35 asked: 20 today, 10 tomorrow (the stock, not the quota, ends it), 5 short.
    const b = promiseDate({ sku: "SKU-1", quantity: 35, channel: "amazon", partial: true }, [
      source(DC1, 30, {}, { rules }),
    ]);
    expect(b).toMatchObject({ kind: "short", promised: 30, short: 5 });
  });

  it("partial: an untilRevoked quota does not renew", () => {
    const rules: ChannelRules = {
      quotas: [{ id: "Q", channel: "amazon", quantity: 20, period: "untilRevoked" }],
    };
    const a = promiseDate({ sku: "SKU-1", quantity: 25, channel: "amazon", partial: true }, [
      source(DC1, 30, {}, { rules }),
    ]);
    expect(a).toMatchObject({ kind: "short", promised: 20, short: 5 });
  });
});
