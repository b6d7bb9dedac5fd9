import type { ViewProps } from "./view-props.ts";

export function WarehouseView(_props: ViewProps) {
  return (
    <section data-view="warehouse">
      <h2>Warehouse support</h2>
    </section>
  );
}
