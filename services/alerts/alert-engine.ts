/**
 * The alert engine, pure: snapshots of conditions in, notifications out. No clock, no I/O.
 *
 * - Grouped: a group key per condition and business object (`groupKeyOf`); a group has at most one
 *   open alert.
 * - Deduplicated: a condition seen again changes nothing but its latest figures. A new group waits
 *   `groupWindowMs` before its first notification, so what arrives within that window (more dead
 *   letters of the same SKU and location) is one notification with a count; afterwards a changed
 *   count or severity is notified at most once per window (an update), an unchanged one never again.
 * - Resolved: a group that the source's next snapshot no longer holds is resolved, with a
 *   notification only if it was notified open (a condition that cleared within its window is silent).
 *
 * An observation covers the kinds its source watches: absence means "cleared" only for those, so a
 * source that failed to answer (no observation) resolves nothing.
 */
import { type AlertKind, type AlertNotification, groupKeyOf, type Signal } from "./alert-model.ts";

export interface AlertState {
  readonly id: string;
  readonly groupKey: string;
  readonly signal: Signal;
  readonly firstSeenAt: number;
  readonly lastSeenAt: number;
  /** When it was last notified (firing); absent while it waits for its window. */
  readonly notifiedAt?: number;
  readonly notified?: Pick<Signal, "count" | "severity">;
}

export interface EngineState {
  readonly alerts: ReadonlyMap<string, AlertState>;
}

export interface Observation {
  /** The kinds the source watches: open alerts of these kinds absent from `signals` are cleared. */
  readonly kinds: readonly AlertKind[];
  readonly signals: readonly Signal[];
  readonly at: number;
}

export interface EngineOptions {
  readonly groupWindowMs: number;
}

export interface Step {
  readonly state: EngineState;
  readonly notifications: readonly AlertNotification[];
}

export const emptyEngineState = (): EngineState => ({ alerts: new Map() });

/** Signals of one snapshot with the same group key are one: counts added, the latest figures kept. */
const merged = (signals: readonly Signal[]): Map<string, Signal> => {
  const out = new Map<string, Signal>();
  for (const s of signals) {
    const key = groupKeyOf(s);
    const before = out.get(key);
    out.set(key, before ? { ...s, count: before.count + s.count } : s);
  }
  return out;
};

const firing = (a: AlertState, at: number, update: boolean): AlertNotification => ({
  id: a.id,
  groupKey: a.groupKey,
  status: "firing",
  update,
  signal: a.signal,
  firstSeenAt: a.firstSeenAt,
  lastSeenAt: a.lastSeenAt,
  at,
});

/** Notifications whose window has come: first notifications and updates. */
export const tick = (state: EngineState, at: number, opts: EngineOptions): Step => {
  const alerts = new Map(state.alerts);
  const notifications: AlertNotification[] = [];
  for (const [key, a] of alerts) {
    if (a.notifiedAt === undefined) {
      if (at - a.firstSeenAt < opts.groupWindowMs) continue;
    } else {
      const changed = a.notified?.count !== a.signal.count || a.notified?.severity !== a.signal.severity;
      if (!changed || at - a.notifiedAt < opts.groupWindowMs) continue;
    }
    const next: AlertState = {
      ...a,
      notifiedAt: at,
      notified: { count: a.signal.count, severity: a.signal.severity },
    };
    alerts.set(key, next);
    notifications.push(firing(next, at, a.notifiedAt !== undefined));
  }
  return { state: { alerts }, notifications };
};

/** Applies a source's snapshot, then `tick`. */
export const observe = (state: EngineState, obs: Observation, opts: EngineOptions): Step => {
  const alerts = new Map(state.alerts);
  const notifications: AlertNotification[] = [];
  const now = merged(obs.signals);
  const watched = new Set<string>(obs.kinds);
  for (const [key, signal] of now) {
    const a = alerts.get(key);
    alerts.set(
      key,
      a
        ? { ...a, signal, lastSeenAt: obs.at }
        : { id: `${key}@${obs.at}`, groupKey: key, signal, firstSeenAt: obs.at, lastSeenAt: obs.at },
    );
  }
  for (const [key, a] of state.alerts) {
    if (!watched.has(a.signal.kind) || now.has(key)) continue;
    alerts.delete(key);
    if (a.notifiedAt !== undefined)
      notifications.push({ ...firing(a, obs.at, false), status: "resolved", lastSeenAt: a.lastSeenAt });
  }
  const after = tick({ alerts }, obs.at, opts);
  return { state: after.state, notifications: [...notifications, ...after.notifications] };
};

/** Alerts notified open now. */
export const openAlerts = (state: EngineState): AlertState[] =>
  [...state.alerts.values()].filter((a) => a.notifiedAt !== undefined);
