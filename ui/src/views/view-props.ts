/**
 * What every role view receives from the shell (ui/src/app.tsx). A view is
 * `export function XView(props: ViewProps)`; it fetches through `api` (key and roles are the shell's
 * business) and follows live topics through `live`.
 */
import type { ApiClient } from "../api-client.ts";
import type { LiveSubscribe } from "../live.ts";

export type { ApiClient, ApiErrorBody, Query } from "../api-client.ts";
export { ApiError } from "../api-client.ts";
export type { LiveEvent, LiveHandler, LiveSubscribe } from "../live.ts";

export type Role = "commerce" | "warehouse" | "operations" | "finance";

/** Who is signed in (`GET /v1/whoami`). */
export interface Caller {
  readonly name: string;
  readonly roles: readonly Role[];
  readonly systems: readonly string[];
}

export interface ViewProps {
  readonly api: ApiClient;
  /** Follows a live topic (`GET /v1/live/<topic>`, SSE); returns the function that stops it. */
  readonly live: LiveSubscribe;
  readonly caller: Caller;
}
