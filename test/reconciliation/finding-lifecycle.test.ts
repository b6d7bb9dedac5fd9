/**
 * Issue 10: every run added its findings again (106 "open" after 10 minutes, 87 of them in flight
 * long cleared). A finding now lives across runs: the same drift is one finding, an in-flight
 * difference clears when its postings arrive, a drift that goes away is resolved, and a dismissal
 * covers the figures it was given for.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type LifecycleStep,
  planFindingLifecycle,
  TRACKED_STATUSES,
  type TrackedFinding,
} from "../../projections/finding-lifecycle.ts";
import {
  type PositionReconciliation,
  type ReconEvent,
  type ReconEventState,
  reconcilePosition,
} from "../../projections/reconciliation.ts";

const at = (minute: number) => `2026-01-05T10:${String(minute).padStart(2, "0")}:00.000Z`;

const ev = (sku: string, revision: number, effect: number, state: ReconEventState): ReconEvent => ({
  key: `eu:position-DC1~${sku}:${revision}`,
  eventId: `${sku}-${revision}`,
  type: "GoodsReceived",
  revision,
  effect,
  state,
  businessTime: at(0),
});

/** A position as a run reconciles it: the target holds `actual`, the events are in `events`. */
const position = (sku: string, actual: number, events: readonly ReconEvent[] = []): PositionReconciliation =>
  reconcilePosition({
    target: "sap",
    position: { region: "eu", location: "DC1", sku },
    actual,
    canonical: actual,
    events,
  });

const kept = (
  f: Partial<TrackedFinding> & Pick<TrackedFinding, "id" | "class" | "status">,
): TrackedFinding => ({
  target: "sap",
  region: "eu",
  location: "DC1",
  sku: "S1",
  quantity: 5,
  eventKeys: [],
  lastSeenAt: at(0),
  closedAt: null,
  ...f,
});

const byKind = (steps: readonly LifecycleStep[]) => ({
  new: steps.filter((s) => s.kind === "new"),
  seen: steps.filter((s) => s.kind === "seen"),
  close: steps.filter((s) => s.kind === "close"),
});

describe("the lifecycle of a finding across runs", () => {
  it("a drift seen for the first time is a new open finding; an in-flight difference is a new waiting one", () => {
    const steps = planFindingLifecycle({
      checked: [position("S1", 25), position("S2", 0, [ev("S2", 0, 6, "inFlight")])],
      tracked: [],
    });
    expect(steps).toMatchObject([
      { kind: "new", status: "open", sighting: { finding: { class: "unexplained", quantity: 25 } } },
      { kind: "new", status: "waiting", sighting: { finding: { class: "inFlight", quantity: 6 } } },
    ]);
  });

  it("the same drift seen again is the same finding with the latest figures, not a new one", () => {
    const steps = planFindingLifecycle({
      checked: [position("S1", 7)],
      tracked: [kept({ id: "f1", class: "unexplained", status: "open", quantity: 5 })],
    });
    expect(steps).toEqual([
      expect.objectContaining({ kind: "seen", id: "f1", status: "open", sighting: expect.anything() }),
    ]);
    expect(byKind(steps).seen[0]).toMatchObject({ sighting: { finding: { quantity: 7 }, actual: 7 } });
  });

  it("a drift no longer seen by a run that checked its position is resolved; unchecked positions are left alone", () => {
    const steps = planFindingLifecycle({
      checked: [position("S1", 0)],
      tracked: [
        kept({ id: "f1", class: "unexplained", status: "open" }),
        kept({ id: "f2", class: "unexplained", status: "open", sku: "NOT-CHECKED" }),
      ],
    });
    expect(steps).toEqual([
      { kind: "close", id: "f1", status: "resolved", reason: expect.stringMatching(/no longer seen/) },
    ]);
  });

  it("an in-flight difference clears when its postings are acknowledged", () => {
    const steps = planFindingLifecycle({
      checked: [position("S2", 6, [ev("S2", 0, 6, "acked")])],
      tracked: [
        kept({
          id: "f1",
          sku: "S2",
          class: "inFlight",
          status: "waiting",
          eventKeys: [ev("S2", 0, 6, "acked").key],
        }),
      ],
    });
    expect(steps).toEqual([
      { kind: "close", id: "f1", status: "cleared", reason: expect.stringMatching(/acknowledged/) },
    ]);
  });

  it("an in-flight difference stays one finding while one of its events is still outstanding", () => {
    const steps = planFindingLifecycle({
      checked: [position("S2", 0, [ev("S2", 0, 6, "inFlight"), ev("S2", 1, 2, "inFlight")])],
      tracked: [
        kept({
          id: "f1",
          sku: "S2",
          class: "inFlight",
          status: "waiting",
          eventKeys: [ev("S2", 0, 6, "inFlight").key],
        }),
      ],
    });
    expect(steps).toMatchObject([
      { kind: "seen", id: "f1", status: "waiting", sighting: { finding: { quantity: 8 } } },
    ]);
  });

  it("newer events in flight after the old ones arrived are a new in-flight finding; the old one is cleared", () => {
    const steps = planFindingLifecycle({
      checked: [position("S2", 6, [ev("S2", 0, 6, "acked"), ev("S2", 1, 2, "inFlight")])],
      tracked: [
        kept({
          id: "f1",
          sku: "S2",
          class: "inFlight",
          status: "waiting",
          eventKeys: [ev("S2", 0, 6, "acked").key],
        }),
      ],
    });
    const k = byKind(steps);
    expect(k.new).toMatchObject([{ status: "waiting", sighting: { finding: { quantity: 2 } } }]);
    expect(k.close).toMatchObject([{ id: "f1", status: "cleared" }]);
  });

  it("in-flight events given up on close the waiting finding, naming the missing posting", () => {
    const steps = planFindingLifecycle({
      checked: [position("S2", 0, [ev("S2", 0, 6, "missing")])],
      tracked: [
        kept({
          id: "f1",
          sku: "S2",
          class: "inFlight",
          status: "waiting",
          eventKeys: [ev("S2", 0, 6, "missing").key],
        }),
      ],
    });
    const k = byKind(steps);
    expect(k.new).toMatchObject([{ status: "open", sighting: { finding: { class: "missingPosting" } } }]);
    expect(k.close).toMatchObject([
      { id: "f1", status: "cleared", reason: expect.stringMatching(/missing-posting/) },
    ]);
  });

  it("a dismissed finding covers the same figures; other figures open a new finding that names it", () => {
    const dismissed = kept({ id: "f1", class: "unexplained", status: "dismissed", quantity: 5 });
    expect(planFindingLifecycle({ checked: [position("S1", 5)], tracked: [dismissed] })).toMatchObject([
      { kind: "seen", id: "f1", status: "dismissed", keepFigures: true },
    ]);
    const changed = planFindingLifecycle({ checked: [position("S1", 9)], tracked: [dismissed] });
    expect(changed).toMatchObject([
      { kind: "new", status: "open", previousId: "f1", sighting: { finding: { quantity: 9 } } },
      { kind: "close", id: "f1", status: "dismissed", reason: expect.stringMatching(/other figures/) },
    ]);
    expect(planFindingLifecycle({ checked: [position("S1", 0)], tracked: [dismissed] })).toMatchObject([
      { kind: "close", id: "f1", status: "dismissed" },
    ]);
  });

  it("a first approval waits while the figures stay; other figures void it and the finding is open again", () => {
    const waiting = kept({ id: "f1", class: "unexplained", status: "awaitingSecondApproval", quantity: 500 });
    expect(planFindingLifecycle({ checked: [position("S1", 500)], tracked: [waiting] })).toMatchObject([
      { kind: "seen", id: "f1", status: "awaitingSecondApproval" },
    ]);
    const changed = planFindingLifecycle({ checked: [position("S1", 700)], tracked: [waiting] });
    expect(changed).toMatchObject([{ kind: "seen", id: "f1", status: "open", voidApprovals: true }]);
  });

  it("approved and closed findings are history: the same drift later is a new finding", () => {
    const steps = planFindingLifecycle({
      checked: [position("S1", 5)],
      tracked: [
        kept({ id: "f1", class: "unexplained", status: "approved" }),
        kept({ id: "f2", class: "unexplained", status: "resolved" }),
        kept({ id: "f3", class: "unexplained", status: "dismissed", closedAt: at(1) }),
      ],
    });
    expect(steps).toMatchObject([{ kind: "new", status: "open" }]);
  });

  it("duplicates left by older versions (one per run) fold into the newest", () => {
    const steps = planFindingLifecycle({
      checked: [position("S1", 5)],
      tracked: [
        kept({ id: "run1-001", class: "unexplained", status: "open", lastSeenAt: at(1) }),
        kept({ id: "run2-001", class: "unexplained", status: "open", lastSeenAt: at(2) }),
      ],
    });
    expect(steps).toMatchObject([
      { kind: "seen", id: "run2-001" },
      { kind: "close", id: "run1-001", status: "resolved", reason: "superseded by run2-001" },
    ]);
  });
});

/** Kept findings as the store keeps them: the steps of each run applied in order. */
const apply = (findings: Map<string, TrackedFinding>, steps: readonly LifecycleStep[], run: number) => {
  let n = 0;
  for (const s of steps) {
    if (s.kind === "new") {
      const id = `r${run}-${++n}`;
      findings.set(id, {
        id,
        target: s.sighting.target,
        ...s.sighting.position,
        class: s.sighting.finding.class,
        status: s.status,
        quantity: s.sighting.finding.quantity,
        eventKeys: s.sighting.finding.events.map((e) => e.key),
        lastSeenAt: at(run),
        closedAt: null,
      });
    } else if (s.kind === "seen") {
      const f = findings.get(s.id)!;
      findings.set(s.id, {
        ...f,
        status: s.status,
        lastSeenAt: at(run),
        ...(s.keepFigures
          ? {}
          : {
              quantity: s.sighting.finding.quantity,
              eventKeys: s.sighting.finding.events.map((e) => e.key),
            }),
      });
    } else findings.set(s.id, { ...findings.get(s.id)!, status: s.status, closedAt: at(run) });
  }
};

describe("over any sequence of runs", () => {
  const runArb = fc.array(
    fc.record({
      sku: fc.constantFrom("S1", "S2", "S3"),
      actual: fc.integer({ min: -3, max: 3 }),
      inFlight: fc.subarray([0, 1, 2]),
      dismissAll: fc.boolean(),
    }),
    { maxLength: 3 },
  );

  it("each drift has at most one live finding, and every live finding is what the last run that checked it saw", () => {
    fc.assert(
      fc.property(fc.array(runArb, { minLength: 1, maxLength: 12 }), (runs) => {
        const findings = new Map<string, TrackedFinding>();
        runs.forEach((checks, i) => {
          const checked = checks
            .filter((c, j) => checks.findIndex((d) => d.sku === c.sku) === j)
            .map((c) =>
              position(
                c.sku,
                c.actual,
                c.inFlight.map((r) => ev(c.sku, r, 1, "inFlight")),
              ),
            );
          apply(findings, planFindingLifecycle({ checked, tracked: [...findings.values()] }), i + 1);
          if (checks.some((c) => c.dismissAll))
            for (const f of findings.values())
              if (f.status === "open" || f.status === "waiting")
                findings.set(f.id, { ...f, status: "dismissed" });

          const live = [...findings.values()].filter(
            (f) => TRACKED_STATUSES.includes(f.status) && f.closedAt === null,
          );
          const keys = live.map((f) => `${f.sku}/${f.class}`);
          expect(new Set(keys).size).toBe(keys.length);
          for (const p of checked) {
            const liveHere = live.filter((f) => f.sku === p.position.sku);
            expect(liveHere.map((f) => f.class).sort()).toEqual(p.findings.map((f) => f.class).sort());
            for (const f of liveHere) expect(f.lastSeenAt).toBe(at(i + 1));
          }
        });
      }),
      { numRuns: 300 },
    );
  });
});
