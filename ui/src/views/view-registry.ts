/**
 * The role views and who sees them: one view per role (issue 12). The shell shows a caller the views
 * of its roles only; the server enforces the roles of every `/v1` call whatever the page shows.
 */
import type { FunctionComponent } from "preact";
import { ControlTowerView } from "./control-tower-view.tsx";
import { FinanceView } from "./finance-view.tsx";
import { OperationsView } from "./operations-view.tsx";
import type { Role, ViewProps } from "./view-props.ts";
import { WarehouseView } from "./warehouse-view.tsx";

export interface ViewEntry {
  /** In the URL hash (`#/operations`), `data-testid="nav-<id>"` and the view's `data-view`. */
  readonly id: "operations" | "warehouse" | "finance" | "control-tower";
  readonly title: string;
  readonly roles: readonly Role[];
  readonly component: FunctionComponent<ViewProps>;
}

export const VIEWS: readonly ViewEntry[] = [
  { id: "operations", title: "IT operations", roles: ["operations"], component: OperationsView },
  { id: "warehouse", title: "Warehouse support", roles: ["warehouse"], component: WarehouseView },
  { id: "finance", title: "Finance", roles: ["finance"], component: FinanceView },
  { id: "control-tower", title: "Control tower", roles: ["commerce"], component: ControlTowerView },
];

export const viewsFor = (roles: readonly Role[]): readonly ViewEntry[] =>
  VIEWS.filter((v) => v.roles.some((r) => roles.includes(r)));
