/**
 * Commands parked for a gap in their source's sequence (`GET /v1/parked`): which source, which
 * sequence it waits behind, and when the node stops waiting and decides it across the gap.
 */

import type { ParkedCommand } from "../../../../services/api/parked-commands.ts";
import { ErrorNote } from "../../components/error-note.tsx";
import { fmtDocument, fmtTime } from "../../format.ts";
import { useApi } from "../../hooks.ts";
import type { ViewProps } from "../view-props.ts";

export function ParkedPanel({ api }: Pick<ViewProps, "api">) {
  const parked = useApi("parked", () => api.get<{ parked: ParkedCommand[] }>("/v1/parked"), {
    refreshMs: 5_000,
  });
  const rows = parked.data?.parked ?? [];
  return (
    <div class="panel" data-testid="parked">
      <h3>Parked commands</h3>
      <ErrorNote error={parked.error} />
      {rows.length === 0 ? (
        <p class="empty">No command is waiting for a gap in its source's sequence.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th>Region</th>
              <th>SKU @ location</th>
              <th>Source #seq</th>
              <th>Kind · document</th>
              <th>Parked</th>
              <th>Decided across the gap at</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((p) => (
              <tr key={`${p.region}-${p.system}-${p.sequence}-${p.idempotencyKey}`}>
                <td>{p.region}</td>
                <td>
                  {p.sku ?? "–"} @ {p.location ?? "–"}
                </td>
                <td>
                  {p.system} #{p.sequence}
                </td>
                <td>
                  {p.kind ?? "–"} · {fmtDocument(p.document)}
                </td>
                <td>{fmtTime(p.parkedAt)}</td>
                <td>{fmtTime(p.deadline)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
