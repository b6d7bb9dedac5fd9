/**
 * One SKU in the control tower: its region × location breakdown with the age of each location's last
 * event and the region's freshness, the time-phased timeline (`GET /v1/availability/:sku/timeline`)
 * and what a channel may sell of it (`GET /v1/channels/:channel/availability/:sku`, the same figure
 * the channel's API answers).
 */
import { useMemo, useState } from "preact/hooks";
import { Chart } from "../components/chart.tsx";
import { useApi } from "../hooks.ts";
import { ageText, type Freshness, FreshnessBadge, type SkuRow } from "./control-tower-atp-table.tsx";
import type { ApiClient } from "./view-props.ts";

interface Timeline {
  readonly sku: string;
  readonly from: string;
  readonly days: ReadonlyArray<{ readonly date: string; readonly incoming: number; readonly atp: number }>;
  readonly beyondHorizon: number;
  readonly overdue: number;
  readonly stale: boolean;
}

interface ChannelFigures {
  readonly channel: string;
  readonly sku: string;
  readonly asOf: string;
  readonly quantity: number;
  readonly locations: ReadonlyArray<{
    readonly region: string;
    readonly location: string;
    readonly quantity: number;
    readonly explanation?: ReadonlyArray<{ readonly rule: string; readonly effect: string }>;
  }>;
}

interface Props {
  readonly api: ApiClient;
  readonly row: SkuRow;
  readonly freshness: readonly Freshness[];
  readonly channels: readonly string[];
  /** Bumped on each live change of this SKU: the timeline and the channel's figure load again. */
  readonly version: number;
}

export function SkuDetail({ api, row, freshness, channels, version }: Props) {
  const sku = row.sku;
  const [channel, setChannel] = useState(channels[0] ?? "");
  const timeline = useApi(`timeline:${sku}:${version}`, () =>
    api.get<Timeline>(`/v1/availability/${encodeURIComponent(sku)}/timeline`),
  );
  const figures = useApi(channel ? `channel:${channel}:${sku}:${version}` : undefined, () =>
    api.get<ChannelFigures>(
      `/v1/channels/${encodeURIComponent(channel)}/availability/${encodeURIComponent(sku)}`,
    ),
  );
  const chartData = useMemo(
    () => ({
      labels: (timeline.data?.days ?? []).map((d) => d.date),
      datasets: [
        {
          type: "line" as const,
          label: "ATP",
          data: (timeline.data?.days ?? []).map((d) => d.atp),
          borderColor: "#2457c5",
          backgroundColor: "#2457c5",
          stepped: true,
        },
        {
          type: "bar" as const,
          label: "incoming",
          data: (timeline.data?.days ?? []).map((d) => d.incoming),
          backgroundColor: "#1b7f3b88",
        },
      ],
    }),
    [timeline.data],
  );
  const now = Date.now();
  const staleOf = (region: string) => freshness.find((f) => f.region === region);

  return (
    <div data-testid="sku-detail">
      <h3>
        {sku}: global ATP {row.total.atp}
      </h3>
      <table data-testid="sku-locations">
        <thead>
          <tr>
            <th>Region</th>
            <th>Location</th>
            <th class="num">ATP</th>
            <th class="num">Available</th>
            <th class="num">Reserved</th>
            <th class="num">Safety</th>
            <th class="num">On hand</th>
            <th class="num">Inbound</th>
            <th>Lifecycle</th>
            <th>Last event</th>
            <th>Freshness</th>
          </tr>
        </thead>
        <tbody>
          {row.regions.map((reg) => {
            const f = staleOf(reg.region);
            return [
              <tr key={`r-${reg.region}`} data-testid={`region-row-${reg.region}`}>
                <th>{reg.region}</th>
                <th>all ({reg.locations})</th>
                <th class="num">{reg.atp}</th>
                <th class="num">{reg.available}</th>
                <th class="num">{reg.reserved}</th>
                <th class="num">{reg.safetyStock}</th>
                <th class="num">{reg.onHand}</th>
                <th class="num">{reg.inboundInTransit}</th>
                <th />
                <th />
                <th>
                  <FreshnessBadge
                    stale={reg.stale}
                    testId={`freshness-${reg.region}`}
                    title={
                      f
                        ? `link ${f.link}; staleness ${ageText(f.stalenessMs)}${f.asOf ? `; complete as of ${f.asOf}` : ""}${f.reasons.length ? `; ${f.reasons.join("; ")}` : ""}`
                        : undefined
                    }
                  />{" "}
                  <span class="muted">{f ? ageText(f.stalenessMs) : ""}</span>
                </th>
              </tr>,
              ...row.locations
                .filter((l) => l.region === reg.region)
                .map((l) => (
                  <tr
                    key={`${l.region}/${l.location}`}
                    data-testid={`location-row-${l.region}-${l.location}`}
                  >
                    <td />
                    <td>{l.location}</td>
                    <td class="num" data-testid={`location-atp-${l.region}-${l.location}`}>
                      {l.atp}
                    </td>
                    <td class="num">{l.available}</td>
                    <td class="num">{l.reserved}</td>
                    <td class="num">{l.safetyStock}</td>
                    <td class="num">{l.onHand}</td>
                    <td class="num">{l.inboundInTransit}</td>
                    <td>{l.lifecycle}</td>
                    <td title={`business time ${l.businessTime}; recorded ${l.recordedTime}`}>
                      {ageText(now - Date.parse(l.recordedTime))} ago
                    </td>
                    <td>
                      <FreshnessBadge stale={l.stale} />
                    </td>
                  </tr>
                )),
            ];
          })}
        </tbody>
      </table>

      <div class="toolbar" style={{ marginTop: "0.8rem" }}>
        <label>
          Channel{" "}
          <input
            list="control-tower-channels"
            data-testid="channel-input"
            value={channel}
            placeholder="e.g. SHOP_NL"
            onChange={(e) => setChannel((e.target as HTMLInputElement).value.trim())}
          />
          <datalist id="control-tower-channels">
            {channels.map((c) => (
              <option key={c} value={c} />
            ))}
          </datalist>
        </label>
        {figures.data && (
          <span data-testid="channel-figure">
            {figures.data.channel} may sell <strong>{figures.data.quantity}</strong> (
            {figures.data.locations.map((l) => `${l.region}/${l.location} ${l.quantity}`).join(", ") ||
              "no location"}
            )
          </span>
        )}
        {figures.error && (
          <span class="error" role="alert">
            {figures.error.message}
          </span>
        )}
      </div>

      <h3 style={{ marginTop: "0.8rem" }}>Time-phased ATP</h3>
      {timeline.error && (
        <p class="error" role="alert">
          {timeline.error.message}
        </p>
      )}
      {timeline.data && (
        <>
          <Chart
            type="bar"
            title={`Time-phased ATP of ${sku}`}
            data={chartData as never}
            testId="timeline-chart"
            height={200}
          />
          <p class="muted">
            overdue {timeline.data.overdue} · beyond the horizon {timeline.data.beyondHorizon}
            {timeline.data.stale ? " · some regions stale" : ""}
          </p>
        </>
      )}
    </div>
  );
}
