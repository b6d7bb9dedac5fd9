import type { ViewProps } from "./view-props.ts";

export function OperationsView(_props: ViewProps) {
  return (
    <section data-view="operations">
      <h2>IT operations</h2>
    </section>
  );
}
