/**
 * How operator commands talk to a running stockline API: `--api` (default STOCKLINE_API_URL or
 * http://127.0.0.1:8080) and the API key from STOCKLINE_API_KEY.
 */
export const DEFAULT_API = process.env.STOCKLINE_API_URL ?? "http://127.0.0.1:8080";

export type Out = (line: string) => void;

export const callApi = async (
  api: string,
  method: "GET" | "POST",
  path: string,
  body?: unknown,
): Promise<{ status: number; json: unknown }> => {
  const res = await fetch(`${api.replace(/\/$/, "")}${path}`, {
    method,
    headers: {
      ...(process.env.STOCKLINE_API_KEY ? { "x-api-key": process.env.STOCKLINE_API_KEY } : {}),
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  try {
    return { status: res.status, json: JSON.parse(text) };
  } catch {
    return { status: res.status, json: text };
  }
};

/** Throws the API's own message (every error body of the API has one). */
export const failWith = (status: number, json: unknown): never => {
  const message = (json as { message?: string })?.message ?? JSON.stringify(json);
  throw new Error(`HTTP ${status}: ${message}`);
};
