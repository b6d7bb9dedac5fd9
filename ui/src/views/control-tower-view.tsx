import type { ViewProps } from "./view-props.ts";
export function ControlTowerView(_props: ViewProps) {
  return (
    <section data-view="control-tower">
      <h2>Control tower</h2>
      <p>Coming soon.</p>
    </section>
  );
}
