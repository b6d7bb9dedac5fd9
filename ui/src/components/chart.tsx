/**
 * One chart component for every view: chart.js on a canvas, created once and updated in place when
 * `data` changes (no animation, so screenshots and tests see the final picture).
 */
import { type ChartData, Chart as ChartJs, type ChartOptions, type ChartType, registerables } from "chart.js";
import { useEffect, useRef } from "preact/hooks";

ChartJs.register(...registerables);

/** The series colours of the charts (one per series, in turn). */
export const COLOURS = ["#2457c5", "#b3261e", "#1b7f3b", "#a86400", "#6b3fa0", "#00838f"];

export interface ChartProps<K extends ChartType = ChartType> {
  readonly type: K;
  readonly data: ChartData<K>;
  readonly options?: ChartOptions<K>;
  /** Accessible name of the chart (also its `aria-label`). */
  readonly title: string;
  readonly height?: number;
  readonly testId?: string;
}

const withDefaults = <K extends ChartType>(options: ChartOptions<K> | undefined): ChartOptions<K> =>
  ({ animation: false, responsive: true, maintainAspectRatio: false, ...options }) as ChartOptions<K>;

export function Chart<K extends ChartType>(props: ChartProps<K>) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const chart = useRef<ChartJs<K> | undefined>(undefined);

  useEffect(() => {
    if (!canvas.current) return;
    chart.current = new ChartJs<K>(canvas.current, {
      type: props.type,
      data: props.data,
      options: withDefaults(props.options),
    });
    return () => {
      chart.current?.destroy();
      chart.current = undefined;
    };
  }, [props.type]);

  useEffect(() => {
    const c = chart.current;
    if (!c) return;
    c.data = props.data;
    if (props.options) c.options = withDefaults(props.options);
    c.update("none");
  }, [props.data, props.options]);

  return (
    <div class="chart" style={{ height: `${props.height ?? 220}px` }} data-testid={props.testId}>
      <canvas ref={canvas} role="img" aria-label={props.title} />
    </div>
  );
}
