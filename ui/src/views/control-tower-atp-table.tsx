/**
 * The control tower's list of SKUs (`GET /v1/control-tower/atp`): global ATP per SKU with each
 * region's figure and a freshness badge; a click selects the SKU for its breakdown.
 */

export interface AtpTotals {
  readonly atp: number;
  readonly available: number;
  readonly reserved: number;
  readonly safetyStock: number;
  readonly onHand: number;
  readonly inboundInTransit: number;
  readonly locations: number;
}
export interface LocationRow extends Omit<AtpTotals, "locations"> {
  readonly region: string;
  readonly location: string;
  readonly lifecycle: string;
  readonly businessTime: string;
  readonly recordedTime: string;
  readonly stale: boolean;
}
export interface SkuRow {
  readonly sku: string;
  readonly total: AtpTotals;
  readonly regions: ReadonlyArray<AtpTotals & { readonly region: string; readonly stale: boolean }>;
  readonly locations: readonly LocationRow[];
  readonly stale: boolean;
}
export interface Freshness {
  readonly region: string;
  readonly stale: boolean;
  readonly link: string;
  readonly asOf?: string;
  readonly stalenessMs?: number;
  readonly reasons: readonly string[];
}
export interface AtpList {
  readonly total: number;
  readonly skus: readonly SkuRow[];
  readonly freshness: readonly Freshness[];
  readonly stale: boolean;
  readonly asOf?: string;
}

export const ageText = (ms: number | undefined): string =>
  ms === undefined
    ? "unknown"
    : ms < 1_000
      ? `${ms} ms`
      : ms < 120_000
        ? `${Math.round(ms / 1000)} s`
        : `${Math.round(ms / 60_000)} min`;

export function FreshnessBadge({
  stale,
  title,
  testId,
}: {
  stale: boolean;
  title?: string;
  testId?: string;
}) {
  return (
    <span class={`badge ${stale ? "bad" : "ok"}`} title={title} data-testid={testId}>
      {stale ? "stale" : "fresh"}
    </span>
  );
}

interface Props {
  readonly list: AtpList;
  readonly regions: readonly string[];
  readonly selected: string | undefined;
  readonly onSelect: (sku: string) => void;
}

export function AtpTable({ list, regions, selected, onSelect }: Props) {
  if (list.skus.length === 0) return <p class="empty">No SKU matches.</p>;
  return (
    <table data-testid="atp-table">
      <thead>
        <tr>
          <th>SKU</th>
          <th class="num">Global ATP</th>
          <th class="num">On hand</th>
          <th class="num">Reserved</th>
          <th class="num">Inbound</th>
          {regions.map((r) => (
            <th key={r} class="num">
              {r}
            </th>
          ))}
          <th>Freshness</th>
        </tr>
      </thead>
      <tbody>
        {list.skus.map((s) => (
          <tr
            key={s.sku}
            data-testid={`atp-row-${s.sku}`}
            class={s.sku === selected ? "selected" : undefined}
            style={{ fontWeight: s.sku === selected ? 600 : undefined }}
          >
            <td>
              <button
                type="button"
                class="secondary"
                data-testid={`select-${s.sku}`}
                onClick={() => onSelect(s.sku)}
              >
                {s.sku}
              </button>
            </td>
            <td class="num" data-testid={`atp-total-${s.sku}`}>
              {s.total.atp}
            </td>
            <td class="num">{s.total.onHand}</td>
            <td class="num">{s.total.reserved}</td>
            <td class="num">{s.total.inboundInTransit}</td>
            {regions.map((r) => {
              const reg = s.regions.find((x) => x.region === r);
              return (
                <td key={r} class="num" data-testid={`atp-${s.sku}-${r}`}>
                  {reg ? reg.atp : ""}
                </td>
              );
            })}
            <td>
              <FreshnessBadge stale={s.stale} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
