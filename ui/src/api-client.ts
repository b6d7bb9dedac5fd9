/**
 * The dashboards' one way to the API: every call goes to `/v1/...` with the caller's key in the
 * `x-api-key` header (never in a URL). A non-2xx answer throws `ApiError` holding the API's error body
 * (`{ error, message, ...details }`, infra/http/http-errors.ts), so a view can show what the server said.
 */

/** The API's error shape (infra/http/http-errors.ts). */
export interface ApiErrorBody {
  readonly error: string;
  readonly message: string;
  readonly [detail: string]: unknown;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: ApiErrorBody,
    readonly path: string,
  ) {
    super(`${status} ${body.error}: ${body.message}`);
    this.name = "ApiError";
  }
}

export type Query = Readonly<Record<string, string | number | boolean | undefined>>;

export interface ApiClient {
  /** GET `path` (e.g. `/v1/exceptions`) with an optional query; resolves to the decoded JSON body. */
  get<T>(path: string, query?: Query): Promise<T>;
  /** POST `path` with a JSON body; resolves to the decoded JSON body (`undefined` for an empty one). */
  post<T>(path: string, body?: unknown): Promise<T>;
}

export const withQuery = (path: string, query?: Query): string => {
  const entries = Object.entries(query ?? {}).filter(([, v]) => v !== undefined && v !== "");
  if (entries.length === 0) return path;
  return `${path}?${new URLSearchParams(entries.map(([k, v]) => [k, String(v)])).toString()}`;
};

const bodyOf = async (res: Response): Promise<unknown> => {
  const text = await res.text();
  if (text.length === 0) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
};

/** The API's error body; an answer of another shape (e.g. a 422 outcome) is kept whole beside a message. */
const errorBodyOf = (status: number, body: unknown): ApiErrorBody => {
  if (typeof body === "object" && body !== null && "error" in body && "message" in body)
    return body as ApiErrorBody;
  if (typeof body === "object" && body !== null)
    return {
      ...body,
      error: `http_${status}`,
      message: `HTTP ${status}: ${JSON.stringify(body).slice(0, 300)}`,
    };
  return { error: `http_${status}`, message: typeof body === "string" && body ? body : `HTTP ${status}` };
};

export const createApiClient = (key: string, onUnauthorized?: () => void): ApiClient => {
  const call = async <T>(method: "GET" | "POST", path: string, body?: unknown): Promise<T> => {
    const res = await fetch(path, {
      method,
      headers: {
        "x-api-key": key,
        accept: "application/json",
        ...(body !== undefined ? { "content-type": "application/json" } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const parsed = await bodyOf(res);
    if (!res.ok) {
      if (res.status === 401) onUnauthorized?.();
      throw new ApiError(res.status, errorBodyOf(res.status, parsed), path);
    }
    return parsed as T;
  };
  return {
    get: (path, query) => call("GET", withQuery(path, query)),
    post: (path, body) => call("POST", path, body ?? {}),
  };
};
