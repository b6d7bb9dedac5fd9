/**
 * A position's history and anomalies: look up a location and SKU (as of a time, by recorded or
 * business time), see its balances, its events with the balances after each (a chart of on hand,
 * available and reserved), and what is wrong with it (negative balances, reservations not covered,
 * count variances). A correlation id opens its trace. The position reloads when its SKU's ATP changes.
 */
import type { ChartData } from "chart.js";
import { useMemo, useState } from "preact/hooks";
import { Badge } from "../../components/badge.tsx";
import { Chart } from "../../components/chart.tsx";
import { ErrorNote } from "../../components/error-note.tsx";
import { fmtCount, fmtTime } from "../../format.ts";
import { useApi, useLive } from "../../hooks.ts";
import type { ViewProps } from "../view-props.ts";
import { anomaliesOf, type History, onHandTotal, type PositionState } from "./position-types.ts";

export interface PositionKey {
  readonly location: string;
  readonly sku: string;
  readonly asOf?: string;
  readonly by: "recorded" | "business";
}

const ANOMALY_TONE: Record<string, "bad" | "warn"> = { negativeBalance: "bad", reservationsUncovered: "bad" };

/** Only a run of the same anomaly's first event: a balance that stays negative is one finding. */
const firstOfRuns = (list: ReturnType<typeof anomaliesOf>) =>
  list.filter(
    (a, i) =>
      a.code === "countVariance" ||
      a.code === "flagged" ||
      !list.slice(0, i).some((b) => b.code === a.code && b.revision === a.revision - 1),
  );

function LookupForm(props: { readonly onLookup: (k: PositionKey) => void }) {
  const [location, setLocation] = useState("");
  const [sku, setSku] = useState("");
  const [asOf, setAsOf] = useState("");
  const [by, setBy] = useState<"recorded" | "business">("recorded");
  return (
    <form
      class="toolbar"
      data-testid="position-lookup"
      onSubmit={(e) => {
        e.preventDefault();
        if (!location.trim() || !sku.trim()) return;
        const when = asOf ? new Date(asOf) : undefined;
        props.onLookup({
          location: location.trim(),
          sku: sku.trim(),
          by,
          ...(when && !Number.isNaN(when.getTime()) ? { asOf: when.toISOString() } : {}),
        });
      }}
    >
      <input
        name="location"
        placeholder="location (e.g. DC-AMS)"
        value={location}
        onInput={(e) => setLocation(e.currentTarget.value)}
      />
      <input name="sku" placeholder="SKU" value={sku} onInput={(e) => setSku(e.currentTarget.value)} />
      <label class="muted">
        as of{" "}
        <input
          type="datetime-local"
          name="asOf"
          value={asOf}
          onInput={(e) => setAsOf(e.currentTarget.value)}
        />
      </label>
      <select value={by} onChange={(e) => setBy(e.currentTarget.value as "recorded" | "business")}>
        <option value="recorded">as recorded then</option>
        <option value="business">as the stock was then</option>
      </select>
      <button type="submit">Look up</button>
    </form>
  );
}

export function PositionPanel(
  props: Pick<ViewProps, "api" | "live"> & { readonly onTrace: (correlationId: string) => void },
) {
  const { api, live } = props;
  const [key, setKey] = useState<PositionKey | undefined>(undefined);
  const base = key ? `/v1/positions/${encodeURIComponent(key.location)}/${encodeURIComponent(key.sku)}` : "";
  const id = key ? JSON.stringify(key) : undefined;
  const state = useApi(id, () => api.get<PositionState>(base));
  const history = useApi(id, () =>
    api.get<History>(`${base}/history`, {
      verify: "true",
      ...(key?.asOf ? { asOf: key.asOf, by: key.by } : {}),
    }),
  );
  useLive<{ skus: string[] }>(live, key ? "atp" : undefined, (e) => {
    if (e.event === "update" && key && e.data.skus.includes(key.sku) && !key.asOf) {
      state.reload();
      history.reload();
    }
  });

  const events = history.data?.events ?? [];
  const anomalies = useMemo(() => firstOfRuns(anomaliesOf(events)), [events]);
  const chart = useMemo(
    (): ChartData<"line"> => ({
      labels: events.map((e) => `r${e.revision}`),
      datasets: [
        {
          label: "on hand",
          data: events.map((e) => onHandTotal(e.balances)),
          borderColor: "#2457c5",
          stepped: true,
        },
        {
          label: "available",
          data: events.map((e) => e.balances?.onHand.available ?? 0),
          borderColor: "#1b7f3b",
          stepped: true,
        },
        {
          label: "reserved",
          data: events.map((e) => e.balances?.reserved ?? 0),
          borderColor: "#a86400",
          stepped: true,
        },
      ],
    }),
    [events],
  );
  const b = state.data?.balances;

  return (
    <div class="panel wide" data-testid="position">
      <h3>Position history and anomalies</h3>
      <LookupForm onLookup={setKey} />
      <ErrorNote error={state.error ?? history.error} testId="position-error" />
      {state.data && b && (
        <div class="figures" data-testid="position-state">
          <div>
            <span class="muted">position</span>
            <strong>
              {state.data.position.sku} @ {state.data.position.location} ({state.data.position.region})
            </strong>
          </div>
          {Object.entries(b.onHand).map(([status, q]) => (
            <div key={status}>
              <span class="muted">{status}</span>
              <strong class={q < 0 ? "error" : undefined}>{fmtCount(q)}</strong>
            </div>
          ))}
          <div>
            <span class="muted">reserved</span>
            <strong>{fmtCount(b.reserved)}</strong>
          </div>
          <div>
            <span class="muted">ATP</span>
            <strong data-testid="position-atp">{fmtCount(state.data.atp.atp)}</strong>
          </div>
          <div>
            <span class="muted">revision</span>
            <strong>{state.data.revision}</strong>
          </div>
          {history.data?.verification && (
            <div>
              <span class="muted">hash chain</span>
              <Badge tone={history.data.verification.ok ? "ok" : "bad"}>
                {history.data.verification.ok
                  ? `verified (${history.data.verification.eventsChecked})`
                  : "broken"}
              </Badge>
            </div>
          )}
        </div>
      )}
      {history.data && (
        <>
          <h4>Anomalies</h4>
          {anomalies.length === 0 ? (
            <p class="empty" data-testid="no-anomalies">
              None in this history.
            </p>
          ) : (
            <table data-testid="anomalies">
              <tbody>
                {anomalies.map((a) => (
                  <tr key={`${a.revision}-${a.code}`}>
                    <td>r{a.revision}</td>
                    <td>
                      <Badge tone={ANOMALY_TONE[a.code] ?? "warn"}>{a.code}</Badge>
                    </td>
                    <td>{a.message}</td>
                    <td>{fmtTime(a.at)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          <Chart
            type="line"
            title="Balances after each event"
            data={chart}
            testId="position-chart"
            height={180}
          />
          <h4>History{history.data && events.length > 0 ? ` (${events.length} events)` : ""}</h4>
          <table data-testid="history">
            <thead>
              <tr>
                <th>Rev</th>
                <th>Event</th>
                <th class="num">Qty</th>
                <th>Source</th>
                <th>Business time</th>
                <th>Recorded</th>
                <th class="num">On hand after</th>
                <th class="num">Reserved after</th>
                <th>Correlation</th>
              </tr>
            </thead>
            <tbody>
              {events.map((e) => (
                <tr key={e.revision} data-testid={`history-${e.revision}`}>
                  <td>{e.revision}</td>
                  <td>{e.type}</td>
                  <td class="num">{fmtCount(e.quantity)}</td>
                  <td>{e.source ?? "–"}</td>
                  <td>{fmtTime(e.businessTime)}</td>
                  <td>{fmtTime(e.recordedTime)}</td>
                  <td class="num">{fmtCount(onHandTotal(e.balances))}</td>
                  <td class="num">{fmtCount(e.balances?.reserved)}</td>
                  <td>
                    {e.correlationId && (
                      <button type="button" class="link" onClick={() => props.onTrace(e.correlationId!)}>
                        {e.correlationId}
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </div>
  );
}
