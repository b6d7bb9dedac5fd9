/**
 * Which partitions a node of a multi-node region should take or give back (docs/scale-out.md): a
 * pure function of what the node sees in the lease bucket, so every node runs the same rule and the
 * region converges without a coordinator. The bucket's revision checks make each take atomic; this
 * rule only decides what to try.
 *
 * - Fair share: `ceil(partitions / live nodes)`. A node takes free or expired partitions until it has
 *   its share, its preferred partitions first, then the others in an order rotated by its rank among
 *   the live nodes (so two nodes starting together mostly try different partitions).
 * - A node above its share gives back the excess (non-preferred first, the last in order first).
 * - A node at or above `floor(partitions / nodes)` leaves free partitions to a live node below it.
 * - When every partition is owned but a live node has fewer than `floor(partitions / nodes)` (a node
 *   joined and the shares are already at their ceiling), the node with the most partitions (ties: the
 *   lowest id) gives back one per round.
 */

export interface LeaseSeen {
  readonly owner: string;
  /** Renewed within its TTL, as far as this node observed. */
  readonly live: boolean;
}

export interface AssignmentInput {
  readonly me: string;
  /** Every partition of the region. */
  readonly partitions: readonly string[];
  /** The current lease of a partition; absent: free (never taken, or released). */
  readonly leases: ReadonlyMap<string, LeaseSeen>;
  /** Nodes with a live heartbeat, including `me`. */
  readonly liveNodes: readonly string[];
  /** Partitions this node takes first and gives back last. */
  readonly preferred?: readonly string[];
}

export interface AssignmentPlan {
  readonly acquire: readonly string[];
  readonly release: readonly string[];
}

export const fairShare = (partitions: number, nodes: number): number =>
  Math.ceil(partitions / Math.max(1, nodes));

const rotate = <T>(xs: readonly T[], by: number): T[] =>
  xs.length === 0 ? [] : [...xs.slice(by % xs.length), ...xs.slice(0, by % xs.length)];

export const planAssignment = (i: AssignmentInput): AssignmentPlan => {
  const nodes = [...new Set([...i.liveNodes, i.me])].sort();
  const partitions = [...new Set(i.partitions)].sort();
  const preferred = new Set(i.preferred ?? []);
  const share = fairShare(partitions.length, nodes.length);
  const floorShare = Math.floor(partitions.length / nodes.length);
  const rank = nodes.indexOf(i.me);
  const order = [
    ...partitions.filter((p) => preferred.has(p)),
    ...rotate(
      partitions.filter((p) => !preferred.has(p)),
      rank * share,
    ),
  ];

  const mine = order.filter((p) => {
    const l = i.leases.get(p);
    return l?.live && l.owner === i.me;
  });
  const takeable = order.filter((p) => {
    const l = i.leases.get(p);
    return l === undefined || !l.live;
  });

  const counts = new Map(nodes.map((n) => [n, 0]));
  for (const l of i.leases.values())
    if (l.live && counts.has(l.owner)) counts.set(l.owner, counts.get(l.owner)! + 1);
  const short = [...counts.values()].some((c) => c < floorShare);

  if (mine.length > share) return { acquire: [], release: mine.slice(share).reverse() };

  // A node already at its floor leaves free partitions to a node below it (one that just joined).
  const room = short && mine.length >= floorShare ? 0 : share - mine.length;
  const acquire = takeable.slice(0, Math.max(0, room));
  if (acquire.length > 0 || takeable.length > 0) return { acquire, release: [] };

  // Every partition is owned by a live node, and one lacks its floor share: the richest gives one back.
  if (!short || mine.length <= floorShare) return { acquire: [], release: [] };
  const max = Math.max(...counts.values());
  const richest = nodes.find((n) => counts.get(n) === max);
  if (richest !== i.me) return { acquire: [], release: [] };
  const give = [...mine].reverse().find((p) => !preferred.has(p)) ?? mine[mine.length - 1]!;
  return { acquire: [], release: [give] };
};
