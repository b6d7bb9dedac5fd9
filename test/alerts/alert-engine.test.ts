/**
 * The alert engine and a receiver's outbox, pure: grouping within the window (one notification with a
 * count), dedupe of what is seen again, updates at most once per window, resolution only of what was
 * notified, absence counting only for the kinds a source watches; severity filter and rate limit per
 * receiver. Properties: at most one open alert per group key, a resolution only after an open, both
 * from the engine and at every receiver.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type EngineState, emptyEngineState, observe, tick } from "../../services/alerts/alert-engine.ts";
import {
  ALERT_KINDS,
  type AlertKind,
  type AlertNotification,
  RUNBOOK,
  type Severity,
  type Signal,
} from "../../services/alerts/alert-model.ts";
import { drain, emptyOutbox, enqueue, type ReceiverPolicy } from "../../services/alerts/receiver-outbox.ts";

const W = 1_000;
const opts = { groupWindowMs: W };

const sig = (kind: AlertKind, object: string, count = 1, severity: Severity = "warning"): Signal => ({
  kind,
  object,
  severity,
  title: `${kind} ${object}`,
  summary: "s",
  action: "a",
  runbook: RUNBOOK.commandDidNotTakeEffect,
  context: { sku: object },
  count,
});

const run = (steps: { kinds: AlertKind[]; signals: Signal[]; at: number }[]) => {
  let state: EngineState = emptyEngineState();
  const out: AlertNotification[] = [];
  for (const s of steps) {
    const r = observe(state, s, opts);
    state = r.state;
    out.push(...r.notifications);
  }
  return { state, out };
};

describe("alert engine", () => {
  it("folds what arrives within the window into one notification with a count", () => {
    const dl = (n: number) => sig("commandDeadLetter", "eu/rejected/DC1/SKU-1", n);
    const { out } = run([
      { kinds: ["commandDeadLetter"], signals: [dl(1)], at: 0 },
      { kinds: ["commandDeadLetter"], signals: [dl(2)], at: 300 },
      { kinds: ["commandDeadLetter"], signals: [dl(3)], at: 600 },
      { kinds: ["commandDeadLetter"], signals: [dl(3)], at: 1_000 },
      { kinds: ["commandDeadLetter"], signals: [dl(3)], at: 5_000 },
    ]);
    expect(out).toHaveLength(1);
    expect(out[0]).toMatchObject({ status: "firing", update: false, signal: { count: 3 }, firstSeenAt: 0 });
  });

  it("adds the counts of signals of one group within a snapshot", () => {
    const { out } = run([
      {
        kinds: ["postingDeadLetter"],
        signals: [sig("postingDeadLetter", "sap/DC1/A", 2), sig("postingDeadLetter", "sap/DC1/A", 3)],
        at: W,
      },
    ]);
    expect(out).toHaveLength(0);
    const after = tick(
      run([{ kinds: ["postingDeadLetter"], signals: [sig("postingDeadLetter", "x", 2)], at: 0 }]).state,
      W,
      opts,
    );
    expect(after.notifications[0]?.signal.count).toBe(2);
  });

  it("notifies a changed count as an update at most once per window, and resolves when cleared", () => {
    const k: AlertKind[] = ["drift"];
    const { out } = run([
      { kinds: k, signals: [sig("drift", "sap/DC1/A", 1)], at: 0 },
      { kinds: k, signals: [sig("drift", "sap/DC1/A", 1)], at: W },
      { kinds: k, signals: [sig("drift", "sap/DC1/A", 2)], at: W + 100 },
      { kinds: k, signals: [sig("drift", "sap/DC1/A", 4)], at: W + 500 },
      { kinds: k, signals: [sig("drift", "sap/DC1/A", 4)], at: 2 * W },
      { kinds: k, signals: [], at: 3 * W },
    ]);
    expect(out.map((n) => [n.status, n.update, n.signal.count, n.at])).toEqual([
      ["firing", false, 1, W],
      ["firing", true, 4, 2 * W],
      ["resolved", false, 4, 3 * W],
    ]);
  });

  it("says nothing of a condition that cleared within its window", () => {
    const { out, state } = run([
      { kinds: ["staleRegion"], signals: [sig("staleRegion", "eu")], at: 0 },
      { kinds: ["staleRegion"], signals: [], at: 500 },
      { kinds: ["staleRegion"], signals: [], at: 5_000 },
    ]);
    expect(out).toEqual([]);
    expect(state.alerts.size).toBe(0);
  });

  it("clears only the kinds the observing source watches", () => {
    const { out } = run([
      {
        kinds: ["staleRegion", "breakerOpen"],
        signals: [sig("staleRegion", "eu"), sig("breakerOpen", "sap")],
        at: 0,
      },
      { kinds: ["breakerOpen"], signals: [sig("breakerOpen", "sap")], at: W },
      { kinds: ["breakerOpen"], signals: [], at: 2 * W },
    ]);
    expect(out.map((n) => `${n.status} ${n.groupKey}`)).toEqual([
      "firing staleRegion:eu",
      "firing breakerOpen:sap",
      "resolved breakerOpen:sap",
    ]);
  });
});

describe("receiver outbox", () => {
  const n = (
    id: string,
    status: "firing" | "resolved",
    severity: Severity = "warning",
  ): AlertNotification => ({
    id,
    groupKey: id.split("@")[0]!,
    status,
    update: false,
    signal: sig("drift", id, 1, severity),
    firstSeenAt: 0,
    lastSeenAt: 0,
    at: 0,
  });
  const policy: ReceiverPolicy = { rateLimit: { max: 2, windowMs: 1_000 } };

  it("sends at most max per window; what waits is folded per alert, and an unsent opening with its resolution is dropped", () => {
    let o = emptyOutbox();
    for (const x of [n("a@0", "firing"), n("b@0", "firing"), n("c@0", "firing"), n("d@0", "firing")])
      o = enqueue(o, x, policy);
    let d = drain(o, 0, policy);
    expect(d.send.map((x) => x.id)).toEqual(["a@0", "b@0"]);
    o = enqueue(d.state, n("c@0", "resolved"), policy); // c was never sent: both gone
    o = enqueue(o, n("a@0", "resolved"), policy);
    d = drain(o, 500, policy);
    expect(d.send).toEqual([]);
    d = drain(d.state, 1_000, policy);
    expect(d.send.map((x) => `${x.id} ${x.status}`)).toEqual(["d@0 firing", "a@0 resolved"]);
  });

  it("filters by severity; a resolution reaches only a receiver told of the opening", () => {
    const p: ReceiverPolicy = { ...policy, minSeverity: "critical" };
    let o = enqueue(emptyOutbox(), n("w@0", "firing", "warning"), p);
    o = enqueue(o, n("c@0", "firing", "critical"), p);
    let d = drain(o, 0, p);
    expect(d.send.map((x) => x.id)).toEqual(["c@0"]);
    o = enqueue(enqueue(d.state, n("w@0", "resolved"), p), n("c@0", "resolved"), p);
    d = drain(o, 2_000, p);
    expect(d.send.map((x) => `${x.id} ${x.status}`)).toEqual(["c@0 resolved"]);
  });
});

/** Per group key: at most one open id; an update and a resolution only of the open one. */
const checkStream = (ns: readonly AlertNotification[]) => {
  const open = new Map<string, string>();
  for (const x of ns) {
    const cur = open.get(x.groupKey);
    if (x.status === "firing" && !x.update) {
      expect(cur, `second open alert for ${x.groupKey}`).toBeUndefined();
      open.set(x.groupKey, x.id);
    } else {
      expect(cur, `${x.status}${x.update ? " update" : ""} of ${x.id} without an open`).toBe(x.id);
      if (x.status === "resolved") open.delete(x.groupKey);
    }
  }
};

describe("properties", () => {
  const kinds = fc.constantFrom<AlertKind>(...ALERT_KINDS);
  const signal = fc
    .record({
      kind: kinds,
      object: fc.constantFrom("a", "b", "c"),
      count: fc.integer({ min: 1, max: 4 }),
      severity: fc.constantFrom<Severity>("info", "warning", "critical"),
    })
    .map((s) => sig(s.kind, s.object, s.count, s.severity));
  const step = fc.record({
    dt: fc.integer({ min: 0, max: 2 * W }),
    kinds: fc.subarray([...ALERT_KINDS], { minLength: 1 }),
    signals: fc.array(signal, { maxLength: 5 }),
    tickOnly: fc.boolean(),
  });

  it("each condition has at most one open alert per group key and a resolution only after an open, at the engine and at every receiver", () => {
    fc.assert(
      fc.property(
        fc.array(step, { maxLength: 40 }),
        fc.integer({ min: 1, max: 3 }),
        fc.constantFrom<Severity | undefined>(undefined, "warning", "critical"),
        (steps, max, minSeverity) => {
          const p: ReceiverPolicy = {
            rateLimit: { max, windowMs: W },
            ...(minSeverity ? { minSeverity } : {}),
          };
          let state = emptyEngineState();
          let outbox = emptyOutbox();
          let at = 0;
          const emitted: AlertNotification[] = [];
          const sent: AlertNotification[] = [];
          for (const s of steps) {
            at += s.dt;
            const signals = s.signals.filter((x) => s.kinds.includes(x.kind));
            const r = s.tickOnly
              ? tick(state, at, opts)
              : observe(state, { kinds: s.kinds, signals, at }, opts);
            state = r.state;
            emitted.push(...r.notifications);
            for (const x of r.notifications) outbox = enqueue(outbox, x, p);
            const d = drain(outbox, at, p);
            outbox = d.state;
            sent.push(...d.send);
            // engine: one alert per group key, and it is the one notified open
            expect(new Set([...state.alerts.keys()]).size).toBe(state.alerts.size);
          }
          checkStream(emitted);
          checkStream(sent);
          if (minSeverity)
            for (const x of sent.filter((y) => y.status === "firing" && !y.update))
              expect(["info", "warning", "critical"].indexOf(x.signal.severity)).toBeGreaterThanOrEqual(
                ["info", "warning", "critical"].indexOf(minSeverity),
              );
        },
      ),
      { numRuns: 300 },
    );
  });
});
