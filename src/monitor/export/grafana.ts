import { seriesDefinitions, type SeriesName } from '../series.js';
import type { Aggregation } from '../types.js';
import { translateSeries } from './promql.js';

export interface GrafanaDashboardOptions {
  /** Default `assistd`. */
  title?: string;
  /**
   * The Prometheus data source's uid, for provisioning from a file (which resolves no `__inputs`).
   * Without it the dashboard asks for the data source on import (`DS_PROMETHEUS`).
   */
  datasourceUid?: string;
}

/** A panel's or query's data source: always the `datasource` variable, so users can switch. */
export interface DatasourceRef {
  type: 'prometheus';
  uid: string;
}

export interface GrafanaTarget {
  refId: string;
  datasource: DatasourceRef;
  expr: string;
  legendFormat: string;
  range: true;
  editorMode: 'code';
}

export interface GrafanaPanel {
  id: number;
  type: 'timeseries';
  title: string;
  description: string;
  datasource: DatasourceRef;
  gridPos: { x: number; y: number; w: number; h: number };
  fieldConfig: { defaults: Record<string, unknown>; overrides: [] };
  options: Record<string, unknown>;
  targets: GrafanaTarget[];
}

/** A dashboard as Grafana's "Import dashboard" takes it (JSON-serialisable). */
export interface GrafanaDashboard {
  __inputs?: Array<Record<string, string>>;
  __requires: Array<Record<string, string>>;
  uid: string;
  title: string;
  panels: GrafanaPanel[];
  templating: { list: Array<Record<string, unknown>> };
  [field: string]: unknown;
}

interface PanelSpec {
  title: string;
  /** Grafana unit id. `short` for tokens/s: Grafana has no unit for tokens. */
  unit: 'reqps' | 'ms' | 'percent' | 'bytes' | 'short';
  queries: ReadonlyArray<{ metric: SeriesName; aggregation: Aggregation; legend?: string }>;
}

// The series the console charts, in its order. Gauges are read as `last`: Grafana samples them
// at each step; counters and histograms need a range, and `$__rate_interval` always holds enough
// scrapes for `rate()`, whatever the scrape interval and zoom.
const panelSpecs: readonly PanelSpec[] = [
  {
    title: 'Requests',
    unit: 'reqps',
    queries: [{ metric: 'requests_per_second', aggregation: 'avg', legend: 'requests/s' }],
  },
  {
    title: 'Request latency',
    unit: 'ms',
    queries: [
      { metric: 'request_latency_ms', aggregation: 'p50', legend: 'P50' },
      { metric: 'request_latency_ms', aggregation: 'p99', legend: 'P99' },
    ],
  },
  {
    title: 'Error rate (5xx)',
    unit: 'percent',
    queries: [{ metric: 'error_rate_percent', aggregation: 'avg', legend: '5xx %' }],
  },
  { title: 'CPU', unit: 'percent', queries: [{ metric: 'cpu_percent', aggregation: 'last' }] },
  {
    title: 'Tokens generated',
    unit: 'short',
    queries: [{ metric: 'tokens_per_second', aggregation: 'avg', legend: 'tokens/s' }],
  },
  {
    title: 'Context-cache hit rate',
    unit: 'percent',
    queries: [{ metric: 'cache_hit_rate_percent', aggregation: 'avg', legend: 'hit %' }],
  },
  {
    title: 'Local engine batch occupancy',
    unit: 'percent',
    queries: [{ metric: 'batch_occupancy_percent', aggregation: 'last' }],
  },
  {
    title: 'Time to first token',
    unit: 'ms',
    queries: [{ metric: 'ttft_ms', aggregation: 'p99', legend: 'P99' }],
  },
  {
    title: 'Event-loop lag (P99)',
    unit: 'ms',
    queries: [{ metric: 'event_loop_lag_ms', aggregation: 'last' }],
  },
  {
    title: 'Resident memory',
    unit: 'bytes',
    queries: [{ metric: 'memory_rss_bytes', aggregation: 'last' }],
  },
];

const datasource: DatasourceRef = { type: 'prometheus', uid: '${datasource}' };
const prometheusInput = {
  name: 'DS_PROMETHEUS',
  label: 'Prometheus',
  description: 'The Prometheus that scrapes assistd',
  type: 'datasource',
  pluginId: 'prometheus',
  pluginName: 'Prometheus',
};
const panelWidth = 12;
const panelHeight = 8;

function panel(spec: PanelSpec, index: number): GrafanaPanel {
  const targets = spec.queries.map((query, queryIndex): GrafanaTarget => {
    const translation = translateSeries(query.metric, query.aggregation, '$__rate_interval');
    if (!translation.ok) throw new Error(`dashboard query ${query.metric}: ${translation.reason}`);
    return {
      refId: String.fromCharCode(65 + queryIndex),
      datasource,
      expr: translation.expr,
      // Per-instance series: one line per instance; service-wide ones: one line, named.
      legendFormat:
        translation.scope === 'instance' ? '{{instance}}' : (query.legend ?? query.metric),
      range: true,
      editorMode: 'code',
    };
  });
  const defaults: Record<string, unknown> = {
    unit: spec.unit,
    min: 0,
    custom: { drawStyle: 'line', lineWidth: 1, fillOpacity: 10, showPoints: 'never' },
  };
  if (spec.unit === 'percent') defaults.max = 100;
  return {
    id: index + 1,
    type: 'timeseries',
    title: spec.title,
    description: [
      ...new Set(spec.queries.map((query) => seriesDefinitions[query.metric].help)),
    ].join('; '),
    datasource,
    gridPos: {
      x: (index % 2) * panelWidth,
      y: Math.floor(index / 2) * panelHeight,
      w: panelWidth,
      h: panelHeight,
    },
    fieldConfig: { defaults, overrides: [] },
    options: {
      legend: { displayMode: 'list', placement: 'bottom', showLegend: true },
      tooltip: { mode: 'multi', sort: 'none' },
    },
    targets,
  };
}

/**
 * A Grafana dashboard of the series the console charts, over the metrics `GET /metrics` exports
 * (the queries come from `translateSeries`, so the charts and the exported alerts read the same
 * expressions). Panels and queries use the `datasource` variable; on import its default is the
 * data source chosen for `DS_PROMETHEUS`, or `datasourceUid` when given.
 */
export function grafanaDashboard(options: GrafanaDashboardOptions = {}): GrafanaDashboard {
  const selected = options.datasourceUid ?? '${DS_PROMETHEUS}';
  // Import replaces `${DS_PROMETHEUS}` with the chosen data source; a known uid needs no input.
  const inputs = options.datasourceUid === undefined ? { __inputs: [prometheusInput] } : {};
  const dashboard: GrafanaDashboard = {
    ...inputs,
    __requires: [
      { type: 'grafana', id: 'grafana', name: 'Grafana', version: '10.4.0' },
      { type: 'datasource', id: 'prometheus', name: 'Prometheus', version: '1.0.0' },
      { type: 'panel', id: 'timeseries', name: 'Time series', version: '' },
    ],
    id: null,
    uid: 'assistd',
    title: options.title ?? 'assistd',
    tags: ['assistd'],
    editable: true,
    graphTooltip: 1,
    schemaVersion: 39,
    version: 1,
    time: { from: 'now-6h', to: 'now' },
    refresh: '30s',
    timezone: 'browser',
    annotations: { list: [] },
    templating: {
      list: [
        {
          name: 'datasource',
          label: 'Data source',
          type: 'datasource',
          query: 'prometheus',
          current: { selected: true, text: 'Prometheus', value: selected },
          hide: 0,
          refresh: 1,
          regex: '',
          options: [],
        },
      ],
    },
    panels: panelSpecs.map(panel),
  };
  return dashboard;
}
