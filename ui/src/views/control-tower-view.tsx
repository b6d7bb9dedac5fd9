/**
 * Supply-chain control tower (issue 12): global ATP by SKU across regions and locations with the
 * freshness of each region (`GET /v1/control-tower/atp`), one SKU's region × location breakdown,
 * time-phased timeline and a channel's figure, and the trends (sync-latency SLO, oversells,
 * staleness, drift). Live: the `atp` topic names the SKUs whose global ATP changed; the list and the
 * selected SKU load again when one of theirs did.
 */
import { useMemo, useRef, useState } from "preact/hooks";
import { useApi, useLive } from "../hooks.ts";
import { type AtpList, AtpTable, ageText, FreshnessBadge } from "./control-tower-atp-table.tsx";
import { SkuDetail } from "./control-tower-sku-detail.tsx";
import { TrendsPanel } from "./control-tower-trends.tsx";
import type { ViewProps } from "./view-props.ts";

interface SystemRef {
  readonly id: string;
  readonly kind: string;
}

export function ControlTowerView({ api, live }: ViewProps) {
  const [search, setSearch] = useState("");
  const [region, setRegion] = useState("");
  const [location, setLocation] = useState("");
  const [selected, setSelected] = useState<string | undefined>(undefined);
  const [version, setVersion] = useState(0);
  const [lastLive, setLastLive] = useState<string | undefined>(undefined);
  const reference = useApi("reference", () => api.get<{ regions: string[] }>("/v1/reference"));
  const systems = useApi("systems", () => api.get<SystemRef[]>("/v1/reference/systems"));
  const locations = useApi(`locations:${region}`, () =>
    api.get<Array<{ id: string; region: string }>>("/v1/reference/locations", region ? { region } : {}),
  );
  const list = useApi(
    `atp:${search}:${region}:${location}`,
    () =>
      api.get<AtpList>("/v1/control-tower/atp", {
        sku: search || undefined,
        region: region || undefined,
        location: location || undefined,
        limit: 200,
      }),
    { refreshMs: 30_000 },
  );
  // Live: reload (at most every second) when a SKU on the page changed, or any SKU while the page
  // holds the whole list (a new SKU may belong on it); the 30 s refresh catches the rest.
  const reloading = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  useLive<{ skus?: string[] }>(live, "atp", (e) => {
    if (e.event !== "update") return;
    const changed = e.data.skus ?? [];
    setLastLive(new Date().toLocaleTimeString());
    if (selected !== undefined && changed.includes(selected)) setVersion((v) => v + 1);
    const shown = list.data?.skus ?? [];
    const wholeList = list.data !== undefined && list.data.total <= shown.length;
    if (!wholeList && !changed.some((sku) => shown.some((r) => r.sku === sku))) return;
    reloading.current ??= setTimeout(() => {
      reloading.current = undefined;
      list.reload();
    }, 1_000);
  });

  const regions = reference.data?.regions ?? [];
  const channels = useMemo(
    () => (systems.data ?? []).filter((s) => s.kind === "channel").map((s) => s.id),
    [systems.data],
  );
  const row = list.data?.skus.find((s) => s.sku === selected);

  return (
    <section data-view="control-tower">
      <h2>Supply-chain control tower</h2>
      <div class="toolbar">
        <input
          data-testid="sku-search"
          placeholder="SKU contains…"
          value={search}
          onChange={(e) => setSearch((e.target as HTMLInputElement).value.trim())}
        />
        <select
          data-testid="filter-region"
          value={region}
          onChange={(e) => {
            setRegion((e.target as HTMLSelectElement).value);
            setLocation("");
          }}
        >
          <option value="">all regions</option>
          {regions.map((r) => (
            <option key={r} value={r}>
              {r}
            </option>
          ))}
        </select>
        <select
          data-testid="filter-location"
          value={location}
          onChange={(e) => setLocation((e.target as HTMLSelectElement).value)}
        >
          <option value="">all locations</option>
          {(locations.data ?? []).map((l) => (
            <option key={l.id} value={l.id}>
              {l.id}
            </option>
          ))}
        </select>
        <span class="muted" data-testid="live-status">
          {lastLive ? `live: last change ${lastLive}` : "live: following ATP changes"}
        </span>
      </div>
      {list.data && (
        <p data-testid="region-freshness">
          {list.data.freshness.map((f) => (
            <span key={f.region} style={{ marginRight: "1rem" }}>
              {f.region}{" "}
              <FreshnessBadge
                stale={f.stale}
                testId={`region-freshness-${f.region}`}
                title={f.reasons.join("; ") || `link ${f.link}`}
              />{" "}
              <span class="muted">
                {ageText(f.stalenessMs)}
                {f.asOf ? `, complete as of ${new Date(f.asOf).toLocaleTimeString()}` : ""}
              </span>
            </span>
          ))}
        </p>
      )}
      <div class="panels">
        <div class="panel wide">
          <h3>Global ATP by SKU{list.data ? ` (${list.data.total})` : ""}</h3>
          {list.error && (
            <p class="error" role="alert">
              {list.error.message}
            </p>
          )}
          {list.data && (
            <AtpTable
              list={list.data}
              regions={region ? [region] : regions}
              selected={selected}
              onSelect={(sku) => {
                setSelected(sku);
                setVersion((v) => v + 1);
              }}
            />
          )}
        </div>
        {row && list.data && (
          <div class="panel wide">
            <SkuDetail
              api={api}
              row={row}
              freshness={list.data.freshness}
              channels={channels}
              version={version}
            />
          </div>
        )}
        <TrendsPanel api={api} />
      </div>
    </section>
  );
}
