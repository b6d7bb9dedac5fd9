/**
 * The trace of a document across regions: a correlation id's source documents, its events in every
 * region (with the balances' movement) and what was posted to the ERPs for each (`GET /v1/trace/:id`).
 */
import { useEffect, useState } from "preact/hooks";
import { Badge } from "../../components/badge.tsx";
import { ErrorNote } from "../../components/error-note.tsx";
import { fmtCount, fmtDocument, fmtTime } from "../../format.ts";
import { useApi } from "../../hooks.ts";
import type { ViewProps } from "../view-props.ts";

interface TraceEvent {
  readonly region: string;
  readonly location: string;
  readonly sku: string;
  readonly revision: number;
  readonly type: string;
  readonly quantity: number;
  readonly recordedTime?: string;
  readonly businessTime?: string;
  readonly postings?: ReadonlyArray<{ readonly target: string; readonly status: string }>;
}

interface Trace {
  readonly correlationId: string;
  readonly regions: readonly string[];
  readonly sourceDocuments: ReadonlyArray<{
    readonly system: string;
    readonly document: unknown;
    readonly eventIds: readonly string[];
  }>;
  readonly events: readonly TraceEvent[];
  readonly postingSummary?: Readonly<Record<string, number>>;
}

const POSTING_TONE: Record<string, "ok" | "warn" | "bad"> = { acked: "ok", skipped: "ok", dead: "bad" };

export function TracePanel(props: Pick<ViewProps, "api"> & { readonly correlationId: string | undefined }) {
  const [input, setInput] = useState(props.correlationId ?? "");
  const [asked, setAsked] = useState<string | undefined>(props.correlationId);
  useEffect(() => {
    if (props.correlationId) {
      setInput(props.correlationId);
      setAsked(props.correlationId);
    }
  }, [props.correlationId]);
  const trace = useApi(asked, () => props.api.get<Trace>(`/v1/trace/${encodeURIComponent(asked ?? "")}`));
  const t = trace.data;

  return (
    <div class="panel wide" data-testid="trace">
      <h3>Trace of a document across regions</h3>
      <form
        class="toolbar"
        onSubmit={(e) => {
          e.preventDefault();
          if (input.trim()) setAsked(input.trim());
        }}
      >
        <input
          name="correlationId"
          placeholder="correlation id"
          size={40}
          value={input}
          onInput={(e) => setInput(e.currentTarget.value)}
        />
        <button type="submit">Trace</button>
      </form>
      <ErrorNote error={trace.error} testId="trace-error" />
      {t && asked && (
        <>
          <p>
            <strong>{t.correlationId}</strong> in {t.regions.join(", ")}
            {t.postingSummary &&
              Object.entries(t.postingSummary).map(([status, n]) => (
                <span key={status}>
                  {" "}
                  <Badge tone={POSTING_TONE[status] ?? "warn"}>{`${n} ${status}`}</Badge>
                </span>
              ))}
          </p>
          <h4>Source documents</h4>
          <ul>
            {t.sourceDocuments.map((d) => (
              <li key={`${d.system}-${fmtDocument(d.document)}`}>
                {d.system} · {fmtDocument(d.document)} → {d.eventIds.length} event(s)
              </li>
            ))}
          </ul>
          <table data-testid="trace-events">
            <thead>
              <tr>
                <th>Region</th>
                <th>Position</th>
                <th>Rev</th>
                <th>Event</th>
                <th class="num">Qty</th>
                <th>Recorded</th>
                <th>Postings</th>
              </tr>
            </thead>
            <tbody>
              {t.events.map((e) => (
                <tr key={`${e.region}-${e.location}-${e.sku}-${e.revision}`}>
                  <td>{e.region}</td>
                  <td>
                    {e.sku} @ {e.location}
                  </td>
                  <td>{e.revision}</td>
                  <td>{e.type}</td>
                  <td class="num">{fmtCount(e.quantity)}</td>
                  <td>{fmtTime(e.recordedTime)}</td>
                  <td>
                    {(e.postings ?? []).map((p) => (
                      <span key={p.target}>
                        <Badge
                          tone={POSTING_TONE[p.status] ?? "warn"}
                        >{`${p.target}: ${p.status}`}</Badge>{" "}
                      </span>
                    ))}
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
