import { useEffect, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { Theme } from '../theme';
import { type ChartSpec, type ChartValues, formatValue, latestValue } from './chart-data';

const chartHeight = 200;
/** Below this many values a series also draws its points. */
const sparsePoints = 60;

/** The theme's chart colours (theme.css); read when the chart is made, again on a theme change. */
function colours() {
  const style = getComputedStyle(document.documentElement);
  const read = (name: string, fallback: string) => style.getPropertyValue(name).trim() || fallback;
  return {
    lines: [read('--chart-1', '#2456c4'), read('--chart-2', '#b42318')],
    axis: read('--muted', '#5a5f69'),
    grid: read('--chart-grid', '#d4d8de'),
  };
}

function options(spec: ChartSpec, width: number): uPlot.Options {
  const { lines, axis, grid } = colours();
  const axisOptions: uPlot.Axis = {
    stroke: axis,
    grid: { stroke: grid, width: 1 },
    ticks: { stroke: grid, width: 1 },
  };
  return {
    width,
    height: chartHeight,
    cursor: { drag: { x: false, y: false } },
    legend: { show: spec.series.length > 1 },
    scales: { y: { range: (_plot, min, max) => [Math.min(0, min), max > 0 ? max * 1.1 : 1] } },
    axes: [
      axisOptions,
      { ...axisOptions, size: 56, values: (_plot, ticks) => ticks.map(formatValue) },
    ],
    series: [
      {},
      ...spec.series.map((series, index) => ({
        label: series.label,
        stroke: lines[index % lines.length],
        width: 2,
        // A slot without data is a gap, not a line across it.
        spanGaps: false,
        // Sparse data (a fresh server: one slot with traffic in an hour) is invisible as a line
        // of gaps, so points are drawn while there are few of them.
        points: {
          show: (plot: uPlot, seriesIndex: number) =>
            (plot.data[seriesIndex] ?? []).filter((value) => value !== null && value !== undefined)
              .length < sparsePoints,
          size: 6,
          fill: lines[index % lines.length],
        },
        value: (_plot: uPlot, value: number | null) => formatValue(value),
      })),
    ],
  };
}

export interface OpsChartProps {
  spec: ChartSpec;
  values: ChartValues;
  theme: Theme;
}

/** One uPlot chart, as wide as its container; remade when the theme changes. */
export function OpsChart({ spec, values, theme }: OpsChartProps) {
  const container = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | undefined>(undefined);
  const latestValues = useRef(values);
  latestValues.current = values;
  const [drawn, setDrawn] = useState(false);

  useEffect(() => {
    const element = container.current;
    if (element === null) return;
    const chart = new uPlot(
      options(spec, Math.max(element.clientWidth, 200)),
      latestValues.current.data,
      element,
    );
    plot.current = chart;
    setDrawn(true);
    const observer = new ResizeObserver(() => {
      const width = element.clientWidth;
      if (width > 0 && width !== chart.width) chart.setSize({ width, height: chartHeight });
    });
    observer.observe(element);
    return () => {
      observer.disconnect();
      chart.destroy();
      plot.current = undefined;
      setDrawn(false);
    };
  }, [spec, theme]);

  useEffect(() => {
    plot.current?.setData(values.data);
  }, [values]);

  const keys = spec.series.map((series) => series.key).join(',');
  const titleId = `ops-chart-${spec.id}`;
  const latest = spec.series
    .map((series, index) => {
      const value = latestValue(values.data[index + 1] ?? []);
      const text = formatValue(value);
      return spec.series.length > 1 ? `${series.label} ${text}` : text;
    })
    .join(', ');

  return (
    <figure
      class="ops-chart"
      data-testid="ops-chart"
      data-series={keys}
      data-has-data={drawn && values.hasData ? 'true' : undefined}
      aria-labelledby={titleId}
    >
      <figcaption class="ops-chart-head">
        <span class="ops-chart-title" id={titleId}>
          {spec.title}
        </span>
        {values.hasData && <span class="ops-chart-latest muted small">Latest: {latest}</span>}
      </figcaption>
      <div class="ops-chart-area">
        <div class="ops-chart-plot" ref={container} aria-hidden="true" />
        {!values.hasData && <p class="ops-chart-empty">No data yet</p>}
      </div>
    </figure>
  );
}
