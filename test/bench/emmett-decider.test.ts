/**
 * The peer's decider (bench/emmett-decider.ts): the same decisions as the node for the bench
 * workload, so the comparison handles the same commands. given(events).when(command).then(events).
 */
import { describe, expect, it } from "vitest";
import {
  decide,
  evolve,
  initialState,
  PEER_KEYS_REMEMBERED,
  type PeerCommand,
  type PeerEvent,
} from "../../bench/emmett-decider.ts";
import { Workload } from "../../bench/workload.ts";

const td = new TextDecoder();
const given = (events: PeerEvent[]) => events.reduce(evolve, initialState());
const base = {
  correlationId: "c-1",
  businessTime: "2025-03-03T08:00:00.000Z",
  position: { region: "eu", location: "DC-NORTH", sku: "SKU-1" },
  source: { system: "wms-eu" },
};
const receipt = (key: string, qty: number): PeerCommand => ({
  ...base,
  kind: "receiveGoods",
  idempotencyKey: key,
  quantity: { value: qty, uom: "EA" },
});
const reserve = (key: string, id: string, qty: number): PeerCommand => ({
  ...base,
  kind: "placeReservation",
  idempotencyKey: key,
  reservationId: id,
  quantity: { value: qty, uom: "EA" },
});
const pick = (key: string, id: string | undefined, qty: number): PeerCommand => ({
  ...base,
  kind: "confirmPick",
  idempotencyKey: key,
  ...(id ? { reservationId: id } : {}),
  quantity: { value: qty, uom: "EA" },
});
const run = (cmds: PeerCommand[]) =>
  cmds.reduce(
    (acc, c) => {
      const events = decide(c, acc.state);
      return { state: events.reduce(evolve, acc.state), events: [...acc.events, ...events] };
    },
    { state: initialState(), events: [] as PeerEvent[] },
  );

describe("peer decider", () => {
  it("a reservation within available stock is placed; beyond it, rejected with what was available", () => {
    const s = given(decide(receipt("k1", 5), initialState()));
    expect(decide(reserve("k2", "R1", 5), s).map((e) => e.type)).toEqual(["ReservationPlaced"]);
    const after = given([...decide(receipt("k1", 5), initialState()), ...decide(reserve("k2", "R1", 5), s)]);
    const rejected = decide(reserve("k3", "R2", 1), after);
    expect(rejected).toMatchObject([{ type: "ReservationRejected", data: { available: 0 } }]);
  });

  it("a pick is a fact: recorded even without stock, and it consumes its reservation", () => {
    expect(decide(pick("k1", undefined, 3), initialState())).toMatchObject([
      { type: "Picked", data: { quantity: 3, fromReservation: 0 } },
    ]);
    const { state } = run([receipt("k1", 10), reserve("k2", "R1", 4), pick("k3", "R1", 4)]);
    expect(state.onHand).toBe(6);
    expect(state.reserved).toBe(0);
    expect(state.reservations.size).toBe(0);
  });

  it("a repeated idempotency key decides nothing; only the most recent keys are remembered", () => {
    const { state } = run([receipt("k1", 10)]);
    expect(decide(receipt("k1", 10), state)).toEqual([]);
    const many = run(Array.from({ length: PEER_KEYS_REMEMBERED + 1 }, (_, i) => receipt(`m${i}`, 1)));
    expect(many.state.keys.size).toBe(PEER_KEYS_REMEMBERED);
    expect(decide(receipt("m0", 1), many.state)).toHaveLength(1);
  });

  it("the bench workload's commands are all accepted, one event each, in the node's order", () => {
    const w = new Workload("eu", 6, "t");
    const cmds = w.take(60).map((c) => JSON.parse(td.decode(c.data)) as PeerCommand);
    const byPosition = new Map<string, ReturnType<typeof initialState>>();
    const types: string[] = [];
    for (const c of cmds) {
      const key = `${c.position.location}|${c.position.sku}`;
      const s = byPosition.get(key) ?? initialState();
      const events = decide(c, s);
      expect(events).toHaveLength(1);
      types.push(events[0]!.type);
      byPosition.set(key, events.reduce(evolve, s));
    }
    expect(types).not.toContain("ReservationRejected");
    expect(new Set(types)).toEqual(new Set(["GoodsReceived", "ReservationPlaced", "Picked"]));
  });
});
