/** How figures read on the dashboards: durations, ages, times, counts. */

export const fmtCount = (n: number | null | undefined): string =>
  n === null || n === undefined ? "–" : n.toLocaleString("en-US");

export const fmtMs = (ms: number | null | undefined): string => {
  if (ms === null || ms === undefined) return "–";
  if (ms < 1_000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1_000).toFixed(1)} s`;
  if (ms < 3_600_000) return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1_000)} s`;
  return `${(ms / 3_600_000).toFixed(1)} h`;
};

export const fmtTime = (iso: string | null | undefined): string => {
  if (!iso) return "–";
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString("en-GB", { hour12: false });
};

export const ageOf = (iso: string | null | undefined, now = Date.now()): number | undefined => {
  if (!iso) return undefined;
  const t = Date.parse(iso);
  return Number.isNaN(t) ? undefined : Math.max(0, now - t);
};

/** A short text for a document reference `{ type, id, line? }` (or anything else). */
export const fmtDocument = (doc: unknown): string => {
  if (doc === undefined || doc === null) return "–";
  if (typeof doc === "string") return doc;
  if (typeof doc === "object") {
    const d = doc as { type?: unknown; id?: unknown; line?: unknown };
    if (d.id !== undefined)
      return `${d.type !== undefined ? `${String(d.type)} ` : ""}${String(d.id)}${d.line !== undefined ? `/${String(d.line)}` : ""}`;
  }
  return JSON.stringify(doc);
};
