/**
 * Data hooks the views share: `useApi` loads a GET (again on `reload()`, every `refreshMs`, or when
 * its key changes), `useLive` follows a live topic for as long as the component is mounted.
 */
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { ApiError, type ApiErrorBody } from "./api-client.ts";
import type { LiveEvent, LiveSubscribe } from "./live.ts";

export interface Loaded<T> {
  readonly data: T | undefined;
  readonly error: ApiErrorBody | undefined;
  readonly loading: boolean;
  reload(): void;
}

export const errorOf = (err: unknown): ApiErrorBody =>
  err instanceof ApiError
    ? err.body
    : { error: "network_error", message: err instanceof Error ? err.message : String(err) };

/**
 * Loads `load()` now, whenever `key` changes and every `refreshMs` (if given). A `key` of `undefined`
 * loads nothing (a lookup not asked yet).
 */
export const useApi = <T>(
  key: string | undefined,
  load: () => Promise<T>,
  opts: { readonly refreshMs?: number } = {},
): Loaded<T> => {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<ApiErrorBody | undefined>(undefined);
  const [loading, setLoading] = useState(false);
  const [tick, setTick] = useState(0);
  const loader = useRef(load);
  loader.current = load;
  const reload = useCallback(() => setTick((n) => n + 1), []);

  useEffect(() => {
    if (key === undefined) return;
    let current = true;
    setLoading(true);
    loader
      .current()
      .then((d) => {
        if (!current) return;
        setData(d);
        setError(undefined);
      })
      .catch((err: unknown) => {
        if (current) setError(errorOf(err));
      })
      .finally(() => {
        if (current) setLoading(false);
      });
    return () => {
      current = false;
    };
  }, [key, tick]);

  useEffect(() => {
    if (key === undefined || !opts.refreshMs) return;
    const timer = setInterval(reload, opts.refreshMs);
    return () => clearInterval(timer);
  }, [key, opts.refreshMs, reload]);

  return { data, error, loading, reload };
};

/** Calls `onEvent` for each event of `topic` while mounted (and `topic` is defined). */
export const useLive = <T>(
  live: LiveSubscribe,
  topic: string | undefined,
  onEvent: (e: LiveEvent<T>) => void,
): void => {
  const handler = useRef(onEvent);
  handler.current = onEvent;
  useEffect(() => {
    if (topic === undefined) return;
    return live<T>(topic, (e) => handler.current(e));
  }, [live, topic]);
};
