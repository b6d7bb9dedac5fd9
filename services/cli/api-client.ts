/**
 * How operator commands talk to a running stockline API: the URL from `--api <url>` (default
 * STOCKLINE_API_URL or http://127.0.0.1:8080) and the API key from `--key <key>` (default
 * STOCKLINE_API_KEY). Every failure says what was tried and which flag or variable sets it: an API
 * that cannot be reached names the URL, a 401/403 names the key's flag and variable.
 */
import type { Command } from "commander";

export const DEFAULT_API = process.env.STOCKLINE_API_URL ?? "http://127.0.0.1:8080";

/** How long one call may take before the CLI gives up (the API answers far sooner). */
export const API_TIMEOUT_MS = 30_000;

export const API_OPTION_HELP = "stockline API URL (default: STOCKLINE_API_URL or http://127.0.0.1:8080)";
export const KEY_OPTION_HELP = "API key (default: STOCKLINE_API_KEY)";

export type Out = (line: string) => void;

/** Where to call: commander's options of a command that has `apiOptions`, or a URL alone. */
export interface ApiTarget {
  readonly api: string;
  readonly key?: string;
  readonly timeoutMs?: number;
}

/** Adds `--api <url>` and `--key <key>` to a command (its options then are an `ApiTarget`). */
export const apiOptions = (command: Command): Command =>
  command.option("--api <url>", API_OPTION_HELP, DEFAULT_API).option("--key <key>", KEY_OPTION_HELP);

const keyOf = (target: ApiTarget): { key: string | undefined; from: string } =>
  target.key !== undefined
    ? { key: target.key, from: "--key" }
    : { key: process.env.STOCKLINE_API_KEY || undefined, from: "STOCKLINE_API_KEY" };

/** Codes of a connection that never got an HTTP answer, as Node's fetch (undici) reports them. */
const causeCode = (err: unknown): string | undefined => {
  const cause = (err as { cause?: { code?: unknown; name?: unknown } })?.cause;
  if (typeof cause?.code === "string") return cause.code;
  if (cause?.name === "ConnectTimeoutError") return "UND_ERR_CONNECT_TIMEOUT";
  return undefined;
};

const HOW_TO_SET_URL = "set the API's URL with --api <url> or STOCKLINE_API_URL";

/** The error of a call that got no HTTP answer: what was tried, why it failed, how to fix it. */
export const unreachable = (url: string, err: unknown, timeoutMs: number): Error => {
  if ((err as { name?: string })?.name === "TimeoutError")
    return new Error(
      `no answer from the stockline API at ${url} within ${timeoutMs / 1000} s; is it the right URL? ${HOW_TO_SET_URL}`,
    );
  const code = causeCode(err);
  const why =
    code === "ECONNREFUSED"
      ? "connection refused: nothing listens there (is `stockline api` or `stockline run` running?)"
      : code === "ENOTFOUND" || code === "EAI_AGAIN"
        ? "the host name does not resolve"
        : code === "UND_ERR_CONNECT_TIMEOUT" || code === "ETIMEDOUT"
          ? "the connection timed out"
          : code === "ECONNRESET" || code === "UND_ERR_SOCKET"
            ? "the connection was closed before an answer (is it an HTTP server of stockline?)"
            : `${code ?? (err instanceof Error ? ((err.cause as Error | undefined)?.message ?? err.message) : String(err))}`;
  return new Error(`cannot reach the stockline API at ${url}: ${why}; ${HOW_TO_SET_URL}`);
};

export const callApi = async (
  target: string | ApiTarget,
  method: "GET" | "POST",
  path: string,
  body?: unknown,
): Promise<{ status: number; json: unknown }> => {
  const t: ApiTarget = typeof target === "string" ? { api: target } : target;
  const base = t.api.replace(/\/$/, "");
  if (!/^https?:\/\/[^/]/.test(base))
    throw new Error(
      `--api ${JSON.stringify(t.api)} is not an http(s) URL (e.g. http://127.0.0.1:8080); ${HOW_TO_SET_URL}`,
    );
  const url = `${base}${path}`;
  const { key } = keyOf(t);
  const timeoutMs = t.timeoutMs ?? API_TIMEOUT_MS;
  let res: Response;
  try {
    res = await fetch(url, {
      method,
      headers: {
        ...(key ? { "x-api-key": key } : {}),
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    throw unreachable(base, err, timeoutMs);
  }
  const text = await res.text();
  const result = (() => {
    try {
      return { status: res.status, json: JSON.parse(text) as unknown };
    } catch {
      return { status: res.status, json: text as unknown };
    }
  })();
  // Without the right key nothing else can be done: say so here, for every command.
  if (res.status === 401 || res.status === 403) failWith(res.status, result.json, t);
  return result;
};

/** What to do about a 401 or 403: which key was sent (by where it came from) and how to send another. */
const keyHint = (status: number, json: unknown, target: ApiTarget | undefined): string => {
  if (status !== 401 && status !== 403) return "";
  const { key, from } = keyOf(target ?? { api: "" });
  if (status === 401)
    return key === undefined
      ? "; no API key was sent: pass --key <key> or set STOCKLINE_API_KEY"
      : `; the key from ${from} was refused: pass another with --key <key> or STOCKLINE_API_KEY`;
  const roles = (json as { requiredRoles?: unknown })?.requiredRoles;
  const needs = Array.isArray(roles) ? ` with one of the roles ${roles.join(", ")}` : " with the needed role";
  return `; use a key${needs} (--key <key> or STOCKLINE_API_KEY)`;
};

/** Throws the API's own message (every error body of the API has one), with what to do for 401/403. */
export const failWith = (status: number, json: unknown, target?: ApiTarget): never => {
  const message = (json as { message?: string })?.message ?? JSON.stringify(json);
  throw new Error(`HTTP ${status}: ${message}${keyHint(status, json, target)}`);
};
