/** The ranges the charts offer, each with a step that gives 90–180 points. */
export const chartRanges = [
  { value: '15m', label: 'Last 15 minutes', step: '10s' },
  { value: '1h', label: 'Last hour', step: '20s' },
  { value: '6h', label: 'Last 6 hours', step: '2m' },
  { value: '24h', label: 'Last 24 hours', step: '8m' },
] as const;

export type ChartRange = (typeof chartRanges)[number]['value'];

export const defaultRange: ChartRange = '1h';

export function isChartRange(value: string): value is ChartRange {
  return chartRanges.some((range) => range.value === value);
}

/** The step asked for with `range` (the server coarsens it to whole slots of its resolution). */
export function stepFor(range: ChartRange): string {
  return chartRanges.find((entry) => entry.value === range)?.step ?? '20s';
}
