import type { ViewProps } from "./view-props.ts";
export function FinanceView(_props: ViewProps) {
  return (
    <section data-view="finance">
      <h2>Finance</h2>
      <p>Coming soon.</p>
    </section>
  );
}
