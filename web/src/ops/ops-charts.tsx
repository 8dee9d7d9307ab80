import { useMemo, useState } from 'preact/hooks';
import { ApiError } from '../api/api-error';
import type { ApiClient } from '../api/client';
import { type SeriesResponse, fetchSeries } from '../api/metrics';
import { describeError } from '../error-text';
import type { Theme } from '../theme';
import { allSeriesKeys, chartSpecs, chartValues } from './chart-data';
import { type ChartRange, chartRanges, defaultRange, isChartRange, stepFor } from './chart-range';
import { OpsChart } from './ops-chart';
import { OpsError } from './ops-error';
import { usePolledResource } from './use-polling';

const refreshMs = 10_000;

export function OpsCharts({ api, theme }: { api: ApiClient; theme: Theme }) {
  const [range, setRange] = useState<ChartRange>(defaultRange);
  const { value: response, error } = usePolledResource<SeriesResponse>(
    (signal) => fetchSeries(api, { series: allSeriesKeys(), range, step: stepFor(range) }, signal),
    (failure) =>
      failure instanceof ApiError
        ? `The charts could not be refreshed: ${describeError(failure)}`
        : 'The charts could not be refreshed.',
    refreshMs,
    [api, range],
  );

  const values = useMemo(() => chartSpecs.map((spec) => chartValues(response, spec)), [response]);

  return (
    <section class="ops-section" data-testid="ops-charts" aria-labelledby="ops-charts-title">
      <div class="ops-toolbar">
        <h2 class="ops-section-title" id="ops-charts-title">
          Metrics
        </h2>
        <label class="ops-field">
          <span>Time range</span>
          <select
            class="select"
            data-testid="ops-range"
            value={range}
            onChange={(event) => {
              const value = event.currentTarget.value;
              if (isChartRange(value)) setRange(value);
            }}
          >
            {chartRanges.map((entry) => (
              <option key={entry.value} value={entry.value}>
                {entry.label}
              </option>
            ))}
          </select>
        </label>
      </div>
      <p class="muted small">Refreshed every 10 seconds while this page is shown.</p>
      <OpsError message={error} />
      <div class="ops-chart-grid">
        {chartSpecs.map((spec, index) => (
          <OpsChart key={spec.id} spec={spec} values={values[index]!} theme={theme} />
        ))}
      </div>
    </section>
  );
}
