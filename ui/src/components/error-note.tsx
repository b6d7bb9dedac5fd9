import type { ApiErrorBody } from "../api-client.ts";

/** The API's error, as it said it (`role="alert"`). */
export function ErrorNote(props: { readonly error: ApiErrorBody | undefined; readonly testId?: string }) {
  if (!props.error) return null;
  return (
    <p class="error" role="alert" data-testid={props.testId}>
      {props.error.message}
    </p>
  );
}
