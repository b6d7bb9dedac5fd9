/**
 * Command dead letters with their business context (SKU, location, source system, document, rule or
 * error) and what an operator does with them: retry as it was, fix the payload and retry, or mark
 * resolved with a note. The list reloads when the `dead-letters` live topic says something changed.
 */
import { useState } from "preact/hooks";
import { ErrorNote } from "../../components/error-note.tsx";
import { fmtDocument, fmtTime } from "../../format.ts";
import { errorOf, useApi, useLive } from "../../hooks.ts";
import { ApiError, type ApiErrorBody, type ViewProps } from "../view-props.ts";

export interface DeadLetterRow {
  readonly region: string;
  readonly seq: number;
  readonly status: "open" | "retried" | "resolved";
  readonly reason: string;
  readonly code: string;
  readonly message: string;
  readonly sku?: string;
  readonly location?: string;
  readonly sourceSystem?: string;
  readonly document?: unknown;
  readonly kind?: string;
  readonly correlationId?: string;
  readonly at: string;
  readonly attempts: number;
  readonly lastOutcome?: string;
}

interface DeadLetterItem {
  readonly deadLetter?: { readonly payload: string; readonly details?: Record<string, unknown> };
  readonly raw?: string;
  readonly state?: {
    readonly attempts: ReadonlyArray<{
      outcome: string;
      reason?: { code?: string; message?: string };
      at?: string;
      by?: string;
      corrected?: boolean;
    }>;
  };
}

interface RetryAttempt {
  readonly outcome: string;
  readonly reason?: { readonly code?: string; readonly message?: string };
}

const idOf = (d: Pick<DeadLetterRow, "region" | "seq">) => `${d.region}-${d.seq}`;

const pretty = (text: string): string => {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
};

function Detail(props: {
  readonly row: DeadLetterRow;
  readonly api: ViewProps["api"];
  readonly onDone: (message: string) => void;
}) {
  const { row, api } = props;
  const path = `/v1/exceptions/dead-letters/${encodeURIComponent(row.region)}/${row.seq}`;
  const item = useApi(path, () => api.get<DeadLetterItem>(path));
  const [payload, setPayload] = useState<string | undefined>(undefined);
  const [note, setNote] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiErrorBody | undefined>(undefined);
  const original = item.data?.deadLetter?.payload ?? item.data?.raw;
  const text = payload ?? (original !== undefined ? pretty(original) : "");

  const act = async (what: "retry" | "fix" | "resolve") => {
    setBusy(true);
    setError(undefined);
    try {
      if (what === "resolve") {
        await api.post(`${path}/resolve`, note ? { note } : {});
        props.onDone(`${row.region}/${row.seq} marked resolved`);
      } else {
        let body: { payload?: unknown } = {};
        if (what === "fix") {
          try {
            body = { payload: JSON.parse(text) };
          } catch (err) {
            setError({ error: "bad_json", message: `the corrected payload is not JSON: ${String(err)}` });
            return;
          }
        }
        const r = await api.post<{ status: string; attempt: { outcome: string } }>(`${path}/retry`, body);
        props.onDone(`${row.region}/${row.seq}: ${r.attempt.outcome} (now ${r.status})`);
      }
    } catch (err) {
      // 422 (the node refused it again) and 503 (no node answered) carry the attempt: say its outcome and why.
      const attempt = err instanceof ApiError ? (err.body.attempt as RetryAttempt | undefined) : undefined;
      setError(
        attempt
          ? {
              error: attempt.outcome,
              message: `${attempt.outcome}: ${attempt.reason?.message ?? attempt.reason?.code ?? "no reason given"}`,
            }
          : errorOf(err),
      );
      item.reload();
    } finally {
      setBusy(false);
    }
  };

  return (
    <div class="detail" data-testid="dead-letter-detail">
      <h4>
        {row.region}/{row.seq}: {row.code}
      </h4>
      <p>{row.message}</p>
      <ErrorNote error={item.error} />
      {(item.data?.state?.attempts.length ?? 0) > 0 && (
        <ul class="muted">
          {item.data?.state?.attempts.map((a, i) => (
            <li key={i}>
              {fmtTime(a.at)} {a.by ?? ""}: {a.outcome}
              {a.corrected ? " (corrected)" : ""}
              {a.reason ? ` — ${a.reason.message ?? a.reason.code ?? ""}` : ""}
            </li>
          ))}
        </ul>
      )}
      <label class="block">
        Payload (edit to correct it, then "Retry corrected")
        <textarea
          data-testid="dead-letter-payload"
          rows={12}
          spellcheck={false}
          value={text}
          onInput={(e) => setPayload(e.currentTarget.value)}
        />
      </label>
      <div class="toolbar">
        <button type="button" disabled={busy} data-testid="retry" onClick={() => void act("retry")}>
          Retry as it was
        </button>
        <button
          type="button"
          disabled={busy || payload === undefined}
          data-testid="retry-corrected"
          onClick={() => void act("fix")}
        >
          Retry corrected
        </button>
        <input placeholder="note" value={note} onInput={(e) => setNote(e.currentTarget.value)} />
        <button
          type="button"
          class="secondary"
          disabled={busy}
          data-testid="resolve"
          onClick={() => void act("resolve")}
        >
          Mark resolved
        </button>
      </div>
      <ErrorNote error={error} testId="dead-letter-action-error" />
    </div>
  );
}

export function DeadLettersPanel({ api, live }: Pick<ViewProps, "api" | "live">) {
  const [status, setStatus] = useState<"open" | "retried" | "resolved">("open");
  const list = useApi(`dead-letters-${status}`, () =>
    api.get<{ deadLetters: DeadLetterRow[] }>("/v1/exceptions/dead-letters", { status, limit: 200 }),
  );
  useLive(live, "dead-letters", (e) => {
    if (e.event === "update") list.reload();
  });
  const [selected, setSelected] = useState<DeadLetterRow | undefined>(undefined);
  const [notice, setNotice] = useState<string | undefined>(undefined);
  const rows = list.data?.deadLetters ?? [];

  return (
    <div class="panel wide" data-testid="dead-letters">
      <h3>Command dead letters</h3>
      <div class="toolbar">
        <select
          value={status}
          data-testid="dead-letter-status"
          onChange={(e) => setStatus(e.currentTarget.value as typeof status)}
        >
          <option value="open">open</option>
          <option value="retried">retried, outcome pending</option>
          <option value="resolved">resolved</option>
        </select>
        <button type="button" class="secondary" onClick={list.reload}>
          Refresh
        </button>
        <span class="muted" data-testid="dead-letter-count">
          {rows.length} {status}
        </span>
        {notice && (
          <span class="notice" role="status" data-testid="dead-letter-notice">
            {notice}
          </span>
        )}
      </div>
      <ErrorNote error={list.error} />
      {rows.length === 0 ? (
        <p class="empty">No {status} dead letters.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th>Region/seq</th>
              <th>Why</th>
              <th>SKU @ location</th>
              <th>Source · document</th>
              <th>Kind</th>
              <th>When</th>
              <th class="num">Retries</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {rows.map((d) => (
              <tr
                key={idOf(d)}
                data-testid={`dead-letter-${idOf(d)}`}
                class={selected && idOf(selected) === idOf(d) ? "selected" : undefined}
              >
                <td>
                  {d.region}/{d.seq}
                </td>
                <td>
                  <strong>{d.code}</strong>
                  <div class="muted">{d.message}</div>
                </td>
                <td>
                  {d.sku ?? "–"} @ {d.location ?? "–"}
                </td>
                <td>
                  {d.sourceSystem ?? "–"} · {fmtDocument(d.document)}
                </td>
                <td>{d.kind ?? "–"}</td>
                <td>{fmtTime(d.at)}</td>
                <td class="num">
                  {d.attempts}
                  {d.lastOutcome && <div class="muted">{d.lastOutcome}</div>}
                </td>
                <td>
                  <button
                    type="button"
                    class="secondary"
                    data-testid={`open-${idOf(d)}`}
                    onClick={() => setSelected(d)}
                  >
                    Open
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {selected && (
        <Detail
          key={idOf(selected)}
          row={selected}
          api={api}
          onDone={(message) => {
            setNotice(message);
            setSelected(undefined);
            list.reload();
          }}
        />
      )}
    </div>
  );
}
