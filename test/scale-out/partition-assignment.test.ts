/**
 * The assignment rule of a multi-node region (services/regional-node/partition-assignment.ts): every
 * node runs it on what it sees; taking a lease is atomic (the bucket's revision check), modelled here
 * by applying one node's plan at a time against the current leases.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type LeaseSeen, planAssignment } from "../../services/regional-node/partition-assignment.ts";

type Leases = Map<string, LeaseSeen>;

/** One round: every node in `order` plans on the current leases and applies its plan (atomic takes). */
const round = (partitions: string[], nodes: string[], leases: Leases, order: string[]): boolean => {
  let changed = false;
  for (const me of order) {
    const plan = planAssignment({ me, partitions, leases, liveNodes: nodes });
    for (const p of plan.release) {
      expect(leases.get(p)?.owner).toBe(me);
      leases.delete(p);
      changed = true;
    }
    for (const p of plan.acquire) {
      const l = leases.get(p);
      expect(l === undefined || !l.live).toBe(true);
      leases.set(p, { owner: me, live: true });
      changed = true;
    }
  }
  return changed;
};

const settle = (partitions: string[], nodes: string[], leases: Leases, orders: number[][]): number => {
  for (let r = 0; r < 100; r++) {
    const perm = orders[r % orders.length]!;
    const order = [...nodes].sort((a, b) => (perm[nodes.indexOf(a)] ?? 0) - (perm[nodes.indexOf(b)] ?? 0));
    if (!round(partitions, nodes, leases, order)) return r;
  }
  throw new Error("no convergence in 100 rounds");
};

const expectFair = (partitions: string[], nodes: string[], leases: Leases) => {
  for (const p of partitions) expect(nodes).toContain(leases.get(p)?.owner);
  const counts = nodes.map((n) => [...leases.values()].filter((l) => l.owner === n).length);
  const lo = Math.floor(partitions.length / nodes.length);
  const hi = Math.ceil(partitions.length / nodes.length);
  for (const c of counts) {
    expect(c).toBeGreaterThanOrEqual(lo);
    expect(c).toBeLessThanOrEqual(hi);
  }
};

const arbCase = fc.record({
  p: fc.integer({ min: 1, max: 12 }),
  n: fc.integer({ min: 1, max: 5 }),
  orders: fc.array(fc.array(fc.nat(100), { minLength: 6, maxLength: 6 }), { minLength: 1, maxLength: 5 }),
});

describe("partition assignment", () => {
  it("two nodes on four partitions take two each", () => {
    const partitions = ["DC1", "DC2", "DC3", "DC4"];
    const leases: Leases = new Map();
    settle(partitions, ["n1", "n2"], leases, [[0, 1]]);
    expectFair(partitions, ["n1", "n2"], leases);
  });

  it("property: from nothing, every partition ends with exactly one live node, shares within floor..ceil", () => {
    fc.assert(
      fc.property(arbCase, ({ p, n, orders }) => {
        const partitions = Array.from({ length: p }, (_, i) => `L${i}`);
        const nodes = Array.from({ length: n }, (_, i) => `n${i}`);
        const leases: Leases = new Map();
        settle(partitions, nodes, leases, orders);
        expectFair(partitions, nodes, leases);
      }),
    );
  });

  it("property: a node joining gets its share; a node dying has its partitions taken by the others", () => {
    fc.assert(
      fc.property(arbCase, fc.nat(), ({ p, n, orders }, victim) => {
        const partitions = Array.from({ length: p }, (_, i) => `L${i}`);
        const nodes = Array.from({ length: n }, (_, i) => `n${i}`);
        const leases: Leases = new Map();
        settle(partitions, nodes, leases, orders);
        const joined = [...nodes, "zz"];
        settle(partitions, joined, leases, orders);
        expectFair(partitions, joined, leases);
        if (joined.length < 2) return;
        const dead = joined[victim % joined.length]!;
        for (const [k, l] of leases) if (l.owner === dead) leases.set(k, { ...l, live: false });
        const alive = joined.filter((x) => x !== dead);
        settle(partitions, alive, leases, orders);
        expectFair(partitions, alive, leases);
      }),
    );
  });

  it("preferred partitions are taken first", () => {
    const plan = planAssignment({
      me: "n1",
      partitions: ["A", "B", "C", "D"],
      leases: new Map(),
      liveNodes: ["n1", "n2"],
      preferred: ["D"],
    });
    expect(plan.acquire[0]).toBe("D");
    expect(plan.acquire).toHaveLength(2);
  });

  it("an expired lease is takeable, a live one of another node is not", () => {
    const plan = planAssignment({
      me: "n1",
      partitions: ["A", "B"],
      leases: new Map([
        ["A", { owner: "n2", live: true }],
        ["B", { owner: "n3", live: false }],
      ]),
      liveNodes: ["n1"],
    });
    expect(plan.acquire).toEqual(["B"]);
  });
});
