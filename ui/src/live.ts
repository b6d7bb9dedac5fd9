/**
 * Live updates: `GET /v1/live/<topic>` answers a server-sent event stream (services/api/live-routes.ts).
 * EventSource cannot send headers, and the long-lived key must not go into a URL (URLs land in logs),
 * so the stream is read with `fetch` (key in `x-api-key`) and parsed here. A dropped stream is opened
 * again after a pause that grows to 15 s; `stop()` ends it for good.
 */

export interface LiveEvent<T = unknown> {
  /** The SSE `event:` name (`update` for data, `hello` once connected). */
  readonly event: string;
  readonly data: T;
}

export type LiveHandler<T = unknown> = (e: LiveEvent<T>) => void;

/** Subscribes to a topic; returns the function that stops the subscription. */
export type LiveSubscribe = <T = unknown>(topic: string, onEvent: LiveHandler<T>) => () => void;

/** Parses the SSE frames in `buffer`; returns the events and what is left of an unfinished frame. */
export const parseSseFrames = (buffer: string): { events: LiveEvent<string>[]; rest: string } => {
  const events: LiveEvent<string>[] = [];
  const frames = buffer.split(/\r?\n\r?\n/);
  const rest = frames.pop() ?? "";
  for (const frame of frames) {
    let event = "message";
    const data: string[] = [];
    for (const line of frame.split(/\r?\n/)) {
      if (line.startsWith(":")) continue;
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
      if (field === "event") event = value;
      else if (field === "data") data.push(value);
    }
    if (data.length > 0) events.push({ event, data: data.join("\n") });
  }
  return { events, rest };
};

export const createLive =
  (key: string): LiveSubscribe =>
  <T>(topic: string, onEvent: LiveHandler<T>) => {
    const abort = new AbortController();
    let pauseMs = 500;
    const run = async (): Promise<void> => {
      while (!abort.signal.aborted) {
        try {
          const res = await fetch(`/v1/live/${encodeURIComponent(topic)}`, {
            headers: { "x-api-key": key, accept: "text/event-stream" },
            signal: abort.signal,
          });
          if (!res.ok || !res.body) throw new Error(`live ${topic}: HTTP ${res.status}`);
          // 403: this caller may not follow the topic; retrying will not change that.
          const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
          let buffer = "";
          pauseMs = 500;
          for (;;) {
            const { value, done } = await reader.read();
            if (done) break;
            buffer += value;
            const parsed = parseSseFrames(buffer);
            buffer = parsed.rest;
            for (const e of parsed.events) {
              let data: unknown = e.data;
              try {
                data = JSON.parse(e.data);
              } catch {
                // not JSON: handed over as text
              }
              onEvent({ event: e.event, data: data as T });
            }
          }
        } catch (err) {
          if (abort.signal.aborted) return;
          if (err instanceof Error && /HTTP (401|403)/.test(err.message)) return;
        }
        await new Promise((r) => setTimeout(r, pauseMs));
        pauseMs = Math.min(15_000, pauseMs * 2);
      }
    };
    void run();
    return () => abort.abort();
  };
