/**
 * Postings to the ERPs per target: acked, backlog (in flight plus not yet read), retrying, dead, and
 * the target's circuit breaker; a bar chart of the backlog; posting dead letters with a retry. Fed by
 * the `postings` live topic (a new summary when it changes).
 */
import type { ChartData } from "chart.js";
import { useMemo, useState } from "preact/hooks";
import { Badge } from "../../components/badge.tsx";
import { Chart } from "../../components/chart.tsx";
import { ErrorNote } from "../../components/error-note.tsx";
import { fmtCount, fmtMs, fmtTime } from "../../format.ts";
import { errorOf, useApi, useLive } from "../../hooks.ts";
import type { ApiErrorBody, ViewProps } from "../view-props.ts";

interface Figures {
  readonly acked: number;
  readonly pending: {
    readonly count: number;
    readonly inFlight: number;
    readonly queued: number;
    readonly oldestAgeMs: number | null;
  };
  readonly retrying: { readonly count: number; readonly nextAttemptAt: string | null };
  readonly dead: number;
  readonly skipped: number;
}

interface TargetSummary extends Figures {
  readonly target: string;
  readonly breaker: {
    readonly state: "closed" | "halfOpen" | "open" | "unknown";
    readonly since: string | null;
    readonly nextTrialAt: string | null;
  };
  readonly regions: ReadonlyArray<Figures & { readonly region: string }>;
}

interface PostingRow {
  readonly id: number;
  readonly target: string;
  readonly region: string;
  readonly location: string;
  readonly sku: string;
  readonly eventType: string;
  readonly sourceDocument: string | null;
  readonly effect: number;
  readonly lastError: string | null;
  readonly deadAt: string | null;
}

const BREAKER_TONE = { closed: "ok", halfOpen: "warn", open: "bad", unknown: "warn" } as const;

export function PostingsPanel({ api, live }: Pick<ViewProps, "api" | "live">) {
  const loaded = useApi("postings", () => api.get<{ targets: TargetSummary[] }>("/v1/postings/summary"));
  const dead = useApi("posting-dead", () =>
    api.get<{ deadLetters: PostingRow[] }>("/v1/postings/dead-letters", { limit: 100 }),
  );
  const [latest, setLatest] = useState<{ targets: TargetSummary[] } | undefined>(undefined);
  useLive<{ targets: TargetSummary[] }>(live, "postings", (e) => {
    if (e.event !== "update") return;
    setLatest(e.data);
    dead.reload();
  });
  const targets = (latest ?? loaded.data)?.targets ?? [];
  const [error, setError] = useState<ApiErrorBody | undefined>(undefined);

  const chart = useMemo(
    (): ChartData<"bar"> => ({
      labels: targets.map((t) => t.target),
      datasets: [
        { label: "in flight", data: targets.map((t) => t.pending.inFlight), backgroundColor: "#2457c5" },
        { label: "not yet read", data: targets.map((t) => t.pending.queued), backgroundColor: "#8fb0ee" },
        { label: "retrying", data: targets.map((t) => t.retrying.count), backgroundColor: "#a86400" },
        { label: "dead", data: targets.map((t) => t.dead), backgroundColor: "#b3261e" },
      ],
    }),
    [targets],
  );
  const options = useMemo(
    () => ({ indexAxis: "y" as const, scales: { x: { stacked: true }, y: { stacked: true } } }),
    [],
  );

  const retry = async (id: number) => {
    setError(undefined);
    try {
      await api.post(`/v1/postings/dead-letters/${id}/retry`, {});
      dead.reload();
      loaded.reload();
    } catch (err) {
      setError(errorOf(err));
    }
  };

  return (
    <div class="panel wide" data-testid="postings">
      <h3>Postings backlog per target</h3>
      <ErrorNote error={loaded.error} />
      {targets.length === 0 ? (
        <p class="empty">No posting targets.</p>
      ) : (
        <div class="split">
          <table>
            <thead>
              <tr>
                <th>Target</th>
                <th>Breaker</th>
                <th class="num">Acked</th>
                <th class="num">Backlog</th>
                <th class="num">Oldest</th>
                <th class="num">Retrying</th>
                <th class="num">Dead</th>
              </tr>
            </thead>
            <tbody>
              {targets.map((t) => (
                <tr key={t.target} data-testid={`target-${t.target}`}>
                  <td>
                    <strong>{t.target}</strong>
                  </td>
                  <td>
                    <Badge
                      tone={BREAKER_TONE[t.breaker.state]}
                      title={t.breaker.since ? `since ${fmtTime(t.breaker.since)}` : ""}
                    >
                      {t.breaker.state}
                    </Badge>
                    {t.breaker.nextTrialAt && (
                      <div class="muted">next trial {fmtTime(t.breaker.nextTrialAt)}</div>
                    )}
                  </td>
                  <td class="num">{fmtCount(t.acked)}</td>
                  <td class="num">{fmtCount(t.pending.count)}</td>
                  <td class="num">{fmtMs(t.pending.oldestAgeMs)}</td>
                  <td class="num">{fmtCount(t.retrying.count)}</td>
                  <td class="num">{fmtCount(t.dead)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <Chart
            type="bar"
            title="Postings backlog per target"
            data={chart}
            options={options}
            testId="postings-chart"
            height={160}
          />
        </div>
      )}
      <h4>Posting dead letters</h4>
      <ErrorNote error={dead.error ?? error} />
      {(dead.data?.deadLetters.length ?? 0) === 0 ? (
        <p class="empty">None.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th>Id</th>
              <th>Target</th>
              <th>Event</th>
              <th>SKU @ location</th>
              <th>Document</th>
              <th class="num">Effect</th>
              <th>Error</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {dead.data?.deadLetters.map((p) => (
              <tr key={p.id} data-testid={`posting-dead-${p.id}`}>
                <td>{p.id}</td>
                <td>{p.target}</td>
                <td>{p.eventType}</td>
                <td>
                  {p.sku} @ {p.location}
                </td>
                <td>{p.sourceDocument ?? "–"}</td>
                <td class="num">{p.effect}</td>
                <td class="error">{p.lastError ?? "–"}</td>
                <td>
                  <button type="button" class="secondary" onClick={() => void retry(p.id)}>
                    Retry
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
