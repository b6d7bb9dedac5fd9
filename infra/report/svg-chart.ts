/**
 * Renders a Vega-Lite specification to a standalone SVG document, in Node, without a browser or a
 * canvas: reports (`stockline demo kpi`, `make bench`) write charts next to their figures with it.
 */
import * as vega from "vega";
import { compile, type TopLevelSpec } from "vega-lite";

export type ChartSpec = TopLevelSpec;

export const renderSvgChart = async (spec: ChartSpec): Promise<string> => {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
};
